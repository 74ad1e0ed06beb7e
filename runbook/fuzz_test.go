package runbook_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

// FuzzLoad feeds arbitrary bytes to the loader: it must return a runbook
// or errors, never panic or hang. Seeded with the examples and test files.
// `make fuzz` runs it briefly; `make fuzz FUZZTIME=10m` runs it longer.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("../examples/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := runbook.Parse("fuzz.yaml", data, runbook.LoadOptions{Kinds: steps.Registry})
		if err == nil && rb == nil {
			t.Fatal("no runbook and no error")
		}
		if err != nil && rb != nil {
			t.Fatal("both a runbook and an error")
		}
		if err == nil {
			if _, perr := engine.MakePlan(rb, engine.PlanOptions{}); perr != nil {
				t.Logf("plan: %v", perr)
			}
		}
	})
}
