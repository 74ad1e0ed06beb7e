//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// TestImpersonation checks that kubectl's --as reaches the API server: a
// run as a ServiceAccount without rights gets a Forbidden that names it,
// and passes once a Role grants what the runbook reads.
func TestImpersonation(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-as-")
	ctx := t.Context()
	if _, err := c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "limited"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "as.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: as}
spec:
  steps:
  - id: ca
    get: {kind: ConfigMap, name: kube-root-ca.crt}
    assert: ["object.data['ca.crt'] != ''"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	user := "system:serviceaccount:" + ns + ":limited"
	args := []string{"run", file, "-n", ns, "--as", user}

	p := newReportPaths(t)
	denied := runCLI(t, append(args, "--report", "json="+p.json)...)
	if denied.code != 1 {
		t.Fatalf("as %s without rights: want exit 1 (a failed step)\n%s", user, denied)
	}
	step := stepByID(t, readResult(t, p.json), "ca")
	want := `User "` + user + `" cannot get resource "configmaps"`
	if !strings.Contains(step.Error, want) || !strings.Contains(denied.stdout+denied.stderr, want) {
		t.Fatalf("the Forbidden does not name the impersonated user (%q):\nstep error: %s\n%s", want, step.Error, denied)
	}

	if _, err := c.client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "read-cm"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-cm"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-cm"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "limited", Namespace: ns}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// RBAC is read from an informer cache in the API server: the grant
	// takes effect within moments; wait for it as a client would, by asking.
	c.waitCanI(t, user, ns)
	allowed := runCLI(t, args...)
	if allowed.code != 0 {
		t.Fatalf("as %s with a Role granting get configmaps: want exit 0\n%s", user, allowed)
	}

	// The account's own token, with --server and --certificate-authority
	// instead of a kubeconfig: it works, and is printed nowhere.
	tr, err := c.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "limited", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, empty := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "empty-kubeconfig")
	caData := c.config.CAData
	if len(caData) == 0 {
		if caData, err = os.ReadFile(c.config.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(ca, caData, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = newReportPaths(t)
	withToken := runCLI(t, append([]string{"run", file, "-n", ns, "--kubeconfig", empty, "--server", c.config.Host,
		"--certificate-authority", ca, "--token", tr.Status.Token}, p.flags()...)...)
	if withToken.code != 0 {
		t.Fatalf("with the account's --token: want exit 0\n%s", withToken)
	}
	outputs := map[string]string{"stdout": withToken.stdout, "stderr": withToken.stderr}
	for _, path := range []string{p.json, p.md, p.junit, p.table} {
		outputs[path] = string(readFile(t, path))
	}
	for what, out := range outputs {
		if strings.Contains(out, tr.Status.Token) {
			t.Errorf("%s holds the --token value", what)
		}
	}

	// kubectl's errors, said with the flag: an unknown context, a missing kubeconfig.
	if r := runCLI(t, "run", file, "--context", "no-such-context"); r.code != 3 || !strings.Contains(r.stderr, `--context "no-such-context": no such context in `) {
		t.Errorf("unknown context: want exit 3 naming --context\n%s", r)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if r := runCLI(t, "run", file, "--kubeconfig", missing); r.code != 3 || !strings.Contains(r.stderr, "--kubeconfig "+missing+": no such file or directory") {
		t.Errorf("missing --kubeconfig: want exit 3 naming the file\n%s", r)
	}
}

// waitCanI waits until the API server's authorizer lets user get
// configmaps in ns (a SubjectAccessReview, as kubectl auth can-i asks).
func (c *cluster) waitCanI(t *testing.T, user, ns string) {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "configmaps"}}}
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, waitLimit, true, func(ctx context.Context) (bool, error) {
		got, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.Allowed, nil
	})
	if err != nil {
		t.Fatalf("%s still may not get configmaps in %s: %v", user, ns, err)
	}
}
