package runbook_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// laughs returns `levels` keys (indented by indent) of lists of `width`
// items, each item an alias of the list before: a "billion laughs" whose
// last list stands for width^levels strings.
func laughs(indent string, levels, width int) string {
	var b strings.Builder
	for l := range levels {
		fmt.Fprintf(&b, "%sl%d: &l%d [", indent, l, l)
		for i := range width {
			if i > 0 {
				b.WriteString(", ")
			}
			if l == 0 {
				b.WriteString("lol")
			} else {
				fmt.Fprintf(&b, "*l%d", l-1)
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// bombs are runbooks that expand to far more than they hold, each with the
// start of the error it must give. The first is a 15 KB billion laughs in
// spec.vars.
var bombs = []struct {
	name, src, want string
}{
	{"billion laughs in vars", head + "  vars:\n" + laughs("    ", 40, 60) +
		"  steps:\n  - local: {command: [echo]}\n",
		"rb.yaml:8:39: alias *l1: the aliases of this file expand to more than 25010 nodes, its limit (a file may repeat by aliases 10 times its 2501 nodes, at least 10000 and at most 1000000 nodes in all)"},
	{"billion laughs in a container's custom fields", head + "  steps:\n  - debug:\n      pod: p\n      image: busybox\n      custom:\n" +
		"        bomb:\n" + laughs("          ", 12, 10),
		"rb.yaml:14:55: alias *l2: the aliases of this file expand to more than 10000 nodes"},
	{"merged mappings", head + "  vars:\n    m0: &m0 {a: 1, b: 2}\n    m1: &m1 {<<: [*m0, *m0], c: [*m0, *m0, *m0]}\n    m2: &m2 {x: [*m1, *m1, *m1, *m1]}\n" +
		"    m3: &m3 {x: [*m2, *m2, *m2, *m2]}\n    m4: &m4 {x: [*m3, *m3, *m3, *m3]}\n    m5: &m5 {x: [*m4, *m4, *m4, *m4]}\n" +
		"    m6: &m6 {x: [*m5, *m5, *m5, *m5]}\n    m7: &m7 {x: [*m6, *m6, *m6, *m6]}\n    m8: {x: [*m7, *m7, *m7, *m7]}\n" +
		"  steps:\n  - local: {command: [echo]}\n",
		"rb.yaml:12:18: alias *m5: the aliases of this file expand to more than 10000 nodes"},
	{"a step repeated", head + "  steps:\n  - &s {local: {command: [echo]}, assert: [" + strings.Repeat("exitCode == 0, ", 400) + "exitCode == 0]}\n" +
		"  - " + strings.Repeat("*s\n  - ", 400) + "*s\n",
		"rb.yaml:31:5: alias *s: the aliases of this file expand to more than 10000 nodes"},
	{"an alias inside its own anchor", head + "  vars:\n    a: &a [1, *a]\n  steps:\n  - local: {command: [echo]}\n",
		"rb.yaml:6:15: alias *a refers to a value that contains it"},
}

// TestAliasBomb checks that a file that expands by aliases to far more
// than it holds is refused, with the position of the alias that went over
// the file's budget. BenchmarkAliasBomb measures how fast and in how
// little memory.
func TestAliasBomb(t *testing.T) {
	if n := len(bombs[0].src); n < 14_000 || n > 16_000 {
		t.Errorf("the billion laughs is %d bytes, want about 15 KB", n)
	}
	for _, tc := range bombs {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parse(t, tc.src, runbook.LoadOptions{Kinds: steps.Registry})
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("error:\n got: %s\nwant prefix: %s", got, tc.want)
			}
		})
	}
}

// TestAliasBombFile loads testdata/aliasbomb.yaml, the billion laughs of
// TestAliasBomb as a file (also a seed of FuzzLoad).
func TestAliasBombFile(t *testing.T) {
	_, err := runbook.Load("testdata/aliasbomb.yaml", runbook.LoadOptions{Kinds: steps.Registry})
	want := "testdata/aliasbomb.yaml:10:39: alias *l1: the aliases of this file expand to more than 25010 nodes, its limit"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s", err, want)
	}
}

// BenchmarkAliasBomb measures the rejection of the 15 KB billion laughs of
// testdata/aliasbomb.yaml: ns/op is the time to refuse it and MiB/op the
// memory allocated doing so.
func BenchmarkAliasBomb(b *testing.B) {
	data, err := os.ReadFile("testdata/aliasbomb.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if _, err := runbook.Parse("aliasbomb.yaml", data, runbook.LoadOptions{Kinds: steps.Registry}); err == nil {
			b.Fatal("the bomb loaded")
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB/op")
}

// TestFileTooBig checks that Parse and Load refuse a file over the limit
// without decoding it.
func TestFileTooBig(t *testing.T) {
	data := []byte(head + "  steps:\n  - local: {command: [echo]}\n" + "#" + strings.Repeat("x", runbook.MaxFileBytes))
	want := fmt.Sprintf("rb.yaml: the file is 8.0 MiB (%d bytes), over the limit of 8 MiB for a runbook", len(data))
	if _, err := runbook.Parse("rb.yaml", data, runbook.LoadOptions{Kinds: steps.Registry}); err == nil || err.Error() != want {
		t.Errorf("Parse: got %v, want %s", err, want)
	}
	file := filepath.Join(t.TempDir(), "rb.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, "rb.yaml", file, 1)
	if _, err := runbook.Load(file, runbook.LoadOptions{Kinds: steps.Registry}); err == nil || err.Error() != want {
		t.Errorf("Load: got %v, want %s", err, want)
	}
}

// TestTooManySteps: MaxSteps steps load, one more (counted across steps,
// parallel groups and finally) is an error at that step, before any check
// or compilation (8 MiB of one-line steps took 1.2 GB to plan).
func TestTooManySteps(t *testing.T) {
	src := func(n int) []byte {
		var b strings.Builder
		b.WriteString(head + "  steps:\n")
		b.WriteString(strings.Repeat("  - note: {message: x}\n", n-600))
		b.WriteString("  - parallel:\n      steps:\n" + strings.Repeat("      - note: {message: x}\n", 500))
		b.WriteString("  finally:\n" + strings.Repeat("  - note: {message: x}\n", 100))
		return []byte(b.String())
	}
	if _, err := runbook.Parse("rb.yaml", src(runbook.MaxSteps), runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
		t.Fatalf("%d steps: %v", runbook.MaxSteps, err)
	}
	_, err := runbook.Parse("rb.yaml", src(runbook.MaxSteps+1), runbook.LoadOptions{Kinds: steps.Registry})
	// The last step of finally: 8 lines of header, keys and group, then one per step.
	want := fmt.Sprintf("rb.yaml:%d:5: the runbook has %d steps, over the limit of %d: split it", 8+runbook.MaxSteps+1, runbook.MaxSteps+1, runbook.MaxSteps)
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestVarsAsYAMLDecodes checks that spec.vars hold the values yaml.v3
// gives an `any` (the loader converts nodes itself, with the alias budget
// and a linear check of duplicate keys), merges and anchors included.
func TestVarsAsYAMLDecodes(t *testing.T) {
	vars := `
    str: hello
    quoted: "1"
    int: 42
    float: 1.5
    bool: true
    empty:
    tilde: ~
    hex: 0x1F
    list: [1, two, 3.0, null, [nested]]
    map: {a: 1, b: {c: [x, y]}}
    intkeys: {1: one, 2: two}
    base: &base {name: web, port: 80}
    derived: {<<: *base, port: 8080}
    multi: {<<: [{a: 1, b: 1}, {b: 2, c: 2}], c: 3}
    again: *base
    block: |
      line one
      line two
    time: 2024-01-02T03:04:05Z
`
	rb, errText := parse(t, head+"  vars:"+vars+"  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry})
	if errText != "" {
		t.Fatal(errText)
	}
	var want map[string]any
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(vars, "\n    ", "\n")), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rb.Vars); diff != "" {
		t.Errorf("vars differ from yaml.v3's (-yaml.v3 +loader):\n%s", diff)
	}
}

// TestDuplicateKeys checks that a key written twice is an error wherever
// it is (yaml.v3 checks this in quadratic time, the loader in linear).
func TestDuplicateKeys(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"vars", head + "  vars:\n    a: 1\n    b: 2\n    a: 3\n  steps:\n  - local: {command: [echo]}\n",
			`rb.yaml:8:5: spec.vars: mapping key "a" already defined at line 6`},
		{"nested", head + "  vars:\n    a: {x: 1, x: 2}\n  steps:\n  - local: {command: [echo]}\n",
			`rb.yaml:6:15: spec.vars.a: mapping key "x" already defined at line 6`},
		{"labels", "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t, labels: {a: x, a: y}}\nspec:\n  steps:\n  - local: {command: [echo]}\n",
			`rb.yaml:3:36: metadata.labels: mapping key "a" already defined at line 3`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parse(t, tc.src, runbook.LoadOptions{Kinds: steps.Registry})
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("error:\n got: %s\nwant prefix: %s", got, tc.want)
			}
		})
	}
}

// TestTooManyProblems checks that a file with more problems than
// MaxErrors lists the first ones and says so.
func TestTooManyProblems(t *testing.T) {
	src := head + "  steps:\n" + strings.Repeat("  - local: {command: [echo]}\n    bogus: 1\n", runbook.MaxErrors+10)
	_, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	var list runbook.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	if len(list) != runbook.MaxErrors+1 {
		t.Errorf("got %d problems, want %d and a last word", len(list), runbook.MaxErrors)
	}
	if want := fmt.Sprintf("rb.yaml: too many problems: only the first %d are listed", runbook.MaxErrors); list[0].Error() != want {
		t.Errorf("first problem %q, want %q", list[0].Error(), want)
	}
}

// TestDeepAlias checks that aliases cannot nest values deeper than
// MaxDepth: a list nested 6,000 deep holds an alias of another.
func TestDeepAlias(t *testing.T) {
	deep := func(inner string) string {
		return strings.Repeat("[", 6000) + inner + strings.Repeat("]", 6000)
	}
	src := head + "  vars:\n    a: &a " + deep("x") + "\n    b: " + deep("*a") + "\n  steps:\n  - local: {command: [echo]}\n"
	_, got := parse(t, src, runbook.LoadOptions{Kinds: steps.Registry})
	if want := "values nest more than 10000 levels deep here"; !strings.Contains(got, want) {
		t.Errorf("error %.300q, want %q", got, want)
	}
}

// TestNodeValue checks the converter offered for manifests: the values of
// yaml.v3, a duplicate key an error, and the alias budget.
func TestNodeValue(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"values", "a: [1, x, {b: true}]\nc: &c {d: 1.5}\ne: {<<: *c, f: null}\n", ""},
		{"duplicate key", "data:\n  a: 1\n  a: 2\n", `line 3, column 3: data: mapping key "a" already defined at line 2`},
		{"billion laughs", laughs("", 9, 9), "line 5, column 10: alias *l3: the aliases of this file expand to more than 10000 nodes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			got, err := runbook.NodeValue(doc.Content[0])
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := yaml.Unmarshal([]byte(tc.src), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("value differs from yaml.v3's (-yaml.v3 +NodeValue):\n%s", diff)
			}
		})
	}
}

// TestStepOrder checks which ids and variables each phase sees: a step
// sees the steps before it in its phase; onFailure and finally also see
// every main step and variable, but not each other's.
func TestStepOrder(t *testing.T) {
	src := head + `  steps:
  - {id: a, local: {command: [echo]}, set: {va: stdout}}
  - {id: b, local: {command: [echo, "${{ steps.a.stdout }}", "${{ vars.va }}"]}}
  onFailure:
  - {id: f1, local: {command: [echo, "${{ steps.b.stdout }}", "${{ vars.va }}"]}, set: {vf: stdout}}
  - {id: f2, local: {command: [echo, "${{ steps.f1.stdout }}", "${{ vars.vf }}"]}}
  finally:
  - {id: z1, local: {command: [echo, "${{ steps.b.stdout }}", "${{ steps.f1.stdout }}", "${{ vars.vf }}", "${{ steps.z2.stdout }}"]}}
  - {id: z2, local: {command: [echo, "${{ steps.z1.stdout }}", "${{ steps.nope.stdout }}"]}}
`
	_, got := parse(t, src, runbook.LoadOptions{Kinds: steps.Registry})
	want := []string{
		`rb.yaml:12:68: local: steps.f1 refers to a step that has not run yet at this point`,
		`rb.yaml:12:94: local: vars.vf is not declared in spec.vars nor set by an earlier step (did you mean "va"?)`,
		`rb.yaml:12:112: local: steps.z2 refers to a step that has not run yet at this point`,
		`rb.yaml:13:69: local: steps.nope: no step has id "nope"`,
	}
	if diff := cmp.Diff(strings.Join(want, "\n"), got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestPathsInsideValues: a problem deep inside a free-form value names its
// path, keys and indexes, as written; the path is made only for a message.
func TestPathsInsideValues(t *testing.T) {
	src := head + "  vars:\n    a: [1, {b: {c: 1, c: 2}}, [x, {d: {e: 1, e: 3}}]]\n  steps:\n  - note: {message: hi}\n"
	_, got := parse(t, src, runbook.LoadOptions{Kinds: steps.Registry})
	for _, want := range []string{
		`rb.yaml:6:23: spec.vars.a[1].b: mapping key "c" already defined at line 6`,
		`rb.yaml:6:46: spec.vars.a[2][1].d: mapping key "e" already defined at line 6`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
}

// TestByteOrderMarks: one byte order mark is read past; a second one is an
// error at its place (yaml.v3 took it for content and read every key
// without its first letter: "ind", "etadata").
func TestByteOrderMarks(t *testing.T) {
	body := head + "  steps:\n  - note: {message: hi}\n"
	if _, got := parse(t, "\uFEFF"+body, runbook.LoadOptions{Kinds: steps.Registry}); got != "" {
		t.Errorf("one mark: %s", got)
	}
	_, got := parse(t, "\uFEFF\uFEFF"+body, runbook.LoadOptions{Kinds: steps.Registry})
	if want := "rb.yaml:1:2: a second byte order mark (U+FEFF): a file starts with one at most"; got != want {
		t.Errorf("two marks: %q, want %q", got, want)
	}
}

// TestSnippetsHideSecretVars: the source lines that snippets quote (validate
// -s) hide the values of spec.secretVars, defaults and --var values alike,
// with the carets still under their columns.
func TestSnippetsHideSecretVars(t *testing.T) {
	src := head + `  vars: {pw: "hunter2secret", other: x}
  secretVars: [pw]
  steps:
  - local: {command: [echo, "hunter2secret", "override-pw-1"]}
    bogus: 1
`
	_, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry, Vars: map[string]string{"pw": "override-pw-1"}})
	var list runbook.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v, want a list", err)
	}
	out := list.Format(true)
	for _, secret := range []string{"hunter2secret", "override-pw-1"} {
		if strings.Contains(out, secret) {
			t.Errorf("the snippets show %q:\n%s", secret, out)
		}
	}
	if want := "     9 |     bogus: 1\n       |     ^\n"; !strings.Contains(out, want) {
		t.Errorf("snippet of line 9 lost:\n%s", out)
	}
}
