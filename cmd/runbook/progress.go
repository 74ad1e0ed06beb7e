package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/kube-runbook/runbook/report"
)

// Output levels of the live progress (-q, default, -v).
const (
	outputNone  = iota // -q: the steps' lines only
	outputShort        // the first and last lines of each step's output
	outputAll          // -v: all of it
)

// outputHead and outputTail are how many lines of a step's output the
// progress shows by default: the first and the last ones.
const outputHead, outputTail = 4, 6

// progress prints a run's steps as they happen: on a terminal one live
// line per step with a spinner and the elapsed time, redrawn in place and
// never wider than the terminal, in colour unless NO_COLOR is set;
// elsewhere (CI logs) plain timestamped lines. Under each finished step it
// shows what the step's command printed: its first and last lines (-v all,
// -q none).
type progress struct {
	w     io.Writer
	tty   bool
	color bool
	level int
	fd    int

	mu       sync.Mutex
	streamed map[int]map[string]bool // steps whose output was shown live, by stream
	running  []liveStep              // the steps running now, by index
	frame    int
	stop     chan struct{}
	done     chan struct{}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, level int) *progress {
	p := &progress{w: w, level: level, fd: -1, streamed: map[int]map[string]bool{}}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty, p.fd = true, int(f.Fd())
		_, noColor := os.LookupEnv("NO_COLOR")
		p.color = !noColor && os.Getenv("TERM") != "dumb"
	}
	if p.tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

// width is the terminal's width now (it may have been resized), or 0 when
// there is no terminal (no limit).
func (p *progress) width() int {
	if !p.tty {
		return 0 // a log keeps whole lines
	}
	return ttyWidth(p.fd)
}

// fit cuts a line to the terminal's width (one column spare, so the cursor
// never wraps), keeping it on one row so it can be redrawn in place.
func (p *progress) fit(line string) string {
	w := p.width()
	if w <= 0 {
		return line
	}
	return runewidth.Truncate(line, w-1, "…")
}

func (p *progress) spin() {
	defer close(p.done)
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if len(p.running) > 0 {
				p.frame++
				line := p.fit(spinner[p.frame%len(spinner)] + " " + runningLine(p.running, time.Now()))
				fmt.Fprintf(p.w, "\r\033[K%s", p.paintPrefix(line, len(spinner[0])))
			}
			p.mu.Unlock()
		}
	}
}

// liveStep is a running step: its label and when it started.
type liveStep struct {
	index   int
	label   string
	started time.Time
}

// runningLine is what the live line says of the running steps: the one
// with its elapsed time, or, when steps of a parallel group run at the
// same time, how many and each with its own.
func runningLine(running []liveStep, now time.Time) string {
	elapsed := func(s liveStep) string { return now.Sub(s.started).Round(100 * time.Millisecond).String() }
	if len(running) == 1 {
		return running[0].label + " " + elapsed(running[0])
	}
	parts := make([]string, len(running))
	for i, s := range running {
		parts[i] = s.label + " " + elapsed(s)
	}
	return fmt.Sprintf("%d running: %s", len(running), strings.Join(parts, " · "))
}

// paintPrefix colours the spinner (the first n bytes) of a fitted line.
func (p *progress) paintPrefix(line string, n int) string {
	if len(line) < n {
		return line
	}
	return p.paint("36", line[:n]) + line[n:]
}

func (p *progress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

// StepStarted implements engine.Progress.
func (p *progress) StepStarted(phase string, index int, title, kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := fmt.Sprintf("%d. %s [%s]", index, title, kind)
	if phase != report.PhaseSteps {
		label += " (" + phase + ")"
	}
	// Kept by index: the steps of a group read in the order written.
	i := sort.Search(len(p.running), func(i int) bool { return p.running[i].index > index })
	p.running = slices.Insert(p.running, i, liveStep{index: index, label: label, started: time.Now()})
	if !p.tty {
		fmt.Fprintf(p.w, "%s start  %s\n", stamp(), label)
	}
}

// StepDone implements engine.Progress.
func (p *progress) StepDone(r *report.StepResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := fmt.Sprintf("%d. %s [%s]", r.Index, r.Name, r.Kind)
	word := string(r.Status)
	if r.Status == report.StatusSkipped && r.SkipReason != "" {
		word += " (" + r.SkipReason + ")"
	}
	if p.tty {
		mark := map[report.Status]string{report.StatusPassed: "✓", report.StatusFailed: "✗",
			report.StatusSkipped: "-", report.StatusInterrupted: "!"}[r.Status]
		color := map[report.Status]string{report.StatusPassed: "32", report.StatusFailed: "31",
			report.StatusSkipped: "33", report.StatusInterrupted: "31"}[r.Status]
		line := p.fit(mark + " " + label + " " + word + " " + r.Duration.String())
		fmt.Fprintf(p.w, "\r\033[K%s%s\n", p.paint(color, mark), strings.TrimPrefix(line, mark))
	} else {
		fmt.Fprintf(p.w, "%s %-6s %s in %s\n", stamp(), word, label, r.Duration)
	}
	if r.Status == report.StatusFailed && r.Error != "" {
		for _, l := range strings.Split(r.Error, "\n") {
			fmt.Fprintln(p.w, p.fit("    "+l))
		}
	}
	p.outputOf(r)
	for i, s := range p.running {
		if s.index == r.Index {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
}

// Output implements engine.Progress: a line of a running step's command,
// shown as it comes — on a terminal above the step's live line (which is
// redrawn under it), in a log as a timestamped, prefixed line. Shown live,
// it is not repeated when the step ends.
func (p *progress) Output(index int, target, stream, line string) {
	if p.level == outputNone {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.streamed[index] == nil {
		p.streamed[index] = map[string]bool{}
	}
	p.streamed[index][stream] = true
	bar := "│"
	if stream == "stderr" {
		bar = "┆"
	}
	prefix := ""
	if target != "" {
		prefix = target + ": "
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", p.fit("    "+p.paint("2", bar)+" "+prefix+line))
		return
	}
	fmt.Fprintf(p.w, "%s    %s %s%s\n", stamp(), bar, prefix, line)
}

// outputOf shows what a finished step's command printed, under its line,
// unless it was shown live.
func (p *progress) outputOf(r *report.StepResult) {
	if p.level == outputNone {
		return
	}
	for _, o := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		if p.streamed[r.Index][o.name] {
			continue
		}
		lines := strings.Split(strings.TrimRight(o.text, "\n"), "\n")
		if strings.TrimSpace(o.text) == "" {
			continue
		}
		bar := "│"
		if o.name == "stderr" {
			bar = "┆"
		}
		show := func(ls []string) {
			for _, l := range ls {
				fmt.Fprintln(p.w, p.fit("    "+p.paint("2", bar)+" "+l))
			}
		}
		if p.level == outputAll || len(lines) <= outputHead+outputTail+1 {
			show(lines)
			continue
		}
		show(lines[:outputHead])
		fmt.Fprintln(p.w, p.fit(fmt.Sprintf("    %s … %d more lines of %s (-v shows all; every report has them) …",
			p.paint("2", bar), len(lines)-outputHead-outputTail, o.name)))
		show(lines[len(lines)-outputTail:])
	}
	for _, t := range r.Targets {
		if t.Status == report.StatusFailed {
			fmt.Fprintln(p.w, p.fit(fmt.Sprintf("    ✗ %s: %s", t.Target, firstLine(t.Error))))
		}
	}
}

// Logf implements engine.Progress.
func (p *progress) Logf(format string, args ...any) {
	if p.tty {
		return // the spinner line says enough on a terminal
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s        %s\n", stamp(), fmt.Sprintf(format, args...))
}

// Close stops the spinner.
func (p *progress) Close() {
	if p.tty {
		close(p.stop)
		<-p.done
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func stamp() string { return time.Now().UTC().Format("15:04:05Z") }

// terminalWidth is the width of w when it is a terminal, else 0: no limit.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return 0
	}
	return ttyWidth(int(f.Fd()))
}

// ttyWidth is the width of the terminal fd: COLUMNS when set, else what
// the terminal says, else 80.
func ttyWidth(fd int) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if n, _, err := term.GetSize(fd); err == nil && n > 0 {
		return n
	}
	return 80
}
