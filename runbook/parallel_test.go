package runbook_test

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestParallelGroupErrors checks what the loader refuses in and around a
// parallel group, each problem at its position.
func TestParallelGroupErrors(t *testing.T) {
	opts := runbook.LoadOptions{Kinds: steps.Registry}
	tests := []struct {
		name, steps string
		want        []string
	}{
		{"a sibling's result", `
  - parallel:
      steps:
      - {id: a, local: {command: [echo]}}
      - {id: b, local: {command: [echo, "${{ steps.a.stdout }}"]}}
`, []string{`rb.yaml:9:46: local: steps.a runs in the same parallel group as this step: it may not have finished (read it after the group)`}},
		{"a later sibling's result in an assertion", `
  - parallel:
      steps:
      - {id: a, local: {command: [echo]}, assert: ['steps.b.exitCode == 0']}
      - {id: b, local: {command: [echo]}}
`, []string{`rb.yaml:8:53: assert: steps.b runs in the same parallel group as this step: it may not have finished (read it after the group)`}},
		{"a var a sibling sets", `
  - parallel:
      steps:
      - {local: {command: [echo]}, set: {x: stdout}}
      - {local: {command: [echo, "${{ vars.x }}"]}}
`, []string{`rb.yaml:9:39: local: vars.x is not declared in spec.vars nor set by an earlier step`}},
		{"two siblings set one var", `
  - parallel:
      steps:
      - {local: {command: [echo]}, set: {x: stdout}}
      - {local: {command: [echo]}, set: {x: stdout}}
`, []string{`rb.yaml:9:9: set.x: the step at line 8 of the same parallel group sets it too; which value is kept would depend on which finishes last`}},
		{"the group's when reads its own steps", `
  - when: steps.a.exitCode == 0
    parallel:
      steps:
      - {id: a, local: {command: [echo]}}
`, []string{`rb.yaml:6:11: when: steps.a refers to a step that has not run yet at this point`}},
		{"nested group", `
  - parallel:
      steps:
      - parallel: {steps: [{local: {command: [echo]}}]}
`, []string{`rb.yaml:8:9: parallel groups do not nest: put these steps in the enclosing group, or run them after it`}},
		{"empty group", `
  - parallel: {steps: []}
`, []string{`rb.yaml:6:5: parallel.steps is empty: a parallel group needs at least one step`}},
		{"bad policy and bound", `
  - parallel:
      onFailure: stop
      concurrency: -1
      steps: [{local: {command: [echo]}}]
`, []string{
			`rb.yaml:7:7: parallel.onFailure must be wait or cancel, found "stop"`,
			`rb.yaml:8:7: parallel.concurrency must be 1 or more (default: all the steps of the group)`,
		}},
		{"keys of a step on a group", `
  - id: g
    parallel: {steps: [{local: {command: [echo]}}]}
    local: {command: [echo]}
    continueOnError: true
`, []string{
			`rb.yaml:6:5: a parallel group takes only name, description, when, timeout and parallel: "id" belongs on a step of parallel.steps`,
			`rb.yaml:8:5: a step is either a parallel group or one action: "local" is here next to parallel (put it in parallel.steps, or in a step of its own)`,
			`rb.yaml:9:5: a parallel group takes only name, description, when, timeout and parallel: "continueOnError" belongs on a step of parallel.steps`,
		}},
		{"unknown key in a group", `
  - parallel: {stpes: []}
`, []string{
			`rb.yaml:6:5: parallel.steps is empty: a parallel group needs at least one step`,
			`rb.yaml:6:16: unknown field "stpes" in parallel (did you mean "steps"?)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parse(t, head+"  steps:"+tc.steps, opts)
			var lines []string
			for _, l := range strings.Split(got, "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", got, strings.Join(tc.want, "\n"))
			}
			for i := range lines {
				if !strings.HasPrefix(lines[i], tc.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: %s", i, lines[i], tc.want[i])
				}
			}
		})
	}
}

// TestParallelGroupReads checks what a step may read around a group: the
// steps before it from inside, all of it after it (vars set in it too),
// and onFailure/finally, themselves grouped, the main steps.
func TestParallelGroupReads(t *testing.T) {
	rb, err := parse(t, head+`  steps:
  - {id: first, local: {command: [echo]}}
  - name: together
    when: steps.first.exitCode == 0
    timeout: 1m
    parallel:
      concurrency: 2
      onFailure: cancel
      steps:
      - {id: a, local: {command: [echo, "${{ steps.first.stdout }}"]}, set: {x: stdout}}
      - {id: b, local: {command: [echo, "${{ steps.first.stdout }}"]}}
      - {id: c, local: {command: [echo]}}
  - {id: after, local: {command: [echo, "${{ steps.a.stdout }}${{ steps.c.stdout }}${{ vars.x }}"]}}
  finally:
  - parallel:
      steps:
      - {local: {command: [echo, "${{ steps.b.stdout }}"]}}
      - {local: {command: [echo, "${{ steps.after.stdout }}"]}}
`, runbook.LoadOptions{Kinds: steps.Registry})
	if err != "" {
		t.Fatal(err)
	}
	g := rb.Spec.Steps[1]
	if g.Kind != runbook.KindParallel || g.Parallel.Concurrency != 2 || g.Parallel.OnFailure != runbook.OnFailureCancel || len(g.Parallel.Steps) != 3 || g.Timeout.Duration.String() != "1m0s" {
		t.Errorf("the group decoded as %+v / %+v", g, g.Parallel)
	}
	var ids []string
	for _, s := range rb.ActionSteps() {
		ids = append(ids, s.ID+":"+s.Kind)
	}
	if got, want := strings.Join(ids, " "), "first:local a:local b:local c:local after:local :local :local"; got != want {
		t.Errorf("ActionSteps: %s, want %s", got, want)
	}
}
