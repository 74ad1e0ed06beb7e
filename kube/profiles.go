package kube

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Profile names a set of defaults applied to a debug container and the pod that
// holds it, with the meaning kubectl debug --profile gives it in each mode
// (kubectl v1.33, the release matching this module's client-go). The empty
// Profile means ProfileGeneral, kubectl's default.
type Profile string

// The profiles of kubectl debug. What each does per mode:
//
//	profile     ephemeral              copy (besides clearing, see PodCopy)            node
//	legacy      nothing                labels removed even with KeepLabels             host namespaces, host / at /host
//	general     adds SYS_PTRACE        adds SYS_PTRACE, keep-* switches, shares PIDs   host namespaces, host / at /host, no securityContext
//	baseline    no securityContext     no securityContext, keep-* switches, shares PIDs no securityContext (no host access)
//	restricted  restricted context     restricted context, keep-* switches, shares PIDs restricted context (no host access)
//	netadmin    adds NET_ADMIN,NET_RAW adds NET_ADMIN,NET_RAW, keep-*, shares PIDs      adds NET_ADMIN,NET_RAW, host namespaces
//	sysadmin    privileged             privileged, keep-* switches, shares PIDs        privileged, host namespaces, host / at /host
//
// "restricted context" is runAsNonRoot: true, capabilities drop [ALL] (and no
// add), allowPrivilegeEscalation: false, seccompProfile RuntimeDefault.
// "shares PIDs" sets shareProcessNamespace: true unless the pod already says
// otherwise. In ephemeral mode no profile changes the target pod itself.
const (
	// ProfileLegacy is kubectl's pre-1.25 behaviour, deprecated there.
	ProfileLegacy Profile = "legacy"
	// ProfileGeneral is the default: reasonable defaults for each mode.
	ProfileGeneral Profile = "general"
	// ProfileBaseline is general without what the Pod Security baseline
	// standard forbids (host namespaces, host volumes, SYS_PTRACE).
	ProfileBaseline Profile = "baseline"
	// ProfileRestricted is baseline plus what the Pod Security restricted
	// standard requires (non-root, no capabilities, no privilege escalation,
	// RuntimeDefault seccomp).
	ProfileRestricted Profile = "restricted"
	// ProfileNetAdmin adds NET_ADMIN and NET_RAW for network debugging.
	ProfileNetAdmin Profile = "netadmin"
	// ProfileSysAdmin makes the debug container privileged.
	ProfileSysAdmin Profile = "sysadmin"
)

// Profiles returns every profile, sorted by name, for help text and the
// enumerations of the JSON Schema.
func Profiles() []Profile {
	return []Profile{ProfileBaseline, ProfileGeneral, ProfileLegacy, ProfileNetAdmin, ProfileRestricted, ProfileSysAdmin}
}

// ParseProfile returns the profile named s; "" means ProfileGeneral. Names are
// matched exactly, as kubectl does.
func ParseProfile(s string) (Profile, error) {
	if s == "" {
		return ProfileGeneral, nil
	}
	if p := Profile(s); slices.Contains(Profiles(), p) {
		return p, nil
	}
	names := make([]string, 0, len(Profiles()))
	for _, p := range Profiles() {
		names = append(names, string(p))
	}
	return "", fmt.Errorf("unknown profile %q (valid profiles: %s)", s, strings.Join(names, ", "))
}

// Mode is one of the three ways of debugging: an ephemeral container added to a
// running pod, a copy of a pod, or a pod on a node.
type Mode string

// The debug modes.
const (
	// ModeEphemeral adds an ephemeral container to a running pod (kubectl debug POD --image).
	ModeEphemeral Mode = "ephemeral"
	// ModeCopy creates a modified copy of a pod (kubectl debug POD --copy-to).
	ModeCopy Mode = "copy"
	// ModeNode creates a pod on a node in its host namespaces (kubectl debug node/NODE).
	ModeNode Mode = "node"
)

// ProfileNeedsPrivilege reports whether profile p makes the debug container or
// pod privileged (see PodPrivilegedReasons) in mode m, for the loader's
// allowPrivileged check. It is derived from the builders themselves, so it
// cannot drift from them: true for legacy/general/netadmin/sysadmin node pods,
// netadmin and sysadmin in every mode, false otherwise. An unknown profile or
// mode reports true, so a mistake fails closed. The empty profile is general.
//
// A node step always runs on the host; whether it needs allowPrivileged even
// with baseline or restricted (which give no host access) is the loader's call.
func ProfileNeedsPrivilege(p Profile, m Mode) bool {
	if p == "" {
		p = ProfileGeneral
	}
	needs, ok := profilePrivileges()[p][m]
	return !ok || needs
}

// profilePrivileges computes ProfileNeedsPrivilege's table once by building
// each mode's objects with each profile and looking for privileged items.
var profilePrivileges = sync.OnceValue(func() map[Profile]map[Mode]bool {
	table := map[Profile]map[Mode]bool{}
	for _, p := range Profiles() {
		dc := DebugContainer{Name: "debugger", Image: "busybox", Profile: p}
		row := map[Mode]bool{}
		if sc, _, ok := sampleObjects(dc, ModeEphemeral); ok {
			row[ModeEphemeral] = len(ContainerPrivilegedReasons(dc.Name, sc)) > 0
		}
		for _, m := range []Mode{ModeCopy, ModeNode} {
			if _, spec, ok := sampleObjects(dc, m); ok {
				row[m] = len(PodPrivilegedReasons(spec)) > 0
			}
		}
		table[p] = row
	}
	return table
})

// sampleObjects builds what dc makes in mode m, as a run builds it, around
// a plain pod: the debug container's security context and, for a copy or a
// node pod, the pod's spec; ok is false when it cannot be built.
func sampleObjects(dc DebugContainer, m Mode) (sc *corev1.SecurityContext, spec *corev1.PodSpec, ok bool) {
	switch m {
	case ModeEphemeral:
		ec, err := EphemeralContainer(nil, EphemeralOptions{DebugContainer: dc})
		if err != nil {
			return nil, nil, false
		}
		return ec.SecurityContext, nil, true
	case ModeCopy:
		plain := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
		cp, err := PodCopy(plain, CopyOptions{DebugContainer: dc, To: "copy"})
		if err != nil {
			return nil, nil, false
		}
		for _, c := range cp.Spec.Containers {
			if c.Name == dc.Name {
				sc = c.SecurityContext
			}
		}
		return sc, &cp.Spec, true
	case ModeNode:
		np, err := NodePod(NodeOptions{DebugContainer: dc, NodeName: "node"})
		if err != nil || len(np.Spec.Containers) == 0 {
			return nil, nil, false
		}
		return np.Spec.Containers[0].SecurityContext, &np.Spec, true
	}
	return nil, nil, false
}

// keepFlags says which parts of the original pod a copy keeps (kubectl's
// --keep-* flags); the profiles other than legacy remove the rest.
type keepFlags struct {
	labels, annotations, liveness, readiness, startup, initContainers bool
}

// applyProfile applies profile p to pod for mode m, where container names the
// debug container (in spec.containers, spec.initContainers or
// spec.ephemeralContainers; a name found nowhere leaves containers alone and
// still applies the pod-level changes).
func applyProfile(pod *corev1.Pod, container string, p Profile, m Mode, keep keepFlags) error {
	switch m {
	case ModeEphemeral, ModeCopy, ModeNode:
	default:
		return fmt.Errorf("unknown debug mode %q", m)
	}
	sc := debugSecurityContext(&pod.Spec, container)

	switch p {
	case ProfileLegacy:
		switch m {
		case ModeNode:
			mountHostRoot(pod, container)
			useHostNamespaces(pod)
		case ModeCopy:
			pod.Labels = nil // only the labels, whatever the keep flags say
		}

	case ProfileGeneral:
		switch m {
		case ModeNode:
			mountHostRoot(pod, container)
			clearSecurityContext(sc)
			useHostNamespaces(pod)
		case ModeCopy:
			keep.removeFrom(pod)
			addCapabilities(sc, "SYS_PTRACE")
			shareProcessNamespace(pod)
		case ModeEphemeral:
			addCapabilities(sc, "SYS_PTRACE")
		}

	case ProfileBaseline:
		clearSecurityContext(sc)
		if m == ModeCopy {
			keep.removeFrom(pod)
			shareProcessNamespace(pod)
		}

	case ProfileRestricted:
		clearSecurityContext(sc)
		restrictSecurityContext(sc)
		if m == ModeCopy {
			keep.removeFrom(pod)
			shareProcessNamespace(pod)
		}

	case ProfileNetAdmin:
		addCapabilities(sc, "NET_ADMIN", "NET_RAW")
		switch m {
		case ModeNode:
			useHostNamespaces(pod)
		case ModeCopy:
			keep.removeFrom(pod)
			shareProcessNamespace(pod)
		}

	case ProfileSysAdmin:
		setPrivileged(sc)
		switch m {
		case ModeNode:
			useHostNamespaces(pod)
			mountHostRoot(pod, container)
		case ModeCopy:
			keep.removeFrom(pod)
			shareProcessNamespace(pod)
		}

	default:
		_, err := ParseProfile(string(p))
		return err
	}
	return nil
}

// removeFrom removes from a pod copy what the keep flags do not keep.
func (k keepFlags) removeFrom(pod *corev1.Pod) {
	if !k.labels {
		pod.Labels = nil
	}
	if !k.annotations {
		pod.Annotations = nil
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if !k.liveness {
			c.LivenessProbe = nil
		}
		if !k.readiness {
			c.ReadinessProbe = nil
		}
		if !k.startup {
			c.StartupProbe = nil
		}
	}
	if !k.initContainers {
		pod.Spec.InitContainers = nil
	}
}

// debugSecurityContext returns where the named container keeps its security
// context, looking at containers, init containers and ephemeral containers, or
// nil when no container has that name.
func debugSecurityContext(spec *corev1.PodSpec, name string) **corev1.SecurityContext {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i].SecurityContext
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == name {
			return &spec.InitContainers[i].SecurityContext
		}
	}
	for i := range spec.EphemeralContainers {
		if spec.EphemeralContainers[i].Name == name {
			return &spec.EphemeralContainers[i].SecurityContext
		}
	}
	return nil
}

// ensureSecurityContext returns the security context *sc, creating it if needed.
func ensureSecurityContext(sc **corev1.SecurityContext) *corev1.SecurityContext {
	if *sc == nil {
		*sc = &corev1.SecurityContext{}
	}
	return *sc
}

// clearSecurityContext removes the debug container's security context.
func clearSecurityContext(sc **corev1.SecurityContext) {
	if sc != nil {
		*sc = nil
	}
}

// restrictSecurityContext makes the debug container meet the Pod Security
// restricted standard: non-root, all capabilities dropped and none added, no
// privilege escalation, RuntimeDefault seccomp.
func restrictSecurityContext(sc **corev1.SecurityContext) {
	if sc == nil {
		return
	}
	s := ensureSecurityContext(sc)
	s.RunAsNonRoot = ptr.To(true)
	if s.Capabilities == nil {
		s.Capabilities = &corev1.Capabilities{}
	}
	s.Capabilities.Drop = []corev1.Capability{"ALL"}
	s.Capabilities.Add = nil
	s.AllowPrivilegeEscalation = ptr.To(false)
	s.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
}

// addCapabilities appends capabilities to the debug container's added ones.
func addCapabilities(sc **corev1.SecurityContext, caps ...corev1.Capability) {
	if sc == nil {
		return
	}
	s := ensureSecurityContext(sc)
	if s.Capabilities == nil {
		s.Capabilities = &corev1.Capabilities{}
	}
	s.Capabilities.Add = append(s.Capabilities.Add, caps...)
}

// setPrivileged makes the debug container privileged.
func setPrivileged(sc **corev1.SecurityContext) {
	if sc == nil {
		return
	}
	ensureSecurityContext(sc).Privileged = ptr.To(true)
}

// hostRootVolume is the name of the hostPath volume holding the node's "/".
const hostRootVolume = "host-root"

// mountHostRoot adds a hostPath volume of the node's "/" and mounts it at
// /host in the named container of spec.containers.
func mountHostRoot(pod *corev1.Pod, container string) {
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name:         hostRootVolume,
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
	})
	for i := range pod.Spec.Containers {
		if c := &pod.Spec.Containers[i]; c.Name == container {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: hostRootVolume, MountPath: "/host"})
			return
		}
	}
}

// useHostNamespaces puts the pod in the node's network, PID and IPC namespaces.
func useHostNamespaces(pod *corev1.Pod) {
	pod.Spec.HostNetwork = true
	pod.Spec.HostPID = true
	pod.Spec.HostIPC = true
}

// shareProcessNamespace makes the pod's containers share one PID namespace,
// unless the pod already sets shareProcessNamespace either way.
func shareProcessNamespace(pod *corev1.Pod) {
	if pod.Spec.ShareProcessNamespace == nil {
		pod.Spec.ShareProcessNamespace = ptr.To(true)
	}
}
