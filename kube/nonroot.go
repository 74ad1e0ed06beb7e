package kube

import corev1 "k8s.io/api/core/v1"

// NonRootWarning is kubectl debug's warning (#1650) for a debug container
// whose profile grants capabilities (or privilege) in a pod that runs as a
// non-root user for all its containers: the container inherits that user,
// and a non-root process has none of its capabilities (CapEff is 0), so
// ptrace or NET_ADMIN silently do nothing. "" when it does not apply: the
// pod runs as root (or says nothing), the container sets its own user to
// root, or it is granted nothing.
func NonRootWarning(c *corev1.Container, pod *corev1.Pod) string {
	if c == nil || pod == nil || pod.Spec.SecurityContext == nil {
		return ""
	}
	if u := pod.Spec.SecurityContext.RunAsUser; u == nil || *u == 0 {
		return ""
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		return ""
	}
	if (sc.Privileged == nil || !*sc.Privileged) && (sc.Capabilities == nil || len(sc.Capabilities.Add) == 0) {
		return ""
	}
	return `a non-root user is configured for the entire target pod, and the capabilities the debug profile grants may not work (as kubectl debug warns): give the debugger custom: {securityContext: {runAsUser: 0}}`
}

// RootConflict says why the kubelet would refuse to start the container
// dc builds in mode m: runAsNonRoot (the restricted profile's, or set in
// custom) with runAsUser 0 set in custom, which the kubelet reports as
// CreateContainerConfigError ("container's runAsUser breaks non-root
// policy") and never starts; "" when it would start. The objects are built
// as a run builds them, around a plain pod.
func RootConflict(dc DebugContainer, m Mode) string {
	sc, _, _ := sampleObjects(dc, m)
	if sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		return "runAsNonRoot with runAsUser 0: the kubelet would refuse to start the container (its runAsUser breaks the non-root policy); drop one of them (the restricted profile sets runAsNonRoot)"
	}
	return ""
}
