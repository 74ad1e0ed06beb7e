package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kube-runbook/runbook/report"
)

// TestProgressSeveralRunning checks the live progress while the steps of a
// parallel group run at the same time: the live line names every running
// step with its own elapsed time, in the order written whatever order they
// started in, a step that ends leaves it (the others stay), and a log gets
// a start and an end line per step.
func TestProgressSeveralRunning(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, outputShort)
	p.StepStarted("steps", 2, "exec", "exec")
	p.StepStarted("steps", 4, "copy", "copy")
	p.StepStarted("steps", 3, "ephemeral", "debug")
	indices := func() []int {
		var out []int
		for _, s := range p.running {
			out = append(out, s.index)
		}
		return out
	}
	if got := indices(); !slices.Equal(got, []int{2, 3, 4}) {
		t.Errorf("running: %v, want [2 3 4]", got)
	}
	p.StepDone(&report.StepResult{Index: 3, Name: "ephemeral", Kind: "debug", Status: report.StatusPassed})
	if got := indices(); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("running after step 3 ended: %v, want [2 4]", got)
	}
	p.StepDone(&report.StepResult{Index: 4, Name: "copy", Kind: "copy", Status: report.StatusFailed, Error: "boom"})
	p.StepDone(&report.StepResult{Index: 2, Name: "exec", Kind: "exec", Status: report.StatusPassed})
	if len(p.running) != 0 {
		t.Errorf("still running: %+v", p.running)
	}
	p.Close()
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(l)
		if strings.HasSuffix(f[0], "Z") {
			f = f[1:] // the time stamp
		}
		got = append(got, strings.Join(f, " "))
	}
	want := []string{"start 2. exec [exec]", "start 4. copy [copy]", "start 3. ephemeral [debug]",
		"passed 3. ephemeral [debug] in 0s", "failed 4. copy [copy] in 0s", "boom", "passed 2. exec [exec] in 0s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	one := []liveStep{{2, "2. exec [exec]", now.Add(-1500 * time.Millisecond)}}
	if got, want := runningLine(one, now), "2. exec [exec] 1.5s"; got != want {
		t.Errorf("one running: %q, want %q", got, want)
	}
	three := append(one, liveStep{3, "3. ephemeral [debug]", now.Add(-time.Second)}, liveStep{4, "4. copy [copy]", now.Add(-200 * time.Millisecond)})
	if got, want := runningLine(three, now), "3 running: 2. exec [exec] 1.5s · 3. ephemeral [debug] 1s · 4. copy [copy] 200ms"; got != want {
		t.Errorf("three running: %q, want %q", got, want)
	}
}
