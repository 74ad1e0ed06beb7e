package steps

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// TestDebugWarnsOfANonRootPod: as kubectl debug does, a debugger granted capabilities (the
// general profile's SYS_PTRACE) in a pod that runs as a non-root user warns that they may
// not work; the step still runs.
func TestDebugWarnsOfANonRootPod(t *testing.T) {
	pod := withRunningApp(readyPod("web"))
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](65535)}
	env := newTestEnv(t, []runtime.Object{pod})
	ephemeralReactor(t, env, pod, "app", corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}})
	out := debugStep(t, "app", "").Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	if len(out.Warnings) != 1 || !strings.Contains(out.Warnings[0], "non-root user") {
		t.Errorf("warnings %q, want the non-root warning", out.Warnings)
	}
}
