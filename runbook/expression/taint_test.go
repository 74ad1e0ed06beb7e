package expression

import (
	"reflect"
	"slices"
	"sync"
	"testing"
)

func TestReadsOf(t *testing.T) {
	for _, tc := range []struct {
		src    string
		vars   []string
		anyVar bool
	}{
		{`upper(vars.pw)`, []string{"pw"}, false},
		{`vars["pw"] + vars.user`, []string{"pw", "user"}, false},
		{`vars?.pw ?? "x"`, []string{"pw"}, false},
		{`toJSON(vars)`, nil, true},
		{`let v = vars; v.pw`, nil, true},
		{`vars[run.id]`, nil, true},
		{`vars.a + string(vars)`, []string{"a"}, true},
		{`run.id + "x"`, nil, false},
		{`map(split(vars.list, ","), upper(#))`, []string{"list"}, false},
	} {
		p, probs := Compile(tc.src, Context{})
		if len(probs) > 0 {
			t.Fatalf("%s: %v", tc.src, probs)
		}
		r := p.Reads()
		if !slices.Equal(r.Vars, tc.vars) || r.AnyVar != tc.anyVar {
			t.Errorf("%s: reads %v (any %v), want %v (any %v)", tc.src, r.Vars, r.AnyVar, tc.vars, tc.anyVar)
		}
	}
}

// secretTaint says vars named in secret are secret, and records what it learns.
type secretTaint struct {
	secret  map[string]bool
	mu      sync.Mutex
	learned []string
}

func (s *secretTaint) Secret(r Reads) bool {
	if r.AnyVar {
		return true
	}
	for _, v := range r.Vars {
		if s.secret[v] {
			return true
		}
	}
	return false
}

func (s *secretTaint) Derived(v []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learned = append(s.learned, v...)
}

// TestTaintLearnsDerivedValues: what an evaluation makes from a secret var
// is told to the Taint, in templates, expressions and an assertion's shown
// values; strings written in the expression and values made from other
// vars are not.
func TestTaintLearnsDerivedValues(t *testing.T) {
	vars := map[string]any{"pw": "hunter2 is long", "user": "alice-admin"}
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`upper(vars.pw)`, []string{"HUNTER2 IS LONG"}},
		{`split(vars.pw, " ")`, []string{"hunter2", "is", "long"}},
		{`{"k": vars.pw + "!"}`, []string{"hunter2 is long!"}},
		{`vars.pw != "" ? "configured" : "missing"`, nil},
		{`upper(vars.user)`, nil},
		{`len(vars.pw)`, nil},
		{`toJSON(vars)`, []string{"{\n  \"pw\": \"hunter2 is long\",\n  \"user\": \"alice-admin\"\n}"}},
	} {
		p, probs := Compile(tc.src, Context{})
		if len(probs) > 0 {
			t.Fatalf("%s: %v", tc.src, probs)
		}
		taint := &secretTaint{secret: map[string]bool{"pw": true}}
		if _, err := p.Eval(&Scope{Vars: vars, Taint: taint}); err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		slices.Sort(taint.learned)
		slices.Sort(tc.want)
		if !reflect.DeepEqual(taint.learned, tc.want) {
			t.Errorf("%s: learned %q, want %q", tc.src, taint.learned, tc.want)
		}
	}

	taint := &secretTaint{secret: map[string]bool{"pw": true}}
	scope := &Scope{Vars: vars, Taint: taint}
	tmpl := NewTemplate(`--password=${{ lower(vars.pw) }} --user=${{ vars.user }}`)
	if probs := tmpl.Compile(Context{}); len(probs) > 0 {
		t.Fatal(probs)
	}
	if _, err := tmpl.Render(scope); err != nil {
		t.Fatal(err)
	}
	cond, probs := Compile(`upper(vars.pw) == "X" && vars.user != ""`, Context{Bool: true})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cond.Values(scope)
	want := []string{"HUNTER2 IS LONG", "hunter2 is long"}
	slices.Sort(taint.learned)
	if !slices.Equal(slices.Compact(taint.learned), want) {
		t.Errorf("template and assertion values: learned %q, want %q", taint.learned, want)
	}
}

func TestStringsIsBounded(t *testing.T) {
	list := make([]any, 5000)
	for i := range list {
		list[i] = "item-value"
	}
	if n := len(Strings(list, maxDerived)); n != maxDerived {
		t.Errorf("%d strings, want %d", n, maxDerived)
	}
	deep := any("bottom")
	for range 200 {
		deep = []any{deep}
	}
	if got := Strings(deep, 10); len(got) != 0 {
		t.Errorf("Strings went %d deep: %q", 200, got)
	}
}
