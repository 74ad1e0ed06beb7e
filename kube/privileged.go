package kube

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What counts as privileged: anything the Pod Security "baseline" standard
// (as of Kubernetes v1.37, k8s.io/pod-security-admission's baseline checks)
// forbids because it reaches the node or other workloads — privileged
// containers, Windows host processes, host namespaces, hostPath volumes, host
// ports, added capabilities outside the baseline set, a /proc mount other than
// Default, seccomp or AppArmor profiles other than RuntimeDefault and
// Localhost (also the AppArmor beta annotation), SELinux types outside the
// container ones or any SELinux user or role, sysctls outside the safe set,
// and probes or lifecycle hooks aimed at another host — with one deliberate
// exception: SYS_PTRACE.
//
// SYS_PTRACE is what kubectl's default (general) profile adds so that a debug
// container can trace the processes it shares a PID namespace with, which is
// the point of --target and --share-processes; it gives no access beyond the
// pod. Counting it would make every default debug step need allowPrivileged.
// A namespace that enforces Pod Security baseline still rejects it; use the
// baseline profile there.
//
// Where baseline's rules changed between versions, the newest is used (the
// safe sysctls, container_engine_t), except that a /proc mount other than
// Default is privileged even in a user namespace (hostUsers: false), which
// baseline allows since v1.35: runbook errs on the side of asking.

// baselineCapabilities are the capabilities Pod Security baseline lets a
// container add, plus SYS_PTRACE (see above).
var baselineCapabilities = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
	"SYS_PTRACE",
}

// baselineSysctls are the sysctls Pod Security baseline lets a pod set: the
// namespaced ones isolated from other pods (v1.37's list).
var baselineSysctls = []string{
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_notsent_lowat",
}

// baselineSELinuxTypes are the SELinux types Pod Security baseline allows.
var baselineSELinuxTypes = []string{"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

// PodPrivilegedReasons lists, in a stable order, why spec is privileged: first
// the pod's own settings ("hostPID", "hostNetwork", "hostIPC", "hostProcess",
// "seccomp Unconfined", "AppArmor Unconfined", "SELinux type spc_t",
// "SELinux user system_u", "SELinux role system_r", "sysctl kernel.core_pattern",
// "hostPath volume host-root (/)"), then each init container, container and
// ephemeral container in order (see ContainerPrivilegedReasons, plus
// "container app: hostPort 80" and "container app: livenessProbe host 10.0.0.1").
// Empty means not privileged. The list is meant for people: a plan flags these
// items and a run refuses them without allowPrivileged.
//
// The AppArmor beta annotations live in the pod's metadata, not its spec: see
// PodAnnotationsPrivilegedReasons.
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
	if sc := spec.SecurityContext; sc != nil {
		if sc.WindowsOptions != nil && ptrTrue(sc.WindowsOptions.HostProcess) {
			reasons = append(reasons, "hostProcess")
		}
		reasons = append(reasons, profileReasons("", sc.SeccompProfile, sc.AppArmorProfile, sc.SELinuxOptions)...)
		for _, s := range sc.Sysctls {
			if !slices.Contains(baselineSysctls, s.Name) {
				reasons = append(reasons, "sysctl "+orEmpty(s.Name))
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			reasons = append(reasons, fmt.Sprintf("hostPath volume %s (%s)", v.Name, v.HostPath.Path))
		}
	}
	container := func(c *corev1.Container) {
		prefix := "container " + c.Name + ": "
		reasons = append(reasons, ContainerPrivilegedReasons(c.Name, c.SecurityContext)...)
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				reasons = append(reasons, fmt.Sprintf("%shostPort %d", prefix, p.HostPort))
			}
		}
		reasons = append(reasons, hostReasons(prefix, c)...)
	}
	for i := range spec.InitContainers {
		container(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		container(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		container((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	return reasons
}

// ContainerPrivilegedReasons lists, in a stable order, why a container named
// name with security context sc is privileged: "container NAME: privileged",
// "container NAME: hostProcess", "container NAME: adds capability NET_ADMIN"
// (one per capability outside the baseline set plus SYS_PTRACE, in the order
// given, "CAP_" prefix and case ignored), "container NAME: procMount Unmasked",
// "container NAME: seccomp Unconfined", "container NAME: AppArmor Unconfined",
// "container NAME: SELinux type spc_t" (then "user", "role": any value).
// Empty means not privileged.
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
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		reasons = append(reasons, prefix+"procMount "+orEmpty(string(*sc.ProcMount)))
	}
	reasons = append(reasons, profileReasons(prefix, sc.SeccompProfile, sc.AppArmorProfile, sc.SELinuxOptions)...)
	return reasons
}

// PodObjectPrivilegedReasons lists why a pod (or a workload's pod template)
// is privileged: PodPrivilegedReasons of its spec, then
// PodAnnotationsPrivilegedReasons of its annotations.
func PodObjectPrivilegedReasons(spec *corev1.PodSpec, annotations map[string]string) []string {
	return append(PodPrivilegedReasons(spec), PodAnnotationsPrivilegedReasons(annotations)...)
}

// PodAnnotationsPrivilegedReasons lists, sorted, why the annotations of a pod
// (or of a pod template) make it privileged: the AppArmor beta annotation
// container.apparmor.security.beta.kubernetes.io/NAME with a value other than
// runtime/default or localhost/..., "container NAME: AppArmor annotation
// unconfined". The API server copies it into the container's appArmorProfile,
// so it is as privileged as "container NAME: AppArmor Unconfined". Empty means
// not privileged.
func PodAnnotationsPrivilegedReasons(annotations map[string]string) []string {
	var reasons []string
	for k, v := range annotations {
		name, ok := strings.CutPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
		if !ok || v == "" || v == corev1.DeprecatedAppArmorBetaProfileRuntimeDefault ||
			strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
			continue
		}
		reasons = append(reasons, "container "+name+": AppArmor annotation "+v)
	}
	sort.Strings(reasons)
	return reasons
}

// profileReasons lists the seccomp, AppArmor and SELinux settings that
// baseline forbids, each behind prefix: seccomp and AppArmor types other than
// RuntimeDefault and Localhost, SELinux types outside baselineSELinuxTypes
// and any SELinux user or role.
func profileReasons(prefix string, seccomp *corev1.SeccompProfile, appArmor *corev1.AppArmorProfile, seLinux *corev1.SELinuxOptions) []string {
	var reasons []string
	if seccomp != nil && seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost {
		reasons = append(reasons, prefix+"seccomp "+orEmpty(string(seccomp.Type)))
	}
	if appArmor != nil && appArmor.Type != corev1.AppArmorProfileTypeRuntimeDefault && appArmor.Type != corev1.AppArmorProfileTypeLocalhost {
		reasons = append(reasons, prefix+"AppArmor "+orEmpty(string(appArmor.Type)))
	}
	if seLinux != nil {
		if !slices.Contains(baselineSELinuxTypes, seLinux.Type) {
			reasons = append(reasons, prefix+"SELinux type "+seLinux.Type)
		}
		if seLinux.User != "" {
			reasons = append(reasons, prefix+"SELinux user "+seLinux.User)
		}
		if seLinux.Role != "" {
			reasons = append(reasons, prefix+"SELinux role "+seLinux.Role)
		}
	}
	return reasons
}

// hostReasons lists, each behind prefix, the probes and lifecycle hooks of c
// that the kubelet would aim at another host (httpGet or tcpSocket with a
// host): "livenessProbe host 10.0.0.1", in the order liveness, readiness,
// startup, postStart, preStop.
func hostReasons(prefix string, c *corev1.Container) []string {
	var reasons []string
	check := func(what string, http *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction) {
		if http != nil && http.Host != "" {
			reasons = append(reasons, prefix+what+" host "+http.Host)
		}
		if tcp != nil && tcp.Host != "" {
			reasons = append(reasons, prefix+what+" host "+tcp.Host)
		}
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if p.probe != nil {
			check(p.what, p.probe.HTTPGet, p.probe.TCPSocket)
		}
	}
	if c.Lifecycle != nil {
		if h := c.Lifecycle.PostStart; h != nil {
			check("postStart", h.HTTPGet, h.TCPSocket)
		}
		if h := c.Lifecycle.PreStop; h != nil {
			check("preStop", h.HTTPGet, h.TCPSocket)
		}
	}
	return reasons
}

// orEmpty returns s, or `""` when s is empty, so a reason never ends in a blank.
func orEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// ptrTrue reports whether b is set and true.
func ptrTrue(b *bool) bool { return b != nil && *b }
