package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVarsFile(t *testing.T) {
	good := []struct {
		name, src string
		want      map[string]string
	}{
		{"json, as a Job's vars.json", `{"pod": "web-0", "token": "a\"b\u00e9"}`, map[string]string{"pod": "web-0", "token": "a\"bé"}},
		{"yaml scalars as their text", "version: 1.10\nport: 0123\non: yes\nempty:\nquoted: '007'\n", map[string]string{"version": "1.10", "port": "0123", "on": "yes", "empty": "", "quoted": "007"}},
		{"a comment only besides", "# vars\npod: web\n", map[string]string{"pod": "web"}},
		{"a list var's YAML, quoted", "hosts: '[a, b]'\n", map[string]string{"hosts": "[a, b]"}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := parseVarsFile("v.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	bad := []struct{ name, src, want string }{
		{"empty", "", "v.yaml:1:1: the file is empty"},
		{"a list", "- a\n- b\n", "v.yaml:1:1: expected an object"},
		{"a nested value", "pod: web\nextra: {a: s3cr3t}\n", "v.yaml:2:8: extra: expected a value"},
		{"a second document", "pod: web\n---\npod: db\n", "v.yaml:2:1: one document per file: a second YAML document starts here"},
		{"twice", "pod: web\npod: s3cr3t\n", "v.yaml:2:1: pod is given twice"},
		{"an alias", "a: &x s3cr3t\nb: *x\n", "v.yaml:2:4: b: aliases are not allowed"},
		{"broken yaml", "pod: [web\n", "v.yaml:1:1: did not find expected ',' or ']'"},
		{"too deep", strings.Repeat("[", 20000), "v.yaml:1:1: exceeded max depth of 10000"},
		{"a control character", "pod: \"web\"\x1b\n", "v.yaml:1:11: character U+001B is not allowed in YAML"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseVarsFile("v.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error holds a value: %v", err)
			}
		})
	}
}

// TestVarsFileErrorsSayWhere: a value of a --vars-file the runbook cannot
// take (a text for a number var, a name it does not declare) is named by
// its file:line:col, not as a --var, and the value is not repeated; a
// --var over it is named as a --var.
func TestVarsFileErrorsSayWhere(t *testing.T) {
	dir := t.TempDir()
	rb := writeFile(t, dir, "rb.yaml", "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: vf}\nspec:\n  vars: {n: 3}\n  steps:\n  - note: {message: hi}\n")
	vf := writeFile(t, dir, "vars.yaml", "n: \"SECRETINFILE\"\nzz: 1\n")
	code, _, stderr := run(t, "validate", rb, "--vars-file", vf)
	for _, want := range []string{vf + ":1:4: n: expected a number", vf + ":2:5: zz: the runbook declares no such variable"} {
		if code != exitInvalid || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
	}
	if strings.Contains(stderr, "SECRETINFILE") {
		t.Errorf("the value is repeated: %s", stderr)
	}
	if _, _, stderr := run(t, "validate", rb, "--vars-file", vf, "--var", "n=x"); !strings.Contains(stderr, rb+": --var n: expected a number") {
		t.Errorf("a --var over the file: %q", stderr)
	}
}

// writeFile writes text to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
