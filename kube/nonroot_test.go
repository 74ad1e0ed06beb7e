package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// TestNonRootWarning follows kubectl debug's displayWarning: a pod-wide non-root user and
// a debugger granted capabilities that it does not run as root warn; anything else does not.
func TestNonRootWarning(t *testing.T) {
	pod := func(uid *int64) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsUser: uid}}}
	}
	ptrace := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE"}}}
	for _, tt := range []struct {
		name string
		c    *corev1.Container
		pod  *corev1.Pod
		warn bool
	}{
		{"non-root pod, general profile", &corev1.Container{SecurityContext: ptrace}, pod(ptr.To[int64](65535)), true},
		{"non-root pod, sysadmin", &corev1.Container{SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}, pod(ptr.To[int64](1000)), true},
		{"debugger as root", &corev1.Container{SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0),
			Capabilities: ptrace.Capabilities}}, pod(ptr.To[int64](1000)), false},
		{"root pod", &corev1.Container{SecurityContext: ptrace}, pod(ptr.To[int64](0)), false},
		{"no user", &corev1.Container{SecurityContext: ptrace}, pod(nil), false},
		{"no security context", &corev1.Container{SecurityContext: ptrace}, &corev1.Pod{}, false},
		{"nothing granted", &corev1.Container{SecurityContext: &corev1.SecurityContext{}}, pod(ptr.To[int64](1000)), false},
	} {
		if got := NonRootWarning(tt.c, tt.pod) != ""; got != tt.warn {
			t.Errorf("%s: warns %v, want %v", tt.name, got, tt.warn)
		}
	}
}
