package kube

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodStuckError says that a pod or one of its containers cannot make progress, so waiting
// longer is pointless: an image that cannot be pulled, a container that cannot be created,
// a pod that failed or completed when it was expected to run.
type PodStuckError struct {
	// Pod is "namespace/name".
	Pod string
	// Container is the container at fault; "" when the pod as a whole is.
	Container string
	// Reason is the kubelet's reason (ImagePullBackOff, CreateContainerError, ...) or the
	// pod phase (Failed, Succeeded).
	Reason string
	// Message is the kubelet's message, or a description of the exit.
	Message string
}

// Error reads like `pod ns/name: container "c": ImagePullBackOff: Back-off pulling image "x"`.
func (e *PodStuckError) Error() string {
	var b strings.Builder
	b.WriteString("pod ")
	b.WriteString(e.Pod)
	if e.Container != "" {
		fmt.Fprintf(&b, ": container %q", e.Container)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// PodGoneError says that the pod being waited for is being deleted, was deleted (or
// replaced by another pod of the same name), or never existed.
type PodGoneError struct {
	// Pod is "namespace/name".
	Pod string
	// Deleting is true when the pod still exists but has a deletion timestamp: it will not
	// reach the state waited for, and its containers may take their grace period to stop.
	Deleting bool
	// Controller is the pod's controller when it is being deleted, e.g. "ReplicaSet web-5d4f8"
	// (a copy that kept its original's labels is adopted by the original's ReplicaSet, which
	// deletes it as a pod too many); "" when it has none.
	Controller string
}

// Error implements error.
func (e *PodGoneError) Error() string {
	if e.Deleting && e.Controller != "" {
		return "pod " + e.Pod + " is being deleted (its controller: " + e.Controller + ")"
	}
	if e.Deleting {
		return "pod " + e.Pod + " is being deleted"
	}
	return "pod " + e.Pod + " was deleted or does not exist"
}

// ObjectGoneError says that the object being waited for by WaitFor was deleted or never
// existed.
type ObjectGoneError struct {
	// Resource is the resource, e.g. "deployments.apps".
	Resource string
	// Object is "namespace/name", or "name" for cluster-scoped objects.
	Object string
}

// Error implements error.
func (e *ObjectGoneError) Error() string {
	return e.Resource + " " + e.Object + " was deleted or does not exist"
}

// terminalReasons are the waiting reasons of a container that will not go away by waiting.
var terminalReasons = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"ErrImageNeverPull":          true,
}

// IsTerminalReason reports whether a container waiting for this reason cannot start
// without someone changing something (image, config), so a wait must fail at once.
func IsTerminalReason(reason string) bool {
	return terminalReasons[reason]
}

// PodCondition decides from a pod's state whether a wait is over (done) or can never be
// (err, typically a *PodStuckError).
type PodCondition func(*corev1.Pod) (done bool, err error)

// podKey returns "namespace/name".
func podKey(pod *corev1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

// stuckContainer returns a PodStuckError for the first status waiting for a terminal reason.
func stuckContainer(pod *corev1.Pod, statuses []corev1.ContainerStatus) error {
	for _, s := range statuses {
		if w := s.State.Waiting; w != nil && IsTerminalReason(w.Reason) {
			return &PodStuckError{Pod: podKey(pod), Container: s.Name, Reason: w.Reason, Message: w.Message}
		}
	}
	return nil
}

// stuckPod checks the pod's init and app containers for terminal waiting reasons, and the
// pod for the scheduler's verdict that it cannot be placed (PodUnschedulable).
func stuckPod(pod *corev1.Pod) error {
	if err := stuckContainer(pod, pod.Status.InitContainerStatuses); err != nil {
		return err
	}
	if err := stuckContainer(pod, pod.Status.ContainerStatuses); err != nil {
		return err
	}
	return PodUnschedulable(pod)
}

// podFailed describes a Failed pod: the first container that exited non-zero, else the
// pod's own reason (e.g. Evicted).
func podFailed(pod *corev1.Pod) error {
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, s := range all {
		t := s.State.Terminated
		if t == nil {
			t = s.LastTerminationState.Terminated
		}
		if t != nil && t.ExitCode != 0 {
			return &PodStuckError{Pod: podKey(pod), Container: s.Name, Reason: string(corev1.PodFailed), Message: exitMessage(t)}
		}
	}
	msg := pod.Status.Message
	if pod.Status.Reason != "" {
		msg = strings.TrimSuffix(pod.Status.Reason+": "+msg, ": ")
	}
	if msg == "" {
		msg = "pod failed"
	}
	return &PodStuckError{Pod: podKey(pod), Reason: string(corev1.PodFailed), Message: msg}
}

// PodEnded returns an error when the pod has ended (phase Failed or Succeeded), after which
// the kubelet never changes its status again: for a Failed pod, the container that failed
// with its exit code and reason (OOMKilled, Error), as podFailed says; for a Succeeded one,
// that it completed. It returns nil for a pod that has not ended.
func PodEnded(pod *corev1.Pod) error {
	switch pod.Status.Phase {
	case corev1.PodFailed:
		return podFailed(pod)
	case corev1.PodSucceeded:
		return &PodStuckError{Pod: podKey(pod), Reason: string(corev1.PodSucceeded), Message: "pod completed; its status no longer changes"}
	}
	return nil
}

// exitMessage reads like "exit code 1 (Error): message".
func exitMessage(t *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Reason != "" {
		msg += " (" + t.Reason + ")"
	}
	if m := strings.TrimSpace(t.Message); m != "" {
		msg += ": " + m
	}
	return msg
}

// PodReady is done when the pod's Ready condition is true. It fails on a container stuck
// for a terminal reason, on phase Failed, and on phase Succeeded (a completed pod never
// becomes ready).
func PodReady() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodFailed:
			return false, podFailed(pod)
		case corev1.PodSucceeded:
			return false, &PodStuckError{Pod: podKey(pod), Reason: string(corev1.PodSucceeded), Message: "pod completed before it became ready"}
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, stuckPod(pod)
	}
}

// PodRunning is done when the pod has started: phase Running, or already Succeeded (a short
// command may finish before the watch sees it run). It fails on a container stuck for a
// terminal reason and on phase Failed.
func PodRunning() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodRunning, corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, podFailed(pod)
		}
		return false, stuckPod(pod)
	}
}

// PodSucceeded is done when the pod's phase is Succeeded. Phase Failed is an error carrying
// the exit code and reason of the container that failed; a container stuck for a terminal
// reason is an error too.
func PodSucceeded() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, podFailed(pod)
		}
		return false, stuckPod(pod)
	}
}

// ContainerStarted is done when the pod's container name has started: it is running or
// already terminated, which the kubelet may report while the phase still says Pending (v1.33
// does, for a command that ended before its first status), or the pod is Running or
// Succeeded, as PodRunning. It fails as PodRunning does. It is to a pod's own container what
// EphemeralContainerRunning is to an ephemeral one.
func ContainerStarted(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		for _, s := range pod.Status.ContainerStatuses {
			if s.Name == name && (s.State.Running != nil || s.State.Terminated != nil) {
				return true, nil
			}
		}
		return PodRunning()(pod)
	}
}

// ContainerSucceeded is done when the pod's container name has terminated with exit code 0:
// the command's end, as the kubelet reports it at its first relist after the exit, about a
// second before it marks the pod Succeeded (it does so only once it has stopped the pod). A
// non-zero exit is the error phase Failed will give (the exit code and reason); so are phase
// Failed and a container stuck for a terminal reason. Phase Succeeded is done too.
func ContainerSucceeded(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		for _, s := range pod.Status.ContainerStatuses {
			if t := s.State.Terminated; s.Name == name && t != nil {
				if t.ExitCode != 0 {
					return false, &PodStuckError{Pod: podKey(pod), Container: s.Name, Reason: string(corev1.PodFailed), Message: exitMessage(t)}
				}
				return true, nil
			}
		}
		return PodSucceeded()(pod)
	}
}

// PodCompleted is done when the pod's phase is Succeeded or Failed; the caller reads the
// exit codes from the returned pod. It fails only on a container stuck for a terminal reason.
func PodCompleted() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			return true, nil
		}
		return false, stuckPod(pod)
	}
}

// EphemeralStatus returns the status of the named ephemeral container, or nil.
func EphemeralStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.EphemeralContainerStatuses {
		if pod.Status.EphemeralContainerStatuses[i].Name == name {
			return &pod.Status.EphemeralContainerStatuses[i]
		}
	}
	return nil
}

// ContainerStatus returns the status of the named container of pod, init, app or
// ephemeral (names are unique across the three), or of its only container when name is
// ""; nil when there is none.
func ContainerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	all := slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses)
	if name == "" {
		if len(all) == 1 {
			return &all[0]
		}
		return nil
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i]
		}
	}
	return nil
}

// ephemeralWait is the shared part of the ephemeral container conditions: a terminal
// waiting reason, or a pod that stopped before the container started, is an error.
func ephemeralWait(pod *corev1.Pod, name string, s *corev1.ContainerStatus) error {
	if s != nil {
		if w := s.State.Waiting; w != nil && IsTerminalReason(w.Reason) {
			return &PodStuckError{Pod: podKey(pod), Container: name, Reason: w.Reason, Message: w.Message}
		}
	}
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return &PodStuckError{Pod: podKey(pod), Container: name, Reason: string(pod.Status.Phase),
			Message: "pod stopped before the ephemeral container could run"}
	}
	return nil
}

// EphemeralContainerRunning is done when the named ephemeral container has started: it is
// running, or already terminated (a short command may finish before the watch sees it run).
// It fails on a terminal waiting reason and when the pod stops first.
func EphemeralContainerRunning(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		s := EphemeralStatus(pod, name)
		if s != nil && (s.State.Running != nil || s.State.Terminated != nil) {
			return true, nil
		}
		return false, ephemeralWait(pod, name, s)
	}
}

// EphemeralContainerTerminated is done when the named ephemeral container has terminated,
// whatever its exit code (the caller reads it from the returned pod). It fails on a terminal
// waiting reason and when the pod stops first.
func EphemeralContainerTerminated(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		s := EphemeralStatus(pod, name)
		if s != nil && s.State.Terminated != nil {
			return true, nil
		}
		return false, ephemeralWait(pod, name, s)
	}
}

// DescribePod summarises a pod's state in one line, for timeout messages: "phase Pending;
// container app waiting: ContainerCreating", or "phase Pending; not scheduled: Unschedulable:
// 0/1 nodes are available: ...".
func DescribePod(pod *corev1.Pod) string {
	if pod == nil {
		return "not seen"
	}
	phase := "phase " + string(pod.Status.Phase)
	if pod.Status.Phase == "" {
		phase = "phase unknown"
	}
	parts := []string{phase}
	if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && pod.Spec.NodeName == "" {
		parts = append(parts, "not scheduled: "+strings.TrimSuffix(c.Reason+": "+c.Message, ": "))
	}
	return strings.Join(append(parts, describeContainers(pod)...), "; ")
}

// describeContainers describes each container of the pod that has a status, init
// containers first: "container app waiting: ContainerCreating".
func describeContainers(pod *corev1.Pod) []string {
	var parts []string
	describe := func(kind string, statuses []corev1.ContainerStatus) {
		for _, s := range statuses {
			switch {
			case s.State.Waiting != nil:
				parts = append(parts, fmt.Sprintf("%s %s waiting: %s", kind, s.Name, strings.TrimSuffix(s.State.Waiting.Reason+": "+s.State.Waiting.Message, ": ")))
			case s.State.Terminated != nil:
				parts = append(parts, fmt.Sprintf("%s %s terminated: %s", kind, s.Name, exitMessage(s.State.Terminated)))
			case s.State.Running != nil:
				parts = append(parts, fmt.Sprintf("%s %s running", kind, s.Name))
			}
		}
	}
	describe("init container", pod.Status.InitContainerStatuses)
	describe("container", pod.Status.ContainerStatuses)
	describe("ephemeral container", pod.Status.EphemeralContainerStatuses)
	return parts
}

// unlessDeleting wraps cond for a wait: a pod with a deletion timestamp that does not meet
// cond yet never will, so the wait ends with a *PodGoneError (Deleting).
func unlessDeleting(cond PodCondition) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		done, err := cond(pod)
		if !done && err == nil && pod.DeletionTimestamp != nil {
			gone := &PodGoneError{Pod: podKey(pod), Deleting: true}
			if ref := metav1.GetControllerOf(pod); ref != nil {
				gone.Controller = ref.Kind + " " + ref.Name
			}
			return false, gone
		}
		return done, err
	}
}
