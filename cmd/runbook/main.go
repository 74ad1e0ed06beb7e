// Command runbook executes declarative runbooks that debug Kubernetes
// workloads the way `kubectl debug` does, checks what it sees, reports it
// and cleans up after itself. Installed as kubectl-runbook it also works as
// `kubectl runbook`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// Exit codes, as documented in the README.
const (
	exitPassed      = 0
	exitFailed      = 1
	exitInvalid     = 2
	exitCluster     = 3
	exitInterrupted = 130
)

// exitError carries an exit code and a message for main to print.
type exitError struct {
	code int
	msg  string
}

// Error formats the error.
func (e *exitError) Error() string { return e.msg }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand: its options register their flags on a fresh
// FlagSet, then run with the positional arguments.
type command struct {
	name, args, summary string
	new                 func() options
}

// options is implemented by every subcommand's options struct.
type options interface {
	AddFlags(fs *pflag.FlagSet)
	Run(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"run", "FILE", "execute a runbook against the cluster", func() options { return &runOptions{} }},
	{"plan", "FILE", "show every API call and object a run would make, without a cluster", func() options { return &planOptions{} }},
	{"validate", "FILE...", "load and compile runbooks; errors as file:line:col: message", func() options { return &validateOptions{} }},
	{"schema", "", "print the JSON Schema of the runbook format (or of results with --result)", func() options { return &schemaOptions{} }},
	{"report", "RESULT.json", "re-render a saved JSON result in another format", func() options { return &reportOptions{} }},
	{"cleanup", "", "delete what earlier runs left behind, found by the run label", func() options { return &cleanupOptions{} }},
	{"rbac", "FILE", "print the least-privilege Role the runbook needs", func() options { return &rbacOptions{} }},
	{"job", "FILE", "run the runbook in the cluster: print, --apply or --delete its Job (or CronJob) and account", func() options { return &jobOptions{} }},
	{"results", "[RUNBOOK] | show RUN-ID", "list the results runs stored in the cluster, or render one", func() options { return &resultsOptions{} }},
	{"serve", "--routes FILE", "receive Alertmanager's webhook and start installed runbooks as Jobs", func() options { return &serveOptions{} }},
	{"version", "", "print the version (also --version); -o json for tools", func() options { return &versionOptions{} }},
	{"completion", "bash|zsh|fish", "print a shell completion script", func() options { return &completionOptions{} }},
}

func main() {
	// client-go's reflectors log retries through klog; the run reports
	// what matters itself, so keep klog off the terminal.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	klog.SetLogger(logr.Discard())
	// An exec stream closed by Ctrl-C makes client-go report "Unhandled
	// Error ... use of closed network connection": the run says what
	// happened itself.
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{func(context.Context, error, string, ...any) {}}
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// programName is "kubectl runbook" when run as a kubectl plugin.
func programName() string {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl-") {
		return "kubectl runbook"
	}
	return "runbook"
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "%s: declarative runbooks for debugging Kubernetes workloads\n\nUsage:\n  %s COMMAND [flags]\n\nCommands:\n", programName(), programName())
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nExamples:\n  %[1]s validate examples/distroless.yaml\n  %[1]s plan examples/distroless.yaml\n  %[1]s run examples/distroless.yaml --report md=report.md\n", programName())
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags and examples.\nExit codes: 0 passed, 1 a step failed, 2 invalid runbook or command line, 3 cluster unusable, 130 interrupted.\n", programName())
}

// execute runs one command line and returns the exit code.
func execute(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--version" {
		args = append([]string{"version"}, args[1:]...)
	}
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "--help"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitPassed
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		names := make([]string, len(commands))
		for i, c := range commands {
			names[i] = c.name
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "%s: unknown command %q (commands: %s)\n", programName(), args[0], strings.Join(names, ", "))
		return exitInvalid
	}
	o := cmd.new()
	fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	// Help asked for goes to standard output (to page or grep it); a
	// mistake gets the error and where to find the help, not all of it.
	fs.Usage = func() {}
	o.AddFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			commandUsage(stdout, cmd, fs)
			return exitPassed
		}
		fmt.Fprintf(stderr, "%s %s: %v\nRun '%s %s --help' for its flags and examples.\n", programName(), cmd.name, err, programName(), cmd.name)
		return exitInvalid
	}
	stdout, stderr = redactSecretFlags(fs, stdout, stderr)
	defer flushOutput(stdout, stderr)
	err := o.Run(fs.Args(), stdout, stderr)
	flushOutput(stdout)
	if err == nil {
		return exitPassed
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, strings.TrimRight(ee.msg, "\n"))
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", programName(), cmd.name, err)
	return exitFailed
}
