package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableSaysWhatWasKept checks that a kept run lists each kept object,
// how to get into a kept pod (a shell, and the debugger when a debug step
// targeted it) and the command that removes them later.
func TestTableSaysWhatWasKept(t *testing.T) {
	r := passedResult()
	r.Cleanup.Policy = "keep"
	r.Cleanup.Deletions = []Deletion{
		{Kind: "Pod", Namespace: "default", Name: "noshell", Outcome: OutcomeKept},
		{Kind: "Pod", Namespace: "default", Name: "noshell-dbg", Outcome: OutcomeKept},
	}
	var buf bytes.Buffer
	if err := RenderTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"kept: pod default/noshell\n",
		"get in: kubectl exec -it -n default noshell -- sh",
		"get in: kubectl attach -it -n default noshell -c debugger",
		"kept: pod default/noshell-dbg",
		"remove later: runbook cleanup -n default --run-id " + r.RunID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// TestTableWithoutContext: a run in a pod (in-cluster config) has no
// kubeconfig context, which the table says rather than "context ,".
func TestTableWithoutContext(t *testing.T) {
	r := passedResult()
	r.Cluster.Context = ""
	var buf bytes.Buffer
	if err := RenderTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, ", no kubeconfig context, namespace ") || strings.Contains(out, "context ,") {
		t.Errorf("the run line does not say there was no context:\n%s", out)
	}
}
