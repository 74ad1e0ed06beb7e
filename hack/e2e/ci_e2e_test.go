//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/report"
)

// restrictedPod is a pause pod that the restricted Pod Security level admits.
func restrictedPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"debug-check": "enabled"}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10.2",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// newLabelledNamespace is newNamespace (which waits for the default
// service account) with labels, e.g. a Pod Security level to enforce.
func (c *cluster) newLabelledNamespace(t *testing.T, prefix string, labels map[string]string) string {
	t.Helper()
	ns := c.newNamespace(t, prefix)
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Namespaces().Patch(t.Context(), ns, types.MergePatchType, b, metav1.PatchOptions{}); err != nil {
		t.Fatalf("labelling namespace %s: %v", ns, err)
	}
	return ns
}

// createReadyPods creates the pods in ns and waits until each is Ready.
func createReadyPods(t *testing.T, c *cluster, ns string, pods ...*corev1.Pod) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for _, p := range pods {
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s/%s: %v", ns, p.Name, err)
		}
	}
	for _, p := range pods {
		if _, err := c.waitForPod(ctx, ns, p.Name, podReady); err != nil {
			t.Fatalf("pod %s/%s: %v", ns, p.Name, err)
		}
	}
}

// TestCIDebuggability runs examples/ci-debuggability.yaml over pods in an
// open namespace and in one that enforces the restricted Pod Security
// level, and checks the per-target results, the JUnit testcases and the
// profile each debugger got.
func TestCIDebuggability(t *testing.T) {
	c := connect(t)
	open := c.newNamespace(t, "ci-open-")
	restricted := c.newLabelledNamespace(t, "ci-restricted-", map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"})
	var openPods []*corev1.Pod
	for i := range 3 {
		p := restrictedPod(fmt.Sprintf("web-%d", i))
		p.Spec.SecurityContext = nil
		p.Spec.Containers[0].SecurityContext = nil
		openPods = append(openPods, p)
	}
	unlabelled := restrictedPod("not-checked")
	unlabelled.Labels = nil
	createReadyPods(t, c, open, append(openPods, unlabelled)...)
	createReadyPods(t, c, restricted, restrictedPod("api-0"), restrictedPod("api-1"))

	dir := t.TempDir()
	jsonPath, junitPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	r := runCLI(t, "run", repoFile("examples/ci-debuggability.yaml"),
		"--report", "json="+jsonPath, "--report", "junit="+junitPath, "-o", "table")
	t.Logf("%s", r)
	if r.code != 0 {
		t.Fatalf("runbook run: exit %d", r.code)
	}
	res := readResult(t, jsonPath)
	var fan *report.StepResult
	for i := range res.Steps {
		if res.Steps[i].ID == "debuggable" {
			fan = &res.Steps[i]
		}
	}
	if fan == nil {
		t.Fatal("no step debuggable in the result")
	}
	// Other tests may have labelled pods of their own in other namespaces:
	// look only at ours.
	want := map[string]bool{
		"pod " + open + "/web-0": true, "pod " + open + "/web-1": true, "pod " + open + "/web-2": true,
		"pod " + restricted + "/api-0": true, "pod " + restricted + "/api-1": true,
	}
	seen := map[string]bool{}
	for _, tg := range fan.Targets {
		if !want[tg.Target] {
			if strings.Contains(tg.Target, open) || strings.Contains(tg.Target, restricted) {
				t.Errorf("unexpected target %s (unlabelled pods must not be selected)", tg.Target)
			}
			continue
		}
		seen[tg.Target] = true
		if tg.Status != report.StatusPassed {
			t.Errorf("%s: %s: %s %v", tg.Target, tg.Status, tg.Error, tg.Assertions)
		}
		if !strings.Contains(tg.Stdout, "/pause") {
			t.Errorf("%s: the debugger did not see /pause:\n%s", tg.Target, tg.Stdout)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("targets seen %v, want %v", seen, want)
	}
	// The restricted namespace's debuggers got the restricted profile.
	for _, name := range []string{"api-0", "api-1"} {
		pod, err := c.client.CoreV1().Pods(restricted).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pod.Spec.EphemeralContainers) != 1 {
			t.Fatalf("%s: %d ephemeral containers", name, len(pod.Spec.EphemeralContainers))
		}
		sc := pod.Spec.EphemeralContainers[0].SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 {
			t.Errorf("%s: debugger security context %+v is not the restricted profile's", name, sc)
		}
	}
	pod, err := c.client.CoreV1().Pods(open).Get(t.Context(), "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sc := pod.Spec.EphemeralContainers[0].SecurityContext; sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Add) == 0 {
		t.Errorf("web-0: debugger security context %+v is not the general profile's (SYS_PTRACE)", sc)
	}
	// JUnit: one testcase per target.
	raw, err := os.ReadFile(junitPath)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil || len(suites.Suites) != 1 {
		t.Fatalf("junit: %v\n%s", err, raw)
	}
	perTarget := 0
	for _, tc := range suites.Suites[0].Cases {
		for tg := range want {
			if strings.Contains(tc.Name, strings.TrimPrefix(tg, "pod ")) {
				perTarget++
				if tc.Failure != nil {
					t.Errorf("junit testcase %s failed", tc.Name)
				}
			}
		}
	}
	if perTarget != len(want) {
		t.Errorf("junit has %d testcases for our pods, want %d:\n%s", perTarget, len(want), raw)
	}

	// The same check passes as a ServiceAccount holding exactly what
	// `runbook rbac` prints for it (a ClusterRole: it fans out over every
	// namespace), with preflight agreeing.
	sa := "ci-" + strings.TrimPrefix(open, "ci-open-")
	rb := runCLI(t, "rbac", repoFile("examples/ci-debuggability.yaml"), "--service-account", sa)
	if rb.code != 0 {
		t.Fatalf("rbac: %s", rb)
	}
	c.applyAll(t, t.Context(), rb.stdout)
	t.Cleanup(func() {
		_ = c.client.CoreV1().ServiceAccounts("default").Delete(context.Background(), sa, metav1.DeleteOptions{})
	})
	kubeconfig := c.serviceAccountKubeconfig(t, "default", sa)
	if pre := runCLI(t, "plan", repoFile("examples/ci-debuggability.yaml"), "--preflight", "--kubeconfig", kubeconfig); pre.code != 0 {
		t.Errorf("preflight as the ServiceAccount: %s", pre)
	}
	asSA := filepath.Join(dir, "sa.json")
	r = runCLI(t, "run", repoFile("examples/ci-debuggability.yaml"), "--kubeconfig", kubeconfig, "--report", "json="+asSA, "-o", "none")
	if r.code != 0 {
		t.Errorf("run as the ServiceAccount rbac printed: %s\n%s", r, describeSteps(readResult(t, asSA)))
	}
}
