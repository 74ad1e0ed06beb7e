package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/sets"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// leftoverResource is a resource whose objects a run may have left.
type leftoverResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

// leftoverResources lists, by discovery, every resource that can hold what
// a run left: each one the server lists and deletes, namespaced and
// cluster-scoped, in its preferred version. A group discovery fails for
// (an aggregated API that is down) is skipped, and said in the error.
func leftoverResources(c *Clients) ([]leftoverResource, error) {
	lists, err := discovery.ServerPreferredResources(c.Kube.Discovery())
	var partial error
	if err != nil {
		if !discovery.IsGroupDiscoveryFailedError(err) || len(lists) == 0 {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		partial = fmt.Errorf("discovery: %w", err)
	}
	var out []leftoverResource
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !sets.New(r.Verbs...).HasAll("list", "delete") {
				continue
			}
			out = append(out, leftoverResource{gvr: gv.WithResource(r.Name), kind: r.Kind, namespaced: r.Namespaced})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].gvr.String() < out[j].gvr.String() })
	return out, partial
}

// FindLeftovers lists the objects runbook runs left behind (labelled
// managed-by=runbook, and run-id=runID when runID is not ""), in every
// resource discovery lists: in one namespace, or in all when namespace is
// "". Cluster-scoped objects are looked for across all namespaces, or for
// one run (they belong to it wherever it worked). Each object's Deadline
// is its run's. They come in the order DeleteLeftovers deletes them:
// namespaced objects, then cluster-scoped ones, namespaces last (deleting
// one deletes its content), each newest first. A resource that cannot be
// listed (Forbidden) does not stop the search: its error is joined into
// the returned error, next to what was found.
func FindLeftovers(ctx context.Context, c *Clients, namespace, runID string) ([]TrackedObject, error) {
	if c == nil || c.Kube == nil || c.Dynamic() == nil {
		return nil, errors.New("no cluster client")
	}
	resources, err := leftoverResources(c)
	if resources == nil {
		return nil, err
	}
	errs := []error{err}
	selector := LeftoverSelector(runID)
	var found []TrackedObject
	for _, r := range resources {
		if !r.namespaced && namespace != "" && runID == "" {
			continue
		}
		var lister dynamic.ResourceInterface = c.Dynamic().Resource(r.gvr)
		if r.namespaced && namespace != "" {
			lister = c.Dynamic().Resource(r.gvr).Namespace(namespace)
		}
		list, err := lister.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			if !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				errs = append(errs, fmt.Errorf("list %s: %w", r.gvr.GroupResource(), err))
			}
			continue
		}
		for _, u := range list.Items {
			_, deadline := Live(u.GetAnnotations(), time.Time{})
			found = append(found, TrackedObject{
				GVR: r.gvr, Kind: r.kind, Namespace: u.GetNamespace(), Name: u.GetName(),
				CreatedAt: u.GetCreationTimestamp().Time, Created: true, Deadline: deadline, Kept: u.GetAnnotations()[AnnotationKept],
				Note: "run " + u.GetLabels()[LabelRunID],
			})
		}
	}
	rank := func(o TrackedObject) int {
		switch {
		case o.GVR.Group == "" && o.GVR.Resource == "namespaces":
			return 2
		case o.Namespace == "":
			return 1
		}
		return 0
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return found, errors.Join(errs...)
}
