package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
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
// refused with exit 2 without a cluster (there is no kubeconfig: using
// the cluster would be exit 3).
func TestJobRefusesBeforeSending(t *testing.T) {
	noKubeconfig(t)
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
		code, _, stderr := run(t, tc.args...)
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
	vars, _, err := readVarsFiles([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if vars["pod"] != "api" || vars["image"] != "busybox:1.36" {
		t.Errorf("vars %v", vars)
	}
	write(t, b, "pod: [1, 2]\n")
	if _, _, err := readVarsFiles([]string{b}); err == nil {
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

// jobSecretDefault is the tester's runbook: a secret var whose default is
// written in the file.
const jobSecretDefault = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: job-default}
spec:
  vars: {password: "S3cr3t-h3-JOBDEFAULT-4J", pod: web}
  secretVars: [password]
  steps:
  - get: {kind: Pod, name: "${{ vars.pod }}"}
`

// fakeApply makes --apply send to a fake dynamic client, and returns what
// it applied: each object as its apply patch.
func fakeApply(t *testing.T) *[]*unstructured.Unstructured {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{}
	for _, r := range []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"} {
		lists[schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: r}] = "List"
	}
	lists[schema.GroupVersionResource{Version: "v1", Resource: "secrets"}] = "SecretList"
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists)
	sent := &[]*unstructured.Unstructured{}
	dyn.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(a.(clienttesting.PatchAction).GetPatch(), &u.Object); err != nil {
			return true, nil, err
		}
		*sent = append(*sent, u)
		return true, u, nil
	})
	saved := jobClients
	jobClients = func(k *kubeFlags) (*kube.Clients, error) { return kube.NewClientsWith(nil, dyn, nil, "ops"), nil }
	t.Cleanup(func() { jobClients = saved })
	return sent
}

// TestJobAppliesWhatItPrints is the leak a tester found: printed, the
// ConfigMap showed a secret var's default redacted; applied, it held the
// file byte for byte, default included. The values of secret vars, the
// file's defaults as --var and --vars-file ones, must be in the Secret
// only; what is printed must be what is applied (but the Secret's
// values); and the Job's run must get the values.
func TestJobAppliesWhatItPrints(t *testing.T) {
	const def, fromFile = "S3cr3t-h3-JOBDEFAULT-4J", "S3cr3t-from-VARSFILE-77"
	dir := t.TempDir()
	file := filepath.Join(dir, "rb.yaml")
	write(t, file, jobSecretDefault)
	varsFile := filepath.Join(dir, "vars.yaml")
	write(t, varsFile, "password: "+fromFile+"\n")
	for _, tc := range []struct {
		name   string
		args   []string
		secret string
	}{
		{"default", nil, def},
		{"vars-file", []string{"--vars-file", varsFile}, fromFile},
		{"schedule", []string{"--schedule", "@hourly"}, def},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"job", file, "-n", "ops"}, tc.args...)
			code, printed, stderr := run(t, args...)
			if code != exitPassed {
				t.Fatalf("print: exit %d: %s", code, stderr)
			}
			sent := fakeApply(t)
			code, stdout, stderr := run(t, append(args, "--apply")...)
			if code != exitPassed {
				t.Fatalf("--apply: exit %d: %s%s", code, stdout, stderr)
			}
			for _, s := range []string{def, fromFile} {
				if strings.Contains(printed+stdout+stderr, s) {
					t.Errorf("a secret value was printed:\n%s%s%s", printed, stdout, stderr)
				}
			}
			docs := strings.Split(printed, "\n---\n")
			if len(docs) != len(*sent) {
				t.Fatalf("printed %d objects, applied %d", len(docs), len(*sent))
			}
			// The Job's run id is new each time.
			var runID string
			for _, u := range *sent {
				if u.GetKind() == "Job" {
					runID = u.GetLabels()["runbook/run"]
				}
			}
			var cmRunbook, cmVars, secretVars string
			for i, u := range *sent {
				var p map[string]any
				if err := yaml.Unmarshal([]byte(docs[i]), &p); err != nil {
					t.Fatal(err)
				}
				a := u.DeepCopy().Object
				raw, _ := json.Marshal(a)
				switch u.GetKind() {
				case "Secret":
					data, _, _ := unstructured.NestedStringMap(a, "data")
					b, err := base64.StdEncoding.DecodeString(data["vars.json"])
					if err != nil {
						t.Fatal(err)
					}
					secretVars = string(b)
					if secretVars != `{"password":"`+tc.secret+`"}` {
						t.Errorf("the Secret's vars.json %s, want the password %s", secretVars, tc.secret)
					}
					shown, _, _ := unstructured.NestedStringMap(p, "stringData")
					if !strings.Contains(shown["vars.json"], `"password":"<redacted`) || len(shown) != len(data) {
						t.Errorf("the printed Secret %v", shown)
					}
					delete(a, "data")
					delete(p, "stringData")
				default:
					for _, s := range []string{def, fromFile, base64.StdEncoding.EncodeToString([]byte(def))} {
						if strings.Contains(string(raw), s) {
							t.Errorf("the applied %s %s holds a secret value:\n%s", u.GetKind(), u.GetName(), raw)
						}
					}
					if u.GetKind() == "ConfigMap" {
						data, _, _ := unstructured.NestedStringMap(a, "data")
						cmRunbook, cmVars = data["runbook.yaml"], data["vars.json"]
					}
				}
				if runID != "" {
					b, _ := json.Marshal(p)
					if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), p2runID(p, runID), runID)), &p); err != nil {
						t.Fatal(err)
					}
				}
				if !reflect.DeepEqual(p, a) {
					pb, _ := json.Marshal(p)
					t.Errorf("printed %s differs from applied:\n%s\n%s", u.GetKind(), pb, raw)
				}
			}
			if !strings.Contains(cmRunbook, `password: "***"`) {
				t.Errorf("the ConfigMap's runbook:\n%s", cmRunbook)
			}
			// The Job's pod: runbook run /etc/runbook/runbook.yaml
			// --vars-file (ConfigMap) --vars-file (Secret).
			pod := t.TempDir()
			rbFile, a, b := filepath.Join(pod, "runbook.yaml"), filepath.Join(pod, "a.json"), filepath.Join(pod, "b.json")
			write(t, rbFile, cmRunbook)
			write(t, a, cmVars)
			write(t, b, secretVars)
			vars, _, err := varsOf([]string{a, b}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rb, err := load(rbFile, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars}, false)
			if err != nil {
				t.Fatal(err)
			}
			if rb.Vars["password"] != tc.secret || rb.Vars["pod"] != "web" {
				t.Errorf("the run's vars %v", rb.Vars)
			}
		})
	}
}

// p2runID is the run id of a printed Job (the value of runbook/run), or
// runID when p is no Job.
func p2runID(p map[string]any, runID string) string {
	if id, _, _ := unstructured.NestedString(p, "metadata", "labels", "runbook/run"); id != "" {
		return id
	}
	return runID
}
