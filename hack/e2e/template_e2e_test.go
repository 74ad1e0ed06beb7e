//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTemplatedManifestStaysInItsValue runs a manifest whose values come
// from vars: a hostile image value stays the image (the pod is created
// with exactly that image name, and nothing else changes), and a var that
// makes the pod privileged fails the step before the pod exists in a
// runbook without allowPrivileged.
func TestTemplatedManifestStaysInItsValue(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-tmpl-")
	file := filepath.Join(t.TempDir(), "tmpl.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: templated}
spec:
  vars: {image: busybox:1.36, hostNetwork: false}
  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata:
          name: app
          labels: {app: "${{ vars.image }}"}
        spec:
          hostNetwork: ${{ vars.hostNetwork }}
          containers:
          - name: app
            image: ${{ vars.image }}
            command: [sleep, "3600"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	hostile := `x", securityContext: {privileged: true}, "`
	p := newReportPaths(t)
	run := runCLI(t, "run", file, "-n", ns, "--keep", "--var", "image="+hostile, "--report", "json="+p.json)
	res := readResult(t, p.json)
	// The API server refuses the label value (not a valid label), which
	// shows the value reached that one field, unchanged.
	if run.code != 1 || !strings.Contains(res.Steps[0].Error, "Invalid value") {
		t.Fatalf("want the server to refuse the hostile value as a label value: %s\n%s", run, describeSteps(res))
	}
	pods, err := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Fatalf("pods after a refused create: %v %v", pods, err)
	}

	run = runCLI(t, "run", file, "-n", ns, "--var", "hostNetwork=true", "--report", "json="+p.json)
	res = readResult(t, p.json)
	if run.code != 1 || !strings.Contains(res.Steps[0].Error, "is privileged (Pod app: hostNetwork)") || !strings.Contains(res.Steps[0].Error, "nothing was created") {
		t.Fatalf("want the privileged rendering refused: %s\n%s", run, describeSteps(res))
	}
	if len(res.Cleanup.Deletions) != 0 {
		t.Errorf("the refused step recorded objects for cleanup: %+v", res.Cleanup.Deletions)
	}
	pods, err = c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("pods after a refused privileged manifest: %v %v", len(pods.Items), err)
	}
}
