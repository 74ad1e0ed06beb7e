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
