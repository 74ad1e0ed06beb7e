package kube

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/kube-runbook/runbook/report"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
)

// Call is one request to the API server as the server's authorizer sees it:
// the RBAC verb (get, list, watch, create, patch, delete, ...), the resource
// and subresource, the namespace and the object's name. Plans, runs, RBAC
// rules, reports and request counts are all made of Calls.
type Call struct {
	// Verb is the RBAC verb: a GET of a collection is list, with watch=true
	// it is watch.
	Verb string `json:"verb" yaml:"verb"`
	// Group is the API group, "" for core.
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
	// Version is the API version, e.g. v1.
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
	// Resource is the plural resource name, e.g. pods.
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	// Subresource, e.g. ephemeralcontainers, exec, log.
	Subresource string `json:"subresource,omitempty" yaml:"subresource,omitempty"`
	// Namespace of the object or collection; "" for cluster-scoped ones
	// and for requests across all namespaces.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Name of the object; a list or watch restricted to one object by a
	// metadata.name field selector has it too.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Path is the URL path of a request that names no resource (/version,
	// discovery).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
}

// requestInfo parses request URLs as the API server does before it asks
// its authorizer.
var requestInfo = &request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// CallOf describes an HTTP request to the API server.
func CallOf(req *http.Request) Call {
	info, err := requestInfo.NewRequestInfo(req)
	if err != nil || !info.IsResourceRequest {
		verb := strings.ToLower(req.Method)
		if info != nil && info.Verb != "" {
			verb = info.Verb
		}
		return Call{Verb: verb, Path: req.URL.Path}
	}
	c := Call{Verb: info.Verb, Group: info.APIGroup, Version: info.APIVersion, Resource: info.Resource,
		Subresource: info.Subresource, Namespace: info.Namespace, Name: info.Name}
	if c.Group == "" && c.Resource == "namespaces" {
		// The server files a namespace under itself; it is cluster-scoped.
		c.Namespace = ""
	}
	return c
}

// Key names what was called without the object: "GET pods", "WATCH pods",
// "PATCH pods/ephemeralcontainers"; see report.Call, which records it.
func (c Call) Key() string { return report.Call(c).Key() }

// String is the one-line form of a call: "PATCH pods/ephemeralcontainers default/noshell".
func (c Call) String() string { return report.Call(c).String() }

// CallLog records the calls made under one context (a step), in order. It
// is safe for concurrent use; past MaxLoggedCalls it only counts.
type CallLog struct {
	mu      sync.Mutex
	calls   []Call
	dropped int
}

// MaxLoggedCalls bounds a CallLog: a step that makes more calls keeps the
// first ones and the count of the rest.
const MaxLoggedCalls = 1000

type callLogKey struct{}

// WithCallLog returns a context whose API requests are recorded in l.
func WithCallLog(ctx context.Context, l *CallLog) context.Context {
	return context.WithValue(ctx, callLogKey{}, l)
}

func (l *CallLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.calls) >= MaxLoggedCalls {
		l.dropped++
		return
	}
	l.calls = append(l.calls, c)
}

// Calls returns the calls recorded so far and how many were not kept.
func (l *CallLog) Calls() ([]Call, int) {
	if l == nil {
		return nil, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...), l.dropped
}

// record adds a call to the context's log, if it has one.
func record(ctx context.Context, c Call) {
	if l, ok := ctx.Value(callLogKey{}).(*CallLog); ok && l != nil {
		l.add(c)
	}
}

// RulesFor derives the RBAC rules that calls need: one rule per API group
// and resource (with its subresource), verbs merged and sorted, rules
// sorted by group and resource. Calls that name no resource (/version,
// discovery) need no rule. An exec, attach or port-forward call needs both
// get (its WebSocket upgrade is a GET) and create (the SPDY fallback is a
// POST). Rules on Secrets are limited to the names the calls use
// (resourceNames) for each verb that can be limited so and whose every
// call names a known object; those verbs get a rule per set of names,
// after the rule of the other verbs.
func RulesFor(calls []Call) []rbacv1.PolicyRule {
	type key struct{ group, resource string }
	verbs := map[key]sets.Set[string]{}
	// named holds, by key and verb, the names of the calls that may be
	// limited by resourceNames; unnamed the verbs with a call that may not.
	named := map[key]map[string]sets.Set[string]{}
	unnamed := map[key]sets.Set[string]{}
	for _, c := range calls {
		if c.Resource == "" {
			continue
		}
		k := key{c.Group, c.Resource}
		if c.Subresource != "" {
			k.resource += "/" + c.Subresource
		}
		if namedResources.Has(k.resource) && c.Group == "" {
			if namedVerbs.Has(c.Verb) && c.Name != "" && !strings.Contains(c.Name, "<") {
				if named[k] == nil {
					named[k] = map[string]sets.Set[string]{}
				}
				if named[k][c.Verb] == nil {
					named[k][c.Verb] = sets.New[string]()
				}
				named[k][c.Verb].Insert(c.Name)
			} else {
				if unnamed[k] == nil {
					unnamed[k] = sets.New[string]()
				}
				unnamed[k].Insert(c.Verb)
			}
		}
		if verbs[k] == nil {
			verbs[k] = sets.New[string]()
		}
		verbs[k].Insert(c.Verb)
		if c.Group == "" && c.Resource == "pods" && streamingSubresources.Has(c.Subresource) {
			verbs[k].Insert("get", "create")
		}
	}
	keys := make([]key, 0, len(verbs))
	for k := range verbs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].resource < keys[j].resource
	})
	out := make([]rbacv1.PolicyRule, 0, len(keys))
	for _, k := range keys {
		all := verbs[k]
		// Verbs limited to names, grouped by the same names.
		byNames := map[string]sets.Set[string]{}
		for verb, names := range named[k] {
			if unnamed[k].Has(verb) {
				continue
			}
			all = all.Clone()
			all.Delete(verb)
			id := strings.Join(sets.List(names), "\x00")
			if byNames[id] == nil {
				byNames[id] = sets.New[string]()
			}
			byNames[id].Insert(verb)
		}
		if all.Len() > 0 {
			out = append(out, rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: sets.List(all)})
		}
		ids := make([]string, 0, len(byNames))
		for id := range byNames {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			out = append(out, rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource},
				Verbs: sets.List(byNames[id]), ResourceNames: strings.Split(id, "\x00")})
		}
	}
	return out
}

// namedResources are the resources whose rules RulesFor limits to the
// names the calls use: reading a Secret is reading its values.
var namedResources = sets.New("secrets")

// namedVerbs are the verbs that resourceNames can limit: a create names
// no object the authorizer sees, and a list or watch only with a field
// selector the run does not use.
var namedVerbs = sets.New("get", "update", "patch", "delete")

// streamingSubresources are the pod subresources reached by a WebSocket
// upgrade (GET) or SPDY (POST).
var streamingSubresources = sets.New("exec", "attach", "portforward")

// ObjectRef names an object of the cluster by resource: what a run creates
// and cleanup deletes.
type ObjectRef struct {
	// Group, Version and Resource are the object's resource.
	Group    string `json:"group,omitempty" yaml:"group,omitempty"`
	Version  string `json:"version" yaml:"version"`
	Resource string `json:"resource" yaml:"resource"`
	// Kind is the object's kind, for people.
	Kind string `json:"kind" yaml:"kind"`
	// Namespace is "" for cluster-scoped objects.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Name is the object's name.
	Name string `json:"name" yaml:"name"`
}

// String reads "pod default/web", "deployment.apps default/web" or
// "clusterrole.rbac.authorization.k8s.io reader".
func (o ObjectRef) String() string {
	kind := strings.ToLower(o.Kind)
	if o.Group != "" {
		kind += "." + o.Group
	}
	if o.Namespace == "" {
		return kind + " " + o.Name
	}
	return kind + " " + o.Namespace + "/" + o.Name
}

// Delete is the call that deletes the object.
func (o ObjectRef) Delete() Call {
	return Call{Verb: "delete", Group: o.Group, Version: o.Version, Resource: o.Resource, Namespace: o.Namespace, Name: o.Name}
}

// RefOf names an object of resource gvr.
func RefOf(gvr schema.GroupVersionResource, kind, namespace, name string) ObjectRef {
	return ObjectRef{Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource, Kind: kind, Namespace: namespace, Name: name}
}

// Leftover is something a run makes that cleanup cannot remove by itself:
// it goes when the object it lives in is deleted (an ephemeral container
// stays in its pod until the pod is deleted).
type Leftover struct {
	// What is left, e.g. `ephemeral container "debugger-x2k4p"`.
	What string `json:"what" yaml:"what"`
	// In is the object it lives in.
	In ObjectRef `json:"in" yaml:"in"`
}

// String reads `ephemeral container "debugger-x2k4p" stays in pod default/web until the pod is deleted`.
func (l Leftover) String() string {
	return l.What + " stays in " + l.In.String() + " until the " + strings.ToLower(l.In.Kind) + " is deleted"
}

// PodRef is the ObjectRef of a pod.
func PodRef(namespace, name string) ObjectRef {
	return ObjectRef{Version: "v1", Resource: "pods", Kind: "Pod", Namespace: namespace, Name: name}
}
