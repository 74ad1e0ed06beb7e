package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBashCompletion loads the bash script into a real bash and completes
// a command name and a flag.
func TestBashCompletion(t *testing.T) {
	code, script, stderr := run(t, "completion", "bash")
	if code != exitPassed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "rb.bash")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ words, want string }{
		{"runbook pl", "plan"},
		{"runbook plan --pre", "--preflight"},
		{"runbook run --as-g", "--as-group"},
		{"runbook cleanup --insecure", "--insecure-skip-tls-verify"},
		{"runbook completion f", "fish"},
	} {
		words := strings.Fields(tt.words)
		cmd := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=(`+strings.Join(words, " ")+`); COMP_CWORD=`+
			string(rune('0'+len(words)-1))+`; _runbook; printf '%s\n' "${COMPREPLY[@]}"`, "bash", path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", tt.words, err, out.String())
		}
		if !strings.Contains("\n"+out.String(), "\n"+tt.want+"\n") {
			t.Errorf("completing %q: got %q, want %q among them", tt.words, out.String(), tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, _ := run(t, args...)
		if code != exitPassed || !strings.HasPrefix(stdout, "runbook "+version()+" (") {
			t.Errorf("%v: exit %d, %q", args, code, stdout)
		}
	}
	code, stdout, _ := run(t, "version", "-o", "json")
	if code != exitPassed || !strings.Contains(stdout, `"version": "`+version()+`"`) {
		t.Errorf("version -o json: exit %d, %q", code, stdout)
	}
}

func TestValidateStdin(t *testing.T) {
	old := stdin
	defer func() { stdin = old }()
	stdin = strings.NewReader("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: x}\nspec:\n  steps:\n  - local: {command: [echo]}\n    bogus: 1\n")
	code, _, stderr := run(t, "validate", "-")
	if code != exitInvalid || !strings.Contains(stderr, "<stdin>:7:5: unknown field \"bogus\"") {
		t.Errorf("validate -: exit %d, %q", code, stderr)
	}
}
