package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// The rest of Pod Security baseline beyond privileged_test.go: seccomp,
// AppArmor and SELinux at pod and container level, sysctls, /proc mounts,
// probe and lifecycle hosts, and the AppArmor beta annotation.

func TestContainerPrivilegedReasonsBaseline(t *testing.T) {
	procMount := func(p corev1.ProcMountType) *corev1.ProcMountType { return &p }
	tests := []struct {
		name string
		sc   *corev1.SecurityContext
		want []string
	}{
		{
			name: "AppArmor Unconfined",
			sc:   &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}},
			want: []string{"container debugger: AppArmor Unconfined"},
		},
		{
			name: "SELinux type spc_t",
			sc:   &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"}},
			want: []string{"container debugger: SELinux type spc_t"},
		},
		{
			name: "SELinux user and role, allowed type",
			sc:   &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "container_t", User: "system_u", Role: "system_r", Level: "s0"}},
			want: []string{"container debugger: SELinux user system_u", "container debugger: SELinux role system_r"},
		},
		{
			name: "seccomp without a type",
			sc:   &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{}},
			want: []string{`container debugger: seccomp ""`},
		},
		{
			name: "procMount other than Default",
			sc:   &corev1.SecurityContext{ProcMount: procMount("Bogus")},
			want: []string{"container debugger: procMount Bogus"},
		},
		{
			name: "seccomp, AppArmor and SELinux, in a stable order",
			sc: &corev1.SecurityContext{
				SELinuxOptions:  &corev1.SELinuxOptions{Type: "unconfined_t", Role: "sysadm_r"},
				AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
				SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
				ProcMount:       procMount(corev1.UnmaskedProcMount),
			},
			want: []string{
				"container debugger: procMount Unmasked",
				"container debugger: seccomp Unconfined",
				"container debugger: AppArmor Unconfined",
				"container debugger: SELinux type unconfined_t",
				"container debugger: SELinux role sysadm_r",
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

func TestPodPrivilegedReasonsBaseline(t *testing.T) {
	app := func(c corev1.Container) []corev1.Container {
		c.Name = "app"
		return []corev1.Container{c}
	}
	tests := []struct {
		name string
		spec *corev1.PodSpec
		want []string
	}{
		{
			name: "the tester's pod: seccomp, SELinux and AppArmor at pod level",
			spec: &corev1.PodSpec{
				SecurityContext: &corev1.PodSecurityContext{
					SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined},
					SELinuxOptions:  &corev1.SELinuxOptions{Type: "spc_t"},
					AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
				},
				Containers: []corev1.Container{{Name: "a", Image: "busybox"}},
			},
			want: []string{"seccomp Unconfined", "AppArmor Unconfined", "SELinux type spc_t"},
		},
		{
			name: "pod SELinux user and role",
			spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SELinuxOptions: &corev1.SELinuxOptions{User: "system_u", Role: "system_r"}}},
			want: []string{"SELinux user system_u", "SELinux role system_r"},
		},
		{
			name: "unsafe sysctls among safe ones",
			spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
				{Name: "net.ipv4.tcp_syncookies", Value: "1"},
				{Name: "kernel.core_pattern", Value: "|/tmp/x"},
				{Name: "net.core.somaxconn", Value: "1024"},
				{Name: "net/ipv4/tcp_syncookies", Value: "1"}, // baseline compares names as written
			}}},
			want: []string{"sysctl kernel.core_pattern", "sysctl net.core.somaxconn", "sysctl net/ipv4/tcp_syncookies"},
		},
		{
			name: "probe hosts",
			spec: &corev1.PodSpec{Containers: app(corev1.Container{
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "169.254.169.254"}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "10.0.0.1"}}},
				StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}},
			})},
			want: []string{"container app: livenessProbe host 169.254.169.254", "container app: readinessProbe host 10.0.0.1"},
		},
		{
			name: "lifecycle hosts",
			spec: &corev1.PodSpec{Containers: app(corev1.Container{Lifecycle: &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: "kubernetes.default"}},
				PreStop:   &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Host: "localhost"}},
			}})},
			want: []string{"container app: postStart host kubernetes.default", "container app: preStop host localhost"},
		},
		{
			name: "init, regular and ephemeral containers, in order",
			spec: &corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "setup", SecurityContext: &corev1.SecurityContext{
					SELinuxOptions: &corev1.SELinuxOptions{Type: "spc_t"},
				}}},
				Containers: []corev1.Container{{Name: "web", SecurityContext: &corev1.SecurityContext{
					AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined},
				}}},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name:            "debugger",
					SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}},
					Ports:           []corev1.ContainerPort{{ContainerPort: 22, HostPort: 2222}},
				}}},
			},
			want: []string{
				"container setup: SELinux type spc_t",
				"container web: AppArmor Unconfined",
				"container debugger: seccomp Unconfined",
				"container debugger: hostPort 2222",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodPrivilegedReasons(tt.spec)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodAnnotationsPrivilegedReasons(t *testing.T) {
	const prefix = "container.apparmor.security.beta.kubernetes.io/"
	tests := []struct {
		name        string
		annotations map[string]string
		want        []string
	}{
		{name: "none"},
		{name: "unrelated", annotations: map[string]string{"app": "unconfined", "seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}},
		{name: "runtime/default", annotations: map[string]string{prefix + "app": "runtime/default"}},
		{name: "localhost profile", annotations: map[string]string{prefix + "app": "localhost/k8s-nginx"}},
		{name: "empty", annotations: map[string]string{prefix + "app": ""}},
		{
			name:        "unconfined",
			annotations: map[string]string{prefix + "app": "unconfined"},
			want:        []string{"container app: AppArmor annotation unconfined"},
		},
		{
			name:        "any other value, sorted",
			annotations: map[string]string{prefix + "web": "unconfined", prefix + "app": "bogus", prefix + "sidecar": "runtime/default"},
			want:        []string{"container app: AppArmor annotation bogus", "container web: AppArmor annotation unconfined"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PodAnnotationsPrivilegedReasons(tt.annotations)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPrivilegedBaselineAllows checks that the values baseline allows are not
// flagged, at pod level and in every kind of container.
func TestPrivilegedBaselineAllows(t *testing.T) {
	localhost := "profiles/audit.json"
	safeSC := func(seccomp corev1.SeccompProfileType, appArmor corev1.AppArmorProfileType, seLinuxType string) *corev1.SecurityContext {
		def := corev1.DefaultProcMount
		sc := &corev1.SecurityContext{
			SeccompProfile:  &corev1.SeccompProfile{Type: seccomp},
			AppArmorProfile: &corev1.AppArmorProfile{Type: appArmor},
			SELinuxOptions:  &corev1.SELinuxOptions{Type: seLinuxType, Level: "s0:c123,c456"},
			ProcMount:       &def,
		}
		if seccomp == corev1.SeccompProfileTypeLocalhost {
			sc.SeccompProfile.LocalhostProfile = &localhost
		}
		if appArmor == corev1.AppArmorProfileTypeLocalhost {
			sc.AppArmorProfile.LocalhostProfile = &localhost
		}
		return sc
	}
	tests := []struct {
		name string
		spec *corev1.PodSpec
	}{
		{name: "seccomp RuntimeDefault", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}}},
		{name: "seccomp Localhost", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &localhost},
		}}},
		{name: "AppArmor RuntimeDefault", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault},
		}}},
		{name: "AppArmor Localhost", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &localhost},
		}}},
		{name: "SELinux container_t with only a level", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			SELinuxOptions: &corev1.SELinuxOptions{Type: "container_t", Level: "s0:c123,c456"},
		}}},
		{name: "SELinux level alone", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
			SELinuxOptions: &corev1.SELinuxOptions{Level: "s0:c123,c456"},
		}}},
		{name: "every safe sysctl", spec: &corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{Sysctls: func() []corev1.Sysctl {
			var s []corev1.Sysctl
			for _, n := range baselineSysctls {
				s = append(s, corev1.Sysctl{Name: n, Value: "1"})
			}
			return s
		}()}}},
		{name: "probes and hooks on the pod's own address", spec: &corev1.PodSpec{Containers: []corev1.Container{{
			Name:          "app",
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}},
			Lifecycle:     &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
		}}}},
		{name: "safe container security contexts", spec: &corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "setup", SecurityContext: safeSC(corev1.SeccompProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeRuntimeDefault, "container_init_t")}},
			Containers:     []corev1.Container{{Name: "app", SecurityContext: safeSC(corev1.SeccompProfileTypeLocalhost, corev1.AppArmorProfileTypeLocalhost, "container_t")}},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debugger", SecurityContext: safeSC(corev1.SeccompProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeRuntimeDefault, "container_engine_t"),
			}}},
		}},
		{name: "container_kvm_t and the empty type", spec: &corev1.PodSpec{Containers: []corev1.Container{
			{Name: "vm", SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Type: "container_kvm_t"}}},
			{Name: "app", SecurityContext: &corev1.SecurityContext{SELinuxOptions: &corev1.SELinuxOptions{Level: "s0"}}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PodPrivilegedReasons(tt.spec); len(got) != 0 {
				t.Errorf("PodPrivilegedReasons = %q, want none", got)
			}
		})
	}
}
