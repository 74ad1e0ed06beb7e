package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

const insufficientCPU = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."

// unschedulableStatus is a pending pod's status when the scheduler cannot place it.
func unschedulableStatus(message string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message}}}
}

// unscheduledPod returns pod ns/web at rv, not bound to a node, with status.
func unscheduledPod(rv string, status corev1.PodStatus) *corev1.Pod {
	return statusPod(rv, status)
}

// onNode binds pod to node vm.
func onNode(pod *corev1.Pod) *corev1.Pod {
	pod.Spec.NodeName = "vm"
	return pod
}

func TestPodUnschedulable(t *testing.T) {
	nominated := unschedulableStatus(insufficientCPU)
	nominated.NominatedNodeName = "vm"
	gated := corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}}
	bound := onNode(unscheduledPod("1", unschedulableStatus(insufficientCPU)))
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"insufficient cpu", unscheduledPod("1", unschedulableStatus(insufficientCPU)), "pod ns/web: Unschedulable: " + insufficientCPU},
		{"node selector", unscheduledPod("1", unschedulableStatus("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")),
			"pod ns/web: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		{"no message", unscheduledPod("1", unschedulableStatus("")), "pod ns/web: Unschedulable: the scheduler cannot place the pod"},
		{"not looked at yet", unscheduledPod("1", corev1.PodStatus{Phase: corev1.PodPending}), ""},
		{"scheduling gated", unscheduledPod("1", gated), ""},
		{"preemption under way", unscheduledPod("1", nominated), ""},
		{"claim being bound", unscheduledPod("1", unschedulableStatus("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: ...")), ""},
		{"claim not created yet", unscheduledPod("1", unschedulableStatus(`0/1 nodes are available: persistentvolumeclaim "data" not found. preemption: ...`)), ""},
		{"ephemeral claim being created", unscheduledPod("1", unschedulableStatus(`0/1 nodes are available: waiting for ephemeral volume controller to create the persistentvolumeclaim "web-scratch".`)), ""},
		{"bound since", bound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PodUnschedulable(tt.pod)
			if errString(err) != tt.want {
				t.Fatalf("PodUnschedulable = %q, want %q", errString(err), tt.want)
			}
			if err != nil && !IsUnschedulable(err) {
				t.Errorf("IsUnschedulable(%v) = false", err)
			}
			// Every condition that waits for a pod to start fails the same way.
			for name, cond := range map[string]PodCondition{"ready": PodReady(), "running": PodRunning(), "succeeded": PodSucceeded(), "completed": PodCompleted()} {
				if done, got := cond(tt.pod); done || errString(got) != tt.want {
					t.Errorf("%s: (%v, %q), want (false, %q)", name, done, errString(got), tt.want)
				}
			}
		})
	}
	if IsUnschedulable(&PodStuckError{Pod: "ns/web", Container: "app", Reason: "Unschedulable"}) || IsUnschedulable(errors.New("Unschedulable")) {
		t.Error("IsUnschedulable is true for another error")
	}
}

func TestDescribeUnschedulablePod(t *testing.T) {
	got := DescribePod(unscheduledPod("1", unschedulableStatus(insufficientCPU)))
	if want := "phase Pending; not scheduled: Unschedulable: " + insufficientCPU; got != want {
		t.Errorf("DescribePod =\n%s\nwant\n%s", got, want)
	}
}

func TestCheckEphemeralTarget(t *testing.T) {
	const refused = "; an ephemeral container would never start there and could never be removed, so none was added"
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"running", onNode(statusPod("1", readyStatus)), ""},
		{"running, not ready", onNode(statusPod("1", runningNotReadyStatus)), ""},
		{"unschedulable", unscheduledPod("1", unschedulableStatus(insufficientCPU)), "pod ns/web is not running: Unschedulable: " + insufficientCPU + refused},
		{"unschedulable, preemption under way", unscheduledPod("1", func() corev1.PodStatus {
			s := unschedulableStatus(insufficientCPU)
			s.NominatedNodeName = "vm"
			return s
		}()), "pod ns/web is not running: Unschedulable: " + insufficientCPU + refused},
		{"not scheduled yet", unscheduledPod("1", corev1.PodStatus{Phase: corev1.PodPending}), "pod ns/web is not running: Pending: not scheduled on a node yet" + refused},
		{"containers being created", onNode(statusPod("1", pendingStatus)), "pod ns/web is not running: Pending: container app waiting: ContainerCreating" + refused},
		{"scheduled, no status yet", onNode(statusPod("1", corev1.PodStatus{Phase: corev1.PodPending})), "pod ns/web is not running: Pending: scheduled on node vm, no container started yet" + refused},
		{"succeeded", onNode(statusPod("1", succeededStatus)), "pod ns/web is not running: Succeeded: container app terminated: exit code 0 (Completed)" + refused},
		{"failed", onNode(statusPod("1", failedStatus)), "pod ns/web is not running: Failed: container app terminated: exit code 2 (Error)" + refused},
		{"being deleted", deleting(onNode(statusPod("1", readyStatus))), "pod ns/web is not running: Deleting: the pod has a deletion timestamp" + refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEphemeralTarget(tt.pod)
			if errString(err) != tt.want {
				t.Fatalf("CheckEphemeralTarget =\n%q\nwant\n%q", errString(err), tt.want)
			}
			var notRunning *PodNotRunningError
			if err != nil && !errors.As(err, &notRunning) {
				t.Errorf("error is %T, want *PodNotRunningError", err)
			}
		})
	}
}

func readyNode(status corev1.ConditionStatus, reason, message string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vm"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
		{Type: corev1.NodeReady, Status: status, Reason: reason, Message: message},
	}}}
}

func TestCheckNodeReady(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want string
	}{
		{"ready", readyNode(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"), ""},
		{"not ready", readyNode(corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready: NetworkReady=false"),
			"node vm is not ready (Ready=False): KubeletNotReady: container runtime network not ready: NetworkReady=false; its kubelet would not start a pod"},
		{"unknown", readyNode(corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."),
			"node vm is not ready (Ready=Unknown): NodeStatusUnknown: Kubelet stopped posting node status.; its kubelet would not start a pod"},
		{"no words", readyNode(corev1.ConditionFalse, "", ""), "node vm is not ready (Ready=False); its kubelet would not start a pod"},
		{"no Ready condition", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vm"}},
			"node vm is not ready (Ready=Unknown): the node has no Ready condition: its kubelet has not reported; its kubelet would not start a pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errString(CheckNodeReady(tt.node)); got != tt.want {
				t.Errorf("CheckNodeReady =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	// Cordoned is not NotReady: a warning, not an error.
	node := readyNode(corev1.ConditionTrue, "KubeletReady", "")
	if err := CheckNodeReady(node); err != nil || CordonedWarning(node) != "" {
		t.Errorf("ready, not cordoned: %v, %q", err, CordonedWarning(node))
	}
	node.Spec.Unschedulable = true
	if err, w := CheckNodeReady(node), CordonedWarning(node); err != nil || w == "" {
		t.Errorf("cordoned: %v, %q; want no error and a warning", err, w)
	}
}

// manualWatch returns a watch whose events the test sends when it wants.
func manualWatch() *watch.FakeWatcher { return watch.NewFakeWithChanSize(10, false) }

// TestUnschedulableGrace checks both waits (the shared watcher's and WaitForPod): an
// Unschedulable verdict fails the wait only when it still holds at the end of the grace.
func TestUnschedulableGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	defer func(g time.Duration) { unschedulableGrace = g }(unschedulableGrace)
	unschedulableGrace = grace
	waits := map[string]func(ctx context.Context, c *Clients, cond PodCondition) (*corev1.Pod, error){
		"watcher": func(ctx context.Context, c *Clients, cond PodCondition) (*corev1.Pod, error) {
			// The watcher's own grace (the package's default is its fallback).
			w := NewPodWatcherWithOptions(c, "ns", PodWatcherOptions{UnschedulableGrace: unschedulableGrace})
			defer w.Stop()
			return w.Wait(ctx, "web", cond)
		},
		"single": func(ctx context.Context, c *Clients, cond PodCondition) (*corev1.Pod, error) {
			return WaitForPod(ctx, c, "ns", "web", cond)
		},
	}
	scheduled := statusPod("3", readyStatus)
	for name, wait := range waits {
		t.Run(name+": still unschedulable after the grace", func(t *testing.T) {
			fw := manualWatch()
			c := NewClientsWith(watchedClientset(fw, unscheduledPod("1", unschedulableStatus(insufficientCPU))), nil, nil, "ns")
			start := time.Now()
			// A new message from the scheduler's retry does not restart the grace.
			time.AfterFunc(grace/4, func() {
				fw.Modify(unscheduledPod("2", unschedulableStatus("0/1 nodes are available: 1 Too many pods.")))
			})
			pod, err := wait(testContext(t), c, PodReady())
			took := time.Since(start)
			t.Logf("failed after %s (grace %s)", took.Round(time.Millisecond), grace)
			if !IsUnschedulable(err) || errString(err) != "pod ns/web: Unschedulable: 0/1 nodes are available: 1 Too many pods." {
				t.Fatalf("error = %v, want the scheduler's latest message", err)
			}
			if took < grace {
				t.Errorf("failed after %s, before the grace of %s", took, grace)
			}
			if pod == nil || pod.ResourceVersion != "2" {
				t.Errorf("pod = %v, want the last state seen (rv 2)", pod)
			}
		})
		t.Run(name+": placed within the grace", func(t *testing.T) {
			fw := manualWatch()
			c := NewClientsWith(watchedClientset(fw, unscheduledPod("1", unschedulableStatus(insufficientCPU))), nil, nil, "ns")
			time.AfterFunc(grace/3, func() {
				fw.Modify(statusPod("2", pendingStatus))
				fw.Modify(scheduled)
			})
			pod, err := wait(testContext(t), c, PodReady())
			if err != nil || pod.ResourceVersion != "3" {
				t.Fatalf("(%v, %v), want the ready pod", pod, err)
			}
		})
		t.Run(name+": other errors are not held", func(t *testing.T) {
			fw := manualWatch()
			c := NewClientsWith(watchedClientset(fw, statusPod("1", stuckStatus("ErrImagePull", "not found"))), nil, nil, "ns")
			_, err := wait(testContext(t), c, PodReady())
			var stuck *PodStuckError
			if !errors.As(err, &stuck) || stuck.Reason != "ErrImagePull" {
				t.Errorf("error %v: want ErrImagePull", err)
			}
		})
		t.Run(name+": the step's timeout comes first", func(t *testing.T) {
			fw := manualWatch()
			c := NewClientsWith(watchedClientset(fw, unscheduledPod("1", unschedulableStatus(insufficientCPU))), nil, nil, "ns")
			unschedulableGrace = time.Minute
			defer func() { unschedulableGrace = grace }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := wait(ctx, c, PodReady())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want the deadline", err)
			}
			if want := "not scheduled: Unschedulable: " + insufficientCPU; !strings.Contains(errString(err), want) {
				t.Errorf("error %q does not say %q", errString(err), want)
			}
		})
	}
}

// testContext bounds a test that waits, so a bug fails instead of hanging.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
