package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecretUses(t *testing.T) {
	ref := func(name, key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: "INIT_PW", ValueFrom: ref("db", "pw")}}}},
		Containers: []corev1.Container{{Name: "app",
			Env: []corev1.EnvVar{
				{Name: "DB_PASSWORD", ValueFrom: ref("db", "pw")},
				{Name: "PLAIN", Value: "x"},
				{Name: "FROM_CM", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
			},
			EnvFrom: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}}},
				{Prefix: "DB_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
			}}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg",
			Env: []corev1.EnvVar{{Name: "DBG_TOKEN", ValueFrom: ref("api", "token")}}}}},
		Volumes: []corev1.Volume{
			{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}},
			{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
			{Name: "empty", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}}
	want := []SecretUse{
		{Name: "api", Env: []string{"DBG_TOKEN"}, EnvFrom: true, EnvPrefixes: []string{""}, Volumes: []string{}},
		{Name: "db", Env: []string{"DB_PASSWORD", "INIT_PW"}, EnvFrom: true, EnvPrefixes: []string{"DB_"}, Volumes: []string{"all"}},
		{Name: "tls", Env: []string{}, EnvPrefixes: []string{}, Volumes: []string{"tls"}},
	}
	if diff := cmp.Diff(want, SecretUses(pod)); diff != "" {
		t.Errorf("SecretUses (-want +got):\n%s", diff)
	}
	if SecretUses(nil) != nil {
		t.Error("SecretUses(nil) is not nil")
	}
}

func TestSecretValues(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"b": []byte("two"), "a": []byte("one"), "e": nil}, StringData: map[string]string{"c": "three"}}
	if diff := cmp.Diff([]string{"one", "three", "two"}, SecretValues(s)); diff != "" {
		t.Errorf("SecretValues (-want +got):\n%s", diff)
	}
}

// TestRulesForSecretNames checks that rules on Secrets are limited to the
// names read, per verb, and that a verb with a call of unknown name, or one
// resourceNames cannot limit, gets the rule without names.
func TestRulesForSecretNames(t *testing.T) {
	calls := []Call{
		{Verb: "get", Version: "v1", Resource: "secrets", Namespace: "d", Name: "db"},
		{Verb: "get", Version: "v1", Resource: "secrets", Namespace: "d", Name: "api"},
		{Verb: "delete", Version: "v1", Resource: "secrets", Namespace: "d", Name: "made"},
		{Verb: "create", Version: "v1", Resource: "secrets", Namespace: "d", Name: "made"},
		{Verb: "get", Version: "v1", Resource: "pods", Namespace: "d", Name: "web"},
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"api", "db"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"delete"}, ResourceNames: []string{"made"}},
	}
	if diff := cmp.Diff(want, RulesFor(calls)); diff != "" {
		t.Errorf("RulesFor (-want +got):\n%s", diff)
	}
	calls = append(calls, Call{Verb: "get", Version: "v1", Resource: "secrets", Namespace: "d", Name: "<steps.x.name>"})
	want = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create", "get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"delete"}, ResourceNames: []string{"made"}},
	}
	if diff := cmp.Diff(want, RulesFor(calls)); diff != "" {
		t.Errorf("RulesFor with an unknown name (-want +got):\n%s", diff)
	}
}
