package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const secretRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: with-token}
spec:
  namespace: ops
  vars: {pod: web, token: ""}
  secretVars: [token]
  steps:
  - get: {kind: Pod, name: "${{ vars.pod }}"}
`

// TestJobPrints checks the printed objects: every one labelled, the secret
// var neither in the ConfigMap nor in the Job, and redacted in the Secret.
func TestJobPrints(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rb.yaml")
	if err := os.WriteFile(file, []byte(secretRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "job", file, "--var", "token=hunter2-secret", "--var", "pod=api")
	if code != exitPassed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "hunter2-secret") {
		t.Errorf("the secret var's value was printed:\n%s", stdout)
	}
	kinds := map[string]int{}
	for _, doc := range strings.Split(stdout, "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string            `json:"namespace"`
				Labels    map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		kinds[obj.Kind]++
		if obj.Metadata.Labels["runbook/install"] != "runbook-with-token" {
			t.Errorf("%s: labels %v", obj.Kind, obj.Metadata.Labels)
		}
		if obj.Kind == "Secret" && !strings.Contains(doc, "redacted") {
			t.Errorf("secret not shown redacted:\n%s", doc)
		}
		if obj.Kind == "ConfigMap" && (!strings.Contains(doc, `"pod":"api"`) || strings.Contains(doc, "token\\\":")) {
			t.Errorf("configmap vars:\n%s", doc)
		}
	}
	for _, k := range []string{"ServiceAccount", "Role", "RoleBinding", "Secret", "ConfigMap", "Job"} {
		if kinds[k] == 0 {
			t.Errorf("no %s printed (kinds %v)", k, kinds)
		}
	}
}

// TestJobRefusesBeforeSending checks that a bad runbook, var or schedule is
// refused with exit 2 without a cluster (the kubeconfig does not exist).
func TestJobRefusesBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"job", "../../runbook/testdata/bad.yaml", "--apply"}, "bad.yaml:"},
		{[]string{"job", "../../examples/ci-debuggability.yaml", "--schedule", "every minute", "--apply"}, `--schedule "every minute"`},
		{[]string{"job", "../../examples/ci-debuggability.yaml", "--var", "nope=1", "--apply"}, "nope"},
		{[]string{"job", "../../examples/ci-debuggability.yaml", "--apply", "--delete"}, "contradict"},
		{[]string{"job", "../../examples/ci-debuggability.yaml", "--target-namespace", "Bad_NS"}, "target namespace"},
		{[]string{"job", "../../examples/ci-debuggability.yaml", "--image", "runbook.local/runbook:dev\n"}, `--image: invalid image name "runbook.local/runbook:dev\n": invalid reference format`},
		{[]string{"results", "show"}, "expected one RUN-ID"},
		{[]string{"results", "-o", "md"}, "use table or json"},
	} {
		code, _, stderr := run(t, append(tc.args, "--kubeconfig", "/nonexistent/kubeconfig")...)
		if code != exitInvalid || !regexp.MustCompile(regexp.QuoteMeta(tc.want)).MatchString(stderr) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadVarsFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml")
	write(t, a, `{"pod": "web", "image": "busybox:1.36"}`)
	write(t, b, "pod: api\n")
	vars, err := readVarsFiles([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if vars["pod"] != "api" || vars["image"] != "busybox:1.36" {
		t.Errorf("vars %v", vars)
	}
	write(t, b, "pod: [1, 2]\n")
	if _, err := readVarsFiles([]string{b}); err == nil {
		t.Error("a list accepted as a var's value")
	}
}

// TestJobRulesAreRbacs checks that the install's Roles and ClusterRoles
// carry exactly the rules `runbook rbac` prints for the same namespace.
func TestJobRulesAreRbacs(t *testing.T) {
	rulesOf := func(stdout string) map[string]string {
		out := map[string]string{}
		for _, doc := range strings.Split(stdout, "\n---\n") {
			var obj struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, Namespace string
				} `json:"metadata"`
				Rules any `json:"rules"`
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Kind == "Role" || obj.Kind == "ClusterRole" {
				b, _ := yaml.Marshal(obj.Rules)
				out[obj.Kind+" "+obj.Metadata.Namespace+"/"+obj.Metadata.Name] = string(b)
			}
		}
		return out
	}
	for _, f := range []string{"distroless", "ci-debuggability", "node", "cp"} {
		file := "../../examples/" + f + ".yaml"
		code, jobOut, stderr := run(t, "job", file, "-n", "checks", "--name", "runbook-test")
		if code != exitPassed {
			t.Fatalf("job %s: %s", f, stderr)
		}
		code, rbacOut, stderr := run(t, "rbac", file, "-n", "checks", "--service-account", "runbook-test")
		if code != exitPassed {
			t.Fatalf("rbac %s: %s", f, stderr)
		}
		job, rbac := rulesOf(jobOut), rulesOf(rbacOut)
		for k, v := range rbac {
			if job[k] != v {
				t.Errorf("%s: %s: job's rules\n%s\nrbac's\n%s", f, k, job[k], v)
			}
		}
		// Besides them, only the Role to store results.
		if len(job) != len(rbac)+1 || job["Role checks/runbook-test-results"] == "" {
			t.Errorf("%s: job's roles %v, rbac's %v", f, keys(job), keys(rbac))
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
