package kube

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kube-runbook/runbook/report"
)

// Labels every object a run creates carries, so that cleanup, and `runbook cleanup` after
// a crash, can find it.
const (
	// LabelManagedBy is the standard label naming the tool that manages an object.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value on objects runbook creates.
	ManagedByValue = "runbook"
	// LabelRunID carries the id of the run that created the object.
	LabelRunID = "runbook/run-id"
)

// Labels returns the labels of the objects a run creates.
func Labels(runID string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedByValue, LabelRunID: runID}
}

// TrackedObject is an object a run creates (or tried to), recorded before the create call.
type TrackedObject struct {
	// GVR is the object's resource.
	GVR schema.GroupVersionResource
	// Kind is the object's kind, for people.
	Kind string
	// Namespace is "" for cluster-scoped objects.
	Namespace string
	// Name is the object's name.
	Name string
	// CreatedAt is when it was recorded (just before the create call).
	CreatedAt time.Time
	// Created is true once the create call returned OK. An object whose create failed is
	// still deleted at cleanup: the server may have created it before the call failed.
	Created bool
	// Kept is why its run kept it on purpose (AnnotationKept), or "". Set
	// for what FindLeftovers finds.
	Kept string
	// Deadline is when the run that made it ends at the latest, as its
	// kube.AnnotationDeadline says; zero when unknown. Set for what
	// FindLeftovers finds.
	Deadline time.Time
	// Note says more, e.g. the run that made an object FindLeftovers found.
	Note string
}

// String reads like "Pod ns/name".
func (o TrackedObject) String() string {
	kind := o.Kind
	if kind == "" {
		kind = o.GVR.Resource
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

// Deletion is what cleanup did with one tracked object.
type Deletion struct {
	// Object is the tracked object.
	Object TrackedObject
	// Outcome is one of the result's: report.OutcomeDeleted, OutcomeNotFound,
	// OutcomeFailed or OutcomeKept.
	Outcome string
	// Error is the failure, when Outcome is "failed".
	Error string
	// Reason says why an object was kept, when Outcome is "kept".
	Reason string
	// Duration is the time from the delete call until the object was gone (or the call
	// returned, when cleanup does not wait).
	Duration time.Duration
}

// Tracker records the objects a run creates and deletes them at cleanup, newest first, like
// chainsaw's cleaner. It is safe for concurrent use.
type Tracker struct {
	c   *Clients
	now func() time.Time

	mu      sync.Mutex
	objects []TrackedObject
	cleaned int // objects[:cleaned] were handled by an earlier Cleanup
	// refused are the indexes of objects whose create the server refused
	// (see Forget). They keep their place, so the indexes Record returned
	// to other creators stay valid.
	refused map[int]bool
}

// NewTracker returns an empty tracker for a run. c may be nil in tests that never clean up.
func NewTracker(c *Clients) *Tracker {
	return &Tracker{c: c, now: time.Now}
}

// Record adds an object before the call that creates it and returns its index, for
// MarkCreated. CreatedAt is set if zero.
func (t *Tracker) Record(obj TrackedObject) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if obj.CreatedAt.IsZero() {
		obj.CreatedAt = t.now()
	}
	t.objects = append(t.objects, obj)
	return len(t.objects) - 1
}

// MarkCreated notes that the create call of object i returned OK.
func (t *Tracker) MarkCreated(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= 0 && i < len(t.objects) {
		t.objects[i].Created = true
	}
}

// Objects returns a copy of the recorded objects, in recording order.
func (t *Tracker) Objects() []TrackedObject {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.liveLocked(0)
}

// liveLocked copies the objects from index from on, without the refused
// ones. t.mu must be held.
func (t *Tracker) liveLocked(from int) []TrackedObject {
	out := make([]TrackedObject, 0, len(t.objects)-from)
	for i := from; i < len(t.objects); i++ {
		if !t.refused[i] {
			out = append(out, t.objects[i])
		}
	}
	return out
}

// Kept reports every object not yet cleaned up as "kept" with the given reason, for a run
// with cleanup disabled (--keep, cleanup: never), newest first, without touching the
// cluster.
func (t *Tracker) Kept(reason string) []Deletion {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Deletion
	live := t.liveLocked(t.cleaned)
	for i := len(live) - 1; i >= 0; i-- {
		out = append(out, Deletion{Object: live[i], Outcome: report.OutcomeKept, Reason: reason})
	}
	return out
}

// Cleanup deletes the objects recorded since the last Cleanup, newest first; NotFound counts
// as done. Pods are deleted with grace period 0, so they go at once. With wait, deletion
// propagates in the foreground and Cleanup waits (with a watch) until each object is gone,
// bounded by ctx; without, propagation is in the background. ctx should not be the run's
// context when that one was cancelled by an interrupt: give cleanup a fresh deadline.
func (t *Tracker) Cleanup(ctx context.Context, wait bool) []Deletion {
	t.mu.Lock()
	todo := t.liveLocked(t.cleaned)
	t.cleaned = len(t.objects)
	t.mu.Unlock()

	out := make([]Deletion, 0, len(todo))
	starts := make([]time.Time, 0, len(todo))
	for i := len(todo) - 1; i >= 0; i-- {
		obj := todo[i]
		start := t.now()
		d := Deletion{Object: obj}
		d.Outcome, d.Error = t.delete(ctx, obj, wait)
		d.Duration = t.now().Sub(start)
		out = append(out, d)
		starts = append(starts, start)
	}
	if wait {
		var wg sync.WaitGroup
		for i := range out {
			if out[i].Outcome != report.OutcomeDeleted {
				continue
			}
			wg.Add(1)
			go func(d *Deletion, start time.Time) {
				defer wg.Done()
				o := d.Object
				if err := WaitForDelete(ctx, t.c, o.GVR, o.Namespace, o.Name); err != nil {
					d.Outcome, d.Error = report.OutcomeFailed, "deleted but still present: "+err.Error()
				}
				d.Duration = t.now().Sub(start)
			}(&out[i], starts[i])
		}
		wg.Wait()
	}
	return out
}

// delete sends one delete call and returns the outcome and error text.
func (t *Tracker) delete(ctx context.Context, obj TrackedObject, wait bool) (string, string) {
	if t.c == nil || t.c.Dynamic() == nil {
		return report.OutcomeFailed, "no cluster client"
	}
	opts := deleteOptions(obj.GVR, wait)
	ri := t.c.Dynamic().Resource(obj.GVR)
	var err error
	if obj.Namespace != "" {
		err = ri.Namespace(obj.Namespace).Delete(ctx, obj.Name, opts)
	} else {
		err = ri.Delete(ctx, obj.Name, opts)
	}
	switch {
	case err == nil:
		return report.OutcomeDeleted, ""
	case apierrors.IsNotFound(err):
		return report.OutcomeNotFound, ""
	default:
		return report.OutcomeFailed, err.Error()
	}
}

// deleteOptions returns the options of a cleanup deletion: pods go at once (grace period
// 0); with wait, dependents are deleted first (foreground) so "gone" means all gone.
func deleteOptions(gvr schema.GroupVersionResource, wait bool) metav1.DeleteOptions {
	policy := metav1.DeletePropagationBackground
	if wait {
		policy = metav1.DeletePropagationForeground
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if gvr.Group == "" && gvr.Resource == "pods" {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	return opts
}

// LeftoverSelector returns the label selector of objects made by runbook, by one run when
// runID is not "".
func LeftoverSelector(runID string) string {
	set := labels.Set{LabelManagedBy: ManagedByValue}
	if runID != "" {
		set[LabelRunID] = runID
	}
	return labels.SelectorFromSet(set).String()
}

// DeleteLeftovers deletes objects found by FindLeftovers, in the order given, as Cleanup
// does (NotFound is fine, pods go at once, wait bounds by ctx).
func DeleteLeftovers(ctx context.Context, c *Clients, objects []TrackedObject, wait bool) []Deletion {
	t := NewTracker(c)
	// Cleanup works newest first: record in reverse so the given order is kept.
	for i := len(objects) - 1; i >= 0; i-- {
		t.Record(objects[i])
	}
	return t.Cleanup(ctx, wait)
}

// Forget drops an object recorded with Record whose create the API server
// refused (AlreadyExists, Invalid, Forbidden ...): it was not made by the
// run, so cleanup must not delete it, and Objects no longer lists it. A
// create that may have reached the server (a timeout, a cut connection) is
// never forgotten. The other indexes Record returned stay valid.
func (t *Tracker) Forget(i int, err error) {
	if !NotCreated(err) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= t.cleaned && i < len(t.objects) && !t.objects[i].Created {
		if t.refused == nil {
			t.refused = map[int]bool{}
		}
		t.refused[i] = true
	}
}

// NotCreated reports whether a create error proves the server made nothing.
func NotCreated(err error) bool {
	switch {
	case err == nil:
		return false
	case apierrors.IsAlreadyExists(err), apierrors.IsInvalid(err), apierrors.IsForbidden(err),
		apierrors.IsBadRequest(err), apierrors.IsNotFound(err), apierrors.IsConflict(err),
		apierrors.IsMethodNotSupported(err), apierrors.IsUnauthorized(err):
		return true
	}
	return false
}
