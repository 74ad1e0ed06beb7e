package kube

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"
)

const pauseImage = "registry.k8s.io/pause:3.10.2"

// noshellPod is the seed's shell-less pod as the API server returns it, with
// everything a copy must clear or may keep: metadata, probes, an init
// container, an ephemeral container from an earlier debug session, status.
func noshellPod() *corev1.Pod {
	probe := func(port int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}, PeriodSeconds: port}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              "noshell",
			Namespace:         "default",
			UID:               "6f1c2b9e-0000-4000-8000-000000000001",
			ResourceVersion:   "4242",
			Generation:        1,
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)),
			GenerateName:      "noshell-",
			Finalizers:        []string{"example.com/keep"},
			Labels:            map[string]string{"app": "noshell"},
			Annotations:       map[string]string{"team": "payments"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "noshell-5d8f", UID: "rs-uid", Controller: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:       "worker-0",
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"true"}}},
			Containers: []corev1.Container{
				{
					Name:           "app",
					Image:          pauseImage,
					LivenessProbe:  probe(10),
					ReadinessProbe: probe(11),
					StartupProbe:   probe(12),
				},
				{
					Name:           "sidecar",
					Image:          "envoy:1.30",
					Args:           []string{"--config", "/etc/envoy.yaml"},
					ReadinessProbe: probe(13),
				},
			},
			EphemeralContainers: []corev1.EphemeralContainer{{
				EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger-old", Image: "busybox:1.36"},
				TargetContainerName:      "app",
			}},
			ServiceAccountName: "noshell",
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.7"},
	}
}

// ephemeral returns the ephemeral container kubectl builds before a profile.
func ephemeral(name, target string, command ...string) *corev1.EphemeralContainer {
	return &corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name:                     name,
			Image:                    "busybox:1.36",
			Command:                  command,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		},
		TargetContainerName: target,
	}
}

// withSC sets the ephemeral container's security context.
func withSC(ec *corev1.EphemeralContainer, sc *corev1.SecurityContext) *corev1.EphemeralContainer {
	ec.SecurityContext = sc
	return ec
}

// restrictedSC is what the restricted profile sets.
func restrictedSC() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		AllowPrivilegeEscalation: ptr.To(false),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// addCaps is a security context adding caps.
func addCaps(caps ...corev1.Capability) *corev1.SecurityContext {
	return &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: caps}}
}

func TestEphemeralContainer(t *testing.T) {
	dc := func(p Profile) DebugContainer {
		return DebugContainer{Name: "debugger", Image: "busybox:1.36", Command: []string{"ps", "-ef"}, Profile: p}
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		opts    EphemeralOptions
		want    *corev1.EphemeralContainer
		wantErr string
	}{
		{
			name: "general with target (the seed's ps -ef)",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileGeneral), Target: "app"},
			want: withSC(ephemeral("debugger", "app", "ps", "-ef"), addCaps("SYS_PTRACE")),
		},
		{
			name: "empty profile is general",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(""), Target: "app"},
			want: withSC(ephemeral("debugger", "app", "ps", "-ef"), addCaps("SYS_PTRACE")),
		},
		{
			name: "legacy changes nothing",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileLegacy), Target: "app"},
			want: ephemeral("debugger", "app", "ps", "-ef"),
		},
		{
			name: "baseline has no security context",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileBaseline)},
			want: ephemeral("debugger", "", "ps", "-ef"),
		},
		{
			name: "restricted",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileRestricted), Target: "sidecar"},
			want: withSC(ephemeral("debugger", "sidecar", "ps", "-ef"), restrictedSC()),
		},
		{
			name: "netadmin adds NET_ADMIN and NET_RAW",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileNetAdmin), Target: "app"},
			want: withSC(ephemeral("debugger", "app", "ps", "-ef"), addCaps("NET_ADMIN", "NET_RAW")),
		},
		{
			name: "sysadmin is privileged",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileSysAdmin), Target: "app"},
			want: withSC(ephemeral("debugger", "app", "ps", "-ef"), &corev1.SecurityContext{Privileged: ptr.To(true)}),
		},
		{
			name: "all container fields",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: DebugContainer{
				Name: "dbg", Image: "busybox:1.36", Command: []string{"sh"}, Args: []string{"-c", "ls"},
				Env:             []corev1.EnvVar{{Name: "A", Value: "1"}},
				ImagePullPolicy: corev1.PullIfNotPresent, Profile: ProfileLegacy,
			}},
			want: &corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "dbg", Image: "busybox:1.36", Command: []string{"sh"}, Args: []string{"-c", "ls"},
				Env:                      []corev1.EnvVar{{Name: "A", Value: "1"}},
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
		},
		{
			name: "generated name avoids the pod's names",
			pod:  noshellPod(),
			opts: EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Profile: ProfileLegacy}},
			want: ephemeral("debugger-l8nww", ""),
		},
		{
			name: "no pod: target not checked",
			opts: EphemeralOptions{DebugContainer: dc(ProfileLegacy), Target: "whatever"},
			want: ephemeral("debugger", "whatever", "ps", "-ef"),
		},
		{
			name: "custom adds env and security context after the profile",
			pod:  noshellPod(),
			opts: EphemeralOptions{
				DebugContainer: DebugContainer{
					Name: "debugger", Image: "busybox:1.36", Profile: ProfileGeneral,
					Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
					Custom: map[string]any{
						"env": []any{map[string]any{"name": "B", "value": "2"}, map[string]any{"name": "A", "value": "one"}},
						"securityContext": map[string]any{
							"runAsUser":    0,
							"capabilities": map[string]any{"add": []any{"SYS_PTRACE", "SYS_ADMIN"}},
						},
						"workingDir": "/tmp",
					},
				},
				Target: "app",
			},
			want: &corev1.EphemeralContainer{
				EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "debugger", Image: "busybox:1.36", WorkingDir: "/tmp",
					Env: []corev1.EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: "one"}},
					SecurityContext: &corev1.SecurityContext{
						RunAsUser:    ptr.To[int64](0),
						Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE", "SYS_ADMIN"}},
					},
					TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				},
				TargetContainerName: "app",
			},
		},
		{
			name: "custom overrides the restricted profile",
			opts: EphemeralOptions{DebugContainer: DebugContainer{
				Name: "debugger", Image: "busybox:1.36", Profile: ProfileRestricted,
				Custom: map[string]any{"securityContext": map[string]any{"runAsNonRoot": false, "runAsUser": 1000}},
			}},
			want: withSC(ephemeral("debugger", ""), &corev1.SecurityContext{
				RunAsNonRoot:             ptr.To(false),
				RunAsUser:                ptr.To[int64](1000),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				AllowPrivilegeEscalation: ptr.To(false),
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}),
		},
		{
			name:    "unknown target",
			pod:     noshellPod(),
			opts:    EphemeralOptions{DebugContainer: dc(ProfileGeneral), Target: "ap"},
			wantErr: `target container "ap" not found in pod default/noshell (containers: app, sidecar)`,
		},
		{
			name:    "an init container is not a target",
			pod:     noshellPod(),
			opts:    EphemeralOptions{DebugContainer: dc(ProfileGeneral), Target: "init"},
			wantErr: `target container "init" not found in pod default/noshell (containers: app, sidecar)`,
		},
		{
			name: "a sidecar (restartable init container) is a target",
			pod: func() *corev1.Pod {
				p := noshellPod()
				p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "proxy", Image: "envoy:1.30",
					RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
				return p
			}(),
			opts: EphemeralOptions{DebugContainer: dc(ProfileLegacy), Target: "proxy"},
			want: ephemeral("debugger", "proxy", "ps", "-ef"),
		},
		{
			name: "a sidecar is listed among the targets",
			pod: func() *corev1.Pod {
				p := noshellPod()
				p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "proxy", Image: "envoy:1.30",
					RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)})
				return p
			}(),
			opts:    EphemeralOptions{DebugContainer: dc(ProfileGeneral), Target: "init"},
			wantErr: `target container "init" not found in pod default/noshell (containers: app, sidecar, proxy)`,
		},
		{
			name:    "name already used",
			pod:     noshellPod(),
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Name: "debugger-old", Image: "busybox:1.36"}},
			wantErr: `debug container name "debugger-old" is already used in pod default/noshell`,
		},
		{
			name:    "custom resources are refused in an ephemeral container",
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Name: "d", Custom: map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "100m"}}, "ports": []any{map[string]any{"containerPort": 80}}}}},
			wantErr: `custom: an ephemeral container cannot set ports, resources`,
		},
		{
			name:    "custom unknown field",
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Custom: map[string]any{"envv": []any{}, "securityContext": map[string]any{"privilegd": true}}}},
			wantErr: `custom: unknown field "envv"; unknown field "securityContext.privilegd"`,
		},
		{
			name:    "custom wrong type",
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Custom: map[string]any{"env": "A=1"}}},
			wantErr: `custom: json: cannot unmarshal string into Go struct field Container.env of type []v1.EnvVar`,
		},
		{
			name:    "custom value that is not JSON",
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Custom: map[string]any{"env": []any{map[any]any{"name": "A"}}}}},
			wantErr: `custom: json: unsupported type: map[interface {}]interface {}`,
		},
		{
			name:    "custom may not set what kubectl forbids",
			opts:    EphemeralOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Custom: map[string]any{"image": "x", "command": []any{"sh"}}}},
			wantErr: `custom: command, image cannot be set in custom (kubectl forbids name, command, image, lifecycle, volumeDevices there; use the step's own fields)`,
		},
		{
			name: "every problem at once",
			pod:  noshellPod(),
			opts: EphemeralOptions{
				DebugContainer: DebugContainer{Name: "Debugger", Profile: "admin", ImagePullPolicy: "Sometimes"},
				Target:         "nope",
			},
			wantErr: `unknown profile "admin" (valid profiles: baseline, general, legacy, netadmin, restricted, sysadmin)
the debug container needs an image
container name "Debugger": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')
invalid imagePullPolicy "Sometimes" (valid: Always, IfNotPresent, Never)
target container "nope" not found in pod default/noshell (containers: app, sidecar)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *corev1.Pod
			if tt.pod != nil {
				before = tt.pod.DeepCopy()
			}
			got, err := EphemeralContainer(tt.pod, tt.opts)
			if diff := cmp.Diff(tt.wantErr, errText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ephemeral container (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.pod); diff != "" {
				t.Errorf("the pod was changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestEphemeralPatch(t *testing.T) {
	ec, err := EphemeralContainer(noshellPod(), EphemeralOptions{
		DebugContainer: DebugContainer{Name: "debugger", Image: "busybox:1.36", Command: []string{"ps", "-ef"}},
		Target:         "app",
	})
	if err != nil {
		t.Fatal(err)
	}
	patch, err := EphemeralPatch(ec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"ephemeralContainers":[{"name":"debugger","image":"busybox:1.36","command":["ps","-ef"],"resources":{},"terminationMessagePolicy":"File","securityContext":{"capabilities":{"add":["SYS_PTRACE"]}},"targetContainerName":"app"}]}}`
	if diff := cmp.Diff(want, string(patch)); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}

	t.Run("adds to the existing ephemeral containers", func(t *testing.T) {
		pod := noshellPod()
		podJS, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		patchedJS, err := strategicpatch.StrategicMergePatch(podJS, patch, corev1.Pod{})
		if err != nil {
			t.Fatal(err)
		}
		var patched corev1.Pod
		if err := json.Unmarshal(patchedJS, &patched); err != nil {
			t.Fatal(err)
		}
		// Without $setElementOrder the new container comes first; the API
		// server accepts that (order isn't preserved by patch).
		want := noshellPod()
		want.Spec.EphemeralContainers = append([]corev1.EphemeralContainer{*ec}, want.Spec.EphemeralContainers...)
		if diff := cmp.Diff(want, &patched); diff != "" {
			t.Errorf("patched pod (-want +got):\n%s", diff)
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, err := EphemeralPatch(nil); errText(err) != "ephemeral patch: no ephemeral container" {
			t.Errorf("EphemeralPatch(nil) error = %v", err)
		}
		if _, err := EphemeralPatch(&corev1.EphemeralContainer{}); errText(err) != "ephemeral patch: the ephemeral container has no name" {
			t.Errorf("EphemeralPatch(no name) error = %v", err)
		}
	})
}

// copyBase is what every copy of noshellPod shares: new metadata (name and
// namespace only), no status, no nodeName, no ephemeral containers.
func copyBase() *corev1.Pod {
	orig := noshellPod()
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "noshell-dbg", Namespace: "default"},
		Spec: corev1.PodSpec{
			InitContainers:     orig.Spec.InitContainers,
			Containers:         orig.Spec.Containers,
			ServiceAccountName: "noshell",
		},
	}
}

// stripProbes removes every probe of pod's containers.
func stripProbes(pod *corev1.Pod) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
	}
}

// generalCopy is copyBase after the general profile without keep switches,
// plus the given debug container (nil for none).
func generalCopy(debug *corev1.Container) *corev1.Pod {
	p := copyBase()
	p.Spec.InitContainers = nil
	stripProbes(p)
	p.Spec.ShareProcessNamespace = ptr.To(true)
	if debug != nil {
		p.Spec.Containers = append(p.Spec.Containers, *debug)
	}
	return p
}

// sleeper is the seed's debug container in a copy.
func sleeper(sc *corev1.SecurityContext) *corev1.Container {
	return &corev1.Container{
		Name: "debugger", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext:          sc,
	}
}

func TestPodCopy(t *testing.T) {
	seed := func(p Profile) CopyOptions {
		return CopyOptions{
			DebugContainer: DebugContainer{Name: "debugger", Image: "busybox:1.36", Command: []string{"sleep", "3600"}, Profile: p},
			To:             "noshell-dbg",
			ShareProcesses: true,
		}
	}
	with := func(o CopyOptions, f func(*CopyOptions)) CopyOptions { f(&o); return o }
	edit := func(p *corev1.Pod, f func(*corev1.Pod)) *corev1.Pod { f(p); return p }

	tests := []struct {
		name    string
		pod     *corev1.Pod
		opts    CopyOptions
		want    *corev1.Pod
		wantErr string
	}{
		{
			name: "general with shareProcesses and sleep (the seed)",
			opts: seed(ProfileGeneral),
			want: generalCopy(sleeper(addCaps("SYS_PTRACE"))),
		},
		{
			name: "general shares processes without shareProcesses",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.ShareProcesses = false }),
			want: generalCopy(sleeper(addCaps("SYS_PTRACE"))),
		},
		{
			name: "the pod's shareProcessNamespace false wins over the profile",
			pod:  edit(noshellPod(), func(p *corev1.Pod) { p.Spec.ShareProcessNamespace = ptr.To(false) }),
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.ShareProcesses = false }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) { p.Spec.ShareProcessNamespace = ptr.To(false) }),
		},
		{
			name: "shareProcesses wins over the pod's false",
			pod:  edit(noshellPod(), func(p *corev1.Pod) { p.Spec.ShareProcessNamespace = ptr.To(false) }),
			opts: seed(ProfileGeneral),
			want: generalCopy(sleeper(addCaps("SYS_PTRACE"))),
		},
		{
			name: "sameNode keeps nodeName",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.SameNode = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) { p.Spec.NodeName = "worker-0" }),
		},
		{
			name: "keepLabels",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepLabels = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) { p.Labels = map[string]string{"app": "noshell"} }),
		},
		{
			name: "keepAnnotations",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepAnnotations = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) { p.Annotations = map[string]string{"team": "payments"} }),
		},
		{
			name: "keepLiveness",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepLiveness = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) {
				p.Spec.Containers[0].LivenessProbe = noshellPod().Spec.Containers[0].LivenessProbe
			}),
		},
		{
			name: "keepReadiness",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepReadiness = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) {
				p.Spec.Containers[0].ReadinessProbe = noshellPod().Spec.Containers[0].ReadinessProbe
				p.Spec.Containers[1].ReadinessProbe = noshellPod().Spec.Containers[1].ReadinessProbe
			}),
		},
		{
			name: "keepStartup",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepStartup = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) {
				p.Spec.Containers[0].StartupProbe = noshellPod().Spec.Containers[0].StartupProbe
			}),
		},
		{
			name: "keepInitContainers",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepInitContainers = true }),
			want: edit(generalCopy(sleeper(addCaps("SYS_PTRACE"))), func(p *corev1.Pod) { p.Spec.InitContainers = noshellPod().Spec.InitContainers }),
		},
		{
			name: "legacy removes labels even when kept, keeps the rest, shares nothing",
			opts: with(seed(ProfileLegacy), func(o *CopyOptions) { o.ShareProcesses = false; o.KeepLabels = true }),
			want: edit(copyBase(), func(p *corev1.Pod) {
				p.Annotations = map[string]string{"team": "payments"}
				p.Spec.Containers = append(p.Spec.Containers, *sleeper(nil))
			}),
		},
		{
			name: "baseline",
			opts: seed(ProfileBaseline),
			want: generalCopy(sleeper(nil)),
		},
		{
			name: "restricted",
			opts: seed(ProfileRestricted),
			want: generalCopy(sleeper(restrictedSC())),
		},
		{
			name: "netadmin",
			opts: seed(ProfileNetAdmin),
			want: generalCopy(sleeper(addCaps("NET_ADMIN", "NET_RAW"))),
		},
		{
			name: "sysadmin",
			opts: seed(ProfileSysAdmin),
			want: generalCopy(sleeper(&corev1.SecurityContext{Privileged: ptr.To(true)})),
		},
		{
			name: "change the command of an existing container (CrashLoopBackOff)",
			opts: CopyOptions{
				DebugContainer: DebugContainer{Name: "sidecar", Command: []string{"sleep", "3600"}},
				To:             "noshell-dbg",
			},
			want: edit(generalCopy(nil), func(p *corev1.Pod) {
				c := &p.Spec.Containers[1]
				c.Command = []string{"sleep", "3600"}
				c.Args = nil
				c.SecurityContext = addCaps("SYS_PTRACE")
			}),
		},
		{
			name: "args alone keep the container's command",
			opts: CopyOptions{
				DebugContainer: DebugContainer{Name: "sidecar", Args: []string{"--log-level", "debug"}, Env: []corev1.EnvVar{{Name: "X", Value: "y"}}, Profile: ProfileBaseline},
				To:             "noshell-dbg",
			},
			want: edit(generalCopy(nil), func(p *corev1.Pod) {
				p.Spec.Containers[1].Args = []string{"--log-level", "debug"}
				p.Spec.Containers[1].Env = []corev1.EnvVar{{Name: "X", Value: "y"}}
			}),
		},
		{
			name: "image and name of an existing container replace its image",
			opts: CopyOptions{DebugContainer: DebugContainer{Name: "app", Image: "busybox:1.36", ImagePullPolicy: corev1.PullAlways, Profile: ProfileBaseline}, To: "noshell-dbg"},
			want: edit(generalCopy(nil), func(p *corev1.Pod) {
				c := &p.Spec.Containers[0]
				c.Image, c.ImagePullPolicy = "busybox:1.36", corev1.PullAlways
			}),
		},
		{
			name: "setImage for one container",
			opts: with(seed(ProfileBaseline), func(o *CopyOptions) { o.SetImage = map[string]string{"app": "app:debug"} }),
			want: edit(generalCopy(sleeper(nil)), func(p *corev1.Pod) { p.Spec.Containers[0].Image = "app:debug" }),
		},
		{
			name: "setImage * with an override, no debug container",
			opts: CopyOptions{To: "noshell-dbg", SetImage: map[string]string{"*": "busybox:1.36", "sidecar": "envoy:debug"}, KeepInitContainers: true},
			want: edit(generalCopy(nil), func(p *corev1.Pod) {
				p.Spec.InitContainers = noshellPod().Spec.InitContainers // setImage leaves init containers alone
				p.Spec.Containers[0].Image = "busybox:1.36"
				p.Spec.Containers[1].Image = "envoy:debug"
			}),
		},
		{
			name: "generated debug container name",
			opts: CopyOptions{DebugContainer: DebugContainer{Image: "busybox:1.36", Profile: ProfileBaseline}, To: "noshell-dbg"},
			want: generalCopy(&corev1.Container{Name: "debugger-2b5gh", Image: "busybox:1.36", TerminationMessagePolicy: corev1.TerminationMessageReadFile}),
		},
		{
			name: "custom merges env, security context and resources",
			opts: with(seed(ProfileGeneral), func(o *CopyOptions) {
				o.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
				o.Custom = map[string]any{
					"env":             []any{map[string]any{"name": "B", "value": "2"}},
					"securityContext": map[string]any{"runAsUser": 0, "readOnlyRootFilesystem": true},
					"resources":       map[string]any{"limits": map[string]any{"cpu": "100m", "memory": "64Mi"}, "requests": map[string]any{"cpu": 0.05}},
				}
			}),
			want: generalCopy(&corev1.Container{
				Name: "debugger", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
				Env: []corev1.EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: "1"}},
				Resources: corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")},
				},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				SecurityContext: &corev1.SecurityContext{
					Capabilities:           &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE"}},
					RunAsUser:              ptr.To[int64](0),
					ReadOnlyRootFilesystem: ptr.To(true),
				},
			}),
		},
		{
			name:    "no name for the copy",
			opts:    with(seed(ProfileGeneral), func(o *CopyOptions) { o.To = "" }),
			wantErr: "the copy needs a name (to)",
		},
		{
			name:    "nothing to do",
			opts:    CopyOptions{To: "noshell-dbg"},
			wantErr: "a copy needs an image for a debug container, setImage, or a command for an existing container",
		},
		{
			name:    "command without a container",
			opts:    CopyOptions{DebugContainer: DebugContainer{Command: []string{"sleep", "1"}}, To: "noshell-dbg"},
			wantErr: "a command needs an existing container (name) or an image for a new debug container",
		},
		{
			name:    "unknown container without an image",
			opts:    CopyOptions{DebugContainer: DebugContainer{Name: "ap", Command: []string{"sleep", "1"}}, To: "noshell-dbg"},
			wantErr: `container "ap" not found in pod default/noshell (containers: app, sidecar) and no image to create it with`,
		},
		{
			name: "setImage problems",
			opts: CopyOptions{To: "noshell-dbg", SetImage: map[string]string{"ap": "x", "sidecar": ""}},
			wantErr: `setImage: container "ap" not found in pod default/noshell (containers: app, sidecar)
setImage: no image given for container "sidecar"`,
		},
		{
			name:    "custom without a container",
			opts:    CopyOptions{To: "noshell-dbg", SetImage: map[string]string{"*": "x"}, DebugContainer: DebugContainer{Custom: map[string]any{"workingDir": "/"}}},
			wantErr: "custom needs a container: give an image for a debug container or the name of an existing one",
		},
		{
			name:    "custom on a removed init container",
			opts:    CopyOptions{To: "noshell-dbg", DebugContainer: DebugContainer{Name: "init", Command: []string{"sleep", "1"}, Custom: map[string]any{"workingDir": "/"}}},
			wantErr: `custom: container "init" is not in the copy (an init container removed because keepInitContainers is false?)`,
		},
		{
			name:    "invalid copy name",
			opts:    with(seed(ProfileGeneral), func(o *CopyOptions) { o.To = "Noshell_dbg" }),
			wantErr: `copy name "Noshell_dbg": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := tt.pod
			if pod == nil {
				pod = noshellPod()
			}
			before := pod.DeepCopy()
			got, err := PodCopy(pod, tt.opts)
			if diff := cmp.Diff(tt.wantErr, errText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("copy (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, pod); diff != "" {
				t.Errorf("the original pod was changed (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("no pod", func(t *testing.T) {
		if _, err := PodCopy(nil, seed(ProfileGeneral)); errText(err) != "pod copy: no pod to copy" {
			t.Errorf("PodCopy(nil) error = %v", err)
		}
	})
	t.Run("the copy shares no maps or slices with the original", func(t *testing.T) {
		pod := noshellPod()
		got, err := PodCopy(pod, with(seed(ProfileGeneral), func(o *CopyOptions) { o.KeepLabels, o.KeepAnnotations = true, true }))
		if err != nil {
			t.Fatal(err)
		}
		got.Labels["app"] = "changed"
		got.Annotations["team"] = "changed"
		got.Spec.Containers[0].Image = "changed"
		if diff := cmp.Diff(noshellPod(), pod); diff != "" {
			t.Errorf("changing the copy changed the original (-want +got):\n%s", diff)
		}
	})
}

// nodePod is the pod kubectl debug node/worker-0 builds before a profile.
func nodePod(sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "node-debugger-worker-0-abcde", Namespace: "default"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "nodedbg", Image: "busybox:1.36", Command: []string{"cat", "/host/etc/hostname"},
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				SecurityContext:          sc,
			}},
			NodeName:      "worker-0",
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
}

// onHost puts p in the host namespaces and, with root, mounts the host's / at /host.
func onHost(p *corev1.Pod, root bool) *corev1.Pod {
	p.Spec.HostPID, p.Spec.HostNetwork, p.Spec.HostIPC = true, true, true
	if root {
		p.Spec.Volumes = []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}}
	}
	return p
}

func TestNodePod(t *testing.T) {
	seed := func(p Profile) NodeOptions {
		return NodeOptions{
			DebugContainer: DebugContainer{Name: "nodedbg", Image: "busybox:1.36", Command: []string{"cat", "/host/etc/hostname"}, Profile: p},
			NodeName:       "worker-0",
			Suffix:         "abcde",
			Namespace:      "default",
		}
	}
	with := func(o NodeOptions, f func(*NodeOptions)) NodeOptions { f(&o); return o }
	tests := []struct {
		name    string
		opts    NodeOptions
		want    *corev1.Pod
		wantErr string
	}{
		{name: "general (the seed)", opts: seed(ProfileGeneral), want: onHost(nodePod(nil), true)},
		{name: "empty profile is general", opts: seed(""), want: onHost(nodePod(nil), true)},
		{name: "legacy", opts: seed(ProfileLegacy), want: onHost(nodePod(nil), true)},
		{name: "baseline has no host access", opts: seed(ProfileBaseline), want: nodePod(nil)},
		{name: "restricted", opts: seed(ProfileRestricted), want: nodePod(restrictedSC())},
		{name: "netadmin: host namespaces, no /host", opts: seed(ProfileNetAdmin), want: onHost(nodePod(addCaps("NET_ADMIN", "NET_RAW")), false)},
		{name: "sysadmin", opts: seed(ProfileSysAdmin), want: onHost(nodePod(&corev1.SecurityContext{Privileged: ptr.To(true)}), true)},
		{
			name: "defaults: container debugger, suffix from the node name",
			opts: with(seed(ProfileGeneral), func(o *NodeOptions) { o.Name, o.Suffix = "", "" }),
			want: func() *corev1.Pod {
				p := onHost(nodePod(nil), true)
				p.Name = "node-debugger-worker-0-xxth4"
				p.Spec.Containers[0].Name = "debugger"
				return p
			}(),
		},
		{
			name: "explicit pod name",
			opts: with(seed(ProfileBaseline), func(o *NodeOptions) { o.PodName = "dbg-worker-0" }),
			want: func() *corev1.Pod { p := nodePod(nil); p.Name = "dbg-worker-0"; return p }(),
		},
		{
			name: "custom after the general profile",
			opts: with(seed(ProfileGeneral), func(o *NodeOptions) {
				o.Custom = map[string]any{
					"securityContext": map[string]any{"privileged": true},
					"volumeMounts":    []any{map[string]any{"name": "host-root", "mountPath": "/host", "readOnly": true}},
					"env":             []any{map[string]any{"name": "TERM", "value": "xterm"}},
				}
			}),
			want: func() *corev1.Pod {
				p := onHost(nodePod(&corev1.SecurityContext{Privileged: ptr.To(true)}), true)
				p.Spec.Containers[0].VolumeMounts[0].ReadOnly = true
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "TERM", Value: "xterm"}}
				return p
			}(),
		},
		{
			name: "custom wrong type",
			opts: with(seed(ProfileGeneral), func(o *NodeOptions) {
				o.Custom = map[string]any{"securityContext": map[string]any{"privileged": "yes"}}
			}),
			wantErr: "custom: json: cannot unmarshal string into Go struct field SecurityContext.securityContext.privileged of type bool",
		},
		{
			name:    "no node, no image",
			opts:    NodeOptions{},
			wantErr: "the debug container needs an image\nthe node name is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NodePod(tt.opts)
			if diff := cmp.Diff(tt.wantErr, errText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("node pod (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeDebugPodName(t *testing.T) {
	long := "abc"
	for len(long) < 260 {
		long += "node-name."
	}
	tests := []struct{ node, suffix, want string }{
		{node: "worker-0", suffix: "abcde", want: "node-debugger-worker-0-abcde"},
		{node: "worker-0", want: "node-debugger-worker-0-xxth4"},
		// 253 - len("node-debugger-") - len("-abcde") = 233 characters of node name,
		// "abc" and 23 times "node-name."; the trailing "." is trimmed.
		{node: long, suffix: "abcde", want: "node-debugger-" + long[:232] + "-abcde"},
	}
	for _, tt := range tests {
		t.Run(tt.want[:min(len(tt.want), 40)], func(t *testing.T) {
			got := nodeDebugPodName(tt.node, tt.suffix)
			if got != tt.want {
				t.Errorf("nodeDebugPodName = %q, want %q", got, tt.want)
			}
			if len(got) > 253 {
				t.Errorf("len = %d, want <= 253", len(got))
			}
		})
	}
}

func TestApplyProfileUnknown(t *testing.T) {
	pod := &corev1.Pod{}
	if err := applyProfile(pod, "x", ProfileGeneral, "attach", keepFlags{}); errText(err) != `unknown debug mode "attach"` {
		t.Errorf("unknown mode error = %v", err)
	}
	if err := applyProfile(pod, "x", "bogus", ModeNode, keepFlags{}); errText(err) != `unknown profile "bogus" (valid profiles: baseline, general, legacy, netadmin, restricted, sysadmin)` {
		t.Errorf("unknown profile error = %v", err)
	}
}

// FuzzCustom feeds arbitrary JSON objects as Custom to the three builders:
// bad input must give errors, never panics.
func FuzzCustom(f *testing.F) {
	for _, s := range []string{
		`{"env":[{"name":"A","value":"1"}]}`,
		`{"securityContext":{"privileged":true,"capabilities":{"add":["NET_ADMIN"]}}}`,
		`{"resources":{"limits":{"cpu":"100m"}}}`,
		`{"resources":{"limits":{"cpu":"lots"}}}`,
		`{"env":"A=1"}`,
		`{"volumeMounts":[{"name":"host-root","mountPath":"/host","subPath":"x"}]}`,
		`{"ports":[{"containerPort":"80"}]}`,
		`{"securityContext":null,"env":[null]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var custom map[string]any
		if json.Unmarshal([]byte(s), &custom) != nil {
			return
		}
		dc := DebugContainer{Name: "debugger", Image: "busybox:1.36", Custom: custom}
		for _, p := range Profiles() {
			dc.Profile = p
			if ec, err := EphemeralContainer(noshellPod(), EphemeralOptions{DebugContainer: dc, Target: "app"}); err == nil {
				if _, err := EphemeralPatch(ec); err != nil {
					t.Errorf("EphemeralPatch: %v", err)
				}
			}
			_, _ = PodCopy(noshellPod(), CopyOptions{DebugContainer: dc, To: "copy"})
			_, _ = NodePod(NodeOptions{DebugContainer: dc, NodeName: "worker-0"})
		}
	})
}
