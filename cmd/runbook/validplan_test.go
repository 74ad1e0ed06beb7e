package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidRunbooksPlan enforces that any runbook `validate` accepts also
// has a plan and RBAC rules: every example, every runbook of the e2e
// tests, and runbooks on what only the run can know (a copy of a pod the
// runbook did not create with its command or an image changed, a copy
// named from a var, workload and selector targets). Whatever is known only
// at run time is shown as such, never an error. The examples and the
// run-time runbooks must also plan without a step the plan says fails.
func TestValidRunbooksPlan(t *testing.T) {
	noKubeconfig(t)
	var files []string
	for _, glob := range []string{"../../examples/*.yaml", "../../hack/e2e/testdata/*.yaml", "../../steps/testdata/plan/*.yaml"} {
		m, err := filepath.Glob(glob)
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: %v %v", glob, m, err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../"), func(t *testing.T) {
			if code, _, stderr := run(t, "validate", f); code != exitPassed {
				t.Fatalf("validate: exit %d (every runbook here must be valid): %s", code, stderr)
			}
			code, stdout, stderr := run(t, "plan", "-o", "json", f)
			if code != exitPassed {
				t.Fatalf("plan: exit %d: %s", code, stderr)
			}
			var plan struct {
				Steps []struct {
					Index int
					Plan  struct{ Fails string }
				}
			}
			if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(f, "hack/e2e/") {
				// The e2e runbooks may fail on purpose; these must not.
				for _, s := range plan.Steps {
					if s.Plan.Fails != "" {
						t.Errorf("step %d: the plan says it fails: %s", s.Index, s.Plan.Fails)
					}
				}
			}
			if code, _, stderr := run(t, "rbac", f); code != exitPassed {
				t.Fatalf("rbac: exit %d: %s", code, stderr)
			}
		})
	}
}
