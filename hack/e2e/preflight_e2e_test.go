//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestPlanPreflight runs `plan --preflight` against an open namespace (every
// check passes, exit 0) and one enforcing the restricted Pod Security level
// (the server-side dry runs are refused, exit 1), and checks that nothing
// was created.
func TestPlanPreflight(t *testing.T) {
	c := connect(t)
	bin := os.Getenv("RUNBOOK_BIN")
	if bin == "" {
		t.Fatal("RUNBOOK_BIN is not set: run through `make e2e`")
	}
	plan := func(ns string) (int, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "plan", "--preflight", "-n", ns, "../../examples/distroless.yaml")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String()
	}
	// newNamespace waits for the default service account, which pod
	// admission (dry runs included) needs.
	open := c.newNamespace(t, "pf-open-")
	code, out := plan(open)
	if code != 0 || strings.Contains(out, "FAIL") || !strings.Contains(out, "ok   step 4: dry-run create pod "+open+"/noshell-dbg: accepted") ||
		!strings.Contains(out, "ok   RBAC: patch pods/ephemeralcontainers in "+open+": allowed") {
		t.Errorf("open namespace: exit %d\n%s", code, out)
	}
	restricted := c.newNamespace(t, "pf-restricted-")
	patch := []byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}`)
	if _, err := c.client.CoreV1().Namespaces().Patch(t.Context(), restricted, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out = plan(restricted)
	if code != 1 || !strings.Contains(out, `FAIL step 1: dry-run create pod `+restricted+`/noshell: pods "noshell" is forbidden: violates PodSecurity "restricted:latest"`) ||
		!strings.Contains(out, "FAIL Pod Security of namespace "+restricted+": enforces restricted") {
		t.Errorf("restricted namespace: exit %d\n%s", code, out)
	}
	for _, ns := range []string{open, restricted} {
		pods, err := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil || len(pods.Items) != 0 {
			t.Errorf("preflight left pods in %s: %v %v", ns, pods, err)
		}
	}
}
