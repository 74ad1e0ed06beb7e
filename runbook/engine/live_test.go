package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestLiveOutput checks that a local command's lines reach the progress
// while it runs, redacted of the step's secret env values (known before
// the command starts), and that a step whose output may hold a secret the
// run learns only when it ends (it sets a secret var) is not shown live.
func TestLiveOutput(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: t}
spec:
  namespace: default
  secretVars: [tok]
  steps:
  - local: {command: [sh, -c, "echo first; echo second"]}
  - local:
      command: [sh, -c, "echo token is $TOKEN"]
      env: [{name: TOKEN, value: "${{ 'to' + 'ken-' + 'value' }}", secret: true}]
  - local: {command: [echo, set-me-later]}
    set: {tok: "trim(stdout)"}
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	rec := &liveLines{}
	c := kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")
	res := Run(context.Background(), rb, RunOptions{Clients: c, RunID: "rb-test", Progress: rec})
	if res.Verdict != "passed" {
		t.Fatalf("verdict %s: %s", res.Verdict, res.Error)
	}
	got := strings.Join(rec.lines, "\n")
	for _, want := range []string{"1 stdout first", "1 stdout second", "2 stdout token is ***"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"token-value", "set-me-later"} {
		if strings.Contains(got, secret) {
			t.Errorf("live output shows %q:\n%s", secret, got)
		}
	}
}

// TestLiveOutputOfAnEnteredPod drives the live output of a step that
// enters a pod (an exec, an ephemeral debugger) as a step does: the run
// reads the pod's Secrets when the step asks for its live output, before
// the first line, so no line that reaches the progress (what the terminal
// writes) holds a value of a readable Secret, of a variable whose Secret
// could not be read (NAME=value lines masked, and a note says so), or of
// the step's secret env; a line cut at the live limit loses the start of
// a secret at its end.
func TestLiveOutputOfAnEnteredPod(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+"  steps: [{local: {command: [true]}}]\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(secretObjects()...)
	// api (envFrom, prefix API_) cannot be read; db can.
	cs.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if name := a.(k8stesting.GetAction).GetName(); name == "api" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, name, nil)
		}
		return false, nil, nil
	})
	rec := &liveLines{}
	r := &runner{rb: rb, o: RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default")}, sec: newSecrets(rb), watchers: map[string]*kube.PodWatcher{}}
	r.progress = redactingProgress{next: rec, red: r.sec.red}

	live := r.liveOutput(rb.Spec.Steps[0], 3, "pod default/web")(t.Context(), []string{"debugger-env-secret"},
		steps.EnteredPod{Namespace: "default", Name: "web"})
	if n := countActions(cs, "get", "secrets"); n != 3 {
		t.Errorf("%d reads of secrets before the first line, want 3 (db, api, tls)", n)
	}
	cut := strings.Repeat("x", kube.MaxLiveLine-len("hunter2")) + "hunter2"
	for _, l := range []struct{ stream, line string }{
		{"stdout", "DB_PASSWORD=hunter2-db-password"},
		{"stdout", "the password is hunter2-db-password, again"},
		{"stdout", "API_TOKEN=api-token-0123456789"},
		{"stdout", "  its second line"},
		{"stdout", "PATH=/bin"},
		{"stdout", "the token was api-token-0123456789"},
		{"stderr", "env: debugger-env-secret"},
		{"stdout", cut},
	} {
		live(l.stream, l.line)
	}
	got := strings.Join(rec.lines, "\n")
	for _, secret := range []string{"hunter2", "api-token-0123456789", "its second line", "debugger-env-secret"} {
		if strings.Contains(got, secret) {
			t.Errorf("a secret (%q) reached the live output:\n%s", secret, got)
		}
	}
	for _, want := range []string{
		"3 stdout DB_PASSWORD=***", "3 stdout the password is ***, again", "3 stdout API_TOKEN=***", "3 stdout ***\n",
		"3 stdout PATH=/bin", "3 stdout the token was ***", "3 stderr env: ***",
		"3 note Secrets this step's pod references could not be read (the run's warnings say which): lines NAME=value of API_* are masked",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "xxx***") {
		t.Errorf("the cut line does not end redacted:\n%s", got)
	}
}

// liveLines keeps only what Output is given.
type liveLines struct {
	noProgress
	mu    sync.Mutex
	lines []string
}

func (p *liveLines) Output(index int, _, stream, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, strings.Join([]string{string(rune('0' + index)), stream, line}, " "))
}

// TestFanOutProgress checks that a fanned-out step reports how far it is:
// its total once the targets are known, then each target's end, failures
// counted as they happen.
func TestFanOutProgress(t *testing.T) {
	src := runHead + `  steps:
  - forEach: {items: "[0, 1, 0]"}
    local: {command: [sh, -c, "exit ${{ item }}"]}
    continueOnError: true
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	rec := &fanOuts{}
	c := kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")
	res := Run(context.Background(), rb, RunOptions{Clients: c, RunID: "rb-test", Progress: rec})
	if res.Verdict != "failed" {
		t.Fatalf("verdict %s, want failed (one target exits 1): %s", res.Verdict, res.Error)
	}
	// The targets end in any order: done counts up, failed counts the
	// one failure from when it ends.
	if len(rec.events) != 4 || rec.events[0] != "1: 0/3 failed 0" || rec.events[3] != "1: 3/3 failed 1" {
		t.Fatalf("fan-out progress %q, want 0/3 first, 3/3 with 1 failed last", rec.events)
	}
	for i, e := range rec.events[1:3] {
		if !strings.HasPrefix(e, fmt.Sprintf("1: %d/3 failed ", i+1)) {
			t.Errorf("event %d is %q, want %d/3 done", i+1, e, i+1)
		}
	}
	if rec.events[1] == "1: 1/3 failed 1" && rec.events[2] != "1: 2/3 failed 1" {
		t.Errorf("a failure was uncounted: %q", rec.events)
	}
}

// fanOuts keeps only what FanOut is given.
type fanOuts struct {
	noProgress
	mu     sync.Mutex
	events []string
}

func (p *fanOuts) FanOut(index, done, total, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, fmt.Sprintf("%d: %d/%d failed %d", index, done, total, failed))
}
