package engine

import (
	"cmp"
	"context"
	"fmt"
	"sync"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// group is the parallel group a step runs in: its number in the run, from
// 1, and its name (zero for a step of no group).
type group struct {
	number int
	name   string
}

// openGroup numbers a group and reserves the indices of its steps, so
// that they are numbered in the order written whatever order they end in.
// It returns the first index.
func (r *runner) openGroup(g *runbook.Step) (int, group) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups++
	first := r.index + 1
	r.index += len(g.Parallel.Steps)
	return first, group{number: r.groups, name: g.Title()}
}

// runGroup runs the steps of a parallel group at the same time, at most
// parallel.concurrency at once, starting them in the order written. A step
// that fails (without continueOnError, in spec.steps) stops the steps not
// started yet, and with onFailure: cancel the running ones too. Every step
// sees the variables and steps as they were when the group started (the
// loader refuses reads of a sibling). The results come back in the order
// written; each is published (steps.ID, progress) as it ends.
func (r *runner) runGroup(ctx context.Context, g *runbook.Step, phase string) []report.StepResult {
	pg := g.Parallel
	first, gi := r.openGroup(g)
	results := make([]report.StepResult, len(pg.Steps))
	for i, m := range pg.Steps {
		results[i] = r.base(m, phase, first+i, gi)
	}
	scope := r.snapshot()
	end := func(skip string) []report.StepResult {
		for i := range results {
			results[i].Status, results[i].SkipReason = report.StatusSkipped, skip
			r.progress.StepDone(&results[i])
		}
		r.appendResults(results)
		return results
	}
	if !g.When.IsZero() {
		ok, err := g.When.EvalBool(scope)
		if err != nil {
			for i := range results {
				results[i].Status, results[i].Error = report.StatusFailed, expression.At(r.rb.File, "when (of the parallel group): ", err)
				r.progress.StepDone(&results[i])
			}
			r.appendResults(results)
			return results
		}
		if !ok {
			return end("when: " + g.When.Source + " is false (the parallel group's)")
		}
	}

	gctx := ctx
	if d := g.Timeout.Duration; d > 0 {
		var cancel context.CancelFunc
		gctx, cancel = context.WithTimeoutCause(ctx, d, fmt.Errorf("the parallel group's timeout of %s expired", d))
		defer cancel()
	}
	gctx, cancel := context.WithCancelCause(gctx)
	defer cancel(nil)
	conc := pg.Concurrency
	if conc <= 0 || conc > len(pg.Steps) {
		conc = len(pg.Steps)
	}
	stopsGroup := phase == report.PhaseSteps

	var (
		mu     sync.Mutex
		failed string // why the steps not started yet do not start
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, conc)
	for i, m := range pg.Steps {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-gctx.Done():
		}
		// An interrupt (or the run's timeout) is the reason, then a
		// failure in the group, then the group's own timeout.
		why := ""
		if ctx.Err() != nil {
			why = stopReason(ctx)
		}
		mu.Lock()
		why = cmp.Or(why, failed)
		mu.Unlock()
		if why == "" && gctx.Err() != nil {
			why = stopReason(gctx)
		}
		if why != "" {
			if acquired {
				<-sem
			}
			results[i].Status, results[i].SkipReason = report.StatusSkipped, why
			r.progress.StepDone(&results[i])
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sc := *scope // Results are set per step; the maps are only read.
			sr, view := r.stepAt(gctx, m, results[i], &sc)
			if stopsGroup && !m.ContinueOnError && (sr.Status == report.StatusFailed || sr.Status == report.StatusInterrupted) {
				mu.Lock()
				if failed == "" {
					failed = fmt.Sprintf("not started: step %d (%s) of the parallel group failed", sr.Index, sr.Name)
					if pg.OnFailure == runbook.OnFailureCancel {
						cancel(fmt.Errorf("cancelled: step %d (%s) of the parallel group failed", sr.Index, sr.Name))
					}
				}
				mu.Unlock()
			}
			results[i] = sr
			r.publish(m, sr, view)
		}()
	}
	wg.Wait()
	r.appendResults(results)
	return results
}

// appendResults appends results to the run's, in order.
func (r *runner) appendResults(results []report.StepResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Steps = append(r.res.Steps, results...)
}
