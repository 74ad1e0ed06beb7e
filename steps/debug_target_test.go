package steps

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// invalidTarget is the kubelet's message for an ephemeral container whose target is not
// running (containerd, v1.33 to v1.37).
const invalidTarget = `failed to generate container "8409b6f6" spec: invalid target container: container "9e28e9ee" is not running - in state CONTAINER_EXITED`

// crashLooping is the pod web with its container app as busybox `sh -c 'echo boom; exit 1'`
// leaves it between two restarts.
func crashLooping() *corev1.Pod {
	pod := readyPod("web")
	pod.Status.Conditions[0].Status = corev1.ConditionFalse
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 3,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off 40s restarting failed container=app pod=web_default(uid-web)"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	return pod
}

// withRunningApp is readyPod with the kubelet's status of its running container app.
func withRunningApp(pod *corev1.Pod) *corev1.Pod {
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	return pod
}

// ephemeralReactor makes the fake answer the ephemeral container patch with the pod and
// debugger, then, after 50 ms, report the debugger's state as st.
func ephemeralReactor(t *testing.T, env *testEnv, base *corev1.Pod, target string, st corev1.ContainerState) {
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	env.kube.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		pod := base.DeepCopy()
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox:1.36"},
			TargetContainerName: target}}
		go func() {
			time.Sleep(50 * time.Millisecond)
			p := pod.DeepCopy()
			p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "debugger", State: st}}
			if err := env.kube.Tracker().Update(pods, p, "default"); err != nil {
				t.Errorf("updating the pod: %v", err)
			}
		}()
		return true, pod, nil
	})
}

func debugStep(t *testing.T, target, waitFor string) *EphemeralStep {
	s := &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, WaitFor: waitFor,
		DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36"), Command: []expression.Template{tpl(t, "ps")}}}
	if target != "" {
		s.Target = tpl(t, target)
	}
	return s
}

// TestDebugRefusesATargetThatIsNotRunning: kubectl debug --target adds the ephemeral
// container whatever its target does; the kubelet can start it only while the target runs.
// The step refuses a target that is not running before it patches anything, with the
// target's state and what works instead.
func TestDebugRefusesATargetThatIsNotRunning(t *testing.T) {
	terminated := withRunningApp(readyPod("web"))
	terminated.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}
	sidecar := withRunningApp(readyPod("web"))
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy:1.30", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	sidecar.Status.InitContainerStatuses = crashLooping().Status.ContainerStatuses
	sidecar.Status.InitContainerStatuses[0].Name = "proxy"
	const refused = "; an ephemeral container targeting it would never start and could never be removed, so none was added " +
		"(a debug step without target works, without its process namespace; or a copy with shareProcesses: true and container: "
	tests := []struct {
		name, target string
		pod          *corev1.Pod
		want         string
	}{
		{"crash-looping", "app", crashLooping(),
			`target container "app" of pod default/web is not running: waiting: CrashLoopBackOff: back-off 40s restarting failed container=app pod=web_default(uid-web) (last run: exit code 1 (Error), 3 restarts)` + refused + "app, "},
		{"terminated", "app", terminated, `target container "app" of pod default/web is not running: terminated: exit code 2 (Error)` + refused + "app, "},
		{"not started", "app", readyPod("web"), `target container "app" of pod default/web is not running: not started: the kubelet reports no status for it yet` + refused + "app, "},
		{"crash-looping sidecar", "proxy", sidecar, `target sidecar container "proxy" of pod default/web is not running: waiting: CrashLoopBackOff: back-off 40s`},
	}
	for _, tt := range tests {
		for _, waitFor := range []string{"", "Running"} {
			t.Run(tt.name+" "+waitFor, func(t *testing.T) {
				env := newTestEnv(t, []runtime.Object{tt.pod})
				start := time.Now()
				out := debugStep(t, tt.target, waitFor).Run(testCtx(t), env.Env)
				var notRunning *kube.TargetNotRunningError
				if !errors.As(out.Err, &notRunning) || !strings.HasPrefix(out.Err.Error(), tt.want) {
					t.Fatalf("error = %v, want a *kube.TargetNotRunningError starting %q", out.Err, tt.want)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("refused after %s, want at once", d)
				}
				if n := patches(env); n != 0 || len(out.Leftovers) != 0 || len(out.Touched) != 0 {
					t.Errorf("%d patches, leftovers %v, touched %v: want nothing added", n, out.Leftovers, out.Touched)
				}
				if out.Pod == nil {
					t.Error("the pod is not in the result")
				}
			})
		}
	}
}

// TestDebugTargetsARunningContainer: a running target, a running sidecar, and no target on
// a crash-looping pod are no reason to refuse.
func TestDebugTargetsARunningContainer(t *testing.T) {
	sidecar := withRunningApp(readyPod("web"))
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy:1.30", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	sidecar.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	tests := []struct {
		name, target string
		pod          *corev1.Pod
	}{
		{"running target", "app", withRunningApp(readyPod("web"))},
		{"running sidecar", "proxy", sidecar},
		{"no target, crash-looping pod", "", crashLooping()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, []runtime.Object{tt.pod})
			ephemeralReactor(t, env, tt.pod, tt.target, corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}})
			out := debugStep(t, tt.target, "").Run(testCtx(t), env.Env)
			if out.Err != nil {
				t.Fatalf("step failed: %v", out.Err)
			}
			if n := patches(env); n != 1 || out.ExitCode == nil || *out.ExitCode != 0 {
				t.Errorf("%d patches, exit code %v: want 1 and 0", n, out.ExitCode)
			}
		})
	}
}

// TestDebugTargetCrashedAfterTheCheck: a target running when checked that crashes right
// after leaves the ephemeral container waiting with CreateContainerError ("invalid target
// container"); the step fails as soon as the kubelet says so, not at its timeout, and keeps
// the container as a leftover (it was added).
func TestDebugTargetCrashedAfterTheCheck(t *testing.T) {
	for _, reason := range []string{"CreateContainerError", "RunContainerError"} {
		for _, waitFor := range []string{"", "Running"} {
			t.Run(reason+" "+waitFor, func(t *testing.T) {
				pod := withRunningApp(readyPod("web"))
				env := newTestEnv(t, []runtime.Object{pod})
				ephemeralReactor(t, env, pod, "app", corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: invalidTarget}})
				ctx, cancel := context.WithTimeout(testCtx(t), 20*time.Second)
				defer cancel()
				start := time.Now()
				out := debugStep(t, "app", waitFor).Run(ctx, env.Env)
				want := `pod default/web: container "debugger": ` + reason + ": " + invalidTarget
				var stuck *kube.PodStuckError
				if !errors.As(out.Err, &stuck) || out.Err.Error() != want {
					t.Fatalf("error = %v, want a *kube.PodStuckError %q", out.Err, want)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("failed after %s, want as soon as the status says so", d)
				}
				if len(out.Leftovers) != 1 || out.Container == nil {
					t.Errorf("leftovers %v, container status %v: want the debugger as a leftover and its status", out.Leftovers, out.Container)
				}
			})
		}
	}
}
