package expression

import "sort"

// Order is where a step stands relative to an expression.
type Order int

// Where a step id stands: no step has it, the step runs before the
// expression, it runs at the expression's step or after it, or it runs
// in the same parallel group (at the same time).
const (
	NoSuchStep Order = iota
	Before
	NotYet
	Sibling
)

// Names says which step ids and variables an expression may use where it
// stands. The loader answers from each id's and variable's position in the
// runbook, so checking n steps takes n lookups rather than a set per step.
type Names interface {
	// Step says where the step with this id stands.
	Step(id string) Order
	// Var reports whether vars.name is declared in spec.vars (or by
	// --var) or set by a step that runs before.
	Var(name string) bool
	// EarlierSteps and KnownVars list the ids of the steps before and the
	// variables known, for a "did you mean"; they are only called to word
	// a problem, and may return nothing.
	EarlierSteps() []string
	KnownVars() []string
}

// Sets is Names from sets of names, for code and tests that have them. A
// nil Vars allows any variable.
type Sets struct {
	Earlier, Later, Vars map[string]bool
}

// Step implements Names.
func (s Sets) Step(id string) Order {
	switch {
	case s.Earlier[id]:
		return Before
	case s.Later[id]:
		return NotYet
	}
	return NoSuchStep
}

// Var implements Names.
func (s Sets) Var(name string) bool { return s.Vars == nil || s.Vars[name] }

// EarlierSteps implements Names.
func (s Sets) EarlierSteps() []string { return keys(s.Earlier) }

// KnownVars implements Names.
func (s Sets) KnownVars() []string { return keys(s.Vars) }

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
