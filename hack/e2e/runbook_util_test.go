//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kube-runbook/runbook/report"
)

// The labels every object a run creates carries (README, kube/tracker.go):
// the tests read them as the documented contract, not from the code.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelRunID     = "runbook/run-id"
)

// runLimit bounds every run of the binary so that a hung run ends the test
// with its output instead of hanging; it is a safety net, not a timing
// assertion.
const runLimit = 5 * time.Minute

// failFast is the generous upper bound within which a step that cannot make
// progress must fail: far below the 5m timeout of the test runbooks, so a
// failure seen only at the timeout is caught.
const failFast = 60 * time.Second

// runbookBin returns the runbook binary under test, named by RUNBOOK_BIN
// (make e2e sets it). It fails the test when RUNBOOK_BIN is unset or names
// no executable: the e2e tests never skip.
func runbookBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("RUNBOOK_BIN")
	if bin == "" {
		t.Fatal("RUNBOOK_BIN is not set: run `make build` and set RUNBOOK_BIN=$PWD/bin/runbook (make e2e does)")
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("RUNBOOK_BIN=%s: %v", bin, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("RUNBOOK_BIN=%s is not an executable file", bin)
	}
	return bin
}

// repoFile returns the path of a file of the repository from the test's
// working directory (hack/e2e), e.g. repoFile("examples/distroless.yaml").
func repoFile(rel string) string {
	return filepath.Join("..", "..", filepath.FromSlash(rel))
}

// cliResult is how one run of the binary ended.
type cliResult struct {
	args   []string
	code   int // exit code; -1 when a signal ended the process
	signal syscall.Signal
	stdout string
	stderr string
	wall   time.Duration
}

// String summarizes the run for failure messages.
func (r cliResult) String() string {
	how := fmt.Sprintf("exit %d", r.code)
	if r.signal != 0 {
		how = "killed by " + r.signal.String()
	}
	return fmt.Sprintf("runbook %s: %s after %s\n--- stdout:\n%s\n--- stderr:\n%s",
		strings.Join(r.args, " "), how, r.wall.Round(time.Millisecond), r.stdout, r.stderr)
}

// liveRun is a started runbook process whose standard error, the live
// progress, is read line by line as it comes so that a test can act at a
// given moment of the run.
type liveRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	args   []string
	start  time.Time
	stdout bytes.Buffer
	cancel context.CancelFunc

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced at each new line
	eof     chan struct{} // closed when standard error is closed

	waitOnce sync.Once
	result   cliResult
}

// startCLI starts the binary with args, stdin empty, in the environment of
// the test (KUBECONFIG included). The process is killed, at the latest,
// after runLimit, and when the test ends.
func startCLI(t *testing.T, args ...string) *liveRun {
	t.Helper()
	return startCLIUnder(t, nil, args...)
}

// startCLIUnder is startCLI with the binary run by a wrapper command (such
// as nohup), which gets the binary's path and args after its own.
func startCLIUnder(t *testing.T, wrapper []string, args ...string) *liveRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	argv := append(append(append([]string(nil), wrapper...), runbookBin(t)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.WaitDelay = 10 * time.Second
	r := &liveRun{t: t, cmd: cmd, args: args, cancel: cancel,
		changed: make(chan struct{}), eof: make(chan struct{})}
	cmd.Stdout = &r.stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatalf("stderr pipe: %v", err)
	}
	r.start = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() {
		defer close(r.eof)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// A test that stopped early must not leave the process running.
		_ = cmd.Process.Kill()
		r.wait()
	})
	return r
}

// waitLine waits until a line of the live progress matches re and returns
// it. It fails the test when the process ends first, or after waitLimit.
func (r *liveRun) waitLine(re *regexp.Regexp) string {
	r.t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.lines); seen++ {
			if re.MatchString(r.lines[seen]) {
				line := r.lines[seen]
				r.mu.Unlock()
				return line
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-r.eof:
			// Read what came with the end, then give up.
			r.mu.Lock()
			n := len(r.lines)
			r.mu.Unlock()
			if seen < n {
				continue
			}
			res := r.wait()
			r.t.Fatalf("the run ended before a line matched %q:\n%s", re, res)
		case <-timer.C:
			r.t.Fatalf("no line matched %q within %s; stderr so far:\n%s", re, waitLimit, r.stderrSoFar())
		}
	}
}

// stderrSoFar returns the progress lines read so far.
func (r *liveRun) stderrSoFar() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// signal sends sig to the process.
func (r *liveRun) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("sending %s to the run: %v", sig, err)
	}
}

// wait waits for the process to end and returns how it ended. It can be
// called more than once.
func (r *liveRun) wait() cliResult {
	r.waitOnce.Do(func() {
		<-r.eof // every read from the pipe is done before Wait
		err := r.cmd.Wait()
		r.cancel()
		r.result = cliResult{args: r.args, wall: time.Since(r.start), stdout: r.stdout.String(), stderr: r.stderrSoFar()}
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
		default:
			r.t.Errorf("waiting for runbook %s: %v", strings.Join(r.args, " "), err)
		}
		st := r.cmd.ProcessState
		if st == nil {
			r.result.code = -1
			return
		}
		r.result.code = st.ExitCode()
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.result.signal = ws.Signal()
		}
	})
	return r.result
}

// runCLI runs the binary with args to its end and returns how it ended.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return startCLI(t, args...).wait()
}

// reportPaths are the files of the four report formats of one run.
type reportPaths struct {
	json, md, junit, table string
}

// newReportPaths returns report paths in a fresh temporary directory.
func newReportPaths(t *testing.T) reportPaths {
	dir := t.TempDir()
	return reportPaths{
		json:  filepath.Join(dir, "result.json"),
		md:    filepath.Join(dir, "report.md"),
		junit: filepath.Join(dir, "junit.xml"),
		table: filepath.Join(dir, "table.txt"),
	}
}

// flags returns the --report flags that write all four.
func (p reportPaths) flags() []string {
	return []string{"--report", "json=" + p.json, "--report", "md=" + p.md,
		"--report", "junit=" + p.junit, "--report", "table=" + p.table}
}

// readResult reads a JSON result written by --report json=PATH with the
// project's own reader, which checks its schemaVersion.
func readResult(t *testing.T, path string) *report.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the JSON result was not written: %v", err)
	}
	defer f.Close()
	res, err := report.ReadJSON(f)
	if err != nil {
		t.Fatalf("reading the JSON result %s: %v", path, err)
	}
	return res
}

// readFile returns a file's content, failing the test when it is missing
// or empty.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report not written: %v", err)
	}
	if len(b) == 0 {
		t.Fatalf("report %s is empty", path)
	}
	return b
}

// stepByID returns the result of the step with the given id.
func stepByID(t *testing.T, res *report.Result, id string) *report.StepResult {
	t.Helper()
	for i := range res.Steps {
		if res.Steps[i].ID == id {
			return &res.Steps[i]
		}
	}
	t.Fatalf("the result has no step with id %q (steps: %s)", id, describeSteps(res))
	return nil
}

// describeSteps summarizes the steps of a result, for messages.
func describeSteps(res *report.Result) string {
	var b strings.Builder
	for _, s := range res.Steps {
		fmt.Fprintf(&b, "\n  %d %s [%s] %s", s.Index, s.ID, s.Kind, s.Status)
		if s.Error != "" {
			fmt.Fprintf(&b, ": %s", s.Error)
		}
		if s.SkipReason != "" {
			fmt.Fprintf(&b, " (%s)", s.SkipReason)
		}
	}
	return b.String()
}

// labelledObject is an object that carries a run's label.
type labelledObject struct {
	Resource    string
	Namespace   string
	Name        string
	Terminating bool
}

// String reads like "pods ns/name (terminating)".
func (o labelledObject) String() string {
	s := o.Resource + " "
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	s += o.Name
	if o.Terminating {
		s += " (terminating)"
	}
	return s
}

// labelled lists every object of the cluster, of every listable resource
// in every namespace, that carries the label runbook/run-id=runID.
func (c *cluster) labelled(t *testing.T, runID string) []labelledObject {
	t.Helper()
	if runID == "" {
		t.Fatal("no run id to look for")
	}
	return c.labelledBy(t, labelRunID+"="+runID)
}

// labelledBy lists every object of the cluster, of every listable resource
// in every namespace, that the label selector selects.
func (c *cluster) labelledBy(t *testing.T, selector string) []labelledObject {
	t.Helper()
	// Many lists in a row: lift client-go's default rate limit (5 per
	// second) and silence deprecation warnings of resources nobody uses.
	cfg := rest.CopyConfig(c.config)
	cfg.QPS, cfg.Burst = 100, 200
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	lists, err := disco.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		t.Fatalf("discovery: %v", err)
	}
	var out []labelledObject
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatalf("discovery group version %q: %v", l.GroupVersion, err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			list, err := dyn.Resource(gv.WithResource(r.Name)).List(t.Context(), metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				t.Fatalf("listing %s with %s: %v", r.Name, selector, err)
			}
			for _, u := range list.Items {
				out = append(out, labelledObject{Resource: r.Name, Namespace: u.GetNamespace(), Name: u.GetName(),
					Terminating: u.GetDeletionTimestamp() != nil})
			}
		}
	}
	slices.SortFunc(out, func(a, b labelledObject) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// assertNoneLeft checks that nothing labelled with the run's id remains.
// Pods are deleted with a grace period of 0 and must be gone; a namespace
// the run made may still be Terminating (the namespace controller finishes
// it), which is logged, but not one that nobody deletes.
func (c *cluster) assertNoneLeft(t *testing.T, runID string) {
	t.Helper()
	var left []string
	for _, o := range c.labelled(t, runID) {
		if o.Resource == "namespaces" && o.Terminating {
			t.Logf("%s: being finished by the namespace controller", o)
			continue
		}
		left = append(left, o.String())
	}
	if len(left) > 0 {
		t.Errorf("objects labelled %s=%s left after the run:\n  %s", labelRunID, runID, strings.Join(left, "\n  "))
	}
}

// nodeNames returns the names of the cluster's nodes, sorted.
func (c *cluster) nodeNames(t *testing.T) []string {
	t.Helper()
	nodes, err := c.client.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing nodes: %v", err)
	}
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		t.Fatal("the cluster has no node")
	}
	return names
}

// progressLine returns a pattern of the plain progress line (stderr when
// it is not a terminal) that says step index started: "HH:MM:SSZ start  N. ...".
func progressLine(index int) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`^\d\d:\d\d:\d\dZ start  %d\. `, index))
}
