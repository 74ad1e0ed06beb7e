package steps

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// EphemeralStep attaches an ephemeral debug container to a running pod,
// as `kubectl debug POD --image=IMAGE --target=CONTAINER` does, through the
// pods/ephemeralcontainers subresource. The pod is not restarted; the
// container stays in the pod's spec until the pod is deleted. A pod that is
// not running (not scheduled, Pending, completed, being deleted) is refused
// before anything is sent: the container would never start.
type EphemeralStep struct {
	// PodTarget is the pod to debug.
	PodTarget `yaml:",inline" json:",inline"`
	// Target is the container whose process namespace the debugger joins
	// (kubectl --target), so `ps` shows its processes.
	Target expression.Template `yaml:"target,omitempty" json:"target,omitempty"`
	// WaitFor is Terminated (default: wait for the command to end and read
	// its output) or Running (leave it running for later exec steps).
	WaitFor string `yaml:"waitFor,omitempty" json:"waitFor,omitempty" enum:"Terminated,Running"`
	// DebugContainer describes the container added.
	DebugContainer `yaml:",inline" json:",inline"`
}

var debugKind = Kind{
	Name:    "debug",
	Summary: "attach an ephemeral debug container to a running pod (kubectl debug POD --target)",
	New:     func() Action { return &EphemeralStep{} },
	Results: []Result{resultStdout, resultPod, resultContainer, resultExitCode},
}

// Check implements Action.
func (s *EphemeralStep) Check(c *runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	errs = append(errs, s.checkTarget()...)
	errs = append(errs, checkName("target", s.Target, containerName)...)
	switch s.WaitFor {
	case "", "Terminated", "Running":
	default:
		errs = append(errs, fieldErr("waitFor", "waitFor must be Terminated or Running, not %q", s.WaitFor))
	}
	return append(errs, s.check(c, kube.ModeEphemeral, true)...)
}

// PrivilegeReasons implements Privileged.
func (s *EphemeralStep) PrivilegeReasons() []string { return s.privilegeReasons(kube.ModeEphemeral) }

func (s *EphemeralStep) options(r renderFunc) (kube.EphemeralOptions, []string, error) {
	var o kube.EphemeralOptions
	var err error
	if o.Target, err = r(s.Target); err != nil {
		return o, nil, err
	}
	c, secrets, err := s.build(r)
	o.DebugContainer = c
	return o, secrets, err
}

func (s *EphemeralStep) kubectl(o kube.EphemeralOptions, ns, pod string) string {
	cmd := fmt.Sprintf("kubectl debug %s -n %s", shellQuote(pod), shellQuote(ns))
	for _, a := range kubectlArgs(o.DebugContainer) {
		cmd += " " + shellQuote(a)
	}
	if o.Target != "" {
		cmd += " --target=" + shellQuote(o.Target)
	}
	return kubectlDiffers(cmd+kubectlCustom(o.DebugContainer)+kubectlCommand(o.Command, o.Args), o.DebugContainer)
}

// Plan implements Action.
func (s *EphemeralStep) Plan(p *Planner) (*Planned, error) {
	pt := s.spec(kube.ChooseAttach).plan(p, p.Namespace, true)
	ns, pod := pt.ns, pt.name
	o, _, err := s.options(plannerRender(p))
	if err != nil {
		return nil, err
	}
	pl := pt.planned()
	if pt.pod != nil && containerNameTaken(pt.pod, o.Name) {
		// As the run does, when a rerun meets its own earlier debugger.
		o.Name = o.Name + "-" + kube.ShortSuffix(p.nameSeed())
	}
	pl.Kubectl = s.kubectl(o, ns, pt.kubectlName(false))
	if pt.pod == nil && o.Target != "" {
		pl.Notes = append(pl.Notes, fmt.Sprintf("checked at run time, on the pod read then: container %q exists (the target)", o.Target))
	}
	if !pt.listed {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: ns, Name: pod, Note: "read the pod to check the target container (from the run's pod watch when it has it)"})
	}
	ec, err := kube.EphemeralContainer(pt.pod, o)
	if err != nil {
		return pl, err
	}
	patch, err := kube.EphemeralPatch(ec)
	if err != nil {
		return pl, err
	}
	pl.Calls = append(pl.Calls,
		Call{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers", Namespace: ns, Name: pod,
			PatchType: string(types.StrategicMergePatchType), Body: bodyOf(patch),
			Privileged: kube.ContainerPrivilegedReasons(ec.Name, ec.SecurityContext)},
		podWatchCall(p, ns, pod, "until container "+ec.Name+" is "+cmp.Or(s.WaitFor, "Terminated")),
	)
	if s.WaitFor != "Running" {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Subresource: "log", Namespace: ns, Name: pod, Note: "output of container " + ec.Name})
	}
	pl.Leftovers = append(pl.Leftovers, ephemeralLeftover(ec.Name, ns, pod))
	if s.Profile.HasExpressions() {
		pl.Notes = append(pl.Notes, "the profile is chosen at run time by "+s.Profile.Raw+"; the objects above use the general profile")
	}
	return pl, nil
}

// Run implements Action.
func (s *EphemeralStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := s.spec(kube.ChooseAttach).resolve(ctx, e, out, e.Namespace)
	if err != nil {
		return out.fail(err)
	}
	ns, podName := t.ns, t.name
	o, secrets, err := s.options(e.Render)
	out.Secrets = secrets
	if err != nil {
		return out.fail(err)
	}
	if err := s.checkRuntimePrivilege(e, o.Profile, kube.ModeEphemeral); err != nil {
		return out.fail(err)
	}
	pod, err := t.podOf(ctx, e, out)
	if err != nil {
		return out.fail(err)
	}
	// The API server would accept the patch on a pod that is not running, or
	// with a target container that is not running (kubectl adds it unchecked),
	// but the container would never start, and never go away.
	if err := cmp.Or(kube.CheckEphemeralTarget(pod), kube.CheckEphemeralTargetContainer(pod, o.Target)); err != nil {
		out.Pod = ObjectMap(pod)
		return out.fail(err)
	}
	// An ephemeral container cannot be removed: when a rerun meets its own
	// earlier debugger, give the new one a fresh name instead of failing.
	if containerNameTaken(pod, o.Name) {
		o.Name = o.Name + "-" + kube.ShortSuffix(e.nameSeed())
	}
	ec, err := kube.EphemeralContainer(pod, o)
	if err != nil {
		return out.fail(err)
	}
	if w := kube.NonRootWarning((*corev1.Container)(&ec.EphemeralContainerCommon), pod); w != "" {
		e.logf("%s", w)
		out.Warnings = append(out.Warnings, w)
	}
	var live kube.OutputFunc
	if s.WaitFor != "Running" {
		// The debugger sees the pod's processes (and their environment):
		// the run learns the pod's Secrets before any line is shown.
		// The pod as the patch makes it: the debugger's own env (custom) may name Secrets too.
		withDebugger := pod.DeepCopy()
		withDebugger.Spec.EphemeralContainers = append(withDebugger.Spec.EphemeralContainers, *ec)
		live = e.live(ctx, secrets, EnteredPod{Namespace: ns, Name: podName, Pod: withDebugger})
	}
	out.Kubectl = s.kubectl(o, ns, podName)
	patch, err := kube.EphemeralPatch(ec)
	if err != nil {
		return out.fail(err)
	}
	patched, err := e.Clients.Kube.CoreV1().Pods(ns).Patch(ctx, podName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		return out.fail(fmt.Errorf("adding ephemeral container %q to pod %s/%s: %w", ec.Name, ns, podName, err))
	}
	out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: ns, Name: podName, Action: report.ActionPatched})
	out.Leftovers = append(out.Leftovers, ephemeralLeftover(ec.Name, ns, podName))

	cond := kube.EphemeralContainerTerminated(ec.Name)
	if s.WaitFor == "Running" {
		cond = kube.EphemeralContainerRunning(ec.Name)
	}
	e.logf("waiting for ephemeral container %s in pod %s/%s", ec.Name, ns, podName)
	followed := false
	if s.WaitFor != "Running" {
		// Its output as it comes, from when it has started.
		started, err := e.Pods(ns).WaitFrom(ctx, patched, kube.EphemeralContainerRunning(ec.Name))
		if err != nil {
			if started != nil {
				out.Pod, out.Container = ObjectMap(started), ephemeralStatus(started, ec.Name)
			}
			outputSoFar(ctx, e, out, ns, podName, ec.Name, started, kube.EphemeralContainerRunning(ec.Name))
			return out.fail(err)
		}
		ended, done, err := endedSoon(ctx, e, ns, started, cond)
		if err != nil {
			if ended != nil {
				out.Pod, out.Container = ObjectMap(ended), ephemeralStatus(ended, ec.Name)
			}
			outputSoFar(ctx, e, out, ns, podName, ec.Name, cmp.Or(ended, started), kube.EphemeralContainerRunning(ec.Name))
			return out.fail(err)
		}
		patched = ended
		if !done {
			followed = follow(ctx, e, out, ns, podName, ec.Name, live)
		}
	}
	pod, err = e.Pods(ns).WaitFrom(ctx, patched, cond)
	if pod != nil {
		out.Pod = ObjectMap(pod)
		out.Container = ephemeralStatus(pod, ec.Name)
	}
	if err != nil {
		if s.WaitFor != "Running" && !followed {
			outputSoFar(ctx, e, out, ns, podName, ec.Name, pod, kube.EphemeralContainerRunning(ec.Name))
		}
		return out.fail(err)
	}
	if s.WaitFor == "Running" {
		return out
	}
	if st := kube.EphemeralStatus(pod, ec.Name); st != nil && st.State.Terminated != nil {
		out.ExitCode = intPtr(int(st.State.Terminated.ExitCode))
	}
	if !followed {
		logs(ctx, e, out, ns, podName, ec.Name)
	}
	return out
}

// followAfter is how long a step waits, once its container has started,
// for the container's end before it follows its output. The kubelet
// reports a container running at its first relist after the start and
// ended at the next one, about a second later; a followed log of a
// container that was running when the stream opened is closed only at the
// kubelet's next forced check, a second after it opened. A short command
// (ps, cat) is read once when it has ended, whole, and its step ends with
// the status; a longer one is followed from then on, from its first line.
const followAfter = 1500 * time.Millisecond

// endedSoon waits up to followAfter, from started, for cond (the
// container's end). It returns the last pod seen and whether cond holds;
// an error only when cond failed or ctx ended, not when followAfter did.
func endedSoon(ctx context.Context, e *Env, ns string, started *corev1.Pod, cond kube.PodCondition) (*corev1.Pod, bool, error) {
	wctx, cancel := context.WithTimeout(ctx, followAfter)
	defer cancel()
	pod, err := e.Pods(ns).WaitFrom(wctx, started, cond)
	switch {
	case err == nil:
		return pod, true, nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return cmp.Or(pod, started), false, nil
	}
	return pod, false, err
}

// follow reads a started container's output into the outcome as it is
// written, handing each line to live (which may be nil) as it comes. It
// reports whether the outcome holds the output: all of it, or, when ctx
// ended while it followed (the step's timeout, the run's, an interrupt),
// what was written until then (cut at e.MaxOutput, and then marked
// truncated), as an exec step keeps it. When not (the stream broke), the
// caller reads the log once the container has ended, or, if ctx ends
// first, what it wrote so far (outputSoFar).
func follow(ctx context.Context, e *Env, out *Outcome, ns, pod, container string, live kube.OutputFunc) bool {
	text, truncated, err := kube.FollowLogs(ctx, e.Clients, ns, pod, container, e.MaxOutput, live)
	if err != nil && ctx.Err() == nil {
		return false
	}
	out.Stdout, out.StdoutTruncated = text, truncated
	return true
}

// outputSoFarTimeout bounds the log read of outputSoFar.
const outputSoFarTimeout = 5 * time.Second

// outputSoFar keeps what a container has written so far when ctx ended (the
// step's timeout, the run's, an interrupt) before the step read its output:
// a short command read only once it has ended, or a stream that broke. It
// reads the log once, not followed, on a context that keeps ctx's values
// but not its end, bounded by outputSoFarTimeout. It reads nothing when ctx
// has not ended, or when the container had not started (started, on the
// run's pod watch's latest copy of the pod, else on last, the last pod the
// step saw): it has no log. A read that fails is a warning; the step's
// error stays ctx's.
func outputSoFar(ctx context.Context, e *Env, out *Outcome, ns, pod, container string, last *corev1.Pod, started kube.PodCondition) {
	if ctx.Err() == nil {
		return
	}
	if e.Pods != nil {
		if p, ok := e.Pods(ns).Get(pod); ok {
			last = p
		}
	}
	if last == nil {
		return
	}
	if ok, _ := started(last); !ok {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outputSoFarTimeout)
	defer cancel()
	text, truncated, err := kube.Logs(rctx, e.Clients, ns, pod, container, kube.LogOptions{MaxBytes: e.MaxOutput})
	if err != nil {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the output of container %q in pod %s/%s so far could not be read: %v", container, ns, pod, err))
		return
	}
	out.Stdout, out.StdoutTruncated = text, truncated
}

// getPod reads a pod from the run's pod watch when it has it, else from the API.
func getPod(ctx context.Context, e *Env, out *Outcome, ns, name string) (*corev1.Pod, error) {
	if e.Pods != nil {
		if pod, ok := e.Pods(ns).Get(name); ok {
			return pod, nil
		}
	}
	pod, err := e.Clients.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading pod %s/%s: %w", ns, name, err)
	}
	return pod, nil
}

// logs reads a container's output into the outcome.
func logs(ctx context.Context, e *Env, out *Outcome, ns, pod, container string) {
	text, truncated, err := kube.Logs(ctx, e.Clients, ns, pod, container, kube.LogOptions{MaxBytes: e.MaxOutput})
	if err != nil {
		out.fail(fmt.Errorf("reading the output of container %q in pod %s/%s: %w", container, ns, pod, err))
		return
	}
	out.Stdout, out.StdoutTruncated = text, truncated
}

func containerNameTaken(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return slices.ContainsFunc(pod.Spec.EphemeralContainers, func(c corev1.EphemeralContainer) bool { return c.Name == name })
}

func ephemeralStatus(pod *corev1.Pod, name string) map[string]any {
	if st := kube.EphemeralStatus(pod, name); st != nil {
		return ObjectMap(st)
	}
	return nil
}

func watchCall(ns, note string) Call {
	return Call{Verb: "watch", Resource: "pods", Namespace: ns,
		Note: "one watch of the pods this run creates in the namespace (label " + kube.LabelRunID + "), shared by every wait of the run; " + note}
}

// podWatchCall is the watch that serves the waits on pod ns/name (see kube.PodWatcher): the
// watch of the run's pods for a pod an earlier step creates, else a watch of its name.
func podWatchCall(p *Planner, ns, name, note string) Call {
	if p.Pod(ns, name) != nil {
		return watchCall(ns, note)
	}
	return Call{Verb: "watch", Resource: "pods", Namespace: ns, Name: name,
		Note: fmt.Sprintf("field selector metadata.name=%s, shared by every wait on it (past %d pods that the run did not create, one watch of the namespace); %s",
			name, kube.DefaultNameWatches, note)}
}

// ephemeralLeftover is what a debug step leaves: its ephemeral container
// stays in the pod until the pod is deleted.
func ephemeralLeftover(container, namespace, pod string) kube.Leftover {
	return kube.Leftover{What: fmt.Sprintf("ephemeral container %q", container), In: kube.PodRef(namespace, pod)}
}
