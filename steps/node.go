package steps

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// NodeStep runs a debug pod on a node with the host's namespaces and its
// root filesystem at /host, as `kubectl debug node/NAME` does. It is always
// privileged, so the runbook must set allowPrivileged. The pod is deleted
// at cleanup. A node that is not Ready fails the step before the pod is
// created; a cordoned node is a warning (the pod runs there anyway).
type NodeStep struct {
	// Name of the node.
	Name expression.Template `yaml:"name,omitempty" json:"name,omitempty"`
	// Pod names a pod whose node is debugged (instead of name): NAME,
	// pod/NAME, or KIND/NAME for a workload one of whose pods is chosen as
	// kubectl exec chooses it (see pod in debug).
	Pod expression.Template `yaml:"pod,omitempty" json:"pod,omitempty"`
	// Selector is a label selector; the first matching node by name is
	// debugged (instead of name).
	Selector expression.Template `yaml:"selector,omitempty" json:"selector,omitempty"`
	// WaitFor is Succeeded (default: wait for the command to end and read
	// its output) or Running (keep the pod for later exec steps).
	WaitFor string `yaml:"waitFor,omitempty" json:"waitFor,omitempty" enum:"Succeeded,Running"`
	// DebugContainer is the node pod's container.
	DebugContainer `yaml:",inline" json:",inline"`
}

var nodeKind = Kind{
	Name:    "node",
	Summary: "run a privileged debug pod on a node with the host's / at /host (kubectl debug node/NAME)",
	New:     func() Action { return &NodeStep{} },
	Results: []Result{resultStdout, resultPod, resultNode, resultContainer, resultExitCode},
}

// Check implements Action.
func (s *NodeStep) Check(c *runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	n := 0
	for _, t := range []expression.Template{s.Name, s.Pod, s.Selector} {
		if !t.IsZero() {
			n++
		}
	}
	if n != 1 {
		errs = append(errs, fieldErr("", "a node step needs exactly one of name, pod or selector"))
	} else if !s.Pod.IsZero() {
		errs = append(errs, s.podSpec().check("pod", "")...)
	}
	errs = append(errs, checkName("name", s.Name, nodeName)...)
	switch s.WaitFor {
	case "", "Succeeded", "Running":
	default:
		errs = append(errs, fieldErr("waitFor", "waitFor must be Succeeded or Running, not %q", s.WaitFor))
	}
	if !s.hostAccess() {
		// baseline or restricted: a plain pod on the node, checked as any
		// debug container is.
		return append(errs, s.check(c, kube.ModeNode, true)...)
	}
	if !c.AllowPrivileged {
		errs = append(errs, fieldErr("", "a node step runs a privileged pod (host namespaces, host / at /host): set spec.allowPrivileged: true (or --allow-privileged) to allow it"))
	}
	return append(errs, s.check(&runbook.CheckContext{AllowPrivileged: true, Dir: c.Dir}, kube.ModeNode, true)...)
}

// hostAccess reports whether the node pod gets the host's namespaces and
// filesystem: with every profile but baseline and restricted, which build
// a plain pod placed on the node (as kubectl's do), and with a profile
// known only at run time.
func (s *NodeStep) hostAccess() bool {
	p := s.Profile
	if p.HasExpressions() {
		return true
	}
	return kube.ProfileNeedsPrivilege(kube.Profile(p.Raw), kube.ModeNode)
}

// PrivilegeReasons implements Privileged.
func (s *NodeStep) PrivilegeReasons() []string {
	reasons := s.privilegeReasons(kube.ModeNode)
	if !s.hostAccess() {
		return reasons
	}
	return append([]string{"node debug pod: host namespaces and host / at /host"}, reasons...)
}

func (s *NodeStep) options(r renderFunc, ns, seed string) (kube.NodeOptions, []string, error) {
	var o kube.NodeOptions
	c, secrets, err := s.build(r)
	if err != nil {
		return o, nil, err
	}
	o.DebugContainer, o.Namespace, o.Suffix = c, ns, kube.ShortSuffix(seed)
	return o, secrets, nil
}

func (s *NodeStep) kubectl(o kube.NodeOptions) string {
	cmd := fmt.Sprintf("kubectl debug node/%s -n %s", shellQuote(o.NodeName), shellQuote(o.Namespace))
	for _, a := range kubectlArgs(o.DebugContainer) {
		cmd += " " + shellQuote(a)
	}
	return kubectlDiffers(cmd+kubectlCustom(o.DebugContainer)+kubectlCommand(o.Command, o.Args), o.DebugContainer)
}

// Plan implements Action.
func (s *NodeStep) Plan(p *Planner) (*Planned, error) {
	o, _, err := s.options(plannerRender(p), p.Namespace, p.nameSeed())
	if err != nil {
		return nil, err
	}
	pl := &Planned{}
	switch {
	case !s.Name.IsZero():
		o.NodeName = p.Render(s.Name)
	case !s.Pod.IsZero():
		pt := s.podSpec().plan(p, p.Namespace, true)
		pl = pt.planned()
		o.NodeName = "<node of pod " + pt.name + ">"
		if pt.pod != nil && pt.pod.Spec.NodeName != "" {
			o.NodeName = pt.pod.Spec.NodeName
		}
		if !pt.listed {
			pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: pt.ns, Name: pt.name, Note: "find the pod's node"})
		}
	default:
		o.NodeName = "<first node matching " + p.Render(s.Selector) + ">"
		pl.Calls = append(pl.Calls, Call{Verb: "list", Resource: "nodes", Note: "nodes matching " + p.Render(s.Selector)})
	}
	pod, err := kube.NodePod(o)
	if err != nil {
		return nil, err
	}
	p.stamp().Apply(&pod.ObjectMeta)
	pl.Target = "node " + o.NodeName
	pl.Kubectl = s.kubectl(o)
	pl.Calls = append(pl.Calls,
		Call{Verb: "get", Resource: "nodes", Name: o.NodeName, Note: "check the node exists; the node object is `node` in assertions"},
		Call{Verb: "create", Resource: "pods", Namespace: p.Namespace, Name: pod.Name, Body: bodyOf(pod), Privileged: kube.PodPrivilegedReasons(&pod.Spec)},
		watchCall(p.Namespace, nodeUntil(s.WaitFor, o.Name)),
	)
	if s.WaitFor != "Running" {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Subresource: "log", Namespace: p.Namespace, Name: pod.Name})
	}
	pl.Cleanup = append(pl.Cleanup, kube.PodRef(p.Namespace, pod.Name))
	return pl, nil
}

// Run implements Action.
func (s *NodeStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	seed := e.nameSeed()
	o, secrets, err := s.options(e.Render, e.Namespace, seed)
	out.Secrets = secrets
	if err != nil {
		return out.fail(err)
	}
	var via *corev1.Pod
	if o.NodeName, via, err = s.resolveNode(ctx, e, out); err != nil {
		return out.fail(err)
	}
	out.Target = "node " + o.NodeName
	out.Kubectl = s.kubectl(o)
	node, err := e.Clients.Kube.CoreV1().Nodes().Get(ctx, o.NodeName, metav1.GetOptions{})
	if err != nil {
		return out.fail(fmt.Errorf("node %q: %w", o.NodeName, err))
	}
	out.Node = ObjectMap(node)
	out.Touched = append(out.Touched, ObjectRef{Kind: "Node", Name: o.NodeName, Action: report.ActionRead})
	// A node whose kubelet is not ready would leave the pod Pending until the
	// timeout; a cordoned one runs it (it names its node, tolerates all).
	if err := kube.CheckNodeReady(node); err != nil {
		return out.fail(err)
	}
	if w := kube.CordonedWarning(node); w != "" {
		out.Warnings = append(out.Warnings, w)
	}
	pod, err := kube.NodePod(o)
	if err != nil {
		return out.fail(err)
	}
	// The command's output may show the Secrets of its own pod's env (custom), and, through
	// /host, the environment of the pod it was sent to: the run learns those Secrets before
	// any line is shown, as for a step that enters a pod (the end of the step reads them too).
	entered := []EnteredPod{{Namespace: pod.Namespace, Name: pod.Name, Pod: pod}}
	if via != nil {
		entered = append(entered, EnteredPod{Namespace: via.Namespace, Name: via.Name, Pod: via})
		out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: via.Namespace, Name: via.Name, Action: report.ActionRead})
	}
	var live kube.OutputFunc
	if s.WaitFor != "Running" {
		live = e.live(ctx, secrets, entered...)
	}
	created, err := createPod(ctx, e, out, pod)
	// Two targets of a fan-out that are the same item (a list that holds a value
	// twice) derive the same name: the later one takes the next name derived from
	// the seed, as DebugContainerName does.
	for i := 1; e.fanOut() && apierrors.IsAlreadyExists(err) && i < maxNodePodNames; i++ {
		o.Suffix = kube.ShortSuffix(seed + "#" + strconv.Itoa(i))
		if pod, err = kube.NodePod(o); err != nil {
			return out.fail(err)
		}
		created, err = createPod(ctx, e, out, pod)
	}
	if err != nil {
		return out.fail(err)
	}
	out.Pod = ObjectMap(created)
	// The command's end is its container's: the kubelet reports it at its
	// next relist, a second before it marks the pod Succeeded (which it does
	// only once it has stopped the pod's sandbox).
	cond := kube.ContainerSucceeded(o.Name)
	if s.WaitFor == "Running" {
		cond = kube.PodRunning()
	}
	e.logf("waiting for node pod %s on %s", pod.Name, o.NodeName)
	followed := false
	if s.WaitFor != "Running" {
		// Its output as it comes, from when it has started; a pod that
		// failed at once is read below, once it has ended.
		// A short command has ended by the kubelet's next status and is
		// read once below (see followAfter).
		if started, err := e.Pods(pod.Namespace).WaitFrom(ctx, created, kube.ContainerStarted(o.Name)); err == nil {
			ended, done, err := endedSoon(ctx, e, pod.Namespace, started, cond)
			created = cmp.Or(ended, started)
			if err == nil && !done {
				followed = follow(ctx, e, out, pod.Namespace, pod.Name, o.Name, live)
			}
		}
	}
	done, err := e.Pods(pod.Namespace).WaitFrom(ctx, created, cond)
	if done != nil {
		out.Pod = ObjectMap(done)
		for i := range done.Status.ContainerStatuses {
			st := &done.Status.ContainerStatuses[i]
			if st.Name == o.Name {
				out.Container = ObjectMap(st)
				if st.State.Terminated != nil {
					out.ExitCode = intPtr(int(st.State.Terminated.ExitCode))
				}
			}
		}
	}
	if s.WaitFor != "Running" && !followed {
		switch {
		case ctx.Err() != nil:
			// The step's timeout, the run's or an interrupt: what it wrote so far.
			outputSoFar(ctx, e, out, pod.Namespace, pod.Name, o.Name, cmp.Or(done, created), kube.ContainerStarted(o.Name))
		case done != nil && out.ExitCode != nil:
			// The output is wanted also when the command failed.
			logs(ctx, e, out, pod.Namespace, pod.Name, o.Name)
		}
	}
	return out.fail(err)
}

// maxNodePodNames bounds the names a node step tries (see Run).
const maxNodePodNames = 10

// nodeUntil says in a plan what the step waits for.
func nodeUntil(waitFor, container string) string {
	if waitFor == "Running" {
		return "until the node pod is Running"
	}
	return "until container " + container + " of the node pod has terminated (its command's end)"
}

// podSpec is the node step's pod as a target.
func (s *NodeStep) podSpec() targetSpec {
	return targetSpec{pod: s.Pod, choice: kube.ChooseAttach}
}

func (s *NodeStep) resolveNode(ctx context.Context, e *Env, out *Outcome) (string, *corev1.Pod, error) {
	switch {
	case !s.Name.IsZero():
		name, err := e.Render(s.Name)
		if err == nil && name == "" {
			err = fmt.Errorf("node name %q evaluated to an empty string", s.Name.Raw)
		}
		return name, nil, err
	case !s.Pod.IsZero():
		t, err := s.podSpec().resolve(ctx, e, out, e.Namespace)
		if err != nil {
			return "", nil, err
		}
		pod, err := t.podOf(ctx, e, out)
		if err != nil {
			return "", nil, err
		}
		if pod.Spec.NodeName == "" {
			if err := kube.PodUnschedulable(pod); err != nil {
				return "", nil, fmt.Errorf("%s is not scheduled on a node: %w", t, err)
			}
			return "", nil, fmt.Errorf("%s is not scheduled on a node yet", t)
		}
		return pod.Spec.NodeName, pod, nil
	}
	sel, err := e.Render(s.Selector)
	if err != nil {
		return "", nil, err
	}
	list, err := e.Clients.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return "", nil, fmt.Errorf("listing nodes %q: %w", sel, err)
	}
	if len(list.Items) == 0 {
		return "", nil, fmt.Errorf("no node matches selector %q", sel)
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return names[0], nil, nil
}
