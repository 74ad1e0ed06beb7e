package runbook_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"

	"github.com/kube-runbook/runbook/runbook"
)

// benchSteps is the size of the generated runbook of the benchmarks.
const benchSteps = 1000

// generatedRunbook returns a runbook of n steps that cycles through the
// kinds a debugging runbook is made of: apply (a pod, waited for), exec
// (expected to fail, as in the seed), debug (ephemeral container with a
// target), copy (shared processes) and node (host at /host), with
// assertions, a set, and ${{ }} templates that read vars and earlier steps.
func generatedRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: bench-generated, description: A generated runbook for the loader benchmarks.}
spec:
  namespace: bench
  timeout: 30m
  allowPrivileged: true
  vars: {image: busybox:1.36, prefix: app}
  steps:
`)
	for i := range n {
		app := i - i%5 // the apply step of this group of five
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, `  - id: s%[1]d
    name: Create pod %[1]d
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: "${{ vars.prefix }}-%[1]d", labels: {app: bench}}
        spec:
          containers: [{name: app, image: registry.k8s.io/pause:3.10.2}]
      waitFor: Ready
    assert:
    - object.metadata.name == vars.prefix + "-%[1]d"
`, i)
		case 1:
			fmt.Fprintf(&b, `  - id: s%[1]d
    name: Exec in pod %[2]d
    exec: {pod: "${{ steps.s%[2]d.object.metadata.name }}", container: app, command: [/bin/sh, -c, "echo ${{ vars.prefix }}"]}
    expectFailure: true
    assert:
    - error contains "no such file or directory"
`, i, app)
		case 2:
			fmt.Fprintf(&b, `  - id: s%[1]d
    name: Debug pod %[2]d
    debug:
      pod: "${{ vars.prefix }}-%[2]d"
      image: ${{ vars.image }}
      target: app
      container: dbg%[1]d
      command: [ps, -ef]
    assert:
    - any(ps(stdout), .pid == 1 && .command == "/pause")
    - that: pod.spec.ephemeralContainers[0].targetContainerName == "app"
      message: the debugger targets app
`, i, app)
		case 3:
			fmt.Fprintf(&b, `  - id: s%[1]d
    name: Copy pod %[2]d
    copy:
      pod: "${{ vars.prefix }}-%[2]d"
      to: "${{ vars.prefix }}-%[2]d-dbg"
      image: ${{ vars.image }}
      container: debugger
      shareProcesses: true
      command: [sleep, "3600"]
    assert:
    - len(pod.spec.containers) == 2
    - pod.spec.shareProcessNamespace == true
`, i, app)
		case 4:
			fmt.Fprintf(&b, `  - id: s%[1]d
    name: Node of pod %[2]d
    node:
      name: ${{ steps.s%[2]d.object.spec.nodeName }}
      image: ${{ vars.image }}
      command: [cat, /host/etc/hostname]
    assert:
    - trim(stdout) == node.metadata.name
    set:
      host%[1]d: trim(stdout)
`, i, app)
		}
	}
	return []byte(b.String())
}

// TestGeneratedRunbook checks that the benchmarks' runbook is valid and
// that its plan has every step, so the benchmarks measure a full load and
// plan rather than an early error.
func TestGeneratedRunbook(t *testing.T) {
	tests := []struct {
		name  string
		steps int
	}{
		{"one group", 5},
		{"partial group", 7},
		{"benchmark size", benchSteps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := runbook.Parse("generated.yaml", generatedRunbook(tt.steps), runbook.LoadOptions{Kinds: steps.Registry})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := len(rb.Spec.Steps); got != tt.steps {
				t.Errorf("loaded %d steps, want %d", got, tt.steps)
			}
			plan, err := engine.MakePlan(rb, engine.PlanOptions{})
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			if got := len(plan.Steps); got != tt.steps {
				t.Errorf("planned %d steps, want %d", got, tt.steps)
			}
			if plan.Namespace != "bench" {
				t.Errorf("plan namespace %q, want bench", plan.Namespace)
			}
		})
	}
}

// BenchmarkLoadCompilePlan1000 measures what `runbook plan` does with a
// 1,000-step runbook: decode, check and compile every expression and
// template (Parse), then build the plan with every object (MakePlan).
func BenchmarkLoadCompilePlan1000(b *testing.B) {
	data := generatedRunbook(benchSteps)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rb, err := runbook.Parse("generated.yaml", data, runbook.LoadOptions{Kinds: steps.Registry})
		if err != nil {
			b.Fatalf("Parse: %v", err)
		}
		if _, err := engine.MakePlan(rb, engine.PlanOptions{}); err != nil {
			b.Fatalf("MakePlan: %v", err)
		}
	}
}

// BenchmarkParse1000 measures Parse alone (decode, check, compile) on the
// same 1,000-step runbook.
func BenchmarkParse1000(b *testing.B) {
	data := generatedRunbook(benchSteps)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := runbook.Parse("generated.yaml", data, runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
			b.Fatalf("Parse: %v", err)
		}
	}
}

// validateRunbook returns a runbook of n steps, small enough that 100,000
// fit in a file under the size limit, where every step uses ids and
// variables: even steps read the stdout of the step before, odd steps read
// the variable that the odd step before set, and set their own.
func validateRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: bench-validate}\nspec:\n  vars: {v0: x}\n  steps:\n")
	for i := range n {
		switch {
		case i == 0:
			b.WriteString("  - {id: s0, local: {command: [echo, \"${{ vars.v0 }}\"]}}\n")
		case i%2 == 0:
			fmt.Fprintf(&b, "  - {id: s%d, local: {command: [echo, \"${{ steps.s%d.stdout }}\"]}}\n", i, i-1)
		default:
			fmt.Fprintf(&b, "  - {id: s%d, local: {command: [echo, \"${{ vars.v%d }}\"]}, set: {v%d: stdout}}\n", i, max(i-2, 0), i)
		}
	}
	return []byte(b.String())
}

// BenchmarkValidate measures Parse (decode, check ids and variables,
// compile every expression) of runbooks of 100, 1,000 and 10,000 steps
// (runbook.MaxSteps, the most a runbook may have): ns/op grows linearly
// with the steps.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{100, 1_000, runbook.MaxSteps} {
		data := validateRunbook(n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				rb, err := runbook.Parse("validate.yaml", data, runbook.LoadOptions{Kinds: steps.Registry})
				if err != nil {
					b.Fatalf("Parse: %.2000v", err)
				}
				if len(rb.Spec.Steps) != n {
					b.Fatalf("%d steps, want %d", len(rb.Spec.Steps), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "µs/step")
		})
	}
}

// BenchmarkValidateVars measures Parse of a runbook with 100,000
// spec.vars (yaml.v3's check of duplicate keys, used before, is quadratic).
func BenchmarkValidateVars(b *testing.B) {
	var src strings.Builder
	src.WriteString("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: bench-vars}\nspec:\n  vars:\n")
	for i := range 100_000 {
		fmt.Fprintf(&src, "    v%d: %d\n", i, i)
	}
	src.WriteString("  steps:\n  - local: {command: [echo, \"${{ vars.v99999 }}\"]}\n")
	data := []byte(src.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rb, err := runbook.Parse("vars.yaml", data, runbook.LoadOptions{Kinds: steps.Registry})
		if err != nil {
			b.Fatalf("Parse: %.2000v", err)
		}
		if len(rb.Vars) != 100_000 {
			b.Fatalf("%d vars", len(rb.Vars))
		}
	}
}

// BenchmarkDeepVars measures Parse of a runbook whose one var is a list
// nested 1,000 and then 4,000 deep: ns/op and B/op grow with the depth
// linearly (about 4x), not with its square (16x), as they did while every
// value's path was written out for messages that never came (an 8 MiB
// file of such lists took 48 s and 7 GB).
func BenchmarkDeepVars(b *testing.B) {
	for _, depth := range []int{1_000, 4_000} {
		data := []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: bench-deep}\nspec:\n  vars:\n    a: " +
			strings.Repeat("[", depth) + "x" + strings.Repeat("]", depth) + "\n  steps:\n  - note: {message: hi}\n")
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := runbook.Parse("deep.yaml", data, runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
					b.Fatalf("Parse: %.2000v", err)
				}
			}
		})
	}
}
