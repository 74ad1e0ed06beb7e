package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// WaitForPod waits until cond is done for one pod, with a watch limited to that pod (field
// selector metadata.name), for a single wait outside a shared PodWatcher. It costs a list
// and a watch request, and a GET when the list does not have the pod. The errors, the
// grace given to the scheduler and the pod returned are those of PodWatcher.Wait.
func WaitForPod(ctx context.Context, c *Clients, namespace, name string, cond PodCondition) (*corev1.Pod, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	if c == nil || c.Kube == nil {
		return nil, errors.New("no cluster client")
	}
	pods := c.Kube.CoreV1().Pods(namespace)
	cond = unlessDeleting(cond)
	obj, err := untilOne(ctx, oneObject{
		resource:  "pods",
		namespace: namespace,
		name:      name,
		objType:   &corev1.Pod{},
		client:    c.Kube,
		list:      func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		watch:     pods.Watch,
		get:       func(ctx context.Context) (runtime.Object, error) { return pods.Get(ctx, name, metav1.GetOptions{}) },
		gone:      &PodGoneError{Pod: namespace + "/" + name},
		graced:    true,
		describe: func(obj runtime.Object) string {
			pod, _ := obj.(*corev1.Pod)
			return DescribePod(pod)
		},
	}, func(obj runtime.Object) (bool, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return false, fmt.Errorf("watch of pods returned %T", obj)
		}
		return cond(pod)
	})
	pod, _ := obj.(*corev1.Pod)
	return pod, err
}

// WaitFor waits until cond is done for one object of any resource, driven by a watch on
// that object (dynamic client, field selector metadata.name). namespace is "" for
// cluster-scoped resources. An object that does not exist, or is deleted (or replaced by
// another of the same name) while waiting, is an *ObjectGoneError; use WaitForDelete to
// wait for a deletion. When ctx ends, the error wraps the context's cause and says what
// the object last looked like. The last state seen is returned with any error.
func WaitFor(ctx context.Context, c *Clients, gvr schema.GroupVersionResource, namespace, name string,
	cond func(*unstructured.Unstructured) (bool, error)) (*unstructured.Unstructured, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	o, err := dynamicObject(c, gvr, namespace, name)
	if err != nil {
		return nil, err
	}
	obj, err := untilOne(ctx, o, func(obj runtime.Object) (bool, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return false, fmt.Errorf("watch of %s returned %T", o.resource, obj)
		}
		return cond(u)
	})
	u, _ := obj.(*unstructured.Unstructured)
	return u, err
}

// WaitForDelete waits until the object is gone (it is no error if it never existed),
// driven by a watch on that object.
func WaitForDelete(ctx context.Context, c *Clients, gvr schema.GroupVersionResource, namespace, name string) error {
	o, err := dynamicObject(c, gvr, namespace, name)
	if err != nil {
		return err
	}
	_, err = untilOne(ctx, o, func(runtime.Object) (bool, error) { return false, nil })
	var gone *ObjectGoneError
	if errors.As(err, &gone) {
		return nil
	}
	return err
}

// oneObject is the object a single wait is about, and how to reach it.
type oneObject struct {
	resource  string // for messages: "pods", "deployments.apps"
	namespace string // "" for cluster-scoped objects
	name      string
	objType   runtime.Object
	// client is the client list and watch go through: the reflector asks it whether it
	// supports watch-list semantics (client-go's fakes do not).
	client   any
	list     func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch    func(context.Context, metav1.ListOptions) (watch.Interface, error)
	get      func(context.Context) (runtime.Object, error)
	gone     error // the error when the object does not exist or is deleted
	describe func(runtime.Object) string
	// graced holds back the scheduler's verdicts for UnschedulableGrace (see graceHold).
	graced bool
}

// dynamicObject describes an object of any resource, reached through the dynamic client.
func dynamicObject(c *Clients, gvr schema.GroupVersionResource, namespace, name string) (oneObject, error) {
	if c == nil || c.Dynamic() == nil {
		return oneObject{}, errors.New("no cluster client")
	}
	var ri dynamic.ResourceInterface = c.Dynamic().Resource(gvr)
	if namespace != "" {
		ri = c.Dynamic().Resource(gvr).Namespace(namespace)
	}
	resource := gvr.GroupResource().String()
	return oneObject{
		resource:  resource,
		namespace: namespace,
		name:      name,
		objType:   &unstructured.Unstructured{},
		client:    c.Dynamic(),
		list:      func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return ri.List(ctx, o) },
		watch:     ri.Watch,
		get:       func(ctx context.Context) (runtime.Object, error) { return ri.Get(ctx, name, metav1.GetOptions{}) },
		gone:      &ObjectGoneError{Resource: resource, Object: objectName(namespace, name)},
		describe:  describeObject,
	}, nil
}

// watchErrs keeps the last list or watch error of one wait, for its timeout message, and
// ends the wait (cancel, with the error as cause) on one that retrying cannot fix:
// Forbidden or Unauthorized.
type watchErrs struct {
	ctx      context.Context
	cancel   context.CancelCauseFunc
	resource string

	mu      sync.Mutex
	lastErr error
}

// note sees a list or watch error and returns it.
func (w *watchErrs) note(err error) error {
	if err == nil || w.ctx.Err() != nil {
		return err
	}
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		w.cancel(fmt.Errorf("watching %s: %w", w.resource, err))
	}
	return err
}

// last returns the last error noted.
func (w *watchErrs) last() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// listWatch lists and watches the object's name only (field selector metadata.name); note
// sees every list and watch error and returns it.
func (o oneObject) listWatch(note func(error) error) cache.ListerWatcher {
	selector := fields.OneTermEqualSelector("metadata.name", o.name).String()
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector
			list, err := o.list(ctx, opts)
			return list, note(err)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			w, err := o.watch(ctx, opts)
			return w, note(err)
		},
	}, o.client)
}

// WaitForCreate waits until an object of that name exists whose UID is not skip (any
// object when skip is ""), driven by a watch on the name, and returns it: what kubectl
// wait --for=create does (by polling), and the wait for the pod a StatefulSet creates
// again under the name of the one deleted (skip is the deleted pod's UID, which may still
// be there, being deleted). When ctx ends, the error wraps its cause and says what was
// last seen; a list or watch that is Forbidden or Unauthorized fails at once.
func WaitForCreate(ctx context.Context, c *Clients, gvr schema.GroupVersionResource, namespace, name string,
	skip types.UID) (*unstructured.Unstructured, error) {
	o, err := dynamicObject(c, gvr, namespace, name)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := &watchErrs{ctx: wctx, cancel: cancel, resource: o.resource}
	var found *unstructured.Unstructured
	var seen runtime.Object // the object of UID skip, while it is there
	created := func(obj any) bool {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok || u.GetName() != name {
			return false
		}
		if skip != "" && u.GetUID() == skip {
			seen = u
			return false
		}
		found = u
		return true
	}
	precondition := func(store cache.Store) (bool, error) {
		obj, ok, err := store.GetByKey(objectName(namespace, name))
		return ok && created(obj), err
	}
	_, err = watchtools.UntilWithSync(wctx, o.listWatch(errs.note), o.objType, precondition, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted {
			seen = nil
			return false, nil
		}
		return e.Type != watch.Error && created(e.Object), nil
	})
	switch {
	case found != nil:
		return found, nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return nil, context.Cause(wctx)
	case ctx.Err() != nil:
		lastSeen := "no object of that name"
		if seen != nil {
			lastSeen = "only the one before (UID " + string(skip) + "), " + o.describe(seen)
		}
		return nil, timeoutErr(ctx, o.resource, objectName(namespace, name), lastSeen, errs.last())
	case err == nil:
		return nil, fmt.Errorf("waiting for %s %s to be created: the watch ended", o.resource, objectName(namespace, name))
	}
	return nil, err
}

// untilOne is every wait on one object, as kubectl wait does it: watchtools.UntilWithSync
// over a list and watch restricted to the object's name, with a precondition that fails
// when the object does not exist. cond is evaluated on each state of the object, in order.
// A state older than the last one evaluated is skipped; a deletion, or another object (a
// new UID) under the name, is o.gone. When ctx ends, the error wraps its cause and says
// what the object last looked like; a list or watch that is Forbidden or Unauthorized
// fails at once. The last state evaluated is returned with any error.
func untilOne(ctx context.Context, o oneObject, cond func(runtime.Object) (bool, error)) (runtime.Object, error) {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := &watchErrs{ctx: wctx, cancel: cancel, resource: o.resource}
	lw := o.listWatch(errs.note)

	// The precondition and the conditions run on this goroutine, one after the other.
	var (
		current runtime.Object // the state cond was last evaluated on
		ended   error          // the error a precondition or condition ended the wait with
	)
	end := func(err error) error {
		ended = err
		return err
	}
	// An error held back for the scheduler ends the wait, when the grace is over, through
	// wctx's cause; graceMu orders that with the conditions.
	var (
		graceMu    sync.Mutex
		grace      *graceHold
		graceTimer *time.Timer
	)
	if o.graced {
		grace = newGraceHold(0)
	}
	defer func() {
		graceMu.Lock()
		defer graceMu.Unlock()
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	held := func(err error) bool {
		if grace == nil {
			return false
		}
		graceMu.Lock()
		defer graceMu.Unlock()
		hold := grace.see(err)
		if hold > 0 && graceTimer == nil {
			graceTimer = time.AfterFunc(hold, func() {
				graceMu.Lock()
				err := grace.held
				graceMu.Unlock()
				if err != nil {
					cancel(err)
				}
			})
		}
		return hold > 0
	}
	see := func(obj runtime.Object) (bool, error) {
		switch {
		case current == nil:
		case isOlder(obj, current):
			return false, nil // a stale state, or an earlier object of the same name
		case !sameObject(obj, current):
			return false, end(o.gone) // deleted and created again
		}
		current = obj
		done, err := cond(obj)
		switch {
		case held(err):
			return false, nil
		case err != nil:
			return false, end(err)
		}
		return done, nil
	}
	precondition := func(store cache.Store) (bool, error) {
		if _, ok, err := store.GetByKey(objectName(o.namespace, o.name)); ok || err != nil {
			return false, err // the conditions see it from the list's events
		}
		// The list may come from the API server's watch cache and lag behind: ask once.
		got, err := o.get(wctx)
		switch {
		case apierrors.IsNotFound(err):
			return true, end(o.gone)
		case err != nil:
			return true, end(fmt.Errorf("get %s %s: %w", o.resource, o.name, err))
		}
		return see(got)
	}
	_, err := watchtools.UntilWithSync(wctx, lw, o.objType, precondition, func(e watch.Event) (bool, error) {
		if e.Type != watch.Deleted {
			return see(e.Object)
		}
		if current == nil || sameObject(e.Object, current) {
			return false, end(o.gone)
		}
		return false, nil // an earlier object of the same name
	})
	switch {
	case ended != nil:
		return current, ended
	case err == nil:
		return current, nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return current, context.Cause(wctx) // Forbidden, Unauthorized, or held past the grace
	case ctx.Err() != nil:
		return current, timeoutErr(ctx, o.resource, objectName(o.namespace, o.name), o.describe(current), errs.last())
	}
	return current, err
}

// timeoutErr wraps the context's cause with the last state seen and the last watch error:
// "waiting for pods ns/web: step timeout 30s (last seen: phase Pending; ...)".
func timeoutErr(ctx context.Context, resource, object, lastSeen string, lastErr error) error {
	var suffix string
	if lastErr != nil {
		suffix = "; watch error: " + lastErr.Error()
	}
	return fmt.Errorf("waiting for %s %s: %w (last seen: %s)%s", resource, object, context.Cause(ctx), lastSeen, suffix)
}

// describeObject summarises an object's state for timeout messages.
func describeObject(obj runtime.Object) string {
	u, ok := obj.(*unstructured.Unstructured)
	switch {
	case obj == nil:
		return "not seen"
	case !ok:
		return fmt.Sprintf("%T", obj)
	}
	if conds, ok, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); ok {
		return fmt.Sprintf("resourceVersion %s, conditions %v", u.GetResourceVersion(), conds)
	}
	return "resourceVersion " + u.GetResourceVersion()
}

// objectName returns "namespace/name", or "name" for cluster-scoped objects; it is also the
// key of the object in an informer's store.
func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// sameObject reports whether a and b are versions of one object (same UID, or no UID to
// tell them apart).
func sameObject(a, b runtime.Object) bool {
	ua, ub := uidOf(a), uidOf(b)
	return ua == "" || ub == "" || ua == ub
}

// isOlder reports whether a's resource version is known to be below b's (both numeric).
func isOlder(a, b runtime.Object) bool {
	ra, rb := rvOf(a), rvOf(b)
	return ra != 0 && rb != 0 && ra < rb
}

// uidOf returns an object's UID, "" if it has none.
func uidOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return string(m.GetUID())
}

// rvOf returns an object's resource version as a number; 0 if unknown.
func rvOf(obj runtime.Object) uint64 {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	return parseRV(m.GetResourceVersion())
}

// parseRV reads a resource version; they are opaque strings by contract but decimal
// numbers in practice (etcd revisions). 0 means "cannot compare".
func parseRV(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}
