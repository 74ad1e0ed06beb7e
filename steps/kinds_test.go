package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// tpl returns a compiled template, as the loader would make it.
func tpl(t *testing.T, s string) expression.Template {
	t.Helper()
	tm := expression.NewTemplate(s)
	if probs := tm.Compile(expression.Context{}); len(probs) > 0 {
		t.Fatalf("template %q: %v", s, probs)
	}
	return tm
}

// cond returns a compiled `for` expression over object.
func cond(t *testing.T, src string) expression.Expr {
	t.Helper()
	x := expression.NewExpr(src)
	if probs := x.Compile(expression.Context{Result: true, Bool: true, Results: map[string]any{"object": map[string]any{}}}); len(probs) > 0 {
		t.Fatalf("expression %q: %v", src, probs)
	}
	return x
}

func i64(n int64) *int64 { return &n }
func boolp(b bool) *bool { return &b }

// testEnv is a run on fake clients: pods live in the typed fake (created,
// watched), other kinds in the dynamic fake.
type testEnv struct {
	*Env
	kube *fake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
}

func newTestEnv(t *testing.T, typed []runtime.Object, dynamic ...runtime.Object) *testEnv {
	t.Helper()
	k := fake.NewSimpleClientset(typed...)
	// Discovery with one custom resource; the built-in kinds resolve
	// without it. (Fake discovery with no group at all would make
	// client-go's deferred mapper retry forever.)
	k.Resources = []*metav1.APIResourceList{{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
		{Name: "widgets", SingularName: "widget", Kind: "Widget", Namespaced: true, Verbs: metav1.Verbs{"get", "list", "watch", "create", "delete"}}}}}
	d := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, dynamic...)
	c := kube.NewClientsWith(k, d, nil, "default")
	var mu sync.Mutex
	watchers := map[string]*kube.PodWatcher{}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range watchers {
			w.Stop()
		}
	})
	return &testEnv{
		Env: &Env{
			Clients: c, Namespace: "default", RunID: "run1", Tracker: kube.NewTracker(c),
			Pods: func(ns string) *kube.PodWatcher {
				mu.Lock()
				defer mu.Unlock()
				if watchers[ns] == nil {
					watchers[ns] = kube.NewPodWatcher(c, ns)
				}
				return watchers[ns]
			},
			Scope:     &expression.Scope{Vars: map[string]any{"name": "web", "image": "busybox:1.36"}},
			StepID:    "s-1",
			MaxOutput: 1 << 16,
			Dir:       t.TempDir(),
		},
		kube: k, dyn: d,
	}
}

// testCtx bounds a test that waits, so a bug fails instead of hanging.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func unstr(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func readyPod(name string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: "vm", Containers: []corev1.Container{{Name: "app", Image: "pause"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// markPodsReady makes the typed fake answer every pod create with a
// scheduled, running and ready pod, as a kubelet would soon after.
func markPodsReady(k *fake.Clientset) {
	k.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.UID = types.UID("uid-" + pod.Name)
		pod.Spec.NodeName = "vm"
		pod.Status = readyPod(pod.Name).Status
		return false, nil, nil
	})
}

const podManifest = `apiVersion: v1
kind: Pod
metadata: {name: noshell}
spec:
  containers: [{name: app, image: registry.k8s.io/pause:3.10.2}]
`

func TestKindsAreRegistered(t *testing.T) {
	for _, name := range []string{"apply", "get", "wait", "logs", "events", "delete", "local"} {
		t.Run(name, func(t *testing.T) {
			k, ok := Lookup(name)
			if !ok {
				t.Fatalf("kind %s is not registered", name)
			}
			if k.New == nil || k.New() == nil || k.Summary == "" || len(k.Results) == 0 {
				t.Errorf("kind %s is incomplete: %+v", name, k)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pod.yaml", podManifest+"---\n")
	write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\nkind: ConfigMap\n")
	write("expr.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${{ vars.name }}}\n")
	allowed := &runbook.CheckContext{Dir: dir, AllowPrivileged: true}
	normal := &runbook.CheckContext{Dir: dir}

	tests := []struct {
		name string
		spec Action
		ctx  *runbook.CheckContext
		want []runbook.FieldError
	}{
		{"apply ok", &ApplyStep{Manifest: expression.NewTemplate(podManifest), WaitFor: "Ready"}, normal, nil},
		{"apply needs a manifest", &ApplyStep{}, normal,
			[]runbook.FieldError{{Field: "", Message: "an apply step needs exactly one of manifest (inline YAML) or file"}}},
		{"apply manifest and file", &ApplyStep{Manifest: expression.NewTemplate(podManifest), File: "pod.yaml"}, normal,
			[]runbook.FieldError{{Field: "", Message: "an apply step needs exactly one of manifest (inline YAML) or file"}}},
		{"apply bad waitFor", &ApplyStep{Manifest: expression.NewTemplate(podManifest), WaitFor: "Available"}, normal,
			[]runbook.FieldError{{Field: "waitFor", Message: `waitFor must be Exists, Ready, Running or Succeeded, not "Available"`}}},
		{"apply invalid YAML", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\n  metadata: x\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "not valid YAML: manifest line 3: mapping values are not allowed in this context"}}},
		{"apply object without kind and name", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nmetadata: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: object has no kind, no metadata.name"}}},
		{"apply labels that are not strings", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: [1]}}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: metadata.labels must map names to strings"}}},
		{"apply generateName", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: object has no metadata.name (generateName is not supported: the run records the name before creating, for cleanup)"}}},
		{"apply a list is not an object", &ApplyStep{Manifest: expression.NewTemplate("- a\n- b\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: a manifest document must be an object (apiVersion, kind, metadata, ...)"}}},
		{"apply only comments", &ApplyStep{Manifest: expression.NewTemplate("# nothing\n---\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "the manifest holds no object"}}},
		{"apply unknown pod field", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {contianers: []}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: `manifest line 1: pod p: strict decoding error: unknown field "spec.contianers"`}}},
		{"apply privileged pod", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: i}]}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "privileged (Pod p: " + strings.Join(kube.PodPrivilegedReasons(&corev1.PodSpec{HostPID: true}), ", Pod p: ") + "): set spec.allowPrivileged: true (or --allow-privileged) to allow it"}}},
		{"apply privileged pod allowed", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: i}]}\n")}, allowed, nil},
		{"apply templated manifest is checked at run time", &ApplyStep{Manifest: expression.NewTemplate("kind: ${{ vars.kind }}\n")}, normal, nil},
		{"apply file ok", &ApplyStep{File: "pod.yaml"}, normal, nil},
		{"apply missing file", &ApplyStep{File: "nope.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "cannot read the manifest file: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"}}},
		{"apply bad file", &ApplyStep{File: "bad.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "bad.yaml:5: object has no apiVersion, no metadata.name"}}},
		{"apply file with an expression", &ApplyStep{File: "expr.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "expr.yaml holds ${{ }}, which is only evaluated in an inline manifest: move the objects into manifest, or remove the expression"}}},

		{"get ok", &GetStep{Kind: "Pod", Name: expression.NewTemplate("x")}, normal, nil},
		{"get needs kind", &GetStep{}, normal, []runbook.FieldError{{Field: "kind", Message: "kind is required (e.g. Pod, Deployment)"}}},
		{"get name and selector", &GetStep{Kind: "Pod", Name: expression.NewTemplate("x"), Selector: expression.NewTemplate("a=b")}, normal,
			[]runbook.FieldError{{Field: "selector", Message: "give name or selector, not both"}}},
		{"get bad apiVersion", &GetStep{APIVersion: "a/b/c", Kind: "X"}, normal,
			[]runbook.FieldError{{Field: "apiVersion", Message: `apiVersion "a/b/c" is not GROUP/VERSION or VERSION: unexpected GroupVersion string: a/b/c`}}},

		{"wait ok", &WaitStep{Kind: "Pod", Name: expression.NewTemplate("x"), For: expression.NewExpr("true")}, normal, nil},
		{"wait needs kind, name, for", &WaitStep{}, normal, []runbook.FieldError{
			{Field: "kind", Message: "kind is required (e.g. Pod, Deployment)"},
			{Field: "name", Message: "name is required"},
			{Field: "for", Message: `for is required: an expression over object, e.g. object.status.phase == "Running"`}}},

		{"logs ok", &LogsStep{Pod: expression.NewTemplate("x"), TailLines: i64(0)}, normal, nil},
		{"logs needs pod", &LogsStep{TailLines: i64(-1), Since: &runbook.Duration{}}, normal, []runbook.FieldError{
			{Field: "pod", Message: "pod is required"},
			{Field: "tailLines", Message: "tailLines must be 0 or more (leave it out for the whole log)"},
			{Field: "since", Message: "since must be more than 0 (leave it out for the whole log)"}}},

		{"events ok", &EventsStep{For: &EventsFor{Kind: "Pod", Name: expression.NewTemplate("x")}}, normal, nil},
		{"events whole namespace", &EventsStep{}, normal, nil},
		{"events for needs kind and name", &EventsStep{For: &EventsFor{}}, normal, []runbook.FieldError{
			{Field: "for", Message: "for.kind is required (e.g. Pod)"},
			{Field: "for", Message: "for.name is required"}}},
		{"events lowercase kind", &EventsStep{For: &EventsFor{Kind: "pod", Name: expression.NewTemplate("x")}}, normal,
			[]runbook.FieldError{{Field: "for", Message: `for.kind "pod" must be written as in manifests, e.g. Pod`}}},

		{"delete ok", &DeleteStep{Kind: "Pod", Name: expression.NewTemplate("x"), GracePeriodSeconds: i64(0)}, normal, nil},
		{"delete needs name", &DeleteStep{Kind: "Pod", GracePeriodSeconds: i64(-1)}, normal, []runbook.FieldError{
			{Field: "name", Message: "name is required"},
			{Field: "gracePeriodSeconds", Message: "gracePeriodSeconds must be 0 or more"}}},

		{"local command", &LocalStep{Command: []expression.Template{expression.NewTemplate("echo")}}, normal, nil},
		{"local shell", &LocalStep{Shell: expression.NewTemplate("echo | cat")}, normal, nil},
		{"local needs a command", &LocalStep{}, normal,
			[]runbook.FieldError{{Field: "", Message: "a local step needs command (an argv, no shell) or shell (a script for /bin/sh -c)"}}},
		{"local command and shell", &LocalStep{Command: []expression.Template{expression.NewTemplate("echo")}, Shell: expression.NewTemplate("echo")}, normal,
			[]runbook.FieldError{{Field: "shell", Message: "give command (an argv, no shell) or shell (a script for /bin/sh -c), not both"}}},
		{"local empty program", &LocalStep{Command: []expression.Template{{}, expression.NewTemplate("x")}}, normal,
			[]runbook.FieldError{{Field: "command", Message: "the first element of command, the program, is empty"}}},
		{"local bad env", &LocalStep{Shell: expression.NewTemplate("env"), Env: []EnvVar{{Name: "A=B"}, {Name: "X"}, {Name: "X"}}}, normal, []runbook.FieldError{
			{Field: "env", Message: `env name "A=B" is not a valid variable name`},
			{Field: "env", Message: "env X is set twice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.Check(tt.ctx)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyCheckLinesOfTheRunbook checks that problems in an inline
// manifest name lines of the runbook file.
func TestApplyCheckLinesOfTheRunbook(t *testing.T) {
	var s ApplyStep
	var doc struct {
		Manifest expression.Template `yaml:"manifest"`
	}
	src := "# a runbook\nmanifest: |\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	s.Manifest = doc.Manifest
	want := []runbook.FieldError{{Field: "manifest", Message: "line 3: object has no metadata.name"}}
	if diff := cmp.Diff(want, s.Check(&runbook.CheckContext{})); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

func testPlanner(t *testing.T) *Planner {
	return &Planner{
		Namespace: "default",
		Scope:     &expression.Scope{Vars: map[string]any{"name": "web"}, Steps: map[string]map[string]any{}},
		Pods:      map[string]*corev1.Pod{},
		RunID:     UnknownRunID,
		StepID:    "s-1",
		Dir:       t.TempDir(),
	}
}

var planLabels = map[string]any{"app.kubernetes.io/managed-by": "runbook", "runbook/run-id": "<run id>"}

func TestPlan(t *testing.T) {
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: "${{ vars.name }}", labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: scratch, namespace: ignored}
`
	tests := []struct {
		name string
		spec Action
		want *Planned
	}{
		{"apply pod and wait", &ApplyStep{Manifest: tpl(t, podManifest), WaitFor: "Ready"}, &Planned{
			Target:  "pod default/noshell",
			Kubectl: "kubectl create -f - && kubectl wait pod/noshell -n default --for=condition=Ready",
			Calls: []Call{
				{Verb: "create", Resource: "pods", Namespace: "default", Name: "noshell", Body: map[string]any{
					"apiVersion": "v1", "kind": "Pod",
					"metadata": map[string]any{"name": "noshell", "namespace": "default", "creationTimestamp": nil, "labels": planLabels},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.k8s.io/pause:3.10.2", "resources": map[string]any{}}}},
					"status":   map[string]any{},
				}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				watchCall("default", "until pod noshell is Ready"),
			},
			Cleanup: []kube.ObjectRef{kube.PodRef("default", "noshell")},
		}},
		{"apply deployment and namespace", &ApplyStep{Manifest: tpl(t, deployment), WaitFor: "Ready"}, &Planned{
			Target:  "deployment default/web, namespace scratch",
			Kubectl: "kubectl create -f - && kubectl wait deployments.apps/web -n default --for=condition=Available",
			Calls: []Call{
				{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "default", Name: "web", Body: map[string]any{
					"apiVersion": "apps/v1", "kind": "Deployment",
					"metadata": map[string]any{"name": "web", "namespace": "default", "labels": map[string]any{
						"app": "web", "app.kubernetes.io/managed-by": "runbook", "runbook/run-id": "<run id>"}},
					"spec": map[string]any{
						"replicas": int64(2),
						"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
						"template": map[string]any{
							"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
							"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
						},
					},
				}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				{Verb: "create", Resource: "namespaces", Name: "scratch", Body: map[string]any{
					"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "scratch", "labels": planLabels}}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until deployment default/web is ready"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until deployment default/web is ready"},
			},
			Cleanup: []kube.ObjectRef{
				{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespace: "default", Name: "web"},
				{Version: "v1", Resource: "namespaces", Kind: "Namespace", Name: "scratch"}},
		}},
		{"apply a manifest known only at run time", &ApplyStep{Manifest: tpl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: ${{ vars.meta }}\n")}, &Planned{
			Target:  "the objects of the manifest",
			Kubectl: "kubectl create -f -",
			Calls: []Call{{Verb: "create", Resource: "<each object of the manifest>",
				Body: "apiVersion: v1\nkind: ConfigMap\nmetadata: <vars.meta>\n",
				Note: "the manifest can only be read once the run has evaluated it: manifest line 1: object has no metadata.name"}},
			Notes: []string{"every object is labelled with the run's labels and deleted at cleanup"},
		}},
		{"get by name", &GetStep{Kind: "Pod", Name: tpl(t, "${{ vars.name }}"), Namespace: tpl(t, "prod")}, &Planned{
			Target:  "pod prod/web",
			Kubectl: "kubectl get pod web -n prod -o json",
			Calls:   []Call{{Verb: "get", Resource: "pods", Namespace: "prod", Name: "web"}},
		}},
		{"get by selector", &GetStep{APIVersion: "apps/v1", Kind: "Deployment", Selector: tpl(t, "app=web")}, &Planned{
			Target:  "deployments in default",
			Kubectl: "kubectl get deployments.apps -n default -l app=web -o json",
			Calls:   []Call{{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "labelSelector=app=web"}},
		}},
		{"get a cluster-scoped object", &GetStep{Kind: "Node", Name: tpl(t, "vm"), Namespace: tpl(t, "ignored")}, &Planned{
			Target:  "node vm",
			Kubectl: "kubectl get node vm -o json",
			Calls:   []Call{{Verb: "get", Resource: "nodes", Name: "vm"}},
		}},
		{"get a custom resource", &GetStep{APIVersion: "example.com/v1", Kind: "Widget", Name: tpl(t, "w")}, &Planned{
			Target:  "widget default/w",
			Kubectl: "kubectl get widgets.example.com w -n default -o json",
			Calls:   []Call{{Verb: "get", Group: "example.com", Resource: "widgets", Namespace: "default", Name: "w"}},
			Notes:   []string{"Widget is not a built-in kind: its resource (widgets.example.com) and scope are found by discovery at run time"},
		}},
		{"wait for a pod", &WaitStep{Kind: "Pod", Name: tpl(t, "web"), For: cond(t, `object.status.phase == "Running"`)}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl wait pod/web -n default '--for=jsonpath={.status.phase}=Running'",
			Calls:   []Call{watchCall("default", `until object.status.phase == "Running"`)},
		}},
		{"wait for a deployment", &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, `object.status.readyReplicas >= 2`)}, &Planned{
			Target:  "deployment default/web",
			Kubectl: "kubectl get deployments.apps web -n default --watch -o json  # until object.status.readyReplicas >= 2",
			Calls: []Call{
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until object.status.readyReplicas >= 2"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until object.status.readyReplicas >= 2"},
			},
		}},
		{"logs", &LogsStep{Pod: tpl(t, "web"), Container: tpl(t, "app"), Previous: true, TailLines: i64(20), Since: &runbook.Duration{Duration: 90 * time.Second}}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl logs web -n default -c app --previous --tail=20 --since=1m30s",
			Calls: []Call{{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "default", Name: "web",
				Body: map[string]any{"container": "app", "previous": true, "tailLines": int64(20), "sinceSeconds": int64(90)},
				Note: "query parameters; the log is capped at the run's output limit"}},
		}},
		{"events of a pod", &EventsStep{For: &EventsFor{Kind: "Pod", Name: tpl(t, "web")}}, &Planned{
			Target:  "events of pod default/web",
			Kubectl: "kubectl events -n default --for pod/web",
			Calls:   []Call{{Verb: "list", Resource: "events", Namespace: "default", Note: "fieldSelector=involvedObject.kind=Pod,involvedObject.name=web"}},
		}},
		{"events of a namespace", &EventsStep{Namespace: tpl(t, "prod")}, &Planned{
			Target:  "events in prod",
			Kubectl: "kubectl events -n prod",
			Calls:   []Call{{Verb: "list", Resource: "events", Namespace: "prod"}},
		}},
		{"delete a pod the runbook did not create", &DeleteStep{Kind: "Pod", Name: tpl(t, "web"), GracePeriodSeconds: i64(0)}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl delete pod web -n default --grace-period=0",
			Calls: []Call{
				{Verb: "get", Resource: "pods", Namespace: "default", Name: "web", Note: "the object before deletion is `object` in assertions"},
				{Verb: "delete", Resource: "pods", Namespace: "default", Name: "web", Body: map[string]any{
					"propagationPolicy": "Background", "gracePeriodSeconds": int64(0), "preconditions": map[string]any{"uid": "<uid of the object read>"}}},
				watchCall("default", "until pod default/web is gone"),
			},
			Notes: []string{"unless an earlier step of this runbook creates it, deleting pod default/web is a real change to the cluster: cleanup does not bring it back"},
		}},
		{"delete a namespace without waiting", &DeleteStep{Kind: "Namespace", Name: tpl(t, "scratch"), Wait: boolp(false), IgnoreNotFound: true}, &Planned{
			Target:  "namespace scratch",
			Kubectl: "kubectl delete namespace scratch --wait=false --ignore-not-found",
			Calls: []Call{
				{Verb: "get", Resource: "namespaces", Name: "scratch", Note: "the object before deletion is `object` in assertions"},
				{Verb: "delete", Resource: "namespaces", Name: "scratch", Body: map[string]any{
					"propagationPolicy": "Background", "preconditions": map[string]any{"uid": "<uid of the object read>"}}},
			},
			Notes: []string{"unless an earlier step of this runbook creates it, deleting namespace scratch is a real change to the cluster: cleanup does not bring it back"},
		}},
		{"local command", &LocalStep{Command: []expression.Template{tpl(t, "kubectl"), tpl(t, "get"), tpl(t, "pod/${{ vars.name }}")}, Env: []EnvVar{{Name: "TOKEN", Value: tpl(t, "s3cret"), Secret: true}}}, &Planned{
			Target: "local: kubectl get pod/web",
			Calls:  []Call{},
			Notes:  []string{"runs on the operator's machine, not in the cluster, with the operator's environment and credentials, in <dir>: kubectl get pod/web", "env TOKEN is set"},
		}},
		{"local shell", &LocalStep{Shell: tpl(t, "ps aux | grep kubelet"), Dir: tpl(t, "/tmp")}, &Planned{
			Target: "local: /bin/sh -c 'ps aux | grep kubelet'",
			Calls:  []Call{},
			Notes:  []string{"runs on the operator's machine, not in the cluster, with the operator's environment and credentials, in /tmp: /bin/sh -c 'ps aux | grep kubelet'"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlanner(t)
			got, err := tt.spec.Plan(p)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range got.Notes {
				got.Notes[i] = strings.ReplaceAll(n, p.Dir, "<dir>")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanDeleteOfAPodTheRunbookCreates(t *testing.T) {
	p := testPlanner(t)
	a := &ApplyStep{Manifest: tpl(t, podManifest)}
	for _, pod := range a.PlannedPods(p) {
		p.Pods[pod.Namespace+"/"+pod.Name] = pod
	}
	got, err := (&DeleteStep{Kind: "Pod", Name: tpl(t, "noshell")}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"deletes pod default/noshell, which this runbook creates earlier"}, got.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestPlannedPods(t *testing.T) {
	manifest := podManifest + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" +
		"apiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: prod}\nspec: {containers: [{name: c, image: i}]}\n"
	got := (&ApplyStep{Manifest: tpl(t, manifest)}).PlannedPods(testPlanner(t))
	labels := map[string]string{"app.kubernetes.io/managed-by": "runbook", "runbook/run-id": "<run id>"}
	want := []*corev1.Pod{
		{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "noshell", Namespace: "default", Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10.2"}}}},
		{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "prod", Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PlannedPods (-want +got):\n%s", diff)
	}
	if pods := (&ApplyStep{Manifest: tpl(t, "kind: ${{ vars.kind }}\n")}).PlannedPods(testPlanner(t)); pods != nil {
		t.Errorf("PlannedPods of a manifest known at run time = %v, want none", pods)
	}
}

func TestPlanPrivilegedManifest(t *testing.T) {
	m := "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      hostNetwork: true\n      containers: [{name: c, image: i}]\n"
	s := &ApplyStep{Manifest: tpl(t, m)}
	want := []string{}
	for _, r := range kube.PodPrivilegedReasons(&corev1.PodSpec{HostNetwork: true}) {
		want = append(want, "DaemonSet d: "+r)
	}
	if len(want) == 0 {
		t.Fatal("kube says hostNetwork is not privileged")
	}
	if diff := cmp.Diff(want, s.PrivilegeReasons()); diff != "" {
		t.Errorf("PrivilegeReasons (-want +got):\n%s", diff)
	}
	pl, err := s.Plan(testPlanner(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, pl.Calls[0].Privileged); diff != "" {
		t.Errorf("create call's Privileged (-want +got):\n%s", diff)
	}
}

func TestApplyRunPod(t *testing.T) {
	env := newTestEnv(t, nil)
	markPodsReady(env.kube)
	s := &ApplyStep{Manifest: tpl(t, strings.Replace(podManifest, "noshell", `"${{ vars.name }}"`, 1)), WaitFor: "Ready"}
	out := s.Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if got := out.Object["spec"].(map[string]any)["nodeName"]; got != "vm" {
		t.Errorf("object.spec.nodeName = %v, want vm (the pod as the API returned it)", got)
	}
	if out.Object["kind"] != "Pod" || len(out.Objects) != 1 {
		t.Errorf("object kind %v, %d objects; want a Pod, 1 object", out.Object["kind"], len(out.Objects))
	}
	pod, err := env.kube.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kube.Labels("run1"), pod.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	wantTracked := []kube.TrackedObject{{GVR: podsGVR, Kind: "Pod", Namespace: "default", Name: "web", Created: true}}
	if diff := cmp.Diff(wantTracked, env.Tracker.Objects(), cmpIgnoreCreatedAt); diff != "" {
		t.Errorf("tracked (-want +got):\n%s", diff)
	}
	want := &Outcome{
		Target:  "pod default/web",
		Kubectl: "kubectl create -f - && kubectl wait pod/web -n default --for=condition=Ready",
		Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "created"}},
	}
	got := *out
	got.Object, got.Objects = nil, nil
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
}

var cmpIgnoreCreatedAt = cmp.Transformer("noCreatedAt", func(o kube.TrackedObject) kube.TrackedObject {
	o.CreatedAt = time.Time{}
	return o
})

func TestApplyRunObjects(t *testing.T) {
	env := newTestEnv(t, nil)
	file := filepath.Join(env.Dir, "objs.yaml")
	text := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {a: b}}\ndata: {k: v}\n---\n" +
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := (&ApplyStep{File: "objs.yaml", WaitFor: "Ready"}).Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	cm, err := env.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default").Get(context.Background(), "cfg", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{"a": "b", kube.LabelManagedBy: kube.ManagedByValue, kube.LabelRunID: "run1"}
	if diff := cmp.Diff(wantLabels, cm.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if _, err := env.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(context.Background(), "scratch", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace scratch: %v", err)
	}
	if len(out.Objects) != 2 || out.Object["kind"] != "Namespace" {
		t.Errorf("objects = %v, object = %v; want 2 objects, the last a Namespace", out.Objects, out.Object)
	}
	if out.Kubectl != "kubectl create -f objs.yaml" {
		t.Errorf("kubectl = %q", out.Kubectl)
	}
	if got := len(env.Tracker.Objects()); got != 2 {
		t.Errorf("%d objects tracked, want 2", got)
	}
}

func TestApplyRunExistingObjectIsAnError(t *testing.T) {
	existing := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}}
	tests := []struct {
		name     string
		manifest string
		env      func(t *testing.T) *testEnv
		want     string
	}{
		{"configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n",
			func(t *testing.T) *testEnv { return newTestEnv(t, nil, existing) },
			"configmap default/cfg already exists: apply creates objects and never changes existing ones, so that cleanup deletes only what the run made; delete it first or choose another name"},
		{"pod", podManifest,
			func(t *testing.T) *testEnv { return newTestEnv(t, []runtime.Object{readyPod("noshell")}) },
			"pod default/noshell already exists: apply creates objects and never changes existing ones, so that cleanup deletes only what the run made; delete it first or choose another name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env(t)
			out := (&ApplyStep{Manifest: tpl(t, tt.manifest)}).Run(testCtx(t), env.Env)
			if out.Err == nil || out.Err.Error() != tt.want {
				t.Fatalf("error = %v, want %s", out.Err, tt.want)
			}
			if got := env.Tracker.Objects(); len(got) != 0 {
				t.Errorf("tracked %v: cleanup would delete an object the run did not create", got)
			}
		})
	}
}

func TestApplyRunCreateRaceIsReported(t *testing.T) {
	env := newTestEnv(t, nil)
	env.kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "noshell")
	})
	out := (&ApplyStep{Manifest: tpl(t, podManifest)}).Run(testCtx(t), env.Env)
	want := `pod default/noshell already exists: apply creates objects and never changes existing ones, so that cleanup deletes only what the run made; delete it first or choose another name`
	if out.Err == nil || out.Err.Error() != want {
		t.Fatalf("error = %v, want %s", out.Err, want)
	}
	if got := env.Tracker.Objects(); len(got) != 0 {
		t.Errorf("tracked %v after a refused create: cleanup would delete an object the run did not create", got)
	}
}

func TestApplyRunWaits(t *testing.T) {
	deployment := func(ready bool) *appsv1.Deployment {
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Generation: 1}}
		if ready {
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
		}
		return d
	}
	tests := []struct {
		name     string
		manifest string
		waitFor  string
		// status is what the cluster reports right after the create.
		status  func(obj *unstructured.Unstructured)
		wantErr string
	}{
		{"deployment ready", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n", "Ready",
			func(u *unstructured.Unstructured) {
				st := unstr(t, deployment(true))
				u.Object["status"] = st.Object["status"]
				u.SetGeneration(1)
			}, ""},
		{"job failed", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n", "Succeeded",
			func(u *unstructured.Unstructured) {
				u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}}
			}, "job default/j failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{"job complete", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\n", "Ready",
			func(u *unstructured.Unstructured) {
				u.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}
			}, ""},
		{"configmap only exists", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "Ready", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			if tt.status != nil {
				env.dyn.PrependReactor("create", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
					tt.status(a.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured))
					return false, nil, nil
				})
			}
			out := (&ApplyStep{Manifest: tpl(t, tt.manifest), WaitFor: tt.waitFor}).Run(testCtx(t), env.Env)
			if tt.wantErr == "" && out.Err != nil {
				t.Fatal(out.Err)
			}
			if tt.wantErr != "" && (out.Err == nil || out.Err.Error() != tt.wantErr) {
				t.Fatalf("error = %v, want %s", out.Err, tt.wantErr)
			}
			if out.Object == nil {
				t.Error("no object")
			}
		})
	}
}

// FuzzParseManifest checks that no manifest makes the parser panic.
func FuzzParseManifest(f *testing.F) {
	for _, seed := range []string{podManifest, "", "---\n---\n", "a: [\n", "- 1\n", "apiVersion: 5\nkind: [a]\nmetadata: 3\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: 5, labels: x}\nspec: {containers: 7}\n", "x: &a [*a]\n", "? [a]\n: b\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: [1]}}\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		objs, errs := parseManifest(text, func(n int) string { return "line " + strings.Repeat("x", n%3) })
		for _, o := range objs {
			if o.u.GetName() == "" || o.u.GetKind() == "" {
				t.Errorf("object without name or kind accepted: %v", o.u.Object)
			}
			o.namespaced = true
			o.prepare("default", kube.RunStamp{RunID: "run1"})
			_ = o.privilegeReasons()
		}
		_ = errs
	})
}

func TestApplyRunPodThatCannotStart(t *testing.T) {
	env := newTestEnv(t, nil)
	env.kube.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Status.Phase = corev1.PodPending
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "nope"`}}}}
		return false, nil, nil
	})
	out := (&ApplyStep{Manifest: tpl(t, podManifest), WaitFor: "Running"}).Run(testCtx(t), env.Env)
	var stuck *kube.PodStuckError
	if !errors.As(out.Err, &stuck) || stuck.Reason != "ImagePullBackOff" {
		t.Fatalf("error = %v, want ImagePullBackOff", out.Err)
	}
	if out.Object == nil || len(env.Tracker.Objects()) != 1 {
		t.Errorf("object %v, tracked %v: want the pod and its record for cleanup", out.Object, env.Tracker.Objects())
	}
}

func TestApplyRunBadManifest(t *testing.T) {
	env := newTestEnv(t, nil)
	out := (&ApplyStep{Manifest: tpl(t, "apiVersion: v1\nkind: ${{ vars.name }}\nmetadata: {name: x}\n")}).Run(testCtx(t), env.Env)
	want := `web x (manifest line 1): no matches for kind "web" in version "v1"`
	if out.Err == nil || out.Err.Error() != want {
		t.Fatalf("error = %v, want %s", out.Err, want)
	}
	out = (&ApplyStep{Manifest: tpl(t, "a: [\n")}).Run(testCtx(t), env.Env)
	if out.Err == nil || !strings.HasPrefix(out.Err.Error(), "manifest: not valid YAML: ") {
		t.Fatalf("error = %v, want a YAML error", out.Err)
	}
}

func TestGetRun(t *testing.T) {
	web := unstr(t, readyPod("web"))
	web.SetLabels(map[string]string{"app": "web"})
	db := unstr(t, readyPod("db"))
	node := unstr(t, &corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: "vm"}})
	tests := []struct {
		name        string
		spec        *GetStep
		wantErr     string
		wantObject  string
		wantObjects []string
		want        *Outcome
	}{
		{"by name", &GetStep{Kind: "Pod", Name: tpl(t, "web")}, "", "web", []string{"web"}, &Outcome{
			Target: "pod default/web", Kubectl: "kubectl get pod web -n default -o json",
			Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "read"}}}},
		{"by selector", &GetStep{Kind: "Pod", Selector: tpl(t, "app=web")}, "", "", []string{"web"}, &Outcome{
			Target: "pods in default", Kubectl: "kubectl get pod -n default -l app=web -o json",
			Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "read"}}}},
		{"all", &GetStep{Kind: "Pod"}, "", "", []string{"db", "web"}, nil},
		{"none match", &GetStep{Kind: "Pod", Selector: tpl(t, "app=nope")}, "", "", []string{}, nil},
		{"cluster-scoped", &GetStep{Kind: "Node", Name: tpl(t, "vm"), Namespace: tpl(t, "x")}, "", "vm", []string{"vm"}, &Outcome{
			Target: "node vm", Kubectl: "kubectl get node vm -o json",
			Touched: []ObjectRef{{Kind: "Node", Name: "vm", Action: "read"}}}},
		{"not found", &GetStep{Kind: "Pod", Name: tpl(t, "nope")}, `reading pod default/nope: pods "nope" not found`, "", nil, nil},
		{"unknown kind", &GetStep{Kind: "Pdo", Name: tpl(t, "x")}, "kind Pdo (v1): ", "", nil, nil},
		{"empty name", &GetStep{Kind: "Pod", Name: tpl(t, "${{ vars.none }}")}, `name "${{ vars.none }}" evaluated to an empty string`, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, web.DeepCopy(), db.DeepCopy(), node.DeepCopy())
			out := tt.spec.Run(testCtx(t), env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || !strings.HasPrefix(out.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %s...", out.Err, tt.wantErr)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			var gotName string
			if out.Object != nil {
				gotName = out.Object["metadata"].(map[string]any)["name"].(string)
			}
			if gotName != tt.wantObject {
				t.Errorf("object %q, want %q", gotName, tt.wantObject)
			}
			gotNames := []string{}
			for _, o := range out.Objects {
				m := o.(map[string]any)
				gotNames = append(gotNames, m["metadata"].(map[string]any)["name"].(string))
				if m["kind"] != tt.spec.Kind {
					t.Errorf("object kind %v, want %s", m["kind"], tt.spec.Kind)
				}
			}
			if diff := cmp.Diff(tt.wantObjects, gotNames); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if tt.want != nil {
				got := *out
				got.Object, got.Objects = nil, nil
				if diff := cmp.Diff(tt.want, &got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// fakeWatch makes a fake client answer watches of resource with a watcher
// the test drives; started is closed when the first watch begins.
func fakeWatch(f interface {
	PrependWatchReactor(string, k8stesting.WatchReactionFunc)
}, resource string) (*watch.FakeWatcher, <-chan struct{}) {
	w := watch.NewFake()
	started := make(chan struct{})
	var once sync.Once
	f.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		once.Do(func() { close(started) })
		return true, w, nil
	})
	return w, started
}

func TestWaitRunPodByWatch(t *testing.T) {
	pending := readyPod("web")
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	env := newTestEnv(t, []runtime.Object{pending})
	w, started := fakeWatch(env.kube, "pods")
	// Until the pod has container statuses the expression fails to
	// evaluate: that must count as false, not end the wait.
	s := &WaitStep{Kind: "Pod", Name: tpl(t, "${{ vars.name }}"), For: cond(t, `object.status.containerStatuses[0].ready == true`)}
	done := make(chan *Outcome)
	go func() { done <- s.Run(testCtx(t), env.Env) }()
	<-started
	running := readyPod("web")
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true}}
	w.Modify(running)
	out := <-done
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	want := &Outcome{Target: "pod default/web", Kubectl: "kubectl wait pod/web -n default '--for=jsonpath={.status.containerStatuses[0].ready}=true'",
		Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "read"}}}
	if out.Object["status"].(map[string]any)["phase"] != "Running" {
		t.Errorf("object is not the pod the watch saw last: %v", out.Object["status"])
	}
	got := *out
	got.Object = nil
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
}

func TestWaitRunObject(t *testing.T) {
	dep := unstr(t, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Status: appsv1.DeploymentStatus{ReadyReplicas: 2}})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		spec    *WaitStep
		wantErr string
	}{
		{"holds", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, "object.status.readyReplicas == 2")}, ""},
		{"missing", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "nope"), For: cond(t, "true")},
			"deployments.apps default/nope was deleted or does not exist"},
		{"ended", cancelled, &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, "false")},
			"waiting for deployments.apps default/web: context canceled"},
		{"not compiled", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: expression.NewExpr("true")},
			`for "true" was not compiled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, dep.DeepCopy())
			ctx, cancel := context.WithTimeout(tt.ctx, time.Minute)
			defer cancel()
			out := tt.spec.Run(ctx, env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || !strings.HasPrefix(out.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %s...", out.Err, tt.wantErr)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if out.Object["metadata"].(map[string]any)["name"] != "web" {
				t.Errorf("object = %v", out.Object)
			}
		})
	}
}

func TestLogsRun(t *testing.T) {
	env := newTestEnv(t, []runtime.Object{readyPod("web")})
	out := (&LogsStep{Pod: tpl(t, "${{ vars.name }}"), Container: tpl(t, "app"), TailLines: i64(5)}).Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	want := &Outcome{
		Stdout: "fake logs", Target: "pod default/web", Kubectl: "kubectl logs web -n default -c app --tail=5",
		Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "read"}},
	}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	var sent *corev1.PodLogOptions
	for _, a := range env.kube.Actions() {
		if ga, ok := a.(k8stesting.GenericAction); ok && a.GetSubresource() == "log" {
			sent, _ = ga.GetValue().(*corev1.PodLogOptions)
		}
	}
	if sent == nil || sent.Container != "app" || sent.TailLines == nil || *sent.TailLines != 5 {
		t.Errorf("log options sent = %+v", sent)
	}
	out = (&LogsStep{Pod: tpl(t, "${{ vars.none }}")}).Run(testCtx(t), env.Env)
	if out.Err == nil || out.Err.Error() != `pod "${{ vars.none }}" evaluated to an empty string` {
		t.Errorf("error = %v", out.Err)
	}
}

func TestEventsRun(t *testing.T) {
	at := func(s string) metav1.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return metav1.NewTime(tm)
	}
	ev := func(name, kind, obj, reason string, mod func(*corev1.Event)) runtime.Object {
		e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: obj, Namespace: "default"},
			Type:           "Normal", Reason: reason, Message: reason + " " + obj + "\nsecond line"}
		mod(e)
		return e
	}
	events := []runtime.Object{
		ev("b", "Pod", "web", "Pulled", func(e *corev1.Event) { e.LastTimestamp = at("2025-01-02T10:00:05+02:00") }),
		ev("a", "Pod", "web", "Scheduled", func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(at("2025-01-02T08:00:01Z").Time) }),
		ev("c", "Pod", "db", "Killing", func(e *corev1.Event) { e.Type = "Warning"; e.FirstTimestamp = at("2025-01-02T08:00:03Z") }),
		ev("d", "Pod", "web", "Started", func(e *corev1.Event) { e.LastTimestamp = at("2025-01-02T08:00:05Z") }),
	}
	tests := []struct {
		name      string
		spec      *EventsStep
		wantNames []string
		wantOut   string
		want      *Outcome
	}{
		{"namespace", &EventsStep{}, []string{"a", "c", "b", "d"},
			"LAST SEEN             TYPE     REASON     OBJECT   MESSAGE\n" +
				"2025-01-02T08:00:01Z  Normal   Scheduled  pod/web  Scheduled web second line\n" +
				"2025-01-02T08:00:03Z  Warning  Killing    pod/db   Killing db second line\n" +
				"2025-01-02T08:00:05Z  Normal   Pulled     pod/web  Pulled web second line\n" +
				"2025-01-02T08:00:05Z  Normal   Started    pod/web  Started web second line\n",
			&Outcome{Target: "events in default", Kubectl: "kubectl events -n default"}},
		{"one object", &EventsStep{For: &EventsFor{Kind: "Pod", Name: tpl(t, "${{ vars.name }}")}}, []string{"a", "b", "d"}, "",
			&Outcome{Target: "events of pod default/web", Kubectl: "kubectl events -n default --for pod/web"}},
		{"none", &EventsStep{Namespace: tpl(t, "empty")}, []string{}, "LAST SEEN  TYPE  REASON  OBJECT  MESSAGE\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, events)
			out := tt.spec.Run(testCtx(t), env.Env)
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			names := []string{}
			for _, o := range out.Objects {
				m := o.(map[string]any)
				names = append(names, m["metadata"].(map[string]any)["name"].(string))
				if m["kind"] != "Event" {
					t.Errorf("kind %v", m["kind"])
				}
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
			if tt.wantOut != "" {
				if diff := cmp.Diff(tt.wantOut, out.Stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if tt.want != nil {
				got := *out
				got.Objects, got.Stdout = nil, ""
				if diff := cmp.Diff(tt.want, &got); diff != "" {
					t.Errorf("outcome (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEventsRunCapsOutput(t *testing.T) {
	var events []runtime.Object
	for _, n := range []string{"a", "b", "c"} {
		events = append(events, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "default"}, Reason: "R", Message: strings.Repeat("x", 100)})
	}
	env := newTestEnv(t, events)
	env.MaxOutput = 50
	out := (&EventsStep{}).Run(testCtx(t), env.Env)
	if out.Err != nil || len(out.Stdout) != 50 || !out.StdoutTruncated || len(out.Objects) != 3 {
		t.Errorf("err %v, %d bytes, truncated %v, %d objects; want 50 bytes truncated, 3 objects", out.Err, len(out.Stdout), out.StdoutTruncated, len(out.Objects))
	}
}

func TestDeleteRun(t *testing.T) {
	pod := readyPod("web")
	pod.UID = "uid-web"
	dep := unstr(t, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-dep"}})
	tests := []struct {
		name    string
		spec    *DeleteStep
		wantErr string
		want    *Outcome
		gone    schema.GroupVersionResource
	}{
		{"pod", &DeleteStep{Kind: "Pod", Name: tpl(t, "${{ vars.name }}"), GracePeriodSeconds: i64(0)}, "", &Outcome{
			Target: "pod default/web", Kubectl: "kubectl delete pod web -n default --grace-period=0",
			Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "deleted"}}}, podsGVR},
		{"deployment", &DeleteStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web")}, "", &Outcome{
			Target: "deployment default/web", Kubectl: "kubectl delete deployments.apps web -n default",
			Touched: []ObjectRef{{Kind: "Deployment", Namespace: "default", Name: "web", Action: "deleted"}}},
			schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{"no wait", &DeleteStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), Wait: boolp(false)}, "", &Outcome{
			Target: "deployment default/web", Kubectl: "kubectl delete deployments.apps web -n default --wait=false",
			Touched: []ObjectRef{{Kind: "Deployment", Namespace: "default", Name: "web", Action: "deleted"}}},
			schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{"not found", &DeleteStep{Kind: "Pod", Name: tpl(t, "nope")}, `reading pod default/nope: pods "nope" not found`, nil, schema.GroupVersionResource{}},
		{"not found ignored", &DeleteStep{Kind: "Pod", Name: tpl(t, "nope"), IgnoreNotFound: true}, "", &Outcome{
			Target: "pod default/nope", Kubectl: "kubectl delete pod nope -n default --ignore-not-found",
		}, schema.GroupVersionResource{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, unstr(t, pod), dep.DeepCopy())
			out := tt.spec.Run(testCtx(t), env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || out.Err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", out.Err, tt.wantErr)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if tt.gone.Resource != "" {
				if out.Object["metadata"].(map[string]any)["name"] != "web" {
					t.Errorf("object (before deletion) = %v", out.Object)
				}
				_, err := env.dyn.Resource(tt.gone).Namespace("default").Get(context.Background(), "web", metav1.GetOptions{})
				if !apierrors.IsNotFound(err) {
					t.Errorf("after delete: %v, want NotFound", err)
				}
			}
			got := *out
			got.Object = nil
			if diff := cmp.Diff(tt.want, &got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeleteOptions(t *testing.T) {
	uid := types.UID("uid-web")
	policy := metav1.DeletePropagationBackground
	want := metav1.DeleteOptions{GracePeriodSeconds: i64(3), Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &policy}
	if diff := cmp.Diff(want, (&DeleteStep{GracePeriodSeconds: i64(3)}).options(uid)); diff != "" {
		t.Errorf("delete options (-want +got):\n%s", diff)
	}
	want = metav1.DeleteOptions{PropagationPolicy: &policy}
	if diff := cmp.Diff(want, (&DeleteStep{}).options("")); diff != "" {
		t.Errorf("delete options without a UID (-want +got):\n%s", diff)
	}
}

func TestLocalRun(t *testing.T) {
	const echo = "/bin/echo"
	dir := t.TempDir()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		spec    *LocalStep
		ctx     context.Context
		max     int
		want    *Outcome
		wantErr string
	}{
		{"echo", &LocalStep{Command: []expression.Template{tpl(t, echo), tpl(t, "hello"), tpl(t, "${{ vars.name }}")}}, nil, 0,
			&Outcome{Stdout: "hello web\n", ExitCode: intPtr(0), Target: "local: " + echo + " hello web"}, ""},
		{"exit code", &LocalStep{Shell: tpl(t, "echo out; echo err >&2; exit 3")}, nil, 0,
			&Outcome{Stdout: "out\n", Stderr: "err\n", ExitCode: intPtr(3), Target: "local: /bin/sh -c 'echo out; echo err >&2; exit 3'"}, ""},
		{"env, dir and secrets", &LocalStep{Shell: tpl(t, `echo "$TOKEN $RUNBOOK_NAMESPACE $RUNBOOK_RUN_ID $(pwd)"`), Dir: tpl(t, dir),
			Env: []EnvVar{{Name: "TOKEN", Value: tpl(t, "s3cret"), Secret: true}}}, nil, 0,
			&Outcome{Stdout: "s3cret default run1 " + dir + "\n", ExitCode: intPtr(0), Secrets: []string{"s3cret"},
				Target: `local: /bin/sh -c 'echo "$TOKEN $RUNBOOK_NAMESPACE $RUNBOOK_RUN_ID $(pwd)"'`}, ""},
		{"output cap", &LocalStep{Shell: tpl(t, "yes | head -c 100000; echo done >&2")}, nil, 10,
			&Outcome{Stdout: "y\ny\ny\ny\ny\n", StdoutTruncated: true, Stderr: "done\n", ExitCode: intPtr(0),
				Target: "local: /bin/sh -c 'yes | head -c 100000; echo done >&2'"}, ""},
		{"killed by a signal", &LocalStep{Shell: tpl(t, "kill -KILL $$")}, nil, 0,
			&Outcome{ExitCode: intPtr(137), Target: "local: /bin/sh -c 'kill -KILL $$'"}, ""},
		{"missing binary", &LocalStep{Command: []expression.Template{tpl(t, "runbook-no-such-binary")}}, nil, 0, nil,
			`local command runbook-no-such-binary: exec: "runbook-no-such-binary": executable file not found in $PATH`},
		{"missing dir", &LocalStep{Command: []expression.Template{tpl(t, echo)}, Dir: tpl(t, "nope")}, nil, 0, nil,
			"local command: working directory: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"dir is a file", &LocalStep{Command: []expression.Template{tpl(t, echo)}, Dir: tpl(t, echo)}, nil, 0, nil,
			"local command: working directory /bin/echo is not a directory"},
		{"stopped", &LocalStep{Command: []expression.Template{tpl(t, "sleep"), tpl(t, "60")}}, cancelled, 0, nil,
			"local command sleep was stopped: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			env.Dir = dir
			env.MaxOutput = tt.max
			ctx := tt.ctx
			if ctx == nil {
				ctx = testCtx(t)
			}
			out := tt.spec.Run(ctx, env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || out.Err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", out.Err, tt.wantErr)
				}
				if tt.name == "missing binary" && out.ExitCode != nil {
					t.Errorf("exit code %d for a command that never started", *out.ExitCode)
				}
				return
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLocalRunKillsTheProcessGroup checks that a stopped command's
// children die with it: the background sleep holds the command's output
// open, so the pipes only close early if the whole group was killed.
func TestLocalRunKillsTheProcessGroup(t *testing.T) {
	env := newTestEnv(t, nil)
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Opening blocks until the shell opens the fifo to write: by then
		// the background sleep runs.
		b, _ := os.ReadFile(fifo)
		if len(b) > 0 {
			cancel()
		}
	}()
	s := &LocalStep{Shell: tpl(t, `sleep 300 & echo $! > "$FIFO"; wait`), Env: []EnvVar{{Name: "FIFO", Value: tpl(t, fifo)}}}
	out := s.Run(ctx, env.Env)
	want := "local command /bin/sh was stopped: context canceled"
	if out.Err == nil || out.Err.Error() != want {
		t.Fatalf("error = %v, want %s", out.Err, want)
	}
}

func TestSecretValues(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"data": map[string]any{"password": "aHVudGVyMg==", "empty": ""},
	}}
	if diff := cmp.Diff([]string{"hunter2"}, secretValues(u)); diff != "" {
		t.Errorf("secret values (-want +got):\n%s", diff)
	}
	u.SetKind("ConfigMap")
	if got := secretValues(u); got != nil {
		t.Errorf("a ConfigMap has no secret values, got %v", got)
	}
}
