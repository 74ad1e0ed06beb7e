// Package engine runs a loaded runbook against a cluster: its steps in
// order, fan-out, timeouts, interrupts and cleanup; and plans and
// preflights it over the same builders, without changing the cluster.
//
// It stands above the format (package runbook) and the step kinds
// (package steps), and below the command.
package engine

import (
	"fmt"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// kindOf returns a step's kind and action as package steps defines them.
// The loader decodes actions with steps.Registry, so both always exist for
// a loaded runbook; check reports a runbook loaded with another table.
func kindOf(s *runbook.Step) (steps.Kind, steps.Action) {
	k, _ := steps.Lookup(s.Kind)
	a, _ := s.Action.(steps.Action)
	return k, a
}

// check reports the first step whose action package steps cannot run,
// or a name of spec.secretVars that is no variable.
func check(rb *runbook.Runbook) error {
	if err := checkSecretVars(rb); err != nil {
		return err
	}
	for _, s := range rb.ActionSteps() {
		if _, a := kindOf(s); a == nil {
			return fmt.Errorf("%s:%d:%d: step kind %q has no runner (load runbooks with steps.Registry)", rb.File, s.Line, s.Column, s.Kind)
		}
	}
	return nil
}
