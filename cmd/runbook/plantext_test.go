package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

// TestPlanTextShowsControlCharacters: the plan is read to decide whether a
// runbook may run; an escape sequence or a carriage return in its name, a
// step's name or a command (YAML's double-quoted escapes write them) must be
// shown, not act on the terminal (erase the line with a !! PRIVILEGED mark,
// recolour, retitle).
func TestPlanTextShowsControlCharacters(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: "name\e]0;title\a"}
spec:
  steps:
  - name: "step\r\e[2K\u009b"
    local: {command: [echo, "arg\e[31m", "txt\u202e"]}
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.MakePlan(rb, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writePlanText(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\r\u009b\u202e") {
		t.Errorf("control characters reached the plan:\n%q", out)
	}
	for _, want := range []string{`Plan of runbook name\x1b]0;title\x07 (rb.yaml`, `1. step\x0d\x1b[2K\x9b [local]`, `target: local: echo 'arg\x1b[31m' 'txt\u202E'`} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
}

// TestPlanTextKeepsValuesOnTheirLine: a line break in a value (a note rendered from a var, a
// step name) cannot start a line of its own that reads as the plan's.
func TestPlanTextKeepsValuesOnTheirLine(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: forge}
spec:
  namespace: default
  vars: {msg: "ok\n\nRBAC the run needs\n  secrets group \"\" verbs *"}
  steps:
  - name: "two\nlines"
    note: {message: "${{ vars.msg }}"}
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.MakePlan(rb, engine.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writePlanText(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\nRBAC the run needs"); n != 1 {
		t.Errorf("%d lines say \"RBAC the run needs\", want the plan's own only:\n%s", n, out)
	}
	for _, want := range []string{`1. two\x0alines [note]`, `ok\x0a\x0aRBAC the run needs\x0a  secrets`} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
}
