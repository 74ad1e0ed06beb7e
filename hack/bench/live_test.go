package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/report"
)

func TestBusy(t *testing.T) {
	step := func(from, to int) report.StepResult {
		return report.StepResult{StartedAt: at(from, 0), FinishedAt: at(to, 0)}
	}
	tests := []struct {
		name  string
		steps []report.StepResult
		want  time.Duration
	}{
		{"none", nil, 0},
		{"one after the other, with a gap", []report.StepResult{step(0, 2), step(3, 4)}, 3 * time.Second},
		{"a parallel group counts once", []report.StepResult{step(0, 1), step(1, 5), step(1, 3), step(2, 4)}, 5 * time.Second},
		{"unsorted, nested", []report.StepResult{step(6, 7), step(0, 4), step(1, 2)}, 5 * time.Second},
		{"steps without times are left out", []report.StepResult{step(0, 1), {FinishedAt: at(9, 0)}, {}}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Busy(&report.Result{Steps: tt.steps}); got != tt.want {
				t.Errorf("Busy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{}
		mut(p)
		return p
	}
	eph := func(s corev1.ContainerState) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "other"}, {Name: "dbg", State: s}}
		}
	}
	tests := []struct {
		name    string
		cond    func(*corev1.Pod) (bool, error)
		pod     *corev1.Pod
		want    bool
		wantErr string
	}{
		{"ready", podReady, pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}), true, ""},
		{"not ready yet", podReady, pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		}), false, ""},
		{"never ready", podReady, pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), false, "phase Failed, it will never be Ready"},
		{"ephemeral not in the status yet", containerTerminated("dbg", true), pod(func(*corev1.Pod) {}), false, ""},
		{"ephemeral creating", containerTerminated("dbg", true), pod(eph(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}})), false, ""},
		{"ephemeral terminated", containerTerminated("dbg", true), pod(eph(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}})), true, ""},
		{"ephemeral cannot start", containerTerminated("dbg", true), pod(eph(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "no registry"}})),
			false, "container dbg waiting: ErrImagePull no registry"},
		{"a pod's container terminated, the phase still Running", containerTerminated("dbg", false), pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "dbg", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
		}), true, ""},
		{"a pod's container running", containerTerminated("dbg", false), pod(func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "dbg", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), false, ""},
		{"an ephemeral container is not the pod's", containerTerminated("dbg", false), pod(eph(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}})), false, ""},
		{"a pod failed without a status", containerTerminated("dbg", false), pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), false, "phase Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cond(tt.pod)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("= %v, %v; want %v, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestPodWatchUntil checks that a wait returns when the informer delivers
// the state it waits for, not before, and reports a state that cannot lead
// there.
func TestPodWatchUntil(t *testing.T) {
	ctx := t.Context()
	cs := fake.NewClientset()
	w, err := watchPods(ctx, cs, "ns", "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	pods := cs.CoreV1().Pods("ns")
	p, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan time.Time, 1)
	go func() {
		// A change that does not satisfy the wait, then one that does.
		p.Status.Phase = corev1.PodRunning
		if p, err = pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
			return
		}
		released <- time.Now()
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}
		if _, err := pods.UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	seen, err := w.until(ctx, "ns", "p", "terminated", containerTerminated("c", false))
	if err != nil {
		t.Fatal(err)
	}
	if r := <-released; seen.Before(r) {
		t.Errorf("the wait ended at %v, before the pod succeeded (after %v)", seen, r)
	}
	obj, _, _ := w.store.GetByKey("ns/p")
	if ph := obj.(*corev1.Pod).Status.Phase; ph != corev1.PodSucceeded {
		t.Errorf("the store holds phase %s when the wait ended", ph)
	}

	if _, err := w.until(ctx, "ns", "p", "Ready", podReady); err == nil || err.Error() != "pod p: phase Succeeded, it will never be Ready" {
		t.Errorf("a wait for Ready on a completed pod: %v, want its phase", err)
	}
}

func TestRunLiveUsage(t *testing.T) {
	for _, args := range [][]string{
		{"kubelet-floor"},
		{"ceiling", "-n", "ns"},
		{"version", "extra"},
	} {
		if err := run(args, &strings.Builder{}); err == nil || err.Error() != usage {
			t.Errorf("run(%q) error = %v, want the usage", args, err)
		}
	}
	if err := run([]string{"ceiling", "-x"}, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -x") {
		t.Errorf("an unknown flag: %v", err)
	}
}
