//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// TestNamespaceRules checks kubectl's namespace rules: a runbook without
// spec.namespace works in the kubeconfig context's namespace, and -n wins
// over it; no temporary namespace is made unless the runbook asks.
func TestNamespaceRules(t *testing.T) {
	c := connect(t)
	x := c.newNamespace(t, "e2e-ctx-")
	y := c.newNamespace(t, "e2e-flag-")
	raw, err := clientcmd.NewDefaultClientConfigLoadingRules().Load()
	if err != nil {
		t.Fatal(err)
	}
	raw.Contexts[raw.CurrentContext].Namespace = x
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*raw, kubeconfig); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ns.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: ns-rules}
spec:
  cleanup: never
  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: marker}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"the context's namespace", nil, x},
		{"-n wins", []string{"-n", y}, y},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newReportPaths(t)
			run := runCLI(t, append([]string{"run", file, "--kubeconfig", kubeconfig, "--report", "json=" + p.json}, tt.args...)...)
			res := readResult(t, p.json)
			if run.code != 0 {
				t.Fatalf("%s\n%s", run, describeSteps(res))
			}
			if res.Namespace != tt.want || res.TemporaryNamespace {
				t.Errorf("namespace %q (temporary %v), want %q", res.Namespace, res.TemporaryNamespace, tt.want)
			}
			if _, err := c.client.CoreV1().ConfigMaps(tt.want).Get(t.Context(), "marker", metav1.GetOptions{}); err != nil {
				t.Errorf("the ConfigMap is not in %s: %v", tt.want, err)
			}
			plan := runCLI(t, append([]string{"plan", file, "--kubeconfig", kubeconfig}, tt.args...)...)
			if plan.code != 0 || !regexpMatch(`Namespace: `+tt.want+` `, plan.stdout) {
				t.Errorf("plan does not say namespace %s:\n%s", tt.want, plan)
			}
		})
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestMissingNamespace checks that a namespace that does not exist is named
// as the cause of the first failure, with where it was named (-n, or
// spec.namespace at its position), whichever call meets it first: a create
// (the API server's NotFound of the namespace) or an exec (a NotFound of the
// pod, then one read of the namespace); and that plan --preflight says it
// before a run.
func TestMissingNamespace(t *testing.T) {
	c := connect(t)
	missing := fmt.Sprintf("e2e-missing-%d", time.Now().UnixNano()%1e9)
	if _, err := c.client.CoreV1().Namespaces().Get(t.Context(), missing, metav1.GetOptions{}); err == nil {
		t.Fatalf("namespace %s exists", missing)
	}
	file := filepath.Join(t.TempDir(), "missing.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: missing-namespace}
spec:
  namespace: `+missing+`
  steps:
  - exec: {pod: web, command: ["true"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"-n, create", []string{"run", "-n", missing, repoFile("examples/distroless.yaml")},
			`namespace "` + missing + `" not found (from -n): creating pod ` + missing + `/noshell: namespaces "` + missing + `" not found`},
		{"spec.namespace, exec", []string{"run", file},
			`namespace "` + missing + `" not found (from spec.namespace at ` + file + `:5:14): `},
		{"plan --preflight", []string{"plan", "--preflight", file},
			`namespace "` + missing + `" not found (from spec.namespace at ` + file + `:5:14): the run would fail at its first request in it`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code == 0 || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("want a failure saying %q:\n%s", tt.want, r)
			}
		})
	}
}
