package incluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kube-runbook/runbook/kube"
)

// FieldManager is the field manager of what Apply applies.
const FieldManager = "runbook-job"

// Resources of what an install is made of, in the order Delete deletes
// them (runs first, the account and its rules last, so that a run's pod
// can still clean up while it terminates).
var (
	cronJobsGVR            = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	jobsGVR                = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	configMapsGVR          = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretsGVR             = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	serviceAccountsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	rolesGVR               = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	roleBindingsGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
	clusterRolesGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	clusterRoleBindingsGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
)

// Apply applies objects in order with server-side apply (field manager
// FieldManager, conflicts forced: the install owns what it applies). It
// stops at the first error, naming the object.
func Apply(ctx context.Context, c *kube.Clients, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		gvr, namespaced, err := c.ResourceFor(u)
		if err != nil {
			return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		var ri = c.Dynamic().Resource(gvr)
		var target interface {
			Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
		} = ri
		if namespaced {
			target = ri.Namespace(u.GetNamespace())
		}
		if _, err := target.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying %s %s: %w", u.GetKind(), objectName(u.GetNamespace(), u.GetName()), err)
		}
	}
	return nil
}

// Deleted is one object Delete deleted (or failed to).
type Deleted struct {
	// Resource is e.g. "jobs.batch" or "configmaps".
	Resource string
	// Namespace and Name of the object ("" namespace: cluster-scoped).
	Namespace, Name string
	// Error is why it could not be deleted; empty when it was.
	Error string
}

// String is "RESOURCE NAMESPACE/NAME".
func (d Deleted) String() string {
	return d.Resource + " " + objectName(d.Namespace, d.Name)
}

// Delete removes an install (installName in namespace) and everything it
// labelled: its CronJob and Jobs, then, once their pods are gone (each had
// its grace period to clean up, bounded by ctx), its stored results, its
// ConfigMap and Secret, and last its ServiceAccount and RBAC, in any
// namespace. Objects already gone are not errors.
func Delete(ctx context.Context, c *kube.Clients, namespace, installName string) ([]Deleted, error) {
	d := labelled{c: c, sel: Selector(installName)}
	d.delete(ctx, cronJobsGVR, namespace, "", nil)
	d.delete(ctx, jobsGVR, namespace, "", nil)
	// The Jobs' pods get SIGTERM and their grace period to clean up; they
	// still need their account and rules meanwhile.
	if err := waitPodsGone(ctx, c, namespace, d.sel); err != nil {
		d.errs = append(d.errs, err)
	}
	d.delete(ctx, configMapsGVR, namespace, "", nil)
	d.delete(ctx, secretsGVR, namespace, "", nil)
	instNS := LabelInstallNamespace + "=" + namespace
	for _, gvr := range rbacGVRs {
		d.delete(ctx, gvr, "", instNS, nil)
	}
	d.delete(ctx, serviceAccountsGVR, namespace, "", nil)
	return d.out, errors.Join(d.errs...)
}

// rbacGVRs are the RBAC resources of an install, bindings before what
// they bind.
var rbacGVRs = []schema.GroupVersionResource{roleBindingsGVR, rolesGVR, clusterRoleBindingsGVR, clusterRolesGVR}

// Prune deletes what an earlier apply of the install (installName in
// namespace) left that keep, the objects just applied, no longer has: its
// Roles, ClusterRoles and their bindings, in any namespace, and its
// Secret. A runbook edited to need fewer rights, or no secret vars, must
// not keep the old rights or the old secret values in the cluster. Its
// Jobs, CronJob, ConfigMap and stored results are left alone. Objects
// already gone are not errors.
func Prune(ctx context.Context, c *kube.Clients, namespace, installName string, keep []*unstructured.Unstructured) ([]Deleted, error) {
	kept := map[string]bool{}
	for _, u := range keep {
		kept[u.GetKind()+" "+objectName(u.GetNamespace(), u.GetName())] = true
	}
	skip := func(u unstructured.Unstructured) bool {
		return kept[u.GetKind()+" "+objectName(u.GetNamespace(), u.GetName())]
	}
	d := labelled{c: c, sel: Selector(installName)}
	instNS := LabelInstallNamespace + "=" + namespace
	for _, gvr := range rbacGVRs {
		d.delete(ctx, gvr, "", instNS, skip)
	}
	d.delete(ctx, secretsGVR, namespace, "", skip)
	return d.out, errors.Join(d.errs...)
}

// labelled deletes the objects of one selector, resource by resource,
// collecting what it deleted and the errors.
type labelled struct {
	c    *kube.Clients
	sel  string
	out  []Deleted
	errs []error
}

// delete deletes the objects of gvr in ns ("": every namespace, or a
// cluster-scoped resource) that the selector, and extra when not empty,
// select, but those skip (when not nil) keeps.
func (d *labelled) delete(ctx context.Context, gvr schema.GroupVersionResource, ns, extra string, skip func(unstructured.Unstructured) bool) {
	sel := d.sel
	if extra != "" {
		sel += "," + extra
	}
	ri := d.c.Dynamic().Resource(gvr)
	var lister interface {
		List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
	} = ri
	if ns != "" {
		lister = ri.Namespace(ns)
	}
	list, err := lister.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err))
		return
	}
	for _, u := range list.Items {
		if skip != nil && skip(u) {
			continue
		}
		del := Deleted{Resource: gvr.GroupResource().String(), Namespace: u.GetNamespace(), Name: u.GetName()}
		var err error
		if u.GetNamespace() != "" {
			err = ri.Namespace(u.GetNamespace()).Delete(ctx, u.GetName(), metav1.DeleteOptions{PropagationPolicy: ptrTo(metav1.DeletePropagationBackground)})
		} else {
			err = ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			del.Error = err.Error()
			d.errs = append(d.errs, fmt.Errorf("deleting %s: %w", del, err))
		}
		d.out = append(d.out, del)
	}
}

// waitPodsGone waits, with a list and a watch, until no pod of the
// selector is left in namespace, for at most the grace period of a run's
// pod and a minute.
func waitPodsGone(ctx context.Context, c *kube.Clients, namespace, sel string) error {
	limit := GracePeriod() + time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	left, err := kube.WaitForPods(ctx, c, namespace, sel, func(pods []*corev1.Pod) bool { return len(pods) == 0 })
	if err != nil && len(left) > 0 {
		return fmt.Errorf("%d pod(s) of the install still there after %s (first: %s/%s)", len(left), limit, left[0].Namespace, left[0].Name)
	}
	return err
}

func objectName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func ptrTo[T any](v T) *T { return &v }
