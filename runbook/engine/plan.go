package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// TemporaryNamespace stands in a plan for the namespace a run makes.
const TemporaryNamespace = "<temporary namespace>"

// Plan is what a run would do, computed without a cluster.
type Plan struct {
	Runbook   string `json:"runbook" yaml:"runbook"`
	File      string `json:"file" yaml:"file"`
	Digest    string `json:"digest" yaml:"digest"`
	Namespace string `json:"namespace" yaml:"namespace"`
	// NamespaceFrom says where Namespace comes from (NamespaceSource),
	// for preflight's message when it does not exist.
	NamespaceFrom string `json:"-" yaml:"-"`
	// TemporaryNamespace is true when the run makes its own namespace.
	TemporaryNamespace bool   `json:"temporaryNamespace,omitempty" yaml:"temporaryNamespace,omitempty"`
	AllowPrivileged    bool   `json:"allowPrivileged" yaml:"allowPrivileged"`
	Context            string `json:"context,omitempty" yaml:"context,omitempty"`
	Timeout            string `json:"timeout" yaml:"timeout"`
	// RunID is the run id the plan was made for; empty when unknown (then
	// the suffixes of generated names differ from the run's).
	RunID string        `json:"runID,omitempty" yaml:"runID,omitempty"`
	Setup []steps.Call  `json:"setup,omitempty" yaml:"setup,omitempty"`
	Steps []PlannedStep `json:"steps" yaml:"steps"`
	// Groups are the parallel groups, whose steps (in Steps, by index)
	// run at the same time.
	Groups []PlannedGroup `json:"groups,omitempty" yaml:"groups,omitempty"`
	// Privileged lists every privileged item of the run, by step.
	Privileged []string `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	// RBAC are the rules the run needs, derived from every call of the
	// plan, cleanup's deletions included: all of them together.
	RBAC []rbacv1.PolicyRule `json:"rbac" yaml:"rbac"`
	// Permissions are the same rules by where they apply: one entry per
	// namespace (a Role), and one with no namespace (a ClusterRole) for
	// cluster-scoped resources, requests across all namespaces and
	// namespaces known only at run time.
	Permissions []Permission `json:"permissions" yaml:"permissions"`
	// Cleanup is what the run deletes at the end, in order (reverse order
	// of creation; a temporary namespace last).
	Cleanup []kube.ObjectRef `json:"cleanup" yaml:"cleanup"`
	// CleanupPolicy is spec.cleanup.
	CleanupPolicy string `json:"cleanupPolicy" yaml:"cleanupPolicy"`
	// Leftovers is what cleanup cannot remove.
	Leftovers []kube.Leftover `json:"leftovers,omitempty" yaml:"leftovers,omitempty"`
	// Preflight holds what the cluster said, with --preflight.
	Preflight []Check `json:"preflight,omitempty" yaml:"preflight,omitempty"`
	// secrets knows the secret values the plan holds (see Secrets).
	secrets *report.Redactor
}

// Secrets returns a Redactor of the secret values the plan holds: those of
// spec.secretVars (with --var overrides), literal env values marked
// secret, and the values its templates made from a secret var. What is
// printed of a plan goes through it.
func (p *Plan) Secrets() *report.Redactor {
	if p.secrets == nil {
		return report.NewRedactor()
	}
	return p.secrets
}

// PlannedStep is one step of a plan.
type PlannedStep struct {
	Index      int      `json:"index" yaml:"index"`
	Phase      string   `json:"phase" yaml:"phase"`
	ID         string   `json:"id,omitempty" yaml:"id,omitempty"`
	Name       string   `json:"name" yaml:"name"`
	Kind       string   `json:"kind" yaml:"kind"`
	When       string   `json:"when,omitempty" yaml:"when,omitempty"`
	ForEach    string   `json:"forEach,omitempty" yaml:"forEach,omitempty"`
	Privileged []string `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	Assertions []string `json:"assert,omitempty" yaml:"assert,omitempty"`
	// Group is the number of the step's parallel group (Plan.Groups), 0
	// for none.
	Group   int            `json:"group,omitempty" yaml:"group,omitempty"`
	Planned *steps.Planned `json:"plan" yaml:"plan"`
}

// PlannedGroup is a parallel group of a plan: steps that run at the same
// time.
type PlannedGroup struct {
	// Number counts the groups of the plan from 1.
	Number int    `json:"number" yaml:"number"`
	Name   string `json:"name" yaml:"name"`
	Phase  string `json:"phase" yaml:"phase"`
	// Steps are the indices of the group's steps.
	Steps []int `json:"steps" yaml:"steps"`
	// Concurrency is how many run at once.
	Concurrency int `json:"concurrency" yaml:"concurrency"`
	// OnFailure is wait or cancel.
	OnFailure string `json:"onFailure" yaml:"onFailure"`
	When      string `json:"when,omitempty" yaml:"when,omitempty"`
	Timeout   string `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// podLister is implemented by actions that create pods (apply), so later
// steps of a plan can build copies and debug containers from them.
type podLister interface {
	PlannedPods(p *steps.Planner) []*corev1.Pod
}

// PlanOptions are what a plan may know of the run it describes.
type PlanOptions struct {
	// Namespace overrides spec.namespace, as -n does for a run.
	Namespace string
	// ContextNamespace is the kubeconfig context's namespace, used when
	// neither -n nor spec.namespace names one ("" is default).
	ContextNamespace string
	// RunID is the id the run will have (run --run-id): generated names in
	// the plan are then the run's. Empty: they are derived from a
	// placeholder, and the plan says so.
	RunID string
	// Cluster, when set (plan --preflight), is read to fill in what the
	// plan otherwise knows only at run time: the pods targets resolve to,
	// the pods copies and debug containers are built from. Reads only;
	// Context bounds them.
	Cluster *kube.Clients
	Context context.Context
}

// MakePlan computes the plan of a loaded runbook.
func MakePlan(rb *runbook.Runbook, o PlanOptions) (*Plan, error) {
	if err := check(rb); err != nil {
		return nil, err
	}
	ns := rb.Spec.Namespace
	if o.Namespace != "" {
		ns = o.Namespace
	}
	if ns == "" && !rb.Spec.TemporaryNamespace {
		ns = o.ContextNamespace
		if ns == "" {
			ns = "default"
		}
	}
	runID := o.RunID
	if runID == "" {
		runID = steps.UnknownRunID
	}
	p := &Plan{Runbook: rb.Metadata.Name, File: rb.File, Digest: rb.Digest, Namespace: ns, NamespaceFrom: NamespaceSource(rb, o.Namespace), RunID: o.RunID,
		AllowPrivileged: rb.Spec.AllowPrivileged, Context: rb.Spec.Context, CleanupPolicy: rb.Spec.Cleanup}
	if p.CleanupPolicy == "" {
		p.CleanupPolicy = runbook.CleanupAlways
	}
	timeout := DefaultTimeout
	if rb.Spec.Timeout.Duration > 0 {
		timeout = rb.Spec.Timeout.Duration
	}
	p.Timeout = timeout.String()
	var calls []steps.Call
	p.Setup = append(p.Setup, steps.Call{Verb: "get", Resource: "version", Note: "server version for the report (GET /version, no RBAC needed)"})
	if ns == "" {
		ns = TemporaryNamespace
		if o.RunID != "" {
			ns = temporaryNamespace(o.RunID)
		}
		p.Namespace, p.TemporaryNamespace = ns, true
		p.Setup = append(p.Setup,
			steps.Call{Verb: "create", Resource: "namespaces", Body: map[string]any{"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": temporaryNamespace(runID), "labels": map[string]any{kube.LabelManagedBy: kube.ManagedByValue, kube.LabelRunID: runID},
					"annotations": map[string]any{kube.AnnotationDeadline: fmt.Sprintf("<run start + %s>", runBound(timeout))}}}},
			steps.Call{Verb: "watch", Resource: "serviceaccounts", Namespace: ns, Name: "default", Note: "pods can be created once the default service account exists"})
	}
	calls = append(calls, p.Setup[1:]...)
	// What the plan shows is redacted of the secret vars and of what it makes from them.
	sec := newSecrets(rb)
	p.secrets = sec.red
	scope := &expression.Scope{Vars: map[string]any{}, Steps: map[string]map[string]any{}, Run: map[string]any{"id": "<run id>", "namespace": ns, "context": "<context>"},
		Taint: sec}
	for k, v := range rb.Vars {
		scope.Vars[k] = v
	}
	planner := &steps.Planner{Namespace: ns, Scope: scope, Pods: map[string]*corev1.Pod{}, RunID: runID, Dir: dirOf(rb.File),
		Deadline: fmt.Sprintf("<run start + %s>", runBound(timeout)), Kept: keptReason(rb, false), Cluster: o.Cluster, Context: o.Context}
	if p.TemporaryNamespace {
		// Nothing exists yet in a namespace the run makes.
		planner.Cluster = nil
	}
	index := 0
	secrets := newSecretPlan()
	var cleanup []kube.ObjectRef
	for _, list := range []struct {
		phase string
		steps []*runbook.Step
	}{{"steps", rb.Spec.Steps}, {"onFailure", rb.Spec.OnFailure}, {"finally", rb.Spec.Finally}} {
		groupOf := map[*runbook.Step]int{}
		for _, g := range list.steps {
			if g.Parallel == nil {
				continue
			}
			pg := PlannedGroup{Number: len(p.Groups) + 1, Name: g.Title(), Phase: list.phase, When: g.When.Source,
				Concurrency: g.Parallel.Concurrency, OnFailure: cmp.Or(g.Parallel.OnFailure, runbook.OnFailureWait)}
			if pg.Concurrency <= 0 || pg.Concurrency > len(g.Parallel.Steps) {
				pg.Concurrency = len(g.Parallel.Steps)
			}
			if g.Timeout.Duration > 0 {
				pg.Timeout = g.Timeout.Duration.String()
			}
			for i, m := range g.Parallel.Steps {
				groupOf[m] = pg.Number
				pg.Steps = append(pg.Steps, index+countBefore(list.steps, g)+i+1)
			}
			p.Groups = append(p.Groups, pg)
		}
		for _, s := range runbook.Flatten(list.steps) {
			index++
			planner.StepID = steps.StepID(s.ID, index)
			ps := PlannedStep{Index: index, Phase: list.phase, ID: s.ID, Name: s.Title(), Kind: s.Kind, When: s.When.Source, Group: groupOf[s]}
			for _, a := range s.Assert {
				ps.Assertions = append(ps.Assertions, a.That.Source)
			}
			var selection []steps.Call
			if fe := s.ForEach; fe != nil {
				ps.ForEach = describeForEach(fe, ns)
				if fe.Pods != nil || fe.Nodes != nil {
					// Shown first among the step's calls: the run lists
					// before it fans out.
					selection = append(selection, forEachCall(fe, ns))
				}
			}
			_, action := kindOf(s)
			pl, err := action.Plan(planner)
			if err != nil {
				// Whatever only the run knows is shown as such: an error
				// left is one the run would meet too. The plan says so.
				if pl == nil {
					pl = &steps.Planned{}
				}
				pl.Fails = err.Error()
			}
			pl.Calls = append(selection, pl.Calls...)
			planner.Created(pl)
			secrets.step(planner, s, pl)
			ps.Planned = pl
			if pr, ok := s.Action.(steps.Privileged); ok {
				ps.Privileged = pr.PrivilegeReasons()
			}
			for _, c := range pl.Calls {
				ps.Privileged = appendUnique(ps.Privileged, c.Privileged...)
			}
			for _, why := range ps.Privileged {
				p.Privileged = append(p.Privileged, fmt.Sprintf("step %d (%s): %s", index, ps.Name, why))
			}
			calls = append(calls, pl.Calls...)
			cleanup = append(cleanup, pl.Cleanup...)
			p.Leftovers = append(p.Leftovers, pl.Leftovers...)
			if lister, ok := s.Action.(podLister); ok {
				for _, pod := range lister.PlannedPods(planner) {
					planner.Pods[pod.Namespace+"/"+pod.Name] = pod
				}
			}
			if s.ID != "" {
				view := map[string]any{}
				if lister, ok := s.Action.(podLister); ok {
					if pods := lister.PlannedPods(planner); len(pods) > 0 {
						view["object"] = steps.ObjectMap(pods[len(pods)-1])
					}
				}
				scope.Steps[s.ID] = view
			}
			p.Steps = append(p.Steps, ps)
		}
	}
	// Cleanup runs in reverse order of creation; a temporary namespace,
	// and whatever is left in it, goes last.
	for i := len(cleanup) - 1; i >= 0; i-- {
		p.Cleanup = append(p.Cleanup, cleanup[i])
	}
	if p.TemporaryNamespace {
		p.Cleanup = append(p.Cleanup, kube.RefOf(namespacesGVR, "Namespace", "", temporaryNamespace(runID)))
	}
	api := make([]kube.Call, 0, len(calls)+len(p.Cleanup))
	for _, c := range calls {
		api = append(api, c.API())
		if c.Verb == "watch" {
			// A watch starts with a list (UntilWithSync, the pod watch).
			l := c.API()
			l.Verb = "list"
			api = append(api, l)
		}
	}
	for _, o := range p.Cleanup {
		api = append(api, o.Delete())
	}
	p.RBAC = kube.RulesFor(api)
	p.Permissions = permissions(api, p.TemporaryNamespace)
	return p, nil
}

// countBefore is the number of steps with an action written before g in
// list (groups counted by their steps).
func countBefore(list []*runbook.Step, g *runbook.Step) int {
	for i, s := range list {
		if s == g {
			return len(runbook.Flatten(list[:i]))
		}
	}
	return 0
}

// Permission is what a run needs in one namespace, or cluster-wide.
type Permission struct {
	// Namespace of a Role; "" for a ClusterRole.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Rules are the rules, as kube.RulesFor derives them.
	Rules []rbacv1.PolicyRule `json:"rules" yaml:"rules"`
}

// permissions groups calls by where their rules apply. A call with no
// namespace (a cluster-scoped resource, or a list across namespaces), or
// one whose namespace is known only at run time or made by the run (a
// temporary namespace), needs a cluster-wide rule.
func permissions(calls []kube.Call, temporary bool) []Permission {
	byNS := map[string][]kube.Call{}
	for _, c := range calls {
		ns := c.Namespace
		if temporary || strings.Contains(ns, "<") {
			ns = ""
		}
		byNS[ns] = append(byNS[ns], c)
	}
	var out []Permission
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		if rules := kube.RulesFor(byNS[ns]); len(rules) > 0 {
			out = append(out, Permission{Namespace: ns, Rules: rules})
		}
	}
	return out
}

func describeForEach(fe *runbook.ForEach, ns string) string {
	conc := max(fe.Concurrency, 1)
	switch {
	case fe.Pods != nil:
		where := "namespace " + cmp.Or(fe.Pods.Namespace, ns)
		if fe.Pods.AllNamespaces {
			where = "all namespaces"
		}
		return fmt.Sprintf("each pod matching %q in %s, %d at a time", fe.Pods.Selector, where, conc)
	case fe.Nodes != nil:
		return fmt.Sprintf("each node matching %q, %d at a time", fe.Nodes.Selector, conc)
	}
	return fmt.Sprintf("each item of %s, %d at a time", fe.Items.Source, conc)
}

func forEachCall(fe *runbook.ForEach, ns string) steps.Call {
	switch {
	case fe.Pods != nil:
		c := steps.Call{Verb: "list", Resource: "pods", Namespace: cmp.Or(fe.Pods.Namespace, ns), Note: "forEach selection " + fe.Pods.Selector}
		if fe.Pods.AllNamespaces {
			c.Namespace = ""
		}
		return c
	}
	return steps.Call{Verb: "list", Resource: "nodes", Note: "forEach selection " + fe.Nodes.Selector}
}

func appendUnique(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			if l == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}
