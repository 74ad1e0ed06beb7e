package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/report"
)

// TestProgressSeveralRunning checks the live progress while the steps of a
// parallel group run at the same time: the frame has a line for every
// running step, in the order written whatever order they started in; a
// step that ends leaves it (the others stay); and a log gets a start and an
// end line per step.
func TestProgressSeveralRunning(t *testing.T) {
	t.Setenv("COLUMNS", "60")
	t.Setenv("LINES", "30")
	scr := &screen{width: 60}
	p := &progress{w: scr, live: true, fd: -1, level: outputShort, streamed: map[int]map[string]bool{}, running: map[int]*runningStep{}}
	p.StepStarted(report.PhaseSteps, 2, "exec", "exec")
	p.StepStarted(report.PhaseSteps, 4, "copy", "copy")
	p.StepStarted(report.PhaseSteps, 3, "ephemeral", "debug")
	order := func() []string {
		p.mu.Lock()
		defer p.mu.Unlock()
		var got []string
		for _, l := range p.frameLines() {
			for _, label := range []string{"2. exec", "3. ephemeral", "4. copy"} {
				if strings.Contains(l, label) {
					got = append(got, label)
				}
			}
		}
		return got
	}
	if got, want := strings.Join(order(), ", "), "2. exec, 3. ephemeral, 4. copy"; got != want {
		t.Errorf("frame: %s, want %s", got, want)
	}
	p.StepDone(&report.StepResult{Index: 3, Name: "ephemeral", Kind: "debug", Status: report.StatusPassed})
	if got, want := strings.Join(order(), ", "), "2. exec, 4. copy"; got != want {
		t.Errorf("frame after step 3 ended: %s, want %s", got, want)
	}
	p.StepDone(&report.StepResult{Index: 4, Name: "copy", Kind: "copy", Status: report.StatusFailed, Error: "boom"})
	p.StepDone(&report.StepResult{Index: 2, Name: "exec", Kind: "exec", Status: report.StatusPassed})
	if len(p.running) != 0 {
		t.Errorf("still running: %+v", p.running)
	}
	p.Close()

	var buf bytes.Buffer
	p = newProgress(&buf, outputShort)
	p.StepStarted(report.PhaseSteps, 2, "exec", "exec")
	p.StepStarted(report.PhaseSteps, 4, "copy", "copy")
	p.StepStarted(report.PhaseSteps, 3, "ephemeral", "debug")
	p.StepDone(&report.StepResult{Index: 3, Name: "ephemeral", Kind: "debug", Status: report.StatusPassed})
	p.StepDone(&report.StepResult{Index: 4, Name: "copy", Kind: "copy", Status: report.StatusFailed, Error: "boom"})
	p.StepDone(&report.StepResult{Index: 2, Name: "exec", Kind: "exec", Status: report.StatusPassed})
	p.Close()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasSuffix(f[0], "Z") {
			f = f[1:] // the time stamp
		}
		got = append(got, strings.Join(f, " "))
	}
	want := []string{"start 2. exec [exec]", "start 4. copy [copy]", "start 3. ephemeral [debug]",
		"passed 3. ephemeral [debug] in 0s", "failed 4. copy [copy] in 0s", "boom", "passed 2. exec [exec] in 0s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
