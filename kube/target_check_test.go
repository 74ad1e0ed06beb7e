package kube

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// crashLoopStatus is the status of busybox `sh -c 'echo boom; exit 1'` after a few runs, as
// the kubelet reports it between two restarts.
func crashLoopStatus(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: 5,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off 2m40s restarting failed container=" + name + " pod=web_ns(uid-1)"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
}

// withSidecar adds a sidecar (restartable init container) proxy, with status, and a plain
// init container init, completed, to pod.
func withSidecar(pod *corev1.Pod, proxy corev1.ContainerStatus) *corev1.Pod {
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "init", Image: "busybox:1.36"},
		{Name: "proxy", Image: "envoy:1.30", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
	}
	proxy.Name = "proxy"
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedStatus("init", 0, "Completed"), proxy}
	return pod
}

func TestCheckEphemeralTargetContainer(t *testing.T) {
	const refused = "; an ephemeral container targeting it would never start and could never be removed, so none was added "
	const works = "(a debug step without target works, without its process namespace; or a copy with shareProcesses: true and container: %s, command: [sleep, infinity] to keep it up)"
	running := func(s corev1.PodStatus) *corev1.Pod { return onNode(statusPod("1", s)) }
	withApp := func(s corev1.ContainerStatus) *corev1.Pod {
		return running(corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{s}})
	}
	restarted := runningStatus("app")
	restarted.RestartCount = 3
	restarted.LastTerminationState = crashLoopStatus("app").LastTerminationState
	tests := []struct {
		name   string
		pod    *corev1.Pod
		target string
		want   string // the error up to refused; the rest is checked once below
	}{
		{"no target", withApp(crashLoopStatus("app")), "", ""},
		{"running", running(readyStatus), "app", ""},
		{"running again after restarts", withApp(restarted), "app", ""},
		{"crash-looping", withApp(crashLoopStatus("app")), "app",
			`target container "app" of pod ns/web is not running: waiting: CrashLoopBackOff: back-off 2m40s restarting failed container=app pod=web_ns(uid-1) (last run: exit code 1 (Error), 5 restarts)`},
		{"terminated", withApp(terminatedStatus("app", 1, "Error")), "app",
			`target container "app" of pod ns/web is not running: terminated: exit code 1 (Error)`},
		{"being created", withApp(corev1.ContainerStatus{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}), "app",
			`target container "app" of pod ns/web is not running: waiting: ContainerCreating`},
		{"no status for it", running(corev1.PodStatus{Phase: corev1.PodRunning}), "app",
			`target container "app" of pod ns/web is not running: not started: the kubelet reports no status for it yet`},
		{"a status without a state", withApp(corev1.ContainerStatus{Name: "app"}), "app",
			`target container "app" of pod ns/web is not running: not started: its status has no state yet`},
		{"running sidecar", withSidecar(running(readyStatus), runningStatus("proxy")), "proxy", ""},
		{"crash-looping sidecar", withSidecar(running(readyStatus), crashLoopStatus("proxy")), "proxy",
			`target sidecar container "proxy" of pod ns/web is not running: waiting: CrashLoopBackOff: back-off 2m40s restarting failed container=proxy pod=web_ns(uid-1) (last run: exit code 1 (Error), 5 restarts)`},
		{"sidecar whose status has no state", withSidecar(running(readyStatus), corev1.ContainerStatus{}), "proxy",
			`target sidecar container "proxy" of pod ns/web is not running: not started: its status has no state yet`},
		// Not a target at all: EphemeralContainer says so, with the pod's containers.
		{"plain init container", withSidecar(running(readyStatus), runningStatus("proxy")), "init", ""},
		{"unknown container", running(readyStatus), "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.pod.DeepCopy()
			err := CheckEphemeralTargetContainer(tt.pod, tt.target)
			want := tt.want
			if want != "" {
				want += refused + strings.Replace(works, "%s", tt.target, 1)
			}
			if errString(err) != want {
				t.Fatalf("CheckEphemeralTargetContainer =\n%q\nwant\n%q", errString(err), want)
			}
			var notRunning *TargetNotRunningError
			if err != nil && (!errors.As(err, &notRunning) || notRunning.Container != tt.target || notRunning.Pod != "ns/web") {
				t.Errorf("error is %T %+v, want a *TargetNotRunningError for ns/web %s", err, notRunning, tt.target)
			}
			if before.String() != tt.pod.String() {
				t.Error("the pod was changed")
			}
		})
	}
}
