package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// noKubeconfig makes the test's machine one without a kubeconfig: no
// $KUBECONFIG, no ~/.kube/config (clientcmd's path of it, read at each
// load, points into an empty directory), not in a pod. Setting KUBECONFIG
// to a missing file is not that: a kubeconfig named and missing is an
// error.
func noKubeconfig(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	old := clientcmd.RecommendedHomeFile
	clientcmd.RecommendedHomeFile = filepath.Join(home, ".kube", "config")
	t.Cleanup(func() { clientcmd.RecommendedHomeFile = old })
}

// TestOfflineCommandsKubeconfigErrors checks that plan, rbac and job, which
// read the kubeconfig only for the context's namespace, fail (exit 2, with
// the message run gives) when a kubeconfig or context is named and is not
// there, even with -n, instead of working in namespace default; and that
// with no kubeconfig at all and none named they work in default.
func TestOfflineCommandsKubeconfigErrors(t *testing.T) {
	noKubeconfig(t)
	dir := t.TempDir()
	kc := filepath.Join(dir, "kc.yaml")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u1, user: {}}]
contexts:
- {name: ctx1, context: {cluster: c1, user: u1, namespace: ctxns}}
- {name: ctx2, context: {cluster: c1, user: u1}}
current-context: ctx1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "rb.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: rb}\nspec:\n  steps:\n  - get: {kind: ConfigMap, name: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name       string
		kubeconfig string // $KUBECONFIG
		args       []string
		wantErr    string // "": exit 0
		wantNS     string
	}{
		{name: "no kubeconfig, none named: default", wantNS: "default"},
		{name: "no kubeconfig, -n", args: []string{"-n", "flag-ns"}, wantNS: "flag-ns"},
		{name: "--kubeconfig: its context's namespace", args: []string{"--kubeconfig", kc}, wantNS: "ctxns"},
		{name: "--context without a namespace: default", args: []string{"--kubeconfig", kc, "--context", "ctx2"}, wantNS: "default"},
		{name: "$KUBECONFIG: its context's namespace", kubeconfig: kc, wantNS: "ctxns"},
		{name: "--kubeconfig missing", args: []string{"--kubeconfig", missing},
			wantErr: "--kubeconfig " + missing + ": no such file or directory"},
		{name: "--kubeconfig missing, with -n", args: []string{"--kubeconfig", missing, "-n", "flag-ns"},
			wantErr: "--kubeconfig " + missing + ": no such file or directory"},
		{name: "--context not in the kubeconfig", args: []string{"--kubeconfig", kc, "--context", "nosuch"},
			wantErr: `--context "nosuch": no such context in ` + kc + "; it has ctx1, ctx2"},
		{name: "--context not in the kubeconfig, with -n", args: []string{"--kubeconfig", kc, "--context", "nosuch", "-n", "flag-ns"},
			wantErr: `--context "nosuch": no such context in ` + kc},
		{name: "--context and no kubeconfig", args: []string{"--context", "prod"},
			wantErr: `--context "prod": no such context in ` + clientcmd.RecommendedHomeFile + "; it has no context"},
		// As kubectl reads it: files $KUBECONFIG names that are not there
		// are no kubeconfig (KUBECONFIG=/nonexistent keeps a plan offline).
		{name: "$KUBECONFIG missing: none", kubeconfig: missing, wantNS: "default"},
	}
	for _, cmd := range []string{"plan", "rbac", "job"} {
		for _, tt := range tests {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				t.Setenv("KUBECONFIG", tt.kubeconfig)
				code, stdout, stderr := run(t, append([]string{cmd, file}, tt.args...)...)
				if tt.wantErr != "" {
					if code != exitInvalid || !strings.Contains(stderr, tt.wantErr) {
						t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitInvalid, tt.wantErr)
					}
					return
				}
				if code != exitPassed {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				want := map[string]string{"plan": "configmap " + tt.wantNS + "/x", "rbac": "namespace: " + tt.wantNS + "\n",
					"job": "namespace: " + tt.wantNS + "\n"}[cmd]
				if !strings.Contains(stdout, want) {
					t.Errorf("%s does not work in %s (no %q):\n%s", cmd, tt.wantNS, want, stdout)
				}
			})
		}
	}
}

// TestRBACNames checks that rbac refuses a ServiceAccount name or namespace
// the API server would refuse (exit 2, naming the flag), as job does.
func TestRBACNames(t *testing.T) {
	noKubeconfig(t)
	const file = "../../examples/node.yaml" // cluster-scoped rules: a ClusterRole NAME-NAMESPACE
	long := strings.Repeat("a", 250)
	tests := []struct {
		args    []string
		wantErr string // "": exit 0
	}{
		{[]string{"--service-account", "Bad_SA"}, `--service-account "Bad_SA": not a valid ServiceAccount name: a lowercase RFC 1123 subdomain`},
		{[]string{"--service-account", "a:b"}, `--service-account "a:b": not a valid ServiceAccount name`},
		{[]string{"--service-account", "ok", "-n", "Bad_NS"}, `namespace "Bad_NS": a lowercase RFC 1123 label`},
		{[]string{"--service-account", "Bad_SA", "-n", "Bad_NS"}, `--service-account "Bad_SA"`},
		{[]string{"-n", "a.b"}, `namespace "a.b"`},
		{[]string{"--service-account", long, "-n", "ops"}, `the ClusterRole name "` + long + `-ops" it gives is not valid`},
		{[]string{"--service-account", "runbook.oncall", "-n", "ops"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"rbac", file}, tt.args...)...)
			if tt.wantErr == "" {
				if code != exitPassed || !strings.Contains(stdout, "kind: ServiceAccount") {
					t.Errorf("exit %d: %s\n%s", code, stderr, stdout)
				}
				return
			}
			if code != exitInvalid || !strings.Contains(stderr, tt.wantErr) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %d bytes; want exit %d, %q and no output", code, stderr, len(stdout), exitInvalid, tt.wantErr)
			}
		})
	}
}
