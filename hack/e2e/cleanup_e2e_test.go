//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCleanupFindsEveryKind kills (SIGKILL: no cleanup) a run that created
// a pod, a ConfigMap in a second namespace, a ClusterRole, a PVC and a
// CronJob; `runbook cleanup --run-id` finds them all by discovery and
// leaves none.
func TestCleanupFindsEveryKind(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-kinds-")
	other := c.newNamespace(t, "e2e-kinds2-")
	runID := "rb-kinds" + strings.TrimPrefix(ns, "e2e-kinds-")
	file := filepath.Join(t.TempDir(), "kinds.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: kinds}
spec:
  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: %[1]s}
        data: {a: b}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: %[2]s-reader}
        rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data}
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
        ---
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly}
        spec:
          schedule: "0 3 * * *"
          suspend: true
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: c, image: busybox:1.36, command: ["true"]}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: app}
        spec:
          containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
  - name: hold
    local: {command: [sleep, "300"]}
`, other, runID)), 0o644); err != nil {
		t.Fatal(err)
	}
	live := startCLI(t, "run", file, "-n", ns, "--run-id", runID)
	live.waitLine(progressLine(2))
	live.signal(syscall.SIGKILL)
	if run := live.wait(); run.signal != syscall.SIGKILL {
		t.Fatalf("want the run killed by SIGKILL, got:\n%s", run)
	}
	left := c.labelled(t, runID)
	var kinds []string
	for _, o := range left {
		kinds = append(kinds, o.Resource)
	}
	for _, want := range []string{"pods", "configmaps", "clusterroles", "persistentvolumeclaims", "cronjobs"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Fatalf("the killed run should have left a %s: left %v", want, left)
		}
	}
	clean := runCLI(t, "cleanup", "-A", "--run-id", runID)
	if clean.code != 0 {
		t.Fatalf("cleanup: %s", clean)
	}
	c.assertNoneLeft(t, runID)
}

// TestCleanupSparesLiveRuns runs `runbook cleanup -A` while another run is
// live: its objects carry a deadline still ahead, so cleanup skips them
// and the run passes.
func TestCleanupSparesLiveRuns(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-spare-")
	file := filepath.Join(t.TempDir(), "live.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: live}
spec:
  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: state}
        data: {a: b}
  - name: hold
    local: {command: [sleep, "3"]}
  - name: the ConfigMap is still there
    get: {kind: ConfigMap, name: state}
    assert:
    - object.data.a == "b"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	live := startCLI(t, "run", file, "-n", ns, "--report", "json="+p.json)
	live.waitLine(progressLine(2))
	clean := runCLI(t, "cleanup", "-A")
	if clean.code != 0 || !strings.Contains(clean.stdout, "skipped ConfigMap "+ns+"/state") {
		t.Errorf("cleanup -A during a live run: want exit 0 and the run's ConfigMap skipped, got:\n%s", clean)
	}
	run := live.wait()
	res := readResult(t, p.json)
	if run.code != 0 {
		t.Errorf("the live run failed after cleanup -A: %s\n%s", run, describeSteps(res))
	}
}
