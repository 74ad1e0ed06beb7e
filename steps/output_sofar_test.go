package steps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// The output of a debug or node step that ends by its timeout, the run's or
// an interrupt is kept, as an exec step keeps it: what the step followed
// until then, or, when it had not followed the log yet, one log read made
// after the end. A container that never started has no log to read.

// streamedLog is a kubelet whose log of every container is text: a followed
// log is written at once and then held open, as a command that prints and
// hangs (tcpdump, journalctl -f) has it; a log read without following is the
// text. It records each request's follow.
type streamedLog struct {
	text    string
	mu      sync.Mutex
	follows []bool
}

func (l *streamedLog) requests() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.follows)
}

// serve returns clients whose pods' logs come from l, everything else from env's fakes.
func (l *streamedLog) serve(t *testing.T, env *testEnv) *kube.Clients {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		follow := r.URL.Query().Get("follow") == "true"
		l.mu.Lock()
		l.follows = append(l.follows, follow)
		l.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, l.text)
		if follow {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	real, err := kube.NewClientsForConfig(&rest.Config{Host: srv.URL}, "default", "test")
	if err != nil {
		t.Fatal(err)
	}
	return kube.NewClientsWith(logsFrom{env.kube, real.Kube.CoreV1()}, env.dyn, nil, "default")
}

// logsFrom is a clientset whose pods' GetLogs are logs'.
type logsFrom struct {
	*fake.Clientset
	logs typedcorev1.CoreV1Interface
}

func (c logsFrom) CoreV1() typedcorev1.CoreV1Interface {
	return logsCore{c.Clientset.CoreV1(), c.logs}
}

type logsCore struct {
	typedcorev1.CoreV1Interface
	logs typedcorev1.CoreV1Interface
}

func (c logsCore) Pods(ns string) typedcorev1.PodInterface {
	return logsPods{c.CoreV1Interface.Pods(ns), c.logs.Pods(ns)}
}

type logsPods struct {
	typedcorev1.PodInterface
	logs typedcorev1.PodInterface
}

func (p logsPods) GetLogs(name string, o *corev1.PodLogOptions) *rest.Request {
	return p.logs.GetLogs(name, o)
}

// runningDebugger makes the fake answer the ephemeral container patch of pod web, and
// report the container running after 50 ms, for ever (when run is set).
func runningDebugger(t *testing.T, env *testEnv, run bool) {
	pods := corev1.SchemeGroupVersion.WithResource("pods")
	env.kube.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		pod := readyPod("web")
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox:1.36"}}}
		if run {
			go func() {
				time.Sleep(50 * time.Millisecond)
				p := pod.DeepCopy()
				p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "debugger", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
				if err := env.kube.Tracker().Update(pods, p, "default"); err != nil {
					t.Errorf("updating the pod: %v", err)
				}
			}()
		}
		return true, pod, nil
	})
}

func TestOutputKeptWhenTheStepEnds(t *testing.T) {
	const printed = "line-1\nline-2\nline-3\n"
	debugStep := func(t *testing.T) Action {
		return &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")},
			DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36"), Command: []expression.Template{tpl(t, "sh"), tpl(t, "-c"), tpl(t, "tcpdump")}}}
	}
	nodeStep := func(t *testing.T) Action {
		return &NodeStep{Name: tpl(t, "vm"), DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36"), Command: []expression.Template{tpl(t, "journalctl"), tpl(t, "-f")}}}
	}
	tests := []struct {
		name string
		step func(*testing.T) Action
		// started: the container starts (and never ends).
		started bool
		// after: when the step's context ends; interrupt cancels it instead of a timeout.
		after     time.Duration
		interrupt bool
		maxOutput int
		// want: the log requests (their follow), stdout and truncated.
		wantFollows   []bool
		wantStdout    string
		wantTruncated bool
	}{
		{name: "debug followed, then its timeout", step: debugStep, started: true, after: followAfter + time.Second,
			wantFollows: []bool{true}, wantStdout: printed},
		{name: "debug followed, then an interrupt", step: debugStep, started: true, after: followAfter + time.Second, interrupt: true,
			wantFollows: []bool{true}, wantStdout: printed},
		{name: "debug followed past the output limit", step: debugStep, started: true, after: followAfter + time.Second, maxOutput: 9,
			wantFollows: []bool{true}, wantStdout: printed[:9], wantTruncated: true},
		{name: "debug interrupted before it followed", step: debugStep, started: true, after: 500 * time.Millisecond, interrupt: true,
			wantFollows: []bool{false}, wantStdout: printed},
		{name: "debug not started", step: debugStep, after: 300 * time.Millisecond},
		{name: "node followed, then its timeout", step: nodeStep, started: true, after: followAfter + time.Second,
			wantFollows: []bool{true}, wantStdout: printed},
		{name: "node followed, then an interrupt", step: nodeStep, started: true, after: followAfter + time.Second, interrupt: true,
			wantFollows: []bool{true}, wantStdout: printed},
		{name: "node followed past the output limit", step: nodeStep, started: true, after: followAfter + time.Second, maxOutput: 9,
			wantFollows: []bool{true}, wantStdout: printed[:9], wantTruncated: true},
		{name: "node timed out before it followed", step: nodeStep, started: true, after: 500 * time.Millisecond,
			wantFollows: []bool{false}, wantStdout: printed},
		{name: "node not started", step: nodeStep, after: 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, []runtime.Object{readyPod("web"), node(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")})
			env.AllowPrivileged = true
			if tt.maxOutput > 0 {
				env.MaxOutput = tt.maxOutput
			}
			l := &streamedLog{text: printed}
			env.Clients = l.serve(t, env)
			if _, ok := tt.step(t).(*NodeStep); ok {
				if tt.started {
					markPodsReady(env.kube)
				}
			} else {
				runningDebugger(t, env, tt.started)
			}
			var ctx context.Context
			interrupted := errors.New("interrupted")
			if tt.interrupt {
				c, cancel := context.WithCancelCause(testCtx(t))
				time.AfterFunc(tt.after, func() { cancel(interrupted) })
				ctx = c
			} else {
				c, cancel := context.WithTimeout(testCtx(t), tt.after)
				t.Cleanup(cancel)
				ctx = c
			}
			out := tt.step(t).Run(ctx, env.Env)
			if out.Err == nil || ctx.Err() == nil {
				t.Fatalf("error %v, context %v: want the step to end with its context", out.Err, ctx.Err())
			}
			if got := l.requests(); !slices.Equal(got, tt.wantFollows) {
				t.Errorf("log requests with follow = %v, want %v", got, tt.wantFollows)
			}
			if out.Stdout != tt.wantStdout || out.StdoutTruncated != tt.wantTruncated {
				t.Errorf("stdout %q (truncated %v), want %q (%v)", out.Stdout, out.StdoutTruncated, tt.wantStdout, tt.wantTruncated)
			}
			if len(out.Warnings) > 0 {
				t.Errorf("warnings %q, want none", out.Warnings)
			}
		})
	}
}
