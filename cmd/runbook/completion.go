package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

type completionOptions struct{}

// AddFlags registers the command's flags on its own FlagSet.
func (o *completionOptions) AddFlags(*pflag.FlagSet) {}

// Run prints the completion script of a shell: the commands, each
// command's flags, and file names for the arguments. Load it with
// `source <(runbook completion bash)`, `runbook completion zsh > "${fpath[1]}/_runbook"`,
// or `runbook completion fish | source`.
func (o *completionOptions) Run(args []string, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return exitf(exitInvalid, "%s completion: name a shell: bash, zsh or fish", programName())
	}
	flags := commandFlags()
	switch args[0] {
	case "bash", "zsh":
		return bashCompletion(stdout, flags, args[0] == "zsh")
	case "fish":
		return fishCompletion(stdout, flags)
	}
	return exitf(exitInvalid, "%s completion: unknown shell %q (bash, zsh or fish)", programName(), args[0])
}

// commandFlags lists each command's long flags, from the same FlagSets the
// commands parse with.
func commandFlags() map[string][]*pflag.Flag {
	out := map[string][]*pflag.Flag{}
	for _, c := range commands {
		fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
		c.new().AddFlags(fs)
		fs.VisitAll(func(f *pflag.Flag) { out[c.name] = append(out[c.name], f) })
		sort.Slice(out[c.name], func(i, j int) bool { return out[c.name][i].Name < out[c.name][j].Name })
	}
	return out
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

func bashCompletion(w io.Writer, flags map[string][]*pflag.Flag, zsh bool) error {
	var b strings.Builder
	if zsh {
		b.WriteString("#compdef runbook kubectl-runbook\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	b.WriteString("# runbook completion (bash)\n_runbook() {\n  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\")\n    return\n  fi\n", strings.Join(append(commandNames(), "--version", "--help"), " "))
	b.WriteString("  case $cmd in\n")
	for _, c := range commands {
		var names []string
		for _, f := range flags[c.name] {
			names = append(names, "--"+f.Name)
		}
		words := strings.Join(names, " ")
		if c.name == "completion" {
			words = "bash zsh fish"
		}
		fmt.Fprintf(&b, "  %s) words=%q ;;\n", c.name, words)
	}
	b.WriteString("  esac\n  if [[ $cur == -* || $cmd == completion ]]; then\n    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n  else\n    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n  fi\n}\ncomplete -o default -F _runbook runbook kubectl-runbook\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func fishCompletion(w io.Writer, flags map[string][]*pflag.Flag) error {
	var b strings.Builder
	b.WriteString("# runbook completion (fish)\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "complete -c runbook -n __fish_use_subcommand -f -a %s -d %q\n", c.name, c.summary)
		for _, f := range flags[c.name] {
			fmt.Fprintf(&b, "complete -c runbook -n '__fish_seen_subcommand_from %s' -l %s -d %q\n", c.name, f.Name, firstLine(f.Usage))
		}
	}
	b.WriteString("complete -c runbook -n '__fish_seen_subcommand_from completion' -f -a 'bash zsh fish'\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
