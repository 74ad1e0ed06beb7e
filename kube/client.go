// Package kube is runbook's access to the cluster, over client-go: clients
// that count every request and record it in the step's CallLog; the pure
// builders of kubectl debug's ephemeral containers, pod copies and node
// pods (shared by plan and run); waits, the shared per-namespace pod
// watcher and workload readiness; exec, logs and copies out of containers;
// and the Tracker that deletes what a run created. It uses package report
// only for the names of deletion outcomes.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Client-side rate limits. client-go defaults to 5 QPS / burst 10, which makes a busy run
// sleep in the client; a runbook sends a few dozen requests at most, so the limiter must
// never be what a user waits for.
const (
	clientQPS   = 50
	clientBurst = 100
)

// ConfigOptions selects a cluster the way kubectl does, with kubectl's own
// kubeconfig flags (ConfigFlags): the kubeconfig file(s) from --kubeconfig,
// else the KUBECONFIG list (merged), else ~/.kube/config (else in-cluster
// config); the context from --context, else the kubeconfig's
// current-context, its cluster and user overridden by --cluster, --user,
// --server, --token, --as ...; the namespace from -n, else the context's
// namespace, else "default".
type ConfigOptions struct {
	// Flags are the kubeconfig flags.
	Flags ConfigFlags
	// UserAgent names the tool, e.g. "runbook/v0.1.0", in audit logs and, as the field
	// manager, in managedFields of what a run creates. Empty leaves client-go's default.
	UserAgent string
}

// Clients holds everything needed to talk to one cluster: the REST config, the typed and
// dynamic clients, a RESTMapper, and a counter of every HTTP request sent, so a run can
// report how many API calls it made.
type Clients struct {
	// Config is the REST config the clients were built from; its transport counts requests.
	Config *rest.Config
	// Kube is the typed clientset.
	Kube kubernetes.Interface
	// ContextName is the kubeconfig context in use ("" for in-cluster config).
	ContextName string
	// Server is the API server URL.
	Server string
	// Source says where the cluster was chosen, for errors: "--server",
	// `context "NAME" of FILE`, or "in-cluster config"; "" when unknown.
	Source string
	// Namespace is the namespace from the flag, else the kubeconfig context, else "default".
	Namespace string
	// Requests counts every HTTP request sent through Config, including watches, exec
	// upgrades and discovery.
	Requests *RequestCounter

	dynamic    dynamic.Interface
	mapperOnce sync.Once
	mapper     meta.RESTMapper
}

// NewClients loads the kubeconfig with clientcmd's loading rules (as kubectl does) and
// builds the clients. Typed and dynamic clients share one HTTP client, hence one connection
// pool, and every request is counted in Requests.
func NewClients(o ConfigOptions) (*Clients, error) {
	loader := clientConfig(o.Flags)

	config, err := loadConfig(o.Flags, loader)
	if err != nil {
		return nil, err
	}
	namespace, _, err := loader.Namespace()
	if err != nil {
		return nil, configError(o.Flags, err)
	}
	if namespace == "" {
		namespace = "default"
	}
	contextName := o.Flags.Overrides.CurrentContext
	if contextName == "" {
		// RawConfig fails only when no kubeconfig exists at all (in-cluster config).
		if raw, err := loader.RawConfig(); err == nil {
			contextName = raw.CurrentContext
		}
	}

	if o.UserAgent != "" {
		config.UserAgent = o.UserAgent
	}
	c, err := NewClientsForConfig(config, namespace, contextName)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Flags.Overrides.ClusterInfo.Server != "":
		c.Source = "--server"
	case contextName != "":
		c.Source = fmt.Sprintf("context %q of %s", contextName, kubeconfigSource(o.Flags))
	default:
		c.Source = "in-cluster config"
	}
	return c, nil
}

// NewClientsForConfig builds Clients for a REST config: its QPS set, every
// request counted in Requests and recorded in the CallLog of its context.
func NewClientsForConfig(config *rest.Config, namespace, contextName string) (*Clients, error) {
	listThenWatch()
	config = rest.CopyConfig(config)
	config.QPS = clientQPS
	config.Burst = clientBurst
	counter := &RequestCounter{}
	config.Wrap(counter.wrap)

	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", config.Host, err)
	}
	kube, err := kubernetes.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", config.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", config.Host, err)
	}
	return &Clients{
		Config:      config,
		Kube:        kube,
		ContextName: contextName,
		Server:      config.Host,
		Namespace:   namespace,
		Requests:    counter,
		dynamic:     dyn,
	}, nil
}

// NewClientsWith builds Clients from existing interfaces, typically the fakes of
// k8s.io/client-go/kubernetes/fake and k8s.io/client-go/dynamic/fake in tests. mapper may
// be nil: the built-in kinds then resolve from the static table, others through kube's
// discovery. Config is nil, so Exec reports an error instead of connecting.
func NewClientsWith(kube kubernetes.Interface, dyn dynamic.Interface, mapper meta.RESTMapper, namespace string) *Clients {
	if namespace == "" {
		namespace = "default"
	}
	c := &Clients{Kube: kube, Namespace: namespace, Requests: &RequestCounter{}, dynamic: dyn}
	if mapper != nil {
		c.mapperOnce.Do(func() { c.mapper = mapper })
	}
	return c
}

// Dynamic returns the dynamic client, used for arbitrary manifests and generic waits.
func (c *Clients) Dynamic() dynamic.Interface {
	return c.dynamic
}

// Mapper returns the RESTMapper: a static table of the built-in kinds runs create (no API
// request), falling back to discovery, cached in memory for the life of the Clients.
func (c *Clients) Mapper() meta.RESTMapper {
	c.mapperOnce.Do(func() {
		// The first mapper that answers wins: the static table, then discovery.
		mappers := meta.MultiRESTMapper{builtinMapper()}
		if c.Kube != nil {
			mappers = append(mappers, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Kube.Discovery())))
		}
		c.mapper = meta.FirstHitRESTMapper{MultiRESTMapper: mappers}
	})
	return c.mapper
}

// ResourceFor returns the resource of an object from its apiVersion and kind, and whether
// it is namespaced.
func (c *Clients) ResourceFor(obj *unstructured.Unstructured) (schema.GroupVersionResource, bool, error) {
	if obj == nil {
		return schema.GroupVersionResource{}, false, errors.New("no object")
	}
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return schema.GroupVersionResource{}, false, fmt.Errorf("object %q has no apiVersion or kind", obj.GetName())
	}
	mapping, err := c.Mapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return mapping.Resource, mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// ServerVersion returns the API server's git version, e.g. "v1.33.13".
func (c *Clients) ServerVersion(ctx context.Context) (string, error) {
	if c == nil || c.Kube == nil {
		return "", errors.New("no cluster client")
	}
	disc := c.Kube.Discovery()
	rc := disc.RESTClient()
	if rc == nil || c.Config == nil {
		// Fakes have no REST client; their ServerVersion needs no context.
		info, err := disc.ServerVersion()
		if err != nil {
			return "", err
		}
		return info.GitVersion, nil
	}
	body, err := rc.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return info.GitVersion, nil
}

// builtinKinds are the kinds runbooks create or read most; they resolve without discovery.
var builtinKinds = []struct {
	gvk        schema.GroupVersionKind
	plural     string
	singular   string
	namespaced bool
}{
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", "pod", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "namespaces", "namespace", false},
	{schema.GroupVersionKind{Version: "v1", Kind: "Node"}, "nodes", "node", false},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "configmaps", "configmap", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, "secrets", "secret", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "services", "service", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, "serviceaccounts", "serviceaccount", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, "events", "event", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, "persistentvolumeclaims", "persistentvolumeclaim", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", "deployment", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, "statefulsets", "statefulset", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, "daemonsets", "daemonset", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "replicasets", "replicaset", true},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, "jobs", "job", true},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, "cronjobs", "cronjob", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, "roles", "role", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, "rolebindings", "rolebinding", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, "clusterroles", "clusterrole", false},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}, "clusterrolebindings", "clusterrolebinding", false},
	// metrics-server's kinds, whose resources are not their kinds' plurals:
	// a plan (and runbook rbac) without discovery must not guess podmetricses.
	{schema.GroupVersionKind{Group: "metrics.k8s.io", Version: "v1beta1", Kind: "PodMetrics"}, "pods", "pod", true},
	{schema.GroupVersionKind{Group: "metrics.k8s.io", Version: "v1beta1", Kind: "NodeMetrics"}, "nodes", "node", false},
}

// builtinMapper returns a RESTMapper that knows only builtinKinds.
func builtinMapper() *meta.DefaultRESTMapper {
	var versions []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, k := range builtinKinds {
		if gv := k.gvk.GroupVersion(); !seen[gv] {
			seen[gv] = true
			versions = append(versions, gv)
		}
	}
	m := meta.NewDefaultRESTMapper(versions)
	for _, k := range builtinKinds {
		scope := meta.RESTScopeRoot
		if k.namespaced {
			scope = meta.RESTScopeNamespace
		}
		gv := k.gvk.GroupVersion()
		m.AddSpecific(k.gvk, gv.WithResource(k.plural), gv.WithResource(k.singular), scope)
	}
	return m
}

// RequestCounter counts the HTTP requests sent to the API server, in total and by
// Call.Key ("GET pods", "WATCH pods"). It is safe for concurrent use.
type RequestCounter struct {
	total atomic.Int64
	mu    sync.Mutex
	byKey map[string]int64
}

// Count returns the number of requests sent so far.
func (r *RequestCounter) Count() int64 {
	if r == nil {
		return 0
	}
	return r.total.Load()
}

// ByVerb returns a copy of the per-key counts, e.g. {"GET pods": 1, "WATCH pods": 1,
// "PATCH pods/ephemeralcontainers": 1}.
func (r *RequestCounter) ByVerb() map[string]int64 {
	out := map[string]int64{}
	if r == nil {
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.byKey {
		out[k] = v
	}
	return out
}

// add counts one request.
func (r *RequestCounter) add(c Call) {
	r.total.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey == nil {
		r.byKey = map[string]int64{}
	}
	r.byKey[c.Key()]++
}

// wrap is a rest.Config WrapTransport function.
func (r *RequestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return countingTransport{counter: r, next: rt}
}

// countingTransport counts each request before passing it on.
type countingTransport struct {
	counter *RequestCounter
	next    http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := CallOf(req)
	t.counter.add(c)
	record(req.Context(), c)
	return t.next.RoundTrip(req)
}

// WrappedRoundTripper lets client-go's transport helpers (e.g. connection closing) see the
// transport underneath.
func (t countingTransport) WrappedRoundTripper() http.RoundTripper {
	return t.next
}
