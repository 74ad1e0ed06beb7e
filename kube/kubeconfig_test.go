package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// TestContextNamespaceErrors checks that ContextNamespace says why a
// kubeconfig or context that is named (flags, $KUBECONFIG) cannot be read,
// as NewClients does, and is "" without error only when there is no
// kubeconfig at all and none is named: plan and rbac then work offline in
// namespace default.
func TestContextNamespaceErrors(t *testing.T) {
	home := t.TempDir()
	old := clientcmd.RecommendedHomeFile
	clientcmd.RecommendedHomeFile = filepath.Join(home, ".kube", "config") // no ~/.kube/config
	t.Cleanup(func() { clientcmd.RecommendedHomeFile = old })
	t.Setenv("HOME", home)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // never in a pod here
	file := writeKubeconfig(t, "a",
		kubeconfigContext{name: "a", server: "https://a.example:6443", namespace: "team-a"},
		kubeconfigContext{name: "b", server: "https://b.example:6443"})
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		kubeconfig string // $KUBECONFIG
		args       []string
		want       string
		wantErr    string
	}{
		{name: "none, none named", want: ""},
		{name: "none, -n and --server", args: []string{"-n", "x", "--server", "https://s.example"}, want: "default"},
		{name: "--kubeconfig", args: []string{"--kubeconfig", file}, want: "team-a"},
		{name: "$KUBECONFIG", kubeconfig: file, want: "team-a"},
		{name: "$KUBECONFIG list with a missing file", kubeconfig: missing + string(os.PathListSeparator) + file, want: "team-a"},
		{name: "--context", args: []string{"--kubeconfig", file, "--context", "b"}, want: "default"},
		{name: "--kubeconfig missing", args: []string{"--kubeconfig", missing},
			wantErr: "--kubeconfig " + missing + ": no such file or directory"},
		{name: "--kubeconfig empty", args: []string{"--kubeconfig", empty},
			wantErr: "no kubeconfig in " + empty + " and not in a pod"},
		{name: "$KUBECONFIG missing: none, as kubectl reads it", kubeconfig: missing, want: ""},
		{name: "--context not there", args: []string{"--kubeconfig", file, "--context", "nosuch", "-n", "x"},
			wantErr: `--context "nosuch": no such context in ` + file + "; it has a, b"},
		{name: "--context, no kubeconfig", args: []string{"--context", "prod"},
			wantErr: `--context "prod": no such context in ` + clientcmd.RecommendedHomeFile + "; it has no context"},
		{name: "--cluster, no kubeconfig", args: []string{"--cluster", "prod"},
			wantErr: `no server found for cluster "prod"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			got, err := ContextNamespace(parseFlags(t, tt.args...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ContextNamespace = %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if got != tt.want || err != nil {
				t.Errorf("ContextNamespace = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
