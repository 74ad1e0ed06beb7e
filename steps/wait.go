package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// WaitStep waits until an expression over an object holds, driven by a
// watch on that object (no polling), as `kubectl wait --for=jsonpath=...`
// does but with any condition. How long it may wait is the step's timeout.
type WaitStep struct {
	// APIVersion of the object, e.g. v1 or apps/v1 (default v1).
	APIVersion string `yaml:"apiVersion,omitempty" json:"apiVersion,omitempty"`
	// Kind of the object, e.g. Pod, Deployment.
	Kind string `yaml:"kind" json:"kind"`
	// Name of the object.
	Name expression.Template `yaml:"name" json:"name"`
	// Namespace of the object (default: the run's namespace); ignored for
	// cluster-scoped kinds.
	Namespace expression.Template `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// For is a boolean expression over `object` (the object as JSON), e.g.
	// object.status.phase == "Running". It is evaluated on every change the
	// watch sees; an expression that cannot be evaluated yet (a field not
	// there yet) counts as false.
	For expression.Expr `yaml:"for,omitempty" json:"for,omitempty" scope:"object"`
	// WaitForCreate waits, within the step's timeout, for an object of that
	// name to exist when there is none (yet, or any more, after a deletion),
	// as kubectl wait --for=create does, instead of failing at once. A pod
	// that its StatefulSet (or, for a static pod's mirror, its kubelet)
	// creates again under its name is followed without it.
	WaitForCreate bool `yaml:"waitForCreate,omitempty" json:"waitForCreate,omitempty"`
	// Deleted waits, instead of for, until the object is gone, as kubectl
	// wait --for=delete does: deleted (a pod once its containers have
	// stopped), or replaced by another of the same name. It is no error if
	// there is none.
	Deleted bool `yaml:"deleted,omitempty" json:"deleted,omitempty"`
}

var waitKind = Kind{
	Name:    "wait",
	Summary: "wait until an expression over an object holds, driven by a watch (kubectl wait --for=jsonpath)",
	New:     func() Action { return &WaitStep{} },
	Results: []Result{resultObject},
}

// Check implements Action.
func (s *WaitStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := checkKind(s.APIVersion, s.Kind)
	if s.Name.IsZero() {
		errs = append(errs, fieldErr("name", "name is required"))
	}
	errs = append(errs, checkName("name", s.Name, objectName)...)
	errs = append(errs, checkName("namespace", s.Namespace, namespaceName)...)
	switch {
	case s.Deleted && !s.For.IsZero():
		errs = append(errs, fieldErr("deleted", "deleted and for exclude each other: deleted waits until the object is gone, for until an expression over it holds"))
	case s.Deleted && s.WaitForCreate:
		errs = append(errs, fieldErr("deleted", "deleted and waitForCreate exclude each other"))
	case !s.Deleted && s.For.IsZero():
		errs = append(errs, fieldErr("for", `for is required: an expression over object, e.g. object.status.phase == "Running" (or deleted: true to wait until it is gone)`))
	}
	return errs
}

// jsonpathCondition matches the expressions kubectl wait can express:
// object.a.b[0].c == "value" (or a number or boolean).
var jsonpathCondition = regexp.MustCompile(`^\s*object((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])+)\s*==\s*("[^"\\]*"|'[^'\\]*'|-?[0-9]+(?:\.[0-9]+)?|true|false)\s*$`)

// jsonpathValue is the value of kubectl wait --for=jsonpath={...}=VALUE
// for the literal lit of a jsonpathCondition, and whether kubectl reads it
// back as that value. kubectl (pkg/cmd/wait, processJSONPathInput) splits
// the flag on each single "=", refuses an empty value ("jsonpath wait has
// to have a value after equal sign"), trims quotes off the value's ends and
// compares it with spaces trimmed: a value that would be split, refused or
// changed so has no --for=jsonpath form, and the line falls back to a watch.
func jsonpathValue(lit string) (string, bool) {
	value := lit
	if strings.HasPrefix(lit, `"`) || strings.HasPrefix(lit, "'") {
		value = lit[1 : len(lit)-1] // the literal's own quotes only
	}
	if value == "" || strings.Contains(value, "=") ||
		strings.Trim(value, `"'`) != value || strings.TrimSpace(value) != value {
		return "", false
	}
	return value, true
}

func (s *WaitStep) kubectl(t target) string {
	line := s.kubectlFor(t)
	if s.WaitForCreate {
		line = kubectlWait(t, "--for=create") + " && " + line
	}
	return line
}

// kubectlWait is `kubectl wait TYPE/NAME [-n NS] FOR`.
func kubectlWait(t target, forFlag string) string {
	return fmt.Sprintf("kubectl wait %s%s %s", shellQuote(t.kubectlType()+"/"+t.name), t.kubectlNamespace(), forFlag)
}

func (s *WaitStep) kubectlFor(t target) string {
	if s.Deleted {
		return kubectlWait(t, "--for=delete")
	}
	if m := jsonpathCondition.FindStringSubmatch(s.For.Source); m != nil {
		if value, ok := jsonpathValue(m[2]); ok {
			return kubectlWait(t, shellQuote("--for=jsonpath={"+m[1]+"}="+value))
		}
	}
	return fmt.Sprintf("kubectl get %s %s%s --watch -o json  # until %s", shellQuote(t.kubectlType()), shellQuote(t.name), t.kubectlNamespace(), s.For.Source)
}

// Plan implements Action.
func (s *WaitStep) Plan(p *Planner) (*Planned, error) {
	t, notes := planTarget(p, s.APIVersion, s.Kind, s.Name, s.Namespace)
	pl := &Planned{Target: t.String(), Kubectl: s.kubectl(t), Notes: notes}
	until := "until " + s.For.Source
	if s.Deleted {
		until = "until " + t.String() + " is gone"
	}
	recreated := "field selector metadata.name=" + t.name + ", "
	if t.isPod() {
		pl.Calls = []Call{podWatchCall(p, t.ns, t.name, until), t.call("get", "only when the watch's list does not have the pod: the list may lag behind")}
		// A pod the runbook creates itself has no controller that creates it
		// again under its name.
		own, ok := p.Pods[t.ns+"/"+t.name]
		switch {
		case s.Deleted:
			return pl, nil
		case s.WaitForCreate:
			recreated += "only when there is no pod of that name (waitForCreate): missing, or deleted while waiting"
		case !ok || recreatedBy(own) != "":
			recreated += "only when the pod is deleted while waiting and its StatefulSet creates it again under its name"
		default:
			return pl, nil
		}
		pl.Calls = append(pl.Calls, t.call("list", recreated), t.call("watch", recreated))
		return pl, nil
	}
	note := "field selector metadata.name=" + t.name + ", " + until
	pl.Calls = []Call{t.call("list", note), t.call("watch", note)}
	if s.WaitForCreate {
		recreated += "only when there is none of that name (waitForCreate)"
		pl.Calls = append(pl.Calls, t.call("list", recreated), t.call("watch", recreated))
	}
	return pl, nil
}

// Run implements Action.
func (s *WaitStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := resolveTarget(e, s.APIVersion, s.Kind, s.Name, s.Namespace)
	if err != nil {
		return out.fail(err)
	}
	out.Target = t.String()
	out.Kubectl = s.kubectl(t)
	if s.Deleted {
		return out.fail(s.waitDeleted(ctx, e, t, out))
	}
	if s.For.Program == nil {
		return out.fail(fmt.Errorf("for %q was not compiled", s.For.Source))
	}
	scope := expression.Scope{}
	if e.Scope != nil {
		scope = *e.Scope
	}
	// An expression that fails (object.status.containerStatuses[0] before
	// there is one) is false for now; the last failure explains a timeout.
	var evalErr error
	holds := func(obj map[string]any) bool {
		scope.Results = map[string]any{resultObject.Name: obj}
		ok, err := s.For.EvalBool(&scope)
		evalErr = err
		return err == nil && ok
	}
	e.logf("waiting for %s until %s", t, s.For.Source)
	out.Touched = append(out.Touched, t.ref(report.ActionRead))
	if t.isPod() {
		// A pod that has ended (Failed, Succeeded) or that the scheduler
		// cannot place (after the grace the scheduler gets) fails the wait,
		// unless that is what the expression waits for: an ended pod's status
		// never changes again, so waiting on would last until the timeout.
		cond := func(pod *corev1.Pod) (bool, error) {
			if holds(podMap(pod)) {
				return true, nil
			}
			if err := kube.PodEnded(pod); err != nil {
				return false, err
			}
			return false, kube.PodUnschedulable(pod)
		}
		var pod *corev1.Pod
		pod, err = s.waitPod(ctx, e, t, cond, out)
		if pod != nil {
			out.Object = podMap(pod)
		}
	} else {
		var u *unstructured.Unstructured
		u, err = s.waitObject(ctx, e, t, holds, out)
		if u != nil {
			out.Object = ObjectMap(u)
		}
	}
	if err != nil && evalErr != nil && !errors.Is(err, evalErr) {
		err = fmt.Errorf("%w; for %q last failed with: %w", err, s.For.Source, evalErr)
	}
	return out.fail(err)
}

// waitDeleted waits until the object is gone (deleted: true).
func (s *WaitStep) waitDeleted(ctx context.Context, e *Env, t target, out *Outcome) error {
	e.logf("waiting for %s to be gone", t)
	out.Touched = append(out.Touched, t.ref(report.ActionRead))
	if t.isPod() && e.Pods != nil {
		return e.Pods(t.ns).WaitGone(ctx, t.name, "")
	}
	return kube.WaitForDelete(ctx, e.Clients, t.gvr, t.namespace(), t.name)
}

// waitPod waits until cond holds for the pod. A pod deleted while waiting
// is followed to the pod created again under its name when its controller
// does that (see recreatedBy), or when waitForCreate is set; so is a pod
// missing at the start, with waitForCreate. Each pod followed is a warning.
func (s *WaitStep) waitPod(ctx context.Context, e *Env, t target, cond kube.PodCondition, out *Outcome) (*corev1.Pod, error) {
	var next *corev1.Pod // the pod created again, known before the shared watch has it
	for {
		var pod *corev1.Pod
		var err error
		switch {
		case e.Pods != nil && next != nil:
			pod, err = e.Pods(t.ns).WaitFrom(ctx, next, cond)
		case e.Pods != nil:
			pod, err = e.Pods(t.ns).Wait(ctx, t.name, cond)
		default:
			pod, err = kube.WaitForPod(ctx, e.Clients, t.ns, t.name, cond)
		}
		var gone *kube.PodGoneError
		if !errors.As(err, &gone) {
			return pod, err
		}
		var skip types.UID
		by := recreatedBy(pod)
		switch {
		case pod != nil && by != "":
			skip = pod.UID
			e.logf("%v; waiting for the pod %s creates again under its name", gone, by)
			by = " by " + by
		case pod != nil && s.WaitForCreate:
			skip = pod.UID
			e.logf("%v; waiting for a pod to be created again under its name (waitForCreate)", gone)
		case s.WaitForCreate:
			e.logf("%s does not exist: waiting for it to be created (waitForCreate)", t)
		default:
			return pod, err
		}
		u, cerr := kube.WaitForCreate(ctx, e.Clients, t.gvr, t.ns, t.name, skip)
		if cerr != nil {
			return pod, fmt.Errorf("%w; %w", err, cerr)
		}
		next = &corev1.Pod{}
		if cerr := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, next); cerr != nil {
			return pod, fmt.Errorf("reading %s: %w", t, cerr)
		}
		if pod != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s (UID %s) was deleted while waiting; the wait went on with the pod created again under its name%s (UID %s)",
				t, pod.UID, by, next.UID))
		}
	}
}

// waitObject waits until holds for an object other than a pod; with
// waitForCreate, an object missing at the start or deleted while waiting is
// waited for (a warning says when the object changed).
func (s *WaitStep) waitObject(ctx context.Context, e *Env, t target, holds func(map[string]any) bool, out *Outcome) (*unstructured.Unstructured, error) {
	for {
		u, err := kube.WaitFor(ctx, e.Clients, t.gvr, t.namespace(), t.name, func(u *unstructured.Unstructured) (bool, error) {
			return holds(ObjectMap(u)), nil
		})
		var gone *kube.ObjectGoneError
		if !s.WaitForCreate || !errors.As(err, &gone) {
			return u, err
		}
		var skip types.UID
		if u != nil {
			skip = u.GetUID()
		}
		e.logf("%v; waiting for it to be created (waitForCreate)", gone)
		next, cerr := kube.WaitForCreate(ctx, e.Clients, t.gvr, t.namespace(), t.name, skip)
		if cerr != nil {
			return u, fmt.Errorf("%w; %w", err, cerr)
		}
		if u != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s (UID %s) was deleted while waiting; the wait went on with the one created again under its name (UID %s)",
				t, u.GetUID(), next.GetUID()))
		}
	}
}

// recreatedBy names what creates a pod again under the same name once it is
// deleted: its StatefulSet, or the kubelet for a static pod's mirror (owned
// by its Node); "" for other pods, whose replacements get other names.
func recreatedBy(pod *corev1.Pod) string {
	if pod == nil {
		return ""
	}
	ref := metav1.GetControllerOf(pod)
	switch {
	case ref == nil:
		return ""
	case ref.Kind == "StatefulSet" && strings.HasPrefix(ref.APIVersion, "apps/"):
		return "StatefulSet " + ref.Name
	case ref.Kind == "Node" && ref.APIVersion == "v1":
		return "the kubelet of node " + ref.Name + " (a static pod's mirror)"
	}
	return ""
}
