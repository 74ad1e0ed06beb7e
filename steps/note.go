package steps

import (
	"context"
	"fmt"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// NoteStep states a conclusion: its message, rendered, is the step's
// output (stdout), shown under the step and in every report. It calls no
// API and runs no process, so it works wherever runbook itself runs (a Job
// whose image holds only the runbook binary). Assertions on the values the
// message is built from say whether the run passes.
type NoteStep struct {
	// Message is the text to state, which may hold ${{ }} expressions.
	// Values marked secret are redacted from it, as from any output.
	Message expression.Template `yaml:"message" json:"message"`
}

var noteKind = Kind{
	Name:    "note",
	Summary: "state a conclusion: the rendered message is the step's output (no API call, no process)",
	New:     func() Action { return &NoteStep{} },
	Results: []Result{resultStdout},
}

// Check implements Action.
func (s *NoteStep) Check(*runbook.CheckContext) []runbook.FieldError {
	if s.Message.IsZero() {
		return []runbook.FieldError{fieldErr("message", "a note needs a message, the text to state: note: {message: \"...\"}")}
	}
	return nil
}

// Plan implements Action.
func (s *NoteStep) Plan(p *Planner) (*Planned, error) {
	return &Planned{Calls: []Call{}, Notes: []string{
		"no API call, no process; it says: " + expression.Shorten(p.Render(s.Message), 200)}}, nil
}

// Run implements Action.
func (s *NoteStep) Run(_ context.Context, e *Env) *Outcome {
	out := &Outcome{}
	msg, err := e.Render(s.Message)
	if err != nil {
		return out.fail(fmt.Errorf("message: %w", err))
	}
	// A message built from the cluster's data is capped as any output is.
	limit := e.MaxOutput
	if limit <= 0 {
		limit = kube.DefaultMaxBytes
	}
	buf := kube.NewCappedBuffer(limit)
	_, _ = buf.Write([]byte(msg))
	out.Stdout, out.StdoutTruncated = buf.String(), buf.Truncated()
	return out
}
