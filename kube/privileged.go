package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What counts as privileged: anything the Pod Security "baseline" standard
// forbids because it reaches the node or other workloads — privileged
// containers, Windows host processes, host namespaces, hostPath volumes, host
// ports, added capabilities outside the baseline set, unmasked /proc and
// unconfined seccomp — with one deliberate exception: SYS_PTRACE.
//
// SYS_PTRACE is what kubectl's default (general) profile adds so that a debug
// container can trace the processes it shares a PID namespace with, which is
// the point of --target and --share-processes; it gives no access beyond the
// pod. Counting it would make every default debug step need allowPrivileged.
// A namespace that enforces Pod Security baseline still rejects it; use the
// baseline profile there.

// baselineCapabilities are the capabilities Pod Security baseline lets a
// container add, plus SYS_PTRACE (see above).
var baselineCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
	"SYS_PTRACE",
}

// PodPrivilegedReasons lists, in a stable order, why spec is privileged: first
// the pod's own settings ("hostPID", "hostNetwork", "hostIPC", "hostProcess",
// "hostPath volume host-root (/)"), then each init container, container and
// ephemeral container in order (see ContainerPrivilegedReasons, plus
// "container app: hostPort 80"). Empty means not privileged. The list is meant
// for people: a plan flags these items and a run refuses them without
// allowPrivileged.
func PodPrivilegedReasons(spec *corev1.PodSpec) []string {
	if spec == nil {
		return nil
	}
	var reasons []string
	if spec.HostPID {
		reasons = append(reasons, "hostPID")
	}
	if spec.HostNetwork {
		reasons = append(reasons, "hostNetwork")
	}
	if spec.HostIPC {
		reasons = append(reasons, "hostIPC")
	}
	if sc := spec.SecurityContext; sc != nil && sc.WindowsOptions != nil && ptrTrue(sc.WindowsOptions.HostProcess) {
		reasons = append(reasons, "hostProcess")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			reasons = append(reasons, fmt.Sprintf("hostPath volume %s (%s)", v.Name, v.HostPath.Path))
		}
	}
	containers := func(cs []corev1.Container) {
		for i := range cs {
			reasons = append(reasons, ContainerPrivilegedReasons(cs[i].Name, cs[i].SecurityContext)...)
			for _, p := range cs[i].Ports {
				if p.HostPort != 0 {
					reasons = append(reasons, fmt.Sprintf("container %s: hostPort %d", cs[i].Name, p.HostPort))
				}
			}
		}
	}
	containers(spec.InitContainers)
	containers(spec.Containers)
	for i := range spec.EphemeralContainers {
		ec := &spec.EphemeralContainers[i]
		reasons = append(reasons, ContainerPrivilegedReasons(ec.Name, ec.SecurityContext)...)
	}
	return reasons
}

// ContainerPrivilegedReasons lists, in a stable order, why a container named
// name with security context sc is privileged: "container NAME: privileged",
// "container NAME: hostProcess", "container NAME: adds capability NET_ADMIN"
// (one per capability outside the baseline set plus SYS_PTRACE, in the order
// given, "CAP_" prefix and case ignored), "container NAME: procMount Unmasked",
// "container NAME: seccomp Unconfined". Empty means not privileged.
func ContainerPrivilegedReasons(name string, sc *corev1.SecurityContext) []string {
	if sc == nil {
		return nil
	}
	prefix := "container " + name + ": "
	var reasons []string
	if ptrTrue(sc.Privileged) {
		reasons = append(reasons, prefix+"privileged")
	}
	if sc.WindowsOptions != nil && ptrTrue(sc.WindowsOptions.HostProcess) {
		reasons = append(reasons, prefix+"hostProcess")
	}
	if sc.Capabilities != nil {
		var seen []string
		for _, c := range sc.Capabilities.Add {
			norm := strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_")
			if slices.Contains(baselineCapabilities, norm) || slices.Contains(seen, norm) {
				continue
			}
			seen = append(seen, norm)
			reasons = append(reasons, prefix+"adds capability "+string(c))
		}
	}
	if sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
		reasons = append(reasons, prefix+"procMount Unmasked")
	}
	if sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
		reasons = append(reasons, prefix+"seccomp Unconfined")
	}
	return reasons
}

// ptrTrue reports whether b is set and true.
func ptrTrue(b *bool) bool { return b != nil && *b }
