package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// TargetNotRunningError says that the container an ephemeral container would target
// (kubectl debug --target) is not running. The kubelet creates a targeting container only
// while its target runs: otherwise it reports CreateContainerError ("invalid target
// container ... CONTAINER_EXITED"), tries again at every sync of the pod with a Warning
// event each time, and the ephemeral container can never be removed. The debug step refuses
// such a target before it patches anything; kubectl adds the container without a check.
type TargetNotRunningError struct {
	// Pod is "namespace/name".
	Pod string
	// Container is the target's name.
	Container string
	// Sidecar is true when the target is a restartable init container.
	Sidecar bool
	// State is what the target is doing, as its status says: "waiting: CrashLoopBackOff:
	// back-off 40s restarting failed container=app ... (last run: exit code 1 (Error), 3
	// restarts)", "terminated: exit code 1 (Error)", or "not started: ...".
	State string
}

// Error reads like `target container "app" of pod ns/web is not running: waiting:
// CrashLoopBackOff: ...; an ephemeral container targeting it would never start and could
// never be removed, so none was added (a debug step without target works, without its
// process namespace; or a copy with shareProcesses: true and container: app, command:
// [sleep, infinity] to keep it up)`.
func (e *TargetNotRunningError) Error() string {
	what := "target container"
	if e.Sidecar {
		what = "target sidecar container"
	}
	return fmt.Sprintf("%s %q of pod %s is not running: %s; an ephemeral container targeting it would never start and could never be removed, so none was added "+
		"(a debug step without target works, without its process namespace; or a copy with shareProcesses: true and container: %s, command: [sleep, infinity] to keep it up)",
		what, e.Container, e.Pod, e.State, e.Container)
}

// CheckEphemeralTargetContainer returns a *TargetNotRunningError when target, the container
// an ephemeral container would join (kubectl debug --target), is not running now: its status
// in status.containerStatuses (or, for a restartable init container, a sidecar, in
// status.initContainerStatuses) has no state.running. It returns nil for an empty target, a
// running one, and a name that is neither a container nor a sidecar of pod, which
// EphemeralContainer reports. Call it after CheckEphemeralTarget, on a running pod.
func CheckEphemeralTargetContainer(pod *corev1.Pod, target string) error {
	if target == "" {
		return nil
	}
	var statuses []corev1.ContainerStatus
	sidecar := false
	switch {
	case slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == target }):
		statuses = pod.Status.ContainerStatuses
	case slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == target && isSidecar(c) }):
		statuses, sidecar = pod.Status.InitContainerStatuses, true
	default:
		return nil
	}
	e := &TargetNotRunningError{Pod: podKey(pod), Container: target, Sidecar: sidecar,
		State: "not started: the kubelet reports no status for it yet"}
	i := slices.IndexFunc(statuses, func(s corev1.ContainerStatus) bool { return s.Name == target })
	if i < 0 {
		return e
	}
	s := statuses[i]
	switch {
	case s.State.Running != nil:
		return nil
	case s.State.Waiting != nil:
		e.State = "waiting: " + strings.TrimSuffix(s.State.Waiting.Reason+": "+strings.TrimSpace(s.State.Waiting.Message), ": ")
		var last []string
		if t := s.LastTerminationState.Terminated; t != nil {
			last = append(last, "last run: "+exitMessage(t))
		}
		if s.RestartCount == 1 {
			last = append(last, "1 restart")
		} else if s.RestartCount > 1 {
			last = append(last, fmt.Sprintf("%d restarts", s.RestartCount))
		}
		if len(last) > 0 {
			e.State += " (" + strings.Join(last, ", ") + ")"
		}
	case s.State.Terminated != nil:
		e.State = "terminated: " + exitMessage(s.State.Terminated)
	default:
		e.State = "not started: its status has no state yet"
	}
	return e
}

// isSidecar reports whether the init container c is a sidecar: restartPolicy Always, so it
// keeps running beside the pod's containers.
func isSidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}
