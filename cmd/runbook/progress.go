package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/kube-runbook/runbook/report"
)

// progress prints a run's steps as they happen: on a terminal one live
// line per step with a spinner and the elapsed time, in colour unless
// NO_COLOR is set; elsewhere (CI logs) plain timestamped lines.
type progress struct {
	w     io.Writer
	tty   bool
	color bool

	mu      sync.Mutex
	current string
	started time.Time
	frame   int
	stop    chan struct{}
	done    chan struct{}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.tty = true
		_, noColor := os.LookupEnv("NO_COLOR")
		p.color = !noColor && os.Getenv("TERM") != "dumb"
	}
	if p.tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
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
			if p.current != "" {
				p.frame++
				fmt.Fprintf(p.w, "\r\033[K%s %s %s", p.paint("36", spinner[p.frame%len(spinner)]), p.current, p.paint("2", time.Since(p.started).Round(100*time.Millisecond).String()))
			}
			p.mu.Unlock()
		}
	}
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
	p.current, p.started = label, time.Now()
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
		mark := map[report.Status]string{report.StatusPassed: p.paint("32", "✓"), report.StatusFailed: p.paint("31", "✗"),
			report.StatusSkipped: p.paint("33", "-"), report.StatusInterrupted: p.paint("31", "!")}[r.Status]
		fmt.Fprintf(p.w, "\r\033[K%s %s %s %s\n", mark, label, word, p.paint("2", r.Duration.String()))
	} else {
		fmt.Fprintf(p.w, "%s %-6s %s in %s\n", stamp(), word, label, r.Duration)
	}
	if r.Status == report.StatusFailed && r.Error != "" {
		fmt.Fprintf(p.w, "    %s\n", r.Error)
	}
	p.current = ""
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
