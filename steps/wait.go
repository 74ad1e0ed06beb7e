package steps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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
	For expression.Expr `yaml:"for" json:"for" scope:"object"`
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
	if s.For.IsZero() {
		errs = append(errs, fieldErr("for", `for is required: an expression over object, e.g. object.status.phase == "Running"`))
	}
	return errs
}

// jsonpathCondition matches the expressions kubectl wait can express:
// object.a.b[0].c == "value" (or a number or boolean).
var jsonpathCondition = regexp.MustCompile(`^\s*object((?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])+)\s*==\s*("[^"\\]*"|'[^'\\]*'|-?[0-9]+(?:\.[0-9]+)?|true|false)\s*$`)

func (s *WaitStep) kubectl(t target) string {
	if m := jsonpathCondition.FindStringSubmatch(s.For.Source); m != nil {
		value := strings.Trim(m[2], `"'`)
		return fmt.Sprintf("kubectl wait %s%s %s", shellQuote(t.kubectlType()+"/"+t.name), t.kubectlNamespace(),
			shellQuote("--for=jsonpath={"+m[1]+"}="+value))
	}
	return fmt.Sprintf("kubectl get %s %s%s --watch -o json  # until %s", shellQuote(t.kubectlType()), shellQuote(t.name), t.kubectlNamespace(), s.For.Source)
}

// Plan implements Action.
func (s *WaitStep) Plan(p *Planner) (*Planned, error) {
	t, notes := planTarget(p, s.APIVersion, s.Kind, s.Name, s.Namespace)
	pl := &Planned{Target: t.String(), Kubectl: s.kubectl(t), Notes: notes}
	until := "until " + s.For.Source
	if t.isPod() {
		pl.Calls = []Call{watchCall(t.ns, until)}
		return pl, nil
	}
	note := "field selector metadata.name=" + t.name + ", " + until
	pl.Calls = []Call{t.call("list", note), t.call("watch", note)}
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
		if e.Pods != nil {
			pod, err = e.Pods(t.ns).Wait(ctx, t.name, cond)
		} else {
			pod, err = kube.WaitForPod(ctx, e.Clients, t.ns, t.name, cond)
		}
		if pod != nil {
			out.Object = podMap(pod)
		}
	} else {
		ns := t.namespace()
		var u *unstructured.Unstructured
		u, err = kube.WaitFor(ctx, e.Clients, t.gvr, ns, t.name, func(u *unstructured.Unstructured) (bool, error) {
			return holds(ObjectMap(u)), nil
		})
		if u != nil {
			out.Object = ObjectMap(u)
		}
	}
	if err != nil && evalErr != nil && !errors.Is(err, evalErr) {
		err = fmt.Errorf("%w; for %q last failed with: %w", err, s.For.Source, evalErr)
	}
	return out.fail(err)
}
