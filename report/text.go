package report

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Time layouts shared by the human renderers. Every time is converted to
// UTC before formatting.
const (
	dateTimeLayout = "2006-01-02 15:04:05 UTC"
	clockLayout    = "15:04:05.000"
)

// when renders t for people, in UTC; the zero time is "-".
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(dateTimeLayout)
}

// printable makes text from a container safe to show on a terminal or in a
// Markdown file: line endings become \n, invalid UTF-8 becomes U+FFFD, and
// control characters other than newline and tab (an escape sequence that
// would clear the screen, a bell, a lone carriage return) are shown as
// \xNN instead of acting; a bidirectional formatting character is shown
// as \uNNNN.
func printable(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := true
	for _, c := range s {
		if isControl(c) || isBidi(c) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\r':
			b.WriteByte('\n')
		case isBidi(c):
			fmt.Fprintf(&b, "\\u%04X", c)
		case isControl(c):
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// isBidi reports whether c is one of Unicode's bidirectional formatting
// characters, which reorder how the text around them is displayed (the
// "Trojan Source" trick: a name or an output that reads other than it is).
func isBidi(c rune) bool {
	return c == 0x061c || c == 0x200e || c == 0x200f || c >= 0x202a && c <= 0x202e || c >= 0x2066 && c <= 0x2069
}

// isControl reports whether c is a control character other than newline
// and tab.
func isControl(c rune) bool {
	return (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f)
}

// oneLine folds s onto a single line: CR, LF and tabs become spaces and runs
// of spaces one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(printable(s)), " ")
}

// clip cuts s to at most n runes, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// cutBytes returns the longest prefix of s of at most n bytes that ends on a
// line boundary if there is one in the second half, and on a rune boundary
// in any case, with the number of bytes left out.
func cutBytes(s string, n int) (head string, more int) {
	if len(s) <= n {
		return s, 0
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if nl := strings.LastIndexByte(s[:cut], '\n'); nl >= n/2 {
		cut = nl + 1
	}
	return s[:cut], len(s) - cut
}

// lineCount counts the lines of s; a final newline does not start a line.
func lineCount(s string) int {
	if s == "" {
		return 0
	}
	n := strings.Count(s, "\n")
	if !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// plural renders "1 line" or "3 lines".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apiRequests renders the request count with its split by verb:
// "148 (GET 120, PATCH 2, POST 26)".
func apiRequests(r *Result) string {
	s := fmt.Sprint(r.APIRequests)
	if len(r.APIRequestsByVerb) == 0 {
		return s
	}
	parts := make([]string, 0, len(r.APIRequestsByVerb))
	for _, verb := range sortedKeys(r.APIRequestsByVerb) {
		// oneLine: a key of a result read back may hold anything (ReadJSON
		// refuses such keys, a Result built in Go may still hold them).
		parts = append(parts, fmt.Sprintf("%s %d", oneLine(verb), r.APIRequestsByVerb[verb]))
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// objectName renders an object as "pod default/noshell" or "node worker-0".
func objectName(kind, namespace, name string) string {
	k := strings.ToLower(kind)
	if namespace == "" {
		return k + " " + name
	}
	return k + " " + namespace + "/" + name
}

// resultWord is how the table and the Markdown summary show a status:
// failures in capitals, so they stand out without colour.
func resultWord(s *StepResult) string {
	switch s.Status {
	case StatusFailed:
		return "FAILED"
	case StatusInterrupted:
		return "INTERRUPTED"
	case StatusPassed:
		if s.ExpectFailure {
			return "passed (failed as expected)"
		}
		return "passed"
	case "":
		return "-"
	}
	return oneLine(string(s.Status)) // not a status a run writes: shown, never acted on
}

// assertionsCell renders "passed/total", or "-" when there are none.
func assertionsCell(s *StepResult) string {
	p, t := s.AssertionCounts()
	if t == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", p, t)
}

// durationCell renders a step's duration, "-" for a skipped step.
func durationCell(s *StepResult) string {
	if s.Status == StatusSkipped && s.Duration == 0 {
		return "-"
	}
	return s.Duration.String()
}

// stepLabel is a leaf's name as the table and summary show it: finally and
// onFailure steps say which list they come from.
func stepLabel(l leaf) string {
	label := l.name()
	if g := l.group(); g != 0 {
		label = groupMark(g) + " " + label
	}
	switch p := l.phase(); p {
	case PhaseFinally, PhaseOnFailure:
		return p + ": " + label
	}
	return label
}

// groupMark marks the steps of parallel group g: ∥1, ∥2, ...
func groupMark(g int) string { return fmt.Sprintf("∥%d", g) }

// parallelGroup is the span of a parallel group in a result: its steps
// (indices into Result.Steps) and when the first started and the last
// ended.
type parallelGroup struct {
	number      int
	name        string
	first, last int // Result.Steps indices
	start, end  time.Time
}

// notStarted lists the steps of parallel groups that were skipped in a
// group where a step failed or was interrupted: the steps a failure
// stopped before they started (their skip reason says which).
func notStarted(r *Result) []*StepResult {
	stopped := map[int]bool{}
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Group != 0 && (s.Status == StatusFailed || s.Status == StatusInterrupted) {
			stopped[s.Group] = true
		}
	}
	var out []*StepResult
	for i := range r.Steps {
		if s := &r.Steps[i]; stopped[s.Group] && s.Status == StatusSkipped {
			out = append(out, s)
		}
	}
	return out
}

// groupsOf lists the parallel groups of r, in run order.
func groupsOf(r *Result) []parallelGroup {
	var out []parallelGroup
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Group == 0 {
			continue
		}
		if len(out) == 0 || out[len(out)-1].number != s.Group {
			out = append(out, parallelGroup{number: s.Group, name: s.GroupName, first: i})
		}
		g := &out[len(out)-1]
		g.last = i
		if !s.StartedAt.IsZero() && (g.start.IsZero() || s.StartedAt.Before(g.start)) {
			g.start = s.StartedAt
		}
		if s.FinishedAt.After(g.end) {
			g.end = s.FinishedAt
		}
	}
	return out
}

// groupsNumbered indexes groups by number, for the summary to find each
// step's group without a scan of them all per step. A result read back
// from JSON may number its groups in any way (or name one no step of the
// top level is in): a number missing from it has no group, rather than an
// index out of range; of groups numbered alike (steps of one group apart),
// the first is kept; 0 is no group.
func groupsNumbered(groups []parallelGroup) map[int]parallelGroup {
	out := make(map[int]parallelGroup, len(groups))
	for _, g := range groups {
		if _, seen := out[g.number]; !seen && g.number != 0 {
			out[g.number] = g
		}
	}
	return out
}

// verdictWord renders a verdict as the title and final lines show it.
func verdictWord(v Verdict) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(oneLine(string(v)))
}
