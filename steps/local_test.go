package steps

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kube-runbook/runbook/runbook/expression"
)

func TestLocalRun(t *testing.T) {
	const echo = "/bin/echo"
	dir := t.TempDir()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		spec    *LocalStep
		ctx     context.Context
		max     int
		want    *Outcome
		wantErr string
	}{
		{"echo", &LocalStep{Command: []expression.Template{tpl(t, echo), tpl(t, "hello"), tpl(t, "${{ vars.name }}")}}, nil, 0,
			&Outcome{Stdout: "hello web\n", ExitCode: intPtr(0), Target: "local: " + echo + " hello web"}, ""},
		{"exit code", &LocalStep{Shell: tpl(t, "echo out; echo err >&2; exit 3")}, nil, 0,
			&Outcome{Stdout: "out\n", Stderr: "err\n", ExitCode: intPtr(3), Target: "local: /bin/sh -c 'echo out; echo err >&2; exit 3'"}, ""},
		{"env, dir and secrets", &LocalStep{Shell: tpl(t, `echo "$TOKEN $RUNBOOK_NAMESPACE $RUNBOOK_RUN_ID $(pwd)"`), Dir: tpl(t, dir),
			Env: []EnvVar{{Name: "TOKEN", Value: tpl(t, "s3cret"), Secret: true}}}, nil, 0,
			&Outcome{Stdout: "s3cret default run1 " + dir + "\n", ExitCode: intPtr(0), Secrets: []string{"s3cret"},
				Target: `local: /bin/sh -c 'echo "$TOKEN $RUNBOOK_NAMESPACE $RUNBOOK_RUN_ID $(pwd)"'`}, ""},
		{"output cap", &LocalStep{Shell: tpl(t, "yes | head -c 100000; echo done >&2")}, nil, 10,
			&Outcome{Stdout: "y\ny\ny\ny\ny\n", StdoutTruncated: true, Stderr: "done\n", ExitCode: intPtr(0),
				Target: "local: /bin/sh -c 'yes | head -c 100000; echo done >&2'"}, ""},
		{"killed by a signal", &LocalStep{Shell: tpl(t, "kill -KILL $$")}, nil, 0,
			&Outcome{ExitCode: intPtr(137), Target: "local: /bin/sh -c 'kill -KILL $$'"}, ""},
		{"missing binary", &LocalStep{Command: []expression.Template{tpl(t, "runbook-no-such-binary")}}, nil, 0, nil,
			`local command runbook-no-such-binary: exec: "runbook-no-such-binary": executable file not found in $PATH`},
		{"missing dir", &LocalStep{Command: []expression.Template{tpl(t, echo)}, Dir: tpl(t, "nope")}, nil, 0, nil,
			"local command: working directory: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"dir is a file", &LocalStep{Command: []expression.Template{tpl(t, echo)}, Dir: tpl(t, echo)}, nil, 0, nil,
			"local command: working directory /bin/echo is not a directory"},
		{"stopped", &LocalStep{Command: []expression.Template{tpl(t, "sleep"), tpl(t, "60")}}, cancelled, 0, nil,
			"local command sleep was stopped: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			env.Dir = dir
			env.MaxOutput = tt.max
			ctx := tt.ctx
			if ctx == nil {
				ctx = testCtx(t)
			}
			out := tt.spec.Run(ctx, env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || out.Err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", out.Err, tt.wantErr)
				}
				if tt.name == "missing binary" && out.ExitCode != nil {
					t.Errorf("exit code %d for a command that never started", *out.ExitCode)
				}
				return
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLocalRunKillsTheProcessGroup checks that a stopped command's
// children die with it: the background sleep holds the command's output
// open, so the pipes only close early if the whole group was killed.
func TestLocalRunKillsTheProcessGroup(t *testing.T) {
	env := newTestEnv(t, nil)
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Opening blocks until the shell opens the fifo to write: by then
		// the background sleep runs.
		b, _ := os.ReadFile(fifo)
		if len(b) > 0 {
			cancel()
		}
	}()
	s := &LocalStep{Shell: tpl(t, `sleep 300 & echo $! > "$FIFO"; wait`), Env: []EnvVar{{Name: "FIFO", Value: tpl(t, fifo)}}}
	out := s.Run(ctx, env.Env)
	want := "local command /bin/sh was stopped: context canceled"
	if out.Err == nil || out.Err.Error() != want {
		t.Fatalf("error = %v, want %s", out.Err, want)
	}
}
