package incluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

const secretDefault = "S3cr3t-h3-JOBDEFAULT-4J"

// defaultRunbook is the tester's runbook: a secret var with a default in
// the file, given no --var.
const defaultRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: job-default}
spec:
  namespace: apps
  vars: {password: "` + secretDefault + `", pod: web}
  secretVars: [password]
  steps:
  - name: read the pod   # the password: ${{ vars.password }}
    get: {kind: Pod, name: "${{ vars.pod }}"}
`

// applied records what Apply sends: each object's apply patch.
func applied(t *testing.T, in *Install, run runtime.Object) []*unstructured.Unstructured {
	t.Helper()
	objs, err := in.Objects()
	if err != nil {
		t.Fatal(err)
	}
	u, err := ToUnstructured(run)
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, u)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{})
	var sent []*unstructured.Unstructured
	dyn.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(a.(clienttesting.PatchAction).GetPatch(), &u.Object); err != nil {
			return true, nil, err
		}
		sent = append(sent, u)
		return true, u, nil
	})
	if err := Apply(context.Background(), kube.NewClientsWith(nil, dyn, nil, in.Namespace), objs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return sent
}

// podVars are the vars `runbook run` in the Job's pod gets from its vars
// files: the ConfigMap's, then the Secret's.
func podVars(t *testing.T, sent []*unstructured.Unstructured) (string, map[string]string) {
	t.Helper()
	var src string
	vars := map[string]string{}
	for _, kind := range []string{"ConfigMap", "Secret"} {
		for _, u := range sent {
			if u.GetKind() != kind {
				continue
			}
			data, _, _ := unstructured.NestedStringMap(u.Object, "data")
			text := data[KeyVars]
			if kind == "Secret" {
				b, err := base64Decode(text)
				if err != nil {
					t.Fatal(err)
				}
				text = string(b)
			} else {
				src = data[KeyRunbook]
			}
			if err := json.Unmarshal([]byte(text), &vars); err != nil {
				t.Fatalf("%s vars.json: %v", kind, err)
			}
		}
	}
	return src, vars
}

// TestInstallAppliesNoSecretDefault is the tester's leak: a secret var's
// default written in the file was applied in the ConfigMap's runbook.yaml.
// It must be in the Secret only, the ConfigMap's file keep every line and
// column, and the Job's run get the value.
func TestInstallAppliesNoSecretDefault(t *testing.T) {
	rb := load(t, defaultRunbook, nil)
	in, err := New(rb, Options{Source: []byte(defaultRunbook)})
	if err != nil {
		t.Fatal(err)
	}
	job, err := in.Job(RunOptions{RunID: "rb-1"})
	if err != nil {
		t.Fatal(err)
	}
	sent := applied(t, in, job)
	var secrets int
	for _, u := range sent {
		b, _ := json.Marshal(u.Object)
		switch u.GetKind() {
		case "Secret":
			secrets++
			data, _, _ := unstructured.NestedStringMap(u.Object, "data")
			vars, err := base64Decode(data[KeyVars])
			if err != nil || string(vars) != `{"password":"`+secretDefault+`"}` {
				t.Errorf("the Secret's vars.json: %q, %v", vars, err)
			}
		default:
			if strings.Contains(string(b), secretDefault) || strings.Contains(string(b), "S3cr3t") {
				t.Errorf("the secret default is in the applied %s %s:\n%s", u.GetKind(), u.GetName(), b)
			}
		}
	}
	if secrets != 1 {
		t.Fatalf("%d Secrets applied, want 1", secrets)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--vars-file "+VarsPath+" --vars-file "+SecretVarsPath) {
		t.Errorf("the Job does not read the Secret's vars: %s", args)
	}

	src, vars := podVars(t, sent)
	want := strings.Replace(defaultRunbook, `"`+secretDefault+`"`, `"***"`+strings.Repeat(" ", len(secretDefault)-3), 1)
	if src != want {
		t.Errorf("the ConfigMap's runbook.yaml:\n%s\nwant:\n%s", src, want)
	}
	// The run in the pod loads it with its vars files and gets the value.
	got, err := runbook.Parse(RunbookPath, []byte(src), runbook.LoadOptions{Kinds: steps.Registry, Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if got.Vars["password"] != secretDefault || got.Vars["pod"] != "web" {
		t.Errorf("the run's vars %v", got.Vars)
	}
	// Every step is where it was: line:col of a message in the pod point
	// at the file.
	if a, b := got.Spec.Steps[0], rb.Spec.Steps[0]; a.Line != b.Line || a.Column != b.Column {
		t.Errorf("step at %d:%d, was %d:%d", a.Line, a.Column, b.Line, b.Column)
	}
}

// TestInstallSecretVarOverridesDefault: a --var of a secret var goes to
// the Secret, and the default it overrides leaves the ConfigMap too.
func TestInstallSecretVarOverridesDefault(t *testing.T) {
	vars := map[string]string{"password": "given-value-0042", "pod": "api"}
	in, err := New(load(t, defaultRunbook, vars), Options{Source: []byte(defaultRunbook), Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range in.ConfigMap.Data {
		if strings.Contains(v, "S3cr3t") || strings.Contains(v, "given-value") {
			t.Errorf("ConfigMap %s holds a secret value:\n%s", k, v)
		}
	}
	if in.Secret == nil || string(in.Secret.Data[KeyVars]) != `{"password":"given-value-0042"}` {
		t.Fatalf("secret %+v", in.Secret)
	}
	if in.ConfigMap.Data[KeyVars] != `{"pod":"api"}` {
		t.Errorf("ConfigMap vars %s", in.ConfigMap.Data[KeyVars])
	}
}

// TestInstallSecretDefaultForms replaces secret defaults written every way
// YAML allows, and checks each time that the file's other nodes keep their
// line and column, and that the run reads the value back from the Secret.
func TestInstallSecretDefaultForms(t *testing.T) {
	head := "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: forms}\nspec:\n"
	tail := "  secretVars: [pw]\n  steps:\n  - get: {kind: Pod, name: web}   # after\n"
	for _, tc := range []struct {
		name, vars string
		rewritten  bool
	}{
		{"flow", `  vars: {pw: "Sekrit-value-1", pod: web}` + "\n", false},
		{"flow single", `  vars: {pw: 'it''s-Sekrit', pod: web}` + "\n", false},
		{"flow plain", "  vars: {pw: Sekrit-plain-1, pod: web}\n", false},
		{"block plain comment", "  vars:\n    pw: Sekrit-plain-2 # the password\n    pod: web\n", false},
		{"escaped", "  vars:\n    pw: \"Sek\\\"rit\\\\-esc\"\n    pod: web\n", false},
		{"double quoted lines", "  vars:\n    pw: \"Sekrit-line-one\n      Sekrit-line-two\"\n    pod: web\n", false},
		{"literal", "  vars:\n    pw: |\n      Sekrit-line-one\n\n      Sekrit-line-two\n\n    # next\n    pod: web\n", false},
		{"folded", "  vars:\n    pw: >-\n      Sekrit-line-one\n      Sekrit-line-two\n    pod: web\n", false},
		{"tag and anchor", "  vars:\n    pw: &pw !!str Sekrit-tagged\n    pod: web\n", false},
		{"non-ASCII before", "  vars: {a: ü, pw: \"Sekrit-ünï\", pod: web}\n", false},
		{"short", "  vars: {pw: ab, pod: web}\n", false},
		{"number", "  vars: {pw: 123456789, pod: web}\n", false},
		{"list", "  vars:\n    pw:\n      - Sekrit-item-1\n      - Sekrit-item-2\n    pod: web\n", false},
		{"flow list", "  vars: {pw: [Sekrit-item-1,\n      Sekrit-item-2], pod: web}\n", false},
		{"mapping", "  vars:\n    pw:\n      user: Sekrit-user\n      pass: Sekrit-pass\n    pod: web\n", false},
		{"merge", "  vars:\n    <<: {pw: Sekrit-merged}\n    pod: web\n", false},
		{"CRLF", "  vars:\r\n    pw: Sekrit-crlf\r\n    pod: web\r\n", false},
		{"plain lines", "  vars:\n    pw: Sekrit-line-one\n      Sekrit-line-two\n    pod: web\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := head + tc.vars + tail
			rb := load(t, src, nil)
			in, err := New(rb, Options{Source: []byte(src)})
			if err != nil {
				t.Fatal(err)
			}
			cm := in.ConfigMap.Data[KeyRunbook]
			if strings.Contains(cm, "Sekrit") || strings.Contains(cm, "123456789") || strings.Contains(cm, "ab,") {
				t.Errorf("the ConfigMap holds the default:\n%s", cm)
			}
			if in.SourceRewritten != tc.rewritten {
				t.Errorf("rewritten %v, want %v:\n%s", in.SourceRewritten, tc.rewritten, cm)
			}
			if !tc.rewritten {
				if strings.Count(cm, "\n") != strings.Count(src, "\n") || len(cm) > len(src) {
					t.Errorf("lines or size changed:\n%q\nfrom\n%q", cm, src)
				}
				var a, b yaml.Node
				if err := yaml.Unmarshal([]byte(src), &a); err != nil {
					t.Fatal(err)
				}
				if err := yaml.Unmarshal([]byte(cm), &b); err != nil {
					t.Fatalf("%v:\n%s", err, cm)
				}
				if pa, pb := positions(&a), positions(&b); !reflect.DeepEqual(pa["spec.steps"], pb["spec.steps"]) || pa["spec.vars.pod"] != pb["spec.vars.pod"] {
					t.Errorf("positions moved: %v, was %v", pb, pa)
				}
			}
			if in.Secret == nil {
				t.Fatal("no Secret")
			}
			var vars map[string]string
			if err := json.Unmarshal(in.Secret.Data[KeyVars], &vars); err != nil {
				t.Fatal(err)
			}
			got, err := runbook.Parse(RunbookPath, []byte(cm), runbook.LoadOptions{Kinds: steps.Registry, Vars: vars})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Vars, rb.Vars) {
				t.Errorf("the run's vars %#v, want %#v", got.Vars, rb.Vars)
			}
		})
	}
}

// positions are the line:col of the nodes of a document by path.
func positions(doc *yaml.Node) map[string][2]int {
	out := map[string][2]int{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		out[path] = [2]int{n.Line, n.Column}
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := strings.TrimPrefix(path+"."+n.Content[i].Value, ".")
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(doc, "")
	return out
}

// TestInstallRefusesSecretsItCannotTakeOut: a secret value the file also
// holds elsewhere, an alias of it, an env value marked secret: the
// ConfigMap would hold them, so no install is made, and the error does
// not show the value.
func TestInstallRefusesSecretsItCannotTakeOut(t *testing.T) {
	head := "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: refused}\nspec:\n"
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"comment", "  vars: {pw: Sekrit-value-9}  # was Sekrit-value-9\n  secretVars: [pw]\n  steps:\n  - get: {kind: Pod, name: web}\n",
			"rb.yaml:5:37: the file holds a secret value here"},
		{"alias", "  vars: {pw: &p Sekrit-value-9, other: *p}\n  secretVars: [pw]\n  steps:\n  - get: {kind: Pod, name: web}\n",
			"rb.yaml:5:14: spec.vars.pw: the default of a secret var is shared through a YAML anchor"},
		{"env literal", "  steps:\n  - local: {command: [env], env: [{name: T, value: literal-Sekrit-9, secret: true}]}\n",
			"rb.yaml:6:52: the file holds a secret value here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := head + tc.spec
			_, err := New(load(t, src, nil), Options{Source: []byte(src)})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Sekrit") {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	src := head + "  vars: {pw: Sekrit-value-9, pod: web}\n  secretVars: [pw]\n  steps:\n  - get: {kind: Pod, name: web}\n"
	vars := map[string]string{"pod": "Sekrit-value-9"}
	if _, err := New(load(t, src, vars), Options{Source: []byte(src), Vars: vars}); err == nil || !strings.Contains(err.Error(), "--var pod: its value holds the value of a secret var") {
		t.Errorf("a plain --var holding the secret: %v", err)
	}
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
