package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// LocalStep runs a command on the operator's machine, not in the cluster:
// an argv with no shell, or a shell script when asked for. The command
// inherits the operator's environment plus RUNBOOK_NAMESPACE,
// RUNBOOK_RUN_ID and RUNBOOK_CONTEXT (the run's kube context, so that
// `kubectl --context "$RUNBOOK_CONTEXT"` talks to the same cluster). A
// non-zero exit code fails the step unless expectFailure is set; a command
// that cannot start (no such file) is an error.
type LocalStep struct {
	// Command is the argv to run, without a shell: [kubectl, get, pods].
	Command []expression.Template `yaml:"command,omitempty" json:"command,omitempty"`
	// Shell is a script run with /bin/sh -c, for pipes and redirections
	// (instead of command). It cannot hold ${{ }}: values reach the script
	// only as environment variables (env), never as code.
	Shell expression.Template `yaml:"shell,omitempty" json:"shell,omitempty"`
	// Dir is the working directory, relative to the runbook's directory
	// (default: the runbook's directory).
	Dir expression.Template `yaml:"dir,omitempty" json:"dir,omitempty"`
	// Env adds environment variables; values marked secret are redacted.
	Env []EnvVar `yaml:"env,omitempty" json:"env,omitempty"`
}

var localKind = Kind{
	Name:    "local",
	Summary: "run a command on the operator's machine (argv, or a shell script when asked for)",
	New:     func() Action { return &LocalStep{} },
	Results: []Result{resultStdout, resultStderr, resultExitCode},
}

// localWaitDelay bounds how long a finished (or killed) command's output
// pipes may stay open, held by a process it left in the background.
const localWaitDelay = 5 * time.Second

// Check implements Action.
func (s *LocalStep) Check(*runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	switch {
	case len(s.Command) > 0 && !s.Shell.IsZero():
		errs = append(errs, fieldErr("shell", "give command (an argv, no shell) or shell (a script for /bin/sh -c), not both"))
	case len(s.Command) == 0 && s.Shell.IsZero():
		errs = append(errs, fieldErr("", "a local step needs command (an argv, no shell) or shell (a script for /bin/sh -c)"))
	case len(s.Command) > 0 && s.Command[0].IsZero():
		errs = append(errs, fieldErr("command", "the first element of command, the program, is empty"))
	case s.Shell.HasExpressions():
		// A value spliced into a script is code: a pod name or a log line
		// read from the cluster could run commands on this machine.
		errs = append(errs, fieldErr("shell", "shell cannot hold ${{ }}: pass values as environment variables "+
			"(env: [{name: POD, value: \"${{ ... }}\"}]) and use \"$POD\" in the script, or use command (an argv)"))
	}
	seen := map[string]bool{}
	for _, v := range s.Env {
		switch {
		case v.Name == "" || strings.ContainsAny(v.Name, "=\x00"):
			errs = append(errs, fieldErr("env", "env name %q is not a valid variable name", v.Name))
		case seen[v.Name]:
			errs = append(errs, fieldErr("env", "env %s is set twice", v.Name))
		}
		seen[v.Name] = true
	}
	return errs
}

// argv returns the command to run and how to show it.
func (s *LocalStep) argv(r renderFunc) ([]string, error) {
	if !s.Shell.IsZero() {
		script, err := r(s.Shell)
		if err != nil {
			return nil, fmt.Errorf("shell: %w", err)
		}
		return []string{"/bin/sh", "-c", script}, nil
	}
	argv, err := renderList(r, s.Command)
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("command: the program (first element) is empty")
	}
	return argv, nil
}

// Plan implements Action.
func (s *LocalStep) Plan(p *Planner) (*Planned, error) {
	argv, _ := s.argv(plannerRender(p))
	dir := resolveFile(p.Dir, p.Render(s.Dir))
	line := shellJoin(argv)
	note := "runs on the operator's machine, not in the cluster, with the operator's environment and credentials"
	if dir != "" {
		note += ", in " + dir
	}
	pl := &Planned{Target: "local: " + expression.Shorten(line, 80), Calls: []Call{}, Notes: []string{note + ": " + line}}
	for _, v := range s.Env {
		pl.Notes = append(pl.Notes, "env "+v.Name+" is set")
	}
	return pl, nil
}

// Run implements Action.
func (s *LocalStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	argv, err := s.argv(e.Render)
	if err != nil {
		return out.fail(err)
	}
	out.Target = "local: " + expression.Shorten(shellJoin(argv), 80)
	dir, err := e.Render(s.Dir)
	if err != nil {
		return out.fail(fmt.Errorf("dir: %w", err))
	}
	dir = resolveFile(e.Dir, dir)
	if dir != "" {
		// Checked here: exec would blame the program for a missing dir.
		if fi, err := os.Stat(dir); err != nil {
			return out.fail(fmt.Errorf("local command: working directory: %w", err))
		} else if !fi.IsDir() {
			return out.fail(fmt.Errorf("local command: working directory %s is not a directory", dir))
		}
	}
	env := os.Environ()
	env = append(env, "RUNBOOK_NAMESPACE="+e.Namespace, "RUNBOOK_RUN_ID="+e.RunID)
	if e.Clients != nil && e.Clients.ContextName != "" {
		env = append(env, "RUNBOOK_CONTEXT="+e.Clients.ContextName)
	}
	for _, v := range s.Env {
		val, err := e.Render(v.Value)
		if err != nil {
			return out.fail(fmt.Errorf("env %s: %w", v.Name, err))
		}
		if v.Secret && val != "" {
			out.Secrets = append(out.Secrets, val)
		}
		env = append(env, v.Name+"="+val)
	}

	limit := e.MaxOutput
	if limit <= 0 {
		limit = kube.DefaultMaxBytes
	}
	stdout, stderr := kube.NewCappedBuffer(limit), kube.NewCappedBuffer(limit)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, stdout, stderr
	if f := e.live(ctx, out.Secrets); f != nil {
		// Also hand the output over as it comes, for the live progress.
		lo, le := kube.NewLineWriter(f, "stdout"), kube.NewLineWriter(f, "stderr")
		defer lo.Close()
		defer le.Close()
		cmd.Stdout, cmd.Stderr = io.MultiWriter(stdout, lo), io.MultiWriter(stderr, le)
	}
	// Its own process group, so that an interrupt or a timeout kills
	// whatever the command started too, not only the command.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = localWaitDelay
	e.logf("running %s", shellJoin(argv))
	err = cmd.Run()
	out.Stdout, out.StdoutTruncated = stdout.String(), stdout.Truncated()
	out.Stderr, out.StderrTruncated = stderr.String(), stderr.Truncated()

	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil && (cmd.ProcessState == nil || !cmd.ProcessState.Success()):
		stopped := fmt.Errorf("local command %s was stopped: %w", shellQuote(argv[0]), ctx.Err())
		if errors.Is(err, exec.ErrWaitDelay) {
			stopped = fmt.Errorf("%w; processes it started kept its output open", stopped)
		}
		return out.fail(stopped)
	case cmd.ProcessState == nil:
		// It never started: no such program, not executable, no such dir.
		return out.fail(fmt.Errorf("local command %s: %w", shellQuote(argv[0]), err))
	case errors.As(err, &exitErr) || err == nil || errors.Is(err, exec.ErrWaitDelay):
		code := cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as shells report it
		}
		out.ExitCode = intPtr(code)
		return out
	default:
		out.ExitCode = intPtr(cmd.ProcessState.ExitCode())
		return out.fail(fmt.Errorf("local command %s: %w", shellQuote(argv[0]), err))
	}
}
