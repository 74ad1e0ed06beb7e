package report

import (
	"sort"
	"strings"
)

// Wrapped base64. base64(1) wraps its output at 76 columns, openssl and PEM
// at 64: a value inside a longer encoded text (`env | base64`) is cut by a
// line break wherever it falls, and no form of it is whole on either line.
// A Redactor finds it two ways, both on the lines that may be wrapped
// base64 (b64Lines: indentation then base64 alphabet, with at most two '='
// at the end, at most maxWrapWidth bytes; a "\r" before the line break is
// not part of it):
//
//   - in a block: consecutive such lines, with the same indentation, each
//     at least minWrapWidth long and no shorter than the next and not
//     padded (the block's last line may be shorter), are joined without
//     their line breaks and searched for every form, as one line would be;
//     each line that a match across a line break touches is masked whole
//     (its base64, indentation and line break kept). This needs the whole
//     text: the results and the reports;
//   - line by line (the live output of a step, redacted a line at a time):
//     a line that starts with the end of a value's encoding, ends with its
//     start, or lies wholly inside it (a line of at least minWrapWidth) has
//     that piece masked, when it is MinSecretLength characters or more. A
//     piece of one to three characters at a line break is not: it would
//     match by chance everywhere.
//
// The work is linear in the text: every line is looked at once, and each
// block is searched once more, joined.

// maxWrapWidth is the longest line (indentation included, line break not)
// taken for a line of wrapped base64. A Stream holds back a line that may
// be one until it ends, so this bounds what it holds.
const maxWrapWidth = 1024

// minWrapWidth is the shortest line of a block of wrapped base64 that the
// next line continues, and the shortest line masked for lying wholly inside
// an encoding.
const minWrapWidth = 16

// b64At is where a run of MinSecretLength bytes is in an encoding of a
// value.
type b64At struct {
	enc string
	pos int
}

// b64Line is a line of a text that may be a line of wrapped base64.
type b64Line struct {
	n     int // the line's number in the text
	start int // where the line starts
	body  int // where its base64 starts, after its indentation
	end   int // where its base64 ends, before "\r\n" or "\n"
}

// isBase64Byte reports whether c is in the standard or URL base64
// alphabet, padding aside.
func isBase64Byte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

// b64Body returns where the base64 of line (without its line break)
// starts, after its indentation, and whether line is a line of base64 of
// at least MinSecretLength characters. With partial, line is the start
// of a line that is still being written: it tells whether the line may
// turn out to be one.
func b64Body(line string, partial bool) (int, bool) {
	line = strings.TrimSuffix(line, "\r")
	if len(line) > maxWrapWidth {
		return 0, false
	}
	i := 0
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	body := line[i:]
	if len(body) < MinSecretLength && !partial {
		return i, false
	}
	unpadded := strings.TrimRight(body, "=")
	if len(body)-len(unpadded) > 2 {
		return i, false
	}
	for j := 0; j < len(unpadded); j++ {
		if !isBase64Byte(unpadded[j]) {
			return i, false
		}
	}
	return i, true
}

// b64Lines returns the lines of s that may be lines of wrapped base64,
// but for the first one when s starts mid-line (midLine), and the last
// one, unless it ends with a line break, when it may go on (open).
func b64Lines(s string, midLine, open bool) []b64Line {
	var out []b64Line
	for n, start := 0, 0; start < len(s); n++ {
		end := strings.IndexByte(s[start:], '\n')
		last := end < 0
		if last {
			end = len(s)
		} else {
			end += start
		}
		if !(n == 0 && midLine) && !(last && open) && end-start <= maxWrapWidth+1 {
			if ind, ok := b64Body(s[start:end], false); ok {
				bodyEnd := end
				if s[bodyEnd-1] == '\r' {
					bodyEnd--
				}
				out = append(out, b64Line{n: n, start: start, body: start + ind, end: bodyEnd})
			}
		}
		start = end + 1
	}
	return out
}

// continues reports whether line b of s continues the block of wrapped
// base64 of line a, the line before it.
func continues(s string, a, b b64Line) bool {
	return b.n == a.n+1 && s[a.start:a.body] == s[b.start:b.body] &&
		a.end-a.body >= minWrapWidth && a.end-a.body >= b.end-b.body && s[a.end-1] != '='
}

// wrappedSpans returns the bytes of s to mask as lines of wrapped base64
// that hold a piece of a value's encoding (see the comment at the top of
// this file). midLine and open are as for b64Lines. The caller holds r.mu.
func (r *Redactor) wrappedSpans(s string, midLine, open bool) []span {
	if len(r.forms) == 0 {
		return nil
	}
	lines := b64Lines(s, midLine, open)
	var out []span
	for _, l := range lines {
		out = r.pieces(s, l, out)
	}
	for i := 0; i < len(lines); {
		j := i + 1
		for j < len(lines) && continues(s, lines[j-1], lines[j]) {
			j++
		}
		if j-i >= 2 {
			out = r.blockSpans(s, lines[i:j], out)
		}
		i = j
	}
	return out
}

// pieces appends to out the piece of an encoding that line l of s starts
// with (or the whole line, when it lies inside one) and the piece it ends
// with, each at least MinSecretLength bytes. The caller holds r.mu.
func (r *Redactor) pieces(s string, l b64Line, out []span) []span {
	body := s[l.body:l.end]
	best := 0
	for _, at := range r.b64[body[:MinSecretLength]] {
		rest := at.enc[at.pos:]
		switch {
		case len(rest) <= len(body):
			if strings.HasPrefix(body, rest) {
				best = max(best, len(rest))
			}
		case len(body) >= minWrapWidth && strings.HasPrefix(rest, body):
			best = len(body)
		}
	}
	if best > 0 {
		out = append(out, span{l.body, l.body + best})
	}
	if best == len(body) || len(body) < minWrapWidth {
		return out
	}
	for j := max(1, len(body)-r.maxLen+1); j+MinSecretLength <= len(body); j++ {
		for _, e := range r.b64Heads[body[j:j+MinSecretLength]] {
			if len(e) > len(body)-j && strings.HasPrefix(e, body[j:]) {
				return append(out, span{l.body + j, l.end})
			}
		}
	}
	return out
}

// blockSpans appends to out the lines of a block of wrapped base64 (lines
// of s, each continuing the one before) that a match of a form across a
// line break touches, once the block is joined: each such line whole. The
// caller holds r.mu.
func (r *Redactor) blockSpans(s string, block []b64Line, out []span) []span {
	var b strings.Builder
	offs := make([]int, len(block)) // where each line starts in the joined block
	for i, l := range block {
		offs[i] = b.Len()
		b.WriteString(s[l.body:l.end])
	}
	joined := b.String()
	lineOf := func(p int) int { return sort.SearchInts(offs, p+1) - 1 }
	masked := make([]bool, len(block))
	for i := 0; i+MinSecretLength <= len(joined); i++ {
		for _, f := range r.forms[joined[i:i+MinSecretLength]] {
			if !strings.HasPrefix(joined[i:], f) {
				continue
			}
			if first, last := lineOf(i), lineOf(i+len(f)-1); first != last {
				for k := first; k <= last; k++ {
					masked[k] = true
				}
			}
			break // longest first
		}
	}
	for k, m := range masked {
		if m {
			out = append(out, span{block[k].body, block[k].end})
		}
	}
	return out
}
