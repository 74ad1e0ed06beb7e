package steps

import (
	"cmp"
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// CopyStep creates a copy of a pod with a debug container, a changed image
// or a changed command, as `kubectl debug POD --copy-to=NAME` does. The
// original pod is untouched; the copy is deleted at cleanup.
type CopyStep struct {
	// PodTarget is the pod to copy.
	PodTarget `yaml:",inline" json:",inline"`
	// To is the name of the copy (default: POD-debug).
	To expression.Template `yaml:"to,omitempty" json:"to,omitempty"`
	// ShareProcesses turns on shareProcessNamespace in the copy, so the
	// debug container sees every container's processes.
	ShareProcesses bool `yaml:"shareProcesses,omitempty" json:"shareProcesses,omitempty"`
	// SameNode schedules the copy on the original pod's node.
	SameNode bool `yaml:"sameNode,omitempty" json:"sameNode,omitempty"`
	// SetImage changes container images in the copy: container name to
	// image, "*" for every container (kubectl --set-image).
	SetImage map[string]string `yaml:"setImage,omitempty" json:"setImage,omitempty"`
	// KeepLabels keeps the original pod's labels on the copy.
	KeepLabels bool `yaml:"keepLabels,omitempty" json:"keepLabels,omitempty"`
	// KeepAnnotations keeps the original pod's annotations on the copy.
	KeepAnnotations bool `yaml:"keepAnnotations,omitempty" json:"keepAnnotations,omitempty"`
	// KeepLiveness keeps liveness probes.
	KeepLiveness bool `yaml:"keepLiveness,omitempty" json:"keepLiveness,omitempty"`
	// KeepReadiness keeps readiness probes.
	KeepReadiness bool `yaml:"keepReadiness,omitempty" json:"keepReadiness,omitempty"`
	// KeepStartup keeps startup probes.
	KeepStartup bool `yaml:"keepStartup,omitempty" json:"keepStartup,omitempty"`
	// KeepInitContainers keeps init containers (default: kept, as kubectl).
	KeepInitContainers *bool `yaml:"keepInitContainers,omitempty" json:"keepInitContainers,omitempty"`
	// WaitFor is Ready (default), Running or None.
	WaitFor string `yaml:"waitFor,omitempty" json:"waitFor,omitempty" enum:"Ready,Running,None"`
	// DebugContainer is the container added to the copy; without image,
	// container names an existing container whose command is changed.
	DebugContainer `yaml:",inline" json:",inline"`
}

var copyKind = Kind{
	Name:    "copy",
	Summary: "create a copy of a pod with a debug container or a changed command (kubectl debug POD --copy-to)",
	New:     func() Action { return &CopyStep{} },
	Results: []Result{resultPod},
}

// Check implements Action.
func (s *CopyStep) Check(c *runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	if s.Pod.IsZero() {
		errs = append(errs, fieldErr("pod", "pod is required"))
	}
	if s.Image.IsZero() && len(s.SetImage) == 0 && len(s.Command) == 0 {
		errs = append(errs, fieldErr("", "a copy needs image (a debug container), setImage, or container+command (a changed command)"))
	}
	if s.Image.IsZero() && len(s.Command) > 0 && s.Container.IsZero() {
		errs = append(errs, fieldErr("command", "without image, command changes an existing container: name it with container"))
	}
	switch s.WaitFor {
	case "", "Ready", "Running", "None":
	default:
		errs = append(errs, fieldErr("waitFor", "waitFor must be Ready, Running or None, not %q", s.WaitFor))
	}
	return append(errs, s.check(c, kube.ModeCopy, false)...)
}

// PrivilegeReasons implements Privileged.
func (s *CopyStep) PrivilegeReasons() []string { return s.privilegeReasons(kube.ModeCopy) }

func (s *CopyStep) options(r renderFunc, ns string) (kube.CopyOptions, string, string, []string, error) {
	var o kube.CopyOptions
	ns, pod, err := s.render(r, ns)
	if err != nil {
		return o, "", "", nil, err
	}
	if o.To, err = r(s.To); err != nil {
		return o, "", "", nil, err
	}
	if o.To == "" {
		o.To = pod + "-debug"
	}
	c, secrets, err := s.build(r)
	if err != nil {
		return o, "", "", nil, err
	}
	if s.Container.IsZero() && s.Image.IsZero() {
		c.Name = ""
	}
	o.DebugContainer = c
	o.ShareProcesses, o.SameNode, o.SetImage = s.ShareProcesses, s.SameNode, s.SetImage
	o.KeepLabels, o.KeepAnnotations = s.KeepLabels, s.KeepAnnotations
	o.KeepLiveness, o.KeepReadiness, o.KeepStartup = s.KeepLiveness, s.KeepReadiness, s.KeepStartup
	o.KeepInitContainers = s.KeepInitContainers == nil || *s.KeepInitContainers
	return o, ns, pod, secrets, nil
}

func (s *CopyStep) kubectl(o kube.CopyOptions, ns, pod string) string {
	cmd := fmt.Sprintf("kubectl debug %s -n %s --copy-to=%s", shellQuote(pod), shellQuote(ns), shellQuote(o.To))
	for _, a := range kubectlArgs(o.DebugContainer) {
		cmd += " " + shellQuote(a)
	}
	if o.ShareProcesses {
		cmd += " --share-processes"
	}
	if o.SameNode {
		cmd += " --same-node"
	}
	names := make([]string, 0, len(o.SetImage))
	for n := range o.SetImage {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cmd += " --set-image=" + shellQuote(n+"="+o.SetImage[n])
	}
	for _, f := range []struct {
		flag string
		on   bool
	}{{"--keep-labels", o.KeepLabels}, {"--keep-annotations", o.KeepAnnotations}, {"--keep-liveness", o.KeepLiveness},
		{"--keep-readiness", o.KeepReadiness}, {"--keep-startup", o.KeepStartup}} {
		if f.on {
			cmd += " " + f.flag + "=true"
		}
	}
	if !o.KeepInitContainers {
		cmd += " --keep-init-containers=false"
	}
	cmd += kubectlCustom(o.DebugContainer) + kubectlCommand(o.Command, o.Args)
	if o.Image == "" && len(o.SetImage) > 0 && len(o.Command) == 0 && len(o.Args) == 0 {
		// kubectl applies no profile to a copy that only sets images;
		// runbook does, so that the copy's labels cannot be adopted by the
		// original's ReplicaSet.
		cmd += "  # differs: kubectl applies no --profile to a set-image-only copy; this step does"
	}
	return cmd
}

// placeholderPod stands for a pod the plan cannot see.
func placeholderPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "<containers of " + name + ", read at run time>"}}},
	}
}

// Plan implements Action.
func (s *CopyStep) Plan(p *Planner) (*Planned, error) {
	o, ns, pod, _, err := s.options(plannerRender(p), p.Namespace)
	if err != nil {
		return nil, err
	}
	src := p.Pod(ns, pod)
	pl := &Planned{Target: "pod " + ns + "/" + o.To, Kubectl: s.kubectl(o, ns, pod)}
	if src == nil {
		src = placeholderPod(ns, pod)
		pl.Notes = append(pl.Notes, "pod "+ns+"/"+pod+" is not created by this runbook: the copy below shows only what the step changes")
	}
	cp, err := kube.PodCopy(src, o)
	if err != nil {
		return nil, err
	}
	p.stamp().Apply(&cp.ObjectMeta)
	pl.Calls = append(pl.Calls,
		Call{Verb: "get", Resource: "pods", Namespace: ns, Name: pod, Note: "read the original (from the run's pod watch when it has it)"},
		Call{Verb: "create", Resource: "pods", Namespace: ns, Name: cp.Name, Body: bodyOf(cp), Privileged: kube.PodPrivilegedReasons(&cp.Spec)},
	)
	if s.WaitFor != "None" {
		pl.Calls = append(pl.Calls, watchCall(ns, "until the copy is "+cmp.Or(s.WaitFor, "Ready")))
	}
	pl.Cleanup = append(pl.Cleanup, kube.PodRef(ns, cp.Name))
	if s.Profile.HasExpressions() {
		pl.Notes = append(pl.Notes, "the profile is chosen at run time by "+s.Profile.Raw+"; the objects above use the general profile")
	}
	return pl, nil
}

// Run implements Action.
func (s *CopyStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	o, ns, podName, secrets, err := s.options(e.Render, e.Namespace)
	out.Secrets = secrets
	if err != nil {
		return out.fail(err)
	}
	out.Target = "pod " + ns + "/" + o.To
	out.Kubectl = s.kubectl(o, ns, podName)
	if err := s.checkRuntimePrivilege(e, o.Profile, kube.ModeCopy); err != nil {
		return out.fail(err)
	}
	src, err := getPod(ctx, e, out, ns, podName)
	if err != nil {
		return out.fail(err)
	}
	cp, err := kube.PodCopy(src, o)
	if err != nil {
		return out.fail(err)
	}
	created, err := createPod(ctx, e, out, cp)
	if err != nil {
		return out.fail(err)
	}
	out.Pod = ObjectMap(created)
	var cond kube.PodCondition
	switch s.WaitFor {
	case "None":
		return out
	case "Running":
		cond = kube.PodRunning()
	default:
		cond = kube.PodReady()
	}
	e.logf("waiting for pod %s/%s to be %s", ns, o.To, cmp.Or(s.WaitFor, "Ready"))
	pod, err := e.Pods(ns).WaitFrom(ctx, created, cond)
	if pod != nil {
		out.Pod = ObjectMap(pod)
	}
	return out.fail(err)
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// createPod labels, records and creates a pod; the tracker knows of it
// before the request is sent, so an interrupt at any moment cleans it up.
func createPod(ctx context.Context, e *Env, out *Outcome, pod *corev1.Pod) (*corev1.Pod, error) {
	e.stamp().Apply(&pod.ObjectMeta)
	ns := pod.Namespace
	if ns == "" {
		ns = e.Namespace
		pod.Namespace = ns
	}
	idx := e.Tracker.Record(kube.TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: ns, Name: pod.Name})
	created, err := e.Clients.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		e.Tracker.Forget(idx, err)
		return nil, fmt.Errorf("creating pod %s/%s: %w", ns, pod.Name, err)
	}
	e.Tracker.MarkCreated(idx)
	out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: ns, Name: pod.Name, Action: report.ActionCreated})
	return created, nil
}
