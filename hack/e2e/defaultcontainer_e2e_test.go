//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/utils/ptr"
)

// defaultContainerRunbook acts on three pods with a sidecar, naming no container:
// mesh as Istio leaves it (the annotation names app), plain without the annotation
// (and with an init container), stale whose annotation names a container it lacks.
const defaultContainerRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: e2e-default-container}
spec:
  timeout: 3m
  steps:
  - id: exec_mesh
    exec: {pod: mesh, command: [sh, -c, 'echo $WHO']}
  - id: logs_mesh
    logs: {pod: mesh}
  - id: exec_plain
    exec: {pod: plain, command: [sh, -c, 'echo $WHO']}
  - id: logs_plain
    logs: {pod: plain}
  - id: cp_plain
    cp: {pod: plain, path: /etc/hostname}
  - id: logs_stale
    logs: {pod: stale}
  - id: exec_stale
    exec: {pod: stale, command: [sh, -c, 'echo $WHO']}
    expectFailure: true
  - id: exec_named
    exec: {pod: plain, container: app, command: [sh, -c, 'echo $WHO']}
  - id: logs_tail0
    logs: {pod: mesh, tailLines: 0}
  - id: logs_since
    logs: {pod: mesh, since: 1h}
  - id: logs_timestamps
    logs: {pod: mesh, timestamps: true}
  - id: logs_limit
    logs: {pod: mesh, limitBytes: 6}
  - id: logs_previous
    logs: {pod: mesh, previous: true}
    expectFailure: true
`

// sidecarPod is a pod with a proxy and an app container that print and hold their
// names; ann, when set, is its default-container annotation.
func sidecarPod(name, ann string, init bool) *corev1.Pod {
	c := func(who string) corev1.Container {
		return corev1.Container{Name: who, Image: "busybox:1.36", Env: []corev1.EnvVar{{Name: "WHO", Value: who}},
			Command: []string{"sh", "-c", "echo from-$WHO; sleep 3600 & wait"}}
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](0),
		Containers:                    []corev1.Container{c("istio-proxy"), c("app")},
	}}
	if ann != "" {
		p.Annotations = map[string]string{"kubectl.kubernetes.io/default-container": ann}
	}
	if init {
		p.Spec.InitContainers = []corev1.Container{{Name: "istio-init", Image: "busybox:1.36", Command: []string{"true"}}}
	}
	return p
}

// TestDefaultContainer runs exec, logs and cp without a container on pods with a
// sidecar and checks that each takes the container the kubectl of the cluster's
// version takes on the same pod, with the same notes, word for word.
func TestDefaultContainer(t *testing.T) {
	c := connect(t)
	kubectl := kubectlBinary(t, c)
	ns := c.newNamespace(t, "e2e-defaults-")
	for _, p := range []*corev1.Pod{sidecarPod("mesh", "app", false), sidecarPod("plain", "", true), sidecarPod("stale", "gone", false)} {
		if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"mesh", "plain", "stale"} {
		ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
		_, err := c.waitForPod(ctx, ns, name, podReady)
		cancel()
		if err != nil {
			t.Fatalf("pod %s: %v", name, err)
		}
	}

	file := filepath.Join(t.TempDir(), "defaults.yaml")
	if err := os.WriteFile(file, []byte(defaultContainerRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", "-n", ns, "--artifacts", t.TempDir(), file}, p.flags()...)...)
	if _, err := os.Stat(p.json); err != nil {
		t.Fatalf("%s", run)
	}
	res := readResult(t, p.json)
	if run.code != 0 {
		t.Fatalf("%s\n%s", run, describeSteps(res))
	}

	// What kubectl does on the same pods.
	kc := func(args ...string) (string, string, error) {
		cmd := exec.CommandContext(t.Context(), kubectl, append([]string{"-n", ns}, args...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	for _, tc := range []struct {
		step      string
		kubectl   []string
		container string
	}{
		{"exec_mesh", []string{"exec", "mesh", "--", "sh", "-c", "echo $WHO"}, "app"},
		{"logs_mesh", []string{"logs", "mesh"}, "app"},
		{"exec_plain", []string{"exec", "plain", "--", "sh", "-c", "echo $WHO"}, "istio-proxy"},
		{"logs_plain", []string{"logs", "plain"}, "istio-proxy"},
		{"logs_stale", []string{"logs", "stale"}, "istio-proxy"},
		{"exec_named", []string{"exec", "plain", "-c", "app", "--", "sh", "-c", "echo $WHO"}, "app"},
		// logs options users reach for in incidents, on a pod younger than since.
		{"logs_tail0", []string{"logs", "mesh", "--tail=0"}, "app"},
		{"logs_since", []string{"logs", "mesh", "--since=1h"}, "app"},
		{"logs_timestamps", []string{"logs", "mesh", "--timestamps"}, "app"},
		{"logs_limit", []string{"logs", "mesh", "--limit-bytes=6"}, "app"},
	} {
		s := stepByID(t, res, tc.step)
		kout, kerr, err := kc(tc.kubectl...)
		if err != nil {
			t.Errorf("kubectl %s: %v\n%s", strings.Join(tc.kubectl, " "), err, kerr)
			continue
		}
		if s.Stdout != kout || s.Stderr != kerr {
			t.Errorf("step %s: stdout %q, stderr %q; kubectl %s: stdout %q, stderr %q",
				tc.step, s.Stdout, s.Stderr, strings.Join(tc.kubectl, " "), kout, kerr)
		}
		if !strings.Contains(s.Command, " -c "+tc.container) || (!strings.HasPrefix(tc.step, "logs_") && !strings.Contains(kout, tc.container)) {
			t.Errorf("step %s: container %s not used (stdout %q) or not in the kubectl line %q", tc.step, tc.container, s.Stdout, s.Command)
		}
	}
	// What the options read, so that the comparison cannot pass on two empty logs.
	for step, want := range map[string]*regexp.Regexp{
		"logs_tail0":      regexp.MustCompile(`^$`),
		"logs_since":      regexp.MustCompile(`^from-app\n$`),
		"logs_timestamps": regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z from-app\n$`),
		"logs_limit":      regexp.MustCompile(`^from-a$`),
	} {
		if s := stepByID(t, res, step); !want.MatchString(s.Stdout) || s.StdoutTruncated {
			t.Errorf("step %s: stdout %q (truncated %v), want %s", step, s.Stdout, s.StdoutTruncated, want)
		}
	}
	// The notes themselves, so that a kubectl that prints none cannot pass the comparison.
	proxy := `Defaulted container "istio-proxy" out of: istio-proxy, app`
	for step, want := range map[string]string{
		"exec_plain": proxy + ", istio-init (init)\n",
		"logs_plain": proxy + ", istio-init (init)\n",
		"logs_stale": "Default container name \"gone\" not found in pod stale\n" + proxy + "\n",
		"exec_mesh":  "",
	} {
		if got := stepByID(t, res, step).Stderr; got != want {
			t.Errorf("step %s: stderr %q, want %q", step, got, want)
		}
	}
	if s := stepByID(t, res, "cp_plain"); !strings.HasPrefix(s.Stderr, proxy+", istio-init (init)\n") || !strings.Contains(s.Command, "-c istio-proxy") {
		t.Errorf("cp_plain: stderr %q, command %q", s.Stderr, s.Command)
	}
	// kubectl v1.37 exec refuses an annotation naming a missing container; so does
	// the step, whatever the server. kubectl before v1.37 took the first container
	// instead, with its note (docs/format.md says the step follows v1.37).
	_, kerr, err := kc("exec", "stale", "--", "sh", "-c", "echo $WHO")
	want := "container gone is not valid for pod stale out of: istio-proxy, app"
	s := stepByID(t, res, "exec_stale")
	if !strings.Contains(s.Error, want) {
		t.Errorf("exec_stale: step %q, want %q", s.Error, want)
	}
	sv, verr := c.client.Discovery().ServerVersion()
	if verr != nil {
		t.Fatalf("server version: %v", verr)
	}
	if version.MustParseGeneric(sv.GitVersion).AtLeast(version.MajorMinor(1, 37)) {
		if err == nil || !strings.Contains(kerr, want) {
			t.Errorf("exec_stale: kubectl %s %v %q, want it to fail with %q as the step does", sv.GitVersion, err, kerr, want)
		}
	} else if older := proxy + "\n"; err != nil || kerr != older {
		t.Errorf("exec_stale: kubectl %s %v %q, want the first container and the note %q", sv.GitVersion, err, kerr, older)
	}
	// A container that never restarted has no previous log: kubectl and the step say so alike.
	_, kerr, err = kc("logs", "mesh", "--previous")
	want = `previous terminated container "app" in pod "mesh" not found`
	if s := stepByID(t, res, "logs_previous"); err == nil || !strings.Contains(kerr, want) || !strings.Contains(s.Error, want) {
		t.Errorf("logs_previous: kubectl %v %q; step %q; both should say %q", err, kerr, s.Error, want)
	}
	// The Markdown report shows the note.
	if md := string(readFile(t, p.md)); !strings.Contains(md, "Defaulted container") {
		t.Errorf("the Markdown report does not show kubectl's note:\n%s", md)
	}
}
