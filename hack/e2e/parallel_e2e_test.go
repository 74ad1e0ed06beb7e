//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	junit "github.com/joshdk/go-junit"

	"github.com/kube-runbook/runbook/report"
)

// writeRunbook writes a runbook into a temporary file and returns its path.
func writeRunbook(t *testing.T, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "runbook.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// parallelWork is a runbook whose first step makes a busybox pod, then runs
// a parallel group of four steps, at most three at once: an exec, an
// ephemeral container and a node pod that all sleep (so they are still
// running when the test interrupts them), then a copy that never starts.
const parallelWork = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: parallel-interrupt}
spec:
  timeout: 5m
  allowPrivileged: true
  steps:
  - id: work
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: work}
        spec:
          terminationGracePeriodSeconds: 0
          containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
      waitFor: Ready
  - name: evidence at once
    parallel:
      concurrency: 3
      steps:
      - id: sleepy_exec
        exec: {pod: work, container: app, command: [sleep, "300"]}
      - id: sleepy_debug
        debug: {pod: work, image: busybox:1.36, target: app, command: [sleep, "300"]}
      - id: sleepy_node
        node: {pod: work, image: busybox:1.36, command: [sleep, "300"]}
      - id: never_copy
        copy: {pod: work, to: work-copy, image: busybox:1.36, command: [sleep, "300"]}
  - id: after
    exec: {pod: work, container: app, command: ["true"]}
  finally:
  - id: last
    events: {}
`

// TestParallelInterrupt sends SIGINT while three steps of a parallel group
// run (an exec, an ephemeral container, a node pod): the run exits 130,
// the three are interrupted, the fourth never started, finally ran,
// nothing of the run is left on the cluster, and every report says so.
func TestParallelInterrupt(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-parint-")
	p := newReportPaths(t)
	live := startCLI(t, append([]string{"run", writeRunbook(t, parallelWork), "-n", ns}, p.flags()...)...)
	// The exec started, the ephemeral container and the node pod are made
	// and waited for: three steps run.
	live.waitLine(progressLine(2))
	live.waitLine(regexp.MustCompile(`waiting for ephemeral container \S+ in pod ` + regexp.QuoteMeta(ns+"/work")))
	live.waitLine(regexp.MustCompile(`waiting for node pod node-debugger-`))
	live.signal(syscall.SIGINT)
	run := live.wait()
	if run.code != 130 {
		t.Errorf("want exit 130, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)

	if res.Verdict != report.VerdictInterrupted {
		t.Errorf("verdict %q (error %q), want interrupted", res.Verdict, res.Error)
	}
	type step struct {
		ID     string
		Group  int
		Status report.Status
		Skip   string
	}
	var got []step
	for _, s := range res.Steps {
		got = append(got, step{s.ID, s.Group, s.Status, s.SkipReason})
		if s.Status == report.StatusInterrupted && !strings.Contains(s.Error, "interrupted") {
			t.Errorf("step %s is interrupted, but its error does not say so: %q", s.ID, s.Error)
		}
	}
	want := []step{
		{"work", 0, report.StatusPassed, ""},
		{"sleepy_exec", 1, report.StatusInterrupted, ""},
		{"sleepy_debug", 1, report.StatusInterrupted, ""},
		{"sleepy_node", 1, report.StatusInterrupted, ""},
		{"never_copy", 1, report.StatusSkipped, "the run was interrupted"},
		{"after", 0, report.StatusSkipped, "an earlier step failed"},
		{"last", 0, report.StatusPassed, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s%s", diff, describeSteps(res))
	}
	// The three interrupted steps ran at the same time.
	for _, a := range res.Steps[1:4] {
		for _, b := range res.Steps[1:4] {
			if !a.StartedAt.Before(b.FinishedAt) {
				t.Errorf("step %s started at %s, after step %s ended at %s: they did not overlap", a.ID, a.StartedAt, b.ID, b.FinishedAt)
			}
		}
	}
	var deleted []string
	for _, d := range res.Cleanup.Deletions {
		if d.Outcome != report.OutcomeDeleted {
			t.Errorf("cleanup of %s %s/%s: %s %s", d.Kind, d.Namespace, d.Name, d.Outcome, d.Error)
		}
		name := d.Name
		if strings.HasPrefix(name, "node-debugger-") {
			name = "node-debugger-*"
		}
		deleted = append(deleted, name)
	}
	slices.Sort(deleted)
	if diff := cmp.Diff([]string{"node-debugger-*", "work"}, deleted); diff != "" {
		t.Errorf("cleanup deleted (-want +got):\n%s", diff)
	}

	t.Run("every report names the interruption", func(t *testing.T) {
		validateResult(t, p.json)
		md := string(readFile(t, p.md))
		for _, want := range []string{"INTERRUPTED", "interrupted by a signal", "∥1 Parallel group 1 (steps 2-5) started: evidence at once",
			"the run was interrupted"} {
			if !strings.Contains(md, want) {
				t.Errorf("the Markdown report does not say %q", want)
			}
		}
		table := string(readFile(t, p.table))
		if !strings.Contains(table, "INTERRUPTED") || !strings.Contains(table, "∥1 ") {
			t.Errorf("the table does not say INTERRUPTED with the group marked:\n%s", table)
		}
		suites, err := junit.IngestFile(p.junit)
		if err != nil || len(suites) != 1 {
			t.Fatalf("go-junit read %d suites from %s: %v", len(suites), p.junit, err)
		}
		var cases []string
		for _, tc := range suites[0].Tests {
			msg := ""
			if tc.Status != junit.StatusPassed && tc.Message != "" {
				msg = ": " + strings.Trim(strings.SplitN(tc.Message, " ", 2)[0], ":(")
			}
			cases = append(cases, fmt.Sprintf("%s %s%s", tc.Name[:2], tc.Status, msg))
		}
		wantCases := []string{"01 passed", "02 error: interrupted", "03 error: interrupted", "04 error: interrupted",
			"05 skipped: the", "06 skipped: an", "07 passed"}
		if diff := cmp.Diff(wantCases, cases); diff != "" {
			t.Errorf("JUnit testcases (-want +got):\n%s", diff)
		}
	})
}

// parallelFailure is a runbook with a group of four steps, two at once,
// where the first fails at once while the second still runs: the last two
// must never start.
const parallelFailure = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: parallel-failure}
spec:
  timeout: 3m
  steps:
  - id: work
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: work}
        spec:
          terminationGracePeriodSeconds: 0
          containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
      waitFor: Ready
  - name: checks
    parallel:
      concurrency: 2
      onFailure: %s
      steps:
      - id: fails
        exec: {pod: work, container: app, command: [sh, -c, "exit 3"]}
      - id: running
        exec: {pod: work, container: app, command: [sleep, "%s"]}
      - id: third
        copy: {pod: work, to: work-copy, image: busybox:1.36, command: [sleep, "300"]}
      - id: fourth
        exec: {pod: work, container: app, command: ["true"]}
  - id: after
    exec: {pod: work, container: app, command: ["true"]}
`

// TestParallelFailure checks fail-fast in a group, with both policies for
// the step still running: the steps not started never start, and the
// reports say which and why.
func TestParallelFailure(t *testing.T) {
	c := connect(t)
	for _, tt := range []struct {
		policy, sleep string
		running       report.Status
		runningError  string
	}{
		{"wait", "3", report.StatusPassed, ""},
		{"cancel", "120", report.StatusFailed, "cancelled: step 2 (exec fails) of the parallel group failed"},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-parfail-")
			p := newReportPaths(t)
			run := runCLI(t, append([]string{"run", writeRunbook(t, fmt.Sprintf(parallelFailure, tt.policy, tt.sleep)), "-n", ns}, p.flags()...)...)
			if run.code != 1 {
				t.Errorf("want exit 1, got:\n%s", run)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			if res.Verdict != report.VerdictFailed {
				t.Errorf("verdict %q, want failed", res.Verdict)
			}
			notStarted := "not started: step 2 (exec fails) of the parallel group failed"
			type step struct {
				ID     string
				Status report.Status
				Why    string
			}
			var got []step
			for _, s := range res.Steps {
				why := s.SkipReason
				if s.Status == report.StatusFailed {
					why = s.Error
				}
				got = append(got, step{s.ID, s.Status, why})
			}
			if len(got) > 2 && strings.HasPrefix(got[2].Why, tt.runningError) {
				got[2].Why = tt.runningError // the rest says how the exec ended
			}
			want := []step{
				{"work", report.StatusPassed, ""},
				{"fails", report.StatusFailed, "command exited with code 3"},
				{"running", tt.running, tt.runningError},
				{"third", report.StatusSkipped, notStarted},
				{"fourth", report.StatusSkipped, notStarted},
				{"after", report.StatusSkipped, "an earlier step failed"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			// Nothing of the steps not started reached the cluster.
			for _, d := range res.Cleanup.Deletions {
				if d.Name != "work" {
					t.Errorf("cleanup deleted %s %s: a step that never started made it", d.Kind, d.Name)
				}
			}
			md := string(readFile(t, p.md))
			for _, want := range []string{"**Not started** (their parallel group was stopped)", "4. ∥1 copy third — " + notStarted, "5. ∥1 exec fourth — " + notStarted} {
				if !strings.Contains(md, want) {
					t.Errorf("the Markdown report does not say %q", want)
				}
			}
			table := string(readFile(t, p.table))
			for _, want := range []string{"NOT STARTED 4. ∥1 copy third", "NOT STARTED 5. ∥1 exec fourth", notStarted} {
				if !strings.Contains(table, want) {
					t.Errorf("the table does not say %q:\n%s", want, table)
				}
			}
		})
	}
}

// TestParallelSeed runs the parallel seed, examples/distroless.yaml: it
// passes, its JSON timeline shows the ephemeral container, the copy and
// the node pod overlapping, and it makes no more API requests than the
// sequential seed's 15.
func TestParallelSeed(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-parseed-")
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", repoFile("examples/distroless.yaml"), "-n", ns}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if run.code != 0 || res.Verdict != report.VerdictPassed {
		t.Fatalf("want exit 0 and passed, got %s:\n%s%s", res.Verdict, run, describeSteps(res))
	}
	t.Logf("parallel seed: wall %s (result duration %s), %d API requests %v", run.wall.Round(1e6), res.Duration, res.APIRequests, res.APIRequestsByVerb)
	if res.APIRequests > 15 {
		t.Errorf("%d API requests %v, want at most the sequential seed's 15", res.APIRequests, res.APIRequestsByVerb)
	}
	three := []*report.StepResult{stepByID(t, res, "ephemeral"), stepByID(t, res, "copy"), stepByID(t, res, "host")}
	for _, a := range three {
		if a.Group != 1 || a.GroupName != "Three ways in, side by side" {
			t.Errorf("step %s: group %d %q, want 1 (Three ways in, side by side)", a.ID, a.Group, a.GroupName)
		}
		for _, b := range three {
			if !a.StartedAt.Before(b.FinishedAt) {
				t.Errorf("step %s started at %s, after step %s ended at %s: they did not overlap", a.ID, a.StartedAt, b.ID, b.FinishedAt)
			}
		}
	}
	// Each step counts its own calls, though they ran at the same time.
	for _, tt := range []struct {
		id, has, not string
	}{
		{"ephemeral", "PATCH pods/ephemeralcontainers", "CREATE pods"},
		{"copy", "CREATE pods", "PATCH pods/ephemeralcontainers"},
		{"host", "GET nodes", "PATCH pods/ephemeralcontainers"},
	} {
		var keys []string
		for _, call := range stepByID(t, res, tt.id).Calls {
			keys = append(keys, call.Key())
		}
		if !slices.Contains(keys, tt.has) || slices.Contains(keys, tt.not) {
			t.Errorf("step %s made %v: want %s and no %s", tt.id, keys, tt.has, tt.not)
		}
	}
	app, shared := stepByID(t, res, "app"), stepByID(t, res, "shared")
	for _, s := range three {
		if s.StartedAt.Before(app.FinishedAt) || shared.StartedAt.Before(s.FinishedAt) {
			t.Errorf("step %s (%s to %s) is not between the pod being Ready (%s) and the look from the copy (%s)",
				s.ID, s.StartedAt, s.FinishedAt, app.FinishedAt, shared.StartedAt)
		}
	}
}
