package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// whatFailedLines is how many of a failed step's last output lines the
// "What failed" section shows.
const whatFailedLines = 8

// whatFailedBytes caps what "What failed" shows of an output stream, when
// its last lines are longer: the whole stream is under Steps.
const whatFailedBytes = 2000

// wrapWidth is where long lines of an error are wrapped in a code block,
// so a rendered page does not hide their end behind a scroll bar.
const wrapWidth = 100

// whatFailed writes, right under the verdict, what a reader of a failed
// run needs first: each failed step (fanned-out targets included) with its
// error, its failed assertions and their values, and its last lines of
// output. The full step follows under Steps.
func (m *mdWriter) whatFailed() {
	var failed []leaf
	for _, l := range leaves(m.r) {
		if l.step.Status == StatusFailed || l.step.Status == StatusInterrupted {
			failed = append(failed, l)
		}
	}
	if len(failed) == 0 {
		return
	}
	m.printf("## What failed\n\n")
	defer m.notStarted()
	for _, l := range failed {
		s := l.step
		m.printf("**%s %d. %s** (%s", statusEmoji(s.Status), l.index(), mdText(stepLabel(l)), mdCode(l.kind()))
		if s.Target != "" {
			m.printf(" on %s", mdCode(s.Target))
		}
		m.printf(")\n\n")
		if s.Error != "" {
			m.fenced("text", wrapLines(s.Error, wrapWidth))
		}
		for _, a := range s.Assertions {
			if a.Passed {
				continue
			}
			what := mdCode(a.Expr)
			if a.Message != "" {
				what = mdText(a.Message) + ": " + what
			}
			m.printf("- ❌ %s\n", what)
			if a.Error != "" {
				m.printf("  - error: %s\n", mdCode(clip(a.Error, mdValueRunes)))
			}
			for _, v := range a.Values {
				m.printf("  - %s = %s\n", mdCode(v.Expr), mdCode(clip(v.Value, mdValueRunes)))
			}
		}
		if hasFailedAssertion(s) {
			m.printf("\n")
		}
		for _, o := range []struct{ name, text string }{{"stdout", s.Stdout}, {"stderr", s.Stderr}} {
			if tail, n, cut := lastLines(o.text, whatFailedLines); tail != "" {
				label := "Last lines of " + o.name
				switch {
				case cut:
					label = fmt.Sprintf("Last %s of %s", plural(len(tail), "byte"), o.name)
				case n <= whatFailedLines:
					label = o.name
				}
				m.printf("%s:\n\n", label)
				m.fenced("text", tail)
			}
		}
	}
}

// notStarted lists, under what failed, the steps of parallel groups that
// a failure stopped before they started, with why.
func (m *mdWriter) notStarted() {
	steps := notStarted(m.r)
	if len(steps) == 0 {
		return
	}
	m.printf("**Not started** (their parallel group was stopped):\n\n")
	for _, s := range steps {
		m.printf("- %s %d. %s %s — %s\n", statusEmoji(s.Status), s.Index, groupMark(s.Group), mdText(s.Name), mdText(s.SkipReason))
	}
	m.printf("\n")
}

func hasFailedAssertion(s *StepResult) bool {
	for _, a := range s.Assertions {
		if !a.Passed {
			return true
		}
	}
	return false
}

// lastLines returns the last n lines of text (a carriage return ends a
// line too, as a progress bar redraws it), at most whatFailedBytes of them
// (cut on a character boundary: one huge line, a JSON dump on one line),
// with how many lines text has and whether the tail was cut.
func lastLines(text string, n int) (tail string, lines int, cut bool) {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return "", 0, false
	}
	all := strings.Split(text, "\n")
	tail = text
	if len(all) > n {
		tail = strings.Join(all[len(all)-n:], "\n")
	}
	if len(tail) > whatFailedBytes {
		i := len(tail) - whatFailedBytes
		for i < len(tail) && !utf8.RuneStart(tail[i]) {
			i++
		}
		tail, cut = tail[i:], true
	}
	return tail, len(all), cut
}

// wrapLines wraps lines longer than width at spaces (or hard, when a line
// has none), so long single-line errors stay readable in a code block.
// Each line is converted to runes once and walked once: converting the rest
// of the line again for every piece made a 1 MiB line take a minute.
func wrapLines(text string, width int) string {
	var b strings.Builder
	b.Grow(len(text) + len(text)/max(width, 1) + 1)
	for n, line := range strings.Split(text, "\n") {
		if n > 0 {
			b.WriteByte('\n')
		}
		r := []rune(line)
		if len(r) <= width {
			b.WriteString(line) // as it is: invalid UTF-8 too, as before
			continue
		}
		for len(r) > width {
			// The last space among the first width runes, if it is past
			// the middle: as before, "the middle" is width/2 bytes into
			// the piece's UTF-8, not runes.
			cut := width
			if j := lastSpace(r[:width]); j >= 0 && utf8Len(r[:j]) > width/2 {
				cut = j
			}
			b.WriteString(string(r[:cut]))
			b.WriteByte('\n')
			r = r[cut:]
			for len(r) > 0 && r[0] == ' ' {
				r = r[1:]
			}
		}
		b.WriteString(string(r))
	}
	return b.String()
}

// lastSpace is the index of the last space in r, or -1.
func lastSpace(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == ' ' {
			return i
		}
	}
	return -1
}

// utf8Len is the length of r in UTF-8, as string(r) would have it.
func utf8Len(r []rune) int {
	n := 0
	for _, c := range r {
		if l := utf8.RuneLen(c); l > 0 {
			n += l
		} else {
			n += 3 // an invalid rune becomes U+FFFD
		}
	}
	return n
}

// folded writes a section GitHub shows closed: a summary line, the body
// on demand.
func (m *mdWriter) folded(summary string, body func()) {
	m.printf("<details><summary>%s</summary>\n\n", summary)
	body()
	m.printf("</details>\n\n")
}
