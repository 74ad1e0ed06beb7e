package expression

import (
	"reflect"
	"sort"

	"github.com/expr-lang/expr/ast"
)

// Reads are the variables an expression reads, for following secrets
// through it: a value made from a secret variable (upper(vars.pw),
// split(vars.pw, ",")[0]) is as secret as the variable.
type Reads struct {
	// Vars are the variables read by name (vars.pw, vars["pw"]), sorted.
	Vars []string
	// AnyVar is true when vars is read whole or by a computed name
	// (vars[k], toJSON(vars), let v = vars): it may read any variable.
	AnyVar bool
	// literals are the strings written in the expression: a value that is
	// one of them ("set" or "unset" by a test of a secret) was not made
	// from the secret's text.
	literals map[string]bool
}

// Taint follows secrets through evaluations. A Scope with a Taint tells
// it each value an expression makes from variables it says are secret.
type Taint interface {
	// Secret reports whether an expression with these reads may make a
	// value from a secret.
	Secret(Reads) bool
	// Derived is told the strings of each value made from a secret (see
	// Strings), but those written in the expression as they are: they are
	// secrets too.
	Derived(values []string)
}

// maxDerived bounds the strings of one value a Taint is told of.
const maxDerived = 1000

// readsOf finds the variables an expression's tree reads.
func readsOf(node *ast.Node) Reads {
	v := &readsVisitor{named: map[string]bool{}, literals: map[string]bool{}}
	ast.Walk(node, v)
	r := Reads{AnyVar: v.whole > v.byName, literals: v.literals}
	for name := range v.named {
		r.Vars = append(r.Vars, name)
	}
	sort.Strings(r.Vars)
	return r
}

// readsVisitor counts the identifiers vars, and those of them that a
// member access with a constant name reads. Each such access holds one
// identifier: any other is a read of vars whole.
type readsVisitor struct {
	named, literals map[string]bool
	whole, byName   int
}

// Visit implements ast.Visitor.
func (v *readsVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.StringNode:
		v.literals[n.Value] = true
	case *ast.IdentifierNode:
		if n.Value == NameVars {
			v.whole++
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != NameVars {
			return
		}
		if prop, ok := n.Property.(*ast.StringNode); ok {
			v.named[prop.Value] = true
			v.byName++
		}
	}
}

// any reports whether r reads a variable at all.
func (r Reads) any() bool { return r.AnyVar || len(r.Vars) > 0 }

// Reads returns the variables the expression reads.
func (p *Program) Reads() Reads {
	if p == nil {
		return Reads{}
	}
	return p.reads
}

// taint tells s's Taint of v when reads may make it from a secret.
func taint(s *Scope, reads Reads, v any) {
	if s.Taint == nil || v == nil || !reads.any() || !s.Taint.Secret(reads) {
		return
	}
	var derived []string
	for _, t := range Strings(v, maxDerived) {
		if !reads.literals[t] {
			derived = append(derived, t)
		}
	}
	if len(derived) > 0 {
		s.Taint.Derived(derived)
	}
}

// stringsDepth bounds how deep Strings looks into a value.
const stringsDepth = 64

// Strings returns the strings held in v (v itself, the elements of a
// list, the keys and values of a map, at any depth), at most limit of
// them: the values a Taint learns from a value made from a secret.
func Strings(v any, limit int) []string {
	var out []string
	var walk func(r reflect.Value, depth int)
	walk = func(r reflect.Value, depth int) {
		if len(out) >= limit || depth > stringsDepth {
			return
		}
		switch r.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !r.IsNil() {
				walk(r.Elem(), depth)
			}
		case reflect.String:
			out = append(out, r.String())
		case reflect.Slice, reflect.Array:
			for i := 0; i < r.Len(); i++ {
				walk(r.Index(i), depth+1)
			}
		case reflect.Map:
			it := r.MapRange()
			for it.Next() {
				walk(it.Key(), depth+1)
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(reflect.ValueOf(v), 0)
	return out
}
