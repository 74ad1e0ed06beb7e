package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mattn/go-runewidth"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/engine"
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
	p := &progress{live: true, fd: -1}
	line := p.fit("✓ 3. a step with a long name that goes on and on [debug] passed 1.2s")
	if w := len([]rune(line)); w > 39 {
		t.Errorf("fitted line is %d columns: %q", w, line)
	}
	if !strings.HasSuffix(line, "…") {
		t.Errorf("a cut line ends with …: %q", line)
	}
	p.live = false
	if long := strings.Repeat("x", 200); p.fit(long) != long {
		t.Error("a log (not a terminal) line was cut")
	}
}

// screen is the little of a VT100 that progress uses, to replay what it
// writes: printable characters, \r, \n, ESC[nA (up), ESC[K (erase to the
// end of the row), ESC[J (erase to the end of the screen) and ESC[...m
// (colours, ignored). It keeps every row (scrollback included) and notes
// a row that would have wrapped.
type screen struct {
	width    int
	rows     [][]rune
	row, col int
	wrapped  []string
	escapes  int
}

func (s *screen) Write(b []byte) (int, error) {
	rs := []rune(string(b))
	for i := 0; i < len(rs); i++ {
		for s.row >= len(s.rows) {
			s.rows = append(s.rows, nil)
		}
		switch r := rs[i]; r {
		case '\r':
			s.col = 0
		case '\n':
			s.row, s.col = s.row+1, 0
		case 0x1b:
			s.escapes++
			j := i + 2
			for j < len(rs) && !(rs[j] >= '@' && rs[j] <= '~') {
				j++
			}
			if i+1 >= len(rs) || rs[i+1] != '[' || j >= len(rs) {
				return 0, fmt.Errorf("unexpected escape %q", string(rs[i:min(i+8, len(rs))]))
			}
			arg := string(rs[i+2 : j])
			switch rs[j] {
			case 'A':
				n := 1
				fmt.Sscan(arg, &n)
				s.row = max(s.row-n, 0)
			case 'K':
				if s.col < len(s.rows[s.row]) {
					s.rows[s.row] = s.rows[s.row][:s.col]
				}
			case 'J':
				if s.col < len(s.rows[s.row]) {
					s.rows[s.row] = s.rows[s.row][:s.col]
				}
				s.rows = s.rows[:s.row+1]
			case 'm':
			default:
				return 0, fmt.Errorf("unexpected escape %q", string(rs[i:j+1]))
			}
			i = j
		default:
			if r < 0x20 || r == 0x7f {
				return 0, fmt.Errorf("control character %q reached the terminal", r)
			}
			if s.col >= s.width {
				s.wrapped = append(s.wrapped, string(s.rows[s.row]))
				s.row, s.col = s.row+1, 0
				for s.row >= len(s.rows) {
					s.rows = append(s.rows, nil)
				}
			}
			line := s.rows[s.row]
			for len(line) < s.col {
				line = append(line, ' ')
			}
			if s.col < len(line) {
				line[s.col] = r
			} else {
				line = append(line, r)
			}
			s.rows[s.row], s.col = line, s.col+1
		}
	}
	return len(b), nil
}

func (s *screen) text() string {
	var out []string
	for _, r := range s.rows {
		out = append(out, string(r))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n")
}

// TestProgressRedrawsInPlace replays on a 40-column terminal what the
// live progress writes while two steps run and print (a window of their
// last lines under each, cut to the width, hostile escapes dropped), then
// end: every row fits, none wraps, and at the end each step has its one
// final line with its output's first and last lines (and runbook's notes
// on it) under it, and nothing of the frame (spinners, windows) is left.
func TestProgressRedrawsInPlace(t *testing.T) {
	t.Setenv("COLUMNS", "40")
	t.Setenv("LINES", "30")
	scr := &screen{width: 40}
	p := &progress{w: scr, live: true, fd: -1, level: outputShort, streamed: map[int]map[string]bool{}, running: map[int]*runningStep{}}
	tick := func() {
		p.mu.Lock()
		p.frame++
		p.render(nil)
		p.mu.Unlock()
	}
	p.StepStarted(report.PhaseSteps, 1, "a loop on this machine", "local")
	p.StepStarted(report.PhaseSteps, 2, "a fan-out", "exec")
	p.FanOut(2, 1, 3, 1)
	var out []string
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("tick %d", i))
		p.Output(1, "", "stdout", out[i-1])
	}
	p.Output(1, "", "stderr", "\x1b]0;owned\x07\x1b[31mred\x1b[0m\tand a line far wider than the terminal is")
	p.Output(2, "pod ns/web-1", "stdout", "from a target")
	p.Output(2, "", engine.StreamNote, "API_* masked")
	tick()
	mid := scr.text()
	for _, want := range []string{"1. a loop on this machine [local]", "│ tick 12", "┆ red     and a line far wider", "2. a fan-out [exec]", "· 1/3 done, 1…", "│ pod ns/web-1: from a target"} {
		if !strings.Contains(mid, want) {
			t.Errorf("the frame lacks %q:\n%s", want, mid)
		}
	}
	if strings.Contains(mid, "tick 5\n") || strings.Contains(mid, "owned") {
		t.Errorf("the window holds more than its last %d lines, or an escape's text:\n%s", outputWindow, mid)
	}
	p.StepDone(&report.StepResult{Index: 1, Name: "a loop on this machine", Kind: "local", Status: report.StatusPassed, Stdout: strings.Join(out, "\n") + "\n"})
	tick()
	p.StepDone(&report.StepResult{Index: 2, Name: "a fan-out", Kind: "exec", Status: report.StatusFailed, Error: "1 of 3 targets failed"})
	p.Close()
	final := scr.text()
	for i, row := range strings.Split(final, "\n") {
		if w := runewidth.StringWidth(row); w > 39 {
			t.Errorf("row %d is %d columns wide: %q", i, w, row)
		}
	}
	if len(scr.wrapped) > 0 {
		t.Errorf("rows wrapped: %q", scr.wrapped)
	}
	want := strings.Join([]string{
		"✓ 1. a loop on this machine [local] pa…",
		"    │ tick 1", "    │ tick 2", "    │ tick 3", "    │ tick 4",
		"    │ … 2 more lines of stdout (-v sho…",
		"    │ tick 7", "    │ tick 8", "    │ tick 9", "    │ tick 10", "    │ tick 11", "    │ tick 12",
		"✗ 2. a fan-out [exec] failed 0s",
		"    1 of 3 targets failed",
		"    ! API_* masked",
	}, "\n")
	if diff := cmp.Diff(want, final); diff != "" {
		t.Errorf("final screen (-want +got):\n%s", diff)
	}
}

// TestProgressLog checks the plain progress of a log: output lines as they
// come, prefixed and not repeated at the end, fan-out counts as targets
// end, and no escape code, not even one from a command's output.
func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, outputShort)
	p.StepStarted(report.PhaseSteps, 1, "loop", "debug")
	p.Output(1, "", "stdout", "tick \x1b[1m1\x1b[0m")
	p.Output(1, "", engine.StreamNote, "lines NAME=value of API_* are masked")
	p.FanOut(1, 2, 5, 1)
	p.StepDone(&report.StepResult{Index: 1, Name: "loop", Kind: "debug", Status: report.StatusPassed, Stdout: "tick 1\n", Stderr: "warn\n"})
	p.Close()
	got := buf.String()
	if strings.ContainsRune(got, 0x1b) {
		t.Errorf("an escape code in a log:\n%q", got)
	}
	for _, want := range []string{"start  1. loop [debug]\n", "    │ tick 1\n", "    ! lines NAME=value of API_* are masked\n", "1. 2/5 done, 1 failed\n", "passed 1. loop [debug] in 0s\n", "    ┆ warn\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "tick 1"); n != 1 {
		t.Errorf("tick 1 shown %d times, want once (live, not repeated):\n%s", n, got)
	}
}

// TestClean drops escape sequences, shows control characters as '?',
// keeps the last state of a line redrawn with \r and, on a terminal,
// expands tabs.
func TestClean(t *testing.T) {
	for _, tt := range []struct {
		in     string
		expand bool
		want   string
	}{
		{"plain", true, "plain"},
		{"\x1b[31mred\x1b[0m and \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", false, "red and link"},
		{"a\tb\tc", true, "a       b       c"},
		{"a\tb", false, "a\tb"},
		{"bell\x07 del\x7f", false, "bell? del?"},
		{"10%\r50%\r100%", true, "100%"},
		{"crlf\r", true, "crlf?"},
		{"8-bit CSI \x9b31mred", false, "8-bit CSI \uFFFD31mred"},
		{"C1 CSI \u009b31mred", false, "C1 CSI ?31mred"},
		{"bidi \u202eevil\u2066", false, "bidi ?evil?"},
	} {
		if got := clean(tt.in, tt.expand); got != tt.want {
			t.Errorf("clean(%q, %v) = %q, want %q", tt.in, tt.expand, got, tt.want)
		}
	}
}

// TestProgressConcurrent runs the spinner while steps of a fan-out start,
// print and end from several goroutines (run it with -race): at the end
// the screen holds each step's final line once and nothing of the frame.
func TestProgressConcurrent(t *testing.T) {
	t.Setenv("COLUMNS", "60")
	t.Setenv("LINES", "20")
	scr := &screen{width: 60}
	p := &progress{w: scr, live: true, fd: -1, level: outputShort, streamed: map[int]map[string]bool{}, running: map[int]*runningStep{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.spin()
	var wg sync.WaitGroup
	for i := 1; i <= 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.StepStarted(report.PhaseSteps, i, fmt.Sprintf("step %d", i), "local")
			for j := 0; j < 200; j++ {
				p.Output(i, "", "stdout", fmt.Sprintf("line %d of step %d", j, i))
				p.FanOut(i, j, 200, 0)
			}
			p.StepDone(&report.StepResult{Index: i, Name: fmt.Sprintf("step %d", i), Kind: "local", Status: report.StatusPassed})
		}()
	}
	wg.Wait()
	p.Close()
	final := scr.text()
	for i := 1; i <= 6; i++ {
		if n := strings.Count(final, fmt.Sprintf("%d. step %d [local]", i, i)); n != 1 {
			t.Errorf("step %d has %d lines, want 1:\n%s", i, n, final)
		}
	}
	if strings.ContainsAny(final, strings.Join(spinner, "")) || strings.Contains(final, "line ") {
		t.Errorf("the frame is left on the screen:\n%s", final)
	}
}
