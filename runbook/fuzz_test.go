package runbook_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	// A value quoted in a problem, with escape sequences and a bidirectional override.
	f.Add([]byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: \"\\e[2J\"}\nspec:\n  steps:\n  - id: \"a\\e]0;x\\a\\u202e\"\n    note: {message: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := runbook.Parse("fuzz.yaml", data, runbook.LoadOptions{Kinds: steps.Registry})
		if err == nil && rb == nil {
			t.Fatal("no runbook and no error")
		}
		if err != nil && rb != nil {
			t.Fatal("both a runbook and an error")
		}
		if list, ok := err.(runbook.ErrorList); ok {
			for _, e := range list {
				if msg := e.Error(); strings.ContainsFunc(msg, func(r rune) bool { return r != '\t' && !strconv.IsPrint(r) }) {
					t.Fatalf("a problem that is not one printable line: %q", msg)
				}
			}
		}
		if err == nil {
			if _, perr := engine.MakePlan(rb, engine.PlanOptions{}); perr != nil {
				t.Logf("plan: %v", perr)
			}
		}
	})
}
