package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
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
		}{{"ready", PodReady()}, {"running", PodRunning()}, {"succeeded", PodSucceeded()}, {"completed", PodCompleted()}} {
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

// watchedClientset returns a fake clientset holding objs whose pod watches return w.
func watchedClientset(w watch.Interface, objs ...runtime.Object) *fake.Clientset {
	kube := fake.NewSimpleClientset(objs...)
	kube.PrependWatchReactor("pods", func(clienttesting.Action) (bool, watch.Interface, error) {
		return true, w, nil
	})
	return kube
}

// bufferedWatch returns a fake watch already holding events, so that a wait reads them in
// order without any timing.
func bufferedWatch(events ...watch.Event) *watch.FakeWatcher {
	w := watch.NewFakeWithChanSize(len(events)+1, false)
	for _, e := range events {
		w.Action(e.Type, e.Object)
	}
	return w
}

func TestWaitForPod(t *testing.T) {
	recreated := statusPod("4", readyStatus)
	recreated.UID = "uid-2"
	tests := []struct {
		name     string
		initial  *corev1.Pod // nil: not in the cluster
		events   []watch.Event
		cond     PodCondition
		wantRV   string
		wantErr  string
		wantType any
	}{
		{
			name:    "already ready",
			initial: statusPod("1", readyStatus),
			cond:    PodReady(),
			wantRV:  "1",
		},
		{
			name:    "ready after events",
			initial: statusPod("1", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: statusPod("2", runningNotReadyStatus)},
				{Type: watch.Modified, Object: statusPod("3", readyStatus)},
			},
			cond:   PodReady(),
			wantRV: "3",
		},
		{
			name:    "image cannot be pulled",
			initial: statusPod("1", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: statusPod("2", stuckStatus("ErrImagePull", "not found"))},
				{Type: watch.Modified, Object: statusPod("3", stuckStatus("ImagePullBackOff", `Back-off pulling image "nope:1"`))},
			},
			cond:     PodReady(),
			wantRV:   "2",
			wantErr:  `pod ns/web: container "app": ErrImagePull: not found`,
			wantType: &PodStuckError{},
		},
		{
			name:    "deleted while waiting",
			initial: statusPod("1", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: statusPod("2", runningNotReadyStatus)},
				{Type: watch.Deleted, Object: statusPod("3", runningNotReadyStatus)},
			},
			cond:     PodReady(),
			wantRV:   "2",
			wantErr:  "pod ns/web was deleted or does not exist",
			wantType: &PodGoneError{},
		},
		{
			name:    "deleted and created again",
			initial: statusPod("1", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: recreated},
			},
			cond:     PodReady(),
			wantRV:   "1",
			wantErr:  "pod ns/web was deleted or does not exist",
			wantType: &PodGoneError{},
		},
		{
			name:    "resource versions that cannot be compared",
			initial: statusPod("", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: statusPod("", runningNotReadyStatus)},
				{Type: watch.Modified, Object: statusPod("x", readyStatus)},
			},
			cond:   PodReady(),
			wantRV: "x",
		},
		{
			name:    "deletion timestamp set while waiting",
			initial: statusPod("1", pendingStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: deleting(statusPod("2", runningNotReadyStatus))},
			},
			cond:     PodReady(),
			wantRV:   "2",
			wantErr:  "pod ns/web is being deleted",
			wantType: &PodGoneError{},
		},
		{
			name:    "deletion timestamp after success does not matter",
			initial: deleting(statusPod("1", succeededStatus)),
			cond:    PodSucceeded(),
			wantRV:  "1",
		},
		{
			name:     "does not exist",
			cond:     PodReady(),
			wantErr:  "pod ns/web was deleted or does not exist",
			wantType: &PodGoneError{},
		},
		{
			name:    "node pod fails",
			initial: statusPod("1", readyStatus),
			events: []watch.Event{
				{Type: watch.Modified, Object: statusPod("2", failedStatus)},
			},
			cond:     PodSucceeded(),
			wantRV:   "2",
			wantErr:  `pod ns/web: container "app": Failed: exit code 2 (Error)`,
			wantType: &PodStuckError{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			if tt.initial != nil {
				objs = append(objs, tt.initial)
			}
			kube := watchedClientset(bufferedWatch(tt.events...), objs...)
			c := NewClientsWith(kube, nil, nil, "ns")
			pod, err := WaitForPod(context.Background(), c, "ns", "web", tt.cond)
			if errString(err) != tt.wantErr {
				t.Fatalf("error = %q, want %q", errString(err), tt.wantErr)
			}
			if tt.wantType != nil && !errorIsType(err, tt.wantType) {
				t.Errorf("error is %T, want %T", err, tt.wantType)
			}
			var rv string
			if pod != nil {
				rv = pod.ResourceVersion
			}
			if rv != tt.wantRV {
				t.Errorf("returned pod resourceVersion %q, want %q", rv, tt.wantRV)
			}
			// The watch is limited to the one pod.
			for _, a := range kube.Actions() {
				if lw, ok := a.(clienttesting.ListAction); ok {
					if got := lw.GetListRestrictions().Fields.String(); got != "metadata.name=web" {
						t.Errorf("%s with field selector %q", a.GetVerb(), got)
					}
				}
			}
		})
	}
}

// errorIsType reports whether err is (or wraps) an error of target's type.
func errorIsType(err error, target any) bool {
	switch target.(type) {
	case *PodStuckError:
		var e *PodStuckError
		return errors.As(err, &e)
	case *PodGoneError:
		var e *PodGoneError
		return errors.As(err, &e)
	case *ObjectGoneError:
		var e *ObjectGoneError
		return errors.As(err, &e)
	}
	return false
}

func TestWaitForPodContextEnds(t *testing.T) {
	kube := watchedClientset(bufferedWatch(), statusPod("1", pendingStatus))
	c := NewClientsWith(kube, nil, nil, "ns")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stepTimeout := errors.New("step timeout 30s")
	pod, err := WaitForPod(ctx, c, "ns", "web", func(*corev1.Pod) (bool, error) {
		cancel(stepTimeout) // the deadline passes while the pod is still pending
		return false, nil
	})
	want := "waiting for pods ns/web: step timeout 30s (last seen: phase Pending; container app waiting: ContainerCreating)"
	if errString(err) != want {
		t.Fatalf("error =\n%s\nwant\n%s", errString(err), want)
	}
	if !errors.Is(err, stepTimeout) {
		t.Error("error does not wrap the context's cause")
	}
	if pod == nil || pod.ResourceVersion != "1" {
		t.Errorf("last pod = %v", pod)
	}
}

func TestPodWatcherSharesOneWatch(t *testing.T) {
	a := statusPod("1", pendingStatus)
	b := statusPod("2", pendingStatus)
	b.Name, b.UID = "db", "uid-b"
	bReady := b.DeepCopy()
	bReady.ResourceVersion, bReady.Status = "4", readyStatus
	events := []watch.Event{
		{Type: watch.Modified, Object: statusPod("3", readyStatus)},
		{Type: watch.Modified, Object: bReady},
	}
	kube := watchedClientset(bufferedWatch(events...), a, b)
	c := NewClientsWith(kube, nil, nil, "ns")
	w := NewPodWatcher(c, "ns")
	defer w.Stop()

	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i, name := range []string{"web", "db"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pod, err := w.Wait(context.Background(), name, PodReady())
			errs[i] = err
			if pod != nil {
				got[i] = pod.Name + "@" + pod.ResourceVersion
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web@3", "db@4"}, got); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	// A third wait on a pod already in the cache sends nothing.
	if _, err := w.Wait(context.Background(), "web", PodRunning()); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, a := range kube.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	if diff := cmp.Diff([]string{"list pods", "watch pods"}, verbs); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestPodWatcherWaitFrom(t *testing.T) {
	// The watcher's list (resourceVersion 10) does not have the pod.
	listAt := func(rv string) *fake.Clientset {
		kube := watchedClientset(bufferedWatch(
			watch.Event{Type: watch.Modified, Object: statusPod("13", readyStatus)},
		))
		kube.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}, nil
		})
		return kube
	}

	t.Run("watch behind the created pod: wait from it, no GET", func(t *testing.T) {
		kube := listAt("10")
		w := NewPodWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
		defer w.Stop()
		pod, err := w.WaitFrom(context.Background(), statusPod("12", pendingStatus), PodReady())
		if err != nil {
			t.Fatal(err)
		}
		if pod.ResourceVersion != "13" {
			t.Errorf("pod resourceVersion %q, want 13", pod.ResourceVersion)
		}
		for _, a := range kube.Actions() {
			if a.GetVerb() == "get" {
				t.Errorf("unexpected %s", a.GetVerb())
			}
		}
	})

	t.Run("watch past the known pod and pod absent: gone", func(t *testing.T) {
		kube := listAt("10")
		w := NewPodWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
		defer w.Stop()
		_, err := w.WaitFrom(context.Background(), statusPod("5", pendingStatus), PodReady())
		if !errorIsType(err, &PodGoneError{}) {
			t.Fatalf("error = %v, want PodGoneError", err)
		}
	})

	t.Run("stale cache entry is ignored", func(t *testing.T) {
		kube := watchedClientset(bufferedWatch(
			watch.Event{Type: watch.Modified, Object: statusPod("13", readyStatus)},
		), statusPod("3", readyStatus))
		w := NewPodWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
		defer w.Stop()
		// The cache first says ready at 3; the caller knows it is pending at 12.
		pod, err := w.WaitFrom(context.Background(), statusPod("12", pendingStatus), PodReady())
		if err != nil {
			t.Fatal(err)
		}
		if pod.ResourceVersion != "13" {
			t.Errorf("pod resourceVersion %q, want 13", pod.ResourceVersion)
		}
	})
}

func TestPodWatcherForbidden(t *testing.T) {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC says no"))
	})
	w := NewPodWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
	defer w.Stop()
	_, err := w.Wait(context.Background(), "web", PodReady())
	want := `watching pods: pods is forbidden: RBAC says no`
	if errString(err) != want {
		t.Fatalf("error = %q, want %q", errString(err), want)
	}
	if !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Error("error does not wrap the Forbidden status")
	}
}

func TestPodWatcherStopped(t *testing.T) {
	kube := watchedClientset(bufferedWatch(), statusPod("1", pendingStatus))
	w := NewPodWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
	w.Stop()
	w.Stop() // idempotent
	if _, err := w.Wait(context.Background(), "web", PodReady()); !errors.Is(err, ErrWatcherStopped) {
		t.Fatalf("error = %v, want ErrWatcherStopped", err)
	}
}

func TestPodWatcherBadInput(t *testing.T) {
	w := NewPodWatcher(nil, "")
	defer w.Stop()
	if _, err := w.Wait(context.Background(), "web", PodReady()); errString(err) != "pod watcher has no namespace" {
		t.Errorf("no namespace: %v", err)
	}
	if _, err := w.Wait(context.Background(), "web", nil); errString(err) != "no condition to wait for" {
		t.Errorf("no condition: %v", err)
	}
	if _, err := w.WaitFrom(context.Background(), nil, PodReady()); errString(err) != "no pod to wait for" {
		t.Errorf("no pod: %v", err)
	}
}

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func deployment(rv string, uid types.UID, ready int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "web", "namespace": "ns", "resourceVersion": rv, "uid": string(uid)},
		"status":     map[string]any{"readyReplicas": ready},
	}}
	return u
}

func dynamicWithWatch(w watch.Interface, objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{deploymentsGVR: "DeploymentList"}, objs...)
	dyn.PrependWatchReactor("deployments", func(clienttesting.Action) (bool, watch.Interface, error) {
		return true, w, nil
	})
	return dyn
}

func TestWaitFor(t *testing.T) {
	readyReplicas := func(u *unstructured.Unstructured) (bool, error) {
		n, _, err := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		return n == 2, err
	}
	tests := []struct {
		name    string
		initial []runtime.Object
		events  []watch.Event
		wantRV  string
		wantErr string
	}{
		{
			name:    "becomes ready",
			initial: []runtime.Object{deployment("1", "d-1", 0)},
			events: []watch.Event{
				{Type: watch.Modified, Object: deployment("2", "d-1", 1)},
				{Type: watch.Modified, Object: deployment("3", "d-1", 2)},
			},
			wantRV: "3",
		},
		{
			name:    "deleted",
			initial: []runtime.Object{deployment("1", "d-1", 0)},
			events:  []watch.Event{{Type: watch.Deleted, Object: deployment("2", "d-1", 0)}},
			wantRV:  "1",
			wantErr: "deployments.apps ns/web was deleted or does not exist",
		},
		{
			name:    "missing",
			wantErr: "deployments.apps ns/web was deleted or does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := dynamicWithWatch(bufferedWatch(tt.events...), tt.initial...)
			c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
			u, err := WaitFor(context.Background(), c, deploymentsGVR, "ns", "web", readyReplicas)
			if errString(err) != tt.wantErr {
				t.Fatalf("error = %q, want %q", errString(err), tt.wantErr)
			}
			if tt.wantErr != "" && !errorIsType(err, &ObjectGoneError{}) {
				t.Errorf("error is %T", err)
			}
			var rv string
			if u != nil {
				rv = u.GetResourceVersion()
			}
			if rv != tt.wantRV {
				t.Errorf("resourceVersion %q, want %q", rv, tt.wantRV)
			}
		})
	}
}

func TestWaitForDelete(t *testing.T) {
	t.Run("deleted while waiting", func(t *testing.T) {
		dyn := dynamicWithWatch(bufferedWatch(watch.Event{Type: watch.Deleted, Object: deployment("2", "d-1", 0)}),
			deployment("1", "d-1", 0))
		c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
		if err := WaitForDelete(context.Background(), c, deploymentsGVR, "ns", "web"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("already gone", func(t *testing.T) {
		dyn := dynamicWithWatch(bufferedWatch())
		c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
		if err := WaitForDelete(context.Background(), c, deploymentsGVR, "ns", "web"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no client", func(t *testing.T) {
		if err := WaitForDelete(context.Background(), nil, deploymentsGVR, "ns", "web"); errString(err) != "no cluster client" {
			t.Fatalf("error = %v", err)
		}
	})
}
