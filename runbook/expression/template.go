package expression

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Template is a string of a runbook that may hold ${{ EXPR }} parts. It
// remembers where it stood in the file so compile errors point into it.
// Compile must be called (the loader does) before Render.
type Template struct {
	// Raw is the text as written.
	Raw string
	// Line and Column locate the scalar in the YAML file (1-based).
	Line, Column int
	// block is true for literal and folded scalars, whose text starts on
	// the line after the indicator.
	block  bool
	indent int // of a block scalar's content, set by the loader
	quoted bool
	parts  []tmplPart
}

type tmplPart struct {
	literal string
	src     string // expression source, when not a literal
	offset  int    // rune offset of src in Raw
	prog    *Program
}

// NewTemplate returns a template of s with no position, for values built
// in code and for tests.
func NewTemplate(s string) Template { return Template{Raw: s} }

// UnmarshalYAML takes any scalar as the template's text.
func (t *Template) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a string, found a %s", n.Line, kindName(n.Kind))}}
	}
	*t = Template{Raw: n.Value, Line: n.Line, Column: n.Column,
		block:  n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0,
		quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0}
	return nil
}

// SetIndent records the indentation of a block scalar's content (| or >),
// which the loader reads from the file (yaml.v3's node does not keep it),
// so that positions inside the text point at the right column.
func (t *Template) SetIndent(n int) { t.indent = n }

// MarshalYAML writes the raw text back.
func (t Template) MarshalYAML() (any, error) { return t.Raw, nil }

// MarshalJSON writes the raw text.
func (t Template) MarshalJSON() ([]byte, error) { return json.Marshal(t.Raw) }

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// IsZero reports whether the template is empty.
func (t Template) IsZero() bool { return t.Raw == "" }

// String returns the raw text.
func (t Template) String() string { return t.Raw }

// HasExpressions reports whether the text holds ${{ }} parts.
func (t Template) HasExpressions() bool { return strings.Contains(t.Raw, "${{") }

// Pos converts a rune offset inside the raw text to a file position.
func (t Template) Pos(offset, exprLine, exprCol int) (int, int) {
	line, col := position(t.Raw, offset)
	if exprLine > 1 {
		line += exprLine - 1
		col = exprCol
	} else {
		col += exprCol
	}
	if t.block {
		return t.Line + line, t.indent + col + 1
	}
	if line == 1 {
		q := 0
		if t.quoted {
			q = 1
		}
		return t.Line, t.Column + q + col
	}
	return t.Line + line - 1, col + 1
}

// Compile parses the ${{ }} parts and compiles each against c. Problems
// carry file positions (1-based line and column).
func (t *Template) Compile(c Context) []Problem {
	t.parts = nil
	c.Bool = false
	rest := t.Raw
	runes := 0 // runes of t.Raw before rest
	var probs []Problem
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, tmplPart{literal: rest})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{literal: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			line, col := t.Pos(runes+utf8.RuneCountInString(rest[:i]), 1, 0)
			probs = append(probs, Problem{Line: line, Column: col, Message: "unterminated ${{: missing }}"})
			break
		}
		src := rest[i+3 : i+j]
		srcOffset := runes + utf8.RuneCountInString(rest[:i+3])
		prog, ps := Compile(src, c)
		for _, p := range ps {
			line, col := t.Pos(srcOffset, p.Line, p.Column)
			probs = append(probs, Problem{Line: line, Column: col, Message: p.Message})
		}
		t.parts = append(t.parts, tmplPart{src: strings.TrimSpace(src), offset: srcOffset, prog: prog})
		runes = srcOffset + utf8.RuneCountInString(rest[i+3:i+j+2])
		rest = rest[i+j+2:]
	}
	return probs
}

// Render evaluates the parts against s and joins them. A value that is not a
// string is written as JSON (numbers, booleans, lists, maps) or "" for nil.
// The text may be at most MaxStringBytes: a longer one is a *BudgetError.
func (t Template) Render(s *Scope) (string, error) {
	if t.parts == nil {
		if t.HasExpressions() {
			return "", fmt.Errorf("template %q was not compiled", t.Raw)
		}
		return t.Raw, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			if err := fits(&b, len(p.literal)); err != nil {
				return "", err
			}
			b.WriteString(p.literal)
			continue
		}
		v, err := p.prog.Eval(s)
		if err == nil {
			err = write(&b, v)
		}
		if err != nil {
			return "", t.runtimeError(err, p.offset, "${{ "+p.src+" }}: ")
		}
	}
	return b.String(), nil
}

// fits checks that n more bytes fit in a rendered text.
func fits(b *strings.Builder, n int) error {
	if b.Len()+n > MaxStringBytes {
		return &BudgetError{What: "the rendered text", Size: b.Len() + n, Limit: MaxStringBytes}
	}
	return nil
}

// write appends the text of v to b if it fits.
func write(b *strings.Builder, v any) error {
	if s, ok := v.(string); ok {
		if err := fits(b, len(s)); err != nil {
			return err
		}
		b.WriteString(s)
		return nil
	}
	if err := checkSize("the rendered text", v, MaxStringBytes-b.Len()); err != nil {
		if be, ok := err.(*BudgetError); ok {
			be.Size += b.Len()
			be.Limit = MaxStringBytes
		}
		return err
	}
	text := Text(v)
	if err := fits(b, len(text)); err != nil {
		return err
	}
	b.WriteString(text)
	return nil
}

// RenderPartial is Render for plans: a part that cannot be evaluated yet
// (it needs a result of the run) is written as <EXPR>, and ok is false. A
// part over a budget is written as <EXPR: the error>.
func (t Template) RenderPartial(s *Scope) (text string, ok bool) {
	if t.parts == nil {
		return t.Raw, !t.HasExpressions()
	}
	var b strings.Builder
	ok = true
	for _, p := range t.parts {
		if p.prog == nil {
			if fits(&b, len(p.literal)) != nil {
				return b.String() + "<...: the rendered text is over the limit>", false
			}
			b.WriteString(p.literal)
			continue
		}
		v, err := p.prog.Eval(s)
		if err == nil && v != nil {
			err = write(&b, v)
		}
		var be *BudgetError
		switch {
		case errors.As(err, &be):
			b.WriteString("<" + p.src + ": " + be.Error() + ">")
			ok = false
		case err != nil || v == nil:
			b.WriteString("<" + p.src + ">")
			ok = false
		}
	}
	return b.String(), ok
}

// Text converts an evaluated value to the text a template inserts.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Expr is an expression field of a runbook (assert, when, set, wait's for):
// its source and position, compiled by the loader.
type Expr struct {
	// Source is the expression as written.
	Source string
	// Line and Column locate it in the YAML file (1-based).
	Line, Column int
	// Program is set by Compile.
	Program *Program
	tmpl    Template
}

// UnmarshalYAML takes a scalar as the expression's source.
func (x *Expr) UnmarshalYAML(n *yaml.Node) error {
	var t Template
	if err := t.UnmarshalYAML(n); err != nil {
		return err
	}
	*x = Expr{Source: n.Value, Line: n.Line, Column: n.Column, tmpl: t}
	return nil
}

// NewExpr returns an expression with no position, for code and tests.
func NewExpr(src string) Expr { return Expr{Source: src, tmpl: Template{Raw: src}} }

// MarshalYAML writes the source back.
func (x Expr) MarshalYAML() (any, error) { return x.Source, nil }

// SetIndent records the indentation of a block scalar's content, as
// Template.SetIndent.
func (x *Expr) SetIndent(n int) { x.tmpl.indent = n }

// MarshalJSON writes the source.
func (x Expr) MarshalJSON() ([]byte, error) { return json.Marshal(x.Source) }

// IsZero reports whether no expression was given.
func (x Expr) IsZero() bool { return x.Source == "" }

// Reads returns the variables the expression reads (none before Compile).
func (x Expr) Reads() Reads { return x.Program.Reads() }

// Compile compiles the expression for c; problems carry file positions.
func (x *Expr) Compile(c Context) []Problem {
	prog, probs := Compile(x.Source, c)
	for i, p := range probs {
		probs[i].Line, probs[i].Column = x.tmpl.Pos(0, p.Line, p.Column)
	}
	x.Program = prog
	return probs
}

// Values evaluates the ${{ }} parts against s, in order, for a caller that
// places each value itself (an apply step puts each into the one YAML value
// it stands in, so a value cannot change the document's structure).
func (t Template) Values(s *Scope) ([]any, error) {
	if t.parts == nil && t.HasExpressions() {
		return nil, fmt.Errorf("template %q was not compiled", t.Raw)
	}
	var out []any
	for _, p := range t.parts {
		if p.prog == nil {
			continue
		}
		v, err := p.prog.Eval(s)
		if err != nil {
			return nil, fmt.Errorf("${{ %s }}: %v", p.src, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// PartialValues is Values for plans: a part that cannot be evaluated yet
// (it needs a result of the run) is the text <EXPR>.
func (t Template) PartialValues(s *Scope) []any {
	var out []any
	for _, p := range t.parts {
		if p.prog == nil {
			continue
		}
		v, err := p.prog.Eval(s)
		if err != nil || v == nil {
			v = "<" + p.src + ">"
		}
		out = append(out, v)
	}
	return out
}

// Placeholders counts the ${{ }} parts of text, as Compile finds them.
func Placeholders(text string) int {
	n := 0
	for {
		i := strings.Index(text, "${{")
		if i < 0 {
			return n
		}
		j := strings.Index(text[i:], "}}")
		if j < 0 {
			return n
		}
		n++
		text = text[i+j+2:]
	}
}

// Whole reports whether text is one ${{ }} part and nothing else (spaces
// around it aside): its value then keeps its type.
func Whole(text string) bool {
	s := strings.TrimSpace(text)
	return strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && Placeholders(s) == 1 && strings.Index(s, "}}") == len(s)-2
}
