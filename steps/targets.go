package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// PodTarget names the pod a step acts on, as kubectl takes it: by name, by
// a workload one of whose pods is chosen as kubectl chooses it, or by a
// label selector (see "Targets" in docs/format.md).
type PodTarget struct {
	// Pod is the pod: NAME or pod/NAME; or KIND/NAME for a workload one of
	// whose pods is chosen as kubectl logs and kubectl exec choose it, with
	// KIND deployment (deploy), statefulset (sts), daemonset (ds),
	// replicaset (rs) or job.
	Pod expression.Template `yaml:"pod,omitempty" json:"pod,omitempty"`
	// Selector is a label selector, e.g. app=web,tier!=cache, one of whose
	// pods is chosen as kubectl chooses it (instead of pod).
	Selector expression.Template `yaml:"selector,omitempty" json:"selector,omitempty"`
	// Namespace of the pod (default: the run's namespace).
	Namespace expression.Template `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// spec is the target with the rule that chooses its pod.
func (t *PodTarget) spec(c kube.PodChoice) targetSpec {
	return targetSpec{pod: t.Pod, selector: t.Selector, namespace: t.Namespace, choice: c}
}

// checkTarget validates the target's syntax at load time.
func (t *PodTarget) checkTarget() []runbook.FieldError {
	return t.spec(kube.ChooseAttach).check("pod", "selector")
}

// targetSpec is a pod target as any kind writes it: pod, selector and
// namespace fields, and the kubectl rule that chooses among pods.
type targetSpec struct {
	pod, selector, namespace expression.Template
	choice                   kube.PodChoice
}

// check validates what can be checked before the run: one of pod and
// selector, and the syntax of each when it holds no expression.
func (s targetSpec) check(podField, selField string) []runbook.FieldError {
	var errs []runbook.FieldError
	switch {
	case s.pod.IsZero() && s.selector.IsZero() && selField == "":
		errs = append(errs, fieldErr(podField, "%s is required", podField))
	case s.pod.IsZero() && s.selector.IsZero():
		errs = append(errs, fieldErr(podField, "%s (or %s) is required", podField, selField))
	case !s.pod.IsZero() && !s.selector.IsZero():
		errs = append(errs, fieldErr(selField, "%s and %s are exclusive: give one", podField, selField))
	}
	if !s.pod.IsZero() && !s.pod.HasExpressions() {
		if _, err := kube.ParsePodTarget(s.pod.Raw); err != nil {
			errs = append(errs, fieldErr(podField, "%v", err))
		}
	}
	if !s.selector.IsZero() && !s.selector.HasExpressions() {
		if _, err := kube.ParseSelector(s.selector.Raw); err != nil {
			errs = append(errs, fieldErr(selField, "%v", err))
		}
	}
	return append(errs, checkName("namespace", s.namespace, namespaceName)...)
}

// parse renders the target's fields and parses them; ns is the namespace
// when the target names none.
func (s targetSpec) parse(r renderFunc, ns string) (string, kube.PodTarget, error) {
	n, err := r(s.namespace)
	if err != nil {
		return "", kube.PodTarget{}, fmt.Errorf("namespace: %w", err)
	}
	if n != "" && !kube.Unknown(n) && s.namespace.HasExpressions() {
		// A literal one was checked at load time (checkName).
		if msgs := validation.IsDNS1123Label(n); len(msgs) > 0 {
			return n, kube.PodTarget{}, fmt.Errorf("namespace %q (from %s) is not valid: %s", n, s.namespace.Raw, strings.Join(msgs, "; "))
		}
	}
	ns = cmp.Or(n, ns)
	if !s.selector.IsZero() {
		sel, err := r(s.selector)
		if err != nil {
			return ns, kube.PodTarget{}, fmt.Errorf("selector: %w", err)
		}
		t := kube.PodTarget{Selector: sel}
		if !kube.Unknown(sel) {
			if _, err := kube.ParseSelector(sel); err != nil {
				return ns, t, err
			}
		}
		return ns, t, nil
	}
	pod, err := r(s.pod)
	if err != nil {
		return ns, kube.PodTarget{}, fmt.Errorf("pod: %w", err)
	}
	if pod == "" {
		return ns, kube.PodTarget{}, emptyValueError{"pod", s.pod.Raw}
	}
	t, err := kube.ParsePodTarget(pod)
	if err != nil {
		return ns, t, fmt.Errorf("pod: %w", err)
	}
	return ns, t, nil
}

// runTarget is a target resolved by a run.
type runTarget struct {
	ns, name string
	// pod is the pod as listed when a workload or a selector chose it;
	// nil for a pod named directly (not read).
	pod *corev1.Pod
	// from is the workload or selector the pod came from, "" if named.
	from string
}

// String is the step's Target: "pod ns/name (from deployment/web)".
func (t runTarget) String() string {
	s := "pod " + t.ns + "/" + t.name
	if t.from != "" {
		s += " (from " + t.from + ")"
	}
	return s
}

// resolve renders and resolves the target, as kubectl would, recording in
// out what it read and, from the start, the step's Target.
func (s targetSpec) resolve(ctx context.Context, e *Env, out *Outcome, ns string) (runTarget, error) {
	ns, t, err := s.parse(envRender(e), ns)
	if err != nil {
		return runTarget{ns: ns}, err
	}
	out.Target = unresolvedTarget(ns, t)
	if t.IsPod() {
		rt := runTarget{ns: ns, name: t.Name}
		out.Target = rt.String()
		return rt, nil
	}
	if e.Clients == nil || e.Clients.Kube == nil {
		return runTarget{ns: ns}, errors.New("no cluster client")
	}
	e.logf("choosing a pod of %s in %s as %s does", t, ns, s.choice)
	res, err := kube.ResolvePod(ctx, e.Clients, ns, t, s.choice)
	if w := resWorkload(res, t, ns); w != nil {
		out.Touched = append(out.Touched, ObjectRef{Kind: w.Kind, Namespace: ns, Name: w.Name, Action: report.ActionRead})
	}
	if err != nil {
		return runTarget{ns: ns}, err
	}
	rt := runTarget{ns: ns, name: res.Name, pod: res.Pod, from: res.From}
	out.Target = rt.String()
	e.logf("%s: %s, the first of %d as %s chooses", t, res.Describe(), res.Matched, s.choice)
	return rt, nil
}

// resWorkload is the workload a resolution read (or tried to), or nil.
func resWorkload(res *kube.ResolvedPod, t kube.PodTarget, ns string) *kube.ObjectRef {
	if res != nil && res.Workload != nil {
		return res.Workload
	}
	if t.Selector == "" && !t.IsPod() {
		ref := kube.RefOf(t.Kind.GVR, t.Kind.Kind, ns, t.Name)
		return &ref
	}
	return nil
}

// unresolvedTarget is a step's Target before its pod is chosen.
func unresolvedTarget(ns string, t kube.PodTarget) string {
	switch {
	case t.Selector != "":
		return "pod " + ns + "/<pod matching " + t.Selector + ">"
	case t.IsPod():
		return "pod " + ns + "/" + t.Name
	}
	return "pod " + ns + "/<pod of " + t.String() + ">"
}

// podOf returns the target's pod: the one listed when it was chosen, else
// from the run's pod watch or the API.
func (t runTarget) podOf(ctx context.Context, e *Env, out *Outcome) (*corev1.Pod, error) {
	if t.pod != nil {
		return t.pod, nil
	}
	return getPod(ctx, e, out, t.ns, t.name)
}

// PlanLookup is what a plan made with a cluster (plan --preflight) read to
// fill in a part known otherwise only at run time: the pod a target
// resolves to, or a pod a copy or debug container is built from.
type PlanLookup struct {
	// What was looked up, e.g. "target deployment/web in prod".
	What string `json:"what" yaml:"what"`
	// OK is false when the run would fail because of it.
	OK bool `json:"ok" yaml:"ok"`
	// Detail says what was found.
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Pod is namespace/name of the pod read by name, if one was.
	Pod string `json:"pod,omitempty" yaml:"pod,omitempty"`
}

// plannedTarget is a target as a plan knows it.
type plannedTarget struct {
	ns, name string
	// parsed is the target as rendered by the plan.
	parsed kube.PodTarget
	// pod is the pod when the plan knows it: created by an earlier step,
	// or read by a plan made with a cluster. Nil otherwise.
	pod *corev1.Pod
	// listed is true when the run finds the pod by listing (a workload or
	// a selector), so it has the pod without reading it again.
	listed bool
	// calls are the reads that resolve the target.
	calls []Call
	// target is the step's Target.
	target string
	choice kube.PodChoice
	// fails is why the run fails on this target (a rendered value that
	// does not parse), or "".
	fails   string
	notes   []string
	lookups []PlanLookup
}

// resolved reports whether the plan knows the pod's name.
func (pt *plannedTarget) resolved() bool { return !kube.Unknown(pt.name) }

// kubectlName is how a kubectl command names the pod: by name when the
// plan knows it, else, for kubectl logs and exec (workload set), the
// workload, which kubectl resolves the same way; else the placeholder.
func (pt *plannedTarget) kubectlName(workload bool) string {
	if workload && !pt.resolved() && pt.parsed.Selector == "" && !pt.parsed.IsPod() {
		return pt.parsed.String()
	}
	return pt.name
}

// plan describes the target: the reads that choose its pod, a placeholder
// name for a pod known only at run time, and the pod itself when the plan
// knows it. needPod says the step builds its objects from the pod (copy,
// debug, cp), so a plan with a cluster reads a pod named directly.
func (s targetSpec) plan(p *Planner, ns string, needPod bool) plannedTarget {
	ns, t, err := s.parse(plannerRender(p), ns)
	pt := plannedTarget{ns: ns, parsed: t, choice: s.choice}
	if err != nil {
		// A syntax error of a rendered value: the run fails on it.
		pt.name = "<pod>"
		pt.target = "pod " + ns + "/" + pt.name
		if errors.As(err, new(emptyValueError)) {
			// Most often a var left for --var: the plan of a runbook
			// checked before its values are known notes it.
			pt.notes = append(pt.notes, "the run fails here: "+err.Error())
		} else {
			pt.fails = err.Error()
		}
		pt.lookups = append(pt.lookups, PlanLookup{What: "target", Detail: err.Error()})
		return pt
	}
	if t.IsPod() {
		pt.name = t.Name
		pt.target = "pod " + ns + "/" + t.Name
		if kube.Unknown(t.Name) && !strings.Contains(t.Name, "metadata.name>") {
			pt.notes = append(pt.notes, fmt.Sprintf("the pod is named at run time (%s): a workload (deployment/NAME) or a selector would also be read and its pods listed, which this plan and its RBAC do not show", s.pod.Raw))
		}
		pt.pod = p.Pod(ns, t.Name)
		if pt.pod == nil && needPod {
			pt.fill(p, t)
		}
		return pt
	}
	pt.listed = true
	list := Call{Verb: "list", Resource: "pods", Namespace: ns}
	if t.Selector != "" {
		pt.name = "<pod matching " + t.Selector + ">"
		list.Note = "labelSelector=" + t.Selector + "; " + s.choiceNote()
	} else {
		pt.name = "<pod of " + t.String() + ">"
		gvr := t.Kind.GVR
		pt.calls = append(pt.calls, Call{Verb: "get", Group: gvr.Group, Version: gvr.Version, Resource: gvr.Resource, Namespace: ns, Name: t.Name,
			Note: "its pod selector"})
		list.Note = "labelSelector=<selector of " + t.String() + ">; " + s.choiceNote()
	}
	pt.calls = append(pt.calls, list)
	pt.target = "pod " + ns + "/" + pt.name
	pt.fill(p, t)
	return pt
}

// choiceNote says how the run chooses among the pods.
func (s targetSpec) choiceNote() string {
	return "the pod is chosen as " + s.choice.String() + " chooses it (docs/format.md#targets)"
}

// fill reads from the cluster, when the plan has one (plan --preflight),
// what the run would find: the pod a target resolves to, or a pod named
// directly. What an earlier step creates is left to the run.
func (pt *plannedTarget) fill(p *Planner, t kube.PodTarget) {
	if p.Cluster == nil || kube.Unknown(t.Name) || kube.Unknown(t.Selector) {
		return
	}
	ctx := cmp.Or[context.Context](p.Context, context.Background())
	if t.IsPod() {
		if p.Creates(kube.PodKind.GVR.Group, "pods", pt.ns, t.Name) {
			return
		}
		key := pt.ns + "/" + t.Name
		pod, err := p.Cluster.Kube.CoreV1().Pods(pt.ns).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			pt.lookups = append(pt.lookups, PlanLookup{What: "pod " + key + " exists", Detail: err.Error(), Pod: key})
			return
		}
		pt.pod = pod
		pt.lookups = append(pt.lookups, PlanLookup{What: "pod " + key + " exists", OK: true, Pod: key,
			Detail: fmt.Sprintf("phase %s, containers: %s", pod.Status.Phase, containerList(pod))})
		return
	}
	what := "target " + t.String() + " in " + pt.ns
	if t.Selector == "" && p.Creates(t.Kind.GVR.Group, t.Kind.GVR.Resource, pt.ns, t.Name) {
		pt.notes = append(pt.notes, t.String()+" is created by an earlier step: its pod is chosen at run time")
		return
	}
	res, err := kube.ResolvePod(ctx, p.Cluster, pt.ns, t, pt.choice)
	if err != nil {
		var sel labels.Selector
		if t.Selector != "" {
			sel, _ = kube.ParseSelector(t.Selector)
		}
		if errors.Is(err, kube.ErrNoPods) && p.mayCreatePods(sel) {
			pt.lookups = append(pt.lookups, PlanLookup{What: what, OK: true, Detail: err.Error() + " yet; earlier steps create objects, so it is chosen at run time"})
			return
		}
		pt.lookups = append(pt.lookups, PlanLookup{What: what, Detail: err.Error()})
		return
	}
	pt.name, pt.pod = res.Name, res.Pod
	pt.target = "pod " + pt.ns + "/" + res.Name + " (from " + res.From + ")"
	pt.lookups = append(pt.lookups, PlanLookup{What: what, OK: true,
		Detail: fmt.Sprintf("pod %s, the first of %d pods (selector %s) as %s chooses", res.Name, res.Matched, res.Selector, pt.choice)})
}

// containerList names a pod's containers, sorted.
func containerList(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// planned starts a step's plan with the target: its Target, the reads that
// resolve it, its notes and, with a cluster, what was looked up.
func (pt *plannedTarget) planned() *Planned {
	return &Planned{Target: pt.target, Calls: append([]Call(nil), pt.calls...), Fails: pt.fails,
		Notes: append([]string(nil), pt.notes...), Lookups: append([]PlanLookup(nil), pt.lookups...)}
}

// emptyValueError says that a field's template rendered to nothing.
type emptyValueError struct{ field, raw string }

func (e emptyValueError) Error() string {
	return fmt.Sprintf("%s %q evaluated to an empty string", e.field, e.raw)
}
