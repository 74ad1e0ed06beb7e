package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// TestLocalShellTakesValuesOnlyFromEnv checks that a template in a shell
// script is refused at load time, and that a hostile value passed through
// env stays data: the script prints it, it does not run it.
func TestLocalShellTakesValuesOnlyFromEnv(t *testing.T) {
	spliced := &LocalStep{Shell: tpl(t, `echo ${{ vars.name }}`)}
	errs := spliced.Check(&runbook.CheckContext{})
	if len(errs) != 1 || errs[0].Field != "shell" || !strings.Contains(errs[0].Message, "environment variables") {
		t.Fatalf("Check = %v, want one shell error about environment variables", errs)
	}

	hostile := `x"; touch /tmp/pwned-by-runbook; echo "$(id)`
	s := &LocalStep{Shell: tpl(t, `printf '%s' "$NAME"`), Env: []EnvVar{{Name: "NAME", Value: tpl(t, "${{ vars.name }}")}}}
	if errs := s.Check(&runbook.CheckContext{}); len(errs) > 0 {
		t.Fatalf("Check = %v", errs)
	}
	env := &Env{Scope: &expression.Scope{Vars: map[string]any{"name": hostile}}, MaxOutput: 1 << 16, Dir: t.TempDir()}
	out := s.Run(context.Background(), env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if out.Stdout != hostile {
		t.Errorf("stdout = %q, want the value verbatim %q", out.Stdout, hostile)
	}
}
