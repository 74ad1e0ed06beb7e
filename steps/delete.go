package steps

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// DeleteStep deletes one object, as `kubectl delete` does, and by default
// waits (with a watch) until it is gone. Deleting an object the run did not
// create is a real change to the cluster: cleanup does not bring it back.
type DeleteStep struct {
	// APIVersion of the object, e.g. v1 or apps/v1 (default v1).
	APIVersion string `yaml:"apiVersion,omitempty" json:"apiVersion,omitempty"`
	// Kind of the object, e.g. Pod, Deployment.
	Kind string `yaml:"kind" json:"kind"`
	// Name of the object.
	Name expression.Template `yaml:"name" json:"name"`
	// Namespace of the object (default: the run's namespace); ignored for
	// cluster-scoped kinds.
	Namespace expression.Template `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Wait until the object is gone (default true), as kubectl delete does.
	Wait *bool `yaml:"wait,omitempty" json:"wait,omitempty"`
	// GracePeriodSeconds overrides the object's grace period (default: the
	// pod's terminationGracePeriodSeconds). 0 is sent as 1, as kubectl
	// delete --grace-period=0 does without --force: the shortest graceful
	// deletion, which still waits until the kubelet has stopped the pod.
	GracePeriodSeconds *int64 `yaml:"gracePeriodSeconds,omitempty" json:"gracePeriodSeconds,omitempty"`
	// Force removes the object from the API at once, without waiting for
	// its processes to stop (kubectl delete --force --grace-period=0): a
	// StatefulSet may then start the pod's replacement while the old
	// containers still run. The result warns of it.
	Force bool `yaml:"force,omitempty" json:"force,omitempty"`
	// IgnoreNotFound makes an object that does not exist a success
	// (kubectl delete --ignore-not-found), e.g. in finally steps.
	IgnoreNotFound bool `yaml:"ignoreNotFound,omitempty" json:"ignoreNotFound,omitempty"`
}

var deleteKind = Kind{
	Name:    "delete",
	Summary: "delete an object and wait until it is gone (kubectl delete)",
	New:     func() Action { return &DeleteStep{} },
	Results: []Result{resultObject},
}

// Check implements Action.
func (s *DeleteStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := checkKind(s.APIVersion, s.Kind)
	if s.Name.IsZero() {
		errs = append(errs, fieldErr("name", "name is required"))
	}
	errs = append(errs, checkName("name", s.Name, objectName)...)
	errs = append(errs, checkName("namespace", s.Namespace, namespaceName)...)
	if s.GracePeriodSeconds != nil && *s.GracePeriodSeconds < 0 {
		errs = append(errs, fieldErr("gracePeriodSeconds", "gracePeriodSeconds must be 0 or more"))
	}
	if s.Force && s.GracePeriodSeconds != nil && *s.GracePeriodSeconds != 0 {
		errs = append(errs, fieldErr("force", "force deletes at once: leave gracePeriodSeconds out (or 0) with it"))
	}
	return errs
}

// gracePeriod is the grace period sent: 0 with force, 1 for a 0 without it
// (as kubectl), else as written.
func (s *DeleteStep) gracePeriod() *int64 {
	switch {
	case s.Force:
		return new(int64)
	case s.GracePeriodSeconds != nil && *s.GracePeriodSeconds == 0:
		one := int64(1)
		return &one
	}
	return s.GracePeriodSeconds
}

// forceWarning is the result's warning of a force deletion.
const forceWarning = "force deletion: the object was removed from the API at once, without waiting for its processes to stop; they may still be running, and a controller (a StatefulSet) may have started a replacement under the same name meanwhile"

func (s *DeleteStep) wait() bool { return s.Wait == nil || *s.Wait }

// options are the delete call's options: background propagation (as
// kubectl), the grace period, and, given the UID read before, a
// precondition so that only that object is deleted, not one made again
// under its name since.
func (s *DeleteStep) options(uid types.UID) metav1.DeleteOptions {
	policy := metav1.DeletePropagationBackground
	o := metav1.DeleteOptions{PropagationPolicy: &policy, GracePeriodSeconds: s.gracePeriod()}
	if uid != "" {
		o.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	return o
}

func (s *DeleteStep) kubectl(t target) string {
	cmd := fmt.Sprintf("kubectl delete %s %s%s", shellQuote(t.kubectlType()), shellQuote(t.name), t.kubectlNamespace())
	switch {
	case s.Force:
		cmd += " --force --grace-period=0"
	case s.GracePeriodSeconds != nil:
		cmd += fmt.Sprintf(" --grace-period=%d", *s.GracePeriodSeconds)
	}
	if !s.wait() {
		cmd += " --wait=false"
	}
	if s.IgnoreNotFound {
		cmd += " --ignore-not-found"
	}
	return cmd
}

// Plan implements Action.
func (s *DeleteStep) Plan(p *Planner) (*Planned, error) {
	t, notes := planTarget(p, s.APIVersion, s.Kind, s.Name, s.Namespace)
	pl := &Planned{Target: t.String(), Kubectl: s.kubectl(t), Notes: notes}
	opts := s.options("")
	body := map[string]any{"propagationPolicy": string(*opts.PropagationPolicy), "preconditions": map[string]any{"uid": "<uid of the object read>"}}
	if opts.GracePeriodSeconds != nil {
		body["gracePeriodSeconds"] = *opts.GracePeriodSeconds
	}
	pl.Calls = []Call{
		t.call("get", "the object before deletion is `object` in assertions"),
		{Verb: "delete", Group: t.gvr.Group, Resource: t.gvr.Resource, Namespace: t.namespace(), Name: t.name, Body: body},
	}
	if s.wait() {
		until := "until " + t.String() + " is gone"
		if t.isPod() {
			pl.Calls = append(pl.Calls, podWatchCall(p, t.ns, t.name, until))
		} else {
			note := "field selector metadata.name=" + t.name + ", " + until
			pl.Calls = append(pl.Calls, t.call("list", note), t.call("watch", note))
		}
	}
	switch {
	case s.Force:
		pl.Notes = append(pl.Notes, forceWarning)
	case s.GracePeriodSeconds != nil && *s.GracePeriodSeconds == 0:
		pl.Notes = append(pl.Notes, "gracePeriodSeconds 0 is sent as 1, as kubectl does without --force: the object goes once its processes have stopped (force: true deletes at once)")
	}
	if t.isPod() && p.Pod(t.ns, t.name) != nil {
		pl.Notes = append(pl.Notes, "deletes "+t.String()+", which this runbook creates earlier")
	} else {
		pl.Notes = append(pl.Notes, "unless an earlier step of this runbook creates it, deleting "+t.String()+" is a real change to the cluster: cleanup does not bring it back")
	}
	return pl, nil
}

// Run implements Action.
func (s *DeleteStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := resolveTarget(e, s.APIVersion, s.Kind, s.Name, s.Namespace)
	if err != nil {
		return out.fail(err)
	}
	out.Target = t.String()
	out.Kubectl = s.kubectl(t)
	ri, err := t.client(e)
	if err != nil {
		return out.fail(err)
	}
	before, err := ri.Get(ctx, t.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && s.IgnoreNotFound {
		return out
	}
	if err != nil {
		return out.fail(fmt.Errorf("reading %s: %w", t, err))
	}
	out.Object = ObjectMap(before)
	uid := before.GetUID()
	err = ri.Delete(ctx, t.name, s.options(uid))
	if apierrors.IsNotFound(err) && s.IgnoreNotFound {
		return out
	}
	if err != nil {
		return out.fail(fmt.Errorf("deleting %s: %w", t, err))
	}
	out.Touched = append(out.Touched, t.ref(report.ActionDeleted))
	if s.Force {
		out.Warnings = append(out.Warnings, forceWarning)
	}
	if !s.wait() {
		return out
	}
	e.logf("waiting for %s to be gone", t)
	if t.isPod() && e.Pods != nil {
		// Gone when the watch sees it deleted, or another pod (another UID)
		// under its name; not while it has a deletion timestamp.
		err = e.Pods(t.ns).WaitGone(ctx, t.name, uid)
	} else {
		ns := t.namespace()
		err = kube.WaitForDelete(ctx, e.Clients, t.gvr, ns, t.name)
	}
	if err != nil {
		return out.fail(fmt.Errorf("waiting for %s to be gone: %w", t, err))
	}
	return out
}
