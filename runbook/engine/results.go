package engine

import (
	"time"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// Names a step's view has besides its results: what later steps read as
// steps.ID.status and steps.ID.target.
const (
	viewStatus = "status"
	viewTarget = "target"
)

// bindResults turns an outcome into the step's results by name: the ones
// its kind declares (read by the kind's own getters), error and duration.
// It is the one place an outcome becomes what assertions, set and later
// steps see; a kind adds a result name in its own file.
func bindResults(kind steps.Kind, out *steps.Outcome, actionErr string, d time.Duration) map[string]any {
	results := kind.Bind(out)
	results[expression.NameError] = actionErr
	results[expression.NameDuration] = d.Seconds()
	return results
}

// stepView is what later steps see of a finished step as steps.ID: its
// results, status and target.
func stepView(results map[string]any, status report.Status, target string) map[string]any {
	view := make(map[string]any, len(results)+2)
	for k, v := range results {
		view[k] = v
	}
	view[viewStatus] = string(status)
	view[viewTarget] = target
	return view
}
