package kube

import (
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// UnschedulableGrace is how long after a wait begins the scheduler may still take back an
// Unschedulable verdict before the wait fails with the scheduler's message.
//
// The scheduler marks a pod Unschedulable as soon as one attempt fails, and tries again
// when the cluster changes in a way that may help (a node added, uncordoned or freed, a
// volume bound), after a back-off that starts at 1 s and doubles: a change already under
// way when the wait begins (an uncordon, a pod being deleted) gets the pod placed within a
// couple of retries, well inside the grace. A pod still unschedulable after it waits for a
// change that nobody has started; the runbook runs against a deadline and the scheduler's
// message is what its reader needs. (A cluster autoscaler adds nodes for such pods in
// minutes: a runbook does not wait for that.)
const UnschedulableGrace = 5 * time.Second

// unschedulableGrace is UnschedulableGrace; tests of WaitForPod shorten it.
var unschedulableGrace = UnschedulableGrace

// podCondition returns the pod's condition of type t, or nil.
func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// unschedulableCondition returns the pod's PodScheduled condition when it says the
// scheduler cannot place the pod (status False, reason Unschedulable), else nil.
func unschedulableCondition(pod *corev1.Pod) *corev1.PodCondition {
	if pod.Spec.NodeName != "" {
		return nil // bound to a node: the scheduler is done with it
	}
	c := podCondition(pod, corev1.PodScheduled)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != corev1.PodReasonUnschedulable {
		return nil
	}
	return c
}

// volumesUnderway are the scheduler's words for volumes that the cluster is still making
// (a claim being bound or created): the scheduler tries again when the claim changes.
var volumesUnderway = []string{
	"unbound immediate PersistentVolumeClaims",
	"waiting for ephemeral volume controller to create the persistentvolumeclaim",
}

// makingRoom reports whether the cluster is visibly working on placing an unschedulable
// pod: preempting lower-priority pods for it (status.nominatedNodeName), or binding or
// creating its volume claims.
func makingRoom(pod *corev1.Pod, c *corev1.PodCondition) bool {
	if pod.Status.NominatedNodeName != "" {
		return true
	}
	for _, s := range volumesUnderway {
		if strings.Contains(c.Message, s) {
			return true
		}
	}
	// `persistentvolumeclaim "data" not found`: a claim created with (or after) the pod.
	return strings.Contains(c.Message, `persistentvolumeclaim "`) && strings.Contains(c.Message, `" not found`)
}

// schedulerMessage is the scheduler's message of an Unschedulable condition.
func schedulerMessage(c *corev1.PodCondition) string {
	if m := strings.TrimSpace(c.Message); m != "" {
		return m
	}
	return "the scheduler cannot place the pod"
}

// PodUnschedulable returns a *PodStuckError with reason Unschedulable and the scheduler's
// message (e.g. "0/1 nodes are available: 1 Insufficient cpu.") when the scheduler says it
// cannot place the pod, and nil otherwise. A pod for which the cluster is making room is
// not unschedulable: the scheduler has nominated a node and is preempting pods there, or a
// volume claim of the pod is being bound or created.
//
// The waits of a run fail with this error only when the pod is still unschedulable
// UnschedulableGrace after they began (see IsUnschedulable).
func PodUnschedulable(pod *corev1.Pod) error {
	c := unschedulableCondition(pod)
	if c == nil || makingRoom(pod, c) {
		return nil
	}
	return &PodStuckError{Pod: podKey(pod), Reason: c.Reason, Message: schedulerMessage(c)}
}

// IsUnschedulable reports whether err is PodUnschedulable's: a verdict of the scheduler,
// which it may take back when the cluster changes.
func IsUnschedulable(err error) bool {
	var stuck *PodStuckError
	return errors.As(err, &stuck) && stuck.Container == "" && stuck.Reason == corev1.PodReasonUnschedulable
}

// graceHold is how a wait treats the scheduler's verdicts: an Unschedulable error is held
// back until the grace after the wait began is over, and dropped when a later state of the
// pod no longer says it; any other error ends the wait at once.
type graceHold struct {
	until time.Time
	held  error
}

// newGraceHold starts the grace of a wait that begins now; grace <= 0 is
// UnschedulableGrace.
func newGraceHold(grace time.Duration) *graceHold {
	if grace <= 0 {
		grace = unschedulableGrace
	}
	return &graceHold{until: time.Now().Add(grace)}
}

// see takes the error (nil included) of a condition evaluated on the latest state. It
// returns how long the wait is to hold it back: 0 means fail with it now (or, for nil, go
// on).
func (g *graceHold) see(err error) time.Duration {
	g.held = nil
	if err == nil || !IsUnschedulable(err) {
		return 0
	}
	left := time.Until(g.until)
	if left > 0 {
		g.held = err
	}
	return max(left, 0)
}

// PodNotRunningError says that a pod cannot take an ephemeral container: it is not running,
// so the container would never start, and an ephemeral container can never be removed from
// a pod. The debug step refuses such a pod before it patches anything.
type PodNotRunningError struct {
	// Pod is "namespace/name".
	Pod string
	// State is Unschedulable, Pending, Succeeded, Failed, Unknown or Deleting.
	State string
	// Message is the scheduler's message for Unschedulable, else what the pod's containers
	// are doing.
	Message string
}

// Error reads like "pod ns/web is not running: Unschedulable: 0/1 nodes are available: 1
// Insufficient cpu.; an ephemeral container would never start there and could never be
// removed, so none was added".
func (e *PodNotRunningError) Error() string {
	state := e.State
	if e.Message != "" {
		state += ": " + e.Message
	}
	return fmt.Sprintf("pod %s is not running: %s; an ephemeral container would never start there and could never be removed, so none was added", e.Pod, state)
}

// CheckEphemeralTarget returns a *PodNotRunningError when pod cannot run an ephemeral
// container now: it is being deleted, has completed (Succeeded or Failed), cannot be
// scheduled (with the scheduler's message), or is not running yet (Pending: not scheduled,
// or its containers are being created or its init containers run). It returns nil for a
// running pod.
func CheckEphemeralTarget(pod *corev1.Pod) error {
	e := &PodNotRunningError{Pod: podKey(pod), State: string(pod.Status.Phase)}
	switch {
	case pod.DeletionTimestamp != nil:
		e.State, e.Message = "Deleting", "the pod has a deletion timestamp"
	case pod.Status.Phase == corev1.PodRunning:
		return nil
	case unschedulableCondition(pod) != nil:
		e.State, e.Message = corev1.PodReasonUnschedulable, schedulerMessage(unschedulableCondition(pod))
	case pod.Spec.NodeName == "":
		e.State, e.Message = string(corev1.PodPending), "not scheduled on a node yet"
	default:
		if e.State == "" {
			e.State = string(corev1.PodUnknown)
		}
		e.Message = strings.Join(describeContainers(pod), "; ")
		switch {
		case e.Message != "":
		case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
			e.Message = "the pod has completed"
		default:
			e.Message = "scheduled on node " + pod.Spec.NodeName + ", no container started yet"
		}
	}
	return e
}

// NodeNotReadyError says that a node's Ready condition is False or Unknown: its kubelet
// would not start a pod there.
type NodeNotReadyError struct {
	// Node is the node's name.
	Node string
	// Status is the Ready condition's status: False or Unknown (also when the node has no
	// Ready condition yet).
	Status corev1.ConditionStatus
	// Reason and Message are the condition's (e.g. KubeletNotReady, NodeStatusUnknown).
	Reason, Message string
}

// Error reads like "node vm is not ready (Ready=Unknown): NodeStatusUnknown: Kubelet stopped
// posting node status.; its kubelet would not start a pod".
func (e *NodeNotReadyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node %s is not ready (Ready=%s)", e.Node, e.Status)
	if words := strings.TrimSuffix(e.Reason+": "+e.Message, ": "); words != "" {
		b.WriteString(": " + strings.TrimPrefix(words, ": "))
	}
	b.WriteString("; its kubelet would not start a pod")
	return b.String()
}

// CheckNodeReady returns a *NodeNotReadyError, with the node's own words, when the node's
// Ready condition is not True.
func CheckNodeReady(node *corev1.Node) error {
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return nil
		}
		return &NodeNotReadyError{Node: node.Name, Status: c.Status, Reason: c.Reason, Message: strings.TrimSpace(c.Message)}
	}
	return &NodeNotReadyError{Node: node.Name, Status: corev1.ConditionUnknown, Message: "the node has no Ready condition: its kubelet has not reported"}
}

// CordonedWarning returns a warning for a node debug pod on a cordoned node
// (spec.unschedulable), "" when the node is not cordoned. Such a pod runs anyway, as
// `kubectl debug node/NAME` does on a cordoned node: it is not scheduled (it names its
// node) and it tolerates every taint.
func CordonedWarning(node *corev1.Node) string {
	if !node.Spec.Unschedulable {
		return ""
	}
	return "node " + node.Name + " is cordoned (spec.unschedulable): the node debug pod runs there anyway, as kubectl debug node's does, since it names its node and tolerates every taint; the scheduler places no other new pod there"
}
