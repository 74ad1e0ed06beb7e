package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPlanGolden checks the plan text and the rbac output of every example
// against checked-in files (go test -update rewrites them): a change of
// what a run of an example would do shows up as a diff in review.
func TestPlanGolden(t *testing.T) {
	// No kubeconfig: the context's namespace is default.
	noKubeconfig(t)
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		for _, c := range []struct{ what, golden string }{{"plan", name + ".plan.golden"}, {"rbac", name + ".rbac.golden"}} {
			t.Run(c.golden, func(t *testing.T) {
				code, stdout, stderr := run(t, c.what, f)
				if code != exitPassed {
					t.Fatalf("%s %s: exit %d: %s", c.what, f, code, stderr)
				}
				golden := filepath.Join("testdata", "plans", c.golden)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test -update writes it)", err)
				}
				if diff := cmp.Diff(string(want), stdout); diff != "" {
					t.Errorf("%s %s (-%s +got):\n%s", c.what, f, golden, diff)
				}
			})
		}
	}
}
