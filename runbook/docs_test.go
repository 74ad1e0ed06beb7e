package runbook_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// partialMark, on the line before a ```yaml fence, says that the block is
// deliberately not a whole runbook (an outline with "..." in it).
const partialMark = "<!-- partial -->"

// TestDocsRunbooksLoad loads every ```yaml block of README.md and docs/*.md
// that is a runbook (it says kind: Runbook), so that what the
// documentation shows is what the loader accepts. A block marked
// partialMark is skipped; every other block of kind Runbook must load.
func TestDocsRunbooksLoad(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	fence := regexp.MustCompile("(?m)^```yaml\n")
	isRunbook := regexp.MustCompile(`(?m)^kind: Runbook\b`)
	loaded := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, loc := range fence.FindAllStringIndex(text, -1) {
			end := strings.Index(text[loc[1]:], "\n```")
			if end < 0 {
				t.Errorf("%s: unterminated ```yaml block at byte %d", f, loc[0])
				continue
			}
			block := text[loc[1] : loc[1]+end+1]
			line := 1 + strings.Count(text[:loc[1]], "\n") // the block's first line
			before := strings.TrimSpace(text[strings.LastIndex(text[:loc[0]-1], "\n")+1 : loc[0]])
			if !isRunbook.MatchString(block) || before == partialMark {
				continue
			}
			loaded++
			// Named so that errors point into the Markdown file; the
			// loader's line numbers count from the block's first line.
			name := fmt.Sprintf("%s (the block at line %d)", filepath.Base(f), line)
			if _, err := runbook.Parse(name, []byte(block), runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
				t.Errorf("%s: the runbook of the ```yaml block at line %d does not load (mark it %s if it is meant to be partial):\n%v", f, line, partialMark, err)
			}
		}
	}
	if loaded == 0 {
		t.Fatal("no runbook found in the documentation's ```yaml blocks")
	}
}
