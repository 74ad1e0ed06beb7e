//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

// distrolessKinds are the kinds of the seed's runbook, in the order
// written: the pod, then a parallel group of the exec, debug, copy and node
// steps, then the exec in the copy.
var distrolessKinds = []string{"apply", "exec", "debug", "copy", "node", "exec"}

// distrolessSequentialKinds are those of examples/distroless-sequential.yaml,
// the same steps one after the other.
var distrolessSequentialKinds = []string{"apply", "exec", "debug", "copy", "exec", "node"}

// pauseLine is the ephemeral container's view of the target's process in
// BusyBox's `ps -ef`: PID 1, user 65535, /pause (BusyBox 1.35 prints no
// TIME column, 1.36 does).
var pauseLine = regexp.MustCompile(`(?m)^\s*1\s+65535\s+.*?/pause$`)

// TestRunDistroless runs examples/distroless.yaml as written (namespace
// default, the one test that does not pass -n) and checks the seed's three
// outputs in the JSON result, the cleanup, and that nothing labelled with
// the run's id is left in the cluster.
func TestRunDistroless(t *testing.T) {
	c := connect(t)
	nodes := c.nodeNames(t)
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", repoFile("examples/distroless.yaml")}, p.flags()...)...)
	if run.code != 0 {
		t.Errorf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	t.Logf("examples/distroless.yaml: wall %s (result duration %s), %d API requests %v",
		run.wall.Round(1e6), res.Duration, res.APIRequests, res.APIRequestsByVerb)
	defer c.assertNoneLeft(t, res.RunID)

	if res.Verdict != report.VerdictPassed || res.Error != "" {
		t.Errorf("verdict %q (error %q), want passed:%s", res.Verdict, res.Error, describeSteps(res))
	}
	if res.Namespace != "default" || res.TemporaryNamespace {
		t.Errorf("namespace %q (temporary %v), want default from spec.namespace", res.Namespace, res.TemporaryNamespace)
	}
	var kinds []string
	for _, s := range res.Steps {
		kinds = append(kinds, s.Kind)
		if s.Status != report.StatusPassed {
			t.Errorf("step %d %q: %s, want passed (error %q)", s.Index, s.Name, s.Status, s.Error)
		}
	}
	if diff := cmp.Diff(distrolessKinds, kinds); diff != "" {
		t.Fatalf("step kinds (-want +got):\n%s", diff)
	}

	t.Run("exec without a shell fails as expected", func(t *testing.T) {
		s := res.Steps[1]
		if !s.ExpectFailure || !strings.Contains(s.Error, "no such file or directory") {
			t.Errorf("expectFailure %v, error %q: want the runtime's `no such file or directory`", s.ExpectFailure, s.Error)
		}
	})

	t.Run("ephemeral container sees 1 65535 /pause", func(t *testing.T) {
		s := stepByID(t, res, "ephemeral")
		if !pauseLine.MatchString(s.Stdout) {
			t.Errorf("no line `1 65535 /pause` in the debugger's output:\n%s", s.Stdout)
		}
		passed, total := s.AssertionCounts()
		if passed != 3 || total != 3 {
			t.Errorf("assertions %d/%d held, want 3/3: %+v", passed, total, s.Assertions)
		}
		// The app container's restartCount is read from the pod after the
		// debugger ran; the pod is gone after cleanup, so the result's
		// assertion is the witness.
		i := slices.IndexFunc(s.Assertions, func(a report.Assertion) bool {
			return strings.Contains(a.Expr, "restartCount == 0")
		})
		if i < 0 || !s.Assertions[i].Passed {
			t.Errorf("no passing restartCount == 0 assertion: %+v", s.Assertions)
		}
	})

	t.Run("copy sees two /pause and its sleep", func(t *testing.T) {
		s := stepByID(t, res, "shared")
		lines := parsePS(s.Stdout)
		if n := len(byCommand(lines, "/pause")); n != 2 {
			t.Errorf("%d /pause processes seen from the copy, want 2:\n%s", n, s.Stdout)
		}
		if n := len(byCommand(lines, "sleep 3600")); n != 1 {
			t.Errorf("%d `sleep 3600` processes seen from the copy, want 1:\n%s", n, s.Stdout)
		}
	})

	t.Run("node step reads the node's root file system", func(t *testing.T) {
		s := stepByID(t, res, "host")
		// hostname, then machine-id: every node of hack/cluster.sh runs on
		// this host, so /host/etc/hostname is this host's (node 1's name);
		// the machine id is what the node's kubelet reports.
		lines := strings.Split(strings.TrimSpace(s.Stdout), "\n")
		node := strings.TrimPrefix(s.Target, "node ")
		if !slices.Contains(nodes, node) {
			t.Fatalf("target %q, want a node of %v", s.Target, nodes)
		}
		if len(lines) != 2 || !slices.Contains(nodes, strings.TrimSpace(lines[0])) {
			t.Errorf("read %q, want a node's name (node 1's, the host's) then a machine id", s.Stdout)
		}
		n, err := c.client.CoreV1().Nodes().Get(t.Context(), node, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := n.Status.NodeInfo.MachineID; len(lines) != 2 || strings.TrimSpace(lines[1]) != want {
			t.Errorf("read %q, want machine id %q last", s.Stdout, want)
		}
	})

	t.Run("cleanup deleted the three pods, newest first", func(t *testing.T) {
		// The copy and the node pod are made at the same time (a parallel
		// group): either may be the newer; the first pod is the oldest.
		var got []string
		for _, d := range res.Cleanup.Deletions {
			name := d.Name
			if strings.HasPrefix(name, "node-debugger-") {
				name = "node-debugger-*"
			}
			got = append(got, fmt.Sprintf("%s %s/%s %s", d.Kind, d.Namespace, name, d.Outcome))
		}
		want := []string{
			"Pod default/node-debugger-* deleted",
			"Pod default/noshell-dbg deleted",
			"Pod default/noshell deleted",
		}
		if len(got) == 3 && got[0] == want[1] && got[1] == want[0] {
			got[0], got[1] = got[1], got[0]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cleanup deletions (-want +got):\n%s", diff)
		}
		if res.Cleanup.Policy != "always" {
			t.Errorf("cleanup policy %q, want always", res.Cleanup.Policy)
		}
		// The ephemeral container went with its pod: nothing stays.
		if len(res.Cleanup.Leftovers) != 0 {
			t.Errorf("leftovers %q, want none: the pod carrying the ephemeral container was deleted", res.Cleanup.Leftovers)
		}
	})

	t.Run("API requests are counted", func(t *testing.T) {
		var sum int64
		for _, n := range res.APIRequestsByVerb {
			sum += n
		}
		if res.APIRequests <= 0 || sum != res.APIRequests {
			t.Errorf("apiRequests %d, by verb %v (sum %d): want a positive count equal to the sum", res.APIRequests, res.APIRequestsByVerb, sum)
		}
	})
}

// TestRunTemporaryNamespace runs a runbook without spec.namespace and
// without -n: the run must make a namespace of its own, labelled with its
// run id, work in it, and delete it at cleanup.
func TestRunTemporaryNamespace(t *testing.T) {
	c := connect(t)
	p := newReportPaths(t)
	run := runCLI(t, "run", "testdata/temp-namespace.yaml", "--report", "json="+p.json, "-o", "none")
	if run.code != 0 {
		t.Errorf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if res.Verdict != report.VerdictPassed {
		t.Errorf("verdict %q (error %q), want passed:%s", res.Verdict, res.Error, describeSteps(res))
	}
	if !res.TemporaryNamespace || !strings.HasPrefix(res.Namespace, "runbook-") {
		t.Errorf("namespace %q (temporary %v), want a temporary runbook-* namespace", res.Namespace, res.TemporaryNamespace)
	}
	if s := stepByID(t, res, "ps"); !pauseLine.MatchString(s.Stdout) {
		t.Errorf("no line `1 65535 /pause` in the debugger's output:\n%s", s.Stdout)
	}
	var got []string
	for _, d := range res.Cleanup.Deletions {
		got = append(got, d.Kind+" "+d.Outcome)
	}
	if diff := cmp.Diff([]string{"Pod deleted", "Namespace deleted"}, got); diff != "" {
		t.Errorf("cleanup deletions (-want +got):\n%s", diff)
	}
}

// TestRunFailures runs runbooks whose step cannot succeed, each in a fresh
// namespace: the right step fails with the reason, fast (well before the
// runbooks' 5m timeout), later steps are skipped, the JSON result is
// written, and nothing labelled is left.
func TestRunFailures(t *testing.T) {
	c := connect(t)
	tests := []struct {
		name    string
		file    string
		failing string // id of the step that must fail
		wantErr *regexp.Regexp
		// deletePod deletes pod noshell once the failing step waits for
		// its debugger.
		deletePod bool
	}{
		{
			name:    "image cannot be pulled",
			file:    "pull-failure.yaml",
			failing: "pull",
			wantErr: regexp.MustCompile(`ErrImagePull|ImagePullBackOff`),
		},
		{
			name:    "target names no container",
			file:    "unknown-target.yaml",
			failing: "target",
			wantErr: regexp.MustCompile(`target container "nope" not found`),
		},
		{
			name:      "target pod deleted during the step",
			file:      "pod-deleted.yaml",
			failing:   "wait",
			wantErr:   regexp.MustCompile(`(?i)pod \S*noshell\b.*(deleted|gone|not found)`),
			deletePod: true,
		},
		{
			name:    "node does not exist",
			file:    "missing-node.yaml",
			failing: "host",
			wantErr: regexp.MustCompile(`(?i)node.*"no-such-node".*not found`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-fail-")
			p := newReportPaths(t)
			live := startCLI(t, "run", "testdata/"+tt.file, "-n", ns, "--report", "json="+p.json)
			if tt.deletePod {
				live.waitLine(regexp.MustCompile(`waiting for ephemeral container debugger in pod ` + regexp.QuoteMeta(ns+"/noshell")))
				if err := c.client.CoreV1().Pods(ns).Delete(t.Context(), "noshell", metav1.DeleteOptions{}); err != nil {
					t.Fatalf("deleting the target pod: %v", err)
				}
			}
			run := live.wait()
			if run.code != 1 {
				t.Errorf("want exit 1, got:\n%s", run)
			}
			if run.wall >= failFast {
				t.Errorf("the run took %s: a step that cannot succeed must fail fast, not at the timeout", run.wall)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			t.Logf("%s: wall %s, %d API requests", tt.file, run.wall.Round(1e6), res.APIRequests)
			if res.Verdict != report.VerdictFailed {
				t.Errorf("verdict %q, want failed", res.Verdict)
			}
			failing := stepByID(t, res, tt.failing)
			if failing.Status != report.StatusFailed || !tt.wantErr.MatchString(failing.Error) {
				t.Errorf("step %q: %s with error %q, want failed with an error matching %q", tt.failing, failing.Status, failing.Error, tt.wantErr)
			}
			for _, s := range res.Steps {
				var want report.Status
				switch {
				case s.Index < failing.Index:
					want = report.StatusPassed
				case s.Index > failing.Index:
					want = report.StatusSkipped
				default:
					continue
				}
				if s.Status != want {
					t.Errorf("step %d %q: %s, want %s", s.Index, s.Name, s.Status, want)
				}
			}
			if len(res.Steps) != failing.Index+1 {
				t.Errorf("%d steps in the result, want %d (one after the failing step):%s", len(res.Steps), failing.Index+1, describeSteps(res))
			}
			for _, d := range res.Cleanup.Deletions {
				if d.Outcome != report.OutcomeDeleted && d.Outcome != report.OutcomeNotFound {
					t.Errorf("cleanup of %s %s/%s: %s %s", d.Kind, d.Namespace, d.Name, d.Outcome, d.Error)
				}
			}
		})
	}
}

// interruptMoment is a moment of a run of examples/distroless-sequential.yaml
// (a parallel group is interrupted in TestParallelInterrupt), told
// by a line of its live progress, the step that is running then, and the
// pods that exist for sure by then (cleanup must report them deleted).
type interruptMoment struct {
	name    string
	line    *regexp.Regexp
	step    int
	created []string
}

var interruptMoments = []interruptMoment{
	{"after step 1 started", progressLine(1), 1, nil},
	{"while step 1 waits for its pod", regexp.MustCompile(`waiting for pod \S+/noshell to be Ready`), 1,
		[]string{"noshell"}},
	{"during step 3, the ephemeral container", regexp.MustCompile(`waiting for ephemeral container debugger`), 3,
		[]string{"noshell"}},
	{"after step 4 started, the copy", progressLine(4), 4, []string{"noshell"}},
	{"after step 6 started", progressLine(6), 6, []string{"noshell", "noshell-dbg"}},
	{"during step 6, the node pod", regexp.MustCompile(`waiting for node pod`), 6,
		[]string{"node-debugger-*", "noshell", "noshell-dbg"}},
}

// TestInterrupt sends SIGINT to runs of examples/distroless-sequential.yaml at several
// moments: each run stops, cleans up, writes its JSON result with verdict
// interrupted and exits with 130, leaving nothing labelled behind.
func TestInterrupt(t *testing.T) {
	c := connect(t)
	for _, m := range interruptMoments {
		t.Run(m.name, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-int-")
			p := newReportPaths(t)
			live := startCLI(t, "run", repoFile("examples/distroless-sequential.yaml"), "-n", ns, "--report", "json="+p.json)
			live.waitLine(m.line)
			live.signal(syscall.SIGINT)
			run := live.wait()
			if run.code != 130 {
				t.Errorf("want exit 130, got:\n%s", run)
			}
			if !strings.Contains(run.stderr, "stopping the run") {
				t.Errorf("stderr does not say the run is stopping:\n%s", run.stderr)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			t.Logf("interrupted %s: wall %s", m.name, run.wall.Round(1e6))
			if res.Verdict != report.VerdictInterrupted {
				t.Errorf("verdict %q (error %q), want interrupted", res.Verdict, res.Error)
			}
			if len(res.Steps) != len(distrolessSequentialKinds) {
				t.Fatalf("%d steps in the result, want %d:%s", len(res.Steps), len(distrolessSequentialKinds), describeSteps(res))
			}
			for _, s := range res.Steps {
				want := report.StatusInterrupted
				switch {
				case s.Index < m.step:
					want = report.StatusPassed
				case s.Index > m.step:
					want = report.StatusSkipped
				}
				if s.Status != want {
					t.Errorf("step %d %q: %s, want %s (%s%s)", s.Index, s.Name, s.Status, want, s.Error, s.SkipReason)
				}
			}
			var deleted []string
			for _, d := range res.Cleanup.Deletions {
				switch d.Outcome {
				case report.OutcomeDeleted:
					name := d.Name
					if strings.HasPrefix(name, "node-debugger-") {
						name = "node-debugger-*"
					}
					deleted = append(deleted, name)
				case report.OutcomeNotFound:
				default:
					t.Errorf("cleanup of %s %s/%s: %s %s", d.Kind, d.Namespace, d.Name, d.Outcome, d.Error)
				}
			}
			// Pods whose create call may have raced the signal may be
			// "not found" or "deleted"; those that surely exist, deleted.
			for _, want := range m.created {
				if !slices.Contains(deleted, want) {
					t.Errorf("cleanup did not delete pod %s (deleted: %v)", want, deleted)
				}
			}
		})
	}
}

// TestInterruptSignals: SIGTERM (a cancelled CI job) and SIGHUP (a closed
// terminal or SSH session) stop a run as SIGINT does: it cleans up, writes
// its result and exits 130. Under nohup, SIGHUP is ignored and the run
// goes on to pass.
func TestInterruptSignals(t *testing.T) {
	c := connect(t)
	during := regexp.MustCompile(`waiting for ephemeral container debugger`)
	for _, tt := range []struct {
		name    string
		wrapper []string // the command runbook runs under
		sig     syscall.Signal
		code    int
		verdict report.Verdict
	}{
		{"SIGTERM", nil, syscall.SIGTERM, 130, report.VerdictInterrupted},
		{"SIGHUP", nil, syscall.SIGHUP, 130, report.VerdictInterrupted},
		{"SIGHUP under nohup", []string{"nohup"}, syscall.SIGHUP, 0, report.VerdictPassed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-sig-")
			p := newReportPaths(t)
			live := startCLIUnder(t, tt.wrapper, "run", repoFile("examples/distroless-sequential.yaml"), "-n", ns, "--report", "json="+p.json)
			live.waitLine(during)
			live.signal(tt.sig)
			run := live.wait()
			if run.code != tt.code {
				t.Errorf("want exit %d, got:\n%s", tt.code, run)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %q (error %q), want %s", res.Verdict, res.Error, tt.verdict)
			}
			if !slices.ContainsFunc(res.Cleanup.Deletions, func(d report.Deletion) bool {
				return d.Name == "noshell" && d.Outcome == report.OutcomeDeleted
			}) {
				t.Errorf("cleanup did not delete pod noshell: %+v", res.Cleanup.Deletions)
			}
		})
	}
}

// labelledPods returns the pods of ns made by runbook runs, by name, and
// the run id they carry (all the same, or the test fails).
func (c *cluster) labelledPods(t *testing.T, ns string) ([]string, string) {
	t.Helper()
	pods, err := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: labelManagedBy + "=runbook"})
	if err != nil {
		t.Fatalf("listing pods of %s: %v", ns, err)
	}
	var names []string
	runID := ""
	for _, p := range pods.Items {
		names = append(names, p.Name)
		id := p.Labels[labelRunID]
		if id == "" || (runID != "" && id != runID) {
			t.Fatalf("pod %s/%s has run id %q, want one run id for all (%q)", ns, p.Name, id, runID)
		}
		runID = id
	}
	slices.Sort(names)
	return names, runID
}

// TestKillThenCleanup kills a run of examples/distroless-sequential.yaml
// with SIGKILL once the copy exists (and no node pod yet), so nothing is
// cleaned up; `runbook cleanup` then finds what it left by label and
// deletes it.
func TestKillThenCleanup(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-kill-")
	live := startCLI(t, "run", repoFile("examples/distroless-sequential.yaml"), "-n", ns)
	live.waitLine(regexp.MustCompile(`waiting for pod ` + regexp.QuoteMeta(ns+"/noshell-dbg") + ` to be Ready`))
	live.signal(syscall.SIGKILL)
	if run := live.wait(); run.signal != syscall.SIGKILL {
		t.Fatalf("want the run killed by SIGKILL, got:\n%s", run)
	}

	names, runID := c.labelledPods(t, ns)
	if diff := cmp.Diff([]string{"noshell", "noshell-dbg"}, names); diff != "" {
		t.Fatalf("pods the killed run left (-want +got):\n%s", diff)
	}

	// --run-id without -n looks in every namespace (the context's is default).
	dry := runCLI(t, "cleanup", "--run-id", runID, "--dry-run")
	if dry.code != 0 {
		t.Errorf("cleanup --dry-run: want exit 0, got:\n%s", dry)
	}
	for _, n := range names {
		if want := "would delete Pod " + ns + "/" + n; !strings.Contains(dry.stdout, want) {
			t.Errorf("cleanup --dry-run does not say %q:\n%s", want, dry.stdout)
		}
	}
	if left, _ := c.labelledPods(t, ns); len(left) != 2 {
		t.Errorf("cleanup --dry-run deleted something: pods left %v", left)
	}

	// The killed run's deadline is still ahead: without its id, cleanup
	// leaves its objects alone (it may be a live run).
	skip := runCLI(t, "cleanup", "-n", ns)
	if skip.code != 0 || !strings.Contains(skip.stdout, "may still be running") {
		t.Errorf("cleanup without --run-id before the deadline: want exit 0 and a skip, got:\n%s", skip)
	}
	if left, _ := c.labelledPods(t, ns); len(left) != 2 {
		t.Errorf("cleanup without --run-id deleted the pods of a run whose deadline is ahead: left %v", left)
	}

	clean := runCLI(t, "cleanup", "-n", ns, "--run-id", runID)
	if clean.code != 0 {
		t.Errorf("cleanup: want exit 0, got:\n%s", clean)
	}
	for _, n := range names {
		if want := "Pod " + ns + "/" + n + ": deleted"; !strings.Contains(clean.stdout, want) {
			t.Errorf("cleanup does not say %q:\n%s", want, clean.stdout)
		}
	}
	c.assertNoneLeft(t, runID)

	again := runCLI(t, "cleanup", "-n", ns)
	if again.code != 0 || !strings.Contains(again.stdout, "nothing left") {
		t.Errorf("a second cleanup: want exit 0 and `nothing left`, got:\n%s", again)
	}
}

// TestInterruptDeliveredTwice sends SIGINT twice in a row, as coreutils timeout,
// CI runners and supervisors do (to the process, then to its group): that is one
// interrupt, so the run stops, cleans up and writes its report.
func TestInterruptDeliveredTwice(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-int1-")
	p := newReportPaths(t)
	live := startCLI(t, "run", "testdata/interrupt-once.yaml", "-n", ns, "--report", "json="+p.json)
	live.waitLine(progressLine(2))
	live.signal(syscall.SIGINT)
	live.signal(syscall.SIGINT)
	run := live.wait()
	if run.code != 130 || strings.Contains(run.stderr, "exiting now") {
		t.Errorf("want exit 130 after cleaning up, not a forced exit, got:\n%s", run)
	}
	res := readResult(t, p.json)
	if res.Verdict != report.VerdictInterrupted {
		t.Errorf("verdict %s, want interrupted:\n%s", res.Verdict, describeSteps(res))
	}
	c.assertNoneLeft(t, res.RunID)
}

// TestInterruptTwice interrupts a run, then interrupts it again while its
// finally step runs: the second signal exits at once with 130 without
// cleaning up, and `runbook cleanup --run-id` removes what was left.
func TestInterruptTwice(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-int2-")
	p := newReportPaths(t)
	live := startCLI(t, "run", "testdata/interrupt-twice.yaml", "-n", ns, "--report", "json="+p.json)
	live.waitLine(progressLine(2))
	live.signal(syscall.SIGINT)
	live.waitLine(regexp.MustCompile(`start  3\. .*\(finally\)`))
	// A signal within 0.5 s of the first is the same interrupt delivered twice
	// (to the process and its group), which TestInterruptDeliveredTwice covers.
	time.Sleep(600 * time.Millisecond)
	live.signal(syscall.SIGINT)
	run := live.wait()
	if run.code != 130 || !strings.Contains(run.stderr, "exiting now") || !strings.Contains(run.stderr, "cleanup --run-id rb-") {
		t.Errorf("want exit 130, `exiting now` and the cleanup command at the second signal, got:\n%s", run)
	}
	// The finally step sleeps 300 s (bounded by the tool's 2m cleanup
	// timeout): an exit before that is the second signal's.
	if run.wall >= failFast {
		t.Errorf("the run took %s after two signals: the second must exit at once", run.wall)
	}

	names, runID := c.labelledPods(t, ns)
	if diff := cmp.Diff([]string{"sleeper"}, names); diff != "" {
		t.Errorf("pods left by the forced exit (-want +got):\n%s", diff)
	}
	if runID == "" {
		t.Fatal("no labelled pod to read the run id from")
	}
	clean := runCLI(t, "cleanup", "-A", "--run-id", runID)
	if clean.code != 0 {
		t.Errorf("cleanup: want exit 0, got:\n%s", clean)
	}
	c.assertNoneLeft(t, runID)
}
