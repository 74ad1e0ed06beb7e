//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/ptr"
)

// targetsRunbook takes a Deployment's pod every way a step can: by the
// Deployment (exec, logs, copy, events) and by a selector (debug); each
// step asserts the pod it got is vars.want. A Deployment without pods
// fails its step, saying so.
const targetsRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: e2e-targets}
spec:
  timeout: 4m
  vars: {want: ""}
  steps:
  - id: exec
    name: A command in the deployment
    exec: {pod: deployment/web, container: app, command: [hostname]}
    assert: ['trim(stdout) == vars.want']
  - id: logs
    name: The deployment's log
    logs: {pod: deploy/web}
    assert: ['stdout contains "started " + vars.want']
  - id: debug
    name: A debugger in a pod of app=web
    debug: {selector: app=web, image: "busybox:1.36", target: app, command: [hostname]}
    assert: ['pod.metadata.name == vars.want', 'trim(stdout) == vars.want']
  - id: copy
    name: A copy of the deployment's pod with its command changed
    copy: {pod: deployment/web, container: app, command: [sleep, "3600"], waitFor: Running}
    assert: ['pod.metadata.name == vars.want + "-debug"', 'pod.spec.containers[0].command == ["sleep", "3600"]']
  - id: events
    name: Events of the deployment's pod
    events: {for: {pod: deployment/web}}
    assert: ['any(objects, .involvedObject.name == vars.want)']
  - id: none
    name: A deployment without pods
    logs: {pod: deployment/none}
    expectFailure: true
    assert: ['error contains "deployment/none in " + run.namespace + " has no pods (selector app=none)"']
`

// webDeployment is a Deployment of busybox pods labelled app=name that
// print their name and sleep.
func webDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36",
						Command: []string{"sh", "-c", "echo started $(hostname); sleep 3600 & wait"}}},
				},
			},
		},
	}
}

// readyPods waits until the selector matches n ready pods and returns them.
func (c *cluster) readyPods(t *testing.T, ns, selector string, n int) []*corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	for {
		list, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatalf("listing pods %s: %v", selector, err)
		}
		var ready []*corev1.Pod
		for i := range list.Items {
			if ok, _ := podReady(&list.Items[i]); ok {
				ready = append(ready, &list.Items[i])
			}
		}
		if len(ready) == n && len(list.Items) == n {
			return ready
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d ready pods of %s in %s: %d of %d ready", n, selector, ns, len(ready), len(list.Items))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TestTargets creates a Deployment with two replicas, the first ready well
// before the second, so kubectl's rules choose it for logs and exec alike
// (the pod ready the longest), and checks that every kind that takes a pod
// chooses it from deployment/web and from a selector, that the reports
// name it, and that plan --preflight resolves it the same way.
func TestTargets(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-targets-")
	deps := c.client.AppsV1().Deployments(ns)
	for _, d := range []*appsv1.Deployment{webDeployment("web", 1), webDeployment("none", 0)} {
		if _, err := deps.Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	first := c.readyPods(t, ns, "app=web", 1)[0]
	// Ready conditions have a resolution of a second: the second replica
	// must become ready in a later second than the first.
	time.Sleep(1500 * time.Millisecond)
	if _, err := deps.Patch(t.Context(), "web", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := c.readyPods(t, ns, "app=web", 2)
	// The choice kubectl would make, with kubectl's own sorts.
	sort.Sort(sort.Reverse(podutils.ActivePods(pods)))
	execChoice := pods[0].Name
	sort.Sort(podutils.ByLogging(pods))
	if execChoice != first.Name || pods[0].Name != first.Name {
		t.Fatalf("kubectl would choose %s (exec) and %s (logs), not the first pod %s: the test's setup is wrong", execChoice, pods[0].Name, first.Name)
	}
	want := first.Name

	file := filepath.Join(t.TempDir(), "targets.yaml")
	if err := os.WriteFile(file, []byte(targetsRunbook), 0o644); err != nil {
		t.Fatal(err)
	}

	// The plan resolves the targets on the cluster, as the run will.
	plan := runCLI(t, "plan", "--preflight", "-n", ns, "--var", "want="+want, file)
	if plan.code != 1 { // the deployment without pods fails its check
		t.Errorf("plan --preflight: exit %d, want 1 (deployment/none has no pods)\n%s", plan.code, plan)
	}
	for _, line := range []string{
		"target: pod " + ns + "/" + want + " (from deployment/web)",
		"target: pod " + ns + "/" + want + " (from selector app=web)",
		"ok   step 1: target deployment/web in " + ns + ": pod " + want + ", the first of 2 pods (selector app=web) as kubectl exec chooses",
		"ok   step 2: target deployment/web in " + ns + ": pod " + want + ", the first of 2 pods (selector app=web) as kubectl logs chooses",
		"ok   step 3: dry-run add ephemeral container to pod " + ns + "/" + want + ": accepted",
		"ok   step 4: dry-run create pod " + ns + "/" + want + "-debug: accepted",
		"FAIL step 6: target deployment/none in " + ns + ": deployment/none in " + ns + " has no pods (selector app=none)",
	} {
		if !strings.Contains(plan.stdout, line) {
			t.Errorf("plan --preflight does not say %q:\n%s", line, plan.stdout)
		}
	}
	if n := strings.Count(plan.stdout, "FAIL"); n != 1 {
		t.Errorf("plan --preflight: %d failed checks, want 1:\n%s", n, plan.stdout)
	}
	if rbac := runCLI(t, "rbac", "-n", ns, file); rbac.code != 0 || !strings.Contains(rbac.stdout, "deployments") {
		t.Errorf("rbac:\n%s", rbac)
	}

	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", "-n", ns, "--var", "want=" + want, file}, p.flags()...)...)
	res := readResult(t, p.json)
	if run.code != 0 {
		t.Fatalf("%s\n%s", run, describeSteps(res))
	}
	targets := map[string]string{
		"exec":   "pod " + ns + "/" + want + " (from deployment/web)",
		"logs":   "pod " + ns + "/" + want + " (from deployment/web)",
		"debug":  "pod " + ns + "/" + want + " (from selector app=web)",
		"copy":   "pod " + ns + "/" + want + "-debug (a copy of " + want + " from deployment/web)",
		"events": "events of pod " + ns + "/" + want + " (from deployment/web)",
		"none":   "pod " + ns + "/<pod of deployment/none>",
	}
	for _, s := range res.Steps {
		if s.Target != targets[s.ID] {
			t.Errorf("step %s: target %q, want %q", s.ID, s.Target, targets[s.ID])
		}
	}
	if objs := res.Steps[0].Objects; len(objs) == 0 || objs[0].Kind != "Deployment" || objs[0].Name != "web" {
		t.Errorf("exec's objects do not name the deployment read: %+v", objs)
	}
	md := string(readFile(t, p.md))
	if !strings.Contains(md, want+" (from deployment/web)") {
		t.Errorf("the Markdown report does not name the pod chosen:\n%s", md)
	}
}

// TestPlanRunTimeParts runs plan --preflight and rbac on the runbooks of
// steps/testdata/plan whose pods exist on the cluster (a copy of a pod the
// runbook did not create with its command or images changed, a copy named
// from a var, selector and var targets): the preflight reads the pods,
// builds the copies from them, checks them and dry-runs them; every check
// passes.
func TestPlanRunTimeParts(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-runtime-")
	web0 := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](0), Containers: []corev1.Container{
			{Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"}},
			{Name: "sidecar", Image: "registry.k8s.io/pause:3.10.2"},
		}},
	}
	createReadyPods(t, c, ns, web0)
	if _, err := c.client.AppsV1().Deployments(ns).Create(t.Context(), webDeployment("web", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.readyPods(t, ns, "app=web", 2)
	for _, name := range []string{"copy-command", "copy-setimage", "copy-to-var", "target-selector"} {
		t.Run(name, func(t *testing.T) {
			file := repoFile("steps/testdata/plan/" + name + ".yaml")
			plan := runCLI(t, "plan", "--preflight", "-n", ns, file)
			if plan.code != 0 || strings.Contains(plan.stdout, "FAIL") || strings.Contains(plan.stdout, "the run fails here") {
				t.Fatalf("plan --preflight:\n%s", plan)
			}
			if name == "copy-command" || name == "copy-setimage" {
				// Built from the pod read: its containers, not placeholders.
				if strings.Contains(plan.stdout, "read at run time") || !strings.Contains(plan.stdout, "name: sidecar") ||
					!strings.Contains(plan.stdout, "ok   step 1: pod "+ns+"/web-0 exists") {
					t.Errorf("the copy is not built from pod web-0:\n%s", plan.stdout)
				}
			}
			if rbac := runCLI(t, "rbac", "-n", ns, file); rbac.code != 0 {
				t.Errorf("rbac:\n%s", rbac)
			}
		})
	}
}
