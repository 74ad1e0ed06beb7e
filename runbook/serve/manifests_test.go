package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestManifests(t *testing.T) {
	dir := t.TempDir()
	crash, err := os.ReadFile("../../examples/incidents/crashloop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routesSrc := "apiVersion: runbook/v1alpha1\nkind: Routes\nroutes:\n- name: crashloop\n  alert: KubePodCrashLooping\n  runbook: crashloop.yaml\n  targetNamespaces: ['*']\n  namespace: labels.namespace\n  vars: {pod: labels.pod}\n"
	for name, data := range map[string][]byte{"crashloop.yaml": crash, "routes.yaml": []byte(routesSrc)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := LoadRoutes(filepath.Join(dir, "routes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Manifests(ManifestOptions{Namespace: "ops", Image: "runbook.local/runbook:dev", RoutesSource: []byte(routesSrc), Routes: rs,
		Window: 10 * time.Minute, MaxActive: 5, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if diff := cmp.Diff([]string{"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service"}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	role := objs[1].(*rbacv1.Role)
	want := []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "list"}}}
	if diff := cmp.Diff(want, role.Rules); diff != "" {
		t.Errorf("the receiver's rules (-want +got):\n%s", diff)
	}
	cm := objs[3].(*corev1.ConfigMap)
	if cm.Data["routes.yaml"] != routesSrc || cm.Data["crashloop.yaml"] != string(crash) || len(cm.Data) != 2 {
		t.Errorf("the routes ConfigMap holds %d keys", len(cm.Data))
	}
	d := objs[4].(*appsv1.Deployment)
	c := d.Spec.Template.Spec.Containers[0]
	wantArgs := []string{"serve", "--routes", "/etc/runbook-serve/routes.yaml", "--listen", ":8080", "--token-file", "/etc/runbook-serve-token/token",
		"--image", "runbook.local/runbook:dev", "--dedup-window", "10m0s", "--max-jobs", "5", "--max-body", "1048576"}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("one receiver at a time: replicas %d, strategy %s", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if d.Spec.Template.Spec.Volumes[1].Secret.SecretName != TokenSecret || d.Spec.Template.Spec.ServiceAccountName != Name {
		t.Errorf("token Secret or account: %+v", d.Spec.Template.Spec)
	}

	// A runbook elsewhere than beside the routes file is not in the
	// ConfigMap's flat directory.
	rs2, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Manifests(ManifestOptions{Namespace: "ops", Routes: rs2})
	if err == nil || !strings.Contains(err.Error(), `route crashloop: runbook "../../../examples/incidents/crashloop.yaml": for --manifests, a route's runbook must be a file beside the routes file (runbook: crashloop.yaml)`) {
		t.Errorf("want the error naming the route, got %v", err)
	}
}

// TestManifestsRefuseASecretDefault: the routes ConfigMap holds each route's runbook as
// written, so a runbook that writes a value for a secret var is refused, naming the var and
// not its value.
func TestManifestsRefuseASecretDefault(t *testing.T) {
	dir := t.TempDir()
	rbSrc := "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: s}\nspec:\n  vars: {token: hunter2-in-configmap}\n  secretVars: [token]\n  steps:\n  - note: {message: hi}\n"
	routesSrc := "apiVersion: runbook/v1alpha1\nkind: Routes\nroutes:\n- name: r\n  alert: A\n  runbook: s.yaml\n  namespace: labels.namespace\n"
	for name, data := range map[string]string{"s.yaml": rbSrc, "routes.yaml": routesSrc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := LoadRoutes(filepath.Join(dir, "routes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Manifests(ManifestOptions{Namespace: "ops", Image: "i", RoutesSource: []byte(routesSrc), Routes: rs, Window: time.Minute, MaxActive: 1, MaxBody: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "spec.vars.token") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v, want a refusal naming spec.vars.token without its value", err)
	}
}
