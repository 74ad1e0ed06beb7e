package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestEveryCommandHasExamples checks that COMMAND --help of every command
// prints, on standard output, an Examples section with the command in it,
// and that every example's command line parses with the command's own
// flags and names files that exist: examples do not go stale.
func TestEveryCommandHasExamples(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, c.name, "--help")
			if code != exitPassed || stderr != "" {
				t.Fatalf("%s --help: exit %d, stderr %q", c.name, code, stderr)
			}
			_, ex, ok := strings.Cut(stdout, "\nExamples:\n")
			if !ok {
				t.Fatalf("%s --help has no Examples section (add them to examples in help.go):\n%s", c.name, stdout)
			}
			ex, _, _ = strings.Cut(ex, "\nFlags:\n")
			used := 0
			for _, line := range strings.Split(ex, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				for _, args := range exampleCommands(line) {
					cmd := lookupCommand(args[0])
					if cmd == nil {
						t.Errorf("%q: no command %q", line, args[0])
						continue
					}
					if cmd.name == c.name {
						used++
					}
					fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
					fs.SetOutput(&strings.Builder{})
					cmd.new().AddFlags(fs)
					if err := fs.Parse(args[1:]); err != nil {
						t.Errorf("%q: %v", line, err)
					}
				}
				for _, a := range strings.Fields(line) {
					if strings.HasPrefix(a, "examples/") && !strings.Contains(a, "*") {
						if _, err := os.Stat(filepath.Join("../..", a)); err != nil {
							t.Errorf("%q: %v", line, err)
						}
					}
				}
			}
			if used == 0 {
				t.Errorf("%s --help: no example runs %s:\n%s", c.name, c.name, ex)
			}
		})
	}
	for name := range examples {
		if lookupCommand(name) == nil {
			t.Errorf("examples of %q, which is no command", name)
		}
	}
}

func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// exampleCommands finds the runbook commands of a shell line (each
// stage of a pipe that runs runbook), as argument lists without the
// program name and without redirections.
func exampleCommands(line string) [][]string {
	var out [][]string
	for _, stage := range strings.Split(line, "|") {
		stage = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stage), "source <("))
		stage = strings.TrimSuffix(stage, ")")
		if stage == "--version" || !strings.HasPrefix(stage, "runbook ") {
			continue
		}
		var args []string
		fields := strings.Fields(strings.TrimPrefix(stage, "runbook "))
		for i := 0; i < len(fields); i++ {
			if fields[i] == "<" || fields[i] == ">" {
				i++
				continue
			}
			args = append(args, fields[i])
		}
		if len(args) > 0 && args[0] != "--version" {
			out = append(out, args)
		}
	}
	return out
}

// TestExamplesAsAPlugin checks that, run as kubectl runbook, the examples
// name it so where runbook is the command, and nowhere else.
func TestExamplesAsAPlugin(t *testing.T) {
	got := examplesOf("completion", "kubectl runbook")
	for _, want := range []string{
		"  source <(kubectl runbook completion bash)\n",
		"  kubectl runbook completion zsh > \"${fpath[1]}/_runbook\"\n",
		"  kubectl runbook completion fish | source",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	got = examplesOf("run", "kubectl runbook")
	for _, want := range []string{
		"  # Keep what the run created, to look at it (runbook cleanup --run-id ... removes it later)\n",
		"  cat examples/distroless.yaml | kubectl runbook run -",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// TestHelpAndMistakes checks that help asked for goes to standard output
// and a mistake gets the error and where to find the help, not the help.
func TestHelpAndMistakes(t *testing.T) {
	code, stdout, stderr := run(t, "plan", "-h")
	if code != exitPassed || !strings.HasPrefix(stdout, "Usage: runbook plan [flags] FILE\n") || stderr != "" {
		t.Errorf("plan -h: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, help, _ := run(t, "help", "plan"); code != exitPassed || help != stdout {
		t.Errorf("help plan: exit %d, %q; want plan -h's", code, help)
	}
	code, stdout, stderr = run(t, "plan", "--bogus", "x.yaml")
	if want := "runbook plan: unknown flag: --bogus\nRun 'runbook plan --help' for its flags and examples.\n"; code != exitInvalid || stdout != "" || stderr != want {
		t.Errorf("plan --bogus: exit %d, stdout %q, stderr %q, want %q", code, stdout, stderr, want)
	}
	code, stdout, _ = run(t, "--help")
	if code != exitPassed || !strings.Contains(stdout, "\nExamples:\n  runbook validate examples/distroless.yaml\n") {
		t.Errorf("--help: exit %d, %q", code, stdout)
	}
}
