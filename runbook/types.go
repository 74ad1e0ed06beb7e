// Package runbook is the runbook format: its types, the strict loader that
// decodes through yaml.Node and reports every problem of a file at once as
// file:line:col, the compilation of every expression at load time, and the
// executor that runs a loaded runbook against a cluster.
package runbook

import (
	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// APIVersion and Kind identify the format in a file's envelope.
const (
	APIVersion = "runbook/v1alpha1"
	Kind       = "Runbook"
)

// Cleanup policies of spec.cleanup.
const (
	CleanupAlways    = "always"
	CleanupOnSuccess = "onSuccess"
	CleanupNever     = "never"
)

// Runbook is a reviewed, declarative debugging procedure.
type Runbook struct {
	// APIVersion must be runbook/v1alpha1.
	APIVersion string `yaml:"apiVersion" json:"apiVersion" enum:"runbook/v1alpha1"`
	// Kind must be Runbook.
	Kind string `yaml:"kind" json:"kind" enum:"Runbook"`
	// Metadata names and describes the runbook.
	Metadata Metadata `yaml:"metadata" json:"metadata"`
	// Spec is what the runbook does.
	Spec Spec `yaml:"spec" json:"spec"`

	// File is the path the runbook was read from.
	File string `yaml:"-" json:"-"`
	// Digest is "sha256:" and the hex digest of the file's bytes.
	Digest string `yaml:"-" json:"-"`
	// Vars are spec.vars with --var overrides applied.
	Vars map[string]any `yaml:"-" json:"-"`
	// NamespaceAt is where spec.namespace is written (file:line:col), for
	// the message of a namespace that does not exist; "" when it is not.
	NamespaceAt string `yaml:"-" json:"-"`
}

// Metadata names and describes a runbook.
type Metadata struct {
	// Name of the runbook, shown in reports.
	Name string `yaml:"name" json:"name"`
	// Description says what the runbook is for.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Labels for people and tools; not used by runbook itself.
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Annotations for people and tools; not used by runbook itself.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// Spec is what a runbook does.
type Spec struct {
	// Namespace the run works in. As kubectl: -n wins, then this, then the
	// kubeconfig context's namespace, then default.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// TemporaryNamespace makes the run work in a namespace of its own,
	// created for it and deleted at cleanup (unless -n names one). It
	// cannot be combined with namespace.
	TemporaryNamespace bool `yaml:"temporaryNamespace,omitempty" json:"temporaryNamespace,omitempty"`
	// Context is a glob the current kube context must match, or the run
	// refuses to start (no accidental production runs).
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// Timeout is the deadline for the whole run (default 10m); more than 0.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" omit:"the default of 10m (--timeout overrides it)"`
	// AllowPrivileged must be true for node steps and privileged profiles.
	AllowPrivileged bool `yaml:"allowPrivileged,omitempty" json:"allowPrivileged,omitempty"`
	// Cleanup is always (default), onSuccess or never.
	Cleanup string `yaml:"cleanup,omitempty" json:"cleanup,omitempty" enum:"always,onSuccess,never"`
	// Vars are values for ${{ vars.NAME }}; --var NAME=VALUE overrides them.
	Vars map[string]any `yaml:"vars,omitempty" json:"vars,omitempty"`
	// SecretVars names vars whose values are secret: they, and values set
	// into them, are redacted from every report and from live progress.
	SecretVars []string `yaml:"secretVars,omitempty" json:"secretVars,omitempty"`
	// Steps run in order; the first failure stops the run unless the step
	// has continueOnError.
	Steps []*Step `yaml:"steps" json:"steps"`
	// OnFailure steps run only when something failed (events, logs).
	OnFailure []*Step `yaml:"onFailure,omitempty" json:"onFailure,omitempty"`
	// Finally steps always run, even after a failure or an interrupt.
	Finally []*Step `yaml:"finally,omitempty" json:"finally,omitempty"`
}

// Step is one action with its checks. Exactly one action key (apply,
// exec, debug, copy, node, get, wait, logs, events, delete, local) chooses
// the kind.
type Step struct {
	// ID names the step for steps.ID in later expressions.
	ID string `yaml:"id,omitempty" json:"id,omitempty"`
	// Name is a human title for reports.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Description says why the step is there.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// When is an expression; false skips the step.
	When expression.Expr `yaml:"when,omitempty" json:"when,omitempty"`
	// Timeout of the step (default: what is left of the run's); more than 0.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" omit:"the default: what is left of the run's (or its group's) timeout"`
	// ExpectFailure makes a failed action pass (and a successful one fail).
	ExpectFailure bool `yaml:"expectFailure,omitempty" json:"expectFailure,omitempty"`
	// ContinueOnError lets the run go on after this step fails.
	ContinueOnError bool `yaml:"continueOnError,omitempty" json:"continueOnError,omitempty"`
	// Assert lists expressions that must all be true.
	Assert []Assertion `yaml:"assert,omitempty" json:"assert,omitempty"`
	// Set captures values into vars: name to expression.
	Set []Setter `yaml:"set,omitempty" json:"set,omitempty"`
	// ForEach fans the step out over pods, nodes or a list.
	ForEach *ForEach `yaml:"forEach,omitempty" json:"forEach,omitempty"`
	// Parallel makes the step a group whose steps run at the same time,
	// instead of an action. A group takes only name, description, when and
	// timeout besides; groups do not nest.
	Parallel *Parallel `yaml:"parallel,omitempty" json:"parallel,omitempty"`

	// Kind is the action key (KindParallel for a group).
	Kind string `yaml:"-" json:"kind"`
	// Action is the decoded action spec.
	Action Action `yaml:"-" json:"-"`
	// Line and Column locate the step in the file.
	Line, Column int `yaml:"-" json:"-"`

	actionNode *yaml.Node
	// groupNode is the value of parallel, for the positions of errors.
	groupNode *yaml.Node
}

// Title is the step's name, or its kind and id when it has none.
func (s *Step) Title() string {
	if s.Name != "" {
		return s.Name
	}
	if s.Parallel != nil {
		return "parallel group"
	}
	if s.ID != "" {
		return s.Kind + " " + s.ID
	}
	return s.Kind
}

// KindParallel is the Kind of a parallel group.
const KindParallel = "parallel"

// The failure policies of a parallel group (parallel.onFailure): what
// happens to the group's running steps when one of them fails. Steps of the
// group not yet started never start, whatever the policy.
const (
	// OnFailureWait lets the running steps finish (the default).
	OnFailureWait = "wait"
	// OnFailureCancel cancels the running steps.
	OnFailureCancel = "cancel"
)

// Parallel is a group of steps that run at the same time. Their results
// are kept in the order written; a step of the group cannot read another
// step of the group (steps.ID, a var one of them sets), the steps after
// the group can read all of them.
type Parallel struct {
	// Concurrency is how many of the steps run at once (default: all).
	// Steps start in the order written.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty" omit:"the default: all of them"`
	// OnFailure is what happens to the running steps of the group when
	// one fails (without continueOnError): wait (default) lets them
	// finish, cancel stops them. The steps not started yet never start.
	OnFailure string `yaml:"onFailure,omitempty" json:"onFailure,omitempty" enum:"wait,cancel"`
	// Steps are the steps of the group (no group among them).
	Steps []*Step `yaml:"steps" json:"steps"`
}

// Flatten returns the steps of list in the order written, each parallel
// group replaced by its steps: the steps that have an action.
func Flatten(list []*Step) []*Step {
	out := make([]*Step, 0, len(list))
	for _, s := range list {
		if s == nil {
			continue
		}
		if s.Parallel != nil {
			out = append(out, Flatten(s.Parallel.Steps)...)
			continue
		}
		out = append(out, s)
	}
	return out
}

// ActionSteps returns every step with an action of the runbook, in the
// order written: steps, onFailure, finally, groups flattened.
func (rb *Runbook) ActionSteps() []*Step {
	var out []*Step
	for _, list := range [][]*Step{rb.Spec.Steps, rb.Spec.OnFailure, rb.Spec.Finally} {
		out = append(out, Flatten(list)...)
	}
	return out
}

// Assertion is an expression that must be true after the step. It is
// written as a string, or as {that: EXPR, message: TEXT}.
type Assertion struct {
	// That is the boolean expression.
	That expression.Expr `yaml:"that" json:"that"`
	// Message is shown when the assertion fails.
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
}

// Setter captures the value of an expression into vars.NAME.
type Setter struct {
	Name string
	Expr expression.Expr
}

// ForEach fans a step out: the step runs once per item, with item set.
type ForEach struct {
	// Pods selects pods by label selector; item is the pod.
	Pods *Selection `yaml:"pods,omitempty" json:"pods,omitempty"`
	// Nodes selects nodes by label selector; item is the node.
	Nodes *Selection `yaml:"nodes,omitempty" json:"nodes,omitempty"`
	// Items is an expression giving a list; item is each element.
	Items expression.Expr `yaml:"items,omitempty" json:"items,omitempty"`
	// Concurrency is how many items run at once (default 1).
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty" omit:"the default of 1"`
	// FailFast stops the other items after the first failure.
	FailFast bool `yaml:"failFast,omitempty" json:"failFast,omitempty"`
}

// Selection chooses pods or nodes.
type Selection struct {
	// Selector is a label selector, e.g. app=web.
	Selector string `yaml:"selector,omitempty" json:"selector,omitempty"`
	// Namespace of the pods (default: the run's); ignored for nodes.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// AllNamespaces selects pods in every namespace.
	AllNamespaces bool `yaml:"allNamespaces,omitempty" json:"allNamespaces,omitempty"`
}
