package expression_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// seedAssertion is the seed's check that the target's process is visible
// from an ephemeral container.
const seedAssertion = `any(ps(stdout), .pid == 1 && .command == "/pause")`

// assertContext is where seedAssertion stands: the assertions of a debug
// step.
var assertContext = expression.Context{
	Result:  true,
	Results: map[string]any{"stdout": "", "stderr": "", "exitCode": 0, "pod": map[string]any{}, "container": map[string]any{}},
	Kind:    "debug",
	Bool:    true,
}

// psOutput returns busybox `ps -ef` output as an ephemeral container with
// --target sees it in a pod of several processes: the target's /pause as
// PID 1 when first is true (else some other PID 1), n worker processes,
// and ps itself.
func psOutput(n int, first bool) string {
	var b strings.Builder
	b.WriteString("PID   USER     TIME  COMMAND\n")
	if first {
		b.WriteString("    1 65535     0:00 /pause\n")
	} else {
		b.WriteString("    1 root      0:00 /sbin/init\n")
	}
	for i := range n {
		fmt.Fprintf(&b, "%5d 1000      0:%02d /app/server --port=%d --workers=4\n", 10+i, i%60, 8000+i)
	}
	fmt.Fprintf(&b, "%5d root      0:00 ps -ef\n", 10+n)
	return b.String()
}

// TestSeedAssertion checks that the benchmarks' assertion compiles and tells
// a visible target from a missing one on their ps outputs.
func TestSeedAssertion(t *testing.T) {
	prog, probs := expression.Compile(seedAssertion, assertContext)
	if len(probs) > 0 {
		t.Fatalf("Compile: %v", probs)
	}
	tests := []struct {
		name   string
		stdout string
		want   bool
	}{
		{"target visible", psOutput(20, true), true},
		{"target missing", psOutput(20, false), false},
		{"no processes", "PID   USER     TIME  COMMAND\n", false},
		{"empty output", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := prog.EvalBool(&expression.Scope{Results: map[string]any{"stdout": tt.stdout}})
			if err != nil {
				t.Fatalf("EvalBool: %v", err)
			}
			if got != tt.want {
				t.Errorf("EvalBool = %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkEvalAssertion measures one evaluation of the seed's assertion
// (compiled once, as at load time) against the ps output of a pod with 20
// processes: parsing the output with ps() and scanning the records.
func BenchmarkEvalAssertion(b *testing.B) {
	prog, probs := expression.Compile(seedAssertion, assertContext)
	if len(probs) > 0 {
		b.Fatalf("Compile: %v", probs)
	}
	scope := &expression.Scope{Results: map[string]any{"stdout": psOutput(20, true), "exitCode": 0}}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := prog.EvalBool(scope)
		if err != nil || !ok {
			b.Fatalf("EvalBool = %v, %v; want true", ok, err)
		}
	}
}

// BenchmarkCompile measures compiling the seed's assertion as the loader
// does for every expression of a runbook (type check against the step's
// environment, and the parts shown when an assertion fails).
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, probs := expression.Compile(seedAssertion, assertContext); len(probs) > 0 {
			b.Fatalf("Compile: %v", probs)
		}
	}
}
