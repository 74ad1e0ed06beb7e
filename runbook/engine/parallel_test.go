package engine

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kube-runbook/runbook/report"
)

// barrier is a shell script that marks its step as started in $DIR and
// waits until $N steps have: it ends only if they run at the same time.
const barrier = `touch "$DIR/$ME"; while [ "$(ls "$DIR" | wc -l)" -lt "$N" ]; do sleep 0.02; done; echo "$ME"`

// barrierStep is a local step running barrier as me, waiting for n.
func barrierStep(dir, me string, n int) string {
	return `      - id: ` + me + `
        timeout: 20s
        local:
          shell: '` + barrier + `'
          env: [{name: DIR, value: ` + dir + `}, {name: ME, value: ` + me + `}, {name: "N", value: "` + string(rune('0'+n)) + `"}]
`
}

type groupSummary struct {
	Index  int
	ID     string
	Group  int
	Status report.Status
	Why    string
}

func groupSummaries(r *report.Result) []groupSummary {
	var out []groupSummary
	for _, s := range r.Steps {
		why := s.Error
		if s.Status == report.StatusSkipped {
			why = s.SkipReason
		}
		out = append(out, groupSummary{s.Index, s.ID, s.Group, s.Status, why})
	}
	return out
}

// TestParallelGroupRunsTogether runs three steps that can only end when
// all three have started, and checks the results: in the order written,
// numbered as written, overlapping in time, readable after the group.
func TestParallelGroupRunsTogether(t *testing.T) {
	dir := t.TempDir()
	res := runLocal(t, t.Context(), runHead+`  steps:
  - {id: before, local: {command: [echo, go]}}
  - name: together
    parallel:
      steps:
`+barrierStep(dir, "a", 3)+barrierStep(dir, "b", 3)+barrierStep(dir, "c", 3)+`
  - id: after
    local: {command: [echo, "${{ trim(steps.a.stdout) + trim(steps.b.stdout) + trim(steps.c.stdout) }}"]}
    assert: [trim(stdout) == "abc"]
`)
	want := []groupSummary{
		{1, "before", 0, report.StatusPassed, ""},
		{2, "a", 1, report.StatusPassed, ""},
		{3, "b", 1, report.StatusPassed, ""},
		{4, "c", 1, report.StatusPassed, ""},
		{5, "after", 0, report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, groupSummaries(res)); diff != "" {
		t.Fatalf("steps (-want +got):\n%s", diff)
	}
	if res.Verdict != report.VerdictPassed {
		t.Errorf("verdict %s: %s", res.Verdict, res.Error)
	}
	a, b, c := res.Steps[1], res.Steps[2], res.Steps[3]
	for _, s := range []report.StepResult{b, c} {
		if !s.StartedAt.Before(a.FinishedAt) || !a.StartedAt.Before(s.FinishedAt) {
			t.Errorf("step %s (%s to %s) does not overlap step a (%s to %s)", s.ID, s.StartedAt, s.FinishedAt, a.StartedAt, a.FinishedAt)
		}
	}
	if a.GroupName != "together" {
		t.Errorf("groupName %q, want together", a.GroupName)
	}
	if !res.Steps[4].StartedAt.After(latest(a.FinishedAt, b.FinishedAt, c.FinishedAt)) {
		t.Errorf("the step after the group started before the group ended")
	}
}

func latest(ts ...time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// TestParallelGroupConcurrency checks the bound: with concurrency 2 no
// step ever sees more than two steps of the group running.
func TestParallelGroupConcurrency(t *testing.T) {
	dir := t.TempDir()
	step := func(me string) string {
		return `      - id: ` + me + `
        local:
          shell: 'touch "$DIR/$ME"; sleep 0.2; ls "$DIR" | wc -l; rm "$DIR/$ME"'
          env: [{name: DIR, value: ` + dir + `}, {name: ME, value: ` + me + `}]
        assert: [int(trim(stdout)) <= 2]
`
	}
	res := runLocal(t, t.Context(), runHead+`  steps:
  - parallel:
      concurrency: 2
      steps:
`+step("a")+step("b")+step("c")+step("d"))
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s: %+v", res.Verdict, groupSummaries(res))
	}
}

// TestParallelGroupFailure checks the policies: a failure stops the steps
// not started; wait lets the running ones finish, cancel stops them; the
// steps after the group are skipped; the reasons name the failed step.
func TestParallelGroupFailure(t *testing.T) {
	for _, policy := range []string{"wait", "cancel"} {
		t.Run(policy, func(t *testing.T) {
			dir := t.TempDir()
			// slow waits until fails has started (so both run), then for
			// a file nobody writes: only a cancellation ends it early.
			res := runLocal(t, t.Context(), runHead+`  steps:
  - name: evidence
    parallel:
      concurrency: 2
      onFailure: `+policy+`
      steps:
      - id: fails
        local: {shell: 'touch "$DIR/fails"; exit 1', env: [{name: DIR, value: `+dir+`}]}
      - id: slow
        local: {shell: 'while [ ! -e "$DIR/fails" ]; do sleep 0.02; done; sleep 0.5; [ "$POLICY" = wait ] || sleep 30', env: [{name: DIR, value: `+dir+`}, {name: POLICY, value: `+policy+`}]}
      - {id: third, local: {command: ["true"]}}
      - {id: fourth, local: {command: ["true"]}}
  - {id: after, local: {command: ["true"]}}
  finally:
  - {id: last, local: {command: ["true"]}}
`)
			slow := groupSummary{2, "slow", 1, report.StatusPassed, ""}
			if policy == "cancel" {
				slow = groupSummary{2, "slow", 1, report.StatusFailed, "cancelled: step 1 (local fails) of the parallel group failed (local command /bin/sh was stopped)"}
			}
			notStarted := "not started: step 1 (local fails) of the parallel group failed"
			want := []groupSummary{
				{1, "fails", 1, report.StatusFailed, "command exited with code 1"},
				slow,
				{3, "third", 1, report.StatusSkipped, notStarted},
				{4, "fourth", 1, report.StatusSkipped, notStarted},
				{5, "after", 0, report.StatusSkipped, "an earlier step failed"},
				{6, "last", 0, report.StatusPassed, ""},
			}
			if diff := cmp.Diff(want, groupSummaries(res)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if res.Verdict != report.VerdictFailed {
				t.Errorf("verdict %s", res.Verdict)
			}
		})
	}
}

// TestParallelGroupContinueOnError: a tolerated failure stops nothing, and
// in finally a failure stops nothing either.
func TestParallelGroupContinueOnError(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  steps:
  - parallel:
      concurrency: 1
      steps:
      - {id: tolerated, local: {command: ["false"]}, continueOnError: true}
      - {id: second, local: {command: ["true"]}}
  - {id: after, local: {command: ["true"]}}
  finally:
  - parallel:
      concurrency: 1
      steps:
      - {id: f1, local: {command: ["false"]}}
      - {id: f2, local: {command: ["true"]}}
`)
	want := []groupSummary{
		{1, "tolerated", 1, report.StatusFailed, "command exited with code 1"},
		{2, "second", 1, report.StatusPassed, ""},
		{3, "after", 0, report.StatusPassed, ""},
		{4, "f1", 2, report.StatusFailed, "command exited with code 1"},
		{5, "f2", 2, report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, groupSummaries(res)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

// TestParallelGroupInterrupted interrupts a group while three of its four
// steps run: they are interrupted, the fourth never starts, finally runs.
func TestParallelGroupInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx := interruptWhen(t, dir, 3)
	step := func(me string) string {
		return `      - {id: ` + me + `, local: {shell: 'touch "$DIR/` + me + `"; sleep 30', env: [{name: DIR, value: ` + dir + `}]}}
`
	}
	res := runLocal(t, ctx, runHead+`  steps:
  - parallel:
      concurrency: 3
      steps:
`+step("a")+step("b")+step("c")+step("d")+`  - {id: after, local: {command: ["true"]}}
  finally:
  - {id: last, local: {command: ["true"]}}
`)
	got := groupSummaries(res)
	for i := range got[:3] {
		if got[i].Status != report.StatusInterrupted || !strings.Contains(got[i].Why, "interrupted") {
			t.Errorf("step %s: %s %q, want interrupted", got[i].ID, got[i].Status, got[i].Why)
		}
		got[i].Why = ""
	}
	want := []groupSummary{
		{1, "a", 1, report.StatusInterrupted, ""},
		{2, "b", 1, report.StatusInterrupted, ""},
		{3, "c", 1, report.StatusInterrupted, ""},
		{4, "d", 1, report.StatusSkipped, "the run was interrupted"},
		{5, "after", 0, report.StatusSkipped, "an earlier step failed"},
		{6, "last", 0, report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if res.Verdict != report.VerdictInterrupted {
		t.Errorf("verdict %s", res.Verdict)
	}
}

// TestParallelGroupTimeoutWhenForEach: the group's timeout stops its
// steps; a fanned-out step runs inside a group; a group whose when is
// false skips all of its steps; vars set in a group are read after it.
func TestParallelGroupTimeoutWhenForEach(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  steps:
  - parallel:
      steps:
      - id: fan
        forEach: {items: '["x", "y", "z"]', concurrency: 3}
        local: {command: [echo, "${{ item }}"]}
      - {id: one, local: {command: [echo, one]}, set: {one: trim(stdout)}}
  - when: vars.one == "two"
    parallel:
      steps:
      - {id: never, local: {command: ["true"]}}
  - timeout: 300ms
    parallel:
      onFailure: wait
      steps:
      - {id: slow, local: {command: [sleep, "30"]}, continueOnError: true}
      - {id: quick, local: {command: [echo, "${{ vars.one }}"]}, assert: ['trim(stdout) == "one"']}
`)
	want := []groupSummary{
		{1, "fan", 1, report.StatusPassed, ""},
		{2, "one", 1, report.StatusPassed, ""},
		{3, "never", 2, report.StatusSkipped, `when: vars.one == "two" is false (the parallel group's)`},
		{4, "slow", 3, report.StatusFailed, "the parallel group's timeout of 300ms expired"},
		{5, "quick", 3, report.StatusPassed, ""},
	}
	got := groupSummaries(res)
	if len(got) == 5 && strings.HasPrefix(got[3].Why, want[3].Why) {
		got[3].Why = want[3].Why
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if n := len(res.Steps[0].Targets); n != 3 {
		t.Errorf("the fan-out in the group has %d targets, want 3", n)
	}
}

// TestParallelGroupRunTimeout: the run's timeout expires while a group
// runs: its running steps fail with the run's timeout, the step not started
// is skipped for it, onFailure runs (a group there too), and a secret
// value of one step of the group is redacted from every step's output.
func TestParallelGroupRunTimeout(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  timeout: 1s
  steps:
  - parallel:
      concurrency: 2
      steps:
      - id: slow
        local: {command: [sleep, "30"]}
      - id: secretive
        local:
          shell: 'echo "token is $TOKEN"; sleep 30'
          env: [{name: TOKEN, value: s3cr3t-value, secret: true}]
      - {id: never, local: {command: ["true"]}}
  onFailure:
  - parallel:
      steps:
      - {id: evidence, local: {command: [echo, s3cr3t-value]}}
      - {id: more, local: {command: [echo, more]}}
`)
	got := groupSummaries(res)
	timeout := "the run's timeout of 1s expired"
	for i := range got {
		if strings.HasPrefix(got[i].Why, timeout) {
			got[i].Why = timeout
		}
	}
	want := []groupSummary{
		{1, "slow", 1, report.StatusFailed, timeout},
		{2, "secretive", 1, report.StatusFailed, timeout},
		{3, "never", 1, report.StatusSkipped, timeout},
		{4, "evidence", 2, report.StatusPassed, ""},
		{5, "more", 2, report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("steps (-want +got):\n%s\nrun error: %s", diff, res.Error)
	}
	if !res.TimedOut || !res.Steps[0].TimedOut || !res.Steps[1].TimedOut || res.Steps[3].TimedOut {
		t.Errorf("timed out: run %v, steps %v %v %v; want the run and the two steps it cut short", res.TimedOut, res.Steps[0].TimedOut, res.Steps[1].TimedOut, res.Steps[3].TimedOut)
	}
	for _, s := range res.Steps {
		if strings.Contains(s.Stdout, "s3cr3t-value") {
			t.Errorf("step %s: the secret is in its stdout %q", s.ID, s.Stdout)
		}
	}
	if out := res.Steps[3].Stdout; !strings.Contains(out, "***") {
		t.Errorf("onFailure step's stdout %q, want the secret redacted as ***", out)
	}
	if res.Verdict != report.VerdictFailed || !strings.Contains(res.Error, timeout) {
		t.Errorf("verdict %s, error %q", res.Verdict, res.Error)
	}
}

// interruptWhen returns a context that is interrupted (ErrInterrupted, as
// Ctrl-C does) once dir holds n files: the steps touch one each as they
// start.
func interruptWhen(t *testing.T, dir string, n int) context.Context {
	ctx, cancel := context.WithCancelCause(t.Context())
	t.Cleanup(func() { cancel(nil) })
	go func() {
		for {
			if es, _ := os.ReadDir(dir); len(es) >= n {
				cancel(ErrInterrupted)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return ctx
}
