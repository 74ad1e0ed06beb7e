package steps

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// Helpers the step kinds' tests share: compiled templates and expressions,
// a run on fake clients, ready pods, and a planner.

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
