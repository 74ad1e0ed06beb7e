package runbook

import "fmt"

// Action is the decoded spec of one step's action. The format decodes and
// checks it; package steps gives it a plan and a run, and the engine runs it.
type Action interface {
	// Check reports what the types cannot: required fields, conflicts,
	// privilege. Field names in the errors are YAML keys of the spec.
	Check(c *CheckContext) []FieldError
}

// CheckContext is what an action's Check may look at.
type CheckContext struct {
	// AllowPrivileged is spec.allowPrivileged (or --allow-privileged).
	AllowPrivileged bool
	// Dir is the directory of the runbook file, for file references.
	Dir string
}

// FieldError is a problem with one field of a spec; the loader turns Field
// (a YAML key, or "" for the whole action) into a file position.
type FieldError struct {
	Field   string
	Message string
}

// FieldErrorf makes a FieldError with a formatted message.
func FieldErrorf(field, format string, args ...any) FieldError {
	return FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Result is a name that a step kind's run provides to the expressions
// evaluated after it (assert, set) and to later steps as steps.ID.NAME.
type Result struct {
	// Name is the expression name, e.g. stdout.
	Name string
	// Type is a value of the result's type ("" for text, 0 for a number,
	// map[string]any{} for an object, []any{} for a list): expressions are
	// type-checked against it at load time.
	Type any
	// Doc says what the result holds, for the docs and help.
	Doc string
}

// StepKind is a step kind as the format sees it: the key that selects it, how
// to make an empty spec to decode into, and the results its runs provide.
type StepKind struct {
	// Name is the key that selects the kind in a step, e.g. "debug".
	Name string
	// Summary is one line for help text and the schema.
	Summary string
	// New returns a pointer to a zero spec, ready to be decoded.
	New func() Action
	// Results are the names the kind's runs provide.
	Results []Result
}

// Kinds is the table of step kinds the loader decodes actions with (the
// registry of package steps). The format itself knows no kind.
type Kinds interface {
	// Lookup returns the kind selected by key.
	Lookup(key string) (StepKind, bool)
	// Names returns the kinds' keys, sorted.
	Names() []string
}
