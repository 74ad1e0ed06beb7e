package runbook_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExamplesLoad checks that every example validates.
func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	incidents, err2 := filepath.Glob("../examples/incidents/*.yaml")
	files = append(files, incidents...)
	if err != nil || err2 != nil || len(files) < 5 || len(incidents) == 0 {
		t.Fatalf("examples: %v %v %v", files, err, err2)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../examples/"), func(t *testing.T) {
			if _, err := runbook.Load(f, runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
				t.Fatalf("%v", err)
			}
		})
	}
}

// TestBadFileGolden checks that every problem of a bad file is reported at
// once, one file:line:col line each, against a checked-in golden file.
func TestBadFileGolden(t *testing.T) {
	_, err := runbook.Load("testdata/bad.yaml", runbook.LoadOptions{Kinds: steps.Registry})
	var list runbook.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	got := list.Format(false)
	golden := "testdata/bad.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("errors differ from %s (-want +got):\n%s", golden, diff)
	}
	if len(list) != 4 {
		t.Errorf("want 4 problems, got %d:\n%s", len(list), got)
	}
}

func parse(t *testing.T, src string, o runbook.LoadOptions) (*runbook.Runbook, string) {
	t.Helper()
	rb, err := runbook.Parse("rb.yaml", []byte(src), o)
	if err != nil {
		return nil, err.Error()
	}
	return rb, ""
}

const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		opts      runbook.LoadOptions
		want      string
	}{
		{"empty file", "", runbook.LoadOptions{Kinds: steps.Registry}, "rb.yaml:1:1: the file is empty"},
		{"bad yaml", "a: [1,\n", runbook.LoadOptions{Kinds: steps.Registry}, "rb.yaml:1:1: did not find expected node content"},
		{"fraction for a whole number", head + "  steps:\n  - local: {command: [echo]}\n    forEach: {items: \"[1, 2]\", concurrency: 1.5}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:45: forEach.concurrency: expected a whole number, found "1.5"`},
		{"float for a whole number", head + "  steps:\n  - logs: {pod: p, tailLines: 1e3}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:31: logs.tailLines: expected a whole number, found "1e3"`},
		{"negative timeout", head + "  steps:\n  - local: {command: [echo]}\n    timeout: -5s\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:14: timeout: "-5s" must be greater than 0; omit it for the default: what is left of the run's (or its group's) timeout`},
		{"zero step timeout", head + "  steps:\n  - local: {command: [echo]}\n    timeout: 0s\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:14: timeout: "0s" must be greater than 0; omit it for the default: what is left of the run's (or its group's) timeout`},
		{"zero run timeout", head + "  timeout: 0\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:5:12: spec.timeout: "0" must be greater than 0; omit it for the default of 10m (--timeout overrides it)`},
		{"zero run timeout by alias", head + "  vars: {t: &t 0m0s}\n  timeout: *t\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:5:13: spec.timeout: "0m0s" must be greater than 0; omit it for the default of 10m (--timeout overrides it)`},
		{"zero group timeout", head + "  steps:\n  - timeout: 0ms\n    parallel:\n      steps:\n      - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:14: timeout: "0ms" must be greater than 0; omit it for the default: what is left of the run's (or its group's) timeout`},
		{"zero logs since", head + "  steps:\n  - logs: {pod: p, since: 0s}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:27: logs.since: "0s" must be greater than 0; omit it for the whole log`},
		{"duration as a list", head + "  timeout: [1m]\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:5:12: spec.timeout: expected a duration such as 30s or 5m`},
		{"NUL byte", head + "  steps:\n  - local: {command: [ech\x00o]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:26: character U+0000 is not allowed in YAML (a control character: in a double-quoted string, write it as \x00)`},
		{"escape sequence", head + "  steps:\n  - local: {command: [echo, \"\x1b[2J\"]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:30: character U+001B is not allowed in YAML (a control character: in a double-quoted string, write it as \x1b)`},
		{"C1 control", head + "  steps:\n  - local: {command: [\u009b]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:23: character U+009B is not allowed in YAML (a control character: in a double-quoted string, write it as \x9b)`},
		{"invalid UTF-8", head + "  steps:\n  - local: {command: [\xff\xfe]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:23: invalid UTF-8 (byte 0xff): a runbook is UTF-8 text`},
		{"wrong apiVersion", "apiVersion: v1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:1:13: apiVersion must be runbook/v1alpha1, found "v1"`},
		{"unknown spec key", head + "  stpes: []\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:5:3: unknown field \"stpes\" in spec (did you mean \"steps\"?)"},
		{"two actions", head + "  steps:\n  - exec: {pod: p, command: [ps]}\n    local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:5: a step has one action: "exec" and "local" are both here (split them into two steps)`},
		{"empty step", head + "  steps:\n  -\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:6:4: spec.steps[0]: empty step: a step needs one action"},
		{"no action", head + "  steps:\n  - name: nothing\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:6:5: step has no action: add one of " + strings.Join(steps.Names(), ", ")},
		{"duplicate id", head + "  steps:\n  - {id: a, local: {command: [echo]}}\n  - {id: a, local: {command: [echo]}}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:5: step id "a" is already used by the step at line 6`},
		{"bad duration", head + "  timeout: soon\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:5:12: spec.timeout: "soon" is not a duration (use 30s, 5m, 1h30m)`},
		{"wrong type", head + "  allowPrivileged: maybe\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:5:20: spec.allowPrivileged: expected true or false, found "maybe"`},
		{"stdout in apply", head + "  steps:\n  - apply: {manifest: \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: c}\\n\"}\n    assert: [stdout == \"\"]\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:7:14: assert: apply steps do not set stdout (they set: object, objects, error, duration)"},
		{"unknown var", head + "  vars: {image: busybox}\n  steps:\n  - local: {command: [\"${{ vars.imgae }}\"]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:7:28: local: vars.imgae is not declared in spec.vars nor set by an earlier step (did you mean "image"?)`},
		{"unknown --var", head + "  vars: {image: busybox}\n  steps:\n  - local: {command: [echo]}\n", runbook.LoadOptions{Kinds: steps.Registry, Vars: map[string]string{"imag": "x"}},
			`rb.yaml: --var imag: the runbook declares no such variable in spec.vars (did you mean "image"?)`},
		{"privileged profile", head + "  steps:\n  - debug: {pod: p, image: busybox, profile: sysadmin}\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:6:37: debug: privileged (profile sysadmin"},
		{"image kubectl refuses", head + "  steps:\n  - debug: {pod: p, image: \"busybox:1.36 \", command: [ps]}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:21: debug: invalid image name "busybox:1.36 ": invalid reference format`},
		{"setImage kubectl refuses", head + "  steps:\n  - copy: {pod: p, to: q, setImage: {app: BUSYBOX}}\n", runbook.LoadOptions{Kinds: steps.Registry},
			`rb.yaml:6:27: copy: container "app": invalid image name "BUSYBOX": invalid reference format`},
		{"problem in a block scalar", head + "  steps:\n  - local: {command: [echo]}\n    assert:\n    - that: |\n        stdout != \"\" &&\n          stdout.foo == 1\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:10:18: assert: type string has no field foo"},
		{"result in when", head + "  steps:\n  - local: {command: [echo]}\n    when: stdout == \"\"\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:7:11: when: stdout is a result of the step: it can be used in assert and set, not here"},
		{"set var used later is fine, before is not", head + "  steps:\n  - local: {command: [\"${{ vars.x }}\"]}\n  - local: {command: [echo]}\n    set: {x: stdout}\n", runbook.LoadOptions{Kinds: steps.Registry},
			"rb.yaml:6:28: local: vars.x is not declared"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parse(t, tc.src, tc.opts)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("error:\n got: %s\nwant prefix: %s", got, tc.want)
			}
		})
	}
}

func TestLoadOK(t *testing.T) {
	rb, err := parse(t, head+`  vars: {n: 1}
  steps:
  - id: first
    local: {command: [echo, "${{ vars.n + 1 }}"]}
    assert:
    - trim(stdout) == "2"
    - {that: exitCode == 0, message: it must work}
    set: {out: trim(stdout)}
  - local: {command: [echo, "${{ vars.out }}", "${{ steps.first.stdout }}"]}
`, runbook.LoadOptions{Kinds: steps.Registry, Vars: map[string]string{"n": "41"}})
	if err != "" {
		t.Fatal(err)
	}
	if got := rb.Vars["n"]; got != 41 {
		t.Errorf("--var n=41 gave %#v, want the number 41", got)
	}
	if len(rb.Spec.Steps) != 2 || rb.Spec.Steps[0].Assert[1].Message != "it must work" || rb.Spec.Steps[0].Set[0].Name != "out" {
		t.Errorf("decoded steps: %+v", rb.Spec.Steps[0])
	}
}

// TestBooleansAreYAML12 checks that a boolean field takes YAML 1.2's
// booleans only, as the schema's type: boolean does in an editor
// (yaml-language-server reads YAML 1.2): yaml.v3 would take YAML 1.1's
// yes/no/on/off into a bool but not a quoted "true". Every other value is
// an error at its position that says what to write; a pointer field
// (delete's wait) follows the same rule.
func TestBooleansAreYAML12(t *testing.T) {
	step := func(v string) string {
		return head + "  steps:\n  - local: {command: [echo]}\n    continueOnError: " + v + "\n"
	}
	const at = "rb.yaml:7:22: continueOnError: expected true or false, found "
	for _, tc := range []struct {
		value string
		want  bool
		err   string
	}{
		{"true", true, ""},
		{"false", false, ""},
		{"True", true, ""},
		{"FALSE", false, ""},
		{"!!bool true", true, ""},
		{"yes", false, at + `"yes", which YAML 1.2 reads as a string: write true`},
		{"no", false, at + `"no", which YAML 1.2 reads as a string: write false`},
		{"on", false, at + `"on", which YAML 1.2 reads as a string: write true`},
		{"off", false, at + `"off", which YAML 1.2 reads as a string: write false`},
		{"y", false, at + `"y", which YAML 1.2 reads as a string: write true`},
		{"N", false, at + `"N", which YAML 1.2 reads as a string: write false`},
		{`"yes"`, false, at + `the string "yes": write true, without quotes`},
		{`"true"`, false, at + `the string "true": write true, without quotes`},
		{`'false'`, false, at + `the string "false": write false, without quotes`},
		{`"True"`, false, at + `the string "True": write true, without quotes`},
		{"1", false, at + `"1": write true`},
		{"0", false, at + `"0": write false`},
		{"maybe", false, at + `"maybe"`},
		{"~", false, at + "nothing (null)"},
		{"[true]", false, at + "a list"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			rb, err := runbook.Parse("rb.yaml", []byte(step(tc.value)), runbook.LoadOptions{Kinds: steps.Registry})
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("error:\n got: %v\nwant: %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rb.Spec.Steps[0].ContinueOnError; got != tc.want {
				t.Errorf("continueOnError = %v, want %v", got, tc.want)
			}
		})
	}
	_, err := runbook.Parse("rb.yaml", []byte(head+"  steps:\n  - delete: {kind: Pod, name: p, wait: \"no\"}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if want := `rb.yaml:6:40: delete.wait: expected true or false, found the string "no": write false, without quotes`; err == nil || err.Error() != want {
		t.Errorf("delete.wait \"no\":\n got: %v\nwant: %s", err, want)
	}
}

// TestEnumTagsMatchTheLoader checks the closed sets the schema offers
// editors (enum tags) on the format's own fields against what the loader
// accepts: every value in a tag loads, a value outside it does not, and no
// field with an enum tag is left out of the test.
func TestEnumTagsMatchTheLoader(t *testing.T) {
	docs := map[string]func(v string) string{
		"Runbook.APIVersion": func(v string) string {
			return "apiVersion: " + v + "\nkind: Runbook\nmetadata: {name: t}\nspec:\n  steps: [{local: {command: [echo]}}]\n"
		},
		"Runbook.Kind": func(v string) string {
			return "apiVersion: runbook/v1alpha1\nkind: " + v + "\nmetadata: {name: t}\nspec:\n  steps: [{local: {command: [echo]}}]\n"
		},
		"Spec.Cleanup": func(v string) string {
			return head + "  cleanup: " + v + "\n  steps: [{local: {command: [echo]}}]\n"
		},
		"Parallel.OnFailure": func(v string) string {
			return head + "  steps: [{parallel: {onFailure: " + v + ", steps: [{local: {command: [echo]}}]}}]\n"
		},
	}
	tested := 0
	for _, typ := range []reflect.Type{reflect.TypeOf(runbook.Runbook{}), reflect.TypeOf(runbook.Metadata{}), reflect.TypeOf(runbook.Spec{}),
		reflect.TypeOf(runbook.Step{}), reflect.TypeOf(runbook.Assertion{}), reflect.TypeOf(runbook.ForEach{}), reflect.TypeOf(runbook.Selection{}), reflect.TypeOf(runbook.Parallel{})} {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			enum := f.Tag.Get("enum")
			if enum == "" {
				continue
			}
			name := typ.Name() + "." + f.Name
			doc, ok := docs[name]
			if !ok {
				t.Errorf("%s has an enum tag and no case here", name)
				continue
			}
			tested++
			for _, v := range strings.Split(enum, ",") {
				if _, err := runbook.Parse("rb.yaml", []byte(doc(v)), runbook.LoadOptions{Kinds: steps.Registry}); err != nil {
					t.Errorf("%s = %q is in the enum, but: %v", name, v, err)
				}
			}
			if _, err := runbook.Parse("rb.yaml", []byte(doc("Nope")), runbook.LoadOptions{Kinds: steps.Registry}); err == nil {
				t.Errorf("%s = Nope loads", name)
			}
		}
	}
	if tested != len(docs) {
		t.Errorf("tested %d enum fields, want %d", tested, len(docs))
	}
}

// TestSnippetHidesControlCharacters: the snippet of an error shows the
// line at fault, which may hold the raw escape sequence the error is about;
// printed on a terminal, it must not act, and the caret must stay under it.
func TestSnippetHidesControlCharacters(t *testing.T) {
	_, err := runbook.Parse("rb.yaml", []byte(head+"  steps:\n  - local: {command: [\"\x1b[2J\xff\"]}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	list, ok := err.(runbook.ErrorList)
	if !ok {
		t.Fatalf("error = %v, want an ErrorList", err)
	}
	want := "rb.yaml:6:24: character U+001B is not allowed in YAML (a control character: in a double-quoted string, write it as \\x1b)\n" +
		"     6 |   - local: {command: [\"?[2J?\"]}\n" +
		"       |                        ^\n"
	if got := list.Format(true); got != want {
		t.Errorf("Format(true) =\n%s\nwant\n%s", got, want)
	}
}

// TestProblemsHideControlCharacters: a problem quoting a value of the file
// (a step id written with YAML escapes) or naming a file whose name holds
// a line break is one printable line: an escape sequence would retitle the
// terminal or recolour what follows, a bidirectional override reorder it.
func TestProblemsHideControlCharacters(t *testing.T) {
	src := head + "  steps:\n  - id: \"a\\e]0;x\\a\\e[31m\\u202e\\u009b\"\n    local: {command: [echo]}\n"
	_, err := runbook.Parse("r\nb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err == nil {
		t.Fatal("want an error")
	}
	want := `r\nb.yaml:6:5: step id "a\x1b]0;x\a\x1b[31m\u202e\u009b" must be letters, digits and _ (it is used as steps.a\x1b]0;x\a\x1b[31m\u202e\u009b in expressions)`
	if got := err.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestVarOverrides: a --var is read as the kind its variable is declared
// as: text for a string (a version 1.10 is not the number 1.1, a name 0123
// not 123), a number, a boolean, a list or a mapping else, or an error that
// says what is expected and does not show the value (it may be a secret).
func TestVarOverrides(t *testing.T) {
	src := head + "  vars: {s: x, n: 1, b: false, l: [a], m: {a: 1}}\n  steps:\n  - local: {command: [echo]}\n"
	for _, tc := range []struct {
		name, value string
		want        any
		err         string
	}{
		{"s", "1.10", "1.10", ""},
		{"s", "0123", "0123", ""},
		{"s", "~", "~", ""},
		{"s", "[1, 2]", "[1, 2]", ""},
		{"n", "41", 41, ""},
		{"n", "2.5", 2.5, ""},
		{"n", "abc-secret", nil, "rb.yaml: --var n: expected a number, as its value in spec.vars is"},
		{"n", ".nan", nil, "rb.yaml: --var n: expected a number, as its value in spec.vars is"},
		{"n", "1e400", nil, "rb.yaml: --var n: expected a number, as its value in spec.vars is"},
		{"b", "true", true, ""},
		{"b", "yes", nil, "rb.yaml: --var b: expected true or false, as its value in spec.vars is"},
		{"l", "[x, y]", []any{"x", "y"}, ""},
		{"l", "x", nil, "rb.yaml: --var l: expected a list ([a, b]), as its value in spec.vars is"},
		{"m", "{b: 2}", map[string]any{"b": 2}, ""},
		{"m", "[1]", nil, "rb.yaml: --var m: expected a mapping ({a: 1}), as its value in spec.vars is"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			rb, err := parse(t, src, runbook.LoadOptions{Kinds: steps.Registry, Vars: map[string]string{tc.name: tc.value}})
			if err != tc.err {
				t.Fatalf("error %q, want %q", err, tc.err)
			}
			if err == "" && !cmp.Equal(rb.Vars[tc.name], tc.want) {
				t.Errorf("vars.%s = %#v, want %#v", tc.name, rb.Vars[tc.name], tc.want)
			}
		})
	}
}
