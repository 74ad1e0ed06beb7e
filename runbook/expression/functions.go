package expression

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// Helpers lists the functions runbooks get beyond expr-lang's builtins, with
// a one-line description each, for the help text and the docs.
var Helpers = []struct{ Name, Doc string }{
	{"lines(s)", "the lines of s, without the trailing empty line"},
	{"ps(s)", "the processes in `ps` output (busybox or procps) as records {pid, user, time, command, ppid}"},
	{"grep(s, re)", "the lines of s that match the regular expression re"},
	{"field(line, n)", "the n-th whitespace-separated field of line (0-based), or \"\""},
}

func functions() []expr.Option {
	return []expr.Option{
		expr.Function("lines", func(p ...any) (any, error) {
			return toAny(Lines(p[0].(string))), nil
		}, new(func(string) []any)),
		expr.Function("ps", func(p ...any) (any, error) {
			return PS(p[0].(string)), nil
		}, new(func(string) []any)),
		expr.Function("grep", func(p ...any) (any, error) {
			re, err := compilePattern(p[1].(string))
			if err != nil {
				return nil, fmt.Errorf("grep: %w", err)
			}
			var out []any
			for _, l := range Lines(p[0].(string)) {
				if re.MatchString(l) {
					out = append(out, l)
				}
			}
			return out, nil
		}, new(func(string, string) []any)),
		expr.Function("field", func(p ...any) (any, error) {
			f := strings.Fields(p[0].(string))
			n := p[1].(int)
			if n < 0 || n >= len(f) {
				return "", nil
			}
			return f[n], nil
		}, new(func(string, int) string)),
	}
}

// Lines splits s into lines, dropping a final empty line and any '\r'.
func Lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

var psColumns = map[string]string{
	"PID": "pid", "PPID": "ppid", "USER": "user", "UID": "user", "TIME": "time",
	"COMMAND": "command", "CMD": "command", "ARGS": "command", "STIME": "stime", "TTY": "tty", "C": "c",
}

// PS parses the output of `ps` (busybox's `PID USER TIME COMMAND` or
// procps's `UID PID PPID C STIME TTY TIME CMD`) into records. Numeric
// columns (pid, ppid) are ints; the last column keeps its spaces. Lines
// before the header and lines that do not parse are skipped.
func PS(s string) []any {
	out := []any{}
	var header []string
	for _, line := range Lines(s) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if header == nil {
			if f[0] == "PID" || f[0] == "UID" || f[0] == "USER" {
				header = f
			}
			continue
		}
		if len(f) < len(header) {
			continue
		}
		rec := map[string]any{}
		last := len(header) - 1
		for i, h := range header {
			name, ok := psColumns[h]
			if !ok {
				name = strings.ToLower(h)
			}
			val := f[i]
			if i == last {
				val = strings.Join(f[last:], " ")
			}
			if name == "pid" || name == "ppid" {
				n, err := strconv.Atoi(val)
				if err != nil {
					rec = nil
					break
				}
				rec[name] = n
				continue
			}
			rec[name] = val
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	return out
}

// Format renders a value for a person: strings quoted, everything else as
// compact JSON with sorted keys.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Shorten cuts s to at most n runes, saying how much was cut.
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + fmt.Sprintf("… (%d more characters)", len(r)-n)
}

// suggest returns ` (did you mean "x"?)` for the closest of candidates, or "".
func suggest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := distance(strings.ToLower(word), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Suggest is suggest for other packages: the closest candidate to word
// within an edit distance of 2, as ` (did you mean "x"?)`, or "".
func Suggest(word string, candidates []string) string {
	c := append([]string(nil), candidates...)
	sort.Strings(c)
	return suggest(word, c)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
