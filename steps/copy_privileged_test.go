package steps

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestCopyOfAPrivilegedPodNeedsAllowPrivileged: privilege is decided on the pod as sent, so
// a copy of a pod that is itself privileged (hostNetwork, as a DaemonSet's agent) is refused
// without allowPrivileged, before anything is created, and made with it.
func TestCopyOfAPrivilegedPodNeedsAllowPrivileged(t *testing.T) {
	for _, allow := range []bool{false, true} {
		src := readyPod("agent")
		src.Spec.HostNetwork = true
		src.Annotations = map[string]string{"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
		env := newTestEnv(t, []runtime.Object{src})
		env.AllowPrivileged = allow
		out := (&CopyStep{PodTarget: PodTarget{Pod: tpl(t, "agent")}, To: tpl(t, "agent-copy"), WaitFor: "None",
			KeepAnnotations: true, DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}).Run(testCtx(t), env.Env)
		created := 0
		for _, a := range env.kube.Actions() {
			if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
				created++
			}
		}
		if !allow {
			if out.Err == nil || !strings.Contains(out.Err.Error(), "would be privileged (hostNetwork, container app: AppArmor annotation unconfined)") || created != 0 {
				t.Errorf("without allowPrivileged: error %v, %d pods created; want a refusal naming hostNetwork and the annotation, and none", out.Err, created)
			}
			continue
		}
		if out.Err != nil || created != 1 {
			t.Errorf("with allowPrivileged: error %v, %d pods created; want the copy", out.Err, created)
		}
	}
}
