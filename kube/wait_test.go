package kube

import (
	"context"
	"errors"
	"testing"
	"time"

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

func TestWaitForPodListBehind(t *testing.T) {
	// The list (served from the API server's cache) does not have the pod yet: one GET.
	kube := watchedClientset(bufferedWatch(), statusPod("7", readyStatus))
	kube.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "5"}}, nil
	})
	pod, err := WaitForPod(context.Background(), NewClientsWith(kube, nil, nil, "ns"), "ns", "web", PodReady())
	if err != nil {
		t.Fatal(err)
	}
	if pod.ResourceVersion != "7" {
		t.Errorf("pod resourceVersion %q, want 7", pod.ResourceVersion)
	}
	// The watch may or may not have started when the GET answers.
	n := map[string]int{}
	for _, a := range kube.Actions() {
		n[a.GetVerb()]++
	}
	if n["list"] != 1 || n["get"] != 1 || n["watch"] > 1 || len(n) > 3 {
		t.Errorf("requests %v: want one list, one get and at most one watch", n)
	}
}

func TestWaitForPodForbidden(t *testing.T) {
	kube := fake.NewSimpleClientset()
	kube.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC says no"))
	})
	_, err := WaitForPod(context.Background(), NewClientsWith(kube, nil, nil, "ns"), "ns", "web", PodReady())
	if want := "watching pods: pods is forbidden: RBAC says no"; errString(err) != want {
		t.Fatalf("error = %q, want %q", errString(err), want)
	}
	if !apierrors.IsForbidden(err) {
		t.Error("error does not wrap the Forbidden status")
	}
}

func TestWaitForPodBadInput(t *testing.T) {
	if _, err := WaitForPod(context.Background(), nil, "ns", "web", PodReady()); errString(err) != "no cluster client" {
		t.Errorf("no client: %v", err)
	}
	c := NewClientsWith(fake.NewSimpleClientset(), nil, nil, "ns")
	if _, err := WaitForPod(context.Background(), c, "ns", "web", nil); errString(err) != "no condition to wait for" {
		t.Errorf("no condition: %v", err)
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
		{
			name:    "deleted and created again",
			initial: []runtime.Object{deployment("1", "d-1", 0)},
			events:  []watch.Event{{Type: watch.Modified, Object: deployment("3", "d-2", 2)}},
			wantRV:  "1",
			wantErr: "deployments.apps ns/web was deleted or does not exist",
		},
		{
			name:    "stale event skipped",
			initial: []runtime.Object{deployment("5", "d-1", 0)},
			events: []watch.Event{
				{Type: watch.Modified, Object: deployment("4", "d-1", 2)},
				{Type: watch.Modified, Object: deployment("6", "d-1", 2)},
			},
			wantRV: "6",
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

func TestWaitForContextEnds(t *testing.T) {
	dyn := dynamicWithWatch(bufferedWatch(), deployment("1", "d-1", 0))
	c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stepTimeout := errors.New("step timeout 30s")
	u, err := WaitFor(ctx, c, deploymentsGVR, "ns", "web", func(*unstructured.Unstructured) (bool, error) {
		cancel(stepTimeout)
		return false, nil
	})
	want := "waiting for deployments.apps ns/web: step timeout 30s (last seen: resourceVersion 1)"
	if errString(err) != want {
		t.Fatalf("error =\n%s\nwant\n%s", errString(err), want)
	}
	if !errors.Is(err, stepTimeout) {
		t.Error("error does not wrap the context's cause")
	}
	if u == nil || u.GetResourceVersion() != "1" {
		t.Errorf("last object = %v", u)
	}
}

func TestWaitForCreate(t *testing.T) {
	tests := []struct {
		name    string
		skip    types.UID
		initial []runtime.Object
		events  []watch.Event
		wantUID types.UID
		wantErr string
	}{
		{name: "there already", initial: []runtime.Object{deployment("1", "d-1", 0)}, wantUID: "d-1"},
		{name: "created while waiting", events: []watch.Event{{Type: watch.Added, Object: deployment("2", "d-1", 0)}}, wantUID: "d-1"},
		{
			name: "the one before is deleted, then another created", skip: "d-1",
			initial: []runtime.Object{deployment("1", "d-1", 0)},
			events: []watch.Event{
				{Type: watch.Modified, Object: deployment("2", "d-1", 0)},
				{Type: watch.Deleted, Object: deployment("3", "d-1", 0)},
				{Type: watch.Added, Object: deployment("4", "d-2", 0)},
			},
			wantUID: "d-2",
		},
		{
			name: "only the one before", skip: "d-1",
			initial: []runtime.Object{deployment("1", "d-1", 0)},
			wantErr: "waiting for deployments.apps ns/web: context deadline exceeded (last seen: only the one before (UID d-1), resourceVersion 1)",
		},
		{name: "none", wantErr: "waiting for deployments.apps ns/web: context deadline exceeded (last seen: no object of that name)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := dynamicWithWatch(bufferedWatch(tt.events...), tt.initial...)
			c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			u, err := WaitForCreate(ctx, c, deploymentsGVR, "ns", "web", tt.skip)
			if errString(err) != tt.wantErr {
				t.Fatalf("error = %q, want %q", errString(err), tt.wantErr)
			}
			var uid types.UID
			if u != nil {
				uid = u.GetUID()
			}
			if uid != tt.wantUID {
				t.Errorf("UID %q, want %q", uid, tt.wantUID)
			}
		})
	}
	t.Run("forbidden", func(t *testing.T) {
		dyn := dynamicWithWatch(bufferedWatch())
		dyn.PrependReactor("list", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(deploymentsGVR.GroupResource(), "", errors.New("no"))
		})
		c := NewClientsWith(fake.NewSimpleClientset(), dyn, nil, "ns")
		_, err := WaitForCreate(testContext(t), c, deploymentsGVR, "ns", "web", "")
		if !apierrors.IsForbidden(err) {
			t.Errorf("error = %v, want Forbidden at once", err)
		}
	})
}
