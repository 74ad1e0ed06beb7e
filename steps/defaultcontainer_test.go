package steps

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// meshPod is a pod as a service mesh leaves it: the app and a sidecar, and the
// default-container annotation when ann is not empty.
func meshPod(ann string) *corev1.Pod {
	p := readyPod("web")
	p.Spec.Containers = []corev1.Container{{Name: "istio-proxy"}, {Name: "app"}}
	if ann != "" {
		p.Annotations = map[string]string{defaultContainerAnnotation: ann}
	}
	return p
}

func TestChooseContainer(t *testing.T) {
	withInit := readyPod("web")
	withInit.Spec.InitContainers = []corev1.Container{{Name: "istio-init"}}
	full := meshPod("")
	full.Spec.InitContainers = []corev1.Container{{Name: "istio-init"}}
	full.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger"}}}
	single := readyPod("web")
	single.Annotations = map[string]string{defaultContainerAnnotation: "gone"}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		container string
		rule      kube.PodChoice
		want      string
		notes     []string
		wantErr   string
	}{
		{name: "one container", pod: readyPod("web"), want: "app"},
		{name: "one container, logs", pod: readyPod("web"), rule: kube.ChooseLogs, want: "app"},
		{name: "the annotation", pod: meshPod("app"), want: "app"},
		{name: "the annotation, logs", pod: meshPod("app"), rule: kube.ChooseLogs, want: "app"},
		{name: "no annotation: the first, said", pod: meshPod(""), want: "istio-proxy",
			notes: []string{`Defaulted container "istio-proxy" out of: istio-proxy, app`}},
		{name: "no annotation, logs", pod: meshPod(""), rule: kube.ChooseLogs, want: "istio-proxy",
			notes: []string{`Defaulted container "istio-proxy" out of: istio-proxy, app`}},
		{name: "the annotation names a missing container: exec fails", pod: meshPod("nope"),
			wantErr: "container nope is not valid for pod web out of: istio-proxy, app (its annotation kubectl.kubernetes.io/default-container names it"},
		{name: "the annotation names a missing container: logs takes the first", pod: meshPod("nope"), rule: kube.ChooseLogs, want: "istio-proxy",
			notes: []string{`Default container name "nope" not found in pod web`, `Defaulted container "istio-proxy" out of: istio-proxy, app`}},
		{name: "a missing annotated container, one container, logs", pod: single, rule: kube.ChooseLogs, want: "app",
			notes: []string{`Default container name "gone" not found in pod web`}},
		{name: "an init container counts", pod: withInit, want: "app",
			notes: []string{`Defaulted container "app" out of: app, istio-init (init)`}},
		{name: "ephemeral before init, as kubectl lists them", pod: full, rule: kube.ChooseLogs, want: "istio-proxy",
			notes: []string{`Defaulted container "istio-proxy" out of: istio-proxy, app, debugger (ephem), istio-init (init)`}},
		{name: "named", pod: meshPod("app"), container: "istio-proxy", want: "istio-proxy"},
		{name: "named init", pod: full, container: "istio-init", want: "istio-init"},
		{name: "named ephemeral", pod: full, container: "debugger", rule: kube.ChooseLogs, want: "debugger"},
		{name: "named, missing", pod: meshPod("app"), container: "nope", rule: kube.ChooseLogs,
			wantErr: "container nope is not valid for pod web out of: istio-proxy, app"},
		{name: "no containers", pod: &corev1.Pod{}, wantErr: "does not have any containers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes, err := chooseContainer(tt.pod, tt.container, tt.rule)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || !cmp.Equal(notes, tt.notes) {
				t.Errorf("chooseContainer = %q, %q, %v; want %q, %q", got, notes, err, tt.want, tt.notes)
			}
		})
	}
}

// podGets counts the GETs of pods the fake API server answered.
func podGets(actions []k8stesting.Action) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == "get" && a.GetResource().Resource == "pods" && a.GetSubresource() == "" {
			n++
		}
	}
	return n
}

// A step without a container reads the pod once (no pod watch here) and takes
// kubectl's default; with a container it reads nothing, as before.
func TestStepDefaultContainer(t *testing.T) {
	ctx := testCtx(t)
	run := func(t *testing.T, pod *corev1.Pod, a Action) (*Outcome, int) {
		t.Helper()
		env := newTestEnv(t, []runtime.Object{pod})
		env.Pods = nil
		out := a.Run(ctx, env.Env)
		return out, podGets(env.kube.Actions())
	}
	exec := func(container string) *ExecStep {
		return &ExecStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, container), Command: []expression.Template{tpl(t, "true")}}
	}
	logs := func(container string) *LogsStep {
		return &LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, container)}
	}

	out, gets := run(t, meshPod("app"), logs(""))
	if out.Err != nil || out.Kubectl != "kubectl logs web -n default -c app" || out.Stderr != "" || gets != 1 || out.Pod == nil {
		t.Errorf("logs, annotated: %v, %q, stderr %q, %d GETs", out.Err, out.Kubectl, out.Stderr, gets)
	}
	out, gets = run(t, meshPod(""), logs(""))
	if out.Err != nil || out.Kubectl != "kubectl logs web -n default -c istio-proxy" || gets != 1 ||
		out.Stderr != "Defaulted container \"istio-proxy\" out of: istio-proxy, app\n" {
		t.Errorf("logs, not annotated: %v, %q, stderr %q, %d GETs", out.Err, out.Kubectl, out.Stderr, gets)
	}
	if got := logsKind.Bind(out)["stderr"]; got != out.Stderr {
		t.Errorf("logs stderr result %q", got)
	}
	out, gets = run(t, meshPod(""), logs("app"))
	if out.Err != nil || out.Kubectl != "kubectl logs web -n default -c app" || out.Stderr != "" || gets != 0 {
		t.Errorf("logs, named: %v, %q, stderr %q, %d GETs", out.Err, out.Kubectl, out.Stderr, gets)
	}

	// The fake cannot exec: the step fails after choosing.
	out, gets = run(t, meshPod(""), exec(""))
	if out.Kubectl != "kubectl exec web -n default -c istio-proxy -- true" || gets != 1 ||
		!strings.HasPrefix(out.Stderr, "Defaulted container \"istio-proxy\" out of: istio-proxy, app\n") {
		t.Errorf("exec, not annotated: %q, stderr %q, %d GETs", out.Kubectl, out.Stderr, gets)
	}
	out, gets = run(t, meshPod("nope"), exec(""))
	if out.Err == nil || !strings.Contains(out.Err.Error(), "container nope is not valid for pod web") || gets != 1 {
		t.Errorf("exec, annotation naming a missing container: %v, %d GETs", out.Err, gets)
	}
	out, gets = run(t, meshPod(""), exec("app"))
	if out.Kubectl != "kubectl exec web -n default -c app -- true" || gets != 0 || strings.Contains(out.Stderr, "Defaulted") {
		t.Errorf("exec, named: %q, stderr %q, %d GETs", out.Kubectl, out.Stderr, gets)
	}

	// A completed pod in hand: kubectl exec's refusal, before anything is sent.
	done := meshPod("app")
	done.Status.Phase = corev1.PodSucceeded
	out, _ = run(t, done, exec(""))
	if out.Err == nil || out.Err.Error() != "cannot exec into a container in a completed pod; current phase is Succeeded" {
		t.Errorf("exec in a completed pod: %v", out.Err)
	}

	// With the run's pod watch serving the pod (a step waited on it), no GET at all.
	env := newTestEnv(t, []runtime.Object{meshPod("app")})
	w := env.Pods("default")
	if _, err := w.Wait(ctx, "web", func(*corev1.Pod) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
	for _, ok := w.Get("web"); !ok; _, ok = w.Get("web") {
		if ctx.Err() != nil {
			t.Fatal("the pod watch never listed the pod")
		}
		time.Sleep(10 * time.Millisecond)
	}
	env.kube.ClearActions()
	out = logs("").Run(ctx, env.Env)
	if out.Err != nil || out.Kubectl != "kubectl logs web -n default -c app" || podGets(env.kube.Actions()) != 0 {
		t.Errorf("logs from the pod watch: %v, %q, %d GETs", out.Err, out.Kubectl, podGets(env.kube.Actions()))
	}
}

// A plan shows the container the run will use: kubectl's choice when it knows the pod,
// else <default container of POD> and the read that chooses it.
func TestPlanDefaultContainer(t *testing.T) {
	p := testPlanner(t)
	p.Pods["default/web"] = meshPod("app")
	pl, err := (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}}).Plan(p)
	if err != nil || pl.Kubectl != "kubectl logs web -n default -c app" || len(pl.Calls) != 2 ||
		pl.Calls[0].Verb != "get" || pl.Calls[1].Body.(map[string]any)["container"] != "app" || pl.Fails != "" {
		t.Errorf("logs, known pod: %v %q %+v fails %q", err, pl.Kubectl, pl.Calls, pl.Fails)
	}

	p.Pods["default/web"] = meshPod("")
	pl, _ = (&ExecStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Command: []expression.Template{tpl(t, "true")}}).Plan(p)
	if pl.Kubectl != "kubectl exec web -n default -c istio-proxy -- true" || pl.Calls[1].Body.(map[string]any)["container"] != "istio-proxy" ||
		!cmp.Equal(pl.Notes, []string{`kubectl exec says: Defaulted container "istio-proxy" out of: istio-proxy, app`}) {
		t.Errorf("exec, known pod: %q %+v %q", pl.Kubectl, pl.Calls, pl.Notes)
	}

	p.Pods["default/web"] = meshPod("nope")
	pl, _ = (&ExecStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Command: []expression.Template{tpl(t, "true")}}).Plan(p)
	if !strings.HasPrefix(pl.Fails, "container nope is not valid for pod web") {
		t.Errorf("exec, bad annotation: fails %q", pl.Fails)
	}

	p = testPlanner(t)
	pl, _ = (&ExecStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Command: []expression.Template{tpl(t, "true")}}).Plan(p)
	if pl.Kubectl != "kubectl exec web -n default -- true" || len(pl.Calls) != 2 || pl.Calls[0].Verb != "get" || pl.Calls[0].Resource != "pods" ||
		pl.Calls[1].Body.(map[string]any)["container"] != "<default container of web>" {
		t.Errorf("exec, unknown pod: %q %+v", pl.Kubectl, pl.Calls)
	}
	// The target lists the pod: no read.
	pl, _ = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "deploy/web")}}).Plan(p)
	if n := len(pl.Calls); n != 3 || pl.Calls[2].Body.(map[string]any)["container"] != "<default container of <pod of deployment/web>>" {
		t.Errorf("logs of a deployment: %+v", pl.Calls)
	}
	// A named container: no read.
	pl, _ = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, "app")}).Plan(p)
	if len(pl.Calls) != 1 || pl.Kubectl != "kubectl logs web -n default -c app" {
		t.Errorf("logs, named: %q %+v", pl.Kubectl, pl.Calls)
	}
}
