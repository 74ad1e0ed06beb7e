package steps

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// GetStep reads one object by name, or the objects of a kind that match a
// label selector, as `kubectl get -o json` does. It changes nothing.
type GetStep struct {
	// APIVersion of the objects, e.g. v1 or apps/v1 (default v1).
	APIVersion string `yaml:"apiVersion,omitempty" json:"apiVersion,omitempty"`
	// Kind of the objects, e.g. Pod, Deployment, Node.
	Kind string `yaml:"kind" json:"kind"`
	// Name of the object to read; the result is `object` (and `objects`
	// with that one object). Without name (and without selector) every
	// object of the kind in the namespace is listed.
	Name expression.Template `yaml:"name,omitempty" json:"name,omitempty"`
	// Selector is a label selector (app=web,tier!=db); the matching objects
	// are `objects`. Use it instead of name.
	Selector expression.Template `yaml:"selector,omitempty" json:"selector,omitempty"`
	// Namespace of the objects (default: the run's namespace); ignored for
	// cluster-scoped kinds such as Node.
	Namespace expression.Template `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

var getKind = Kind{
	Name:    "get",
	Summary: "read an object by name, or the objects matching a label selector (kubectl get -o json)",
	New:     func() Action { return &GetStep{} },
	Results: []Result{resultObject, resultObjects},
}

// Check implements Action.
func (s *GetStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := checkKind(s.APIVersion, s.Kind)
	if !s.Name.IsZero() && !s.Selector.IsZero() {
		errs = append(errs, fieldErr("selector", "give name or selector, not both"))
	}
	errs = append(errs, checkName("name", s.Name, objectName)...)
	errs = append(errs, checkName("namespace", s.Namespace, namespaceName)...)
	return errs
}

// Plan implements Action.
func (s *GetStep) Plan(p *Planner) (*Planned, error) {
	t, notes := planTarget(p, s.APIVersion, s.Kind, s.Name, s.Namespace)
	pl := &Planned{Target: t.String(), Notes: notes}
	if t.name != "" {
		pl.Calls = []Call{t.call("get", "")}
	} else {
		sel := p.Render(s.Selector)
		c := t.call("list", "")
		if sel != "" {
			c.Note = "labelSelector=" + sel
		}
		pl.Calls = []Call{c}
	}
	pl.Kubectl = s.kubectl(t, p.Render(s.Selector))
	return pl, nil
}

func (s *GetStep) kubectl(t target, selector string) string {
	cmd := "kubectl get " + shellQuote(t.kubectlType())
	if t.name != "" {
		cmd += " " + shellQuote(t.name)
	}
	cmd += t.kubectlNamespace()
	if selector != "" {
		cmd += " -l " + shellQuote(selector)
	}
	return cmd + " -o json"
}

// Run implements Action.
func (s *GetStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := resolveTarget(e, s.APIVersion, s.Kind, s.Name, s.Namespace)
	if err != nil {
		return out.fail(err)
	}
	selector, err := e.Render(s.Selector)
	if err != nil {
		return out.fail(fmt.Errorf("selector: %w", err))
	}
	out.Target = t.String()
	out.Kubectl = s.kubectl(t, selector)
	ri, err := t.client(e)
	if err != nil {
		return out.fail(err)
	}
	if t.name != "" {
		u, err := ri.Get(ctx, t.name, metav1.GetOptions{})
		if err != nil {
			return out.fail(fmt.Errorf("reading %s: %w", t, err))
		}
		obj := ObjectMap(u)
		out.Object, out.Objects = obj, []any{obj}
		out.Touched = append(out.Touched, t.ref(report.ActionRead))
		out.Secrets = append(out.Secrets, secretValues(u)...)
		return out
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return out.fail(fmt.Errorf("listing %s: %w", t, err))
	}
	// The API server lists by name; fakes and caches may not.
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := &list.Items[i], &list.Items[j]
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
	out.Objects = []any{}
	for i := range list.Items {
		u := &list.Items[i]
		if u.GetAPIVersion() == "" {
			// List items carry no apiVersion and kind of their own.
			u.SetGroupVersionKind(t.gvk)
		}
		out.Objects = append(out.Objects, ObjectMap(u))
		out.Touched = append(out.Touched, ObjectRef{Kind: t.gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName(), Action: report.ActionRead})
		out.Secrets = append(out.Secrets, secretValues(u)...)
	}
	return out
}

// secretValues returns the values of a Secret, decoded, so that the report
// redacts them wherever they appear (the report also removes their base64
// form). Other objects have none.
func secretValues(u *unstructured.Unstructured) []string {
	if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return nil
	}
	var out []string
	data, _, _ := unstructured.NestedMap(u.Object, "data")
	for _, v := range data {
		if s, ok := v.(string); ok {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) > 0 {
				out = append(out, string(b))
			}
		}
	}
	str, _, _ := unstructured.NestedStringMap(u.Object, "stringData")
	for _, v := range str {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// target is an object (or, without name, a kind) that get, wait and delete
// act on, after rendering and mapping to its resource.
type target struct {
	gvk        schema.GroupVersionKind
	gvr        schema.GroupVersionResource
	namespaced bool
	ns, name   string
}

// String reads like "pod default/web" or "node kind-control-plane"; without
// a name, "pods in default".
func (t target) String() string {
	kind := strings.ToLower(t.gvk.Kind)
	if t.name == "" {
		if t.namespaced {
			return t.gvr.Resource + " in " + t.ns
		}
		return t.gvr.Resource
	}
	if t.namespaced {
		return kind + " " + t.ns + "/" + t.name
	}
	return kind + " " + t.name
}

// resourceName is the resource as kubectl names it: pods, deployments.apps.
func resourceName(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Resource
	}
	return gvr.Resource + "." + gvr.Group
}

// kubectlType is the type argument of a kubectl command: pod, deployments.apps.
func (t target) kubectlType() string {
	if t.gvr.Group == "" {
		return strings.ToLower(t.gvk.Kind)
	}
	return resourceName(t.gvr)
}

// namespace is the namespace of requests: "" for cluster-scoped kinds.
func (t target) namespace() string {
	if t.namespaced {
		return t.ns
	}
	return ""
}

func (t target) kubectlNamespace() string {
	if !t.namespaced {
		return ""
	}
	return " -n " + shellQuote(t.ns)
}

// call is a plan's call on the target.
func (t target) call(verb, note string) Call {
	c := Call{Verb: verb, Group: t.gvr.Group, Resource: t.gvr.Resource, Namespace: t.namespace(), Name: t.name, Note: note}
	if verb == "list" || verb == "watch" {
		c.Name = ""
	}
	return c
}

func (t target) ref(action string) ObjectRef {
	return ObjectRef{Kind: t.gvk.Kind, Namespace: t.namespace(), Name: t.name, Action: action}
}

// client returns the dynamic client of the target's resource.
func (t target) client(e *Env) (dynamic.ResourceInterface, error) {
	if e.Clients == nil || e.Clients.Dynamic() == nil {
		return nil, errors.New("no cluster client")
	}
	ri := e.Clients.Dynamic().Resource(t.gvr)
	if t.namespaced {
		return ri.Namespace(t.ns), nil
	}
	return ri, nil
}

// isPod reports whether the target is a core v1 pod, which waits read
// from the run's pod watcher.
func (t target) isPod() bool {
	return t.gvr.Group == "" && t.gvr.Resource == "pods"
}

// checkKind validates apiVersion and kind fields.
func checkKind(apiVersion, kind string) []runbook.FieldError {
	var errs []runbook.FieldError
	if kind == "" {
		errs = append(errs, fieldErr("kind", "kind is required (e.g. Pod, Deployment)"))
	}
	if apiVersion != "" {
		if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
			errs = append(errs, fieldErr("apiVersion", "apiVersion %q is not GROUP/VERSION or VERSION: %v", apiVersion, err))
		}
	}
	return errs
}

// groupVersionKind parses apiVersion (default v1) and kind.
func groupVersionKind(apiVersion, kind string) (schema.GroupVersionKind, error) {
	gv, err := schema.ParseGroupVersion(cmp.Or(apiVersion, "v1"))
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	if gv.Version == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("apiVersion %q has no version", apiVersion)
	}
	if kind == "" {
		return schema.GroupVersionKind{}, errors.New("kind is empty")
	}
	return gv.WithKind(kind), nil
}

// resolveTarget renders name and namespace and maps the kind to its
// resource with the cluster's RESTMapper.
func resolveTarget(e *Env, apiVersion, kind string, name, namespace expression.Template) (target, error) {
	var t target
	gvk, err := groupVersionKind(apiVersion, kind)
	if err != nil {
		return t, err
	}
	t.gvk = gvk
	if t.name, err = e.Render(name); err != nil {
		return t, fmt.Errorf("name: %w", err)
	}
	if !name.IsZero() && t.name == "" {
		return t, fmt.Errorf("name %q evaluated to an empty string", name.Raw)
	}
	if t.ns, err = e.Render(namespace); err != nil {
		return t, fmt.Errorf("namespace: %w", err)
	}
	if t.ns == "" {
		t.ns = e.Namespace
	}
	if e.Clients == nil {
		return t, errors.New("no cluster client")
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetName(t.name)
	t.gvr, t.namespaced, err = e.Clients.ResourceFor(u)
	if err != nil {
		return t, fmt.Errorf("kind %s (%s): %w", gvk.Kind, gvk.GroupVersion(), err)
	}
	return t, nil
}

// offlineClients map the built-in kinds to resources without a cluster,
// for plans.
var offlineClients = kube.NewClientsWith(nil, nil, nil, "")

// planResource maps an object's kind to its resource without a cluster: the
// built-in kinds are known; others are guessed as kubectl would (lowercase
// plural), assumed namespaced, and resolved by discovery at run time.
func planResource(gvk schema.GroupVersionKind) (gvr schema.GroupVersionResource, namespaced bool, note string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	gvr, namespaced, err := offlineClients.ResourceFor(u)
	if err == nil {
		return gvr, namespaced, ""
	}
	gvr, _ = meta.UnsafeGuessKindToResource(gvk)
	return gvr, true, fmt.Sprintf("%s is not a built-in kind: its resource (%s) and scope are found by discovery at run time", gvk.Kind, resourceName(gvr))
}

// planTarget is resolveTarget for plans.
func planTarget(p *Planner, apiVersion, kind string, name, namespace expression.Template) (target, []string) {
	var t target
	var notes []string
	gvk, err := groupVersionKind(apiVersion, kind)
	if err != nil {
		gvk = schema.GroupVersionKind{Version: "v1", Kind: kind}
		notes = append(notes, err.Error())
	}
	t.gvk = gvk
	var note string
	t.gvr, t.namespaced, note = planResource(gvk)
	if note != "" {
		notes = append(notes, note)
	}
	t.name = p.Render(name)
	t.ns = p.Render(namespace)
	if t.ns == "" {
		t.ns = p.Namespace
	}
	return t, notes
}
