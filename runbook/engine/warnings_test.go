package engine

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// A step's warnings (a node step on a cordoned node) reach the result's warnings, naming
// the step, and do not fail the run.
func TestStepWarningsReachTheResult(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vm"}, Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	k := fake.NewClientset(node)
	k.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning}
		return false, nil, nil
	})
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+`  allowPrivileged: true
  steps:
  - name: look at the node
    node: {name: vm, image: busybox:1.36, waitFor: Running}
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	c := kube.NewClientsWith(k, dynamicfake.NewSimpleDynamicClient(scheme.Scheme), nil, "default")
	res := Run(t.Context(), rb, RunOptions{Clients: c, RunID: "rb-test"})
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s (%s): %+v", res.Verdict, res.Error, summary(res))
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], "step 1 (look at the node): node vm is cordoned (spec.unschedulable)") {
		t.Errorf("warnings %q, want the step's cordon warning", res.Warnings)
	}
}
