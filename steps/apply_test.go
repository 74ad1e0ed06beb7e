package steps

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

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
