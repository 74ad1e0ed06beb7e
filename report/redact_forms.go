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

// formsOf returns every form in which the Redactor replaces v (see Add).
func formsOf(v string) map[string]bool {
	out := map[string]bool{}
	for _, x := range expand(v, true) {
		encodings(x, out)
	}
	return out
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

// encodings adds x and its escaped and encoded forms to out.
func encodings(x string, out map[string]bool) {
	if len(x) < MinSecretLength {
		return
	}
	add := func(f string) {
		if len(f) >= MinSecretLength {
			out[f] = true
		}
	}
	add(x)
	for _, e := range escapes(x) {
		add(e)
		if e != x {
			for _, e2 := range escapes(e) {
				add(e2)
			}
		}
	}
	base64Forms([]byte(x), add)
}

// escapes returns x as quoted strings, XML text and a shell or CSV quoting
// show it, without the outer quotes.
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
// encoding wrapped at 64 and 76 columns.
func base64Forms(b []byte, add func(string)) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		full := enc.EncodeToString(b)
		add(full)
		add(strings.TrimRight(full, "="))
		for o := 0; o < 3; o++ {
			e := enc.EncodeToString(append(make([]byte, o), b...))
			start, end := (8*o+5)/6, 8*(o+len(b))/6
			if end-start >= minEncodedLength {
				add(e[start:end])
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
