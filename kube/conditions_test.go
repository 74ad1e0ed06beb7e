package kube

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// statusPod returns pod ns/web (uid-1, resourceVersion rv) with the given status.
func statusPod(rv string, status corev1.PodStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1", ResourceVersion: rv},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		Status:     status,
	}
}

// deleting sets a deletion timestamp on pod.
func deleting(pod *corev1.Pod) *corev1.Pod {
	now := metav1.Now()
	pod.DeletionTimestamp = &now
	return pod
}

func waitingStatus(name, reason, message string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}
}

func runningStatus(name string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{
		Running: &corev1.ContainerStateRunning{}}}
}

func terminatedStatus(name string, code int32, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}
}

var (
	pendingStatus = corev1.PodStatus{Phase: corev1.PodPending,
		ContainerStatuses: []corev1.ContainerStatus{waitingStatus("app", "ContainerCreating", "")}}
	readyStatus = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{runningStatus("app")}}
	runningNotReadyStatus = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
		ContainerStatuses: []corev1.ContainerStatus{runningStatus("app")}}
	succeededStatus = corev1.PodStatus{Phase: corev1.PodSucceeded,
		ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("app", 0, "Completed")}}
	failedStatus = corev1.PodStatus{Phase: corev1.PodFailed,
		ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("app", 2, "Error")}}
)

func stuckStatus(reason, message string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending,
		ContainerStatuses: []corev1.ContainerStatus{waitingStatus("app", reason, message)}}
}

// withEphemeral adds ephemeral container statuses to a status.
func withEphemeral(s corev1.PodStatus, statuses ...corev1.ContainerStatus) corev1.PodStatus {
	s.EphemeralContainerStatuses = statuses
	return s
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPodConditions(t *testing.T) {
	stuckReasons := []struct{ reason, message string }{
		{"ErrImagePull", `failed to pull and unpack image "docker.io/library/nope:1": not found`},
		{"ImagePullBackOff", `Back-off pulling image "x"`},
		{"InvalidImageName", `Failed to apply default image tag "BAD": invalid reference format`},
		{"CreateContainerConfigError", `secret "s" not found`},
		{"CreateContainerError", "context deadline exceeded"},
		{"RunContainerError", "failed to start container"},
		{"ErrImageNeverPull", `Container image "x" is not present with pull policy of Never`},
	}
	type tc struct {
		name     string
		cond     PodCondition
		status   corev1.PodStatus
		wantDone bool
		wantErr  string
	}
	tests := []tc{
		{"ready: pending", PodReady(), pendingStatus, false, ""},
		{"ready: running, not ready", PodReady(), runningNotReadyStatus, false, ""},
		{"ready: ready", PodReady(), readyStatus, true, ""},
		{"ready: failed", PodReady(), failedStatus, false, `pod ns/web: container "app": Failed: exit code 2 (Error)`},
		{"ready: succeeded", PodReady(), succeededStatus, false, "pod ns/web: Succeeded: pod completed before it became ready"},
		{"ready: evicted", PodReady(), corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}, false,
			"pod ns/web: Failed: Evicted: low on memory"},
		{"ready: CrashLoopBackOff is not terminal", PodReady(), stuckStatus("CrashLoopBackOff", "back-off"), false, ""},
		{"ready: stuck init container", PodReady(), corev1.PodStatus{Phase: corev1.PodPending,
			InitContainerStatuses: []corev1.ContainerStatus{waitingStatus("init", "ImagePullBackOff", `Back-off pulling image "i"`)}}, false,
			`pod ns/web: container "init": ImagePullBackOff: Back-off pulling image "i"`},
		{"ready: stuck ephemeral container does not matter", PodReady(),
			withEphemeral(runningNotReadyStatus, waitingStatus("dbg", "ImagePullBackOff", "x")), false, ""},
		{"running: pending", PodRunning(), pendingStatus, false, ""},
		{"running: running", PodRunning(), runningNotReadyStatus, true, ""},
		{"running: succeeded counts as started", PodRunning(), succeededStatus, true, ""},
		{"running: failed", PodRunning(), failedStatus, false, `pod ns/web: container "app": Failed: exit code 2 (Error)`},
		{"succeeded: running", PodSucceeded(), readyStatus, false, ""},
		{"succeeded: succeeded", PodSucceeded(), succeededStatus, true, ""},
		{"succeeded: failed carries exit code", PodSucceeded(), failedStatus, false, `pod ns/web: container "app": Failed: exit code 2 (Error)`},
		{"succeeded: failed without statuses", PodSucceeded(), corev1.PodStatus{Phase: corev1.PodFailed}, false, "pod ns/web: Failed: pod failed"},
		{"container started: pending", ContainerStarted("app"), pendingStatus, false, ""},
		{"container started: running", ContainerStarted("app"), runningNotReadyStatus, true, ""},
		{"container started: ended while the phase is Pending", ContainerStarted("app"), corev1.PodStatus{Phase: corev1.PodPending,
			ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("app", 2, "Error")}}, true, ""},
		{"container started: another container ended", ContainerStarted("app"), corev1.PodStatus{Phase: corev1.PodPending,
			ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("sidecar", 0, "Completed"), waitingStatus("app", "ContainerCreating", "")}}, false, ""},
		{"container started: evicted", ContainerStarted("app"), corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}, false,
			"pod ns/web: Failed: Evicted: low on memory"},
		{"container succeeded: running", ContainerSucceeded("app"), readyStatus, false, ""},
		{"container succeeded: exit 0 while the phase is Running", ContainerSucceeded("app"), corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("app", 0, "Completed")}}, true, ""},
		{"container succeeded: exit 2 while the phase is Running", ContainerSucceeded("app"), corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("app", 2, "Error")}}, false, `pod ns/web: container "app": Failed: exit code 2 (Error)`},
		{"container succeeded: another container ended", ContainerSucceeded("app"), corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{terminatedStatus("sidecar", 0, "Completed"), runningStatus("app")}}, false, ""},
		{"container succeeded: succeeded", ContainerSucceeded("app"), succeededStatus, true, ""},
		{"container succeeded: failed carries exit code", ContainerSucceeded("app"), failedStatus, false, `pod ns/web: container "app": Failed: exit code 2 (Error)`},
		{"container succeeded: evicted", ContainerSucceeded("app"), corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "low on memory"}, false,
			"pod ns/web: Failed: Evicted: low on memory"},
		{"completed: failed is done", PodCompleted(), failedStatus, true, ""},
		{"completed: succeeded is done", PodCompleted(), succeededStatus, true, ""},
		{"completed: running", PodCompleted(), readyStatus, false, ""},
		{"ephemeral running: no status yet", EphemeralContainerRunning("dbg"), readyStatus, false, ""},
		{"ephemeral running: waiting", EphemeralContainerRunning("dbg"),
			withEphemeral(readyStatus, waitingStatus("dbg", "ContainerCreating", "")), false, ""},
		{"ephemeral running: running", EphemeralContainerRunning("dbg"),
			withEphemeral(readyStatus, runningStatus("dbg")), true, ""},
		{"ephemeral running: already terminated", EphemeralContainerRunning("dbg"),
			withEphemeral(readyStatus, terminatedStatus("dbg", 0, "Completed")), true, ""},
		{"ephemeral running: another one runs", EphemeralContainerRunning("dbg"),
			withEphemeral(readyStatus, runningStatus("other")), false, ""},
		{"ephemeral terminated: running", EphemeralContainerTerminated("dbg"),
			withEphemeral(readyStatus, runningStatus("dbg")), false, ""},
		{"ephemeral terminated: exit 1 is done", EphemeralContainerTerminated("dbg"),
			withEphemeral(readyStatus, terminatedStatus("dbg", 1, "Error")), true, ""},
		{"ephemeral terminated: pod failed first", EphemeralContainerTerminated("dbg"), failedStatus, false,
			`pod ns/web: container "dbg": Failed: pod stopped before the ephemeral container could run`},
		{"ephemeral terminated: stuck app container does not matter", EphemeralContainerTerminated("dbg"),
			withEphemeral(stuckStatus("ImagePullBackOff", "x"), runningStatus("dbg")), false, ""},
	}
	for _, r := range stuckReasons {
		want := fmt.Sprintf(`pod ns/web: container "app": %s: %s`, r.reason, r.message)
		for _, c := range []struct {
			name string
			cond PodCondition
		}{{"ready", PodReady()}, {"running", PodRunning()}, {"succeeded", PodSucceeded()}, {"completed", PodCompleted()},
			{"container started", ContainerStarted("app")}, {"container succeeded", ContainerSucceeded("app")}} {
			tests = append(tests, tc{c.name + ": " + r.reason, c.cond, stuckStatus(r.reason, r.message), false, want})
		}
		wantEph := fmt.Sprintf(`pod ns/web: container "dbg": %s: %s`, r.reason, r.message)
		eph := withEphemeral(readyStatus, waitingStatus("dbg", r.reason, r.message))
		tests = append(tests,
			tc{"ephemeral running: " + r.reason, EphemeralContainerRunning("dbg"), eph, false, wantEph},
			tc{"ephemeral terminated: " + r.reason, EphemeralContainerTerminated("dbg"), eph, false, wantEph})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, err := tt.cond(statusPod("1", tt.status))
			if done != tt.wantDone || errString(err) != tt.wantErr {
				t.Fatalf("got (%v, %q), want (%v, %q)", done, errString(err), tt.wantDone, tt.wantErr)
			}
			if err != nil {
				var stuck *PodStuckError
				if !errors.As(err, &stuck) {
					t.Errorf("error is %T, want *PodStuckError", err)
				}
			}
		})
	}
}

func TestIsTerminalReason(t *testing.T) {
	for reason, want := range map[string]bool{
		"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
		"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
		"ErrImageNeverPull": true, "ContainerCreating": false, "CrashLoopBackOff": false, "": false,
	} {
		if got := IsTerminalReason(reason); got != want {
			t.Errorf("IsTerminalReason(%q) = %v, want %v", reason, got, want)
		}
	}
}

func TestDescribePod(t *testing.T) {
	status := corev1.PodStatus{Phase: corev1.PodPending,
		InitContainerStatuses:      []corev1.ContainerStatus{terminatedStatus("init", 0, "Completed")},
		ContainerStatuses:          []corev1.ContainerStatus{waitingStatus("app", "ContainerCreating", ""), runningStatus("side")},
		EphemeralContainerStatuses: []corev1.ContainerStatus{waitingStatus("dbg", "ErrImagePull", "not found")},
	}
	want := "phase Pending; init container init terminated: exit code 0 (Completed); container app waiting: ContainerCreating; " +
		"container side running; ephemeral container dbg waiting: ErrImagePull: not found"
	if got := DescribePod(statusPod("1", status)); got != want {
		t.Errorf("DescribePod =\n%s\nwant\n%s", got, want)
	}
	if got := DescribePod(nil); got != "not seen" {
		t.Errorf("DescribePod(nil) = %q", got)
	}
}

// TestUnlessDeletingNamesTheController checks that a wait on a pod being
// deleted names the pod's controller when it has one: a copy that kept its
// original's labels is adopted by the original's ReplicaSet, which deletes
// it, and "is being deleted" alone does not say why.
func TestUnlessDeletingNamesTheController(t *testing.T) {
	now := metav1.Now()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-copy", DeletionTimestamp: &now},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	_, err := unlessDeleting(PodReady())(pod)
	if want := "pod ns/web-copy is being deleted"; err == nil || err.Error() != want {
		t.Errorf("without a controller: error %v, want %q", err, want)
	}
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d4f8", Controller: ptr.To(true)}}
	_, err = unlessDeleting(PodReady())(pod)
	if want := "pod ns/web-copy is being deleted (its controller: ReplicaSet web-5d4f8)"; err == nil || err.Error() != want {
		t.Errorf("with a controller: error %v, want %q", err, want)
	}
}

func TestContainerStatus(t *testing.T) {
	st := func(names ...string) []corev1.ContainerStatus {
		var s []corev1.ContainerStatus
		for _, n := range names {
			s = append(s, corev1.ContainerStatus{Name: n})
		}
		return s
	}
	all := statusPod("1", corev1.PodStatus{InitContainerStatuses: st("init"), ContainerStatuses: st("app", "side"), EphemeralContainerStatuses: st("dbg")})
	one := statusPod("1", corev1.PodStatus{ContainerStatuses: st("app")})
	tests := []struct {
		pod        *corev1.Pod
		name, want string // want "" for nil
	}{
		{all, "init", "init"},
		{all, "side", "side"},
		{all, "dbg", "dbg"},
		{all, "nope", ""},
		{all, "", ""}, // several containers: "" names none
		{one, "", "app"},
	}
	for _, tt := range tests {
		got := ContainerStatus(tt.pod, tt.name)
		if (got == nil) != (tt.want == "") || got != nil && got.Name != tt.want {
			t.Errorf("ContainerStatus(%q) = %+v, want %q", tt.name, got, tt.want)
		}
	}
	if got := EphemeralStatus(all, "app"); got != nil {
		t.Errorf("EphemeralStatus(app) = %+v: app is no ephemeral container", got)
	}
}
