//go:build e2e

package e2e

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

// unschedulableBound is the bound for a debug step on an unschedulable pod: it
// fails in under 5 s. A regression to waiting for the step's timeout (2m in the test
// runbooks) is far above it.
const unschedulableBound = 5 * time.Second

// unschedulablePods are pods the scheduler cannot place on the local cluster, with the
// scheduler's words for it.
var unschedulablePods = []struct {
	name    string
	spec    func(*corev1.PodSpec)
	message *regexp.Regexp
}{
	{
		name: "hungry",
		spec: func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000")}
		},
		message: regexp.MustCompile(`Unschedulable: 0/\d+ nodes are available: \d+ Insufficient cpu`),
	},
	{
		name:    "nowhere",
		spec:    func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"runbook.example/no-such-label": "x"} },
		message: regexp.MustCompile(`Unschedulable: 0/\d+ nodes are available: \d+ node\(s\) didn't match Pod's node affinity/selector`),
	},
}

// createUnschedulable creates pod ns/name with spec changed by change and waits until
// the scheduler has said it cannot place it.
func (c *cluster) createUnschedulable(t *testing.T, ns, name string, change func(*corev1.PodSpec)) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pauseImage}}},
	}
	change(&pod.Spec)
	if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", name, err)
	}
	got, err := c.waitForPod(t.Context(), ns, name, func(p *corev1.Pod) (bool, error) {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("waiting for the scheduler to give up on pod %s: %v", name, err)
	}
	return got
}

// TestFailFastDebugUnschedulable runs a debug step on a pod the scheduler cannot place:
// the step fails in under 5 s with the scheduler's message, and the pod has no
// ephemeral container afterwards.
func TestFailFastDebugUnschedulable(t *testing.T) {
	c := connect(t)
	for _, tt := range unschedulablePods {
		t.Run(tt.name, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-sched-")
			c.createUnschedulable(t, ns, tt.name, tt.spec)
			p := newReportPaths(t)
			run := runCLI(t, "run", "testdata/unschedulable-debug.yaml", "-n", ns, "--var", "pod="+tt.name, "--report", "json="+p.json, "-o", "none")
			if run.code != 1 {
				t.Errorf("want exit 1, got:\n%s", run)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			s := stepByID(t, res, "debug")
			t.Logf("debug on unschedulable pod %s: step failed in %s (run wall %s): %s", tt.name, s.Duration, run.wall.Round(time.Millisecond), s.Error)
			if s.Status != report.StatusFailed || !tt.message.MatchString(s.Error) {
				t.Errorf("step debug: %s with error %q, want failed with the scheduler's message %q", s.Status, s.Error, tt.message)
			}
			if s.Duration.Duration() >= unschedulableBound {
				t.Errorf("the step took %s: it must fail in under %s, not wait for its timeout", s.Duration, unschedulableBound)
			}
			if after := stepByID(t, res, "after"); after.Status != report.StatusSkipped {
				t.Errorf("step after: %s, want skipped", after.Status)
			}
			pod, err := c.client.CoreV1().Pods(ns).Get(t.Context(), tt.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(pod.Spec.EphemeralContainers); n != 0 {
				t.Errorf("pod %s has %d ephemeral container(s) after the run, want none: %+v", tt.name, n, pod.Spec.EphemeralContainers)
			}
			if len(res.Cleanup.Leftovers) != 0 {
				t.Errorf("leftovers %q, want none", res.Cleanup.Leftovers)
			}
		})
	}
}

// TestFailFastApplyUnschedulable applies a pod that asks for 1000 CPUs with waitFor:
// Ready: the wait fails with the scheduler's message once the scheduler's grace (5 s) is
// over, far from the step's timeout of 2m.
func TestFailFastApplyUnschedulable(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-sched-")
	p := newReportPaths(t)
	run := runCLI(t, "run", "testdata/unschedulable-apply.yaml", "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	s := stepByID(t, res, "apply")
	t.Logf("apply waitFor Ready of an unschedulable pod: step failed in %s (run wall %s): %s", s.Duration, run.wall.Round(time.Millisecond), s.Error)
	if want := regexp.MustCompile(`^pod \S+/greedy: Unschedulable: 0/\d+ nodes are available: \d+ Insufficient cpu`); s.Status != report.StatusFailed || !want.MatchString(s.Error) {
		t.Errorf("step apply: %s with error %q, want failed with %q", s.Status, s.Error, want)
	}
	if s.Duration.Duration() >= failFast {
		t.Errorf("the step took %s: it must fail once the scheduler's grace is over, not at its timeout", s.Duration)
	}
}

// previousLog reads the previous log of container app of pod ns/name as the API server
// hands it over: the kubelet's error arrives with status 200.
func (c *cluster) previousLog(ctx context.Context, ns, name string) (string, error) {
	stream, err := c.client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: "app", Previous: true}).Stream(ctx)
	if err != nil {
		return "", err
	}
	defer stream.Close()
	b, err := io.ReadAll(stream)
	return string(b), err
}

// kubeletUnreadable is the kubelet's answer for a log it cannot read.
var kubeletUnreadable = regexp.MustCompile(`^unable to retrieve container logs for \S+$`)

// TestPreviousLogsRightAfterARestart starts a run that reads the previous log of a
// crash-looping container while the kubelet still answers "unable to retrieve container
// logs" (the test waits for that answer first): the step returns what the instance that
// crashed last printed, never the kubelet's text. While the container waits to restart
// (v1.37 reports the crashed instance as its state for the whole back-off, which grows to
// minutes, and lastState names the one before, removed), that is the container's current
// log and the run warns so; right after a restart, the step waits for the kubelet.
func TestPreviousLogsRightAfterARestart(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-prev-")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "crasher"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: busyboxImage,
			Command: []string{"sh", "-c", `echo "crashing run at $(date +%T)"; sleep 1; exit 1`}}}},
	}
	if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Right after each restart, until the kubelet's status reports it, the previous
	// instance the kubelet means is one it has already removed.
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	start := time.Now()
	var seen string
	for {
		text, err := c.previousLog(ctx, ns, "crasher")
		if ctx.Err() != nil {
			t.Fatalf("the kubelet never answered %q for the previous log in %s (last answer %q, %v)", kubeletUnreadable, waitLimit, seen, err)
		}
		if err == nil && kubeletUnreadable.MatchString(strings.TrimSpace(text)) {
			t.Logf("after %s the kubelet answers %q for the previous log: starting the run", time.Since(start).Round(time.Millisecond), text)
			break
		}
		seen = text
		time.Sleep(200 * time.Millisecond)
	}

	p := newReportPaths(t)
	run := runCLI(t, "run", "testdata/previous-logs.yaml", "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 0 {
		t.Errorf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	s := stepByID(t, res, "previous")
	t.Logf("logs previous: waited %s for the kubelet (run wall %s); stdout %q", s.Duration, run.wall.Round(time.Millisecond), s.Stdout)
	if s.Status != report.StatusPassed || !strings.HasPrefix(s.Stdout, "crashing run at ") {
		t.Errorf("step previous: %s (%s) with stdout %q, want passed with the previous instance's output", s.Status, s.Error, s.Stdout)
	}
	if strings.Contains(s.Stdout, "unable to retrieve") {
		t.Errorf("the kubelet's text was taken for the log: %q", s.Stdout)
	}
	warned := regexp.MustCompile(`^step 1 \(Read what the container printed before it crashed\): container "app" is waiting to restart after a crash and the kubelet has removed the instance before it \(containerd://\w+\): read the instance that ended last, containerd://\w+ \(exit code 1, finished \S+\)`)
	var w []string
	for _, x := range res.Warnings {
		if warned.MatchString(x) {
			w = append(w, x)
		}
	}
	// It may have waited first: right after the crash the kubelet's status may still
	// say the container runs.
	waited := strings.Contains(run.stderr, "waiting for the previous log")
	t.Logf("the step waited for the kubelet: %v; warnings on the instance read: %q", waited, w)
	switch {
	case len(w) > 1:
		t.Errorf("the warning is given %d times, want once: %q", len(w), w)
	case len(w) == 0 && !waited:
		t.Errorf("the progress does not say the step waited for the kubelet, and no warning says which instance was read:\n%s\nwarnings %q", run.stderr, res.Warnings)
	}
	if s.Duration.Duration() >= failFast {
		t.Errorf("the step took %s: the instance that crashed last must be read while the container waits to restart, not after its back-off", s.Duration)
	}
}

// TestPreviousLogsNoRestart reads the previous log of a container that never restarted:
// the step fails at once, saying so in kubectl's words too.
func TestPreviousLogsNoRestart(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-prev-")
	p := newReportPaths(t)
	run := runCLI(t, "run", "testdata/no-previous.yaml", "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	s := stepByID(t, res, "previous")
	t.Logf("logs previous without a restart: step failed in %s: %s", s.Duration, s.Error)
	want := regexp.MustCompile(`container "app" in pod \S+/steady has no previous instance.*previous terminated container "app" in pod "steady" not found`)
	if s.Status != report.StatusFailed || !want.MatchString(s.Error) {
		t.Errorf("step previous: %s with error %q, want failed with %q", s.Status, s.Error, want)
	}
	if s.Duration.Duration() >= failFast {
		t.Errorf("the step took %s: it must fail at once", s.Duration)
	}
}
