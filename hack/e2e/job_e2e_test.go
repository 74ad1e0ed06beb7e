//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/incluster"
)

// jobImage is the tool's image the Jobs run: RUNBOOK_IMAGE, else the one
// `make image` (part of `make e2e`) imports into the nodes.
func jobImage() string {
	if img := os.Getenv("RUNBOOK_IMAGE"); img != "" {
		return img
	}
	return incluster.DefaultImage
}

// storedResults lists the results stored in ns, through `runbook results`.
func storedResults(t *testing.T, ns string) []incluster.StoredResult {
	t.Helper()
	r := runCLI(t, "results", "-n", ns, "-o", "json")
	if r.code != 0 {
		t.Fatalf("runbook results: %s", r)
	}
	var list []incluster.StoredResult
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("runbook results -o json: %v\n%s", err, r.stdout)
	}
	return list
}

// storedResult renders one stored result as JSON, through `runbook results
// show`, and reads it back.
func storedResult(t *testing.T, ns, runID string) *report.Result {
	t.Helper()
	r := runCLI(t, "results", "show", runID, "-n", ns, "-o", "json")
	if r.code != 0 {
		t.Fatalf("runbook results show: %s", r)
	}
	res, err := report.ReadJSON(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("results show %s -o json: %v", runID, err)
	}
	return res
}

// targetStatus is the status of the fan-out target named target in step
// id, or "" when the step did not act on it.
func targetStatus(res *report.Result, id, target string) report.Status {
	for _, s := range res.Steps {
		if s.ID != id {
			continue
		}
		for _, tg := range s.Targets {
			if tg.Target == target {
				return tg.Status
			}
		}
		if s.Target == target {
			return s.Status
		}
	}
	return ""
}

// TestJobScheduledDebuggability runs examples/ci-debuggability.yaml as a
// CronJob every minute: two results stored and listed, both passing; a
// labelled pod made undebuggable fails in the next one; --delete leaves
// nothing labelled.
func TestJobScheduledDebuggability(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "job-ci-")
	pods := c.newNamespace(t, "job-ci-pods-")
	// A pod with no security context: the general profile debugs it; once
	// its namespace enforces restricted, the pod itself violates the level
	// and Pod Security refuses every ephemeral container.
	checked := restrictedPod("checked")
	checked.Spec.SecurityContext = nil
	checked.Spec.Containers[0].SecurityContext = nil
	createReadyPods(t, c, pods, checked)
	target := "pod " + pods + "/checked"

	file := repoFile("examples/ci-debuggability.yaml")
	args := []string{"job", file, "--schedule", "* * * * *", "-n", ns, "--image", jobImage()}
	apply := runCLI(t, append(args, "--apply")...)
	if apply.code != 0 {
		t.Fatalf("runbook job --apply: %s", apply)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			runCLI(t, append(args, "--delete")...)
		}
	})
	start := time.Now()

	// The CronJob controller starts a Job on each minute boundary: the
	// first within 60s of the apply, the second 60s later; a run takes
	// seconds. Two results are there within 3 minutes; the bound is 4 so
	// that a loaded machine does not fail the test (not a timing check).
	// It asks `runbook results`, the command under test, every 5 s, as a
	// user would (a watch of ConfigMaps would not test the command).
	var list []incluster.StoredResult
	err := wait.PollUntilContextTimeout(t.Context(), 5*time.Second, 4*time.Minute, true, func(context.Context) (bool, error) {
		list = storedResults(t, ns)
		return len(list) >= 2, nil
	})
	if err != nil {
		t.Fatalf("%d result(s) after %s, want 2: %v", len(list), time.Since(start).Round(time.Second), err)
	}
	t.Logf("two results %s after the apply: %+v", time.Since(start).Round(time.Second), list[:2])
	for _, r := range list[:2] {
		res := storedResult(t, ns, r.RunID)
		if r.Verdict != string(report.VerdictPassed) || res.Verdict != report.VerdictPassed {
			t.Errorf("run %s: verdict %s (stored %s), want passed:%s", r.RunID, r.Verdict, res.Verdict, describeSteps(res))
		}
		if st := targetStatus(res, "debuggable", target); st != report.StatusPassed {
			t.Errorf("run %s: %s is %q, want passed", r.RunID, target, st)
		}
		if r.Job == "" || r.Runbook != "ci-debuggability" || r.Started.IsZero() {
			t.Errorf("stored result %+v lacks its job, runbook or start", r)
		}
	}

	// Make the pod undebuggable; the next run that starts after it fails
	// on it (within 2 minutes: the next minute boundary and the run).
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}})
	if _, err := c.client.CoreV1().Namespaces().Patch(t.Context(), pods, "application/merge-patch+json", b, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	restricted := time.Now().Truncate(time.Second)
	var next *incluster.StoredResult
	err = wait.PollUntilContextTimeout(t.Context(), 5*time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		for _, r := range storedResults(t, ns) {
			if r.Started.After(restricted) {
				next = &r
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no run started after the namespace was made restricted: %v", err)
	}
	res := storedResult(t, ns, next.RunID)
	if st := targetStatus(res, "debuggable", target); st != report.StatusFailed {
		t.Errorf("run %s after restricted: %s is %q, want failed:%s", next.RunID, target, st, describeSteps(res))
	}
	if res.Verdict != report.VerdictFailed || next.Verdict != string(report.VerdictFailed) {
		t.Errorf("run %s after restricted: verdict %s, want failed", next.RunID, res.Verdict)
	}
	md := runCLI(t, "results", "show", next.RunID, "-n", ns, "-o", "md")
	if md.code != 0 || !strings.Contains(md.stdout, "checked") || !strings.Contains(md.stdout, "FAILED") && !strings.Contains(md.stdout, "failed") {
		t.Errorf("results show -o md:\n%s", md)
	}

	del := runCLI(t, append(args, "--delete")...)
	deleted = true
	if del.code != 0 {
		t.Fatalf("runbook job --delete: %s", del)
	}
	if left := c.labelledBy(t, incluster.LabelInstall+"=runbook-ci-debuggability,"+incluster.LabelManagedBy+"="+incluster.ManagedByJob); len(left) > 0 {
		// Other tests' installs of the same runbook live in other
		// namespaces: only ours must be gone.
		var ours []string
		for _, o := range left {
			if o.Namespace == ns || strings.HasSuffix(o.Name, "-"+ns) {
				ours = append(ours, o.String())
			}
		}
		if len(ours) > 0 {
			t.Errorf("left after --delete:\n  %s", strings.Join(ours, "\n  "))
		}
	}
}

var runIDLine = regexp.MustCompile(`run (rb-[0-9a-f]+):`)

// applySeedJob applies the seed runbook as a Job in ns and returns its run
// id and the Job's name.
func applySeedJob(t *testing.T, ns string) (string, string) {
	t.Helper()
	r := runCLI(t, "job", repoFile("examples/distroless.yaml"), "-n", ns, "--image", jobImage(), "--apply")
	if r.code != 0 {
		t.Fatalf("runbook job --apply: %s", r)
	}
	m := runIDLine.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no run id in:\n%s", r)
	}
	return m[1], "runbook-distroless-three-ways-" + m[1]
}

// waitPods watches the pods of ns that the label selector selects until
// cond holds for them, for at most limit, and returns them.
func (c *cluster) waitPods(t *testing.T, ns, sel string, limit time.Duration, cond func([]*corev1.Pod) bool) []*corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	pods, err := kube.WaitForPods(ctx, &kube.Clients{Kube: c.client}, ns, sel, cond)
	if err != nil {
		var state []string
		for _, p := range pods {
			state = append(state, p.Name+" "+string(p.Status.Phase))
		}
		t.Fatalf("pods %s in %s: %v (pods: %v)", sel, ns, err, state)
	}
	return pods
}

// jobPod waits until the pod of Job name satisfies cond and returns it.
func (c *cluster) jobPod(t *testing.T, ns, name string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	pods := c.waitPods(t, ns, batchv1.JobNameLabel+"="+name, waitLimit, func(pods []*corev1.Pod) bool {
		return len(pods) == 1 && cond(pods[0])
	})
	return pods[0]
}

// TestJobSeed runs the seed's runbook as a Job: it runs as its generated
// ServiceAccount and passes, its result stored; a second run whose pod is
// deleted mid-run cleans up (nothing of the run left) and stores an
// interrupted result.
func TestJobSeed(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "job-seed-")
	t.Cleanup(func() {
		runCLI(t, "job", repoFile("examples/distroless.yaml"), "-n", ns, "--delete")
	})
	nodes := c.nodeNames(t)

	runID, job := applySeedJob(t, ns)
	done := func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	}
	pod := c.jobPod(t, ns, job, done)
	if pod.Spec.ServiceAccountName != "runbook-distroless-three-ways" {
		t.Errorf("the Job's pod runs as %q, want its generated account", pod.Spec.ServiceAccountName)
	}
	res := storedResult(t, ns, runID)
	logs, _ := c.logs(t.Context(), ns, pod.Name, "runbook")
	t.Logf("pod %s on %s: %s; log:\n%s", pod.Name, pod.Spec.NodeName, pod.Status.Phase, logs)
	if res.Verdict != report.VerdictPassed || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("verdict %s, pod %s; want passed (nodes %v):%s", res.Verdict, pod.Status.Phase, nodes, describeSteps(res))
	}
	c.assertNoneLeft(t, runID)

	// Mid-run: once the run has made its first object, delete its pod.
	// The pod gets SIGTERM and its grace period; the run stops, cleans up
	// and stores its result, and exits.
	runID, job = applySeedJob(t, ns)
	pod = c.jobPod(t, ns, job, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	c.waitPods(t, ns, labelRunID+"="+runID, waitLimit, func(pods []*corev1.Pod) bool { return len(pods) > 0 })
	if err := c.client.CoreV1().Pods(ns).Delete(t.Context(), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitPods(t, ns, batchv1.JobNameLabel+"="+job, incluster.GracePeriod()+time.Minute, func(pods []*corev1.Pod) bool {
		return len(pods) == 0
	})
	c.assertNoneLeft(t, runID)
	res = storedResult(t, ns, runID)
	if res.Verdict != report.VerdictInterrupted {
		t.Errorf("run %s: verdict %s, want interrupted:%s", runID, res.Verdict, describeSteps(res))
	}
}

// TestJobSecretVars runs a Job with a secret var: the run gets its value
// (its assertion passes), which is in the install's Secret and in no
// ConfigMap, Job argument, log or stored result.
func TestJobSecretVars(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "job-secret-")
	const secret = "tok-e2e-value-424242"
	args := []string{"job", repoFile("hack/e2e/testdata/job-secret.yaml"), "-n", ns, "--image", jobImage(),
		"--var", "token=" + secret, "--var", "greeting=hi"}
	t.Cleanup(func() { runCLI(t, append(args, "--delete")...) })
	printed := runCLI(t, args...)
	if printed.code != 0 || strings.Contains(printed.stdout, secret) {
		t.Errorf("runbook job (print) showed the secret or failed: %s", printed)
	}
	r := runCLI(t, append(args, "--apply")...)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatalf("runbook job --apply: %s", r)
	}
	m := runIDLine.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no run id in:\n%s", r)
	}
	runID := m[1]
	pod := c.jobPod(t, ns, "runbook-job-secret-"+runID, func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	logs, err := c.logs(t.Context(), ns, pod.Name, "runbook")
	if err != nil {
		t.Fatal(err)
	}
	res := storedResult(t, ns, runID)
	if res.Verdict != report.VerdictPassed || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("verdict %s, pod %s:%s\n%s", res.Verdict, pod.Status.Phase, describeSteps(res), logs)
	}
	md := runCLI(t, "results", "show", runID, "-n", ns, "-o", "md")
	js := runCLI(t, "results", "show", runID, "-n", ns, "-o", "json")
	cms, err := c.client.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var stored strings.Builder
	for _, cm := range cms.Items {
		for _, v := range cm.Data {
			stored.WriteString(v)
		}
	}
	args2 := strings.Join(pod.Spec.Containers[0].Args, " ")
	for what, text := range map[string]string{"log": logs, "results show -o md": md.stdout, "results show -o json": js.stdout,
		"configmaps": stored.String(), "the Job's args": args2} {
		if strings.Contains(text, secret) {
			t.Errorf("the secret value is in %s", what)
		}
	}
	sec, err := c.client.CoreV1().Secrets(ns).Get(t.Context(), "runbook-job-secret-vars", metav1.GetOptions{})
	if err != nil || !strings.Contains(string(sec.Data["vars.json"]), secret) {
		t.Errorf("the install's Secret lacks the value: %v", err)
	}
}

// TestJobReapplyPrunes applies an install whose runbook reads a ConfigMap
// in a second namespace and has a secret var, then applies the runbook
// edited to need neither: the Role and RoleBinding in the second namespace
// and the Secret are gone, and the output says so. Scheduled once a year,
// so no run starts.
func TestJobReapplyPrunes(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "job-prune-")
	other := c.newNamespace(t, "job-prune-other-")
	const before = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: prune-check}
spec:
  vars: {token: ""}
  secretVars: [token]
  steps:
  - id: cm
    get: {kind: ConfigMap, name: kube-root-ca.crt, namespace: %s}
`
	const after = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: prune-check}
spec:
  steps:
  - id: ns
    get:
      kind: Namespace
      name: ${{ run.namespace }}
`
	file := writeRunbook(t, fmt.Sprintf(before, other))
	args := []string{"job", file, "--schedule", "0 0 1 1 *", "-n", ns, "--image", jobImage()}
	t.Cleanup(func() { runCLI(t, append(args, "--delete")...) })
	if r := runCLI(t, append(args, "--apply", "--var", "token=tok-prune-e2e")...); r.code != 0 {
		t.Fatalf("runbook job --apply: %s", r)
	}
	roles, err := c.client.RbacV1().Roles(other).List(t.Context(), metav1.ListOptions{LabelSelector: "runbook/install"})
	if err != nil || len(roles.Items) != 1 {
		t.Fatalf("Roles in %s after the first apply: %v, %v; want the install's", other, roles, err)
	}
	if _, err := c.client.CoreV1().Secrets(ns).Get(t.Context(), "runbook-prune-check-vars", metav1.GetOptions{}); err != nil {
		t.Fatalf("the install's Secret after the first apply: %v", err)
	}

	file = writeRunbook(t, after)
	args[1] = file
	r := runCLI(t, append(args, "--apply")...)
	if r.code != 0 {
		t.Fatalf("runbook job --apply of the edited runbook: %s", r)
	}
	for _, want := range []string{"roles.rbac.authorization.k8s.io " + other + "/", "rolebindings.rbac.authorization.k8s.io " + other + "/", "secrets " + ns + "/runbook-prune-check-vars deleted (no longer needed)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the output does not say %q was deleted:\n%s", want, r.stdout)
		}
	}
	roles, err = c.client.RbacV1().Roles(other).List(t.Context(), metav1.ListOptions{LabelSelector: "runbook/install"})
	if err != nil || len(roles.Items) != 0 {
		t.Errorf("Roles left in %s: %v, %v", other, roles, err)
	}
	bindings, err := c.client.RbacV1().RoleBindings(other).List(t.Context(), metav1.ListOptions{LabelSelector: "runbook/install"})
	if err != nil || len(bindings.Items) != 0 {
		t.Errorf("RoleBindings left in %s: %v, %v", other, bindings, err)
	}
	if _, err := c.client.CoreV1().Secrets(ns).Get(t.Context(), "runbook-prune-check-vars", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret of the secret vars is still there: %v", err)
	}
	// What the install still needs is still there.
	if _, err := c.client.CoreV1().ServiceAccounts(ns).Get(t.Context(), "runbook-prune-check", metav1.GetOptions{}); err != nil {
		t.Errorf("the install's ServiceAccount: %v", err)
	}
}
