package expression

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// allocated evaluates p against s and returns its value, the bytes it
// allocated and its error.
func allocated(t *testing.T, p *Program, s *Scope) (any, uint64, error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, err := p.Eval(s)
	runtime.ReadMemStats(&after)
	return v, after.TotalAlloc - before.TotalAlloc, err
}

// TestListBombs checks that the lists functions make count against one
// budget for the whole evaluation: a map() over such a list that calls
// such a function, nested, fails with a *BudgetError after allocating
// little, where it took 1 GB (the split bomb, with 400 characters) and
// more.
func TestListBombs(t *testing.T) {
	a400 := strings.Repeat("a", 400)
	lines400 := strings.Repeat("a b\n", 400)
	ps400 := "PID USER TIME COMMAND\n" + strings.Repeat("1 root 0:00 /bin/sh -c x\n", 400)
	json400 := "[" + strings.Repeat(`"a",`, 399) + `"a"]`
	m400 := map[string]any{}
	for i := range 400 {
		m400[fmt.Sprint(i)] = i
	}
	big := strings.Repeat("x", 1<<20)
	vars := map[string]any{"s": a400, "l": lines400, "ps": ps400, "j": json400, "m": m400, "big": big, "huge": strings.Repeat("a", 6<<20)}
	const elements = "the lists made by functions in this evaluation (the last: %s) are over the limit of 1000000 elements"
	tests := []struct {
		name, src, want string
	}{
		{"split", `len(map(split(vars.s, ""), map(split(vars.s, ""), split(vars.s, ""))))`, fmt.Sprintf(elements, "split")},
		{"split three levels", `len(map(split(vars.s, ""), map(split(vars.s, ""), map(split(vars.s, ""), split(vars.s, "")))))`, fmt.Sprintf(elements, "split")},
		{"split of a 6 MB string", `len(split(vars.huge, ""))`, fmt.Sprintf(elements, "split")},
		{"splitAfter", `len(map(split(vars.s, ""), map(split(vars.s, ""), splitAfter(vars.s, ""))))`, fmt.Sprintf(elements, "splitAfter")},
		{"lines", `len(map(lines(vars.l), map(lines(vars.l), lines(vars.l))))`, fmt.Sprintf(elements, "lines")},
		{"grep", `len(map(grep(vars.l, "a"), map(grep(vars.l, "a"), grep(vars.l, "a"))))`, fmt.Sprintf(elements, "grep")},
		{"ps", `len(map(ps(vars.ps), map(ps(vars.ps), ps(vars.ps))))`, fmt.Sprintf(elements, "ps")},
		{"keys", `len(map(keys(vars.m), map(keys(vars.m), values(vars.m))))`, fmt.Sprintf(elements, "values")},
		{"fromJSON", `len(map(fromJSON(vars.j), map(fromJSON(vars.j), fromJSON(vars.j))))`, fmt.Sprintf(elements, "fromJSON")},
		{"filter over split", `len(filter(split(vars.s, ""), len(filter(split(vars.s, ""), len(split(vars.s, "")) == 400)) == 400))`, fmt.Sprintf(elements, "split")},
		{"upper of a big string", `len(map(1..200, upper(vars.big)))`, "the total of the strings this evaluation made is over the limit of 67108864 bytes (64 MiB)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, probs := Compile(tc.src, Context{})
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			_, bytes, err := allocated(t, p, &Scope{Vars: vars})
			var be *BudgetError
			if !errors.As(err, &be) || !strings.HasPrefix(be.Error(), tc.want) {
				t.Errorf("error: %v\nwant a *BudgetError: %s", err, tc.want)
			}
			if bytes > 100<<20 {
				t.Errorf("allocated %d MB, want under 100 MB", bytes>>20)
			}
		})
	}
}

// TestListBombPosition checks that the split bomb in a template of a
// runbook fails at the call that went over the budget, in the file.
func TestListBombPosition(t *testing.T) {
	tm := Template{Raw: `${{ len(map(split(vars.s, ""), map(split(vars.s, ""), split(vars.s, "")))) }}`, Line: 9, Column: 16}
	if probs := tm.Compile(Context{}); len(probs) > 0 {
		t.Fatal(probs)
	}
	_, err := tm.Render(&Scope{Vars: map[string]any{"s": strings.Repeat("a", 400)}})
	if err == nil {
		t.Fatal("no error")
	}
	want := `rb.yaml:9:70: ${{ len(map(split(vars.s, ""), map(split(vars.s, ""), split(vars.s, "")))) }}: the lists made by functions in this evaluation (the last: split) are over the limit of 1000000 elements`
	if got := At("rb.yaml", "", err); got != want {
		t.Errorf("got:  %s\nwant: %s", got, want)
	}
}

// TestListsWithinBudget checks that ordinary uses of the functions that
// make lists, on a command's output of 10,000 lines, still work.
func TestListsWithinBudget(t *testing.T) {
	var b strings.Builder
	ps := "PID   USER     TIME  COMMAND\n"
	for i := range 10_000 {
		fmt.Fprintf(&b, "pod-%d Running %d\r\n", i, i%7)
		ps += fmt.Sprintf("%5d root      0:00 /app/server --id=%d\n", i+1, i)
	}
	out := b.String()
	tests := []struct {
		src  string
		want any
	}{
		{`len(lines(stdout))`, 10_000},
		{`len(split(stdout, "\n"))`, 10_001},
		{`len(splitAfter(stdout, "\n"))`, 10_001},
		{`len(grep(stdout, "Running [06]$"))`, 2857},
		{`lines(stdout)[9999]`, "pod-9999 Running 3"},
		{`len(filter(map(lines(stdout), field(#, 2)), # == "0"))`, 1429},
		{`len(map(lines(stdout), split(#, " ")))`, 10_000},
		{`sum(map(split(trim(stdout), "\r\n"), len(split(#, " "))))`, 30_000},
		{`len(uniq(map(lines(stdout), field(#, 2))))`, 7},
		{`len(ps(vars.ps))`, 10_000},
		{`ps(vars.ps)[9999].command`, "/app/server --id=9999"},
		{`len(keys(fromJSON(toJSON({"a": 1, "b": [1, 2]}))))`, 2},
		{`len(toPairs({"a": 1, "b": 2}))`, 2},
		{`upper("abc") + lower("DEF")`, "ABCdef"},
		{`fromBase64(toBase64("hi"))`, "hi"},
		{`split("a,b,c", ",", 2)`, []string{"a", "b,c"}},
		{`split("", "")`, []string{}},
		{`len(flatten([lines(stdout), lines(stdout)]))`, 20_000},
	}
	s := &Scope{Results: map[string]any{"stdout": out}, Vars: map[string]any{"ps": ps}}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			p, probs := Compile(tc.src, Context{Result: true, Results: map[string]any{"stdout": ""}})
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			got, bytes, err := allocated(t, p, s)
			if err != nil {
				t.Fatal(err)
			}
			if Format(got) != Format(tc.want) {
				t.Errorf("got %.200s, want %s", Format(got), Format(tc.want))
			}
			if bytes > 50<<20 {
				t.Errorf("allocated %d MB", bytes>>20)
			}
		})
	}
}

// TestLines checks Lines against what it was: the text with "\r\n" made
// "\n" and a final "\n" dropped, split at "\n".
func TestLines(t *testing.T) {
	old := func(s string) []string {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.TrimSuffix(s, "\n")
		if s == "" {
			return []string{}
		}
		return strings.Split(s, "\n")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteByte("a\r\n"[r.IntN(3)])
		}
		s := b.String()
		want := old(s)
		got := Lines(s)
		if Format(got) != Format(want) || countLines(s) != len(want) {
			t.Fatalf("Lines(%q) = %q (counted %d), want %q", s, got, countLines(s), want)
		}
	}
}
