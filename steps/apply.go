package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// ApplyStep creates the objects of a manifest, labelled with the run's
// labels and recorded for cleanup before each create call, and optionally
// waits for them.
//
// It creates and never updates: an object that already exists is an error
// (AlreadyExists), so that cleanup, which deletes what the run recorded,
// can never delete or revert something the run did not make. Delete the
// object first (a delete step) or choose another name.
type ApplyStep struct {
	// Manifest is inline YAML: one or more objects separated by ---, which
	// may hold ${{ }} expressions. Give manifest or file, not both.
	Manifest expression.Template `yaml:"manifest,omitempty" json:"manifest,omitempty"`
	// File is a YAML file of one or more objects, relative to the runbook's
	// directory. It is sent as written: ${{ }} is only evaluated in an
	// inline manifest.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// WaitFor is what to wait for after creating: Exists (default: no
	// wait), Ready, Running or Succeeded. For pods these are the pod's
	// Ready condition, phase Running (or already Succeeded) and phase
	// Succeeded; a container that cannot start (ImagePullBackOff,
	// CreateContainerError) fails the wait at once. For other kinds any
	// value but Exists waits until the object is ready as its kind defines
	// it: a Deployment, StatefulSet or DaemonSet with every replica updated
	// and available, a Job complete (a failed Job fails the step); other
	// kinds only need to exist.
	WaitFor string `yaml:"waitFor,omitempty" json:"waitFor,omitempty" enum:"Exists,Ready,Running,Succeeded"`
}

var applyKind = Kind{
	Name:    "apply",
	Summary: "create the objects of a manifest (inline or file), tracked for cleanup, and wait for them",
	New:     func() Action { return &ApplyStep{} },
	Results: []Result{resultObject, resultObjects},
}

// Check implements Action.
func (s *ApplyStep) Check(c *runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	switch s.WaitFor {
	case "", "Exists", "Ready", "Running", "Succeeded":
	default:
		errs = append(errs, fieldErr("waitFor", "waitFor must be Exists, Ready, Running or Succeeded, not %q", s.WaitFor))
	}
	field := "manifest"
	switch {
	case s.Manifest.IsZero() == (s.File == ""):
		return append(errs, fieldErr("", "an apply step needs exactly one of manifest (inline YAML) or file"))
	case s.File != "":
		field = "file"
	case s.Manifest.HasExpressions():
		// Only where its ${{ }} stand is known: the objects are checked
		// once the run has put the values in (privilege included).
		_, probs := s.parse(c.Dir, nil)
		for _, p := range probs {
			errs = append(errs, fieldErr(field, "%v", p))
		}
		return errs
	}
	objs, probs := s.parse(c.Dir, nil)
	for _, p := range probs {
		errs = append(errs, fieldErr(field, "%v", p))
	}
	if len(probs) == 0 && len(objs) == 0 {
		errs = append(errs, fieldErr(field, "the %s holds no object", field))
	}
	var reasons []string
	for _, o := range objs {
		reasons = append(reasons, o.privilegeReasons()...)
	}
	if len(reasons) > 0 && !c.AllowPrivileged {
		errs = append(errs, fieldErr(field, "privileged (%s): set spec.allowPrivileged: true (or --allow-privileged) to allow it", strings.Join(reasons, ", ")))
	}
	return errs
}

// PrivilegeReasons implements Privileged: the privileged settings of the
// pods (and pod templates) of an inline manifest without expressions. A
// plan flags those of other manifests on its create calls.
func (s *ApplyStep) PrivilegeReasons() []string {
	if s.File != "" || s.Manifest.IsZero() || s.Manifest.HasExpressions() {
		return nil
	}
	objs, _ := s.parse("", nil)
	var reasons []string
	for _, o := range objs {
		reasons = append(reasons, o.privilegeReasons()...)
	}
	return reasons
}

// waitMode says what waiting for the object means, or "" for no wait.
func (s *ApplyStep) waitMode(o *applyObject) string {
	if s.WaitFor == "" || s.WaitFor == "Exists" {
		return ""
	}
	if o.isPod() {
		return s.WaitFor
	}
	if kube.Readiness(o.u.GroupVersionKind().GroupKind()) != nil {
		return "Ready"
	}
	return ""
}

// kubectlWait is the kubectl command that waits like the step.
func (s *ApplyStep) kubectlWait(o *applyObject) string {
	var flag string
	switch w := s.waitMode(o); {
	case w == "":
		return ""
	case o.isPod() && w == "Ready":
		flag = "--for=condition=Ready"
	case o.isPod():
		flag = "--for=jsonpath={.status.phase}=" + w
	case o.gvr.Group == "batch":
		flag = "--for=condition=Complete"
	case o.u.GetKind() == "Deployment":
		flag = "--for=condition=Available"
	default:
		return fmt.Sprintf("kubectl rollout status %s -n %s", shellQuote(resourceName(o.gvr)+"/"+o.u.GetName()), shellQuote(o.u.GetNamespace()))
	}
	typ := "pod"
	if !o.isPod() {
		typ = resourceName(o.gvr)
	}
	cmd := "kubectl wait " + shellQuote(typ+"/"+o.u.GetName())
	if o.namespaced {
		cmd += " -n " + shellQuote(o.u.GetNamespace())
	}
	return cmd + " " + shellQuote(flag)
}

func (s *ApplyStep) kubectl(objs []*applyObject) string {
	src := "-"
	if s.File != "" {
		src = shellQuote(s.File)
	}
	cmd := "kubectl create -f " + src
	for _, o := range objs {
		if w := s.kubectlWait(o); w != "" {
			cmd += " && " + w
		}
	}
	return cmd
}

func objectsTarget(objs []*applyObject) string {
	var names []string
	for i, o := range objs {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-3))
			break
		}
		names = append(names, o.String())
	}
	return strings.Join(names, ", ")
}

// planObjects parses the manifest for a plan and prepares its objects as
// the run would; text is what the plan could render.
func (s *ApplyStep) planObjects(p *Planner) ([]*applyObject, string, []string, error) {
	objs, errs := s.parse(p.Dir, func() ([]any, error) { return s.Manifest.PartialValues(p.Scope), nil })
	text := p.Render(s.Manifest) // for display only
	if len(errs) > 0 {
		return nil, text, nil, errors.Join(errs...)
	}
	var notes []string
	for _, o := range objs {
		var note string
		o.gvr, o.namespaced, note = planResource(o.u.GroupVersionKind())
		if note != "" {
			notes = append(notes, note)
		}
		o.prepare(p.Namespace, p.stamp())
	}
	return objs, text, notes, nil
}

// PlannedPods returns the pods the manifest creates, namespaced and
// labelled as the run will create them, so that later steps' plans (copy,
// debug) can be built from them. It returns nothing when the manifest can
// only be read at run time.
func (s *ApplyStep) PlannedPods(p *Planner) []*corev1.Pod {
	objs, _, _, err := s.planObjects(p)
	if err != nil {
		return nil
	}
	var pods []*corev1.Pod
	for _, o := range objs {
		if o.pod != nil {
			pods = append(pods, o.pod.DeepCopy())
		}
	}
	return pods
}

// Plan implements Action.
func (s *ApplyStep) Plan(p *Planner) (*Planned, error) {
	objs, text, notes, err := s.planObjects(p)
	if err != nil {
		if text == "" {
			return nil, err
		}
		return &Planned{
			Target:  "the objects of the manifest",
			Kubectl: s.kubectl(nil),
			Calls: []Call{{Verb: "create", Resource: "<each object of the manifest>", Body: text,
				Note: "the manifest can only be read once the run has evaluated it: " + err.Error()}},
			Notes: []string{"every object is labelled with the run's labels and deleted at cleanup"},
		}, nil
	}
	pl := &Planned{Target: objectsTarget(objs), Kubectl: s.kubectl(objs), Notes: notes}
	for _, o := range objs {
		create := Call{Verb: "create", Group: o.gvr.Group, Resource: o.gvr.Resource, Namespace: o.u.GetNamespace(), Name: o.u.GetName(),
			Body: o.u.Object, Privileged: o.privilegeReasons(),
			Note: "create, never update: an object that already exists fails the step and is left alone"}
		if o.pod != nil {
			create.Body = bodyOf(o.pod)
		}
		if o.gvr.Group == "" && o.gvr.Resource == "secrets" {
			create.Body = redactedSecret(o.u.DeepCopy().Object)
		}
		pl.Calls = append(pl.Calls, create)
		pl.Cleanup = append(pl.Cleanup, kube.RefOf(o.gvr, o.u.GetKind(), o.u.GetNamespace(), o.u.GetName()))
	}
	for _, o := range objs {
		switch w := s.waitMode(o); {
		case w == "":
		case o.isPod():
			pl.Calls = append(pl.Calls, watchCall(o.u.GetNamespace(), "until pod "+o.u.GetName()+" is "+w))
		default:
			t := target{gvk: o.u.GroupVersionKind(), gvr: o.gvr, namespaced: o.namespaced, ns: o.u.GetNamespace(), name: o.u.GetName()}
			note := "field selector metadata.name=" + o.u.GetName() + ", until " + o.String() + " is ready"
			pl.Calls = append(pl.Calls, t.call("list", note), t.call("watch", note))
		}
	}
	return pl, nil
}

// Run implements Action.
func (s *ApplyStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	objs, errs := s.parse(e.Dir, func() ([]any, error) { return s.Manifest.Values(e.Scope) })
	if len(errs) > 0 {
		return out.fail(fmt.Errorf("manifest: %w", errors.Join(errs...)))
	}
	if len(objs) == 0 {
		return out.fail(errors.New("manifest: no object to create"))
	}
	if e.Clients == nil || e.Clients.Kube == nil {
		return out.fail(errors.New("no cluster client"))
	}
	if e.Tracker == nil {
		return out.fail(errors.New("no tracker to record the objects for cleanup"))
	}
	for _, o := range objs {
		var err error
		if o.gvr, o.namespaced, err = e.Clients.ResourceFor(o.u); err != nil {
			return out.fail(fmt.Errorf("%s (%s): %w", o.u.GetKind()+" "+o.u.GetName(), o.line, err))
		}
		o.prepare(e.Namespace, e.stamp())
	}
	out.Target = objectsTarget(objs)
	out.Kubectl = s.kubectl(objs)
	// Privilege is decided on the objects about to be sent, as the plan
	// decides it on the planned ones: a value put into the manifest can
	// make it privileged.
	if !e.AllowPrivileged {
		var reasons []string
		for _, o := range objs {
			reasons = append(reasons, o.privilegeReasons()...)
		}
		if len(reasons) > 0 {
			return out.fail(fmt.Errorf("the manifest, as rendered, is privileged (%s) and the runbook does not allow it: set spec.allowPrivileged: true (or --allow-privileged); nothing was created",
				strings.Join(reasons, ", ")))
		}
	}

	for _, o := range objs {
		if err := createObject(ctx, e, out, o); err != nil {
			return out.fail(err)
		}
	}
	for _, o := range objs {
		if err := s.wait(ctx, e, out, o); err != nil {
			s.results(out, objs)
			return out.fail(err)
		}
	}
	s.results(out, objs)
	return out
}

// results fills object and objects with the objects' latest states.
func (s *ApplyStep) results(out *Outcome, objs []*applyObject) {
	out.Objects = make([]any, 0, len(objs))
	for _, o := range objs {
		var m map[string]any
		if o.pod != nil {
			m = podMap(o.pod)
		} else {
			m = ObjectMap(o.u)
		}
		out.Objects = append(out.Objects, m)
		out.Object = m
	}
}

// podMap is a typed pod as JSON, with the apiVersion and kind the API
// server's answers leave out.
func podMap(pod *corev1.Pod) map[string]any {
	m := ObjectMap(pod)
	if m != nil {
		m["apiVersion"], m["kind"] = "v1", "Pod"
	}
	return m
}

// createObject makes one object:
// records it in the tracker, then sends the create call.
func createObject(ctx context.Context, e *Env, out *Outcome, o *applyObject) error {
	ns, name := o.u.GetNamespace(), o.u.GetName()
	var ri interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	}
	if !o.isPod() {
		if e.Clients.Dynamic() == nil {
			return errors.New("no cluster client")
		}
		r := e.Clients.Dynamic().Resource(o.gvr)
		ri = r
		if o.namespaced {
			ri = r.Namespace(ns)
		}
	}
	// Recorded before the create, so an interrupt during the request
	// still cleans it up; forgotten if the server refused it (e.g. it
	// already existed: apply never takes over an existing object).
	idx := e.Tracker.Record(kube.TrackedObject{GVR: o.gvr, Kind: o.u.GetKind(), Namespace: ns, Name: name})
	if o.isPod() {
		created, err := e.Clients.Kube.CoreV1().Pods(ns).Create(ctx, o.pod, metav1.CreateOptions{})
		if err != nil {
			e.Tracker.Forget(idx, err)
			return createErr(o, err)
		}
		o.pod = created
	} else {
		created, err := ri.Create(ctx, o.u, metav1.CreateOptions{})
		if err != nil {
			e.Tracker.Forget(idx, err)
			return createErr(o, err)
		}
		o.u = created
	}
	e.Tracker.MarkCreated(idx)
	out.Touched = append(out.Touched, ObjectRef{Kind: o.u.GetKind(), Namespace: ns, Name: name, Action: report.ActionCreated})
	return nil
}

func createErr(o *applyObject, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("%s already exists: apply creates objects and never changes existing ones, so that cleanup deletes only what the run made; delete it first or choose another name", o)
	}
	return fmt.Errorf("creating %s: %w", o, err)
}

// wait waits for one object as waitFor says.
func (s *ApplyStep) wait(ctx context.Context, e *Env, out *Outcome, o *applyObject) error {
	w := s.waitMode(o)
	if w == "" {
		return nil
	}
	ns, name := o.u.GetNamespace(), o.u.GetName()
	if o.isPod() {
		cond := kube.PodReady()
		switch w {
		case "Running":
			cond = kube.PodRunning()
		case "Succeeded":
			cond = kube.PodSucceeded()
		}
		e.logf("waiting for pod %s/%s to be %s", ns, name, w)
		var pod *corev1.Pod
		var err error
		if e.Pods != nil {
			pod, err = e.Pods(ns).WaitFrom(ctx, o.pod, cond)
		} else {
			pod, err = kube.WaitForPod(ctx, e.Clients, ns, name, cond)
		}
		if pod != nil {
			o.pod = pod
		}
		return err
	}
	cond := kube.Readiness(o.u.GroupVersionKind().GroupKind())
	e.logf("waiting for %s to be ready", o)
	waitNS := ""
	if o.namespaced {
		waitNS = ns
	}
	u, err := kube.WaitFor(ctx, e.Clients, o.gvr, waitNS, name, cond)
	if u != nil {
		o.u = u
	}
	return err
}

// redactedSecret is a Secret's object as a plan shows it: its keys, each value ***. A plan
// prints no secret value; the run learns the values when it creates the Secret.
func redactedSecret(obj map[string]any) map[string]any {
	for _, f := range []string{"data", "stringData"} {
		if m, ok := obj[f].(map[string]any); ok {
			for k := range m {
				m[k] = "***"
			}
		}
	}
	return obj
}
