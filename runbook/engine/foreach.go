package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// forEachItem is one target of a fanned-out step.
type forEachItem struct {
	label string
	value any
}

// items lists the targets of a forEach, sorted for stable reports.
func (r *runner) items(ctx context.Context, fe *runbook.ForEach, scope *expression.Scope) ([]forEachItem, error) {
	c := r.o.Clients
	switch {
	case fe.Pods != nil:
		ns := fe.Pods.Namespace
		if ns == "" {
			ns = r.ns
		}
		if fe.Pods.AllNamespaces {
			ns = ""
		}
		list, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: fe.Pods.Selector})
		if err != nil {
			return nil, fmt.Errorf("forEach.pods: listing pods %q: %w", fe.Pods.Selector, err)
		}
		var out []forEachItem
		for i := range list.Items {
			p := &list.Items[i]
			if p.DeletionTimestamp != nil {
				continue
			}
			r.sec.knowPod(p)
			out = append(out, forEachItem{label: "pod " + p.Namespace + "/" + p.Name, value: steps.ObjectMap(p)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].label < out[j].label })
		return out, nil
	case fe.Nodes != nil:
		list, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: fe.Nodes.Selector})
		if err != nil {
			return nil, fmt.Errorf("forEach.nodes: listing nodes %q: %w", fe.Nodes.Selector, err)
		}
		var out []forEachItem
		for i := range list.Items {
			out = append(out, forEachItem{label: "node " + list.Items[i].Name, value: steps.ObjectMap(&list.Items[i])})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].label < out[j].label })
		return out, nil
	}
	v, err := fe.Items.Eval(scope)
	if err != nil {
		return nil, errors.New(expression.At(r.rb.File, "forEach.items: ", err))
	}
	list, ok := listOf(v)
	if !ok {
		return nil, fmt.Errorf("%s:%d:%d: forEach.items: %s is %s, not a list",
			r.rb.File, fe.Items.Line, fe.Items.Column, expression.Shorten(fe.Items.Source, 60), describeValue(v))
	}
	out := make([]forEachItem, len(list))
	for i, x := range list {
		out[i] = forEachItem{label: expression.Shorten(expression.Text(x), 60), value: x}
	}
	return out, nil
}

// listOf returns the elements of v when it is a list of any element type:
// a list from YAML or JSON ([]any), split's []string, a range's []int.
func listOf(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// describeValue names the kind of a value an expression gave, for an
// error, without the value itself (it may be long, or a secret).
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// runForEach runs a step once per target with bounded concurrency. One
// target's failure does not stop the others unless failFast is set.
func (r *runner) runForEach(ctx context.Context, s *runbook.Step, base report.StepResult, scope *expression.Scope) report.StepResult {
	sr := base
	start := time.Now()
	sr.StartedAt = r.wall(start)
	items, err := r.items(ctx, s.ForEach, scope)
	if err != nil {
		sr.Status, sr.Error = report.StatusFailed, err.Error()
		end := time.Now()
		sr.FinishedAt, sr.Duration = r.wall(end), report.Seconds(end.Sub(start))
		return sr
	}
	if len(items) == 0 {
		sr.Status, sr.Error = report.StatusFailed, "forEach selected nothing"
		end := time.Now()
		sr.FinishedAt, sr.Duration = r.wall(end), report.Seconds(end.Sub(start))
		return sr
	}
	conc := s.ForEach.Concurrency
	if conc <= 0 {
		conc = 1
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]report.StepResult, len(items))
	views := make([]any, len(items))
	var mu sync.Mutex
	ended, endedFailed := 0, 0
	r.progress.FanOut(sr.Index, 0, len(items), 0)
	targetEnded := func(res report.StepResult) {
		mu.Lock()
		defer mu.Unlock()
		ended++
		if res.Status == report.StatusFailed || res.Status == report.StatusInterrupted {
			endedFailed++
		}
		r.progress.FanOut(sr.Index, ended, len(items), endedFailed)
	}
	// Targets start in the order of items (sorted pods and nodes, or the
	// list as written): a slot is taken here, before a target's goroutine
	// exists, so no scheduling order can start a later one first.
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i, it := range items {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-fctx.Done():
		}
		if fctx.Err() != nil {
			if acquired {
				<-sem
			}
			t := base
			t.Target = it.label
			t.Status, t.SkipReason = report.StatusSkipped, "failFast: another target failed"
			if ctx.Err() != nil {
				t.SkipReason = stopReason(ctx)
			}
			results[i] = t
			targetEnded(t)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t := base
			t.Target = it.label
			// Every target sees what the step saw when it started (in a
			// parallel group, what was there when the group started).
			sc := *scope
			sc.Item = it.value
			res, view := r.execute(fctx, s, t, &sc)
			if res.Target == "" {
				res.Target = it.label
			}
			results[i], views[i] = res, view
			targetEnded(res)
			if res.Status == report.StatusFailed && s.ForEach.FailFast {
				cancel()
			}
		}()
	}
	wg.Wait()
	sr.Targets = results
	sr.Status = report.StatusPassed
	failed := 0
	for _, t := range results {
		switch t.Status {
		case report.StatusFailed:
			failed++
		case report.StatusInterrupted:
			sr.Status = report.StatusInterrupted
		}
	}
	if failed > 0 && sr.Status != report.StatusInterrupted {
		sr.Status = report.StatusFailed
		sr.Error = fmt.Sprintf("%d of %d targets failed", failed, len(results))
	}
	sr.Target = fmt.Sprintf("%d targets", len(results))
	end := time.Now()
	sr.FinishedAt, sr.Duration = r.wall(end), report.Seconds(end.Sub(start))
	return sr
}
