package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/report"
)

// TestProgressShowsOutput checks the step output under a finished step:
// whole when short, its first and last lines with a count when long (-v
// all, -q none), and every line of a terminal cut to its width.
func TestProgressShowsOutput(t *testing.T) {
	var long []string
	for i := 1; i <= 30; i++ {
		long = append(long, fmt.Sprintf("line %d", i))
	}
	step := &report.StepResult{Index: 2, Name: "ps in the debugger", Kind: "debug", Status: report.StatusPassed,
		Stdout: "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n", Stderr: strings.Join(long, "\n") + "\n"}
	for _, tt := range []struct {
		name  string
		level int
		want  []string
		not   []string
	}{
		{"default", outputShort, []string{"│ PID   USER", "│     1 65535     0:00 /pause", "┆ line 1\n", "┆ line 4\n", "… 20 more lines of stderr", "┆ line 25\n", "┆ line 30\n"}, []string{"┆ line 5\n", "┆ line 24\n"}},
		{"-v", outputAll, []string{"┆ line 5\n", "┆ line 24\n"}, []string{"more lines"}},
		{"-q", outputNone, nil, []string{"/pause", "line 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := newProgress(&buf, tt.level)
			p.StepDone(step)
			p.Close()
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("%q should not be in:\n%s", n, out)
				}
			}
		})
	}
}

func TestProgressFitsTheTerminal(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	p := &progress{tty: true, fd: -1}
	line := p.fit("✓ 3. a step with a long name that goes on and on [debug] passed 1.2s")
	if w := len([]rune(line)); w > 39 {
		t.Errorf("fitted line is %d columns: %q", w, line)
	}
	if !strings.HasSuffix(line, "…") {
		t.Errorf("a cut line ends with …: %q", line)
	}
	p.tty = false
	if long := strings.Repeat("x", 200); p.fit(long) != long {
		t.Error("a log (not a terminal) line was cut")
	}
}
