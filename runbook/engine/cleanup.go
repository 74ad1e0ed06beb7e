package engine

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
)

var manySpaces = regexp.MustCompile(`[ \t]{2,}`)

// failOnCleanup fails a run whose cleanup could not delete something: a
// run that leaves objects behind has not done its job, whatever its steps
// said. The error says what is left and how to remove it.
func (r *runner) failOnCleanup() {
	var left []string
	namespaces := map[string]bool{}
	for _, d := range r.res.Cleanup.Deletions {
		if d.Outcome != report.OutcomeFailed {
			continue
		}
		name := strings.ToLower(d.Kind) + " " + d.Name
		if d.Namespace != "" {
			name = strings.ToLower(d.Kind) + " " + d.Namespace + "/" + d.Name
		}
		left = append(left, name+" ("+d.Error+")")
		namespaces[d.Namespace] = true
	}
	if len(left) == 0 {
		return
	}
	msg := fmt.Sprintf("cleanup could not delete %d object(s): %s; remove them with `%s` (with the rights to delete them)",
		len(left), strings.Join(left, "; "), report.CleanupCommand(r.o.RunID, namespaces))
	if r.res.Verdict == report.VerdictPassed {
		r.res.Verdict = report.VerdictFailed
	}
	if r.res.Error == "" {
		r.res.Error = msg
	} else {
		r.res.Error += "; " + msg
	}
}

// becauseOf explains an action's error by why its context ended, saying
// each thing once: "the step's timeout of 3s expired (waiting for pod x:
// last seen Pending)", not the cause again inside, nor "context canceled".
func becauseOf(cause, err error) error {
	text := err.Error()
	for _, noise := range []string{context.Canceled.Error(), context.DeadlineExceeded.Error()} {
		text = strings.ReplaceAll(text, ": "+noise, "")
		text = strings.ReplaceAll(text, " ("+noise+")", "")
	}
	c := cause.Error()
	text = strings.TrimSpace(strings.ReplaceAll(text, c, ""))
	text = strings.Trim(strings.ReplaceAll(text, "()", ""), " :")
	text = manySpaces.ReplaceAllString(text, " ")
	if text == "" || text == context.Canceled.Error() || text == context.DeadlineExceeded.Error() {
		return cause
	}
	return fmt.Errorf("%w (%s)", cause, text)
}

// cleanup deletes what the run created, in reverse order, per the policy.
func (r *runner) cleanup(ctx context.Context) {
	policy := r.rb.Spec.Cleanup
	if policy == "" {
		policy = runbook.CleanupAlways
	}
	if r.o.Keep {
		policy = CleanupKeep
	}
	r.res.Cleanup.Policy = policy
	if r.tracker == nil {
		return
	}
	var dels []kube.Deletion
	switch {
	case policy == CleanupKeep || policy == runbook.CleanupNever:
		dels = r.tracker.Kept("kept by " + policy)
	case policy == runbook.CleanupOnSuccess && r.res.Verdict != report.VerdictPassed:
		dels = r.tracker.Kept("kept: the run did not pass and spec.cleanup is onSuccess")
	default:
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
		defer cancel()
		r.progress.Logf("cleaning up %d object(s)", len(r.tracker.Objects()))
		// Pods are deleted with a grace period of 0, which removes them
		// from the API at once: no watch is needed to see them gone. A
		// temporary namespace is left to the namespace controller, which
		// finishes it within seconds (it is Terminating when the run ends).
		dels = r.tracker.Cleanup(cctx, false)
	}
	// What is gone: by group, resource, namespace and name.
	deleted := map[objectKey]bool{}
	for _, d := range dels {
		r.res.Cleanup.Deletions = append(r.res.Cleanup.Deletions, report.Deletion{
			Kind: d.Object.Kind, Namespace: d.Object.Namespace, Name: d.Object.Name,
			Outcome: d.Outcome, Error: d.Error, Duration: report.Seconds(d.Duration)})
		if d.Outcome == report.OutcomeDeleted || d.Outcome == report.OutcomeNotFound {
			deleted[objectKey{d.Object.GVR.Group, d.Object.GVR.Resource, d.Object.Namespace, d.Object.Name}] = true
		}
	}
	// An ephemeral container goes with its pod: say what stays.
	seen := map[kube.Leftover]bool{}
	for _, l := range r.leftover {
		in := objectKey{l.In.Group, l.In.Resource, l.In.Namespace, l.In.Name}
		if seen[l] || deleted[in] || deleted[objectKey{"", "namespaces", "", l.In.Namespace}] {
			continue
		}
		seen[l] = true
		r.res.Cleanup.Leftovers = append(r.res.Cleanup.Leftovers, l.String())
	}
	sort.Strings(r.res.Cleanup.Leftovers)
}
