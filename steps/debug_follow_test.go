package steps

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// TestDebugFollowsOnlyALongCommand: the kubelet reports a short command's
// ephemeral container running, then terminated a relist later; its step
// reads the output once, when it has ended, instead of following a log the
// kubelet would close only a second after it opened. A command still
// running after followAfter is followed. Either way, one log request.
func TestDebugFollowsOnlyALongCommand(t *testing.T) {
	tests := []struct {
		name   string
		runFor time.Duration
		follow bool
	}{
		{"short", 200 * time.Millisecond, false},
		{"long", followAfter + 500*time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, []runtime.Object{readyPod("web")})
			pods := corev1.SchemeGroupVersion.WithResource("pods")
			env.kube.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "ephemeralcontainers" {
					return false, nil, nil
				}
				pod := readyPod("web")
				pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox:1.36"}}}
				set := func(st corev1.ContainerState) {
					p := pod.DeepCopy()
					p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "debugger", State: st}}
					if err := env.kube.Tracker().Update(pods, p, "default"); err != nil {
						t.Errorf("updating the pod: %v", err)
					}
				}
				go func() {
					time.Sleep(50 * time.Millisecond)
					set(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
					time.Sleep(tt.runFor)
					set(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}})
				}()
				return true, pod, nil
			})
			out := (&EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")},
				DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36"), Command: []expression.Template{tpl(t, "ps")}}}).Run(testCtx(t), env.Env)
			if out.Err != nil {
				t.Fatalf("step failed: %v", out.Err)
			}
			var follows []bool
			for _, a := range env.kube.Actions() {
				if a.GetSubresource() == "log" {
					follows = append(follows, a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions).Follow)
				}
			}
			if !slices.Equal(follows, []bool{tt.follow}) {
				t.Errorf("log requests with follow = %v, want one with follow = %v", follows, tt.follow)
			}
			if out.Stdout != "fake logs" || out.ExitCode == nil || *out.ExitCode != 0 {
				t.Errorf("stdout %q, exit code %v: want the fake's logs and 0", out.Stdout, out.ExitCode)
			}
		})
	}
}
