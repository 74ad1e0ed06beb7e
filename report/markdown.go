package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxMarkdownOutputBytes is how much of each output stream of a step the
// Markdown report shows (64 KiB). Longer output is cut, on a line boundary
// where one is near, and followed by a note saying how many bytes were left
// out; the JSON result keeps up to MaxJSONOutputBytes.
const MaxMarkdownOutputBytes = 64 << 10

// Output longer than foldLines lines or foldBytes bytes is folded in a
// <details> element, so the report stays readable.
const (
	foldLines = 20
	foldBytes = 2000
)

// mdValueRunes caps an assertion value shown inline; the JSON result has it
// whole.
const mdValueRunes = 300

// RenderMarkdown writes a GitHub-flavoured Markdown incident report: the
// title and verdict, a table of facts (runbook, digest, cluster, namespace,
// run id, who ran it where and when), a summary table, a section per step
// (what it did, the equivalent kubectl command, its output, its assertions
// with their values, the objects it touched and how cleanup handled them,
// the files it wrote: linked, and small text files shown whole),
// the cleanup, what could not be removed, and a timeline.
//
// Whatever a step printed stays inside its fenced block: each fence is
// longer than the longest run of backticks in its content, and in a fenced
// block HTML such as </details> or <script> is literal. Text from the
// runbook or the cluster outside code (names, descriptions, reasons) is
// escaped, and table cells escape | and line breaks.
func RenderMarkdown(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("no result to render")
	}
	var buf bytes.Buffer
	m := &mdWriter{w: &buf, r: r}
	m.header()
	m.summary()
	m.steps()
	m.cleanup()
	m.timeline()
	_, err := w.Write(append(bytes.TrimRight(buf.Bytes(), "\n"), '\n'))
	return err
}

// mdWriter carries the output and the result through the sections.
type mdWriter struct {
	w *bytes.Buffer
	r *Result

	// deletions indexes r.Cleanup.Deletions by namespace and name, built on
	// first use by cleanupOf: looking each created object up in the whole
	// list made a run of thousands of objects quadratic.
	deletions map[objectKey][]*Deletion
}

// objectKey names an object without its kind, which cleanupOf matches
// whatever its case.
type objectKey struct{ namespace, name string }

func (m *mdWriter) printf(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

func (m *mdWriter) header() {
	r := m.r
	c := r.Counts()
	m.printf("# Runbook %s: %s\n\n", mdText(r.Runbook.Name), mdText(verdictWord(r.Verdict)))
	m.printf("**Verdict: %s** — %s in %s.\n\n", mdText(string(r.Verdict)), c, r.Duration)
	if r.Error != "" {
		m.printf("**Reason:** %s\n\n", mdText(r.Error))
	}
	for _, w := range r.Warnings {
		m.printf("**Warning:** %s\n\n", mdText(w))
	}
	m.whatFailed()
	if r.Runbook.Description != "" {
		m.printf("> %s\n\n", mdText(r.Runbook.Description))
	}
	namespace := mdCode(r.Namespace)
	if r.TemporaryNamespace {
		namespace += " (temporary, made for this run)"
	}
	server := mdCode(r.Cluster.Server)
	if r.Cluster.ServerVersion != "" {
		server += " " + mdCode(r.Cluster.ServerVersion)
	}
	facts := [][2]string{
		{"Runbook", mdCode(r.Runbook.Name)},
		{"File", mdCode(r.Runbook.File)},
		{"Digest", mdCode(r.Runbook.Digest)},
		{"Context", mdCode(r.Cluster.Context)},
		{"Server", server},
		{"Namespace", namespace},
		{"Run ID", mdCode(r.RunID)},
		{"Ran by", mdCode(r.User) + " on " + mdCode(r.Host) + " with " + mdCode(r.Tool)},
		{"Started", when(r.StartedAt)},
		{"Finished", when(r.FinishedAt)},
		{"Duration", r.Duration.String()},
		{"API requests", mdText(apiRequests(r))},
	}
	if n := len(artifacts(r)); n > 0 {
		facts = append(facts, [2]string{"Artifacts", mdCode(r.ArtifactDir) + " (" + plural(n, "file") + ")"})
	}
	for _, k := range sortedKeys(r.Vars) {
		// A var a step set can hold a whole output: shown cut, as values are.
		v := mdCode(clip(r.Vars[k], mdValueRunes))
		if n := utf8.RuneCountInString(r.Vars[k]); n > mdValueRunes {
			v += fmt.Sprintf(" (%d characters; full value in the JSON result)", n)
		}
		facts = append(facts, [2]string{"Var " + mdCode(k), v})
	}
	m.printf("| Fact | Value |\n|---|---|\n")
	for _, f := range facts {
		m.printf("| %s | %s |\n", mdCell(f[0]), mdCell(f[1]))
	}
	m.printf("\n")
}

func (m *mdWriter) summary() {
	m.printf("## Summary\n\n")
	ls := leaves(m.r)
	if len(ls) == 0 {
		m.printf("No step ran.\n\n")
		return
	}
	m.printf("| # | Step | Kind | Target | Result | Duration | Assertions |\n")
	m.printf("|---:|---|---|---|---|---:|---:|\n")
	groups := groupsNumbered(groupsOf(m.r))
	last := 0
	for _, l := range ls {
		if g, ok := groups[l.group()]; ok && g.number != last {
			m.printf("| | %s | | | | %s | |\n", mdCell(m.groupTitle(g)), groupSpan(g))
		}
		last = l.group()
		m.printf("| %d | %s | %s | %s | %s %s | %s | %s |\n",
			l.index(), mdCell(mdText(stepLabel(l))), mdCell(mdCode(l.kind())), mdCell(mdCode(l.step.Target)),
			statusEmoji(l.step.Status), mdCell(mdText(resultWord(l.step))), durationCell(l.step), assertionsCell(l.step))
	}
	m.printf("\n")
}

// groupTitle is the summary's row for a parallel group: its mark, its
// name and the steps that ran at the same time.
func (m *mdWriter) groupTitle(g parallelGroup) string {
	return fmt.Sprintf("**%s parallel group %d: %s** (steps %d-%d at the same time)", groupMark(g.number), g.number,
		mdText(g.name), m.r.Steps[g.first].Index, m.r.Steps[g.last].Index)
}

// groupSpan is how long a parallel group ran, from its first step's start
// to its last step's end.
func groupSpan(g parallelGroup) string {
	if g.start.IsZero() || g.end.IsZero() {
		return ""
	}
	return Seconds(g.end.Sub(g.start)).String()
}

func (m *mdWriter) steps() {
	if len(m.r.Steps) == 0 {
		return
	}
	m.printf("## Steps\n\n")
	for i := range m.r.Steps {
		s := &m.r.Steps[i]
		title := mdText(s.Name)
		if s.Phase == PhaseFinally || s.Phase == PhaseOnFailure {
			title = mdText(s.Phase) + ": " + title
		}
		m.printf("### %s %d. %s\n\n", statusEmoji(s.Status), s.Index, title)
		if s.Description != "" {
			m.printf("%s\n\n", mdText(s.Description))
		}
		m.stepBody(s, true)
		for j := range s.Targets {
			t := &s.Targets[j]
			m.printf("#### %s %s\n\n", statusEmoji(t.Status), mdCode(t.Target))
			m.stepBody(t, false)
		}
	}
}

// stepBody writes what one step, or one target of a fanned-out step, did
// and saw; a target's heading already names it.
func (m *mdWriter) stepBody(s *StepResult, showTarget bool) {
	var facts []string
	if s.Kind != "" {
		facts = append(facts, "**Kind:** "+mdCode(s.Kind))
	}
	if s.ID != "" {
		facts = append(facts, "**ID:** "+mdCode(s.ID))
	}
	if s.Target != "" && showTarget {
		facts = append(facts, "**Target:** "+mdCode(s.Target))
	}
	if len(s.Targets) > 0 {
		facts = append(facts, fmt.Sprintf("**Targets:** %d", len(s.Targets)))
	}
	facts = append(facts, "**Result:** "+m.resultLine(s))
	if s.ExitCode != nil {
		facts = append(facts, fmt.Sprintf("**Exit code:** %d", *s.ExitCode))
	}
	if s.ExpectFailure {
		facts = append(facts, "**Expected to fail:** yes")
	}
	if s.ContinueOnError {
		facts = append(facts, "**Continue on error:** yes")
	}
	if s.Group != 0 {
		group := groupMark(s.Group)
		if s.GroupName != "" {
			group += " " + mdText(s.GroupName)
		}
		facts = append(facts, fmt.Sprintf("**Parallel group:** %s (its steps run at the same time)", group))
	}
	for _, f := range facts {
		m.printf("- %s\n", f)
	}
	m.printf("\n")
	if s.Error != "" {
		m.printf("**Error:**\n\n")
		m.fenced("text", wrapLines(s.Error, wrapWidth))
	}
	if s.Command != "" {
		m.printf("Equivalent command:\n\n")
		m.fenced("sh", s.Command)
	}
	if len(s.Calls) > 0 {
		m.folded(fmt.Sprintf("API calls (%d)", len(s.Calls)+s.CallsDropped), func() {
			for _, c := range s.Calls {
				m.printf("- %s\n", mdCode(c.String()))
			}
			if s.CallsDropped > 0 {
				m.printf("- and %d more\n", s.CallsDropped)
			}
			m.printf("\n")
		})
	}
	m.output("stdout", s.Stdout, s.StdoutTruncated)
	m.output("stderr", s.Stderr, s.StderrTruncated)
	m.assertions(s)
	m.objects(s)
	m.artifacts(s)
	if len(s.Set) > 0 {
		m.printf("Captured variables:\n\n")
		for _, k := range sortedKeys(s.Set) {
			m.printf("- %s = %s\n", mdCode(k), mdCode(clip(s.Set[k], mdValueRunes)))
		}
		m.printf("\n")
	}
}

// resultLine renders the outcome of a step with its times.
func (m *mdWriter) resultLine(s *StepResult) string {
	line := mdText(resultWord(s))
	if s.Status == StatusSkipped {
		if s.SkipReason != "" {
			line += " (" + mdText(s.SkipReason) + ")"
		}
		return line
	}
	line += " in " + s.Duration.String()
	if !s.StartedAt.IsZero() {
		line += ", " + s.StartedAt.UTC().Format(clockLayout)
		if !s.FinishedAt.IsZero() {
			line += " → " + s.FinishedAt.UTC().Format(clockLayout)
		}
		line += " UTC"
	}
	return line
}

// output writes one output stream in a fenced block, folded when long and
// cut at MaxMarkdownOutputBytes.
func (m *mdWriter) output(name, out string, truncatedByExecutor bool) {
	if out == "" {
		return
	}
	shown, more := cutBytes(out, MaxMarkdownOutputBytes)
	size := fmt.Sprintf("%s, %s", plural(lineCount(out), "line"), plural(len(out), "byte"))
	var notes []string
	if more > 0 {
		notes = append(notes, fmt.Sprintf("(output truncated: %d bytes more; full output in the JSON result)", more))
	}
	if truncatedByExecutor {
		notes = append(notes, fmt.Sprintf("(output truncated by the run at %d bytes; the rest was not kept)", MaxJSONOutputBytes))
	}
	fold := lineCount(out) > foldLines || len(out) > foldBytes
	if fold {
		// The blank line after </summary> ends the HTML block, so that the
		// fence below is Markdown and everything in it is literal.
		m.printf("<details>\n<summary>%s (%s)</summary>\n\n", name, size)
	} else {
		m.printf("%s (%s):\n\n", name, size)
	}
	m.fenced("text", shown)
	for _, n := range notes {
		m.printf("%s\n\n", n)
	}
	if fold {
		m.printf("</details>\n\n")
	}
}

// fenced writes content in a fenced code block whose fence is longer than
// any run of backticks in the content.
func (m *mdWriter) fenced(info, content string) {
	content = printable(content)
	if !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	fence := strings.Repeat("`", max(3, longestRun(content, '`')+1))
	m.printf("%s%s\n%s%s\n\n", fence, info, content, fence)
}

func (m *mdWriter) assertions(s *StepResult) {
	if len(s.Assertions) == 0 {
		return
	}
	p, t := s.AssertionCounts()
	m.printf("Assertions (%d of %d held):\n\n", p, t)
	for _, a := range s.Assertions {
		mark := "✅"
		if !a.Passed {
			mark = "❌"
		}
		if a.Message != "" {
			m.printf("- %s %s: %s\n", mark, mdText(a.Message), mdCode(a.Expr))
		} else {
			m.printf("- %s %s\n", mark, mdCode(a.Expr))
		}
		if a.Error != "" {
			m.printf("  - error: %s\n", mdCode(clip(a.Error, mdValueRunes)))
		}
		for _, v := range a.Values {
			val := v.Value
			if n := len([]rune(val)); n > mdValueRunes {
				val = clip(val, mdValueRunes)
				m.printf("  - %s = %s (%d characters; full value in the JSON result)\n", mdCode(v.Expr), mdCode(val), n)
				continue
			}
			m.printf("  - %s = %s\n", mdCode(v.Expr), mdCode(val))
		}
	}
	m.printf("\n")
}

func (m *mdWriter) objects(s *StepResult) {
	if len(s.Objects) == 0 {
		return
	}
	m.folded(fmt.Sprintf("Objects (%d)", len(s.Objects)), func() {
		for _, o := range s.Objects {
			line := "- " + mdText(o.Action) + " " + mdCode(objectName(o.Kind, o.Namespace, o.Name))
			if o.Action == ActionCreated {
				line += " — cleanup: " + m.cleanupOf(o)
			}
			m.printf("%s\n", line)
		}
		m.printf("\n")
	})
}

// cleanupOf tells what cleanup did with an object a step created.
func (m *mdWriter) cleanupOf(o ObjectRef) string {
	if m.deletions == nil {
		m.deletions = map[objectKey][]*Deletion{}
		for i := range m.r.Cleanup.Deletions {
			d := &m.r.Cleanup.Deletions[i]
			k := objectKey{d.Namespace, d.Name}
			m.deletions[k] = append(m.deletions[k], d)
		}
	}
	// The first deletion of the object, in the order cleanup handled them.
	for _, d := range m.deletions[objectKey{o.Namespace, o.Name}] {
		if strings.EqualFold(d.Kind, o.Kind) {
			if d.Error != "" {
				return mdText(d.Outcome) + " (" + mdText(d.Error) + ")"
			}
			return mdText(d.Outcome)
		}
	}
	return "not recorded"
}

func (m *mdWriter) cleanup() {
	c := m.r.Cleanup
	m.printf("## Cleanup\n\n")
	m.printf("Policy: %s; %s.\n\n", mdText(policyWord(c.Policy)), mdText(deletionCounts(c.Deletions)))
	if len(c.Deletions) > 0 {
		m.printf("| Object | Outcome | Duration | Error |\n|---|---|---:|---|\n")
		for _, d := range c.Deletions {
			m.printf("| %s | %s | %s | %s |\n", mdCell(mdCode(objectName(d.Kind, d.Namespace, d.Name))),
				mdCell(mdText(d.Outcome)), d.Duration, mdCell(mdText(d.Error)))
		}
		m.printf("\n")
	}
	m.printf("### Could not be removed\n\n")
	if len(c.Leftovers) == 0 {
		m.printf("Nothing.\n\n")
		return
	}
	for _, l := range c.Leftovers {
		m.printf("- %s\n", mdText(l))
	}
	m.printf("\n")
}

// timelineEvent is one row of the timeline.
type timelineEvent struct {
	at   time.Time
	what string
}

func (m *mdWriter) timeline() {
	r := m.r
	var events []timelineEvent
	if !r.StartedAt.IsZero() {
		events = append(events, timelineEvent{r.StartedAt, "Run started"})
	}
	// A group's start comes before its first step's, its end after its
	// last step's (the sort is stable).
	var ends []timelineEvent
	for _, g := range groupsOf(r) {
		what := fmt.Sprintf("%s Parallel group %d (steps %d-%d)", groupMark(g.number), g.number, r.Steps[g.first].Index, r.Steps[g.last].Index)
		if !g.start.IsZero() {
			events = append(events, timelineEvent{g.start, what + " started: " + mdText(g.name)})
		}
		if !g.end.IsZero() {
			ends = append(ends, timelineEvent{g.end, what + " ended: " + mdText(g.name)})
		}
	}
	for _, l := range leaves(r) {
		s := l.step
		name := mdText(l.title())
		if g := l.group(); g != 0 {
			name = groupMark(g) + " " + name
		}
		if !s.StartedAt.IsZero() {
			events = append(events, timelineEvent{s.StartedAt, fmt.Sprintf("Step %d started: %s", l.index(), name)})
		}
		if !s.FinishedAt.IsZero() {
			events = append(events, timelineEvent{s.FinishedAt, fmt.Sprintf("Step %d %s: %s", l.index(), mdText(resultWord(s)), name)})
		}
	}
	events = append(events, ends...)
	if !r.FinishedAt.IsZero() {
		events = append(events, timelineEvent{r.FinishedAt, "Run finished: " + mdText(string(r.Verdict))})
	}
	if len(events) == 0 {
		return
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	origin := events[0].at
	if !r.StartedAt.IsZero() {
		origin = r.StartedAt
	}
	m.printf("## Timeline\n\n")
	m.printf("| Time (UTC) | Offset | Event |\n|---|---:|---|\n")
	for _, e := range events {
		at := e.at.UTC()
		stamp := at.Format(clockLayout)
		if at.YearDay() != origin.UTC().YearDay() || at.Year() != origin.UTC().Year() {
			stamp = at.Format("2006-01-02 " + clockLayout)
		}
		offset := e.at.Sub(origin).Round(time.Millisecond)
		m.printf("| %s | %+.3fs | %s |\n", stamp, offset.Seconds(), mdCell(e.what))
	}
	m.printf("\n")
}

// statusEmoji marks a status for people scanning the report.
func statusEmoji(s Status) string {
	switch s {
	case StatusPassed:
		return "✅"
	case StatusFailed:
		return "❌"
	case StatusInterrupted:
		return "⚠️"
	case StatusSkipped:
		return "⏭️"
	}
	return "❔"
}

// mdSpecial are the characters mdText escapes: those that would start
// emphasis, code, links, HTML, entities, headings' closing sequences, table
// cells or strikethrough.
const mdSpecial = "\\`*_[]<>&#|~"

// mdText renders text from the runbook or the cluster as literal Markdown
// inline text on one line: line breaks become spaces and every character
// that Markdown or HTML would interpret is backslash-escaped, and so is the
// mark of a list item or a thematic break it starts with ("- ", "+ ", "1. ",
// "2) ", "---"), which would turn a description or a list item into a list
// or a rule where the text starts a line.
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	if digits := len(s) - len(strings.TrimLeft(s, "0123456789")); digits > 0 && digits < len(s) && (s[digits] == '.' || s[digits] == ')') {
		b.WriteString(s[:digits])
		b.WriteByte('\\')
		b.WriteByte(s[digits])
		s = s[digits+1:]
	} else if s != "" && strings.ContainsRune("-+=", rune(s[0])) {
		b.WriteByte('\\')
	}
	for _, c := range s {
		if strings.ContainsRune(mdSpecial, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// mdCode renders s as an inline code span on one line, whatever backticks
// it holds: the span's delimiters are longer than any run of backticks in s,
// and padded with spaces when s starts or ends with one. Line breaks show as
// ↵. An empty s renders as "-".
func mdCode(s string) string {
	if s == "" {
		return "-"
	}
	s = strings.ReplaceAll(printable(s), "\n", "↵")
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || (strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.TrimSpace(s) != "") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdCell makes already rendered inline Markdown safe in a table cell.
// GitHub (cmark-gfm) ends a cell at any | that does not follow a backslash,
// even inside a code span, then drops the backslash right before each | of
// the cell and only then reads the cell's inline Markdown. In text, where
// mdText has escaped every | and backslash already, a | preceded by an even
// number of backslashes gets one more; in a code span every | gets one of
// its own, so that a\|b there still shows a\|b.
func mdCell(s string) string {
	var b strings.Builder
	backslashes := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c == '`' && backslashes%2 == 0 {
			n := backtickRun(s, i)
			open := s[i : i+n]
			if end := closingRun(s, i+n, n); end >= 0 {
				b.WriteString(open)
				b.WriteString(strings.ReplaceAll(s[i+n:end], "|", `\|`))
				b.WriteString(open)
				i = end + n
			} else {
				b.WriteString(open) // no span: literal backticks
				i += n
			}
			backslashes = 0
			continue
		}
		if c == '|' && backslashes%2 == 0 {
			b.WriteByte('\\')
		}
		if c == '\\' {
			backslashes++
		} else {
			backslashes = 0
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// backtickRun is the length of the run of backticks at s[i:].
func backtickRun(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] == '`' {
		n++
	}
	return n
}

// closingRun is where, from s[from:], the first run of exactly n
// backticks starts (the end of a code span opened by n), or -1.
func closingRun(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		m := backtickRun(s, i)
		if m == n {
			return i
		}
		i += m
	}
	return -1
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}
