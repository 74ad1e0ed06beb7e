package steps

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/runbook"
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

// timestamps and limitBytes reach the server and the kubectl line, as kubectl logs
// --timestamps --limit-bytes send them; since is rounded as kubectl rounds it.
func TestLogsTimestampsLimitBytes(t *testing.T) {
	env := newTestEnv(t, []runtime.Object{readyPod("web")})
	since := runbook.Duration{Duration: 90*time.Second + 400*time.Millisecond}
	s := &LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, "app"), Timestamps: true, LimitBytes: 4, Since: &since}
	out := s.Run(testCtx(t), env.Env)
	if out.Err != nil || out.Stdout != "fake" || out.StdoutTruncated || out.Kubectl != "kubectl logs web -n default -c app --since=1m30.4s --timestamps --limit-bytes=4" {
		t.Errorf("outcome: %v, %q (truncated %v), %q", out.Err, out.Stdout, out.StdoutTruncated, out.Kubectl)
	}
	var sent *corev1.PodLogOptions
	for _, a := range env.kube.Actions() {
		if ga, ok := a.(k8stesting.GenericAction); ok && a.GetSubresource() == "log" {
			sent, _ = ga.GetValue().(*corev1.PodLogOptions)
		}
	}
	if sent == nil || !sent.Timestamps || sent.LimitBytes == nil || *sent.LimitBytes != 4 || sent.SinceSeconds == nil || *sent.SinceSeconds != 90 {
		t.Errorf("log options sent = %+v", sent)
	}
	pl, err := s.Plan(testPlanner(t))
	if err != nil || !cmp.Equal(pl.Calls[0].Body, map[string]any{"container": "app", "timestamps": true, "limitBytes": int64(4), "sinceSeconds": int64(90)}) {
		t.Errorf("plan: %v %+v", err, pl.Calls)
	}
	if errs := (&LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, LimitBytes: -1}).Check(nil); len(errs) != 1 || errs[0].Field != "limitBytes" || !strings.Contains(errs[0].Message, "limitBytes must be more than 0") {
		t.Errorf("check: %v", errs)
	}
}
