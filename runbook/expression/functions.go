package expression

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
)

// Helpers lists the functions runbooks get beyond expr-lang's builtins, with
// a one-line description each, for the help text and the docs.
var Helpers = []struct{ Name, Doc string }{
	{"lines(s)", "the lines of s, without the trailing empty line"},
	{"ps(s)", "the processes in `ps` output (busybox or procps) as records {pid, user, time, command, ppid}"},
	{"grep(s, re)", "the lines of s that match the regular expression re"},
	{"field(line, n)", "the n-th whitespace-separated field of line (0-based), or \"\""},
}

// listFunctions are our functions that make lists. Each gets the
// environment as a last argument (added by the guard patch) to find the
// meter, which counts the lists they make against MaxListElements.
var listFunctions = map[string]*builtin.Function{
	"lines": {
		Name: "lines",
		Func: func(p ...any) (any, error) {
			s := p[0].(string)
			n := countLines(s)
			if err := meterOf(p[1]).grow("lines", n); err != nil {
				return nil, err
			}
			out := make([]any, 0, n)
			eachLine(s, func(l string) { out = append(out, l) })
			return out, nil
		},
		Types: []reflect.Type{reflect.TypeFor[func(string, any) []any]()},
	},
	"ps": {
		Name: "ps",
		Func: func(p ...any) (any, error) {
			out := PS(p[0].(string))
			return out, meterOf(p[1]).charge("ps", out, true)
		},
		Types: []reflect.Type{reflect.TypeFor[func(string, any) []any]()},
	},
	"grep": {
		Name: "grep",
		Func: func(p ...any) (any, error) {
			re, err := compilePattern(p[1].(string))
			if err != nil {
				return nil, fmt.Errorf("grep: %w", err)
			}
			var out []any
			eachLine(p[0].(string), func(l string) {
				if re.MatchString(l) {
					out = append(out, l)
				}
			})
			return out, meterOf(p[2]).grow("grep", len(out))
		},
		Types: []reflect.Type{reflect.TypeFor[func(string, string, any) []any]()},
	},
}

func functions() []expr.Option {
	return []expr.Option{
		func(c *conf.Config) {
			for name, f := range listFunctions {
				c.Functions[name] = f
			}
		},
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

// Lines splits s into lines, dropping a final empty line and the '\r' of
// each "\r\n". The lines are parts of s, not copies.
func Lines(s string) []string {
	out := make([]string, 0, countLines(s))
	eachLine(s, func(l string) { out = append(out, l) })
	return out
}

// eachLine calls f with each line of s, as Lines gives them.
func eachLine(s string, f func(string)) {
	if s == "\n" || s == "\r\n" {
		return
	}
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			f(s)
			return
		}
		f(strings.TrimSuffix(s[:i], "\r"))
		s = s[i+1:]
	}
}

// countLines is how many lines Lines gives for s.
func countLines(s string) int {
	if s == "" || s == "\n" || s == "\r\n" {
		return 0
	}
	n := strings.Count(s, "\n")
	if !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
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
