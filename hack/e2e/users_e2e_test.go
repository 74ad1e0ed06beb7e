//go:build e2e

package e2e

import (
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

// The tests of this file come from an SRE's use of runbook against workloads
// that already exist (an OOMKilled pod, a completed one, ...), each compared
// with what kubectl v1.37.2 says of the same workload.

// waitOnEnded waits on pod oom for a phase it will never reach, then on pod
// done, then for the phase oom has: the first step must fail at once.
const waitOnEnded = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-wait-ended}
spec:
  timeout: 2m
  steps:
  - id: running
    wait: {kind: Pod, name: oom, for: 'object.status.phase == "Running"'}
    continueOnError: true
  - id: completed
    wait: {kind: Pod, name: done, for: 'object.status.phase == "Running"'}
    continueOnError: true
  - id: failed
    wait: {kind: Pod, name: oom, for: 'object.status.phase == "Failed"'}
    assert:
    - object.status.containerStatuses[0].state.terminated.reason == "OOMKilled"
`

// TestUsersWaitOnEndedPod waits on a pod that was OOMKilled (restartPolicy
// Never) and on one that completed, for phase Running: each step fails as soon
// as it sees the pod, with how it ended (OOMKilled, exit code 137), not at the
// run's timeout; a wait for the phase the pod has passes.
func TestUsersWaitOnEndedPod(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-wait-")
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "oom"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "app", Image: busyboxImage,
				Command:   []string{"sh", "-c", "head -c 200m /dev/zero | tail > /dev/null"},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("20Mi")}}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "done"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "app", Image: busyboxImage, Command: []string{"true"}}}}},
	}
	for _, pod := range pods {
		if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", pod.Name, err)
		}
		ended := func(p *corev1.Pod) (bool, error) {
			return p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded, nil
		}
		if _, err := c.waitForPod(t.Context(), ns, pod.Name, ended); err != nil {
			t.Fatal(err)
		}
	}
	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, waitOnEnded), "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1 (the first two waits fail), got:\n%s", run)
	}
	res := readResult(t, p.json)
	for _, tt := range []struct {
		id     string
		status report.Status
		err    string
	}{
		{"running", report.StatusFailed, "pod " + ns + `/oom: container "app": Failed: exit code 137 (OOMKilled)`},
		{"completed", report.StatusFailed, "pod " + ns + "/done: Succeeded: pod completed; its status no longer changes"},
		{"failed", report.StatusPassed, ""},
	} {
		s := stepByID(t, res, tt.id)
		if s.Status != tt.status || s.Error != tt.err {
			t.Errorf("step %s: %s with error %q, want %s with %q", tt.id, s.Status, s.Error, tt.status, tt.err)
		}
		if s.Duration.Duration() >= failFast {
			t.Errorf("step %s took %s: a wait on an ended pod must end at once, not at the timeout", tt.id, s.Duration)
		}
	}
	if res.TimedOut {
		t.Errorf("the run timed out: %s", describeSteps(res))
	}
}

// copyKeepLabels copies a pod of deploy/web keeping its labels.
const copyKeepLabels = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-copy-adopted}
spec:
  timeout: 2m
  steps:
  - id: copy
    copy: {pod: deploy/web, to: web-copy, keepLabels: true, setImage: {app: "busybox:1.36"}}
`

// TestUsersCopyKeepLabelsAdopted copies a pod of a Deployment keeping its
// labels: the Deployment's ReplicaSet adopts the copy and deletes it as one
// pod too many. The step fails at once saying so, naming the ReplicaSet,
// not only "is being deleted"; the Deployment's own pod is untouched.
func TestUsersCopyKeepLabelsAdopted(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-adopt-")
	pod := c.deploymentPod(t, ns, deployment("web", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pauseImage}}}), podReady).Name
	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, copyKeepLabels), "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	s := stepByID(t, res, "copy")
	want := "pod " + ns + "/web-copy is being deleted (its controller: ReplicaSet web-"
	if s.Status != report.StatusFailed || !strings.HasPrefix(s.Error, want) || !strings.Contains(s.Error, "adopted the copy") {
		t.Errorf("step copy: %s with error %q, want failed with %q... adopted the copy", s.Status, s.Error, want)
	}
	if s.Duration.Duration() >= failFast {
		t.Errorf("the step took %s: it must fail when the copy is deleted, not at the timeout", s.Duration)
	}
	got, err := c.client.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil || got.DeletionTimestamp != nil {
		t.Errorf("the Deployment's pod %s after the run: %v (deleting: %v)", pod, err, err == nil && got.DeletionTimestamp != nil)
	}
}

// invalidImage adds a debugger whose image comes from a var, as an SRE
// passes one on the command line, then a node pod with the same image.
const invalidImage = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-invalid-image}
spec:
  timeout: 2m
  allowPrivileged: true
  vars: {image: busybox:1.36}
  steps:
  - id: ephemeral
    debug: {pod: web, image: '${{ vars.image }}', command: [ps]}
    continueOnError: true
  - id: node
    node: {pod: web, image: '${{ vars.image }}', command: ["true"]}
`

// TestUsersInvalidImageRefused runs a debug and a node step with an image
// given as --var image=Busybox:1.36 (a capital letter, which no registry
// serves): both fail with kubectl debug's own words for the same image, and
// nothing is sent: the pod keeps no ephemeral container (one cannot be
// removed), no node pod is made.
func TestUsersInvalidImageRefused(t *testing.T) {
	c := connect(t)
	kubectl := kubectlBinary(t, c)
	ns := c.newNamespace(t, "users-e2e-image-")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pauseImage}}}}
	if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitForPod(t.Context(), ns, "web", podReady); err != nil {
		t.Fatal(err)
	}
	const image = "Busybox:1.36"
	kc := exec.CommandContext(t.Context(), kubectl, "debug", "web", "-n", ns, "--image="+image, "--", "ps")
	out, err := kc.CombinedOutput()
	if err == nil {
		t.Fatalf("kubectl debug --image=%s succeeded:\n%s", image, out)
	}
	want := strings.TrimPrefix(strings.TrimSpace(string(out)), "error: ")

	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, invalidImage), "-n", ns, "--var", "image="+image, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1, got:\n%s", run)
	}
	res := readResult(t, p.json)
	for _, id := range []string{"ephemeral", "node"} {
		// Some kubectl versions write "Invalid image name": the words are compared.
		if s := stepByID(t, res, id); s.Status != report.StatusFailed || !strings.Contains(strings.ToLower(s.Error), strings.ToLower(want)) {
			t.Errorf("step %s: %s %q; want failed with kubectl's %q", id, s.Status, s.Error, want)
		}
	}
	got, err := c.client.CoreV1().Pods(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Spec.EphemeralContainers); n != 0 {
		t.Errorf("pod web has %d ephemeral containers, want none: %+v", n, got.Spec.EphemeralContainers)
	}
	if pods, err := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{}); err != nil || len(pods.Items) != 1 {
		t.Errorf("pods in %s: %v (%v), want web alone", ns, pods, err)
	}
}

// nodeCommandEnd runs two node steps, one whose command fails and one that
// passes, each asserting what it read of the host.
const nodeCommandEnd = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-node-end}
spec:
  timeout: 2m
  allowPrivileged: true
  steps:
  - id: fails
    node:
      selector: kubernetes.io/os=linux
      image: busybox:1.36
      command: [sh, -c, "cat /host/etc/hostname; exit 3"]
    continueOnError: true
    assert:
    - exitCode == 3
    - trim(stdout) != ""
  - id: passes
    node:
      selector: kubernetes.io/os=linux
      image: busybox:1.36
      command: [cat, /host/etc/machine-id]
    assert:
    - exitCode == 0
    - container.state.terminated.exitCode == 0
    - trim(stdout) == node.status.nodeInfo.machineID
    set: {phase: pod.status.phase}
`

// TestUsersNodeCommandEnd: a node step ends when its command has ended (its
// container terminated, which the kubelet reports a second before the pod's
// phase Succeeded): a non-zero exit fails it with the exit code and its
// output read, as phase Failed did; a zero exit passes with the host's
// machine id read and the container's terminated state in its result.
func TestUsersNodeCommandEnd(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-node-end-")
	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, nodeCommandEnd), "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 1 {
		t.Errorf("want exit 1 (a step failed; the run went on), got:\n%s", run)
	}
	res := readResult(t, p.json)
	fails := stepByID(t, res, "fails")
	if fails.Status != report.StatusFailed || !strings.Contains(fails.Error, `container "debugger": Failed: exit code 3 (Error)`) {
		t.Errorf("step fails: %s %q; want failed with exit code 3", fails.Status, fails.Error)
	}
	if strings.TrimSpace(fails.Stdout) == "" {
		t.Errorf("step fails: no output read from the node; the output of a failed command is wanted")
	}
	passes := stepByID(t, res, "passes")
	if passes.Status != report.StatusPassed {
		t.Errorf("step passes: %s %q %+v", passes.Status, passes.Error, passes.Assertions)
	}
	// Not asserted (the kubelet may report both at once when it is slow):
	// the pod's phase when the step ended, Running when it ended early.
	t.Logf("the node pod's phase when step passes ended: %s", passes.Set["phase"])
}

// waitRecreated restarts a StatefulSet's pod twice: once deleted without
// waiting, so that the wait sees it being deleted and must follow the pod
// the StatefulSet creates again under its name; once deleted and waited
// for, so that the new pod may not exist yet when the wait starts
// (waitForCreate). A pod being deleted stays Ready until its containers
// stop, and the run's pod watch may not have seen the delete yet when the
// next step starts, so the first wait after the delete asks for another pod.
const waitRecreated = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-wait-recreated}
spec:
  timeout: 3m
  steps:
  - id: first
    wait: {kind: Pod, name: web-0, for: 'any(object.status.conditions ?? [], .type == "Ready" && .status == "True")'}
  - delete: {kind: Pod, name: web-0, wait: false}
  - id: followed
    wait: {kind: Pod, name: web-0, for: 'object.metadata.uid != steps.first.object.metadata.uid && any(object.status.conditions ?? [], .type == "Ready" && .status == "True")'}
    assert:
    - object.metadata.uid != steps.first.object.metadata.uid
  - delete: {kind: Pod, name: web-0}
  - id: created
    wait: {kind: Pod, name: web-0, waitForCreate: true, for: 'any(object.status.conditions ?? [], .type == "Ready" && .status == "True")'}
    assert:
    - object.metadata.uid != steps.followed.object.metadata.uid
`

// TestUsersWaitFollowsStatefulSetPod restarts a StatefulSet's pod in the
// middle of a wait on it, as an SRE does with a stuck pod: the wait goes on
// with the new pod of the same name (as kubectl wait does) and a warning
// names the StatefulSet and both pods, instead of failing "is being
// deleted". After a delete that waited for the pod to be gone,
// waitForCreate waits for the new one, which may not exist yet.
func TestUsersWaitFollowsStatefulSetPod(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-sts-")
	replicas := int32(1)
	grace := int64(1)
	labels := map[string]string{"app": "web"}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &replicas, ServiceName: "web", Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "app", Image: pauseImage}}}}}}
	if _, err := c.client.AppsV1().StatefulSets(ns).Create(t.Context(), sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitForPod(t.Context(), ns, "web-0", podReady); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, waitRecreated), "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 0 {
		t.Fatalf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	found := false
	for _, w := range res.Warnings {
		if strings.Contains(w, "pod "+ns+"/web-0 (UID ") && strings.Contains(w, ") was deleted while waiting; the wait went on with the pod created again under its name by StatefulSet web (UID ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning that the wait followed the StatefulSet's new pod: %q", res.Warnings)
	}
	for _, id := range []string{"followed", "created"} {
		if s := stepByID(t, res, id); s.Status != report.StatusPassed {
			t.Errorf("step %s: %s (%s)", id, s.Status, s.Error)
		}
	}

	// The example does the same restart, keeping the old pod's log and
	// events; its Markdown report says the new pod is Ready.
	before, err := c.client.CoreV1().Pods(ns).Get(t.Context(), "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = newReportPaths(t)
	run = runCLI(t, "run", repoFile("examples/restart-statefulset-pod.yaml"), "-n", ns, "--var", "pod=web-0",
		"--report", "json="+p.json, "--report", "md="+p.md, "-o", "none")
	if run.code != 0 {
		t.Fatalf("examples/restart-statefulset-pod.yaml: want exit 0, got:\n%s", run)
	}
	after, err := c.client.CoreV1().Pods(ns).Get(t.Context(), "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ready, _ := podReady(after); after.UID == before.UID || !ready {
		t.Errorf("after the example, web-0 is %s (ready %v), the pod before was %s", after.UID, ready, before.UID)
	}
	if s := stepByID(t, readResult(t, p.json), "after"); s.Status != report.StatusPassed {
		t.Errorf("step after: %s (%s)", s.Status, s.Error)
	}
}

// waitDeleted deletes pod slow without waiting, then waits for it to be
// gone as kubectl wait --for=delete does.
const waitDeleted = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: users-wait-deleted}
spec:
  timeout: 2m
  steps:
  - delete: {kind: Pod, name: slow, wait: false}
  - id: gone
    wait: {kind: Pod, name: slow, deleted: true}
  - id: never
    wait: {kind: Pod, name: never-was, deleted: true}
`

// TestUsersWaitDeleted checks wait with deleted: true on a pod that takes
// seconds to stop (it traps SIGTERM): when the run ends, the pod is gone,
// which it is not while its containers stop; a pod that never existed is
// no error.
func TestUsersWaitDeleted(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-gone-")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "slow"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: busyboxImage,
			Command: []string{"sh", "-c", `trap "sleep 3; exit 0" TERM; while true; do sleep 1; done`}}}}}
	createReadyPods(t, c, ns, pod)
	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, waitDeleted), "-n", ns, "--report", "json="+p.json, "-o", "none")
	if run.code != 0 {
		t.Fatalf("want exit 0, got:\n%s", run)
	}
	if got, err := c.client.CoreV1().Pods(ns).Get(t.Context(), "slow", metav1.GetOptions{}); err == nil {
		t.Errorf("the run ended with pod slow still there (deletion timestamp %v)", got.DeletionTimestamp)
	}
	res := readResult(t, p.json)
	if s := stepByID(t, res, "gone"); s.Command != "kubectl wait pod/slow -n "+ns+" --for=delete" {
		t.Errorf("kubectl line %q", s.Command)
	}
}
