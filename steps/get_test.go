package steps

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

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
