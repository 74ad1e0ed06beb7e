package expression

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// evalErr compiles src (vars.s is declared) and evaluates it with vars.
func evalErr(t *testing.T, src string, vars map[string]any) (any, error) {
	t.Helper()
	p, probs := Compile(src, Context{})
	if len(probs) > 0 {
		t.Fatalf("compile %s: %v", src, probs)
	}
	return p.Eval(&Scope{Vars: vars})
}

// TestBudgets checks that what would build a huge value fails with a
// *BudgetError instead, before the value is built.
func TestBudgets(t *testing.T) {
	kib := strings.Repeat("k", 1<<10)
	tests := []struct {
		name, src string
		vars      map[string]any
		want      string
	}{
		{"reduce doubling a string", `reduce(1..30, #acc + #acc, "x")`, nil,
			"a string made by + is 2097152 bytes, over the limit of 1048576 (1 MiB)"},
		{"doubling a variable", `vars.s + vars.s`, map[string]any{"s": strings.Repeat("x", 600<<10)},
			"a string made by + is 1228800 bytes, over the limit of 1048576 (1 MiB)"},
		{"many small concatenations", `reduce(1..100000, #acc + "0123456789", "")`, nil,
			"the total of the strings this evaluation made is over the limit of 67108864 bytes (64 MiB)"},
		{"repeat", `repeat("ab", 1000000)`, nil,
			"the result of repeat is over the limit of 1048576 bytes (1 MiB)"},
		{"repeat of a repeat", `repeat(repeat("x", 999999), 1000000)`, nil,
			"the result of repeat is over the limit of 1048576 bytes"},
		{"join of copies", `join(map(1..2000, vars.s), ",")`, map[string]any{"s": kib},
			"the result of join is over the limit of 1048576 bytes"},
		{"replace that grows", `replace(repeat("a", 1000), "a", repeat("b", 2000))`, nil,
			"the result of replace is over the limit of 1048576 bytes"},
		{"a list doubled", `reduce(1..40, [#acc, #acc], [1])`, nil,
			"expression result is over the limit of 16777216 bytes (16 MiB)"},
		{"toJSON of a list doubled", `toJSON(reduce(1..40, [#acc, #acc], [1]))`, nil,
			"the argument of toJSON is over the limit of 1048576 bytes"},
		{"string of a list doubled", `string(reduce(1..40, [#acc, #acc], [1]))`, nil,
			"the argument of string is over the limit of 1048576 bytes"},
		{"flatten of a list doubled", `flatten(reduce(1..40, [#acc, #acc], [1]))`, nil,
			"the argument of flatten is over the limit of 16777216 bytes"},
		{"a list nested deep", `reduce(1..5000, [#acc], [])`, nil,
			"expression result nests more than 1000 levels deep"},
		{"a result too long", `vars.s`, map[string]any{"s": strings.Repeat("x", 2<<20)},
			"expression result is 2097152 bytes, over the limit of 1048576 (1 MiB)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := evalErr(t, tc.src, tc.vars)
			var be *BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("want a *BudgetError, got %v", err)
			}
			if !strings.HasPrefix(be.Error(), tc.want) {
				t.Errorf("error:\n got: %s\nwant prefix: %s", be.Error(), tc.want)
			}
		})
	}
}

// TestMemoryBudget checks that expr-lang's memory budget applies.
func TestMemoryBudget(t *testing.T) {
	_, err := evalErr(t, `len(map(1..2000000, #))`, nil)
	if err == nil || !strings.Contains(err.Error(), "memory budget exceeded") {
		t.Errorf("got %v, want expr-lang's memory budget error", err)
	}
}

// TestSetDoubling plays `set: {s: vars.s + vars.s}` step after step: it
// fails with a budget error once s would pass the limit.
func TestSetDoubling(t *testing.T) {
	p, probs := Compile(`vars.s + vars.s`, Context{Result: true})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	vars := map[string]any{"s": "x"}
	for step := 1; step <= 40; step++ {
		v, err := p.Eval(&Scope{Vars: vars})
		if err != nil {
			var be *BudgetError
			if !errors.As(err, &be) || step != 21 {
				t.Fatalf("step %d: %v", step, err)
			}
			return
		}
		vars["s"] = v
	}
	t.Fatal("40 doublings and no error")
}

// TestWithinBudgets checks that the checks change nothing for values
// within the limits, and keep the types of +.
func TestWithinBudgets(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{`"a" + "b"`, "ab"},
		{`vars.a + vars.b`, "xy"},
		{`vars.n + 1`, 2},
		{`len(repeat("ab", 1000))`, 2000},
		{`join(["a", "b"], "-")`, "a-b"},
		{`join(["a", "b"])`, "ab"},
		{`replace("aXa", "a", "bb")`, "bbXbb"},
		{`replace("aaa", "a", "b", 2)`, "bba"},
		{`toJSON({"a": 1})`, "{\n  \"a\": 1\n}"},
		{`string(1)`, "1"},
		{`flatten([[1], [2, [3]]])`, []any{1, 2, 3}},
		{`reduce(1..3, #acc + string(#), "")`, "123"},
		{`upper(vars.a + "z")`, "XZ"},
	}
	vars := map[string]any{"a": "x", "b": "y", "n": 1}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			got, err := evalErr(t, tc.src, vars)
			if err != nil {
				t.Fatal(err)
			}
			if Format(got) != Format(tc.want) {
				t.Errorf("got %s, want %s", Format(got), Format(tc.want))
			}
		})
	}
	if _, probs := Compile(`("a" + "b") == 1`, Context{Bool: true}); len(probs) == 0 || !strings.Contains(probs[0].Message, "mismatched types string and int") {
		t.Errorf("string + string is not typed string any more: %v", probs)
	}
	if _, probs := Compile(`repeat("a")`, Context{}); len(probs) == 0 {
		t.Error("repeat with one argument compiles")
	}
}

// TestValuesAsWritten checks that the values shown for a failed assertion
// name their parts as written, not as the checks rewrite them.
func TestValuesAsWritten(t *testing.T) {
	p, probs := Compile(`trim(stdout + "x") == repeat("y", 2)`, Context{Result: true, Results: map[string]any{"stdout": ""}, Bool: true})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, v := range p.Values(&Scope{Results: map[string]any{"stdout": "a"}}) {
		got = append(got, v.Expr+"="+v.Value)
	}
	if want := `stdout="a" trim(stdout + "x")="ax" repeat("y", 2)="yy"`; strings.Join(got, " ") != want {
		t.Errorf("values: %s\nwant:   %s", strings.Join(got, " "), want)
	}
}

// TestTemplateBudget checks that a template cannot render more than
// MaxStringBytes, in Render (an error) and RenderPartial (the error shown
// in place of the part).
func TestTemplateBudget(t *testing.T) {
	big := strings.Repeat("x", 600<<10)
	list := make([]any, 200_000)
	for i := range list {
		list[i] = "abcdefgh"
	}
	tests := []struct {
		name, raw string
		want      string
	}{
		{"two big parts", "${{ vars.big }}${{ vars.big }}", "${{ vars.big }}: the rendered text is 1228800 bytes, over the limit of 1048576 (1 MiB)"},
		{"a big list", "items: ${{ vars.list }}", "${{ vars.list }}: the rendered text is over the limit of 1048576 bytes (1 MiB)"},
		{"doubling", `${{ reduce(1..30, #acc + #acc, "x") }}`, `${{ reduce(1..30, #acc + #acc, "x") }}: a string made by + is 2097152 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := NewTemplate(tc.raw)
			if probs := tm.Compile(Context{}); len(probs) > 0 {
				t.Fatal(probs)
			}
			s := &Scope{Vars: map[string]any{"big": big, "list": list}}
			_, err := tm.Render(s)
			var be *BudgetError
			if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Render: %.300v\nwant a *BudgetError: %s", err, tc.want)
			}
			text, ok := tm.RenderPartial(s)
			if ok || len(text) > MaxStringBytes+1024 || !strings.Contains(text, "over the limit") {
				t.Errorf("RenderPartial: ok %v, %d bytes: %.200s", ok, len(text), text)
			}
		})
	}
}

// BenchmarkDoublingRefused measures how fast, and in how little memory, a
// doubling reduce is refused.
func BenchmarkDoublingRefused(b *testing.B) {
	p, probs := Compile(`reduce(1..30, #acc + #acc, "x")`, Context{})
	if len(probs) > 0 {
		b.Fatal(probs)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if _, err := p.Eval(&Scope{}); err == nil {
			b.Fatal("no error")
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB/op")
}

// TestValuesTooLarge checks that a failed assertion shows a huge list by
// its size, and a long string cut short, rather than format either whole.
func TestValuesTooLarge(t *testing.T) {
	p, probs := Compile(`len(vars.list) == 0 && vars.s == ""`, Context{Bool: true})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	list := make([]any, 100_000)
	for i := range list {
		list[i] = i
	}
	got := map[string]string{}
	for _, v := range p.Values(&Scope{Vars: map[string]any{"list": list, "s": strings.Repeat("x", 100_000)}}) {
		got[v.Expr] = v.Value
	}
	if want := "a list of 100000 items (too large to show)"; got["vars.list"] != want {
		t.Errorf("vars.list shown as %q, want %q", got["vars.list"], want)
	}
	if want := `"` + strings.Repeat("x", 299) + "… (99702 more characters)"; got["vars.s"] != want {
		t.Errorf("vars.s shown as %.80q…, want %.80q…", got["vars.s"], want)
	}
}
