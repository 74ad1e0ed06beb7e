//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/report"
)

// auditRunbook holds what three audits of 2026-12-03 found broken on the real cluster:
// node pods of a fan-out on one node (they collided), the output of a debug and a node
// step that a timeout ends (it was lost from every report), and a debug step whose target
// container is crash-looping (it waited 1m19s and left a debugger that never starts).
const auditRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: e2e-audit}
spec:
  timeout: 4m
  allowPrivileged: true
  vars: {node: ""}
  steps:
  - id: fanout
    name: Three node pods on one node at once
    forEach: {items: '["uptime", "cat /host/etc/hostname", "true"]', concurrency: 3}
    node: {name: "${{ vars.node }}", image: "busybox:1.36", command: [sh, -c, "${{ item }}"]}
    continueOnError: true
  - id: nodeCut
    name: A node pod that prints, then hangs past its timeout
    node: {name: "${{ vars.node }}", image: "busybox:1.36", command: [sh, -c, "for i in 1 2 3; do echo node-line-$i; done; sleep 300"]}
    timeout: 8s
    continueOnError: true
  - id: debugCut
    name: A debugger that prints, then hangs past its timeout
    debug: {pod: sleeper, image: "busybox:1.36", target: app, command: [sh, -c, "for i in 1 2 3; do echo debug-line-$i; done; sleep 300"]}
    timeout: 8s
    continueOnError: true
  - id: crashTarget
    name: A debugger aimed at a crash-looping container
    debug: {pod: crashy, image: "busybox:1.36", target: app, command: ["true"]}
    timeout: 60s
    continueOnError: true
`

// TestAuditFixes runs auditRunbook: the fan-out's three node pods pass on one node, the
// two steps cut by their timeout keep what they printed in the JSON result, and the debug
// step aimed at a crash-looping container fails at once without patching the pod.
func TestAuditFixes(t *testing.T) {
	c := connect(t)
	node := c.nodeNames(t)[0]
	ns := c.newNamespace(t, "e2e-audit-")
	sleeper := pinnedPod("sleeper", node)
	createReadyPods(t, c, ns, sleeper)
	crashy := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "crashy"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](0),
		Containers:                    []corev1.Container{{Name: "app", Image: busyboxImage, Command: []string{"sh", "-c", "echo boom; exit 1"}}}}}
	ctx := context.Background()
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, crashy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Until its container has crashed once: then it is not running.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := c.client.CoreV1().Pods(ns).Get(ctx, "crashy", metav1.GetOptions{})
		if err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running == nil &&
			p.Status.ContainerStatuses[0].RestartCount+boolInt(p.Status.ContainerStatuses[0].State.Terminated != nil) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod crashy never crashed: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	file := filepath.Join(t.TempDir(), "audit.yaml")
	if err := os.WriteFile(file, []byte(auditRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	// plan --preflight says beforehand that the target is not running.
	pre := runCLI(t, "plan", "--preflight", "-n", ns, "--var", "node="+node, file)
	if pre.code != 1 || !regexp.MustCompile(`FAIL step \d+: target container app of pod \S+/crashy is running: the run fails here: target container "app"`).MatchString(pre.stdout) {
		t.Errorf("plan --preflight: exit %d; want 1 and a failed check of the crash-looping target:\n%s", pre.code, pre)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", "-n", ns, "--var", "node=" + node, file}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if res.Verdict == report.VerdictError {
		t.Fatalf("verdict %q:%s\n%s", res.Verdict, describeSteps(res), run)
	}

	fan := stepByID(t, res, "fanout")
	if fan.Status != report.StatusPassed || len(fan.Targets) != 3 {
		t.Errorf("the fan-out of three node pods on one node: %s, %d targets:%s", fan.Status, len(fan.Targets), describeSteps(res))
	}
	for id, want := range map[string]string{"nodeCut": "node-line-3", "debugCut": "debug-line-3"} {
		s := stepByID(t, res, id)
		if s.Status != report.StatusFailed || !s.TimedOut || !strings.Contains(s.Stdout, want) {
			t.Errorf("step %s: status %s, timed out %v, stdout %q; want a timeout that kept %q", id, s.Status, s.TimedOut, s.Stdout, want)
		}
	}
	crash := stepByID(t, res, "crashTarget")
	if crash.Status != report.StatusFailed || !strings.Contains(crash.Error, `target container "app"`) || !strings.Contains(crash.Error, "is not running") ||
		time.Duration(crash.Duration) > 10*time.Second {
		t.Errorf("the debug aimed at a crash-looping container: %s in %.1fs: %s; want a failure at once, saying the target is not running",
			crash.Status, time.Duration(crash.Duration).Seconds(), crash.Error)
	}
	if pod, err := c.client.CoreV1().Pods(ns).Get(ctx, "crashy", metav1.GetOptions{}); err != nil || len(pod.Spec.EphemeralContainers) != 0 {
		t.Errorf("pod crashy: %v, %d ephemeral containers; want none patched in", err, len(pod.Spec.EphemeralContainers))
	}
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}
