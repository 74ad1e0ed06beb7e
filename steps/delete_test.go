package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

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

// TestDeleteGracePeriodZeroIsNotForce: gracePeriodSeconds 0 is sent as 1, as kubectl
// delete --grace-period=0 does without --force (a force deletion lets a StatefulSet start
// the replacement while the old containers still run); force sends 0, and only it.
func TestDeleteGracePeriodZeroIsNotForce(t *testing.T) {
	for _, tt := range []struct {
		name  string
		step  DeleteStep
		grace *int64
		line  string
	}{
		{"0", DeleteStep{GracePeriodSeconds: i64(0)}, i64(1), " --grace-period=0"},
		{"5", DeleteStep{GracePeriodSeconds: i64(5)}, i64(5), " --grace-period=5"},
		{"force", DeleteStep{Force: true}, i64(0), " --force --grace-period=0"},
		{"force 0", DeleteStep{Force: true, GracePeriodSeconds: i64(0)}, i64(0), " --force --grace-period=0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.grace, tt.step.options("").GracePeriodSeconds); diff != "" {
				t.Errorf("grace period sent (-want +got):\n%s", diff)
			}
			if line := tt.step.kubectl(target{name: "web"}); !strings.HasSuffix(line, tt.line) {
				t.Errorf("kubectl line %q does not end in %q", line, tt.line)
			}
		})
	}
	if errs := (&DeleteStep{Kind: "Pod", Name: tpl(t, "web"), Force: true, GracePeriodSeconds: i64(30)}).Check(nil); len(errs) != 1 || errs[0].Field != "force" {
		t.Errorf("force with a grace period of 30: %v, want one error on force", errs)
	}
	env := newTestEnv(t, nil, unstr(t, readyPod("web")))
	out := (&DeleteStep{Kind: "Pod", Name: tpl(t, "web"), Force: true, Wait: boolp(false)}).Run(testCtx(t), env.Env)
	if out.Err != nil || len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "force deletion") {
		t.Errorf("force: error %v, warnings %q; want a warning", out.Err, out.Warnings)
	}
}
