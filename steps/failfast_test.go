package steps

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// The steps that fail fast, with the cluster's own words: a pod the scheduler cannot
// place, a pod that cannot take an ephemeral container, a node that is not ready, a
// previous log the kubelet cannot serve yet.

const schedulerSays = "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."

// unschedulable makes pod pending, unbound, with the scheduler's verdict.
func unschedulable(pod *corev1.Pod) *corev1.Pod {
	pod.Spec.NodeName = ""
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: schedulerSays}}}
	return pod
}

// shortGrace makes env's pod watchers give the scheduler grace instead of 5 s.
func shortGrace(env *testEnv, grace time.Duration) {
	var mu sync.Mutex
	watchers := map[string]*kube.PodWatcher{}
	env.Pods = func(ns string) *kube.PodWatcher {
		mu.Lock()
		defer mu.Unlock()
		if watchers[ns] == nil {
			watchers[ns] = kube.NewPodWatcherWithOptions(env.Clients, ns, kube.PodWatcherOptions{UnschedulableGrace: grace})
		}
		return watchers[ns]
	}
}

// patches counts the ephemeral container patches the fake received.
func patches(env *testEnv) int {
	n := 0
	for _, a := range env.kube.Actions() {
		if a.GetVerb() == "patch" {
			n++
		}
	}
	return n
}

func TestDebugRefusesAPodThatIsNotRunning(t *testing.T) {
	completed := readyPod("web")
	completed.Status = corev1.PodStatus{Phase: corev1.PodSucceeded}
	creating := readyPod("web")
	creating.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}
	now := metav1.Now()
	terminating := readyPod("web")
	terminating.DeletionTimestamp = &now
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"unschedulable", unschedulable(readyPod("web")), "pod default/web is not running: Unschedulable: " + schedulerSays},
		{"pending", creating, "pod default/web is not running: Pending: container app waiting: ContainerCreating"},
		{"completed", completed, "pod default/web is not running: Succeeded: the pod has completed"},
		{"being deleted", terminating, "pod default/web is not running: Deleting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, []runtime.Object{tt.pod})
			start := time.Now()
			out := (&EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")},
				DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36"), Command: []expression.Template{tpl(t, "ps")}}}).Run(testCtx(t), env.Env)
			var notRunning *kube.PodNotRunningError
			if !errors.As(out.Err, &notRunning) || !strings.HasPrefix(out.Err.Error(), tt.want) {
				t.Fatalf("error = %v, want a *kube.PodNotRunningError starting %q", out.Err, tt.want)
			}
			t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), out.Err)
			if n := patches(env); n != 0 || len(out.Leftovers) != 0 {
				t.Errorf("%d patches, leftovers %v: want nothing added", n, out.Leftovers)
			}
			if out.Pod == nil {
				t.Error("the pod is not in the result")
			}
		})
	}
}

func TestWaitsOnAnUnschedulablePod(t *testing.T) {
	const grace = 200 * time.Millisecond
	wantErr := "pod default/web: Unschedulable: " + schedulerSays

	t.Run("apply waitFor Running", func(t *testing.T) {
		env := newTestEnv(t, nil)
		shortGrace(env, grace)
		env.kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			unschedulable(a.(k8stesting.CreateAction).GetObject().(*corev1.Pod))
			return false, nil, nil
		})
		start := time.Now()
		out := (&ApplyStep{Manifest: tpl(t, strings.Replace(podManifest, "noshell", "web", 1)), WaitFor: "Running"}).Run(testCtx(t), env.Env)
		t.Logf("failed in %s (grace %s): %v", time.Since(start).Round(time.Millisecond), grace, out.Err)
		if errString(out.Err) != wantErr || !kube.IsUnschedulable(out.Err) {
			t.Fatalf("error = %v, want %s", out.Err, wantErr)
		}
	})
	t.Run("copy", func(t *testing.T) {
		env := newTestEnv(t, []runtime.Object{readyPod("web")})
		shortGrace(env, grace)
		env.kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
			unschedulable(a.(k8stesting.CreateAction).GetObject().(*corev1.Pod))
			return false, nil, nil
		})
		out := (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, To: tpl(t, "web-copy"),
			DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}).Run(testCtx(t), env.Env)
		if want := strings.Replace(wantErr, "default/web", "default/web-copy", 1); errString(out.Err) != want {
			t.Fatalf("error = %v, want %s", out.Err, want)
		}
	})
	t.Run("wait step", func(t *testing.T) {
		env := newTestEnv(t, []runtime.Object{unschedulable(readyPod("web"))})
		shortGrace(env, grace)
		out := (&WaitStep{Kind: "Pod", Name: tpl(t, "web"), For: cond(t, `object.status.phase == "Running"`)}).Run(testCtx(t), env.Env)
		if errString(out.Err) != wantErr || out.Object == nil {
			t.Fatalf("error = %v (object %v), want %s and the pod", out.Err, out.Object != nil, wantErr)
		}
		// Waiting for the verdict itself is no failure.
		out = (&WaitStep{Kind: "Pod", Name: tpl(t, "web"), For: cond(t, `object.status.conditions[0].reason == "Unschedulable"`)}).Run(testCtx(t), env.Env)
		if out.Err != nil {
			t.Fatalf("error = %v, want the wait to be over", out.Err)
		}
	})
	t.Run("node step by an unschedulable pod", func(t *testing.T) {
		env := newTestEnv(t, []runtime.Object{unschedulable(readyPod("web"))})
		env.AllowPrivileged = true
		out := (&NodeStep{Pod: tpl(t, "web"), DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}).Run(testCtx(t), env.Env)
		if want := "pod default/web is not scheduled on a node: " + wantErr; errString(out.Err) != want {
			t.Fatalf("error = %v, want %s", out.Err, want)
		}
	})
}

// node returns node vm with its Ready condition.
func node(ready corev1.ConditionStatus, reason, message string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vm"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: ready, Reason: reason, Message: message}}}}
}

func TestNodeStepOnANodeThatIsNotReady(t *testing.T) {
	step := &NodeStep{Name: tpl(t, "vm"), WaitFor: "Running", DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}
	for _, n := range []*corev1.Node{
		node(corev1.ConditionFalse, "KubeletNotReady", "container runtime is down"),
		node(corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."),
	} {
		env := newTestEnv(t, []runtime.Object{n})
		env.AllowPrivileged = true
		start := time.Now()
		out := step.Run(testCtx(t), env.Env)
		c := n.Status.Conditions[0]
		want := fmt.Sprintf("node vm is not ready (Ready=%s): %s: %s; its kubelet would not start a pod", c.Status, c.Reason, c.Message)
		if errString(out.Err) != want {
			t.Fatalf("error = %v, want %s", out.Err, want)
		}
		t.Logf("failed in %s: %v", time.Since(start).Round(time.Millisecond), out.Err)
		for _, a := range env.kube.Actions() {
			if a.GetVerb() == "create" {
				t.Errorf("a pod was created on a node that is not ready: %v", a)
			}
		}
		if out.Node == nil {
			t.Error("the node is not in the result")
		}
	}

	// Cordoned: the pod runs there anyway (kubectl debug node does too), with a warning.
	cordoned := node(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")
	cordoned.Spec.Unschedulable = true
	env := newTestEnv(t, []runtime.Object{cordoned})
	env.AllowPrivileged = true
	markPodsReady(env.kube)
	out := step.Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if len(out.Warnings) != 1 || !strings.HasPrefix(out.Warnings[0], "node vm is cordoned (spec.unschedulable)") {
		t.Errorf("warnings %q, want one saying the node is cordoned", out.Warnings)
	}
}

// logServer returns clients of a server that answers the i-th log request with
// answers[i] (the last one ever after), as the kubelet does: status 200 and the body.
func logServer(t *testing.T, answers ...string) *kube.Clients {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, a)
	}))
	t.Cleanup(srv.Close)
	c, err := kube.NewClientsForConfig(&rest.Config{Host: srv.URL}, "default", "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLogsPreviousRightAfterARestart(t *testing.T) {
	const unreadable = "unable to retrieve container logs for containerd://d3c229e37f29"
	env := newTestEnv(t, nil)
	env.Clients = logServer(t, unreadable, "the crash\n")
	var logged []string
	env.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	out := (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, "app"), Previous: true}).Run(testCtx(t), env.Env)
	if out.Err != nil || out.Stdout != "the crash\n" {
		t.Fatalf("(%q, %v), want the previous instance's output", out.Stdout, out.Err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], unreadable) {
		t.Errorf("progress %q, want one line with the kubelet's words", logged)
	}

	// Without previous, the kubelet's error fails the step at once: it is no log.
	env.Clients = logServer(t, unreadable)
	out = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, "app")}).Run(testCtx(t), env.Env)
	var unavailable *kube.LogUnavailableError
	if !errors.As(out.Err, &unavailable) || out.Stdout != "" {
		t.Fatalf("(%q, %v), want no output and a *kube.LogUnavailableError", out.Stdout, out.Err)
	}
}
