//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// onePodRunbook waits until pod web-0 is Ready, then looks into it with an
// ephemeral container: everything a Role limited to that pod's name allows.
const onePodRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: one-pod-role}
spec:
  timeout: 2m
  steps:
  - id: ready
    wait: {kind: Pod, name: web-0, for: 'any(object.status.conditions ?? [], .type == "Ready" && .status == "True")'}
  - id: look
    debug:
      pod: web-0
      image: ` + busyboxImage + `
      target: app
      command: [echo, looked into web-0]
    assert:
    - stdout contains "looked into web-0"
`

// TestUsersRoleLimitedToOnePod runs a runbook against an existing pod as a
// user whose Role grants pods only by name (resourceNames: [web-0]), as an
// SRE on call is often given: the run's waits must watch that pod by name
// (a metadata.name field selector, which the API server authorizes as a
// request for that name), not list the whole namespace, in which another
// pod runs. The same runbook against the other pod is Forbidden, which shows
// the Role really is limited.
func TestUsersRoleLimitedToOnePod(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "users-e2e-names-")
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: busyboxImage, Command: []string{"sleep", "3600"}}}}}
	}
	createReadyPods(t, c, ns, pod("web-0"), pod("other"))

	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	user := "oncall-" + ns
	names := []string{"web-0"}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "web-0-only"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}, ResourceNames: names},
		{APIGroups: []string{""}, Resources: []string{"pods/ephemeralcontainers"}, Verbs: []string{"patch"}, ResourceNames: names},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}, ResourceNames: names},
	}}
	if _, err := c.client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-0-only"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The API server's RBAC cache takes the grant within moments.
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "watch", Resource: "pods", Name: "web-0"}}}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, waitLimit, true, func(ctx context.Context) (bool, error) {
		got, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		return err == nil && got.Status.Allowed, err
	}); err != nil {
		t.Fatalf("%s still may not watch pod web-0: %v", user, err)
	}

	p := newReportPaths(t)
	run := runCLI(t, "run", writeRunbook(t, onePodRunbook), "-n", ns, "--as", user, "--report", "json="+p.json, "-o", "none")
	res := readResult(t, p.json)
	if run.code != 0 {
		t.Fatalf("as %s, limited to pod web-0: want exit 0\n%s\n%s", user, run, describeSteps(res))
	}
	if s := stepByID(t, res, "look"); !strings.Contains(s.Stdout, "looked into web-0") {
		t.Errorf("step look: stdout %q", s.Stdout)
	}

	other := newReportPaths(t)
	denied := runCLI(t, "run", writeRunbook(t, strings.ReplaceAll(onePodRunbook, "web-0", "other")), "-n", ns, "--as", user,
		"--report", "json="+other.json, "-o", "none")
	if denied.code != 1 || !strings.Contains(denied.stdout+denied.stderr, "forbidden") {
		t.Errorf("the same runbook against pod other: want exit 1 and Forbidden\n%s", denied)
	}
}
