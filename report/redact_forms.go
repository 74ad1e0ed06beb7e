package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// minEncodedLength is the shortest piece of an encoding that is matched
// on its own: a base64 window of a value inside a longer encoded text, a
// line of a wrapped encoding, a string inside a JSON value. Shorter pieces
// would match ordinary text by chance.
const minEncodedLength = 8

// pemArmorRE is a PEM armour line, which names a type and hides nothing.
var pemArmorRE = regexp.MustCompile(`^-----(BEGIN|END) [A-Z0-9 ]+-----$`)

// formsOf returns every form in which the Redactor replaces v (see Add),
// and its base64 encodings (a subset of the forms) whose pieces are looked
// for at the line breaks of wrapped base64 (see wrappedSpans).
func formsOf(v string) (forms, encs map[string]bool) {
	forms, encs = map[string]bool{}, map[string]bool{}
	for _, x := range expand(v, true) {
		encodings(x, forms, encs)
	}
	return forms, encs
}

// expand returns v, v without surrounding white space, each line of a
// multi-line v and, when json is true and v is a JSON object or array,
// each long enough string in it, expanded the same way.
func expand(v string, json bool) []string {
	out := []string{v}
	if t := strings.TrimSpace(v); t != v {
		out = append(out, t)
	}
	if strings.ContainsAny(v, "\r\n") {
		out = append(out, strings.ReplaceAll(v, "\r\n", "\n"), strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\n", "\r\n"))
		for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			line = strings.TrimSpace(line)
			if len(line) >= MinSecretLength && !pemArmorRE.MatchString(line) {
				out = append(out, line)
			}
		}
	}
	if json {
		for _, s := range jsonStrings(v) {
			out = append(out, expand(s, false)...)
		}
	}
	return out
}

// jsonStrings returns the strings of at least minEncodedLength bytes in v
// when v is a JSON object or array (a credential file), keys excluded.
func jsonStrings(v string) []string {
	t := strings.TrimSpace(v)
	if len(t) < 2 || (t[0] != '{' && t[0] != '[') {
		return nil
	}
	var x any
	if json.Unmarshal([]byte(t), &x) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			if len(x) >= minEncodedLength {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(x)
	return out
}

// maxEscapeDepth is how many escapes are composed: a value quoted for a
// command line (CSV inside a shell word), printed by the command (JSON or
// Go-quoted), then written by a report (JSON, XML) is three levels deep.
// With the len(escapes) = 9 escapes, a string yields at most
// 9 + 9² + 9³ = 819 escaped forms (fewer in practice: an escape that
// leaves a string as it is adds nothing, and equal forms are kept once),
// besides itself and its base64 forms.
const maxEscapeDepth = 3

// encodings adds x and its escaped and encoded forms to out, and its
// base64 encodings to encs.
func encodings(x string, out, encs map[string]bool) {
	if len(x) < MinSecretLength {
		return
	}
	add := func(f string) {
		if len(f) >= MinSecretLength {
			out[f] = true
		}
	}
	add(x)
	seen := map[string]bool{x: true}
	level := []string{x}
	for d := 0; d < maxEscapeDepth && len(level) > 0; d++ {
		var next []string
		for _, y := range level {
			for _, e := range escapes(y) {
				if !seen[e] {
					seen[e] = true
					add(e)
					next = append(next, e)
				}
			}
		}
		level = next
	}
	base64Forms([]byte(x), add, func(e string) {
		if len(e) >= minEncodedLength {
			encs[e] = true
		}
	})
}

// escapes returns x as quoted strings, XML text, a single-quoted shell
// word or YAML scalar and a quoted CSV field show it, without the outer
// quotes.
func escapes(x string) []string {
	return []string{
		inner(strconv.Quote(x)),
		inner(strconv.QuoteToASCII(x)),
		jsonString(x, true),
		jsonString(x, false),
		xmlText(x, true),
		xmlText(x, false),
		// A printed kubectl line: a single-quoted shell word, and a
		// quoted CSV field (an --env value kubectl reads as CSV).
		strings.ReplaceAll(x, "'", `'\''`),
		strings.ReplaceAll(x, `"`, `""`),
		// A YAML single-quoted scalar: a quote is doubled.
		strings.ReplaceAll(x, "'", "''"),
	}
}

// inner drops the outer quotes of a quoted string.
func inner(q string) string {
	if len(q) >= 2 {
		return q[1 : len(q)-1]
	}
	return q
}

// jsonString is x as a JSON string without its quotes, HTML characters
// escaped (json.Marshal) or not (an Encoder with SetEscapeHTML(false), as
// the JSON report writes).
func jsonString(x string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if enc.Encode(x) != nil {
		return x
	}
	return inner(strings.TrimSuffix(b.String(), "\n"))
}

// xmlText is x as XML character data, with line breaks escaped (as
// encoding/xml writes them) or not.
func xmlText(x string, escapeNewlines bool) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(x))
	s := b.String()
	if !escapeNewlines {
		s = strings.NewReplacer("&#xA;", "\n", "&#xD;", "\r", "&#x9;", "\t").Replace(s)
	}
	return s
}

// base64Forms adds the base64 forms of b: whole, with and without
// padding; the characters that depend on b alone at each of the three
// alignments b can have inside a longer encoded text; and the lines of the
// encoding wrapped at 64 and 76 columns. It gives index the whole padded
// encoding and the three aligned ones: the texts a piece of which a line
// of wrapped base64 may start or end with.
func base64Forms(b []byte, add, index func(string)) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		full := enc.EncodeToString(b)
		add(full)
		index(full)
		add(strings.TrimRight(full, "="))
		for o := 0; o < 3; o++ {
			e := enc.EncodeToString(append(make([]byte, o), b...))
			start, end := (8*o+5)/6, 8*(o+len(b))/6
			if end-start >= minEncodedLength {
				add(e[start:end])
				index(e[start:end])
			}
		}
		for _, w := range []int{64, 76} {
			if len(full) <= w {
				continue
			}
			for i := 0; i < len(full); i += w {
				if line := full[i:min(i+w, len(full))]; len(line) >= minEncodedLength {
					add(line)
				}
			}
		}
	}
}

// sortLongestFirst sorts forms longest first, then alphabetically.
func sortLongestFirst(forms []string) {
	sort.Slice(forms, func(i, j int) bool {
		if len(forms[i]) != len(forms[j]) {
			return len(forms[i]) > len(forms[j])
		}
		return forms[i] < forms[j]
	})
}
