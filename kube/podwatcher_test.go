package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

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

// namespaceWatcher is a PodWatcher that serves every pod from one watch of the namespace.
func namespaceWatcher(c *Clients, ns string) *PodWatcher {
	return NewPodWatcherWithOptions(c, ns, PodWatcherOptions{NameWatches: -1})
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
	w := namespaceWatcher(c, "ns")
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
		w := namespaceWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
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
		w := namespaceWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
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
		w := namespaceWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
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
	w := namespaceWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
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
	w := namespaceWatcher(NewClientsWith(kube, nil, nil, "ns"), "ns")
	w.Stop()
	w.Stop() // idempotent
	if _, err := w.Wait(context.Background(), "web", PodReady()); !errors.Is(err, ErrWatcherStopped) {
		t.Fatalf("error = %v, want ErrWatcherStopped", err)
	}
}

func TestPodWatcherBadInput(t *testing.T) {
	w := namespaceWatcher(nil, "")
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

// TestPodWatcherWaitGone checks that a pod being deleted is not gone until
// the watch sees it deleted or replaced: its containers may take their
// grace period to stop, and a delete that waits must wait for that.
func TestPodWatcherWaitGone(t *testing.T) {
	replaced := statusPod("4", readyStatus)
	replaced.UID = "uid-2"
	tests := []struct {
		name    string
		initial []runtime.Object
		events  []watch.Event
		wantErr string
	}{
		{name: "being deleted", initial: []runtime.Object{deleting(statusPod("1", readyStatus))},
			events:  []watch.Event{{Type: watch.Modified, Object: deleting(statusPod("2", pendingStatus))}},
			wantErr: "waiting for pods ns/web: context deadline exceeded"},
		{name: "deleted", initial: []runtime.Object{deleting(statusPod("1", readyStatus))},
			events: []watch.Event{{Type: watch.Modified, Object: deleting(statusPod("2", pendingStatus))}, {Type: watch.Deleted, Object: deleting(statusPod("3", pendingStatus))}}},
		{name: "replaced under its name", initial: []runtime.Object{deleting(statusPod("1", readyStatus))},
			events: []watch.Event{{Type: watch.Modified, Object: replaced}}},
		{name: "no such pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := namespaceWatcher(NewClientsWith(watchedClientset(bufferedWatch(tt.events...), tt.initial...), nil, nil, "ns"), "ns")
			defer w.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := w.WaitGone(ctx, "web", "uid-1")
			if got := errString(err); !strings.HasPrefix(got, tt.wantErr) || (tt.wantErr == "") != (got == "") {
				t.Errorf("error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestPodWatcherScopes checks which watch serves which pod: the run's pods one watch by
// label, the first NameWatches other pods a watch of their name each, the rest one watch
// of the namespace; and that a name keeps its watch.
func TestPodWatcherScopes(t *testing.T) {
	pod := func(name string, ours bool) *corev1.Pod {
		p := statusPod("1", readyStatus)
		p.Name, p.UID = name, types.UID("uid-"+name)
		if ours {
			p.Labels = Labels("run1")
		}
		return p
	}
	mine, other := pod("mine", true), pod("mine-too", true)
	kube := fake.NewClientset(mine, other, pod("a", false), pod("b", false), pod("c", false))
	c := NewClientsWith(kube, nil, nil, "ns")
	w := NewPodWatcherWithOptions(c, "ns", PodWatcherOptions{RunID: "run1", NameWatches: 2})
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range []*corev1.Pod{mine, other} {
		if _, err := w.WaitFrom(ctx, p, PodReady()); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a", "b", "c", "a", "mine"} {
		if _, err := w.Wait(ctx, name, PodReady()); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, a := range kube.Actions() {
		// Each wait here ends on its watch's list; the watches follow at their own pace.
		l, ok := a.(clienttesting.ListAction)
		if !ok || a.GetVerb() != "list" {
			continue
		}
		r := l.GetListRestrictions()
		got = append(got, a.GetVerb()+" label="+r.Labels.String()+" field="+r.Fields.String())
	}
	want := []string{
		"list label=app.kubernetes.io/managed-by=runbook,runbook/run-id=run1 field=",
		"list label= field=metadata.name=a",
		"list label= field=metadata.name=b",
		"list label= field=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lists (-want +got):\n%s", diff)
	}
	if _, ok := w.Get("never-asked"); ok {
		t.Error("Get of a pod no wait asked about: found, want a miss (no watch serves it)")
	}
	if p, ok := w.Get("b"); !ok || p.Name != "b" {
		t.Errorf("Get(b) = %v, %v: want the pod from its watch", p, ok)
	}
	w.Stop()
	if _, err := w.Wait(ctx, "d", PodReady()); !errors.Is(err, ErrWatcherStopped) {
		t.Errorf("a wait after Stop on a pod not asked about before: %v, want ErrWatcherStopped", err)
	}
}
