package steps

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

func TestNoteRun(t *testing.T) {
	tests := []struct {
		name    string
		message string
		max     int
		want    *Outcome
	}{
		{"text with expressions", `Pod ${{ vars.name }} runs ${{ vars.image + "." }}`, 0,
			&Outcome{Stdout: "Pod web runs busybox:1.36."}},
		{"several lines, kept as written", "first\nsecond\n", 0, &Outcome{Stdout: "first\nsecond\n"}},
		{"capped at the run's output limit", `${{ vars.name }} ${{ vars.name }} ${{ vars.name }}`, 5,
			&Outcome{Stdout: "web w", StdoutTruncated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			env.MaxOutput = tt.max
			out := (&NoteStep{Message: tpl(t, tt.message)}).Run(testCtx(t), env.Env)
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			// A note states; it does not touch the cluster.
			if a := env.kube.Actions(); len(a) > 0 {
				t.Errorf("the note called the API: %v", a)
			}
			if a := env.dyn.Actions(); len(a) > 0 {
				t.Errorf("the note called the API: %v", a)
			}
		})
	}
}

func TestNoteRunError(t *testing.T) {
	env := newTestEnv(t, nil)
	out := (&NoteStep{Message: tpl(t, `${{ vars.name.missing.deeper }}`)}).Run(testCtx(t), env.Env)
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), "message: ") {
		t.Fatalf("error = %v, want one about the message", out.Err)
	}
	if out.Stdout != "" {
		t.Errorf("stdout = %q after a failed render", out.Stdout)
	}
}

func TestNoteCheck(t *testing.T) {
	if errs := (&NoteStep{}).Check(&runbook.CheckContext{}); len(errs) != 1 || errs[0].Field != "message" || !strings.Contains(errs[0].Message, "needs a message") {
		t.Errorf("errors for an empty note: %v", errs)
	}
	if errs := (&NoteStep{Message: tpl(t, "done")}).Check(&runbook.CheckContext{}); len(errs) != 0 {
		t.Errorf("errors for a note with a message: %v", errs)
	}
}

func TestNotePlan(t *testing.T) {
	p := testPlanner(t)
	got, err := (&NoteStep{Message: tpl(t, "Pod ${{ vars.name }}: ${{ vars.later }}")}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Planned{Calls: []Call{}, Notes: []string{
		"no API call, no process; it says: Pod web: " + p.Render(tpl(t, "${{ vars.later }}"))}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	long := strings.Repeat("x", 300)
	got, _ = (&NoteStep{Message: tpl(t, long)}).Plan(p)
	if n := got.Notes[0]; !strings.HasSuffix(n, expression.Shorten(long, 200)) || len(n) > 300 {
		t.Errorf("a long message is not shortened in the plan: %q", n)
	}
}

// TestNoteLoads: the loader decodes a note as any kind, strictly, and
// type-checks its templates and the results it declares.
func TestNoteLoads(t *testing.T) {
	const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  vars: {pod: web}\n  steps:\n"
	tests := []struct {
		name, steps, wantErr string
	}{
		{"message and stdout", "  - id: d\n    note: {message: \"Pod ${{ vars.pod }}\"}\n    assert: [stdout contains \"web\"]\n" +
			"  - note: {message: \"${{ steps.d.stdout }}\"}\n", ""},
		{"no message", "  - note: {}\n", "rb.yaml:7:11: note: a note needs a message, the text to state: note: {message: \"...\"}"},
		{"a string, not a mapping", "  - note: just text\n", "rb.yaml:7:11: note: a note needs a message, the text to state: note: {message: \"...\"}"},
		{"unknown field", "  - note: {message: x, text: y}\n", "rb.yaml:7:24: unknown field \"text\" in note"},
		{"unknown result", "  - note: {message: x}\n    assert: [exitCode == 0]\n", "exitCode"},
		{"bad expression", "  - note: {message: \"${{ vars.nope }}\"}\n", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runbook.Parse("rb.yaml", []byte(head+tt.steps), runbook.LoadOptions{Kinds: Registry})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("load: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("load error = %v, want one with %q", err, tt.wantErr)
			}
		})
	}
}
