package engine

import (
	"os"
	"os/user"
	"time"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// newResult starts the result of a run and the scope of its expressions.
func (r *runner) newResult() *report.Result {
	c := r.o.Clients
	r.started = time.Now()
	res := &report.Result{
		SchemaVersion: report.SchemaVersion,
		Runbook:       report.RunbookInfo{Name: r.rb.Metadata.Name, Description: r.rb.Metadata.Description, File: r.rb.File, Digest: r.rb.Digest},
		RunID:         r.o.RunID,
		Tool:          "runbook " + Version,
		StartedAt:     r.started.UTC(),
		ArtifactDir:   r.o.ArtifactDir,
		Steps:         []report.StepResult{},
	}
	if c != nil {
		res.Cluster = report.ClusterInfo{Context: c.ContextName, Server: c.Server}
	}
	if u, err := user.Current(); err == nil {
		res.User = u.Username
	}
	res.Host, _ = os.Hostname()
	r.scope = expression.Scope{
		Vars:  map[string]any{},
		Steps: map[string]map[string]any{},
		Run:   map[string]any{"id": r.o.RunID, "context": res.Cluster.Context},
	}
	for k, v := range r.rb.Vars {
		r.scope.Vars[k] = v
	}
	return res
}

// finish fills the totals and redacts secrets before anyone renders.
func (r *runner) finish() {
	// The duration is the monotonic clock's, as every step's (see wall).
	end := time.Now()
	r.res.FinishedAt = r.wall(end)
	r.res.Duration = report.Seconds(end.Sub(r.started))
	for _, w := range r.watchers {
		w.Stop()
	}
	if c := r.o.Clients; c != nil && c.Requests != nil {
		r.res.APIRequests = c.Requests.Count()
		r.res.APIRequestsByVerb = c.Requests.ByVerb()
	}
	r.res.Vars = map[string]string{}
	for k, v := range r.scope.Vars {
		r.res.Vars[k] = expression.Text(v)
	}
	r.res.Warnings = r.sec.Warnings()
	r.sec.red.Result(r.res)
}

// wall returns the wall-clock time of t, a reading of the monotonic clock taken during the
// run: the run's start on the wall clock plus the monotonic time since. Every timestamp of
// a run is taken so: a step of the wall clock during the run (a VM's host setting it; seen
// on this project's machine: +1.47 s) then moves no timestamp against another, the
// Markdown timeline stays true, and finishedAt - startedAt is always the duration.
func (r *runner) wall(t time.Time) time.Time {
	if r.started.IsZero() {
		return t.UTC()
	}
	return r.started.Add(t.Sub(r.started)).UTC()
}
