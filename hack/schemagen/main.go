// Command schemagen writes schemas/runbook.schema.json from the Go types
// of the format (the step kinds come from the registry) and their doc
// comments, and schemas/result.schema.json from the report types.
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

func main() {
	out := "schemas"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	docs := map[string]string{}
	for _, dir := range []string{"runbook", "steps", "runbook/expression"} {
		if err := readDocs(dir, docs); err != nil {
			fail(err)
		}
	}
	g := &gen{docs: docs, defs: map[string]any{}}
	root := g.schemaOf(reflect.TypeOf(runbook.Runbook{}))
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://github.com/kube-runbook/runbook/schemas/runbook.schema.json",
		"title":       "runbook",
		"description": "A declarative runbook for debugging Kubernetes workloads (apiVersion runbook/v1alpha1, kind Runbook).",
	}
	for k, v := range root {
		doc[k] = v
	}
	doc["$defs"] = g.defs
	write(filepath.Join(out, "runbook.schema.json"), doc)
	rs, err := report.ResultSchema()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(out, "result.schema.json"), rs, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "schemagen:", err)
	os.Exit(1)
}

func write(path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		fail(err)
	}
}

// readDocs collects "Type.Field" and "Type" doc comments of the package in
// dir (its .go files but the tests, whatever their build tags).
func readDocs(dir string, docs map[string]string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				doc := gd.Doc
				if ts.Doc != nil {
					doc = ts.Doc
				}
				if doc != nil {
					docs[ts.Name.Name] = clean(doc.Text())
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					if fld.Doc == nil {
						continue
					}
					for _, n := range fld.Names {
						docs[ts.Name.Name+"."+n.Name] = clean(fld.Doc.Text())
					}
				}
			}
		}
	}
	return nil
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

type gen struct {
	docs map[string]string
	defs map[string]any
}

var (
	templateType = reflect.TypeOf(expression.Template{})
	exprType     = reflect.TypeOf(expression.Expr{})
	durationType = reflect.TypeOf(runbook.Duration{})
	stepType     = reflect.TypeOf(runbook.Step{})
	assertType   = reflect.TypeOf(runbook.Assertion{})
	settersType  = reflect.TypeOf([]runbook.Setter{})
)

// durationPattern matches a duration as Go writes them with at least one
// part that is not 0 (the loader refuses a duration of 0 or less), without
// lookahead: Go's regexp and the validators built on it have none.
const durationPattern = `^(` + durationPart + `)*([0-9]*[1-9][0-9]*(\.[0-9]+)?|[0-9]+\.[0-9]*[1-9][0-9]*)` + durationUnit + `(` + durationPart + `)*$`

const (
	durationUnit = `(ns|us|µs|ms|s|m|h)`
	durationPart = `[0-9]+(\.[0-9]+)?` + durationUnit
)

func (g *gen) schemaOf(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case templateType:
		return map[string]any{"type": []string{"string", "number", "boolean"}, "description": "Text; ${{ EXPR }} parts are replaced by the value of the expression."}
	case exprType:
		return map[string]any{"type": "string", "description": "An expression (expr-lang), compiled when the runbook is loaded."}
	case durationType:
		return map[string]any{"type": "string", "pattern": durationPattern, "description": "A duration greater than 0 such as 30s, 5m or 1h30m (0 is an error: leave the field out for its default)."}
	case assertType:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "description": "A boolean expression."},
			g.structSchema(t),
		}}
	case settersType:
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "Variable name to expression; the value is stored in vars."}
	case stepType:
		return g.ref("Step", g.stepSchema)
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.ref(t.Name(), func() map[string]any { return g.structSchema(t) })
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}

func (g *gen) ref(name string, build func() map[string]any) map[string]any {
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = map[string]any{} // placeholder against recursion
		g.defs[name] = build()
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

func (g *gen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := g.docs[t.Name()]; d != "" {
		s["description"] = d
	}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

func (g *gen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			continue
		}
		s := g.schemaOf(f.Type)
		if enum := f.Tag.Get("enum"); enum != "" {
			s = enumSchema(s, f.Type, strings.Split(enum, ","))
		}
		if d := g.docs[t.Name()+"."+f.Name]; d != "" {
			// An editor shows the description over the key: name a
			// camel-case key as written in YAML (waitFor, not WaitFor);
			// a one-word name (Image) reads as the sentence's first word.
			if rest, ok := strings.CutPrefix(d, f.Name+" "); ok && name != strings.ToLower(name) {
				d = name + " " + rest
			}
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": d}
			} else {
				s["description"] = d
			}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Bool {
			*required = append(*required, name)
		}
	}
}

// enumSchema restricts a field to the values of its enum tag, so editors
// flag a typo (cleanup: alway) and complete the choices. A template may
// also be an expression that chooses at run time.
func enumSchema(s map[string]any, t reflect.Type, values []string) map[string]any {
	enum := make([]any, len(values))
	for i, v := range values {
		enum[i] = v
	}
	if t == templateType {
		return map[string]any{"anyOf": []any{
			map[string]any{"type": "string", "enum": enum},
			map[string]any{"type": "string", "pattern": `\$\{\{`, "description": "An expression that chooses at run time."},
		}}
	}
	s["enum"] = enum
	return s
}

// stepSchema is the common step fields plus one property per kind, with
// exactly one kind required.
func (g *gen) stepSchema() map[string]any {
	s := g.structSchema(stepType)
	props := s["properties"].(map[string]any)
	var oneOf []any
	// yaml-language-server shows errorMessage (its extension, an
	// annotation to other validators) instead of the first branch's
	// "Missing property" when a step has no action: the loader's words.
	noAction := "step has no action: add one of " + strings.Join(steps.Names(), ", ")
	for _, k := range steps.Kinds() {
		t := reflect.TypeOf(k.New()).Elem()
		ref := g.ref(t.Name(), func() map[string]any { return g.structSchema(t) })
		props[k.Name] = map[string]any{"allOf": []any{ref}, "description": k.Summary}
		oneOf = append(oneOf, map[string]any{"required": []string{k.Name}, "errorMessage": noAction})
	}
	// A parallel group has no action: parallel (a common field) is its one
	// required key.
	oneOf = append(oneOf, map[string]any{"required": []string{"parallel"}, "errorMessage": noAction})
	s["oneOf"] = oneOf
	return s
}
