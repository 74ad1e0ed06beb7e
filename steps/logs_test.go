package steps

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func TestLogsRun(t *testing.T) {
	env := newTestEnv(t, []runtime.Object{readyPod("web")})
	out := (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "${{ vars.name }}")}, Container: tpl(t, "app"), TailLines: i64(5)}).Run(testCtx(t), env.Env)
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
	out = (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "${{ vars.none }}")}}).Run(testCtx(t), env.Env)
	if out.Err == nil || out.Err.Error() != `pod "${{ vars.none }}" evaluated to an empty string` {
		t.Errorf("error = %v", out.Err)
	}
}
