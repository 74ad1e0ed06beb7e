//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
)

// The terminal as people see it: runs inside tmux, at a narrow and a wide
// width, asserted on what tmux's screen holds (capture-pane), mid-run and
// at the end.

// tmuxWidths are the terminal widths tested: the classic 80 columns, where
// a line wider than the terminal used to wrap and leave stale spinner
// lines, and a wide one where the boxed table is used.
var tmuxWidths = []int{80, 200}

// tmuxHeight is the pane's height: the frame of running steps must fit in
// it, and the seed's whole run does not (part of it is in the scrollback).
const tmuxHeight = 30

// stepRowRE is a row of the screen that is a step's line: its final line
// (✓ ✗ ! -) or a running one (a spinner), "N. title [kind] ...".
var stepRowRE = regexp.MustCompile(`^([✓✗!\-]|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]) (\d+)\. .*\[[a-z]+\]`)

// spinnerChars are the frames of the running steps' spinner.
const spinnerChars = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

// tmuxPane is a runbook run in a tmux pane of a server of its own.
type tmuxPane struct {
	t      *testing.T
	socket string
	width  int
}

// startTmux runs the binary with args in a new tmux pane of width columns
// (tmuxHeight rows, a scrollback that holds the whole run), in a terminal
// as people have one: no COLUMNS, LINES or NO_COLOR. The pane stays after
// the run, which ends by printing "runbook exited with N".
func startTmux(t *testing.T, width int, args ...string) *tmuxPane {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatal("tmux is not installed: `make e2e` installs it from Debian (apt-get install tmux)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 50000\nset -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	quoted := []string{"exec", "env", "-u", "COLUMNS", "-u", "LINES", "-u", "NO_COLOR", shellQuote(runbookBin(t))}
	for _, a := range args {
		quoted = append(quoted, shellQuote(a))
	}
	script := fmt.Sprintf(`(%s); echo "runbook exited with $?"; exec sleep 3600`, strings.Join(quoted, " "))
	p := &tmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock"), width: width}
	cmd := exec.Command(tmux, "-S", p.socket, "-f", conf, "new-session", "-d", "-x", strconv.Itoa(width),
		"-y", strconv.Itoa(tmuxHeight), "sh", "-c", script)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(tmux, "-S", p.socket, "kill-server").Run() })
	return p
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// capture returns the rows of the pane, the scrollback included, each
// wrapped line joined again (so a line wider than the pane shows as one
// row longer than the pane), without trailing blanks.
func (p *tmuxPane) capture() []string {
	p.t.Helper()
	out, err := exec.Command("tmux", "-S", p.socket, "capture-pane", "-p", "-J", "-S", "-", "-E", "-").Output()
	if err != nil {
		p.t.Fatalf("tmux capture-pane: %v", err)
	}
	rows := strings.Split(strings.TrimRight(string(out), "\n "), "\n")
	for i, r := range rows {
		rows[i] = strings.TrimRight(r, " ")
	}
	return rows
}

// finalCapture waits for the run to end and returns the pane's rows, up to
// the line saying how it exited, and its exit code.
func (p *tmuxPane) finalCapture() ([]string, int) {
	p.t.Helper()
	exited := regexp.MustCompile(`^runbook exited with (\d+)$`)
	deadline := time.Now().Add(runLimit)
	for {
		rows := p.capture()
		for i, r := range rows {
			if m := exited.FindStringSubmatch(r); m != nil {
				code, _ := strconv.Atoi(m[1])
				return rows[:i], code
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the run did not end within %s; the pane:\n%s", runLimit, strings.Join(rows, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkFinalScreen checks what every run leaves on the terminal: one final
// line per step, numbered 1 to steps (nothing stale: no second copy of a
// step's line, no running line, no spinner anywhere), and no line wider
// than the pane (the final table included).
func checkFinalScreen(t *testing.T, rows []string, width, steps int) {
	t.Helper()
	screen := strings.Join(rows, "\n")
	seen := map[string]int{}
	for _, r := range rows {
		if m := stepRowRE.FindStringSubmatch(r); m != nil {
			seen[m[2]]++
			if strings.ContainsAny(m[1], spinnerChars) {
				t.Errorf("a running step's line is left: %q", r)
			}
		}
		if strings.ContainsAny(r, spinnerChars) {
			t.Errorf("a spinner is left: %q", r)
		}
		if w := runewidth.StringWidth(r); w > width {
			t.Errorf("a line is %d columns wide in a pane of %d (it wrapped): %q", w, width, r)
		}
	}
	for i := 1; i <= steps; i++ {
		if n := seen[strconv.Itoa(i)]; n != 1 {
			t.Errorf("step %d has %d lines on the screen, want 1", i, n)
		}
	}
	if len(seen) != steps {
		t.Errorf("step lines of %d steps, want %d", len(seen), steps)
	}
	if t.Failed() {
		t.Logf("the pane at %d columns:\n%s", width, screen)
	}
}

// outputUnder returns the rows under step index's final line, up to the
// next step's line.
func outputUnder(rows []string, index int) []string {
	var out []string
	in := false
	for _, r := range rows {
		m := stepRowRE.FindStringSubmatch(r)
		switch {
		case m != nil && m[2] == strconv.Itoa(index) && !strings.ContainsAny(m[1], spinnerChars):
			in = true
		case m != nil && in:
			return out
		case in:
			out = append(out, r)
		}
	}
	return out
}

// TestTmuxSeed runs the seed (examples/distroless.yaml, its three modes
// side by side) and its sequential variant in tmux: under the debug step's
// line the debugger's `ps -ef` shows `1 65535 /pause`, every step passes,
// and the final screen has no stale line and nothing wider than the pane.
func TestTmuxSeed(t *testing.T) {
	c := connect(t)
	seeds := []struct {
		file  string
		kinds []string
	}{
		{"examples/distroless.yaml", distrolessKinds},
		{"examples/distroless-sequential.yaml", distrolessSequentialKinds},
	}
	for _, seed := range seeds {
		for _, width := range tmuxWidths {
			t.Run(fmt.Sprintf("%s at %d columns", filepath.Base(seed.file), width), func(t *testing.T) {
				ns := c.newNamespace(t, "tmux-seed-")
				p := startTmux(t, width, "run", repoFile(seed.file), "-n", ns)
				rows, code := p.finalCapture()
				t.Logf("%s at %d columns: exit %d; the pane:\n%s", seed.file, width, code, strings.Join(rows, "\n"))
				checkFinalScreen(t, rows, width, len(seed.kinds))
				debug := slices.Index(seed.kinds, "debug") + 1
				under := outputUnder(rows, debug)
				if !slices.ContainsFunc(under, pauseRow.MatchString) {
					t.Errorf("no `1 65535 /pause` under the debug step (%d); under it:\n%s", debug, strings.Join(under, "\n"))
				}
				// Every step of the seed passes, on whichever node it runs.
				for i := 1; i <= len(seed.kinds); i++ {
					re := regexp.MustCompile(fmt.Sprintf(`^✓ %d\. .* passed`, i))
					if !slices.ContainsFunc(rows, re.MatchString) {
						t.Errorf("step %d did not pass", i)
					}
				}
			})
		}
	}
}

// pauseRow is the debugger's view of the target's /pause under its step,
// as the progress shows it ("    │     1 65535    /pause").
var pauseRow = regexp.MustCompile(`│\s+1\s+65535\s+.*/pause$`)

// tickerRunbook has three steps that print a line a second for 5 seconds:
// a local one, an exec in a pod and an ephemeral debugger in that pod; then
// a fan-out over four items, a second each, the second failing.
const tickerRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: ticker}
spec:
  timeout: 3m
  steps:
  - name: A pod to exec and debug in
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: ticker}
        spec:
          terminationGracePeriodSeconds: 0
          containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
      waitFor: Ready
  - name: A local loop
    local: {shell: "for i in 1 2 3 4 5; do echo local tick $i; sleep 1; done"}
  - name: An exec loop
    exec: {pod: ticker, command: [sh, -c, "for i in 1 2 3 4 5; do echo exec tick $i; sleep 1; done"]}
  - name: A debugger loop
    debug: {pod: ticker, image: "busybox:1.36", target: app, command: [sh, -c, "for i in 1 2 3 4 5; do echo debug tick $i; sleep 1; done"]}
  - name: A fan-out
    forEach: {items: "[1, 2, 3, 4]"}
    local:
      shell: 'sleep 1; echo "fan tick $ITEM"; test "$ITEM" != 2'
      env: [{name: ITEM, value: "${{ item }}"}]
    continueOnError: true
`

// TestTmuxLiveLines runs steps that print a line a second (a local loop,
// an exec loop and a debugger loop) in tmux: while each runs, the screen
// shows its running line with its lines under it (a capture taken before
// the step's final line appears); then a fan-out whose second target fails
// shows on its running line how many targets ended and failed; at the end
// each step has one final line with all its lines under it, and nothing is
// stale or wider than the pane.
func TestTmuxLiveLines(t *testing.T) {
	c := connect(t)
	file := filepath.Join(t.TempDir(), "ticker.yaml")
	if err := os.WriteFile(file, []byte(tickerRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	loops := []struct {
		index int
		word  string
	}{{2, "local"}, {3, "exec"}, {4, "debug"}}
	for _, width := range tmuxWidths {
		t.Run(fmt.Sprintf("%d columns", width), func(t *testing.T) {
			ns := c.newNamespace(t, "tmux-live-")
			p := startTmux(t, width, "run", file, "-n", ns)
			for _, l := range loops {
				running := regexp.MustCompile(fmt.Sprintf(`^[%s] %d\. `, spinnerChars, l.index))
				ended := regexp.MustCompile(fmt.Sprintf(`^[✓✗!\-] %d\. `, l.index))
				tick := regexp.MustCompile(fmt.Sprintf(`^    │ %s tick [2-5]$`, l.word))
				deadline := time.Now().Add(runLimit)
				for {
					rows := p.capture()
					if mid, ok := whileRunning(rows, running, tick); ok {
						t.Logf("step %d (%s) while it runs, at %d columns:\n%s", l.index, l.word, width, strings.Join(mid, "\n"))
						break
					}
					if slices.ContainsFunc(rows, ended.MatchString) || time.Now().After(deadline) {
						t.Fatalf("step %d (%s) ended before a capture showed its lines under its running line:\n%s",
							l.index, l.word, strings.Join(rows, "\n"))
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			// The fan-out's running line counts its targets as they end.
			fan := regexp.MustCompile(fmt.Sprintf(`^[%s] 5\. A fan-out \[local\] .*· [23]/4 done, 1 failed$`, spinnerChars))
			fanRow := regexp.MustCompile(fmt.Sprintf(`^[%s] 5\. `, spinnerChars))
			var fanSeen []string // the fan-out's running lines the captures showed, for a failure
			for deadline := time.Now().Add(runLimit); ; time.Sleep(100 * time.Millisecond) {
				rows := p.capture()
				if i := slices.IndexFunc(rows, fan.MatchString); i >= 0 {
					t.Logf("the fan-out while it runs, at %d columns: %s", width, rows[i])
					break
				}
				if i := slices.IndexFunc(rows, fanRow.MatchString); i >= 0 {
					fanSeen = append(fanSeen, time.Now().Format("15:04:05.000 ")+rows[i])
				}
				if slices.ContainsFunc(rows, regexp.MustCompile(`^[✓✗] 5\. `).MatchString) || time.Now().After(deadline) {
					t.Fatalf("the fan-out ended before a capture showed its counts; its running lines seen:\n%s\nthe pane:\n%s",
						strings.Join(fanSeen, "\n"), strings.Join(rows, "\n"))
				}
			}
			rows, code := p.finalCapture()
			if code != 1 {
				t.Errorf("exit %d, want 1 (a target of the fan-out fails)", code)
			}
			checkFinalScreen(t, rows, width, 5)
			if under := outputUnder(rows, 5); !slices.ContainsFunc(under, regexp.MustCompile(`^    ✗ local: `).MatchString) {
				t.Errorf("the failed target is not named under the fan-out:\n%s", strings.Join(under, "\n"))
			}
			for _, l := range loops {
				under := strings.Join(outputUnder(rows, l.index), "\n")
				for i := 1; i <= 5; i++ {
					if want := fmt.Sprintf("│ %s tick %d", l.word, i); !strings.Contains(under, want) {
						t.Errorf("no %q under step %d at the end; under it:\n%s", want, l.index, under)
					}
				}
			}
			t.Logf("the pane at the end, %d columns:\n%s", width, strings.Join(rows, "\n"))
		})
	}
}

// whileRunning returns the frame of a running step (its running line and
// the rows under it) when a row under that line matches tick.
func whileRunning(rows []string, running, tick *regexp.Regexp) ([]string, bool) {
	for i, r := range rows {
		if !running.MatchString(r) {
			continue
		}
		for _, u := range rows[i+1:] {
			if stepRowRE.MatchString(u) {
				break
			}
			if tick.MatchString(u) {
				return rows[i:], true
			}
		}
	}
	return nil, false
}
