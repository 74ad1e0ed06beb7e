package engine

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// noteRunbook states a conclusion built from a var set by an earlier step
// and from a secret var, which must never reach a report.
const noteRunbook = runHead + `  vars: {token: tok-0123456789-secret}
  secretVars: [token]
  steps:
  - id: state
    note: {message: state}
    set: {restarts: '"7"'}
  - id: diagnosis
    name: Diagnosis
    note:
      message: >-
        ${{ "Pod web restarted " + vars.restarts + " times (token " + vars.token + ")." }}
    assert: [stdout contains "restarted 7 times"]
`

// TestNoteRun: a note's message is its step's output, in every report,
// redacted; the step makes no API call.
func TestNoteRun(t *testing.T) {
	res := runLocal(t, t.Context(), noteRunbook)
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s: %s %+v", res.Verdict, res.Error, summary(res))
	}
	d := res.Steps[1]
	if d.Kind != "note" || d.Stdout != "Pod web restarted 7 times (token ***)." {
		t.Errorf("diagnosis step: kind %q, stdout %q", d.Kind, d.Stdout)
	}
	if len(d.Calls) != 0 || d.ExitCode != nil {
		t.Errorf("the note made calls %v, exit code %v", d.Calls, d.ExitCode)
	}
	var md, js strings.Builder
	if err := report.RenderMarkdown(&md, res); err != nil {
		t.Fatal(err)
	}
	if err := report.RenderJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": md.String(), "json": js.String()} {
		if !strings.Contains(out, "Pod web restarted 7 times (token ***).") {
			t.Errorf("the %s report lacks the note:\n%s", name, out)
		}
		if strings.Contains(out, "tok-0123456789-secret") {
			t.Errorf("the %s report holds the secret", name)
		}
	}
}

// TestNotePlan: a note plans no call, so it adds nothing to the RBAC.
func TestNotePlan(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(noteRunbook), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(rb, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.RBAC) != 0 {
		t.Errorf("a runbook of notes needs rules %v", p.RBAC)
	}
	for _, s := range p.Steps {
		if s.Kind != "note" || len(s.Planned.Calls) != 0 || len(s.Planned.Notes) != 1 ||
			!strings.HasPrefix(s.Planned.Notes[0], "no API call, no process; it says: ") {
			t.Errorf("planned step %d: %+v", s.Index, s)
		}
		if strings.Contains(s.Planned.Notes[0], "tok-0123456789-secret") {
			t.Errorf("the plan shows the secret: %s", s.Planned.Notes[0])
		}
	}
}
