package incluster

import (
	"context"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/kube-runbook/runbook/kube"
)

// obj is an object of kind in ns ("" for cluster-scoped) named name with
// labels.
func obj(apiVersion, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func TestPrune(t *testing.T) {
	const rbacV1 = "rbac.authorization.k8s.io/v1"
	mine := map[string]string{LabelManagedBy: ManagedByJob, LabelInstall: "check", LabelInstallNamespace: "ops"}
	// The same install name in another namespace: another install.
	theirs := map[string]string{LabelManagedBy: ManagedByJob, LabelInstall: "check", LabelInstallNamespace: "dev"}
	keptRole := obj(rbacV1, "Role", "ops", "check", mine)
	keptBinding := obj(rbacV1, "RoleBinding", "ops", "check", mine)
	objects := []runtime.Object{
		keptRole, keptBinding,
		// Rights an earlier version of the runbook needed in another namespace.
		obj(rbacV1, "Role", "web", "check", mine),
		obj(rbacV1, "RoleBinding", "web", "check", mine),
		obj(rbacV1, "ClusterRole", "", "runbook-job-ops-check", mine),
		obj(rbacV1, "ClusterRoleBinding", "", "runbook-job-ops-check", mine),
		// The secret vars of the earlier version.
		obj("v1", "Secret", "ops", "check-vars", mine),
		// Not pruned: another install's rights, an unlabelled Role, the
		// install's ConfigMap.
		obj(rbacV1, "Role", "web", "check-dev", theirs),
		obj(rbacV1, "Role", "web", "other", nil),
		obj("v1", "ConfigMap", "ops", "check", mine),
	}
	scheme := runtime.NewScheme()
	lists := map[schema.GroupVersionResource]string{
		rolesGVR: "RoleList", roleBindingsGVR: "RoleBindingList", clusterRolesGVR: "ClusterRoleList",
		clusterRoleBindingsGVR: "ClusterRoleBindingList", secretsGVR: "SecretList", configMapsGVR: "ConfigMapList",
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, lists, objects...)
	c := kube.NewClientsWith(nil, dyn, nil, "ops")

	pruned, err := Prune(context.Background(), c, "ops", "check", []*unstructured.Unstructured{keptRole, keptBinding})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	var got []string
	for _, d := range pruned {
		if d.Error != "" {
			t.Errorf("%s: %s", d, d.Error)
		}
		got = append(got, d.String())
	}
	sort.Strings(got)
	want := []string{
		"clusterrolebindings.rbac.authorization.k8s.io runbook-job-ops-check",
		"clusterroles.rbac.authorization.k8s.io runbook-job-ops-check",
		"rolebindings.rbac.authorization.k8s.io web/check",
		"roles.rbac.authorization.k8s.io web/check",
		"secrets ops/check-vars",
	}
	if len(got) != len(want) {
		t.Fatalf("pruned %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pruned %q, want %q", got, want)
			break
		}
	}
	left := func(gvr schema.GroupVersionResource, ns string) []string {
		t.Helper()
		var l *unstructured.UnstructuredList
		var err error
		if ns == "" {
			l, err = dyn.Resource(gvr).List(context.Background(), metav1.ListOptions{})
		} else {
			l, err = dyn.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range l.Items {
			names = append(names, objectName(u.GetNamespace(), u.GetName()))
		}
		sort.Strings(names)
		return names
	}
	if got := left(rolesGVR, ""); len(got) != 3 || got[0] != "ops/check" || got[1] != "web/check-dev" || got[2] != "web/other" {
		t.Errorf("Roles left %q, want ops/check, web/check-dev, web/other", got)
	}
	if got := left(roleBindingsGVR, ""); len(got) != 1 || got[0] != "ops/check" {
		t.Errorf("RoleBindings left %q, want ops/check", got)
	}
	if got := left(configMapsGVR, "ops"); len(got) != 1 {
		t.Errorf("ConfigMaps left %q, want the install's", got)
	}
	if got := left(secretsGVR, "ops"); len(got) != 0 {
		t.Errorf("Secrets left %q, want none", got)
	}
}
