package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestContainerPrivilegedReasons(t *testing.T) {
	unmasked := corev1.UnmaskedProcMount
	tests := []struct {
		name string
		sc   *corev1.SecurityContext
		want []string
	}{
		{name: "no security context"},
		{name: "restricted", sc: restrictedSC()},
		{name: "privileged false", sc: &corev1.SecurityContext{Privileged: ptr.To(false)}},
		{name: "SYS_PTRACE and baseline capabilities", sc: addCaps("SYS_PTRACE", "CHOWN", "NET_BIND_SERVICE", "KILL")},
		{
			name: "privileged",
			sc:   &corev1.SecurityContext{Privileged: ptr.To(true)},
			want: []string{"container debugger: privileged"},
		},
		{
			name: "netadmin",
			sc:   addCaps("NET_ADMIN", "NET_RAW"),
			want: []string{"container debugger: adds capability NET_ADMIN", "container debugger: adds capability NET_RAW"},
		},
		{
			name: "spellings and duplicates",
			sc:   addCaps("CAP_SYS_ADMIN", "sys_admin", "cap_chown", "ALL"),
			want: []string{"container debugger: adds capability CAP_SYS_ADMIN", "container debugger: adds capability ALL"},
		},
		{
			name: "everything, in a stable order",
			sc: &corev1.SecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
				ProcMount:      &unmasked,
				Capabilities:   &corev1.Capabilities{Add: []corev1.Capability{"SYS_MODULE"}},
				WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(true)},
				Privileged:     ptr.To(true),
			},
			want: []string{
				"container debugger: privileged",
				"container debugger: hostProcess",
				"container debugger: adds capability SYS_MODULE",
				"container debugger: procMount Unmasked",
				"container debugger: seccomp Unconfined",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ContainerPrivilegedReasons("debugger", tt.sc)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodPrivilegedReasons(t *testing.T) {
	build := func(t *testing.T, p *corev1.Pod, err error) *corev1.PodSpec {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return &p.Spec
	}
	node := func(p Profile) NodeOptions {
		return NodeOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Profile: p}, NodeName: "worker-0"}
	}
	hostAll := []string{"hostPID", "hostNetwork", "hostIPC", "hostPath volume host-root (/)"}
	tests := []struct {
		name string
		spec func(t *testing.T) *corev1.PodSpec
		want []string
	}{
		{name: "nil spec", spec: func(*testing.T) *corev1.PodSpec { return nil }},
		{name: "the seed's pod", spec: func(*testing.T) *corev1.PodSpec { return &noshellPod().Spec }},
		{
			name: "general node pod",
			spec: func(t *testing.T) *corev1.PodSpec { p, err := NodePod(node(ProfileGeneral)); return build(t, p, err) },
			want: hostAll,
		},
		{
			name: "baseline node pod",
			spec: func(t *testing.T) *corev1.PodSpec { p, err := NodePod(node(ProfileBaseline)); return build(t, p, err) },
		},
		{
			name: "sysadmin node pod",
			spec: func(t *testing.T) *corev1.PodSpec { p, err := NodePod(node(ProfileSysAdmin)); return build(t, p, err) },
			want: append(append([]string{}, hostAll...), "container debugger: privileged"),
		},
		{
			name: "netadmin copy",
			spec: func(t *testing.T) *corev1.PodSpec {
				p, err := PodCopy(noshellPod(), CopyOptions{DebugContainer: DebugContainer{Name: "debugger", Image: "busybox:1.36", Profile: ProfileNetAdmin}, To: "copy"})
				return build(t, p, err)
			},
			want: []string{"container debugger: adds capability NET_ADMIN", "container debugger: adds capability NET_RAW"},
		},
		{
			name: "every kind of item, in order",
			spec: func(*testing.T) *corev1.PodSpec {
				return &corev1.PodSpec{
					HostIPC:         true,
					SecurityContext: &corev1.PodSecurityContext{WindowsOptions: &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(true)}},
					Volumes: []corev1.Volume{
						{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					Containers: []corev1.Container{
						{Name: "web", Ports: []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 9090}}},
						{Name: "agent", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}},
					},
					InitContainers: []corev1.Container{{Name: "setup", SecurityContext: addCaps("SYS_ADMIN")}},
					EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
						Name: "debugger", SecurityContext: addCaps("NET_ADMIN"),
					}}},
				}
			},
			want: []string{
				"hostIPC",
				"hostProcess",
				"hostPath volume logs (/var/log)",
				"container setup: adds capability SYS_ADMIN",
				"container web: hostPort 8080",
				"container agent: privileged",
				"container debugger: adds capability NET_ADMIN",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodPrivilegedReasons(tt.spec(t))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}
