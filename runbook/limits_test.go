package runbook_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestLongLineSnippets: a minified JSON runbook is one long line; the
// snippet of each of its problems shows a window of that line around the
// column (… where it is cut), not the whole line with a caret as wide as
// the column, so that the error text is bounded whatever the length of
// the line, and each caret is still under the key it points at.
func TestLongLineSnippets(t *testing.T) {
	const n = 100
	// Each step holds 2,000 characters of padding, some of them not ASCII,
	// so that columns (in characters) and offsets (in bytes) differ.
	pad := strings.Repeat("x", 1000) + strings.Repeat("é", 1000)
	var b strings.Builder
	b.WriteString(`{"apiVersion":"runbook/v1alpha1","kind":"Runbook","metadata":{"name":"t"},"spec":{"steps":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"note":{"message":"%s"},"bogus":%d}`, pad, i)
	}
	b.WriteString("]}}")
	src := b.String()
	_, err := runbook.Parse("rb.json", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	var list runbook.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	if len(list) != n {
		t.Fatalf("got %d problems, want %d", len(list), n)
	}
	if text := list.Format(true); len(text) >= 64<<10 {
		t.Fatalf("Format(true) is %d bytes for %d problems on a line of %d bytes, want under 64 KiB; it starts:\n%.600s", len(text), n, len(src), text)
	}
	first := utf8.RuneCountInString(src[:strings.Index(src, `"bogus"`)]) + 1
	if want := fmt.Sprintf(`rb.json:1:%d: unknown field "bogus" in step`, first); !strings.HasPrefix(list[0].Error(), want) {
		t.Errorf("first problem %q, want it to start %q", list[0].Error(), want)
	}
	for i, e := range list {
		if !strings.HasPrefix(e.Error(), "rb.json:1:") {
			t.Errorf("problem %d: %q, want rb.json:1:COL", i, e.Error())
		}
		lines := strings.Split(e.Snippet, "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "     1 | ") || !strings.HasPrefix(lines[1], "       | ") {
			t.Fatalf("problem %d: snippet %q, want a line and a caret", i, e.Snippet)
		}
		shown := []rune(strings.TrimPrefix(lines[0], "     1 | "))
		caret := strings.TrimPrefix(lines[1], "       | ")
		at := len(caret) - 1
		if len(shown) > 122 || caret != strings.Repeat(" ", at)+"^" {
			t.Errorf("problem %d: snippet line of %d characters, caret line %q, want at most 120 and …s", i, len(shown), caret)
			continue
		}
		if got := string(shown[at:min(at+7, len(shown))]); got != `"bogus"` {
			t.Errorf("problem %d: the caret is under %q, want \"bogus\":\n%s", i, got, e.Snippet)
		}
		if i > 0 && i < n-1 && (shown[0] != '…' || shown[len(shown)-1] != '…') {
			t.Errorf("problem %d: a line cut on both sides shows no …:\n%s", i, e.Snippet)
		}
	}
}

// TestDurationMaximum: a duration of the format is at most 168h. A longer
// timeout (up to time.Duration's maximum) overflowed the run's deadline,
// which adds the cleanup's time to it, into the past.
func TestDurationMaximum(t *testing.T) {
	const step = "  steps:\n  - local: {command: [echo]}\n"
	for _, tc := range []struct{ name, src, want string }{
		{"spec.timeout at the maximum", head + "  timeout: 168h\n" + step, ""},
		{"spec.timeout of time.Duration's maximum", head + "  timeout: 2562047h47m16s\n" + step,
			`rb.yaml:5:12: spec.timeout: "2562047h47m16s" is more than the maximum of 168h`},
		{"spec.timeout just over", head + "  timeout: 168h0m0.001s\n" + step,
			`rb.yaml:5:12: spec.timeout: "168h0m0.001s" is more than the maximum of 168h`},
		{"spec.timeout over time.Duration", head + "  timeout: 9999999999h\n" + step,
			`rb.yaml:5:12: spec.timeout: "9999999999h" is more than the maximum of 168h`},
		{"negative over time.Duration", head + "  timeout: -9999999999h\n" + step,
			`rb.yaml:5:12: spec.timeout: "-9999999999h" must be greater than 0; omit it for the default of 10m (--timeout overrides it)`},
		{"step timeout", head + "  steps:\n  - local: {command: [echo]}\n    timeout: 200h\n",
			`rb.yaml:7:14: timeout: "200h" is more than the maximum of 168h`},
		{"group timeout", head + "  steps:\n  - parallel: {steps: [{local: {command: [echo]}}]}\n    timeout: 8760h\n",
			`rb.yaml:7:14: timeout: "8760h" is more than the maximum of 168h`},
		{"logs since", head + "  steps:\n  - logs: {pod: p, since: 169h}\n",
			`rb.yaml:6:27: logs.since: "169h" is more than the maximum of 168h`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := parse(t, tc.src, runbook.LoadOptions{Kinds: steps.Registry}); got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVarOneValue: a list or mapping --var is one YAML value: text after
// it (a list closed too early) or a second document is an error, as is a
// syntax error, which says it is one, and where; no error repeats the value.
func TestVarOneValue(t *testing.T) {
	src := head + "  vars: {n: 1, l: [a], m: {a: 1}}\n  steps:\n  - local: {command: [echo]}\n"
	for _, tc := range []struct {
		name, value string
		want        any
		err         string
	}{
		{"l", "[web-1, secret-2], db-secret", nil, "more text follows the list at column 18: a value is one list, every item inside its brackets"},
		{"l", "[secret]]", nil, "more text follows the list at column 9"},
		{"l", "[secret] x", nil, "more text follows the list at column 10"},
		{"l", `"secret" x`, nil, "more text follows the value at column 10: a value is one YAML value"},
		{"l", "[secret]\n---\n[b]", nil, "a second YAML document starts at line 2, column 1"},
		{"m", "{a: secret}\nb: 2", nil, "more text follows the mapping at line 2, column 1: a value is one mapping, every entry inside its braces"},
		{"n", "1\n--- 2", nil, "a second YAML document starts at line 2, column 1"},
		{"l", "[secret", nil, "not valid YAML: the [ at column 1 is not closed"},
		{"m", "{a: secret", nil, "not valid YAML: the { at column 1 is not closed"},
		{"l", "[a, {b: secret]", nil, "not valid YAML: the ] at column 15 does not close the { at column 5"},
		{"l", `[a, "secret]`, nil, "not valid YAML: the quote at column 5 is not closed"},
		{"l", "[*secret]", nil, "not valid YAML: unknown anchor referenced"},
		{"l", "- secret\n]", nil, "not valid YAML at line 1: did not find expected '-' indicator"},
		{"l", "secret", nil, "expected a list ([a, b]), as its value in spec.vars is"},
		{"l", `["a, b", "c]"]`, []any{"a, b", "c]"}, ""},
		{"l", "[it's, ok] # comment\n", []any{"it's", "ok"}, ""},
		{"m", `{"a":"b"}`, map[string]any{"a": "b"}, ""},
		{"n", "3", 3, ""},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			rb, err := parse(t, src, runbook.LoadOptions{Kinds: steps.Registry, Vars: map[string]string{tc.name: tc.value}})
			if tc.err == "" {
				if err != "" {
					t.Fatalf("error %q", err)
				}
				if got := fmt.Sprint(rb.Vars[tc.name]); got != fmt.Sprint(tc.want) {
					t.Errorf("vars.%s = %s, want %v", tc.name, got, tc.want)
				}
				return
			}
			if want := "rb.yaml: --var " + tc.name + ": " + tc.err; !strings.HasPrefix(err, want) {
				t.Errorf("error %q, want %q", err, want)
			}
			if strings.Contains(err, "secret") {
				t.Errorf("error %q repeats the value", err)
			}
		})
	}
}

// TestUndeclaredVarsAreCapped: a --vars-file of 100,000 names the runbook does not declare
// (the wrong file) gets 20 errors and a count, not 100,000 lines.
func TestUndeclaredVarsAreCapped(t *testing.T) {
	vars := map[string]string{}
	for i := range 100000 {
		vars[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err := runbook.Parse("rb.yaml", []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  vars: {a: x}\n  steps:\n  - note: {message: hi}\n"), runbook.LoadOptions{Kinds: steps.Registry, Vars: vars})
	if err == nil {
		t.Fatal("no error for 100,000 undeclared vars")
	}
	msg := err.Error()
	if n := strings.Count(msg, "declares no such variable"); n != 20 || !strings.Contains(msg, "and 99980 more") {
		t.Errorf("%d undeclared names listed (want 20) and no count of the rest:\n%.300s", n, msg)
	}
}

// TestZeroIsNotTheDefault: a whole number whose 0 would silently mean the default
// (limitBytes: the whole log, maxBytes: 10 MiB, concurrency: 1 or all) is an error at
// its position that says what leaving it out means, as a duration of 0s is.
func TestZeroIsNotTheDefault(t *testing.T) {
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: z}
spec:
  steps:
  - logs: {pod: p, limitBytes: 0}
  - cp: {pod: p, path: /x, maxBytes: 0}
  - note: {message: x}
    forEach: {items: "[1, 2]", concurrency: 0}
  - parallel:
      concurrency: 0
      steps:
      - note: {message: a}
      - note: {message: b}
  - logs: {pod: p, tailLines: 0}
`
	_, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err == nil {
		t.Fatal("no error for fields written 0")
	}
	for _, want := range []string{
		"rb.yaml:6:32: logs.limitBytes: 0 must be greater than 0; omit it for the whole log",
		"rb.yaml:7:38: cp.maxBytes: 0 must be greater than 0; omit it for the default of 10 MiB",
		"rb.yaml:9:45: forEach.concurrency: 0 must be greater than 0; omit it for the default of 1",
		"rb.yaml:11:20: parallel.concurrency: 0 must be greater than 0; omit it for the default: all of them",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "tailLines") {
		t.Errorf("tailLines: 0 (read nothing) is refused:\n%v", err)
	}
}
