package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeCommandLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	crash, err := os.ReadFile("../../examples/incidents/crashloop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write("crashloop.yaml", string(crash))
	routes := write("routes.yaml", "apiVersion: runbook/v1alpha1\nkind: Routes\nroutes:\n- name: crashloop\n  alert: KubePodCrashLooping\n  runbook: crashloop.yaml\n  namespace: labels.namespace\n  targetNamespaces: ['*']\n  vars: {pod: labels.pod}\n")
	bad := write("bad.yaml", "apiVersion: runbook/v1alpha1\nkind: Routes\nroutes:\n- name: crashloop\n  alert: KubePodCrashLooping\n  runbook: crashloop.yaml\n  vars: {pdo: labels.pod}\n")
	empty := write("empty-token", "\n")
	tests := []struct {
		args    []string
		code    int
		errPart string
	}{
		{[]string{"serve"}, exitInvalid, "runbook serve: --routes is required"},
		{[]string{"serve", "--routes", routes}, exitInvalid, "--token-file is required"},
		{[]string{"serve", "--routes", routes, "--max-jobs", "0", "--manifests"}, exitInvalid, "--max-jobs must be at least 1"},
		{[]string{"serve", "--routes", bad, "--manifests"}, exitInvalid, bad + `:7:10: routes[0]: vars: the runbook incident-crashloop declares no var "pdo" in spec.vars (did you mean "pod"?)
     7 |   vars: {pdo: labels.pod}
       |          ^`},
		{[]string{"serve", "--routes", routes, "--token-file", empty}, exitInvalid, "--token-file: the token is empty or holds white space"},
		{[]string{"serve", "--routes", routes, "--token-file", filepath.Join(dir, "nope")}, exitInvalid, "no such file or directory"},
		{[]string{"serve", "--routes", routes, "extra"}, exitInvalid, `no arguments expected, found "extra"`},
		{[]string{"serve", "--routes", routes, "--manifests", "--image", "Runbook:dev"}, exitInvalid, `runbook serve: --image: invalid image name "Runbook:dev": invalid reference format`},
		// A cluster that refuses connections cannot be used: exit 3.
		{[]string{"serve", "--routes", routes, "--install", "--server", "https://127.0.0.1:1", "--kubeconfig", "/dev/null"}, exitCluster, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.errPart) {
				t.Errorf("want exit %d and %q, got %d:\n%s", tc.code, tc.errPart, code, stderr)
			}
		})
	}

	code, stdout, stderr := run(t, "serve", "--routes", routes, "-n", "ops", "--manifests")
	if code != exitPassed {
		t.Fatalf("--manifests: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kind: ServiceAccount", "kind: Role\n", "kind: RoleBinding", "kind: ConfigMap", "kind: Deployment", "kind: Service\n",
		"  - create\n  - list\n", "secretName: runbook-serve-token", "namespace: ops"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--manifests lacks %q", want)
		}
	}
	if strings.Contains(stdout, "creationTimestamp") {
		t.Errorf("--manifests prints creationTimestamp")
	}
}
