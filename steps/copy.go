package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

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
	errs = append(errs, s.checkTarget()...)
	if !s.To.IsZero() && !s.To.HasExpressions() {
		if msgs := validation.IsDNS1123Subdomain(s.To.Raw); len(msgs) > 0 {
			errs = append(errs, fieldErr("to", "copy name %q: %s", s.To.Raw, strings.Join(msgs, "; ")))
		}
	}
	// As kubectl: without image, command or args (--arguments-only)
	// change the container that container names.
	changes := len(s.Command) > 0 || len(s.Args) > 0
	if s.Image.IsZero() && len(s.SetImage) == 0 && !changes {
		errs = append(errs, fieldErr("", "a copy needs image (a debug container), setImage, or container+command or args (a changed command)"))
	}
	if s.Image.IsZero() && changes && s.Container.IsZero() {
		field := "command"
		if len(s.Command) == 0 {
			field = "args"
		}
		errs = append(errs, fieldErr(field, "without image, %s changes an existing container: name it with container", field))
	}
	for _, k := range slices.Sorted(maps.Keys(s.SetImage)) {
		if err := kube.CheckImage(s.SetImage[k]); err != nil {
			errs = append(errs, fieldErr("setImage", "container %q: %v", k, err))
		}
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

// options renders the fields into kube's options for a copy of pod.
func (s *CopyStep) options(r renderFunc, pod string) (kube.CopyOptions, []string, error) {
	var o kube.CopyOptions
	var err error
	if o.To, err = r(s.To); err != nil {
		return o, nil, err
	}
	if o.To == "" {
		o.To = pod + "-debug"
	}
	c, secrets, err := s.build(r)
	if err != nil {
		return o, nil, err
	}
	if s.Container.IsZero() && s.Image.IsZero() {
		c.Name = ""
	}
	o.DebugContainer = c
	o.ShareProcesses, o.SameNode, o.SetImage = s.ShareProcesses, s.SameNode, s.SetImage
	o.KeepLabels, o.KeepAnnotations = s.KeepLabels, s.KeepAnnotations
	o.KeepLiveness, o.KeepReadiness, o.KeepStartup = s.KeepLiveness, s.KeepReadiness, s.KeepStartup
	o.KeepInitContainers = s.KeepInitContainers == nil || *s.KeepInitContainers
	return o, secrets, nil
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
	var notes []string
	if o.Image == "" && len(o.SetImage) > 0 && len(o.Command) == 0 && len(o.Args) == 0 {
		// kubectl applies no profile to a copy that only sets images;
		// runbook does, so that the copy's labels cannot be adopted by the
		// original's ReplicaSet.
		notes = append(notes, "kubectl applies no --profile to a set-image-only copy; this step does")
	}
	return kubectlDiffers(cmd, o.DebugContainer, notes...)
}

// Plan implements Action.
func (s *CopyStep) Plan(p *Planner) (*Planned, error) {
	pt := s.spec(kube.ChooseAttach).plan(p, p.Namespace, true)
	ns, pod := pt.ns, pt.name
	o, _, err := s.options(plannerRender(p), pod)
	if err != nil {
		return nil, err
	}
	pl := pt.planned()
	pl.Target = "pod " + ns + "/" + o.To
	pl.Kubectl = s.kubectl(o, ns, pt.kubectlName(false))
	src := pt.pod
	if src == nil {
		// Only the run can read the original: build the copy from a
		// placeholder with the containers the step names, and leave the
		// checks that need the real pod to the run.
		var named []string
		if o.Image == "" {
			named = append(named, o.Name)
		}
		named = append(named, slices.Sorted(maps.Keys(o.SetImage))...)
		src = kube.PlaceholderPod(ns, pod, named...)
		pl.Notes = append(pl.Notes, "pod "+ns+"/"+pod+" is not created by this runbook: the copy below shows only what the step changes")
		if checks := copyRuntimeChecks(o); checks != "" {
			pl.Notes = append(pl.Notes, "checked at run time, on the pod read then: "+checks)
		}
	}
	if !pt.listed {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: ns, Name: pod, Note: "read the original (from the run's pod watch when it has it)"})
	}
	cp, err := kube.PodCopy(src, o)
	if err != nil {
		return pl, err
	}
	p.stamp().Apply(&cp.ObjectMeta)
	pl.Calls = append(pl.Calls,
		Call{Verb: "create", Resource: "pods", Namespace: ns, Name: cp.Name, Body: bodyOf(cp), Privileged: kube.PodObjectPrivilegedReasons(&cp.Spec, cp.Annotations)},
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

// copyRuntimeChecks names the checks of a copy that need the original pod.
func copyRuntimeChecks(o kube.CopyOptions) string {
	var checks []string
	if o.Name != "" && o.Image == "" {
		checks = append(checks, fmt.Sprintf("container %q exists (its command is changed)", o.Name))
	}
	for _, k := range slices.Sorted(maps.Keys(o.SetImage)) {
		if k != "*" {
			checks = append(checks, fmt.Sprintf("container %q exists (setImage)", k))
		}
	}
	return strings.Join(checks, "; ")
}

// Run implements Action.
func (s *CopyStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := s.spec(kube.ChooseAttach).resolve(ctx, e, out, e.Namespace)
	if err != nil {
		return out.fail(err)
	}
	ns := t.ns
	o, secrets, err := s.options(e.Render, t.name)
	out.Secrets = secrets
	if err != nil {
		return out.fail(err)
	}
	out.Target = "pod " + ns + "/" + o.To
	if t.from != "" {
		out.Target += " (a copy of " + t.name + " from " + t.from + ")"
	}
	out.Kubectl = s.kubectl(o, ns, t.name)
	if err := s.checkRuntimePrivilege(e, o.Profile, kube.ModeCopy); err != nil {
		return out.fail(err)
	}
	src, err := t.podOf(ctx, e, out)
	if err != nil {
		return out.fail(err)
	}
	cp, err := kube.PodCopy(src, o)
	if err != nil {
		return out.fail(err)
	}
	// Privilege is decided on the pod as it will be sent: a copy of a pod that is itself
	// privileged (a DaemonSet's hostNetwork, a hostPath) is a new privileged pod.
	if reasons := kube.PodObjectPrivilegedReasons(&cp.Spec, cp.Annotations); len(reasons) > 0 && !e.AllowPrivileged {
		return out.fail(fmt.Errorf("the copy of pod %s/%s would be privileged (%s), as the pod is: set spec.allowPrivileged: true (or --allow-privileged) to allow it",
			ns, t.name, strings.Join(reasons, ", ")))
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
	// The copy is created without owners: a controller can only have adopted
	// it, because it kept labels the controller's selector matches.
	if gone := (*kube.PodGoneError)(nil); errors.As(err, &gone) && gone.Controller != "" {
		err = fmt.Errorf("%w: %s adopted the copy, whose labels (keepLabels) match its selector, and deletes it as one pod too many; leave keepLabels out", err, gone.Controller)
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
