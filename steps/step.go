// Package steps holds the step kinds of a runbook: one file per kind, each
// registered once in the table of registry.go. The loader, the help text,
// `runbook plan`, the schema generator and the executor all read that table.
//
// A kind is a spec type (decoded strictly from YAML, its fields documented
// for the schema) implementing Action: Check for what the types cannot say,
// Plan to describe without a cluster what Run will send, and Run to do it.
// Plan and Run share the pure builders of package kube, so a plan shows
// exactly what a run sends.
package steps

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// Kind describes a step kind: the format's view of it (key, spec, results)
// and how to read its results from an Outcome.
type Kind struct {
	// Name is the key that selects the kind in a step, e.g. "debug".
	Name string
	// Summary is one line for help text and the schema.
	Summary string
	// New returns a pointer to a zero spec, ready to be decoded.
	New func() Action
	// Results are the names (stdout, pod, ...) the kind's runs provide to
	// assertions, set and later steps.
	Results []Result
}

// Format returns the kind as the format package sees it.
func (k Kind) Format() runbook.StepKind {
	out := runbook.StepKind{Name: k.Name, Summary: k.Summary, New: func() runbook.Action { return k.New() }}
	for _, r := range k.Results {
		out.Results = append(out.Results, r.Result)
	}
	return out
}

// Action is the spec of one step's action: the format's Action (decoded
// and checked at load time) with a plan and a run.
type Action interface {
	runbook.Action
	// Plan describes the API calls Run would make, without a cluster.
	Plan(p *Planner) (*Planned, error)
	// Run performs the action. It never panics on cluster answers: every
	// failure is the Outcome's Err.
	Run(ctx context.Context, e *Env) *Outcome
}

// Privileged is implemented by actions that can need allowPrivileged.
type Privileged interface {
	// PrivilegeReasons says why the action is privileged; empty if it is not.
	PrivilegeReasons() []string
}

func fieldErr(field, format string, args ...any) runbook.FieldError {
	return runbook.FieldErrorf(field, format, args...)
}

// EnvVar is an environment variable of a debug container or local command.
type EnvVar struct {
	// Name of the variable.
	Name string `yaml:"name" json:"name"`
	// Value, which may hold ${{ }} expressions.
	Value expression.Template `yaml:"value" json:"value"`
	// Secret marks the value for redaction in every report.
	Secret bool `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// Env is what Run gets: the cluster, the run and the scope for templates.
type Env struct {
	Clients   *kube.Clients
	Namespace string
	RunID     string
	// Deadline is the value of the deadline annotation on what the run
	// creates (kube.AnnotationDeadline).
	Deadline string
	// Kept is why the run keeps what it creates (kube.AnnotationKept), or "".
	Kept    string
	Tracker *kube.Tracker
	// Pods returns the run's pod watcher of a namespace, shared by every
	// wait of the run (see kube.PodWatcher for which watch serves a pod).
	Pods   func(namespace string) *kube.PodWatcher
	Scope  *expression.Scope
	StepID string
	// MaxOutput caps each of stdout and stderr, in bytes.
	MaxOutput int
	// Logf reports progress (e.g. "waiting for pod x").
	Logf func(format string, args ...any)
	// Dir is the runbook file's directory, for local commands and files.
	Dir string
	// AllowPrivileged is the run's allowPrivileged, for what only the run
	// can check (a profile given by an expression).
	AllowPrivileged bool
	// ArtifactDir is the run's artifact directory: a step that produces
	// files writes them under it (creating it when it is the first) and
	// lists them in Outcome.Artifacts. Empty when the run keeps no files.
	ArtifactDir string
	// Live, when set, prepares the live output of a step's command, before
	// the command starts: the run learns the secret values the step holds
	// (its secret env values) and reads the Secrets of the pods the command
	// runs in or reads from, so that no line it shows holds one of them. It
	// returns where to hand the lines as they come; nil when the run shows
	// nothing live for this step (its output may hold a secret that the run
	// learns only when it ends, as a var of spec.secretVars set from it).
	Live func(ctx context.Context, secrets []string, pods ...EnteredPod) kube.OutputFunc
}

// EnteredPod is a pod a step's command runs in or whose processes it sees
// (exec, an ephemeral debugger): the Secrets it references may show in the
// command's output.
type EnteredPod struct {
	Namespace, Name string
	// Pod is the pod when the step has it; nil: the run finds it.
	Pod *corev1.Pod
}

// live returns where to hand a command's output as it comes (see
// Env.Live), or nil.
func (e *Env) live(ctx context.Context, secrets []string, pods ...EnteredPod) kube.OutputFunc {
	if e.Live == nil {
		return nil
	}
	return e.Live(ctx, secrets, pods...)
}

// Render evaluates a template in the step's scope.
func (e *Env) Render(t expression.Template) (string, error) { return t.Render(e.Scope) }

// RenderAll evaluates a list of templates.
func (e *Env) RenderAll(ts []expression.Template) ([]string, error) {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		s, err := t.Render(e.Scope)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (e *Env) logf(format string, args ...any) {
	if e.Logf != nil {
		e.Logf(format, args...)
	}
}

// ObjectRef names an object a step touched.
type ObjectRef struct {
	Kind, Namespace, Name string
	// Action is one of report's: ActionCreated, ActionPatched, ActionRead,
	// ActionDeleted or ActionExec.
	Action string
}

// Outcome is what a step's action produced, before assertions.
type Outcome struct {
	Stdout, Stderr                   string
	StdoutTruncated, StderrTruncated bool
	// StdoutCut says that Stdout ends where a limit the step was given cut
	// it (logs' limitBytes), not the run's: its end may be the start of a
	// secret, which the run then redacts too (report.Redactor.Cut).
	StdoutCut bool
	// ExitCode is set for commands (exec, local, debug and node containers).
	ExitCode *int
	// Err is why the action failed, nil if it succeeded.
	Err error
	// Pod is the pod after the step (target, copy or node pod), as JSON.
	Pod       map[string]any
	Container map[string]any
	Node      map[string]any
	Object    map[string]any
	Objects   []any
	// Target is a short name of what the step acted on: "pod ns/name".
	Target string
	// Kubectl is the equivalent kubectl command line, for humans.
	Kubectl string
	// Touched lists the objects the step created, patched, read or deleted.
	Touched []ObjectRef
	// Leftovers says what cleanup cannot remove.
	Leftovers []kube.Leftover
	// Warnings are what the step met that did not fail it but that the
	// reader should know (e.g. a cordoned node); they go to the result's
	// warnings.
	Warnings []string
	// Secrets are values to redact from the report (secret env values).
	Secrets []string
	// Values holds the results a kind declares beyond the common ones
	// above, by name (see Result).
	Values map[string]any
	// Artifacts are the files the step wrote under Env.ArtifactDir, with
	// paths relative to it (see report.NewArtifact).
	Artifacts []report.Artifact
}

func (o *Outcome) fail(err error) *Outcome {
	if o.Err == nil {
		o.Err = err
	}
	return o
}

func intPtr(i int) *int { return &i }

// Planned is what a step would do.
type Planned struct {
	// Target is what the step acts on, as far as is known before the run.
	Target string `json:"target,omitempty" yaml:"target,omitempty"`
	// Calls are the API requests, in order.
	Calls []Call `json:"calls" yaml:"calls"`
	// Kubectl is the equivalent kubectl command line, if there is one.
	Kubectl string `json:"kubectl,omitempty" yaml:"kubectl,omitempty"`
	// Cleanup lists what the run will delete afterwards because of this step.
	Cleanup []kube.ObjectRef `json:"cleanup,omitempty" yaml:"cleanup,omitempty"`
	// Leftovers lists what cleanup cannot remove.
	Leftovers []kube.Leftover `json:"leftovers,omitempty" yaml:"leftovers,omitempty"`
	// Notes are anything else worth knowing.
	Notes []string `json:"notes,omitempty" yaml:"notes,omitempty"`
	// Fails says why the run will fail at this step, when the plan can
	// tell (an error of the step's objects on a pod the plan knows).
	Fails string `json:"fails,omitempty" yaml:"fails,omitempty"`
	// Lookups are what a plan made with a cluster (plan --preflight) read
	// to fill in the parts otherwise known only at run time.
	Lookups []PlanLookup `json:"lookups,omitempty" yaml:"lookups,omitempty"`
}

// Call is one API request of a plan.
type Call struct {
	// Verb is the Kubernetes verb: get, list, watch, create, patch, delete.
	Verb string `json:"verb" yaml:"verb"`
	// Group is the API group, "" for core.
	Group string `json:"group,omitempty" yaml:"group,omitempty"`
	// Version is the API version; "" is v1 for the core group.
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
	// Resource is the plural resource name, e.g. pods.
	Resource string `json:"resource" yaml:"resource"`
	// Subresource, e.g. ephemeralcontainers, exec, log.
	Subresource string `json:"subresource,omitempty" yaml:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
	// PatchType for patches, e.g. application/strategic-merge-patch+json.
	PatchType string `json:"patchType,omitempty" yaml:"patchType,omitempty"`
	// Body is the object or patch sent.
	Body any `json:"body,omitempty" yaml:"body,omitempty"`
	// Privileged lists why the object sent is privileged.
	Privileged []string `json:"privileged,omitempty" yaml:"privileged,omitempty"`
	// Note explains the call.
	Note string `json:"note,omitempty" yaml:"note,omitempty"`
}

// API is the call as the API server's authorizer sees it.
func (c Call) API() kube.Call {
	v := c.Version
	if v == "" && c.Group == "" {
		v = "v1"
	}
	return kube.Call{Verb: c.Verb, Group: c.Group, Version: v, Resource: c.Resource, Subresource: c.Subresource, Namespace: c.Namespace, Name: c.Name}
}

// String is the one-line form of a call: "PATCH pods/ephemeralcontainers default/noshell".
func (c Call) String() string { return c.API().String() }

// Planner is what Plan gets: the run as far as it is known without a cluster.
type Planner struct {
	// Namespace of the run; "<temporary>" when the run makes one.
	Namespace string
	// Scope has vars and simulated results of earlier steps.
	Scope *expression.Scope
	// Pods are pods the runbook itself creates earlier, by namespace/name,
	// so copies and debug containers can be built from them.
	Pods map[string]*corev1.Pod
	// RunID is the run's id when the plan is made for a known run
	// (plan --run-id), else UnknownRunID.
	RunID string
	// Deadline describes the run's deadline annotation, e.g. "<run start + 10m0s + 2m0s>".
	Deadline string
	// Kept is why the run keeps what it creates (kube.AnnotationKept), or "".
	Kept string
	// StepID identifies the step in the run, as Env.StepID does: plan and
	// run derive generated names from RunID and StepID alike.
	StepID string
	// Dir is the runbook file's directory.
	Dir string
	// Cluster, when set (plan --preflight), is read (never written) to fill
	// in what a plan otherwise knows only at run time: the pod a workload
	// or a selector resolves to, a pod a copy or a debug container is built
	// from. Context bounds those reads.
	Cluster *kube.Clients
	Context context.Context
	// created holds what earlier steps create (see Created), by
	// group/resource/namespace/name.
	created map[string]bool
}

// Created records the objects a planned step creates, so that later steps
// leave what only the run can see of them to the run.
func (p *Planner) Created(pl *Planned) {
	if p.created == nil {
		p.created = map[string]bool{}
	}
	for _, c := range pl.Calls {
		if c.Verb == "create" && c.Subresource == "" {
			p.created[c.Group+"/"+c.Resource+"/"+c.Namespace+"/"+c.Name] = true
		}
	}
}

// Creates reports whether an earlier step creates the object, or creates
// objects the plan cannot name (a manifest read at run time).
func (p *Planner) Creates(group, resource, namespace, name string) bool {
	if p.created[group+"/"+resource+"/"+namespace+"/"+name] {
		return true
	}
	for k := range p.created {
		if kube.Unknown(k) {
			return true
		}
	}
	return false
}

// mayCreatePods reports whether earlier steps may create pods that a
// selector matches: pods with matching labels, workloads (whose pods'
// labels the plan does not follow), or objects the plan cannot name. A
// nil selector stands for the pods of a workload that exists already.
func (p *Planner) mayCreatePods(sel labels.Selector) bool {
	for k := range p.created {
		group, _, _ := strings.Cut(k, "/")
		if kube.Unknown(k) || sel != nil && (group == "apps" || group == "batch") {
			return true
		}
	}
	if sel == nil {
		return false
	}
	for _, pod := range p.Pods {
		if sel.Matches(labels.Set(pod.Labels)) {
			return true
		}
	}
	return false
}

// UnknownRunID stands for the run id in a plan made without one.
const UnknownRunID = "<run id>"

// StepID identifies a step in a run: its id and its position, so two
// steps never share generated names. Plan and run both use it.
func StepID(id string, index int) string { return fmt.Sprintf("%s-%d", id, index) }

// NameSeed is what generated names (node pods, renamed debug containers)
// are derived from, the same way in a plan and in its run.
func NameSeed(runID, stepID string) string { return runID + "/" + stepID }

// TargetSeed is NameSeed for one target of a fanned-out step (forEach): the
// seed followed by the target, item (the pod, the node or the element the
// target runs for) as JSON, so that two targets on one node (two replicas,
// several commands) do not name the same node pod. A plan, which does not
// expand a forEach, does not know it.
func TargetSeed(seed string, item any) string { return seed + "/" + expression.Text(item) }

// nameSeed is the seed of the step's generated names.
func (p *Planner) nameSeed() string { return NameSeed(p.RunID, p.StepID) }

// stamp marks what the run would create: its labels, and its deadline
// as the plan describes it.
func (p *Planner) stamp() kube.RunStamp {
	return kube.RunStamp{RunID: p.RunID, Deadline: p.Deadline, Kept: p.Kept}
}

// stamp marks what the run creates: its labels and its deadline.
func (e *Env) stamp() kube.RunStamp {
	return kube.RunStamp{RunID: e.RunID, Deadline: e.Deadline, Kept: e.Kept}
}

// nameSeed is the seed of the step's generated names; for a target of a
// fan-out, the target's (see TargetSeed).
func (e *Env) nameSeed() string {
	seed := NameSeed(e.RunID, e.StepID)
	if e.fanOut() {
		seed = TargetSeed(seed, e.Scope.Item)
	}
	return seed
}

// fanOut reports whether the step runs for one target of a forEach: only
// a forEach sets item.
func (e *Env) fanOut() bool { return e.Scope != nil && e.Scope.Item != nil }

// Render evaluates what it can of a template; unknown parts show as <expr>.
func (p *Planner) Render(t expression.Template) string {
	s, _ := t.RenderPartial(p.Scope)
	return s
}

// RenderAll is Render for lists.
func (p *Planner) RenderAll(ts []expression.Template) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, p.Render(t))
	}
	return out
}

// Pod returns a pod the runbook creates earlier, or nil.
func (p *Planner) Pod(namespace, name string) *corev1.Pod {
	return p.Pods[namespace+"/"+name]
}

// resolveFile makes a file reference relative to the runbook's directory.
func resolveFile(dir, file string) string {
	if filepath.IsAbs(file) || dir == "" {
		return file
	}
	return filepath.Join(dir, file)
}
