package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clipperhouse/uax29/v2/graphemes"
	"github.com/mattn/go-runewidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// Limits of the terminal table: cells are single lines of at most
// tableCellRunes runes, and under the table a failed step shows at most the
// last tableTailLines lines of its stderr (or stdout when stderr is empty),
// each cut to tableTailRunes runes.
const (
	tableCellRunes = 60
	tableTailLines = 10
	tableTailRunes = 200
)

// RenderTable writes the end-of-run summary for a terminal: a table with a
// row per step (per target of a fanned-out step) giving the step, its kind,
// target, result, duration and assertions passed/total; under it, each
// failure with its error, its failed assertions and their values and the
// tail of its output; then a line per file the steps wrote, with its size;
// then cleanup problems and leftovers; and a final line
// with the verdict, the counts, the duration and the API requests. It writes
// no colour: colour belongs to live progress on a TTY.
func RenderTable(w io.Writer, r *Result) error { return RenderTableWidth(w, r, 0) }

// RenderTableWidth is RenderTable for a terminal of width columns (0: no
// limit): when the boxed table is wider, the steps are listed in a compact
// layout that fits, and long lines under it are cut.
func RenderTableWidth(w io.Writer, r *Result, width int) error {
	if r == nil {
		return errors.New("no result to render")
	}
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	var table bytes.Buffer
	if err := writeStepTable(&table, r); err != nil {
		return err
	}
	compact := width > 0 && maxWidth(table.String()) > width
	if compact {
		writeCompactTable(bw, r, width)
	} else {
		bw.Write(table.Bytes())
	}
	writeFailures(bw, r)
	writeArtifactLines(bw, r)
	writeCleanupLines(bw, r)
	if r.Error != "" {
		fmt.Fprintf(bw, "Run: %s\n", oneLine(r.Error))
	}
	for _, w := range r.Warnings {
		writeIndented(bw, "Warning: ", w)
	}
	context := "no kubeconfig context" // in a pod: the in-cluster config
	if r.Cluster.Context != "" {
		context = "context " + oneLine(r.Cluster.Context)
	}
	namespace := "" // none yet: the run did not start
	if r.Namespace != "" {
		namespace = ", namespace " + oneLine(r.Namespace)
	}
	fmt.Fprintf(bw, "Runbook %s, run %s, %s%s\n",
		oneLine(r.Runbook.Name), oneLine(r.RunID), context, namespace)
	fmt.Fprintf(bw, "%s: %s in %s; API requests: %s\n",
		verdictWord(r.Verdict), r.Counts(), r.Duration, apiRequests(r))
	if err := bw.Flush(); err != nil {
		return err
	}
	text := out.String()
	if width > 0 {
		text = wrapToWidth(text, width)
	}
	_, err := io.WriteString(w, text)
	return err
}

// wrapToWidth wraps the lines of text wider than width at spaces, the
// continuation indented under the line's text (a boxed table is never
// wrapped: it was chosen because it fits).
//
// A line is wrapped in one pass: each row looks only at the columns it
// takes (see fitWidth), and the rest of the line is never copied, where
// measuring and re-indenting the whole rest for every row made a long line
// (a 1 MiB error) quadratic. The rows are those runewidth.StringWidth and
// runewidth.Truncate would cut on the whole rest.
func wrapToWidth(text string, width int) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		nl := strings.HasSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\n")
		indent := strings.Repeat(" ", min(len(line)-len(strings.TrimLeft(line, " "))+2, width/2))
		// The line still to write is head+rest: head is short (the indent
		// and what is left of the previous head), rest a tail of line.
		head, rest := "", line
		first := true
		for {
			window, cut, over := fitWidth(head, rest, width)
			if !over {
				break
			}
			if i := strings.LastIndex(window[:cut], " "); i > len(indent)+width/4 {
				cut = i
			}
			if cut == 0 || strings.TrimSpace(window[:cut]) == strings.TrimSpace(indent) {
				// Nothing fits (a tiny width): take one rune, always progress.
				lead := len(head) - len(strings.TrimLeft(head, " "))
				after := head[lead:]
				if after == "" {
					lead += len(rest) - len(strings.TrimLeft(rest, " "))
					after = rest[lead-len(head):]
				}
				_, n := utf8.DecodeRuneInString(after)
				cut = lead + n
			}
			if cut <= len(head) {
				b.WriteString(head[:cut])
				head = strings.TrimLeft(head[cut:], " ")
				if head == "" {
					rest = strings.TrimLeft(rest, " ")
				}
			} else {
				b.WriteString(head)
				b.WriteString(rest[:cut-len(head)])
				head, rest = "", strings.TrimLeft(rest[cut-len(head):], " ")
			}
			b.WriteString("\n")
			head = indent + head
			if !first && allSpace(head) && allSpace(rest) {
				break
			}
			first = false
		}
		b.WriteString(head)
		b.WriteString(rest)
		if nl {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// fitWidth tells whether head+rest is wider than width columns
// (runewidth.StringWidth) and, if it is, where runewidth.Truncate would cut
// it to width: cut bytes into window, a prefix of head+rest that holds the
// cut. It measures only a window of the text, twice as long as long as the
// cut is not decided: a grapheme cluster whose end is inside the window is
// the same cluster as in the whole text (a boundary depends on the
// characters before it and the one after), so a cut before the window's
// last cluster is the cut of the whole.
func fitWidth(head, rest string, width int) (window string, cut int, over bool) {
	for k := min(len(rest), 4*width+64); ; k = min(len(rest), 2*k) {
		for k < len(rest) && !utf8.RuneStart(rest[k]) {
			k++
		}
		window = head + rest[:k]
		whole := k == len(rest)
		w := 0
		g := graphemes.FromString(window)
		for g.Next() {
			cw := 0
			for _, r := range g.Value() {
				if cw = runewidth.RuneWidth(r); cw > 0 {
					break // the cluster's width is its first non-zero rune's, as in runewidth
				}
			}
			if w+cw > width {
				if whole || g.End() < len(window) {
					return window, g.Start(), true
				}
				break // the window's last cluster: it may go on past it
			}
			w += cw
		}
		if whole && w <= width {
			return window, 0, false
		}
	}
}

// allSpace reports whether s is white space only, reading no further than
// its first other character.
func allSpace(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return !unicode.IsSpace(c) }) < 0
}

// writeStepTable renders the step table with tablewriter.
func writeStepTable(w io.Writer, r *Result) error {
	ls := leaves(r)
	if len(ls) == 0 {
		_, err := fmt.Fprintln(w, "No step ran.")
		return err
	}
	table := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
	)
	table.Header("#", "Step", "Kind", "Target", "Result", "Duration", "Assertions")
	for _, l := range ls {
		row := []string{
			fmt.Sprint(l.index()),
			stepLabel(l),
			l.kind(),
			l.step.Target,
			resultWord(l.step),
			durationCell(l.step),
			assertionsCell(l.step),
		}
		for i := range row {
			row[i] = clip(oneLine(row[i]), tableCellRunes)
		}
		if err := table.Append(row); err != nil {
			return fmt.Errorf("rendering the table: %w", err)
		}
	}
	if err := table.Render(); err != nil {
		return fmt.Errorf("rendering the table: %w", err)
	}
	return nil
}

// writeFailures writes, for each failed or interrupted step, why.
func writeFailures(w io.Writer, r *Result) {
	for _, l := range leaves(r) {
		s := l.step
		if s.Status != StatusFailed && s.Status != StatusInterrupted {
			continue
		}
		fmt.Fprintf(w, "\n%s %d. %s\n", resultWord(s), l.index(), oneLine(l.title()))
		if s.Error != "" {
			writeIndented(w, "  error: ", s.Error)
		}
		for _, a := range s.Assertions {
			if a.Passed {
				continue
			}
			writeIndented(w, "  ✗ ", assertionTitle(a))
			if a.Error != "" {
				writeIndented(w, "      error: ", a.Error)
			}
			for _, v := range a.Values {
				writeIndented(w, "      ", v.Expr+" = "+clip(v.Value, tableTailRunes))
			}
		}
		name, out := "stderr", s.Stderr
		if strings.TrimSpace(out) == "" {
			name, out = "stdout", s.Stdout
		}
		writeTail(w, name, out)
	}
	for _, s := range notStarted(r) {
		fmt.Fprintf(w, "\nNOT STARTED %d. %s %s\n", s.Index, groupMark(s.Group), oneLine(s.Name))
		writeIndented(w, "  ", s.SkipReason)
	}
}

// writeIndented writes text after prefix; continuation lines are indented
// to the prefix's width.
func writeIndented(w io.Writer, prefix, text string) {
	pad := strings.Repeat(" ", len([]rune(prefix)))
	for i, line := range strings.Split(strings.TrimRight(printable(text), "\n"), "\n") {
		if i == 0 {
			fmt.Fprintf(w, "%s%s\n", prefix, line)
		} else {
			fmt.Fprintf(w, "%s%s\n", pad, line)
		}
	}
}

// writeTail writes the last lines of a failed step's output.
func writeTail(w io.Writer, name, out string) {
	out = strings.TrimRight(printable(out), "\n")
	if strings.TrimSpace(out) == "" {
		return
	}
	lines := strings.Split(out, "\n")
	if len(lines) > tableTailLines {
		fmt.Fprintf(w, "  %s (output truncated: last %d of %d lines; full output in the JSON result):\n", name, tableTailLines, len(lines))
		lines = lines[len(lines)-tableTailLines:]
	} else {
		fmt.Fprintf(w, "  %s:\n", name)
	}
	for _, line := range lines {
		fmt.Fprintf(w, "    | %s\n", clip(line, tableTailRunes))
	}
}

// writeCleanupLines writes what cleanup could not do: failed deletions and
// leftovers. A clean cleanup is a single summary line.
func writeCleanupLines(w io.Writer, r *Result) {
	c := r.Cleanup
	fmt.Fprintln(w)
	if c.Policy != "" || len(c.Deletions) > 0 {
		fmt.Fprintf(w, "Cleanup (%s): %s\n", policyWord(c.Policy), deletionCounts(c.Deletions))
	}
	for _, d := range c.Deletions {
		if d.Outcome == OutcomeFailed {
			writeIndented(w, "  failed: ", objectName(d.Kind, d.Namespace, d.Name)+": "+d.Error)
		}
	}
	for _, l := range c.Leftovers {
		writeIndented(w, "  not removed: ", l)
	}
	writeKeptLines(w, r)
}

// writeKeptLines says, for what the run kept (--keep, spec.cleanup), what
// it is, how to get in, and how to remove it later.
func writeKeptLines(w io.Writer, r *Result) {
	var kept []Deletion
	namespaces := map[string]bool{}
	for _, d := range r.Cleanup.Deletions {
		if d.Outcome == OutcomeKept {
			kept = append(kept, d)
			namespaces[d.Namespace] = true
		}
	}
	if len(kept) == 0 {
		return
	}
	for _, d := range kept {
		writeIndented(w, "  kept: ", objectName(d.Kind, d.Namespace, d.Name))
		if d.Kind == "Pod" {
			for _, c := range podContainers(r, d.Namespace, d.Name) {
				writeIndented(w, "    get in: ", c)
			}
		}
	}
	writeIndented(w, "  remove later: ", CleanupCommand(r.RunID, namespaces))
}

// CleanupCommand is the `runbook cleanup` that removes what run runID left
// in namespaces ("" for cluster-scoped objects): in the one namespace when
// there is only one, else across all of them.
func CleanupCommand(runID string, namespaces map[string]bool) string {
	where := "-A"
	if len(namespaces) == 1 {
		for ns := range namespaces {
			if ns != "" {
				where = "-n " + ns
			}
		}
	}
	return fmt.Sprintf("runbook cleanup %s --run-id %s", where, runID)
}

// containerFlag finds the container a kubectl debug line names.
var containerFlag = regexp.MustCompile(`(?:^| )-c ([a-z0-9][-a-z0-9]*)`)

// podContainers suggests how to get into a kept pod: a shell in it, and
// for a debugger that still runs, attaching to it.
func podContainers(r *Result, ns, pod string) []string {
	out := []string{fmt.Sprintf("kubectl exec -it -n %s %s -- sh", ns, pod)}
	for _, l := range leaves(r) {
		if l.kind() == "debug" && l.step.Target == "pod "+ns+"/"+pod {
			name := "DEBUGGER"
			if m := containerFlag.FindStringSubmatch(l.step.Command); m != nil {
				name = m[1]
			}
			out = append(out, fmt.Sprintf("kubectl attach -it -n %s %s -c %s  (the debugger of step %d, if it still runs)", ns, pod, name, l.index()))
		}
	}
	return out
}

// policyWord renders a cleanup policy; empty means none was recorded.
func policyWord(p string) string {
	if p == "" {
		return "no policy recorded"
	}
	return oneLine(p)
}

// deletionCounts renders "3 deleted, 1 not found" in a fixed order of
// outcomes, or "nothing to delete".
func deletionCounts(ds []Deletion) string {
	counts := map[string]int{}
	for _, d := range ds {
		counts[d.Outcome]++
	}
	var parts []string
	for _, o := range []string{OutcomeDeleted, OutcomeNotFound, OutcomeFailed, OutcomeKept} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
			delete(counts, o)
		}
	}
	for _, o := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[o], oneLine(o)))
	}
	if len(parts) == 0 {
		return "nothing to delete"
	}
	return strings.Join(parts, ", ")
}

// maxWidth is the width in columns of the widest line of text.
func maxWidth(text string) int {
	m := 0
	for _, l := range strings.Split(text, "\n") {
		m = max(m, runewidth.StringWidth(l))
	}
	return m
}

// writeCompactTable lists the steps in columns that fit width: the step's
// number, its result mark, duration and assertions, and its name (with the
// target when there is room), cut to what is left.
func writeCompactTable(w io.Writer, r *Result, width int) {
	marks := map[Status]string{StatusPassed: "✓", StatusFailed: "✗", StatusSkipped: "-", StatusInterrupted: "!"}
	for _, l := range leaves(r) {
		s := l.step
		head := fmt.Sprintf("%3d %s %-7s %6s %5s ", l.index(), marks[s.Status], clip(l.kind(), 7), durationCell(s), assertionsCell(s))
		rest := oneLine(stepLabel(l))
		if s.Target != "" {
			rest += " — " + oneLine(s.Target)
		}
		if word := resultWord(s); s.Status != StatusPassed || word != string(StatusPassed) {
			rest = word + ": " + rest
		}
		fmt.Fprintln(w, runewidth.Truncate(head+rest, max(width-1, 20), "…"))
	}
}
