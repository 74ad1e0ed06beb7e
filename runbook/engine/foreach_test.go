package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/report"
)

// startOrder is the items of a fan-out's targets in the order they
// started, read from each target's stdout ("item N").
func startOrder(t *testing.T, sr report.StepResult) []string {
	t.Helper()
	targets := slices.Clone(sr.Targets)
	slices.SortStableFunc(targets, func(a, b report.StepResult) int { return a.StartedAt.Compare(b.StartedAt) })
	var out []string
	for _, tr := range targets {
		out = append(out, strings.TrimSpace(tr.Stdout))
	}
	return out
}

// TestForEachStartsInOrder: the targets of a fan-out start in the order of
// its items, one at a time by default and as slots free up with a bound
// (a scheduler that runs the last goroutine created first once started
// item 6 of 6 first), and the results are kept in that order.
func TestForEachStartsInOrder(t *testing.T) {
	for _, conc := range []string{"", ", concurrency: 2"} {
		t.Run("concurrency"+conc, func(t *testing.T) {
			for range 5 {
				res := runLocal(t, t.Context(), runHead+`  steps:
  - name: fan
    forEach: {items: "[1, 2, 3, 4, 5, 6, 7, 8]"`+conc+`}
    local:
      shell: 'echo "item $ITEM"; sleep 0.05'
      env: [{name: ITEM, value: "${{ item }}"}]
`)
				if res.Verdict != report.VerdictPassed {
					t.Fatalf("verdict %s: %s", res.Verdict, res.Error)
				}
				want := []string{"item 1", "item 2", "item 3", "item 4", "item 5", "item 6", "item 7", "item 8"}
				var kept []string
				for _, tr := range res.Steps[0].Targets {
					kept = append(kept, strings.TrimSpace(tr.Stdout))
				}
				if !slices.Equal(kept, want) {
					t.Fatalf("results kept in the order %v, want %v", kept, want)
				}
				got := startOrder(t, res.Steps[0])
				if conc == "" && !slices.Equal(got, want) {
					t.Fatalf("one at a time, the targets started in the order %v, want %v", got, want)
				}
				// Two at a time, a target starts only after every earlier one
				// has: none starts before the target two places earlier.
				ts := res.Steps[0].Targets
				for i := 2; i < len(ts); i++ {
					if ts[i].StartedAt.Before(ts[i-2].StartedAt) {
						t.Fatalf("target %d started before target %d: %v", i+1, i-1, got)
					}
				}
			}
		})
	}
}

// TestForEachInterruptedSkipsRest: an interrupt while a fan-out's first
// target runs interrupts it; the targets not started are skipped for the
// interrupt, not for a failFast that the step does not have.
func TestForEachInterruptedSkipsRest(t *testing.T) {
	dir := t.TempDir()
	ctx := interruptWhen(t, dir, 1)
	res := runLocal(t, ctx, runHead+`  steps:
  - name: fan
    forEach: {items: "[1, 2, 3]"}
    local:
      shell: 'touch "$DIR/$ITEM"; sleep 30'
      env: [{name: ITEM, value: "${{ item }}"}, {name: DIR, value: `+dir+`}]
`)
	ts := res.Steps[0].Targets
	if len(ts) != 3 {
		t.Fatalf("%d targets, want 3", len(ts))
	}
	if ts[0].Status != report.StatusInterrupted {
		t.Errorf("target 1: %s, want interrupted", ts[0].Status)
	}
	for _, tr := range ts[1:] {
		if tr.Status != report.StatusSkipped || tr.SkipReason != "the run was interrupted" {
			t.Errorf("target %s: %s %q, want skipped for the interrupt", tr.Target, tr.Status, tr.SkipReason)
		}
	}
	if res.Verdict != report.VerdictInterrupted {
		t.Errorf("verdict %s", res.Verdict)
	}
}

// TestForEachItemsOfAnyList: forEach.items takes a list of any element
// type (split's strings, a range's numbers, a list of mappings), in its
// order; a value that is not a list fails the step at the expression's
// place in the file, naming what it was but not its value.
func TestForEachItemsOfAnyList(t *testing.T) {
	for _, tc := range []struct{ items, want string }{
		{`split(vars.names, ",")`, "a b c"},
		{`1..3`, "1 2 3"},
		{`map([{"n": "x"}, {"n": "y"}], .n)`, "x y"},
		{`[true, 2.5, "s"]`, "true 2.5 s"},
	} {
		t.Run(tc.items, func(t *testing.T) {
			res := runLocal(t, t.Context(), runHead+`  vars: {names: "a,b,c"}
  steps:
  - name: fan
    forEach: {items: '`+tc.items+`'}
    local: {command: [echo, "${{ item }}"]}
`)
			if res.Verdict != report.VerdictPassed {
				t.Fatalf("verdict %s: %s %s", res.Verdict, res.Error, res.Steps[0].Error)
			}
			var got []string
			for _, tr := range res.Steps[0].Targets {
				got = append(got, strings.TrimSpace(tr.Stdout))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("targets printed %q, want %q", got, tc.want)
			}
		})
	}
	res := runLocal(t, t.Context(), runHead+`  vars: {names: "hunter2"}
  steps:
  - name: fan
    forEach: {items: 'vars.names'}
    local: {command: [echo, "${{ item }}"]}
`)
	want := "rb.yaml:9:22: forEach.items: vars.names is a string, not a list"
	if got := res.Steps[0].Error; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
