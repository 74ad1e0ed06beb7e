// Package expression compiles and evaluates the expressions of a runbook
// (assert, when, set, wait, and ${{ }} inside strings) with expr-lang.
//
// Every expression is compiled when the runbook is loaded, against a typed
// Scope and a per-step Context that says which names exist at that point, so
// a typo or a reference to a later step is an error with a position before
// anything touches a cluster. Nothing is compiled while a runbook runs.
//
// Every evaluation is bounded (see MemoryBudget, MaxListElements,
// MaxStringBytes, MaxValueBytes, MaxBuiltBytes): an expression or a
// template that would build a huge value fails with a *BudgetError
// instead, in a run as in a plan.
package expression

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Scope is what an expression sees: vars, steps, run and item, and after
// a step's action its results by name. Objects read from the cluster (pod,
// node, object) are plain JSON maps, so expressions use the same field
// names as kubectl's JSON.
type Scope struct {
	Vars  map[string]any
	Steps map[string]map[string]any
	Run   map[string]any
	Item  any
	// Results are the step's results (assert and set only): the names its
	// kind declares, with error and duration.
	Results map[string]any
	// Taint, when set, is told of each value an evaluation makes from a
	// secret variable (see Taint).
	Taint Taint
}

// Names that every scope has, whatever the step.
const (
	NameVars  = "vars"
	NameSteps = "steps"
	NameRun   = "run"
	NameItem  = "item"
	// NameError and NameDuration are results of every step.
	NameError    = "error"
	NameDuration = "duration"
)

// env is the scope as expr-lang's environment.
func (s *Scope) env() map[string]any {
	m := make(map[string]any, len(s.Results)+4)
	for k, v := range s.Results {
		m[k] = v
	}
	m[NameVars], m[NameSteps], m[NameRun], m[NameItem] = s.Vars, s.Steps, s.Run, s.Item
	return m
}

// CommonResults are the results every step has: the action's error ("" if
// it succeeded) and its duration in seconds.
func CommonResults() map[string]any {
	return map[string]any{NameError: "", NameDuration: 0.0}
}

// Context says which names an expression may use where it stands.
type Context struct {
	// Result is true for expressions evaluated after the action (assert,
	// set); false for when and templates, evaluated before it.
	Result bool
	// Results are the result names the step kind provides where the
	// expression stands, each with a value of its type.
	Results map[string]any
	// Known are the result names of every kind, with a value of their
	// type, so a name another kind provides gets a precise message.
	Known map[string]any
	// Kind names the step kind, for messages.
	Kind string
	// Names says which step ids and variables exist where the expression
	// stands; nil means no step and any variable.
	Names Names
	// ForEach is true inside a fanned-out step, where item exists.
	ForEach bool
	// Bool requires a boolean result.
	Bool bool
}

// Problem is a compile error at a position relative to the expression's
// source: Line is 1-based, Column is 0-based, as expr-lang reports them.
type Problem struct {
	Line, Column int
	Message      string
}

// Error formats the error.
func (p Problem) Error() string { return fmt.Sprintf("%d:%d: %s", p.Line, p.Column, p.Message) }

// Program is a compiled expression with the sub-expressions whose values
// are shown when an assertion fails.
type Program struct {
	Source  string
	program *vm.Program
	parts   []part
	reads   Reads
}

type part struct {
	source  string
	program *vm.Program
	reads   Reads
}

// compileEnv is the environment an expression is type-checked against:
// the names every scope has, every known result name, and the results of
// the kind (whose types win). item is of any type.
func compileEnv(c Context) types.Map {
	env := types.Map{
		NameVars: types.TypeOf(map[string]any{}), NameSteps: types.TypeOf(map[string]map[string]any{}),
		NameRun: types.TypeOf(map[string]any{}), NameItem: types.Any,
	}
	add := func(m map[string]any) {
		for k, v := range m {
			env[k] = typeOf(v)
		}
	}
	add(c.Known)
	add(CommonResults())
	add(c.Results)
	return env
}

// typeOf is the expr-lang type of a result's sample value; nil is any.
func typeOf(v any) types.Type {
	if v == nil {
		return types.Any
	}
	return types.TypeOf(v)
}

// options are the compile options of an expression in context c, but for
// expr.AsBool.
func options(c Context) []expr.Option {
	opts := append([]expr.Option{expr.Env(compileEnv(c))}, functions()...)
	return append(opts, budgetOptions()...)
}

// Compile compiles src for the place described by c. It returns every
// problem found, positioned inside src.
func Compile(src string, c Context) (*Program, []Problem) {
	if strings.TrimSpace(src) == "" {
		return nil, []Problem{{Line: 1, Column: 0, Message: "empty expression"}}
	}
	prog, err := compile(src, c)
	if err != nil {
		if p, ok := shadowedCall(src, c); ok {
			return nil, []Problem{p}
		}
		return nil, []Problem{problemOf(src, err)}
	}
	node := prog.Node()
	ast.Walk(&node, unguard{})
	if probs := checkNames(src, &node, c); len(probs) > 0 {
		return nil, probs
	}
	p := &Program{Source: src, program: prog, reads: readsOf(&node)}
	if c.Bool {
		// Only a condition that fails shows its parts.
		p.parts = compileParts(&node, c)
	}
	return p, nil
}

// shadowedCall finds a call of a name that a result of the step hides
// where the expression stands (duration, error, or a result of its kind,
// which type-checking reports as "float64 is not callable").
func shadowedCall(src string, c Context) (Problem, bool) {
	if checkNesting(src) != nil {
		// The parser's recursion is bounded by this check only.
		return Problem{}, false
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return Problem{}, false
	}
	v := &shadowVisitor{names: map[string]bool{}}
	for _, m := range []map[string]any{CommonResults(), c.Results, c.Known} {
		for k := range m {
			v.names[k] = true
		}
	}
	ast.Walk(&tree.Node, v)
	if v.call == nil {
		return Problem{}, false
	}
	line, col := position(src, v.call.Location().From)
	msg := fmt.Sprintf("%s is a result of a step here, not a function", v.name)
	if v.builtin {
		msg += fmt.Sprintf(": it hides expr-lang's %s()", v.name)
	}
	if v.name == NameDuration {
		msg += `; compare times with date arithmetic instead, e.g. (now() - date(x)).Hours() > 1`
	}
	return Problem{Line: line, Column: col, Message: msg}, true
}

// shadowVisitor finds the first call of one of names.
type shadowVisitor struct {
	names   map[string]bool
	call    ast.Node
	name    string
	builtin bool
}

// Visit implements ast.Visitor.
func (v *shadowVisitor) Visit(node *ast.Node) {
	if v.call != nil {
		return
	}
	switch n := (*node).(type) {
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && v.names[id.Value] {
			v.call, v.name = n, id.Value
		}
	case *ast.BuiltinNode:
		if v.names[n.Name] {
			v.call, v.name, v.builtin = n, n.Name, true
		}
	}
}

func problemOf(src string, err error) Problem {
	if fe, ok := err.(*file.Error); ok {
		return Problem{Line: max(fe.Line, 1), Column: fe.Column, Message: fe.Message}
	}
	return Problem{Line: 1, Column: 0, Message: err.Error()}
}

// position converts a rune offset in src to a 1-based line and 0-based column.
func position(src string, offset int) (int, int) {
	line, col, i := 1, 0, 0
	for _, r := range src {
		if i == offset {
			break
		}
		if r == '\n' {
			line++
			col = 0
		} else {
			col++
		}
		i++
	}
	return line, col
}

type nameChecker struct {
	src   string
	c     Context
	names Names
	probs []Problem
}

func (v *nameChecker) add(n ast.Node, format string, args ...any) {
	line, col := position(v.src, n.Location().From)
	v.probs = append(v.probs, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// Visit implements ast.Visitor.
func (v *nameChecker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		name := n.Value
		_, common := CommonResults()[name]
		_, known := v.c.Known[name]
		_, provided := v.c.Results[name]
		if common || known || provided {
			if !v.c.Result {
				v.add(n, "%s is a result of the step: it can be used in assert and set, not here", name)
				return
			}
			if common || provided {
				return
			}
			names := make([]string, 0, len(v.c.Results)+2)
			for k := range v.c.Results {
				names = append(names, k)
			}
			sort.Strings(names)
			v.add(n, "%s steps do not set %s (they set: %s)", v.c.Kind, name, strings.Join(append(names, NameError, NameDuration), ", "))
		}
		if name == "item" && !v.c.ForEach {
			v.add(n, "item only exists in a step with forEach")
		}
	case *ast.BinaryNode:
		if pattern, ok := n.Right.(*ast.StringNode); ok && n.Operator == "matches" {
			if err := checkPattern(pattern.Value); err != nil {
				v.add(n.Right, "%v", err)
			}
		}
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok && id.Value == "grep" && len(n.Arguments) == 2 {
			if pattern, ok := n.Arguments[1].(*ast.StringNode); ok {
				if err := checkPattern(pattern.Value); err != nil {
					v.add(pattern, "%v", err)
				}
			}
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		prop, ok := n.Property.(*ast.StringNode)
		if !ok {
			return
		}
		switch id.Value {
		case "steps":
			switch v.names.Step(prop.Value) {
			case Before:
			case NotYet:
				v.add(id, "steps.%s refers to a step that has not run yet at this point", prop.Value)
			case Sibling:
				v.add(id, "steps.%s runs in the same parallel group as this step: it may not have finished (read it after the group)", prop.Value)
			default:
				v.add(id, "steps.%s: no step has id %q%s", prop.Value, prop.Value, Suggest(prop.Value, v.names.EarlierSteps()))
			}
		case "vars":
			if !v.names.Var(prop.Value) {
				v.add(id, "vars.%s is not declared in spec.vars nor set by an earlier step%s", prop.Value, Suggest(prop.Value, v.names.KnownVars()))
			}
		}
	}
}

func checkNames(src string, node *ast.Node, c Context) []Problem {
	v := &nameChecker{src: src, c: c, names: c.Names}
	if v.names == nil {
		v.names = Sets{}
	}
	ast.Walk(node, v)
	sort.SliceStable(v.probs, func(i, j int) bool {
		if v.probs[i].Line != v.probs[j].Line {
			return v.probs[i].Line < v.probs[j].Line
		}
		return v.probs[i].Column < v.probs[j].Column
	})
	return v.probs
}

type partCollector struct {
	nodes   []ast.Node
	callees map[string]bool
}

// Visit implements ast.Visitor.
func (p *partCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		// The function's name is not a value worth showing.
		p.callees[n.Callee.String()] = true
		p.nodes = append(p.nodes, n)
	case *ast.IdentifierNode, *ast.MemberNode, *ast.BuiltinNode:
		p.nodes = append(p.nodes, n)
	}
}

// compileParts compiles the sub-expressions of an expression that are worth
// showing when it fails: names, member chains and calls. Parts that cannot
// stand alone (inside a predicate, where '#' or '.x' refer to an element)
// are left out.
func compileParts(node *ast.Node, ctx Context) []part {
	c := &partCollector{callees: map[string]bool{}}
	ast.Walk(node, c)
	whole := (*node).String()
	seen := map[string]bool{}
	var srcs []string
	for _, n := range c.nodes {
		s := n.String()
		if s == whole || seen[s] || c.callees[s] || strings.Contains(s, "#") {
			continue
		}
		seen[s] = true
		srcs = append(srcs, s)
	}
	// Keep maximal member chains only: drop "pod.spec" when
	// "pod.spec.containers" is also a part.
	sorted := append([]string(nil), srcs...)
	sort.Strings(sorted)
	extended := func(s string) bool {
		for _, sep := range []string{".", "[", "?"} {
			i := sort.SearchStrings(sorted, s+sep)
			if i < len(sorted) && strings.HasPrefix(sorted[i], s+sep) {
				return true
			}
		}
		return false
	}
	ctx.Bool = false
	var out []part
	for _, s := range srcs {
		if extended(s) {
			continue
		}
		prog, err := compile(s, ctx)
		if err != nil {
			continue
		}
		node := prog.Node()
		out = append(out, part{source: s, program: prog, reads: readsOf(&node)})
		if len(out) == 8 {
			break
		}
	}
	return out
}

// Eval runs the program against s, within the budgets: an evaluation
// that goes over one fails with a *BudgetError.
func (p *Program) Eval(s *Scope) (any, error) {
	v, err := run(p.program, s.env())
	if err == nil {
		taint(s, p.reads, v)
	}
	return v, err
}

// EvalBool runs a boolean program (assert, when).
func (p *Program) EvalBool(s *Scope) (bool, error) {
	v, err := run(p.program, s.env())
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression gave %s, not a boolean", describeType(v))
	}
	return b, nil
}

// Value is a sub-expression and its value, shown for a failed assertion.
type Value struct {
	Expr  string
	Value string
}

// Values evaluates the parts of a boolean expression (an assertion) against
// s, in source order; other expressions have none.
func (p *Program) Values(s *Scope) []Value {
	var out []Value
	env := s.env()
	for _, pt := range p.parts {
		v, err := run(pt.program, env)
		if err == nil {
			taint(s, pt.reads, v)
		}
		var text string
		switch _, isString := v.(string); {
		case err != nil:
			text = "error: " + err.Error()
		case !isString && checkSize("", v, shownBytes) != nil:
			text = describe(v) + " (too large to show)"
		default:
			text = Format(v)
		}
		out = append(out, Value{Expr: pt.source, Value: Shorten(text, 300)})
	}
	return out
}

// shownBytes is the most of a list or map Values formats (it shows 300
// characters of it).
const shownBytes = 64 << 10

// describe says what v is, for a value too large to show.
func describe(v any) string {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Slice, reflect.Array:
		return fmt.Sprintf("a list of %d items", r.Len())
	case reflect.Map:
		return fmt.Sprintf("a map of %d keys", r.Len())
	}
	return describeType(v)
}

func describeType(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}
