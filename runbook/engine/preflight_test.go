package engine

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestPlanWithCluster checks that a plan made with a cluster (plan
// --preflight) resolves targets and reads the pods it builds from, and
// that Preflight reports what it read, what fails, and no second read of a
// pod already read.
func TestPlanWithCluster(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: t}
spec:
  namespace: prod
  steps:
  - exec: {pod: deploy/web, command: ["true"]}
  - copy: {pod: web-a, container: app, command: [sleep, "1"]}
  - copy: {pod: web-a, container: nope, command: [sleep, "1"], to: other}
  - logs: {selector: app=none}
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-a", Namespace: "prod", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
	prod := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}
	c := kube.NewClientsWith(fake.NewSimpleClientset(pod, deploy, prod), nil, nil, "prod")
	ctx := context.Background()
	p, err := MakePlan(rb, PlanOptions{Cluster: c, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Steps[0].Planned.Target; got != "pod prod/web-a (from deployment/web)" {
		t.Errorf("step 1 target %q", got)
	}
	if body := p.Steps[1].Planned.Calls[1].Body.(map[string]any); !strings.Contains(strings.Join(strings.Fields(fmtAny(body)), " "), "busybox") {
		t.Errorf("the copy is not built from the pod read: %v", body)
	}
	if p.Steps[2].Planned.Fails == "" {
		t.Error("a copy changing a container the pod lacks does not fail")
	}
	var checks []string
	for _, ch := range Preflight(ctx, c, p) {
		if !strings.HasPrefix(ch.What, "RBAC") && !strings.HasPrefix(ch.What, "Pod Security") {
			checks = append(checks, ch.What+" ok="+map[bool]string{true: "yes", false: "no"}[ch.OK])
		}
	}
	want := []string{
		"step 1: target deployment/web in prod ok=yes",
		"step 2: pod prod/web-a exists ok=yes",
		"step 2: dry-run create pod prod/web-a-debug ok=yes",
		"step 3: pod prod/web-a exists ok=yes",
		"step 3: the plan ok=no",
		"step 4: target selector app=none in prod ok=no",
	}
	if strings.Join(checks, "\n") != strings.Join(want, "\n") {
		t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(checks, "\n"), strings.Join(want, "\n"))
	}
}

func fmtAny(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x + " ")
		}
	}
	walk(v)
	return b.String()
}

// TestPreflightTargetNotRunning: plan --preflight says that a debug step's
// target container is crash-looping, which the run refuses at once.
func TestPreflightTargetNotRunning(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: t}
spec:
  namespace: prod
  steps:
  - debug: {pod: web-a, target: app, image: busybox, command: [ps]}
  - debug: {pod: web-b, target: app, image: busybox, command: [ps]}
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(name string, state corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: state, RestartCount: 4}}}}
	}
	crashing := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s"}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	c := kube.NewClientsWith(fake.NewSimpleClientset(pod("web-a", crashing), pod("web-b", running),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}}), nil, nil, "prod")
	ctx := context.Background()
	p, err := MakePlan(rb, PlanOptions{Cluster: c, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ch := range Preflight(ctx, c, p) {
		switch ch.What {
		case "step 1: target container app of pod prod/web-a is running":
			found++
			if ch.OK || !strings.Contains(ch.Detail, "CrashLoopBackOff") {
				t.Errorf("crash-looping target: %+v", ch)
			}
		case "step 2: target container app of pod prod/web-b is running":
			found++
			if !ch.OK {
				t.Errorf("running target: %+v", ch)
			}
		}
	}
	if found != 2 {
		t.Errorf("%d target checks, want 2", found)
	}
}

// TestPlanFailsOnARenderedTarget: a target whose rendered value cannot be a
// name is a failure of the plan (which preflight counts), not a note.
func TestPlanFailsOnARenderedTarget(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: t}
spec:
  namespace: prod
  vars: {c: Bad_C, ns: Bad_NS}
  steps:
  - exec: {pod: "deploy/${{ vars.c }}", command: [ls]}
  - exec: {pod: web, namespace: "${{ vars.ns }}", command: [ls]}
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(rb, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Steps[0].Planned.Fails; !strings.Contains(f, `"Bad_C" is not a valid deployment name`) {
		t.Errorf("fails %q, want the invalid name", f)
	}
	if f := p.Steps[1].Planned.Fails; !strings.Contains(f, `namespace "Bad_NS" (from ${{ vars.ns }}) is not valid`) {
		t.Errorf("fails %q, want the invalid namespace", f)
	}
}
