package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// examples are each command's examples, shown by COMMAND --help between
// the summary and the flags, as kubectl shows them. Every command has
// some (TestEveryCommandHasExamples). A line that starts with # says what
// the next does; "runbook" as a command is printed as the program is
// called (kubectl runbook as a plugin).
var examples = map[string]string{
	"run": `
  # Run a runbook against the current kube context; a table of the steps at the end
  runbook run examples/distroless.yaml

  # In namespace web, with a variable overridden, and a Markdown and a JUnit report
  runbook run -n web --var image=busybox:1.36 --report md=report.md --report junit=junit.xml examples/copy.yaml

  # Keep what the run created, to look at it (runbook cleanup --run-id ... removes it later)
  runbook run --keep examples/copy.yaml

  # As another user, as kubectl --as does: break-glass access, or trying a runbook with an account's rights
  runbook run --as system:serviceaccount:oncall:runbook --context prod examples/distroless.yaml

  # The runbook from standard input
  cat examples/distroless.yaml | runbook run -`,

	"plan": `
  # Every API call and object a run would make, without a cluster
  runbook plan examples/distroless.yaml

  # Also ask the cluster whether the run can work (permissions, targets, Pod Security); changes nothing
  runbook plan --preflight examples/distroless.yaml

  # As JSON for a review tool, the runbook from standard input
  runbook plan -o json - < examples/node.yaml`,

	"validate": `
  # Check runbooks; each problem as file:line:col: message, exit code 2 if any
  runbook validate examples/*.yaml

  # With the source line and a caret under each problem
  runbook validate -s my-runbook.yaml

  # A runbook another tool writes, from standard input
  ./make-runbook.sh | runbook validate -`,

	"schema": `
  # Save the schema for an editor; then put on a runbook's first line:
  #   # yaml-language-server: $schema=runbook.schema.json
  runbook schema > runbook.schema.json

  # The schema of JSON results (run -o json, --report json=PATH)
  runbook schema --result > result.schema.json`,

	"report": `
  # A saved JSON result (run --report json=result.json) as Markdown
  runbook report -o md result.json

  # As JUnit XML into a file, for CI
  runbook report -o junit --to junit.xml result.json

  # Straight from a run, through a pipe (- reads standard input)
  runbook run -o json examples/distroless.yaml | runbook report -o md -`,

	"cleanup": `
  # List what earlier runs left in the current namespace; delete nothing
  runbook cleanup --dry-run

  # Delete what a kept run (run --keep) left, wherever it is
  runbook cleanup --run-id rb-1a2b3c4d

  # Delete what finished runs left in every namespace
  runbook cleanup -A`,

	"rbac": `
  # The ServiceAccount, Roles and bindings a runbook needs, applied
  runbook rbac examples/distroless.yaml | kubectl apply -f -

  # For a ServiceAccount of your own name, in namespace web
  runbook rbac --service-account oncall -n web examples/copy.yaml

  # The runbook from standard input
  runbook rbac - < examples/node.yaml`,

	"job": `
  # What running the seed's runbook in the cluster takes: ConfigMap, ServiceAccount and RBAC, a Job
  runbook job -n checks examples/distroless.yaml

  # Run it once as a Job (server-side apply); its result: runbook results -n checks
  runbook job -n checks --apply examples/distroless.yaml

  # The debuggability check every 30 minutes, as a CronJob
  runbook job -n checks --schedule "*/30 * * * *" --apply examples/ci-debuggability.yaml

  # Remove it all: CronJob, Jobs, results, ConfigMap, Secret, account and RBAC
  runbook job -n checks --delete examples/ci-debuggability.yaml`,

	"results": `
  # The results runs stored in namespace checks, newest first
  runbook results -n checks

  # One runbook's, in every namespace, as JSON
  runbook results -A -o json ci-debuggability

  # One result as Markdown (or json, junit, table), as runbook report renders it
  runbook results show rb-1a2b3c4d -n checks -o md`,
	"serve": `
  # Install the routes' runbooks in namespace runbook (accounts, RBAC, ConfigMaps; no run)
  runbook serve --routes routes.yaml -n runbook --install

  # Deploy the receiver there (create its token Secret first)
  runbook serve --routes routes.yaml -n runbook --manifests | kubectl apply -f -

  # Or run it here, with the kubeconfig's cluster
  runbook serve --routes routes.yaml -n runbook --token-file token --listen :8080`,

	"version": `
  runbook version
  runbook --version

  # For tools: version, commit, Go and client-go versions
  runbook version -o json`,

	"completion": `
  # bash, in this shell
  source <(runbook completion bash)

  # zsh, for every shell
  runbook completion zsh > "${fpath[1]}/_runbook"

  # fish
  runbook completion fish | source`,
}

// programWord is "runbook" used as a command in an example.
var programWord = regexp.MustCompile(`(^|[\s(|;&])runbook `)

// examplesOf is a command's examples as printed when the program is
// called prog, without the leading newline, or "" if it has none.
func examplesOf(name, prog string) string {
	ex := strings.TrimPrefix(examples[name], "\n")
	if prog == "runbook" {
		return ex
	}
	lines := strings.Split(ex, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines[i] = programWord.ReplaceAllString(l, "${1}"+prog+" ")
		}
	}
	return strings.Join(lines, "\n")
}

// commandUsage writes a command's help: usage, summary, examples, flags.
func commandUsage(w io.Writer, cmd *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s [flags] %s\n\n%s\n", programName(), cmd.name, cmd.args, cmd.summary)
	if ex := examplesOf(cmd.name, programName()); ex != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", ex)
	}
	own := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	kube := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[kubeFlagGroup]; ok {
			kube.AddFlag(f)
		} else {
			own.AddFlag(f)
		}
	})
	if own.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsages())
	}
	if kube.HasFlags() {
		fmt.Fprintf(w, "\nKubeconfig flags (kubectl's):\n%s", kube.FlagUsages())
	}
}
