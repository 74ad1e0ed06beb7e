package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// TestTableFitsTheTerminal renders each fixture at 80 and 200 columns: no
// line is wider than the terminal, and every step is still listed.
func TestTableFitsTheTerminal(t *testing.T) {
	for _, f := range fixtures {
		for _, width := range []int{80, 200} {
			var buf bytes.Buffer
			if err := RenderTableWidth(&buf, f.result(), width); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(buf.String(), "\n") {
				if w := runewidth.StringWidth(line); w > width {
					t.Errorf("%s at %d columns: a line of %d: %q", f.name, width, w, line)
				}
			}
			for _, l := range leaves(f.result()) {
				if !strings.Contains(buf.String(), clip(oneLine(stepLabel(l)), 20)[:min(10, len(clip(oneLine(stepLabel(l)), 20)))]) {
					t.Errorf("%s at %d columns: step %q is missing", f.name, width, stepLabel(l))
				}
			}
		}
	}
}

func TestWrapToWidthAlwaysEnds(t *testing.T) {
	for _, width := range []int{1, 2, 3, 5, 10} {
		out := wrapToWidth("      "+strings.Repeat("界x ", 30)+"\n", width)
		if !strings.Contains(out, "x") {
			t.Errorf("width %d lost the text: %q", width, out)
		}
	}
}
