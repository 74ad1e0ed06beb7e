package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// webObjects are a Deployment web (app=web) with two ready pods: web-a has
// restarted, web-b has not; and a Deployment idle without pods.
func webObjects() []runtime.Object {
	pod := func(name string, restarts int32) *corev1.Pod {
		p := readyPod(name)
		p.Labels = map[string]string{"app": "web"}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: restarts}}
		return p
	}
	deploy := func(name string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}}}
	}
	return []runtime.Object{deploy("web"), deploy("idle"), pod("web-a", 3), pod("web-b", 0)}
}

func TestTargetRun(t *testing.T) {
	env := newTestEnv(t, webObjects())
	markPodsReady(env.kube)
	ctx := testCtx(t)

	// kubectl logs takes the pod with the most restarts among ready ones.
	out := (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "deploy/web")}}).Run(ctx, env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	want := []ObjectRef{{Kind: "Deployment", Namespace: "default", Name: "web", Action: "read"}, {Kind: "Pod", Namespace: "default", Name: "web-a", Action: "read"}}
	if out.Target != "pod default/web-a (from deployment/web)" || out.Kubectl != "kubectl logs web-a -n default -c app" || !cmp.Equal(out.Touched, want) {
		t.Errorf("logs: target %q, kubectl %q, touched %v", out.Target, out.Kubectl, out.Touched)
	}
	if name, _ := out.Pod["metadata"].(map[string]any)["name"].(string); name != "web-a" {
		t.Errorf("logs: pod %v", out.Pod["metadata"])
	}

	// kubectl exec takes the one with the fewest.
	out = (&ExecStep{PodTarget: PodTarget{Selector: tpl(t, "app=${{ vars.name }}")}, Command: []expression.Template{tpl(t, "true")}}).Run(ctx, env.Env)
	if out.Target != "pod default/web-b (from selector app=web)" || out.Kubectl != "kubectl exec web-b -n default -c app -- true" {
		t.Errorf("exec: target %q, kubectl %q", out.Target, out.Kubectl)
	}

	out = (&EventsStep{For: &EventsFor{Pod: tpl(t, "deployment/web")}}).Run(ctx, env.Env)
	if out.Err != nil || out.Target != "events of pod default/web-a (from deployment/web)" || out.Kubectl != "kubectl events -n default --for pod/web-a" {
		t.Errorf("events: %v, target %q, kubectl %q", out.Err, out.Target, out.Kubectl)
	}

	out = (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "deployment/web")}, WaitFor: "None",
		DebugContainer: DebugContainer{Container: tpl(t, "app"), Command: []expression.Template{tpl(t, "sleep"), tpl(t, "1")}}}).Run(ctx, env.Env)
	if out.Err != nil || out.Target != "pod default/web-b-debug (a copy of web-b from deployment/web)" {
		t.Errorf("copy: %v, target %q", out.Err, out.Target)
	}

	out = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "deployment/idle")}}).Run(ctx, env.Env)
	if out.Err == nil || out.Err.Error() != "deployment/idle in default has no pods (selector app=idle)" || out.Target != "pod default/<pod of deployment/idle>" {
		t.Errorf("no pods: %v, target %q", out.Err, out.Target)
	}
	out = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "deployment/gone")}}).Run(ctx, env.Env)
	if out.Err == nil || !strings.Contains(out.Err.Error(), `reading deployment/gone in default: deployments.apps "gone" not found`) {
		t.Errorf("no deployment: %v", out.Err)
	}
	out = (&ExecStep{PodTarget: PodTarget{Pod: tpl(t, "svc/${{ vars.name }}")}, Command: []expression.Template{tpl(t, "true")}}).Run(ctx, env.Env)
	if out.Err == nil || !strings.Contains(out.Err.Error(), `pod: "svc/web": unknown kind "svc"`) {
		t.Errorf("unknown kind: %v", out.Err)
	}
}

func TestTargetPlan(t *testing.T) {
	p := testPlanner(t)
	pl, err := (&EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "deploy/web")}, Target: tpl(t, "app"),
		DebugContainer: DebugContainer{Image: tpl(t, "busybox")}}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	var calls []string
	for _, c := range pl.Calls {
		calls = append(calls, c.String()+" "+c.Note)
	}
	wantCalls := []string{
		"GET deployments.apps default/web its pod selector",
		"LIST pods default/* labelSelector=<selector of deployment/web>; the pod is chosen as kubectl exec chooses it (docs/format.md#targets)",
		"PATCH pods/ephemeralcontainers default/<pod of deployment/web> ",
		"WATCH pods default/<pod of deployment/web> field selector metadata.name=<pod of deployment/web>, shared by every wait on it (past 10 pods that the run did not create, one watch of the namespace); until container debugger is Terminated",
		"GET pods/log default/<pod of deployment/web> output of container debugger",
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if pl.Target != "pod default/<pod of deployment/web>" || !strings.Contains(strings.Join(pl.Notes, "\n"), `checked at run time, on the pod read then: container "app" exists (the target)`) {
		t.Errorf("target %q, notes %q", pl.Target, pl.Notes)
	}

	// A copy of a pod the runbook did not create: the containers it names
	// stand in a placeholder, the checks that need the pod are the run's.
	pl, err = (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web-0")}, To: tpl(t, "${{ vars.none }}-still"), SetImage: map[string]string{"side": "busybox"},
		DebugContainer: DebugContainer{Container: tpl(t, "app"), Command: []expression.Template{tpl(t, "sleep")}}}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	body := pl.Calls[1].Body.(map[string]any)
	containers := body["spec"].(map[string]any)["containers"].([]any)
	if len(containers) != 3 || containers[0].(map[string]any)["command"] == nil || containers[1].(map[string]any)["image"] != "busybox" ||
		pl.Calls[1].Name != "<vars.none>-still" {
		t.Errorf("copy %s: containers %v", pl.Calls[1].Name, containers)
	}
}

// TestTargetPlanWithCluster checks what plan --preflight fills in: the pod
// a workload resolves to, the pod a step builds from, what it could not.
func TestTargetPlanWithCluster(t *testing.T) {
	p := testPlanner(t)
	p.Cluster = kube.NewClientsWith(fake.NewSimpleClientset(webObjects()...), nil, nil, "default")
	p.Context = context.Background()

	pl, err := (&EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "deployment/web")}, Target: tpl(t, "app"),
		DebugContainer: DebugContainer{Image: tpl(t, "busybox")}}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Target != "pod default/web-b (from deployment/web)" || pl.Calls[2].Name != "web-b" || len(pl.Lookups) != 1 || !pl.Lookups[0].OK ||
		pl.Lookups[0].Detail != "pod web-b, the first of 2 pods (selector app=web) as kubectl exec chooses" {
		t.Errorf("target %q, calls %v, lookups %+v", pl.Target, pl.Calls, pl.Lookups)
	}
	// The real pod is known: a target it lacks is the plan's error.
	_, err = (&EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web-a")}, Target: tpl(t, "nope"),
		DebugContainer: DebugContainer{Image: tpl(t, "busybox")}}).Plan(p)
	if err == nil || !strings.Contains(err.Error(), `target container "nope" not found in pod default/web-a (containers: app)`) {
		t.Errorf("error %v", err)
	}
	pl, err = (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web-a")}, SetImage: map[string]string{"app": "busybox"}}).Plan(p)
	if err != nil || pl.Lookups[0].What != "pod default/web-a exists" || !pl.Lookups[0].OK {
		t.Fatalf("%v, %+v", err, pl)
	}
	pl, _ = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "deploy/idle")}}).Plan(p)
	if len(pl.Lookups) != 1 || pl.Lookups[0].OK || pl.Lookups[0].Detail != "deployment/idle in default has no pods (selector app=idle)" {
		t.Errorf("lookups %+v", pl.Lookups)
	}
	pl, _ = (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "gone")}, DebugContainer: DebugContainer{Image: tpl(t, "busybox")}}).Plan(p)
	if len(pl.Lookups) != 1 || pl.Lookups[0].OK || !strings.Contains(pl.Lookups[0].Detail, `pods "gone" not found`) {
		t.Errorf("lookups %+v", pl.Lookups)
	}
	// What an earlier step creates is left to the run.
	p.Created(&Planned{Calls: []Call{{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "default", Name: "fresh"}}})
	pl, _ = (&ExecStep{PodTarget: PodTarget{Pod: tpl(t, "deployment/fresh")}, Command: []expression.Template{tpl(t, "true")}}).Plan(p)
	if len(pl.Lookups) != 0 || pl.Target != "pod default/<pod of deployment/fresh>" || pl.Kubectl != "kubectl exec deployment/fresh -n default -- true" {
		t.Errorf("target %q, kubectl %q, lookups %+v", pl.Target, pl.Kubectl, pl.Lookups)
	}
	pl, _ = (&ExecStep{PodTarget: PodTarget{Selector: tpl(t, "app=fresh")}, Command: []expression.Template{tpl(t, "true")}}).Plan(p)
	if len(pl.Lookups) != 1 || !pl.Lookups[0].OK {
		t.Errorf("lookups %+v", pl.Lookups)
	}
}
