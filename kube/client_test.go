package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

// kubeconfigContext is one context of a test kubeconfig.
type kubeconfigContext struct {
	name, server, namespace string
}

// writeKubeconfig writes a kubeconfig with one cluster and user per context.
func writeKubeconfig(t *testing.T, current string, contexts ...kubeconfigContext) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s-cluster\n  cluster: {server: %q}\n", c.name, c.server)
	}
	b.WriteString("users:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s-user\n  user: {token: secret}\n", c.name)
	}
	b.WriteString("contexts:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: %s-cluster, user: %s-user, namespace: %q}\n", c.name, c.name, c.name, c.namespace)
	}
	fmt.Fprintf(&b, "current-context: %q\n", current)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverClients returns Clients talking to an httptest server running handler.
func serverClients(t *testing.T, handler http.Handler) *Clients {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	t.Setenv("KUBECONFIG", "")
	path := writeKubeconfig(t, "test", kubeconfigContext{name: "test", server: srv.URL, namespace: "ns"})
	c, err := NewClients(ConfigOptions{Flags: ConfigFlags{Kubeconfig: path}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseFlags parses args with the kubeconfig flags, as a command does.
func parseFlags(t *testing.T, args ...string) ConfigFlags {
	t.Helper()
	var f ConfigFlags
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	f.AddFlags(fs, "namespace")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewClientsKubeconfigPrecedence(t *testing.T) {
	envFile := writeKubeconfig(t, "env-a",
		kubeconfigContext{name: "env-a", server: "https://env-a.example:6443", namespace: "team-a"},
		kubeconfigContext{name: "env-b", server: "https://env-b.example:6443"},
	)
	envFile2 := writeKubeconfig(t, "second",
		kubeconfigContext{name: "second", server: "https://second.example:6443", namespace: "second-ns"},
	)
	flagFile := writeKubeconfig(t, "flag",
		kubeconfigContext{name: "flag", server: "https://flag.example:6443", namespace: "flag-ns"},
	)
	missing := filepath.Join(t.TempDir(), "missing")
	type view struct {
		Context, Server, Namespace, Token string
	}
	tests := []struct {
		name       string
		kubeconfig string // KUBECONFIG
		args       []string
		want       view
		wantErr    string
	}{
		{
			name:       "KUBECONFIG current context and its namespace",
			kubeconfig: envFile,
			want:       view{"env-a", "https://env-a.example:6443", "team-a", "secret"},
		},
		{
			name:       "--kubeconfig beats KUBECONFIG",
			kubeconfig: envFile,
			args:       []string{"--kubeconfig", flagFile},
			want:       view{"flag", "https://flag.example:6443", "flag-ns", "secret"},
		},
		{
			name:       "--context selects, context without namespace means default",
			kubeconfig: envFile,
			args:       []string{"--context=env-b"},
			want:       view{"env-b", "https://env-b.example:6443", "default", "secret"},
		},
		{
			name:       "-n beats the context's namespace",
			kubeconfig: envFile,
			args:       []string{"-n", "override"},
			want:       view{"env-a", "https://env-a.example:6443", "override", "secret"},
		},
		{
			name:       "--namespace takes kubectl's namespaces/ prefix",
			kubeconfig: envFile,
			args:       []string{"--namespace", "namespaces/pref"},
			want:       view{"env-a", "https://env-a.example:6443", "pref", "secret"},
		},
		{
			name:       "KUBECONFIG list: first file's current-context wins, contexts merged",
			kubeconfig: envFile + string(os.PathListSeparator) + envFile2,
			args:       []string{"--context", "second"},
			want:       view{"second", "https://second.example:6443", "second-ns", "secret"},
		},
		{
			name:       "KUBECONFIG list without --context",
			kubeconfig: envFile2 + string(os.PathListSeparator) + envFile,
			want:       view{"second", "https://second.example:6443", "second-ns", "secret"},
		},
		{
			name:       "KUBECONFIG list with a missing file: skipped, as kubectl does",
			kubeconfig: missing + string(os.PathListSeparator) + envFile,
			want:       view{"env-a", "https://env-a.example:6443", "team-a", "secret"},
		},
		{
			name:       "--cluster swaps the context's cluster, keeps its namespace",
			kubeconfig: envFile,
			args:       []string{"--cluster", "env-b-cluster"},
			want:       view{"env-a", "https://env-b.example:6443", "team-a", "secret"},
		},
		{
			name:       "-s and --token override the cluster and user",
			kubeconfig: envFile,
			args:       []string{"-s", "https://other.example:6443", "--token", "flag-token"},
			want:       view{"env-a", "https://other.example:6443", "team-a", "flag-token"},
		},
		{
			name:       "--server with --kubeconfig of a missing file is still an error",
			kubeconfig: envFile,
			args:       []string{"--server", "https://other.example:6443", "--kubeconfig", missing},
			wantErr:    "--kubeconfig " + missing + ": no such file or directory",
		},
		{
			name:       "unknown context names the flag and the file",
			kubeconfig: envFile,
			args:       []string{"--context", "nope"},
			wantErr:    `--context "nope": no such context in $KUBECONFIG (` + envFile + `); it has env-a, env-b`,
		},
		{
			name:       "unknown --user",
			kubeconfig: envFile,
			args:       []string{"--user", "nobody"},
			wantErr:    `auth info "nobody" does not exist`,
		},
		{
			name:       "no kubeconfig anywhere, not in a pod",
			kubeconfig: missing,
			wantErr:    "no kubeconfig in $KUBECONFIG (" + missing + ") and not in a pod: give --kubeconfig, or --server",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			t.Setenv("KUBERNETES_SERVICE_HOST", "") // never in a pod here
			c, err := NewClients(ConfigOptions{Flags: parseFlags(t, tt.args...)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, view{c.ContextName, c.Server, c.Namespace, c.Config.BearerToken}); diff != "" {
				t.Errorf("clients (-want +got):\n%s", diff)
			}
			if c.Config.QPS != clientQPS || c.Config.Burst != clientBurst {
				t.Errorf("QPS/Burst = %v/%v, want %v/%v", c.Config.QPS, c.Config.Burst, clientQPS, clientBurst)
			}
		})
	}
}

// TestConfigFlagsReachTheRESTConfig checks that each of kubectl's
// connection flags lands in the REST config the clients use.
func TestConfigFlagsReachTheRESTConfig(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t, "a", kubeconfigContext{name: "a", server: "https://a.example:6443"}))
	dir := t.TempDir()
	ca, cert, key := writeTestCert(t, dir)
	f := parseFlags(t, "--as", "system:serviceaccount:ns:limited", "--as-group", "g1", "--as-group", "g2", "--as-uid", "uid-1",
		"--request-timeout", "7s", "--tls-server-name", "api.internal", "--disable-compression",
		"--certificate-authority", ca, "--client-certificate", cert, "--client-key", key)
	c, err := NewClients(ConfigOptions{Flags: f, UserAgent: "runbook/test"})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		User, UID                     string
		Groups                        []string
		Timeout                       time.Duration
		ServerName, CAFile, Cert, Key string
		DisableCompression            bool
		UserAgent                     string
	}
	got := view{c.Config.Impersonate.UserName, c.Config.Impersonate.UID, c.Config.Impersonate.Groups, c.Config.Timeout,
		c.Config.ServerName, c.Config.CAFile, c.Config.CertFile, c.Config.KeyFile, c.Config.DisableCompression, c.Config.UserAgent}
	want := view{"system:serviceaccount:ns:limited", "uid-1", []string{"g1", "g2"}, 7 * time.Second,
		"api.internal", ca, cert, key, true, "runbook/test"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("REST config (-want +got):\n%s", diff)
	}

	insecure, err := NewClients(ConfigOptions{Flags: parseFlags(t, "--insecure-skip-tls-verify")})
	if err != nil {
		t.Fatal(err)
	}
	if !insecure.Config.Insecure {
		t.Error("--insecure-skip-tls-verify: Config.Insecure is false")
	}
	if _, err := NewClients(ConfigOptions{Flags: parseFlags(t, "--request-timeout", "soon")}); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Errorf("--request-timeout soon: error = %v, want one naming the value", err)
	}
}

// writeTestCert writes a self-signed certificate and its key in dir, and
// returns the paths of the certificate (twice: as a CA and as a client
// certificate) and of the key.
func writeTestCert(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, cert, key
}

func TestContextNamespaceIgnoresTheFlag(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t, "a",
		kubeconfigContext{name: "a", server: "https://a.example:6443", namespace: "team-a"},
		kubeconfigContext{name: "b", server: "https://b.example:6443"}))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "flag"}, "team-a"},
		{[]string{"--context", "b", "-n", "flag"}, "default"},
	} {
		f := parseFlags(t, tt.args...)
		if got, err := ContextNamespace(f); got != tt.want || err != nil {
			t.Errorf("ContextNamespace(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
		if f.Namespace() == "" && tt.args[0] == "-n" {
			t.Errorf("ContextNamespace changed the flags: -n is now empty")
		}
	}
}

func TestRequestCounterCountsEveryRequest(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"33","gitVersion":"v1.33.13"}`)
	})
	mux.HandleFunc("/api/v1/namespaces/ns/pods/web", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"ns"}}`)
	})
	mux.HandleFunc("/api/v1/namespaces/ns/pods", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}`)
	})
	mux.HandleFunc("/apis/apps/v1/namespaces/ns/deployments/d", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404}`)
	})
	c := serverClients(t, mux)
	ctx := context.Background()

	version, err := c.ServerVersion(ctx)
	if err != nil || version != "v1.33.13" {
		t.Fatalf("ServerVersion = %q, %v", version, err)
	}
	if _, err := c.Kube.CoreV1().Pods("ns").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	if _, err := c.Dynamic().Resource(deployments).Namespace("ns").Get(ctx, "d", metav1.GetOptions{}); err == nil {
		t.Fatal("GET of a missing deployment succeeded")
	}

	if got := c.Requests.Count(); got != 4 {
		t.Errorf("Count = %d, want 4", got)
	}
	want := map[string]int64{"GET /version": 1, "GET pods": 1, "LIST pods": 1, "GET deployments.apps": 1}
	if diff := cmp.Diff(want, c.Requests.ByVerb()); diff != "" {
		t.Errorf("ByVerb (-want +got):\n%s", diff)
	}
}

func TestCallOf(t *testing.T) {
	tests := []struct {
		method, url, want string
	}{
		{"GET", "/api/v1/namespaces/ns/pods/web", "GET pods ns/web"},
		{"GET", "/api/v1/namespaces/ns/pods?labelSelector=a%3Db", "LIST pods ns/*"},
		{"GET", "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dweb&watch=true", "WATCH pods ns/web"},
		{"GET", "/api/v1/watch/namespaces/ns/pods", "WATCH pods ns/*"},
		{"GET", "/api/v1/pods?watch=true", "WATCH pods"},
		{"POST", "/api/v1/namespaces/ns/pods", "CREATE pods ns/*"},
		{"PATCH", "/api/v1/namespaces/ns/pods/web/ephemeralcontainers", "PATCH pods/ephemeralcontainers ns/web"},
		{"GET", "/api/v1/namespaces/ns/pods/web/log?container=app", "GET pods/log ns/web"},
		{"POST", "/api/v1/namespaces/ns/pods/web/exec?command=ps", "CREATE pods/exec ns/web"},
		{"GET", "/api/v1/namespaces/ns/pods/web/exec?command=ps", "GET pods/exec ns/web"},
		{"DELETE", "/api/v1/namespaces/run-x", "DELETE namespaces run-x"},
		{"POST", "/api/v1/namespaces", "CREATE namespaces"},
		{"PUT", "/api/v1/namespaces/run-x/finalize", "UPDATE namespaces/finalize run-x"},
		{"GET", "/api/v1/nodes/vm", "GET nodes vm"},
		{"GET", "/apis/apps/v1/namespaces/ns/deployments/web/scale", "GET deployments.apps/scale ns/web"},
		{"DELETE", "/apis/apps/v1/namespaces/ns/deployments/web", "DELETE deployments.apps ns/web"},
		{"GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", "LIST clusterroles.rbac.authorization.k8s.io"},
		{"GET", "/api", "GET /api"},
		{"GET", "/apis/apps/v1", "GET /apis/apps/v1"},
		{"GET", "/version", "GET /version"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.url, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := CallOf(req).String(); got != tt.want {
				t.Errorf("CallOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResourceForBuiltinsNeedsNoDiscovery(t *testing.T) {
	kube := fake.NewSimpleClientset()
	kube.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
		GroupVersion: "example.com/v1",
		APIResources: []metav1.APIResource{{Name: "widgets", SingularName: "widget", Kind: "Widget", Namespaced: true}},
	}}
	c := NewClientsWith(kube, nil, nil, "")

	type mapping struct {
		GVR        schema.GroupVersionResource
		Namespaced bool
	}
	builtins := []struct {
		apiVersion, kind string
		want             mapping
	}{
		{"v1", "Pod", mapping{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true}},
		{"v1", "Namespace", mapping{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false}},
		{"v1", "ConfigMap", mapping{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true}},
		{"v1", "Secret", mapping{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true}},
		{"v1", "Service", mapping{schema.GroupVersionResource{Version: "v1", Resource: "services"}, true}},
		{"v1", "ServiceAccount", mapping{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true}},
		{"apps/v1", "Deployment", mapping{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true}},
		{"apps/v1", "StatefulSet", mapping{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, true}},
		{"apps/v1", "DaemonSet", mapping{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, true}},
		{"apps/v1", "ReplicaSet", mapping{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, true}},
		{"batch/v1", "Job", mapping{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true}},
	}
	for _, tt := range builtins {
		t.Run(tt.apiVersion+" "+tt.kind, func(t *testing.T) {
			obj := &unstructured.Unstructured{}
			obj.SetAPIVersion(tt.apiVersion)
			obj.SetKind(tt.kind)
			gvr, namespaced, err := c.ResourceFor(obj)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, mapping{gvr, namespaced}); diff != "" {
				t.Errorf("ResourceFor (-want +got):\n%s", diff)
			}
		})
	}
	if actions := kube.Actions(); len(actions) != 0 {
		t.Fatalf("built-in kinds caused %d discovery calls: %v", len(actions), actions)
	}

	t.Run("other kinds through discovery", func(t *testing.T) {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("example.com/v1")
		obj.SetKind("Widget")
		gvr, namespaced, err := c.ResourceFor(obj)
		if err != nil {
			t.Fatal(err)
		}
		want := mapping{schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, true}
		if diff := cmp.Diff(want, mapping{gvr, namespaced}); diff != "" {
			t.Errorf("ResourceFor (-want +got):\n%s", diff)
		}
		if len(kube.Actions()) == 0 {
			t.Error("no discovery call for a kind outside the static table")
		}
	})

	t.Run("unknown kind is an error", func(t *testing.T) {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("example.com/v1")
		obj.SetKind("Gadget")
		if _, _, err := c.ResourceFor(obj); !meta.IsNoMatchError(err) {
			t.Errorf("ResourceFor of an unknown kind: error %v, want a no-match error", err)
		}
	})

	t.Run("object without kind is an error", func(t *testing.T) {
		obj := &unstructured.Unstructured{}
		obj.SetName("x")
		_, _, err := c.ResourceFor(obj)
		if err == nil || err.Error() != `object "x" has no apiVersion or kind` {
			t.Errorf("error = %v", err)
		}
	})
}

// TestCallLogRecordsTheContextsCalls checks that the transport records each
// request in the log of the context it was made with, and only there.
func TestCallLogRecordsTheContextsCalls(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/namespaces/ns/pods/web", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"ns"}}`)
	})
	mux.HandleFunc("/api/v1/namespaces/ns/pods", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}`)
	})
	c := serverClients(t, mux)
	var a, b CallLog
	if _, err := c.Kube.CoreV1().Pods("ns").Get(WithCallLog(context.Background(), &a), "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().Pods("ns").List(WithCallLog(context.Background(), &b), metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Kube.CoreV1().Pods("ns").Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	gotA, _ := a.Calls()
	gotB, _ := b.Calls()
	if diff := cmp.Diff([]Call{{Verb: "get", Version: "v1", Resource: "pods", Namespace: "ns", Name: "web"}}, gotA); diff != "" {
		t.Errorf("log a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Call{{Verb: "list", Version: "v1", Resource: "pods", Namespace: "ns"}}, gotB); diff != "" {
		t.Errorf("log b (-want +got):\n%s", diff)
	}
	if got := c.Requests.Count(); got != 3 {
		t.Errorf("Count = %d, want 3", got)
	}
}

func TestRulesFor(t *testing.T) {
	calls := []Call{
		{Verb: "create", Group: "apps", Version: "v1", Resource: "deployments", Namespace: "d", Name: "web"},
		{Verb: "delete", Group: "apps", Version: "v1", Resource: "deployments", Namespace: "d", Name: "web"},
		{Verb: "create", Version: "v1", Resource: "pods", Subresource: "exec", Namespace: "d", Name: "web"},
		{Verb: "watch", Version: "v1", Resource: "pods", Namespace: "d"},
		{Verb: "get", Path: "/version"},
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create", "delete"}},
	}
	if diff := cmp.Diff(want, RulesFor(calls)); diff != "" {
		t.Errorf("RulesFor (-want +got):\n%s", diff)
	}
}

// TestClientsSource checks that Clients say where the cluster was chosen,
// for the errors of an unreachable one.
func TestClientsSource(t *testing.T) {
	path := writeKubeconfig(t, "a", kubeconfigContext{name: "a", server: "https://a.example:6443"})
	t.Setenv("KUBECONFIG", path)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, `context "a" of $KUBECONFIG (` + path + `)`},
		{[]string{"--kubeconfig", path}, `context "a" of ` + path},
		{[]string{"-s", "https://b.example:6443"}, "--server"},
	} {
		c, err := NewClients(ConfigOptions{Flags: parseFlags(t, tt.args...)})
		if err != nil {
			t.Fatal(err)
		}
		if c.Source != tt.want {
			t.Errorf("%q: Source = %q, want %q", tt.args, c.Source, tt.want)
		}
	}
}
