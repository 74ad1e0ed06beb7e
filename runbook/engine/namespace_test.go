package engine

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestRunMissingNamespace checks that a step that fails because the run's
// namespace does not exist says so, and where the namespace was named:
// from the API server's NotFound of the namespace itself with no request
// of its own, and after a NotFound of something else with one read of the
// namespace (once per run), never in a run whose namespace exists.
func TestRunMissingNamespace(t *testing.T) {
	const createPod = `  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec: {containers: [{name: c, image: busybox}]}
`
	const readPod = `  steps:
  - debug: {pod: web, image: busybox, command: ["true"]}
    continueOnError: true
  - debug: {pod: web, image: busybox, command: ["true"]}
`
	tests := []struct {
		name, spec, flag string
		exists           bool
		// createNotFound makes a create of a pod fail as the API server
		// fails it in a namespace that does not exist.
		createNotFound bool
		wantErr        string
		wantNSReads    int
	}{
		{name: "create, spec.namespace", spec: "  namespace: gone\n" + createPod, createNotFound: true,
			wantErr: `namespace "gone" not found (from spec.namespace at rb.yaml:5:14): creating pod gone/p: namespaces "gone" not found`},
		{name: "create, -n", spec: "  namespace: other\n" + createPod, flag: "gone", createNotFound: true,
			wantErr: `namespace "gone" not found (from -n): creating pod gone/p: namespaces "gone" not found`},
		{name: "read, -n", spec: readPod, flag: "gone", wantNSReads: 1,
			wantErr: `namespace "gone" not found (from -n): `},
		{name: "read, the context's namespace", spec: readPod, wantNSReads: 1,
			wantErr: `namespace "gone" not found (from the kubeconfig context, default when it names none): `},
		{name: "read, the namespace exists", spec: readPod, exists: true, wantNSReads: 1,
			wantErr: `reading pod gone/web: pods "web" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := runbook.Parse("rb.yaml", []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n"+tt.spec), runbook.LoadOptions{Kinds: steps.Registry})
			if err != nil {
				t.Fatal(err)
			}
			var objs []runtime.Object
			if tt.exists {
				objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone"}})
			}
			cs := fake.NewClientset(objs...)
			if tt.createNotFound {
				cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, a.GetNamespace())
				})
			}
			c := kube.NewClientsWith(cs, nil, nil, "gone")
			res := Run(context.Background(), rb, RunOptions{Clients: c, RunID: "rb-test", Namespace: tt.flag})
			if len(res.Steps) == 0 || res.Steps[0].Status != report.StatusFailed {
				t.Fatalf("steps: %+v", summary(res))
			}
			if got := res.Steps[0].Error; !strings.HasPrefix(got, tt.wantErr) {
				t.Errorf("error %q, want it to start with %q", got, tt.wantErr)
			}
			if tt.exists && strings.Contains(res.Steps[0].Error, "namespace \"gone\" not found") {
				t.Errorf("error %q blames a namespace that exists", res.Steps[0].Error)
			}
			reads := 0
			for _, a := range cs.Actions() {
				if a.GetVerb() == "get" && a.GetResource().Resource == "namespaces" {
					reads++
				}
			}
			if reads != tt.wantNSReads {
				t.Errorf("%d reads of the namespace, want %d", reads, tt.wantNSReads)
			}
		})
	}
}

// TestPreflightMissingNamespace checks that plan --preflight says that
// the namespace does not exist, and where it was named.
func TestPreflightMissingNamespace(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  namespace: gone\n  steps:\n  - logs: {pod: web}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	c := kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")
	p, err := MakePlan(rb, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ch := range Preflight(context.Background(), c, p) {
		if ch.What == "namespace gone" {
			found = true
			if want := `namespace "gone" not found (from spec.namespace at rb.yaml:5:14): the run would fail at its first request in it`; ch.OK || ch.Detail != want {
				t.Errorf("check %+v, want a failed one saying %q", ch, want)
			}
		}
	}
	if !found {
		t.Error("no check of the namespace")
	}
}
