package report

import (
	"strings"
	"testing"
)

// TestMarkdownLeadsWithTheFailure checks that a failed run's report shows,
// within its first 40 lines, the failed step, its error and each failed
// assertion with its values, and that GitHub's renderer keeps them in the
// "What failed" section, before the summary.
func TestMarkdownLeadsWithTheFailure(t *testing.T) {
	r := failedResult()
	md := string(renderResult(t, "md", r))
	head := strings.Join(strings.SplitN(md, "\n", 41)[:40], "\n")
	for _, l := range leaves(r) {
		for _, a := range l.step.Assertions {
			if a.Passed {
				continue
			}
			if !strings.Contains(head, a.Expr) {
				t.Errorf("failed assertion %q is not in the first 40 lines:\n%s", a.Expr, head)
			}
			for _, v := range a.Values {
				if !strings.Contains(head, v.Expr) {
					t.Errorf("value %q of a failed assertion is not in the first 40 lines", v.Expr)
				}
			}
		}
	}
	page := toHTML(t, []byte(md))
	failed, summary := strings.Index(page, "<h2>What failed</h2>"), strings.Index(page, "<h2>Summary</h2>")
	if failed < 0 || summary < 0 || failed > summary {
		t.Errorf("What failed at %d, Summary at %d: want What failed first", failed, summary)
	}
	if md := string(renderResult(t, "md", passedResult())); strings.Contains(md, "What failed") {
		t.Error("a passed run has a What failed section")
	}
}

func TestWrapLines(t *testing.T) {
	long := strings.Repeat("word ", 50)
	for _, line := range strings.Split(wrapLines(long, 40), "\n") {
		if len(line) > 40 {
			t.Errorf("line of %d runes: %q", len(line), line)
		}
	}
	if got := wrapLines(strings.Repeat("x", 90), 40); got != strings.Repeat("x", 40)+"\n"+strings.Repeat("x", 40)+"\n"+strings.Repeat("x", 10) {
		t.Errorf("hard wrap = %q", got)
	}
}

// TestMarkdownWhatFailedIsBounded: a failed step's output of one huge line
// (a JSON dump) or of a progress bar redrawn with carriage returns made
// "What failed" show all of it as its "last line", megabytes above the
// summary. It shows the last 8 lines, at most whatFailedBytes of them.
func TestMarkdownWhatFailedIsBounded(t *testing.T) {
	r := failedResult()
	r.Steps[1].Stdout = strings.Repeat("é", 1<<19) + "END" // 1 MiB on one line
	r.Steps[1].Stderr = strings.Repeat("pulling 10%\r", 80000) + "pulling 100%\r\n"
	md := string(renderResult(t, "md", r))
	failed := md[strings.Index(md, "## What failed"):strings.Index(md, "## Summary")]
	if len(failed) > 2*2000+2000 {
		t.Errorf("What failed is %d bytes long", len(failed))
	}
	if !strings.Contains(failed, "Last 1999 bytes of stdout:\n\n```text\n"+strings.Repeat("é", 998)+"END\n```") {
		t.Errorf("What failed does not end the stdout with its last 2000 bytes, on a character boundary:\n%.600s", failed)
	}
	if !strings.Contains(failed, "Last lines of stderr:\n\n```text\n"+strings.Repeat("pulling 10%\n", 7)+"pulling 100%\n```") {
		t.Errorf("What failed does not show the last 8 lines of the progress bar:\n%s", failed[strings.Index(failed, "stderr"):])
	}
	if len(md) > 2*MaxMarkdownOutputBytes+20000 {
		t.Errorf("the report is %d bytes long", len(md))
	}
}
