package engine

import (
	"context"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestLiveOutput checks that a local command's lines reach the progress
// while it runs, and that a step whose output may hold a secret the run
// learns only later (a secret env value) is not shown live.
func TestLiveOutput(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: t}
spec:
  namespace: default
  steps:
  - local: {command: [sh, -c, "echo first; echo second"]}
  - local:
      command: [sh, -c, "echo $TOKEN"]
      env: [{name: TOKEN, value: "${{ 'to' + 'ken-' + 'value' }}", secret: true}]
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
	for _, want := range []string{"stdout first", "stdout second"} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "token-value") {
		t.Errorf("a secret env value was shown:\n%s", got)
	}
}

// liveLines keeps only what Output is given.
type liveLines struct {
	noProgress
	mu    sync.Mutex
	lines []string
}

func (p *liveLines) Output(_ int, _, stream, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, stream+" "+line)
}
