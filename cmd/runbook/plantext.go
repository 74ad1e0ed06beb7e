package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"

	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/steps"
)

// writePlanText writes a plan for people: each step's calls with the
// objects sent, privileged items flagged, then RBAC and cleanup.
func writePlanText(w io.Writer, p *engine.Plan) error {
	b := &bytes.Buffer{}
	fmt.Fprintf(b, "Plan of runbook %s (%s, %s)\n", one(p.Runbook), one(p.File), p.Digest)
	fmt.Fprintf(b, "Namespace: %s   Timeout: %s   Cleanup: %s   allowPrivileged: %v\n", one(p.Namespace), p.Timeout, p.CleanupPolicy, p.AllowPrivileged)
	if p.Context != "" {
		fmt.Fprintf(b, "Refuses to run unless the kube context matches %q\n", p.Context)
	}
	if len(p.Setup) > 0 {
		fmt.Fprintf(b, "\nSetup\n")
		for _, c := range p.Setup {
			writeCall(b, c)
		}
	}
	for _, s := range p.Steps {
		if s.Group == 0 {
			writePlannedStep(b, s)
			continue
		}
		g := p.Groups[s.Group-1]
		if s.Index == g.Steps[0] {
			writeGroupHeader(b, g)
		}
		// The steps of a group are marked down their left side.
		step := &bytes.Buffer{}
		writePlannedStep(step, s)
		for _, line := range strings.SplitAfter(step.String(), "\n") {
			switch line {
			case "":
			case "\n":
				fmt.Fprintln(b, "║")
			default:
				fmt.Fprintf(b, "║ %s", line)
			}
		}
		if s.Index == g.Steps[len(g.Steps)-1] {
			fmt.Fprintf(b, "╚═ end of parallel group %d: the next step starts when all of its steps have ended\n", g.Number)
		}
	}
	writePlanTail(b, p)
	_, err := io.WriteString(w, visible(b.String()))
	return err
}

// one keeps a value of the plan (a name, a target, a note: text from the runbook, its vars
// or the cluster) on its line: a line break in it is shown as \x0a, as visible shows other
// control characters, so that no value can start a line of its own that reads as the
// plan's (a forged "RBAC the run needs" block, a line hiding a !! mark).
func one(s string) string { return lineBreaks.Replace(s) }

var lineBreaks = strings.NewReplacer("\r\n", `\x0d\x0a`, "\n", `\x0a`, "\r", `\x0d`)

// visible shows the control characters of text (other than newline and
// tab) as \xNN, the bidirectional formatting ones as \uNNNN, and invalid
// UTF-8 as U+FFFD. A plan is how one reviews a
// runbook before running it: a name, a command or a note of the runbook (or
// a preflight answer of the cluster) must not be able to recolour, erase or
// overwrite what the plan says, such as its !! PRIVILEGED marks.
func visible(text string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	bad := func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r < 0xa0 || isBidi(r) }
	if strings.IndexFunc(text, bad) < 0 {
		return text
	}
	var b strings.Builder
	for _, r := range text {
		switch {
		case isBidi(r):
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		case bad(r):
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeGroupHeader says which steps run at the same time, and how a
// failure among them is handled.
func writeGroupHeader(b *bytes.Buffer, g engine.PlannedGroup) {
	fmt.Fprintf(b, "\n╔═ parallel group %d: %s", g.Number, one(g.Name))
	if g.Phase != "steps" {
		fmt.Fprintf(b, " (%s)", g.Phase)
	}
	fmt.Fprintf(b, "\n║  steps %d-%d run at the same time, %d at once", g.Steps[0], g.Steps[len(g.Steps)-1], g.Concurrency)
	if g.Phase == "steps" {
		verb := "finish"
		if g.OnFailure == runbook.OnFailureCancel {
			verb = "are cancelled"
		}
		fmt.Fprintf(b, "; a failure stops those not started, running ones %s (onFailure: %s)", verb, g.OnFailure)
	}
	fmt.Fprintln(b)
	if g.When != "" {
		fmt.Fprintf(b, "║  only when: %s\n", one(g.When))
	}
	if g.Timeout != "" {
		fmt.Fprintf(b, "║  timeout of the group: %s\n", g.Timeout)
	}
}

// writePlannedStep writes one step of a plan.
func writePlannedStep(b *bytes.Buffer, s engine.PlannedStep) {
	fmt.Fprintf(b, "\n%d. %s [%s]", s.Index, one(s.Name), s.Kind)
	if s.Phase != "steps" {
		fmt.Fprintf(b, " (%s)", s.Phase)
	}
	if len(s.Privileged) > 0 {
		fmt.Fprintf(b, "  !! PRIVILEGED")
	}
	fmt.Fprintln(b)
	if s.Planned.Target != "" {
		fmt.Fprintf(b, "   target: %s\n", one(s.Planned.Target))
	}
	if s.When != "" {
		fmt.Fprintf(b, "   only when: %s\n", one(s.When))
	}
	if s.ForEach != "" {
		fmt.Fprintf(b, "   for: %s\n", one(s.ForEach))
	}
	for _, why := range s.Privileged {
		fmt.Fprintf(b, "   !! privileged: %s\n", one(why))
	}
	if s.Planned.Kubectl != "" {
		fmt.Fprintf(b, "   like: %s\n", one(s.Planned.Kubectl))
	}
	for _, c := range s.Planned.Calls {
		writeCall(b, c)
	}
	for _, a := range s.Assertions {
		fmt.Fprintf(b, "   assert: %s\n", one(a))
	}
	for _, n := range s.Planned.Notes {
		fmt.Fprintf(b, "   note: %s\n", one(n))
	}
	if s.Planned.Fails != "" {
		fmt.Fprintf(b, "   !! the run fails here: %s\n", one(s.Planned.Fails))
	}
}

// writePlanTail writes what follows the steps: privilege, RBAC, cleanup
// and preflight.
func writePlanTail(b *bytes.Buffer, p *engine.Plan) {
	if len(p.Privileged) > 0 {
		fmt.Fprintf(b, "\nPrivileged (allowed by allowPrivileged: %v)\n", p.AllowPrivileged)
		for _, x := range p.Privileged {
			fmt.Fprintf(b, "  !! %s\n", one(x))
		}
	}
	fmt.Fprintf(b, "\nRBAC the run needs\n")
	for _, r := range p.RBAC {
		group := r.APIGroups[0]
		if group == "" {
			group = `""`
		}
		line := fmt.Sprintf("  %-28s group %-6s verbs %s", r.Resources[0], group, strings.Join(r.Verbs, ","))
		if len(r.ResourceNames) > 0 {
			line += " names " + one(strings.Join(r.ResourceNames, ","))
		}
		fmt.Fprintln(b, line)
	}
	fmt.Fprintf(b, "\nCleanup (reverse order of creation; also on failure, timeout and Ctrl-C)\n")
	if p.RunID == "" && generatedNames(p) {
		fmt.Fprintf(b, "  (the 5-character suffix of node pod names is derived from the run id, unknown here: plan --run-id ID shows the names run --run-id ID uses)\n")
	}
	if len(p.Cleanup) == 0 && p.CleanupPolicy == runbook.CleanupAlways {
		fmt.Fprintf(b, "  nothing to delete\n")
	}
	for i, o := range p.Cleanup {
		if o.Resource == "namespaces" && p.TemporaryNamespace && i == len(p.Cleanup)-1 {
			fmt.Fprintf(b, "  delete %s (and everything left in it)\n", one(o.String()))
			continue
		}
		fmt.Fprintf(b, "  delete %s\n", one(o.String()))
	}
	if p.CleanupPolicy != runbook.CleanupAlways {
		fmt.Fprintf(b, "  (spec.cleanup is %s: the deletions above happen only then)\n", p.CleanupPolicy)
	}
	for _, l := range p.Leftovers {
		fmt.Fprintf(b, "  cannot be removed: %s\n", one(fmt.Sprint(l)))
	}
	if len(p.Preflight) > 0 {
		fmt.Fprintf(b, "\nPreflight (asked the cluster; nothing was changed)\n")
		for _, c := range p.Preflight {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(b, "  %s %s: %s\n", mark, one(c.What), one(c.Detail))
		}
	}
}

func writeCall(b *bytes.Buffer, c steps.Call) {
	fmt.Fprintf(b, "   %s", one(c.String()))
	if c.PatchType != "" {
		fmt.Fprintf(b, " (%s)", c.PatchType)
	}
	if c.Note != "" {
		fmt.Fprintf(b, "  # %s", one(c.Note))
	}
	fmt.Fprintln(b)
	for _, why := range c.Privileged {
		fmt.Fprintf(b, "     !! privileged: %s\n", one(why))
	}
	if c.Body != nil {
		out, err := yaml.Marshal(c.Body)
		if err != nil {
			return
		}
		for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			fmt.Fprintf(b, "       %s\n", line)
		}
	}
}

// generatedNames reports whether the plan has objects whose names end in a
// suffix derived from the run id (node debug pods).
func generatedNames(p *engine.Plan) bool {
	for _, s := range p.Steps {
		if s.Kind == "node" {
			return true
		}
	}
	return false
}
