package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// runLocal loads src and runs it against fake clients; local steps run for
// real, so the executor's logic is tested without a cluster.
func runLocal(t *testing.T, ctx context.Context, src string) *report.Result {
	t.Helper()
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c := kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")
	return Run(ctx, rb, RunOptions{Clients: c, RunID: "rb-test"})
}

type stepSummary struct {
	Name, Phase string
	Status      report.Status
	Error       string
}

func summary(r *report.Result) []stepSummary {
	var out []stepSummary
	for _, s := range r.Steps {
		out = append(out, stepSummary{s.Name, s.Phase, s.Status, s.Error})
	}
	return out
}

const runHead = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  namespace: default\n"

func TestRunFlow(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  vars: {greeting: hello}
  steps:
  - id: hi
    name: say
    local: {command: [echo, "${{ vars.greeting }}"]}
    assert: [trim(stdout) == "hello"]
    set: {said: trim(stdout)}
  - name: skipped by when
    when: vars.said != "hello"
    local: {command: ["false"]}
  - name: expected failure
    local: {command: [sh, -c, "exit 3"]}
    expectFailure: true
    assert: [exitCode == 3, error == "command exited with code 3"]
  - name: tolerated failure
    local: {command: ["false"]}
    continueOnError: true
  - name: failing assertion
    local: {command: [echo, "${{ trim(steps.hi.stdout) }}"]}
    assert: [len(lines(stdout)) == 2]
  - name: never runs
    local: {command: [echo]}
  onFailure:
  - name: evidence
    local: {command: [echo, evidence]}
  finally:
  - name: always
    local: {command: [echo, "${{ vars.said }}"]}
    assert: [trim(stdout) == "hello"]
`)
	want := []stepSummary{
		{"say", "steps", report.StatusPassed, ""},
		{"skipped by when", "steps", report.StatusSkipped, ""},
		{"expected failure", "steps", report.StatusPassed, "command exited with code 3"},
		{"tolerated failure", "steps", report.StatusFailed, "command exited with code 1"},
		{"failing assertion", "steps", report.StatusFailed, ""},
		{"never runs", "steps", report.StatusSkipped, ""},
		{"evidence", "onFailure", report.StatusPassed, ""},
		{"always", "finally", report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if res.Verdict != report.VerdictFailed {
		t.Errorf("verdict %s", res.Verdict)
	}
	a := res.Steps[4].Assertions[0]
	wantValues := []report.Value{{Expr: "lines(stdout)", Value: `["hello"]`}, {Expr: "len(lines(stdout))", Value: "1"}, {Expr: "stdout", Value: `"hello\n"`}}
	if a.Passed || !cmp.Equal(sortValues(a.Values), sortValues(wantValues)) {
		t.Errorf("failed assertion: %+v, want values %v", a, wantValues)
	}
	if res.Steps[0].Set["said"] != "hello" || res.Vars["said"] != "hello" {
		t.Errorf("set: %v, vars: %v", res.Steps[0].Set, res.Vars)
	}
	if res.Steps[1].SkipReason != `when: vars.said != "hello" is false` || res.Steps[5].SkipReason != "an earlier step failed" {
		t.Errorf("skip reasons: %q, %q", res.Steps[1].SkipReason, res.Steps[5].SkipReason)
	}
}

func sortValues(v []report.Value) map[string]string {
	m := map[string]string{}
	for _, x := range v {
		m[x.Expr] = x.Value
	}
	return m
}

func TestRunPassedSkipsOnFailure(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  steps:
  - local: {command: ["true"]}
  onFailure:
  - name: evidence
    local: {command: ["true"]}
`)
	if res.Verdict != report.VerdictPassed || res.Steps[1].Status != report.StatusSkipped || res.Steps[1].SkipReason != "nothing failed" {
		t.Errorf("got %s, %+v", res.Verdict, res.Steps)
	}
}

func TestRunStepTimeout(t *testing.T) {
	start := time.Now()
	res := runLocal(t, t.Context(), runHead+`  steps:
  - name: slow
    timeout: 300ms
    local: {command: [sleep, "30"]}
  finally:
  - name: after
    local: {command: ["true"]}
  - name: fails on its own
    local: {command: ["false"]}
`)
	if time.Since(start) > 20*time.Second {
		t.Fatalf("the step timeout did not stop the command")
	}
	if res.Steps[0].Status != report.StatusFailed || !strings.Contains(res.Steps[0].Error, "the step's timeout of 300ms expired") || !res.Steps[0].TimedOut {
		t.Errorf("step: %s %q, timed out %v", res.Steps[0].Status, res.Steps[0].Error, res.Steps[0].TimedOut)
	}
	if res.Steps[1].Status != report.StatusPassed {
		t.Errorf("finally after a timeout: %+v", res.Steps[1])
	}
	if res.Steps[2].Status != report.StatusFailed || res.Steps[2].TimedOut {
		t.Errorf("a step that fails in its time: %s, timed out %v", res.Steps[2].Status, res.Steps[2].TimedOut)
	}
	if res.TimedOut {
		t.Error("the run's own timeout did not expire, yet the result says it did")
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel(ErrInterrupted)
	}()
	res := runLocal(t, ctx, runHead+`  steps:
  - name: long
    local: {command: [sleep, "30"]}
  - name: next
    local: {command: ["true"]}
  finally:
  - name: evidence
    local: {command: [echo, kept]}
`)
	got := summary(res)
	if res.Verdict != report.VerdictInterrupted || got[0].Status != report.StatusInterrupted ||
		got[1].Status != report.StatusSkipped || got[2].Status != report.StatusPassed {
		t.Errorf("verdict %s, steps %+v", res.Verdict, got)
	}
	if !errors.Is(context.Cause(ctx), ErrInterrupted) {
		t.Fatal("test setup")
	}
}

func TestRunContextGuard(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+"  context: prod-*\n  steps:\n  - local: {command: [\"true\"]}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	c := kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")
	c.ContextName = "staging"
	res := Run(t.Context(), rb, RunOptions{Clients: c})
	if res.Verdict != report.VerdictError || !strings.Contains(res.Error, `does not match spec.context "prod-*"`) {
		t.Errorf("verdict %s error %q", res.Verdict, res.Error)
	}
	// The run did not start: its step is listed, skipped, and nothing ran.
	if len(res.Steps) != 1 || res.Steps[0].Status != report.StatusSkipped || res.Steps[0].SkipReason != "the run did not start" {
		t.Errorf("steps %+v, want the one step skipped because the run did not start", res.Steps)
	}
}

func TestRunRedactsSecrets(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  steps:
  - local:
      command: [sh, -c, 'echo "token is $TOKEN"']
      env: [{name: TOKEN, value: s3cr3t-value, secret: true}]
`)
	if strings.Contains(res.Steps[0].Stdout, "s3cr3t-value") || !strings.Contains(res.Steps[0].Stdout, "token is") {
		t.Errorf("stdout not redacted: %q", res.Steps[0].Stdout)
	}
}

// TestRunClusterErrors: a step the cluster refused (forbidden) is marked
// clusterError, for JUnit to report an error; a step told "not found" is
// a plain failure.
func TestRunClusterErrors(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+`  allowPrivileged: true
  steps:
  - name: refused
    node: {name: guarded, image: busybox:1.36}
    continueOnError: true
  - name: absent
    node: {name: nowhere, image: busybox:1.36}
    continueOnError: true
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	k := fake.NewClientset()
	k.PrependReactor("get", "nodes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() == "guarded" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "guarded", errors.New("no rights"))
		}
		return false, nil, nil
	})
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(k, nil, nil, "default"), RunID: "rb-test"})
	type outcome struct {
		Status       report.Status
		ClusterError bool
		Forbidden    bool
	}
	var got []outcome
	for _, s := range res.Steps {
		got = append(got, outcome{s.Status, s.ClusterError, strings.Contains(s.Error, "forbidden")})
	}
	want := []outcome{{report.StatusFailed, true, true}, {report.StatusFailed, false, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s\n%s", diff, summary(res))
	}
}

// TestWallFollowsTheMonotonicClock: a run's timestamps are its start on the wall clock plus
// the monotonic time since, so that a step of the wall clock during a run moves none of
// them against another; and a run's timestamps and durations agree.
func TestWallFollowsTheMonotonicClock(t *testing.T) {
	start := time.Now()
	r := &runner{started: start}
	later := start.Add(1500 * time.Millisecond)
	if got, want := r.wall(later), start.UTC().Add(1500*time.Millisecond); !got.Equal(want) {
		t.Errorf("wall(start+1.5s) = %v, want %v", got, want)
	}
	if got := r.wall(later); got.Location() != time.UTC {
		t.Errorf("wall() is in %v, want UTC", got.Location())
	}

	res := runLocal(t, context.Background(), runHead+`  steps:
    - {name: a, local: {command: [sleep, "0.05"]}}
    - {name: b, local: {command: ["true"]}, forEach: {items: "1..2", concurrency: 2}}
`)
	check := func(what string, started, finished time.Time, d report.Seconds) {
		t.Helper()
		if span := finished.Sub(started); span < 0 || span != time.Duration(d) {
			t.Errorf("%s: finishedAt - startedAt = %v, duration %v: they must agree", what, span, time.Duration(d))
		}
	}
	check("run", res.StartedAt, res.FinishedAt, res.Duration)
	for _, s := range res.Steps {
		check("step "+s.Name, s.StartedAt, s.FinishedAt, s.Duration)
		for _, x := range s.Targets {
			check("target "+x.Target, x.StartedAt, x.FinishedAt, x.Duration)
		}
	}
}
