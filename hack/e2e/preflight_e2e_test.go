//go:build e2e

package e2e

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPlanPreflight runs `plan --preflight` against an open namespace (every
// check passes, exit 0) and one enforcing the restricted Pod Security level
// (the server-side dry runs are refused, exit 1), and checks that nothing
// was created.
func TestPlanPreflight(t *testing.T) {
	c := connect(t)
	plan := func(ns string) (int, string) {
		r := runCLI(t, "plan", "--preflight", "-n", ns, repoFile("examples/distroless.yaml"))
		return r.code, r.stdout + r.stderr
	}
	open := c.newNamespace(t, "pf-open-")
	code, out := plan(open)
	if code != 0 || strings.Contains(out, "FAIL") || !strings.Contains(out, "ok   step 4: dry-run create pod "+open+"/noshell-dbg: accepted") ||
		!strings.Contains(out, "ok   RBAC: patch pods/ephemeralcontainers in "+open+": allowed") {
		t.Errorf("open namespace: exit %d\n%s", code, out)
	}
	restricted := c.newLabelledNamespace(t, "pf-restricted-", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
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
