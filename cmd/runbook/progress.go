package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/engine"
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

// outputWindow is how many of its last output lines a running step shows
// under its line on a terminal.
const outputWindow = 8

// progress prints a run's steps as they happen.
//
// On a terminal (unless NO_COLOR is set or TERM is dumb) the running steps
// are a frame redrawn in place at the bottom: one line per running step
// with a spinner, the elapsed time and, for a fan-out, how many targets
// ended and failed, and under it a window of its last output lines. Every
// line of the frame is cut to the terminal's width, so none wraps, and the
// frame is never taller than the terminal; when a step ends, its frame
// lines are replaced by its final line and what its command printed (the
// first and last lines; -v all, -q none), so nothing stale is left.
//
// Elsewhere (CI logs, or NO_COLOR) it writes plain timestamped lines, the
// output as prefixed lines as it comes (not repeated when the step ends),
// and no escape codes.
//
// Command output is untrusted: its escape sequences and control characters
// never reach the terminal.
type progress struct {
	w     io.Writer
	live  bool // a terminal redrawn in place, in colour
	level int
	fd    int

	mu       sync.Mutex
	streamed map[int]map[string]bool // (log) steps whose output was shown as it came, by stream
	running  map[int]*runningStep
	drawn    int // rows of the frame on the terminal now
	frame    int
	stop     chan struct{}
	done     chan struct{}

	closeOnce sync.Once
}

// runningStep is what the frame shows of a running step.
type runningStep struct {
	label   string
	started time.Time
	fan     string   // "3/10 done, 1 failed"
	window  []string // its last output lines
	notes   []string // what runbook said about its output, kept for its end
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, level int) *progress {
	p := &progress{w: w, level: level, fd: -1, streamed: map[int]map[string]bool{}, running: map[int]*runningStep{}}
	if f, ok := outputFile(w); ok && isatty.IsTerminal(f.Fd()) {
		_, noColor := os.LookupEnv("NO_COLOR")
		p.live = !noColor && os.Getenv("TERM") != "dumb"
		p.fd = int(f.Fd())
	}
	if p.live {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

// width is the terminal's width now (it may have been resized), or 0 when
// nothing is redrawn (no limit: a log keeps whole lines).
func (p *progress) width() int {
	if !p.live {
		return 0
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
	return runewidth.Truncate(line, max(w-1, 1), "…")
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
				p.render(nil)
			}
			p.mu.Unlock()
		}
	}
}

// render rewrites the frame in place, after the permanent lines given (a
// finished step's), in one write. The caller holds mu.
func (p *progress) render(permanent []string) {
	var b strings.Builder
	if p.drawn > 0 {
		// To the first row of the frame: the cursor is on its last one.
		b.WriteString("\r")
		if p.drawn > 1 {
			fmt.Fprintf(&b, "\033[%dA", p.drawn-1)
		}
	}
	for _, l := range permanent {
		b.WriteString(l + "\033[K\n")
	}
	lines := p.frameLines()
	for i, l := range lines {
		b.WriteString(l + "\033[K")
		if i < len(lines)-1 {
			b.WriteString("\n")
		}
	}
	// Whatever is left below of a taller frame.
	b.WriteString("\033[J")
	p.drawn = len(lines)
	_, _ = io.WriteString(p.w, b.String())
}

// frameLines are the running steps' lines and their output windows, cut
// to the terminal's width and, all together, shorter than its height.
func (p *progress) frameLines() []string {
	if len(p.running) == 0 {
		return nil
	}
	indexes := make([]int, 0, len(p.running))
	for i := range p.running {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	rows := outputWindow
	if p.level == outputNone {
		rows = 0
	}
	if room := ttyHeight(p.fd) - 1; len(indexes)*(1+rows) > room {
		rows = max(room/len(indexes)-1, 0)
	}
	var lines []string
	for _, i := range indexes {
		s := p.running[i]
		mark := spinner[p.frame%len(spinner)]
		text := s.label + " " + time.Since(s.started).Round(100*time.Millisecond).String()
		if s.fan != "" {
			text += " · " + s.fan
		}
		lines = append(lines, p.paint("36", mark)+" "+strings.TrimPrefix(p.fit(mark+" "+text), mark+" "))
		for _, l := range s.window[max(len(s.window)-rows, 0):] {
			lines = append(lines, p.barLine(l))
		}
	}
	if room := ttyHeight(p.fd) - 1; len(lines) > room {
		lines = lines[:max(room, 1)]
	}
	return lines
}

// barLine is a line of output ("│ line", "┆ line" for stderr, "! note"),
// cut to the width, its bar dimmed.
func (p *progress) barLine(l string) string {
	bar, text, _ := strings.Cut(l, " ")
	return strings.Replace(p.fit("    "+bar+" "+text), bar, p.paint("2", bar), 1)
}

func (p *progress) paint(code, s string) string {
	if !p.live {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

// bars mark a line of a step's output by stream.
var bars = map[string]string{"stdout": "│", "stderr": "┆", engine.StreamNote: "!"}

// StepStarted implements engine.Progress.
func (p *progress) StepStarted(phase string, index int, title, kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := fmt.Sprintf("%d. %s [%s]", index, clean(title, false), kind)
	if phase != report.PhaseSteps {
		label += " (" + phase + ")"
	}
	if p.live {
		p.running[index] = &runningStep{label: label, started: time.Now()}
		p.render(nil)
		return
	}
	fmt.Fprintf(p.w, "%s start  %s\n", stamp(), label)
}

// FanOut implements engine.Progress: a fanned-out step's running line
// says how many targets ended and failed; a log says it as they end.
func (p *progress) FanOut(index, done, total, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fan := fmt.Sprintf("%d/%d done", done, total)
	if failed > 0 {
		fan += fmt.Sprintf(", %d failed", failed)
	}
	if p.live {
		if s := p.running[index]; s != nil {
			s.fan = fan
		}
		return
	}
	if done > 0 {
		fmt.Fprintf(p.w, "%s        %d. %s\n", stamp(), index, fan)
	}
}

// StepDone implements engine.Progress.
func (p *progress) StepDone(r *report.StepResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := fmt.Sprintf("%d. %s [%s]", r.Index, clean(r.Name, false), r.Kind)
	word := string(r.Status)
	if r.Status == report.StatusSkipped && r.SkipReason != "" {
		word += " (" + clean(r.SkipReason, false) + ")"
	}
	var lines []string
	if p.live {
		mark := map[report.Status]string{report.StatusPassed: "✓", report.StatusFailed: "✗",
			report.StatusSkipped: "-", report.StatusInterrupted: "!"}[r.Status]
		color := map[report.Status]string{report.StatusPassed: "32", report.StatusFailed: "31",
			report.StatusSkipped: "33", report.StatusInterrupted: "31"}[r.Status]
		line := p.fit(mark + " " + label + " " + word + " " + r.Duration.String())
		lines = append(lines, p.paint(color, mark)+strings.TrimPrefix(line, mark))
	} else {
		lines = append(lines, fmt.Sprintf("%s %-6s %s in %s", stamp(), word, label, r.Duration))
	}
	if r.Status == report.StatusFailed && r.Error != "" {
		for _, l := range strings.Split(r.Error, "\n") {
			lines = append(lines, p.fit("    "+clean(l, p.live)))
		}
	}
	if s := p.running[r.Index]; s != nil && p.level != outputNone {
		for _, n := range s.notes {
			lines = append(lines, p.barLine(bars[engine.StreamNote]+" "+n))
		}
	}
	lines = append(lines, p.outputOf(r)...)
	delete(p.running, r.Index)
	if p.live {
		p.render(lines)
		return
	}
	for _, l := range lines {
		fmt.Fprintln(p.w, l)
	}
}

// Output implements engine.Progress: a line of a running step's command
// (or a note of runbook's on it), as it comes — on a terminal in the
// step's window (and a note again when it ends), in a log as a
// timestamped, prefixed line, then not repeated when the step ends.
func (p *progress) Output(index int, target, stream, line string) {
	if p.level == outputNone {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bar := bars[stream]
	if bar == "" {
		bar = bars["stdout"]
	}
	prefix := ""
	if target != "" {
		prefix = clean(target, p.live) + ": "
	}
	line = prefix + clean(line, p.live)
	if p.live {
		s := p.running[index]
		if s == nil {
			return
		}
		if stream == engine.StreamNote {
			s.notes = append(s.notes, line)
		}
		s.window = append(s.window, bar+" "+line)
		if len(s.window) > 2*outputWindow {
			s.window = append(s.window[:0], s.window[len(s.window)-outputWindow:]...)
		}
		return
	}
	if stream != engine.StreamNote {
		if p.streamed[index] == nil {
			p.streamed[index] = map[string]bool{}
		}
		p.streamed[index][stream] = true
	}
	fmt.Fprintf(p.w, "%s    %s %s\n", stamp(), bar, line)
}

// outputOf is what a finished step's command printed, to show under its
// line (in a log, unless it was shown as it came).
func (p *progress) outputOf(r *report.StepResult) []string {
	if p.level == outputNone {
		return nil
	}
	var out []string
	for _, o := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		if p.streamed[r.Index][o.name] || strings.TrimSpace(o.text) == "" {
			continue
		}
		lines := strings.Split(strings.TrimRight(o.text, "\n"), "\n")
		bar := bars[o.name]
		show := func(ls []string) {
			for _, l := range ls {
				out = append(out, p.barLine(bar+" "+clean(l, p.live)))
			}
		}
		if p.level == outputAll || len(lines) <= outputHead+outputTail+1 {
			show(lines)
			continue
		}
		show(lines[:outputHead])
		out = append(out, p.barLine(fmt.Sprintf("%s … %d more lines of %s (-v shows all; every report has them) …",
			bar, len(lines)-outputHead-outputTail, o.name)))
		show(lines[len(lines)-outputTail:])
	}
	for _, t := range r.Targets {
		if t.Status == report.StatusFailed {
			out = append(out, p.fit(fmt.Sprintf("    ✗ %s: %s", clean(t.Target, p.live), clean(firstLine(t.Error), p.live))))
		}
	}
	delete(p.streamed, r.Index)
	return out
}

// Logf implements engine.Progress.
func (p *progress) Logf(format string, args ...any) {
	if p.live {
		return // the running step's line says enough on a terminal
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s        %s\n", stamp(), clean(fmt.Sprintf(format, args...), false))
}

// Println writes a line of runbook's own (an interrupt's notice) above
// the frame, so that it is neither overwritten nor leaves the frame stale.
func (p *progress) Println(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		p.render([]string{p.fit(line)})
		return
	}
	fmt.Fprintln(p.w, line)
}

// Close stops the spinner and clears what is left of the frame. It may be
// called more than once.
func (p *progress) Close() {
	if !p.live {
		return
	}
	p.closeOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
			<-p.done
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		clear(p.running)
		p.render(nil)
	})
}

func stamp() string { return time.Now().UTC().Format("15:04:05Z") }

// escapeRE matches terminal escape sequences: CSI (colours, cursor
// moves), OSC (titles, hyperlinks) and the two-byte ones.
var escapeRE = regexp.MustCompile(`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])`)

// clean makes untrusted text (a command's output, names from the cluster)
// safe to print: invalid UTF-8 becomes U+FFFD, escape sequences are dropped and other control characters
// shown as '?', so nothing can move the cursor, recolour or retitle the
// terminal; of a line redrawn with carriage returns, the last state is
// kept. On a terminal (expand) tabs become spaces to the next stop of
// 8, so the text's width is what is measured; a log keeps them.
func clean(s string, expand bool) string {
	// A byte that is not UTF-8 (a lone 0x9b is CSI to a terminal in an
	// 8-bit mode) is shown as U+FFFD, not passed on.
	s = strings.ToValidUTF8(s, "\uFFFD")
	if i := strings.LastIndexByte(strings.TrimRight(s, "\r"), '\r'); i >= 0 {
		// A line redrawn with carriage returns (a progress bar): what a
		// terminal would end up showing.
		s = s[i+1:]
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidi(r) }) < 0 {
		return s
	}
	s = escapeRE.ReplaceAllString(s, "")
	var b strings.Builder
	col := 0
	for _, r := range s {
		switch {
		case r == '\t' && expand:
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		case r == '\t':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidi(r):
			r = '?'
		}
		b.WriteRune(r)
		col += runewidth.RuneWidth(r)
	}
	return b.String()
}

// isBidi reports whether r is one of Unicode's bidirectional formatting
// characters, which make text display in another order than it is (the
// "Trojan Source" trick).
func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// terminalWidth is the width of w when it is a terminal, else 0: no limit.
func terminalWidth(w io.Writer) int {
	f, ok := outputFile(w)
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

// ttyHeight is the height of the terminal fd: LINES when set, else what
// the terminal says, else 24.
func ttyHeight(fd int) int {
	if n, err := strconv.Atoi(os.Getenv("LINES")); err == nil && n > 0 {
		return n
	}
	if _, n, err := term.GetSize(fd); err == nil && n > 0 {
		return n
	}
	return 24
}
