package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// DefaultTimeout is the deadline of a run whose runbook sets none.
const DefaultTimeout = 10 * time.Minute

// CleanupTimeout bounds cleanup and the finally/onFailure steps after an
// interrupt or a timeout, so a dead API server cannot hang the tool.
const CleanupTimeout = 2 * time.Minute

// runBound is how long a run with this timeout can last at most: the
// steps, then the onFailure and finally steps, then cleanup, each bounded.
// Objects carry the run's start plus this as their deadline.
func runBound(timeout time.Duration) time.Duration { return timeout + 2*CleanupTimeout }

// ErrInterrupted is the cause of a run's context when a signal stopped it.
var ErrInterrupted = errors.New("interrupted")

// Version is the tool's version, the one place it is written: results
// (tool), `runbook version` and the user agent of the API client carry it.
var Version = "v0.1.0"

// CleanupKeep is the cleanup policy a run records when RunOptions.Keep
// (--keep) is set: nothing is deleted and every object is reported as kept.
// The other policies are spec.cleanup's (runbook.CleanupAlways,
// CleanupOnSuccess and CleanupNever).
const CleanupKeep = "keep"

// Progress receives live events of a run; implementations must be safe
// for concurrent use (fanned-out steps report from several goroutines).
type Progress interface {
	StepStarted(phase string, index int, title, kind string)
	StepDone(r *report.StepResult)
	Logf(format string, args ...any)
	// Output is a line a running step's command printed (stream is stdout
	// or stderr), as it comes, or a line runbook says about that output
	// (stream StreamNote); target names the fanned-out target, if any.
	Output(index int, target, stream, line string)
	// FanOut is how far a fanned-out step is: done of its total targets
	// have ended, failed of them failed. It comes once the targets are
	// known (done 0), then after each one.
	FanOut(index, done, total, failed int)
}

type noProgress struct{}

func (noProgress) StepStarted(string, int, string, string) {}
func (noProgress) Output(int, string, string, string)      {}
func (noProgress) FanOut(int, int, int, int)               {}
func (noProgress) StepDone(*report.StepResult)             {}
func (noProgress) Logf(string, ...any)                     {}

// RunOptions configure a run.
type RunOptions struct {
	// Clients talk to the cluster.
	Clients *kube.Clients
	// Namespace overrides spec.namespace (-n).
	Namespace string
	// Timeout overrides spec.timeout (--timeout).
	Timeout time.Duration
	// Keep skips cleanup (--keep).
	Keep bool
	// Progress receives live events; nil for none.
	Progress Progress
	// MaxOutput caps each of stdout and stderr of a step (bytes).
	MaxOutput int
	// RunID is the run's id; empty for a random one.
	RunID string
	// AllowPrivileged is --allow-privileged.
	AllowPrivileged bool
	// ArtifactDir is where steps write files (--artifacts); it is created
	// only when a step writes one. Empty: steps that write files fail.
	ArtifactDir string
}

// runner holds the state of one run.
type runner struct {
	rb       *runbook.Runbook
	o        RunOptions
	res      *report.Result
	started  time.Time // when the run started, with the monotonic clock: its duration
	progress Progress
	tracker  *kube.Tracker
	stamp    kube.RunStamp
	ns       string
	failed   bool

	mu       sync.Mutex
	scope    expression.Scope
	sec      *secrets
	leftover []kube.Leftover
	watchers map[string]*kube.PodWatcher
	index    int
	// groups counts the parallel groups opened.
	groups int
	// nsCheck is whether the namespace exists, read after a failure.
	nsCheck namespaceCheck
}

// NewRunID returns a random run id usable as a label value and a name part.
func NewRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "rb-" + hex.EncodeToString(b)
}

// Run executes a loaded runbook and returns its result, redacted and
// complete even when the run failed, timed out or was interrupted. ctx is
// cancelled with ErrInterrupted as its cause on a signal: the run stops,
// then finally steps and cleanup still run, on a fresh bounded context.
func Run(ctx context.Context, rb *runbook.Runbook, o RunOptions) *report.Result {
	if o.RunID == "" {
		o.RunID = NewRunID()
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = report.MaxJSONOutputBytes
	}
	r := &runner{rb: rb, o: o, progress: o.Progress, watchers: map[string]*kube.PodWatcher{}, sec: newSecrets(rb)}
	if o.Clients != nil && o.Clients.Config != nil {
		// The credentials of the connection (--token, or the kubeconfig's)
		// are secrets too.
		r.sec.red.Add(o.Clients.Config.BearerToken, o.Clients.Config.Password)
	}
	if r.progress == nil {
		r.progress = noProgress{}
	}
	r.progress = redactingProgress{next: r.progress, red: r.sec.red}
	r.res = r.newResult()
	defer r.finish()

	if err := check(rb); err != nil {
		r.notStarted(err.Error())
		return r.res
	}
	c := o.Clients
	if g := rb.Spec.Context; g != "" {
		if ok, _ := path.Match(g, c.ContextName); !ok {
			r.notStarted(fmt.Sprintf("the current context %q does not match spec.context %q: refusing to run", c.ContextName, g))
			return r.res
		}
	}
	timeout := rb.Spec.Timeout.Duration
	if o.Timeout > 0 {
		timeout = o.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("the run's timeout of %s expired", timeout))
	r.stamp = kube.NewRunStamp(o.RunID, r.res.StartedAt.Add(runBound(timeout)))
	r.stamp.Kept = keptReason(rb, o.Keep)
	defer cancel()

	if v, err := c.ServerVersion(runCtx); err == nil {
		r.res.Cluster.ServerVersion = v
	} else {
		server := c.Server
		if c.Source != "" {
			server += " (" + c.Source + ")"
		}
		r.notStarted(fmt.Sprintf("the cluster at %s cannot be used: %v", server, err))
		return r.res
	}
	r.tracker = kube.NewTracker(c)
	if err := r.setupNamespace(runCtx); err != nil {
		r.notStarted(err.Error())
		r.cleanup(ctx)
		return r.res
	}

	r.runList(runCtx, rb.Spec.Steps, report.PhaseSteps)
	stopErr := context.Cause(runCtx)
	if runCtx.Err() == nil {
		stopErr = nil
	}
	// After an interrupt or a timeout, onFailure and finally steps still
	// run, on their own bounded context (a second signal exits at once).
	after, cancelAfter := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancelAfter()
	if r.failed || stopErr != nil {
		r.runList(after, rb.Spec.OnFailure, report.PhaseOnFailure)
	} else {
		r.skipList(rb.Spec.OnFailure, report.PhaseOnFailure, "nothing failed")
	}
	r.runList(after, rb.Spec.Finally, report.PhaseFinally)

	switch {
	case errors.Is(stopErr, ErrInterrupted):
		r.res.Verdict = report.VerdictInterrupted
		r.res.Error = "interrupted by a signal"
	case stopErr != nil:
		r.res.Verdict = report.VerdictFailed
		r.res.Error = stopErr.Error()
		r.res.TimedOut = errors.Is(runCtx.Err(), context.DeadlineExceeded)
	case r.failed:
		r.res.Verdict = report.VerdictFailed
	default:
		r.res.Verdict = report.VerdictPassed
	}
	r.cleanup(ctx)
	r.failOnCleanup()
	return r.res
}

var namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// setupNamespace picks the run's namespace, making a temporary one when
// the runbook names none.
func (r *runner) setupNamespace(ctx context.Context) error {
	// kubectl's rules: -n, then spec.namespace, then the context's
	// namespace (Clients.Namespace, "default" when it names none). A
	// temporary namespace only when the runbook asks for one.
	r.ns = r.rb.Spec.Namespace
	if r.o.Namespace != "" {
		r.ns = r.o.Namespace
	}
	if r.ns == "" && !r.rb.Spec.TemporaryNamespace {
		r.ns = r.o.Clients.Namespace
		if r.ns == "" {
			r.ns = "default"
		}
	}
	if r.ns != "" {
		r.res.Namespace = r.ns
		r.scope.Run["namespace"] = r.ns
		return nil
	}
	r.ns = temporaryNamespace(r.o.RunID)
	r.res.Namespace, r.res.TemporaryNamespace = r.ns, true
	r.scope.Run["namespace"] = r.ns
	c := r.o.Clients
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}
	r.stamp.Apply(&ns.ObjectMeta)
	idx := r.tracker.Record(kube.TrackedObject{GVR: namespacesGVR, Kind: "Namespace", Name: r.ns})
	if _, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the run's namespace %s: %w", r.ns, err)
	}
	r.tracker.MarkCreated(idx)
	// Pods cannot be created before the namespace's default service
	// account exists; wait for it by watch.
	if err := kube.WaitDefaultServiceAccount(ctx, c, r.ns); err != nil {
		return fmt.Errorf("waiting for the default service account of namespace %s: %w", r.ns, err)
	}
	return nil
}

// pods returns the run's pod watcher of a namespace, shared by all its steps.
func (r *runner) pods(ns string) *kube.PodWatcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, ok := r.watchers[ns]
	if !ok {
		w = kube.NewPodWatcherWithOptions(r.o.Clients, ns, kube.PodWatcherOptions{RunID: r.o.RunID})
		r.watchers[ns] = w
	}
	return w
}

func (r *runner) runList(ctx context.Context, list []*runbook.Step, phase string) {
	stopped := false
	for _, s := range list {
		if stopped {
			r.skip(s, phase, "an earlier step failed")
			continue
		}
		if ctx.Err() != nil {
			r.skip(s, phase, stopReason(ctx))
			continue
		}
		var done []report.StepResult
		if s.Parallel != nil {
			done = r.runGroup(ctx, s, phase)
		} else {
			done = []report.StepResult{r.runStep(ctx, s, phase)}
		}
		for i, sr := range done {
			if sr.Status == report.StatusFailed || sr.Status == report.StatusInterrupted {
				r.failed = true
				if !runbook.Flatten([]*runbook.Step{s})[i].ContinueOnError && phase == report.PhaseSteps {
					stopped = true
				}
			}
		}
	}
}

// stopReason says why a step of a stopped context does not start.
func stopReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), ErrInterrupted) {
		return "the run was interrupted"
	}
	return context.Cause(ctx).Error()
}

// notStarted ends a run that could not start: verdict error, why, and
// every step of every phase recorded as skipped, so that each report
// (JUnit's test cases among them) lists the same steps as on a run that
// started. The live progress is not told about each one: it prints the
// reason once.
func (r *runner) notStarted(why string) {
	r.res.Verdict = report.VerdictError
	r.res.Error = why
	p := r.progress
	r.progress = noProgress{}
	defer func() { r.progress = p }()
	reason := "the run did not start"
	r.skipList(r.rb.Spec.Steps, report.PhaseSteps, reason)
	r.skipList(r.rb.Spec.OnFailure, report.PhaseOnFailure, reason)
	r.skipList(r.rb.Spec.Finally, report.PhaseFinally, reason)
}

func (r *runner) skipList(list []*runbook.Step, phase, reason string) {
	for _, s := range list {
		r.skip(s, phase, reason)
	}
}

func (r *runner) nextIndex() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.index++
	return r.index
}

// skip records a step, or every step of a group, as skipped.
func (r *runner) skip(s *runbook.Step, phase, reason string) {
	if s.Parallel != nil {
		first, g := r.openGroup(s)
		for i, m := range s.Parallel.Steps {
			sr := r.base(m, phase, first+i, g)
			sr.Status, sr.SkipReason = report.StatusSkipped, reason
			r.res.Steps = append(r.res.Steps, sr)
			r.progress.StepDone(&sr)
		}
		return
	}
	sr := report.StepResult{Index: r.nextIndex(), ID: s.ID, Name: s.Title(), Description: s.Description,
		Kind: s.Kind, Phase: phase, Status: report.StatusSkipped, SkipReason: reason}
	r.res.Steps = append(r.res.Steps, sr)
	r.progress.StepDone(&sr)
}

// base is the start of a step's result: who it is and where it stands.
func (r *runner) base(s *runbook.Step, phase string, index int, g group) report.StepResult {
	return report.StepResult{Index: index, ID: s.ID, Name: s.Title(), Description: s.Description, Kind: s.Kind,
		Phase: phase, Group: g.number, GroupName: g.name, ExpectFailure: s.ExpectFailure, ContinueOnError: s.ContinueOnError}
}

// snapshot copies the scope for one step's evaluation.
func (r *runner) snapshot() *expression.Scope {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := expression.Scope{Vars: map[string]any{}, Steps: map[string]map[string]any{}, Run: r.scope.Run, Taint: r.sec}
	for k, v := range r.scope.Vars {
		s.Vars[k] = v
	}
	for k, v := range r.scope.Steps {
		s.Steps[k] = v
	}
	return &s
}

func (r *runner) runStep(ctx context.Context, s *runbook.Step, phase string) report.StepResult {
	sr, view := r.stepAt(ctx, s, r.base(s, phase, r.nextIndex(), group{}), r.snapshot())
	r.publish(s, sr, view)
	r.mu.Lock()
	r.res.Steps = append(r.res.Steps, sr)
	r.mu.Unlock()
	return sr
}

// stepAt runs one step (its when, its fan-out) from base, with scope as
// what its expressions see. Its result is not recorded yet.
func (r *runner) stepAt(ctx context.Context, s *runbook.Step, base report.StepResult, scope *expression.Scope) (report.StepResult, map[string]any) {
	if !s.When.IsZero() {
		ok, err := s.When.EvalBool(scope)
		if err != nil {
			base.Status, base.Error = report.StatusFailed, expression.At(r.rb.File, "when: ", err)
			return base, nil
		}
		if !ok {
			base.Status, base.SkipReason = report.StatusSkipped, "when: "+s.When.Source+" is false"
			return base, nil
		}
	}
	r.progress.StepStarted(base.Phase, base.Index, base.Name, s.Kind)
	if s.ForEach != nil {
		return r.runForEach(ctx, s, base, scope), nil
	}
	return r.execute(ctx, s, base, scope)
}

// publish makes a step's result visible to later steps (steps.ID) and to
// the live progress; the caller appends it to the run's result, in the
// order written.
func (r *runner) publish(s *runbook.Step, sr report.StepResult, view map[string]any) {
	r.mu.Lock()
	if s.ID != "" {
		if view == nil {
			view = map[string]any{}
		}
		view[viewStatus] = string(sr.Status)
		r.scope.Steps[s.ID] = view
	}
	r.mu.Unlock()
	r.progress.StepDone(&sr)
}

// execute runs one step's action (or one target of a fan-out) and checks it.
func (r *runner) execute(ctx context.Context, s *runbook.Step, sr report.StepResult, scope *expression.Scope) (report.StepResult, map[string]any) {
	stepCtx := ctx
	if s.Timeout.Duration > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeoutCause(ctx, s.Timeout.Duration, fmt.Errorf("the step's timeout of %s expired", s.Timeout.Duration))
		defer cancel()
	}
	env := &steps.Env{
		Clients: r.o.Clients, Namespace: r.ns, RunID: r.o.RunID, Deadline: r.stamp.Deadline, Kept: r.stamp.Kept, Tracker: r.tracker,
		Pods: r.pods, Scope: scope, StepID: steps.StepID(s.ID, sr.Index),
		MaxOutput: r.o.MaxOutput, Logf: r.progress.Logf, Dir: dirOf(r.rb.File),
		AllowPrivileged: r.rb.Spec.AllowPrivileged || r.o.AllowPrivileged,
		ArtifactDir:     r.o.ArtifactDir,
	}
	start := time.Now()
	sr.StartedAt = r.wall(start)
	kind, action := kindOf(s)
	calls := &kube.CallLog{}
	runCtx := kube.WithCallLog(stepCtx, calls)
	env.Live = r.liveOutput(s, sr.Index, sr.Target)
	out := action.Run(runCtx, env)
	if out == nil {
		out = &steps.Outcome{Err: errors.New("the step produced no outcome")}
	}
	if out.Err != nil && stepCtx.Err() != nil {
		// Say why the context ended rather than "context canceled".
		out.Err = becauseOf(context.Cause(stepCtx), out.Err)
	}
	end := time.Now()
	sr.FinishedAt, sr.Duration = r.wall(end), report.Seconds(end.Sub(start))
	sr.Target, sr.Command = out.Target, out.Kubectl
	stdout, stderr := r.learn(kube.WithCallLog(ctx, calls), s.Kind, out)
	if out.StdoutCut && !out.StdoutTruncated {
		stdout = r.sec.red.Cut(stdout)
	}
	sr.Stdout, sr.Stderr, sr.StdoutTruncated, sr.StderrTruncated = stdout, stderr, out.StdoutTruncated, out.StderrTruncated
	sr.ExitCode = out.ExitCode
	sr.Artifacts = out.Artifacts
	for _, t := range out.Touched {
		sr.Objects = append(sr.Objects, report.ObjectRef{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, Action: t.Action})
	}
	r.mu.Lock()
	r.leftover = append(r.leftover, out.Leftovers...)
	r.mu.Unlock()
	for _, w := range out.Warnings {
		r.sec.warn(fmt.Sprintf("step %d (%s): %s", sr.Index, sr.Name, w))
	}

	actionErr := ""
	if out.Err != nil {
		actionErr = expression.At(r.rb.File, "", out.Err)
	} else if out.ExitCode != nil && *out.ExitCode != 0 {
		actionErr = fmt.Sprintf("command exited with code %d", *out.ExitCode)
	}
	results := bindResults(kind, out, actionErr, end.Sub(start))
	scope.Results = results

	interrupted := stepCtx.Err() != nil && errors.Is(context.Cause(ctx), ErrInterrupted)
	passed := true
	switch {
	case interrupted:
		passed = false
		sr.Error = actionErr
		if !strings.Contains(actionErr, ErrInterrupted.Error()) {
			sr.Error = "interrupted: " + actionErr
		}
	case s.ExpectFailure && actionErr == "":
		passed = false
		sr.Error = "expected the action to fail, but it succeeded"
	case s.ExpectFailure:
		sr.Error = actionErr // kept for the report; expected
	case actionErr != "":
		passed = false
		sr.Error = r.explainFailure(kube.WithCallLog(stepCtx, calls), out.Err, actionErr)
	}
	// After explainFailure, whose read of the namespace is the step's too.
	sr.Calls, sr.CallsDropped = reportCalls(calls)
	if !interrupted {
		for _, a := range s.Assert {
			ar := report.Assertion{Expr: a.That.Source, Message: a.Message}
			ok, err := a.That.EvalBool(scope)
			switch {
			case err != nil:
				ar.Error = expression.At(r.rb.File, "", err)
			case ok:
				ar.Passed = true
			}
			if !ar.Passed {
				passed = false
				for _, v := range a.That.Program.Values(scope) {
					ar.Values = append(ar.Values, report.Value{Expr: v.Expr, Value: v.Value})
				}
			}
			sr.Assertions = append(sr.Assertions, ar)
		}
	}
	if passed && len(s.Set) > 0 {
		sr.Set = map[string]string{}
		for _, st := range s.Set {
			v, err := st.Expr.Eval(scope)
			if err != nil {
				passed = false
				sr.Error = expression.At(r.rb.File, "set "+st.Name+": ", err)
				if r.setsSecret(s) {
					// The error may quote the output, and so the secret the run never learned.
					at := "set " + st.Name + ": "
					sr.Error = sr.Error[:strings.Index(sr.Error, at)+len(at)] + "the expression failed (its error is withheld: it may quote the secret)"
				}
				break
			}
			sr.Set[st.Name] = expression.Text(v)
			r.sec.setVar(st.Name, v, st.Expr.Reads())
			r.mu.Lock()
			r.scope.Vars[st.Name] = v
			r.mu.Unlock()
		}
	}
	switch {
	case interrupted:
		sr.Status = report.StatusInterrupted
	case passed:
		sr.Status = report.StatusPassed
	default:
		sr.Status = report.StatusFailed
		// Cut short by a deadline (the step's or the run's), not failed
		// on its own terms.
		sr.TimedOut = out.Err != nil && errors.Is(stepCtx.Err(), context.DeadlineExceeded)
		// Or unable to ask (forbidden, a server error, no answer).
		sr.ClusterError = !sr.TimedOut && kube.IsClusterError(out.Err)
	}
	if sr.Status != report.StatusPassed && r.setsSecret(s) {
		withhold(&sr, results, r.secretSets(s))
	}
	view := stepView(results, sr.Status, out.Target)
	return sr, view
}

// withhold takes the output of a step that was to set a var of spec.secretVars from it, and
// did not get to (it failed, an assertion or a set failed, it was interrupted), out of its
// result and of what later steps see: the secret is in that output (that is why it is set
// from it), but the run never learned it, so no redaction could hide it.
func withhold(sr *report.StepResult, results map[string]any, names []string) {
	note := fmt.Sprintf("(withheld: this step was to set %s of spec.secretVars from its output and did not pass, so the secret in it was never learned)",
		strings.Join(names, ", "))
	if sr.Stdout != "" {
		sr.Stdout = note + "\n"
	}
	if sr.Stderr != "" {
		sr.Stderr = note + "\n"
	}
	sr.StdoutTruncated, sr.StderrTruncated = false, false
	for i := range sr.Assertions {
		for j := range sr.Assertions[i].Values {
			sr.Assertions[i].Values[j].Value = "(withheld)"
		}
	}
	for _, k := range []string{"stdout", "stderr"} { // the output results (steps/results.go)
		if _, ok := results[k]; ok {
			results[k] = ""
		}
	}
}

// secretSets names the vars of spec.secretVars a step sets.
func (r *runner) secretSets(s *runbook.Step) []string {
	var names []string
	for _, st := range s.Set {
		if r.sec != nil && r.sec.vars[st.Name] {
			names = append(names, st.Name)
		}
	}
	return names
}

func dirOf(file string) string {
	if file == "" {
		return "."
	}
	return filepath.Dir(file)
}

// objectKey identifies an object whatever the version it was named with.
type objectKey struct{ group, resource, namespace, name string }

// reportCalls are the calls of a step's log, for its result.
func reportCalls(l *kube.CallLog) ([]report.Call, int) {
	calls, dropped := l.Calls()
	out := make([]report.Call, len(calls))
	for i, c := range calls {
		out[i] = report.Call(c)
	}
	return out, dropped
}

// temporaryNamespace is the name of the namespace a run makes for itself.
func temporaryNamespace(runID string) string {
	return "runbook-" + strings.TrimPrefix(runID, "rb-")
}

// setsSecret reports whether a step sets a var of spec.secretVars.
func (r *runner) setsSecret(s *runbook.Step) bool { return len(r.secretSets(s)) > 0 }

// keptReason is why a run may keep what it creates, for kube.AnnotationKept: --keep,
// spec.cleanup: never, or spec.cleanup: onSuccess (stamped at creation, since whether the
// run passes is known only at its end: a run that passes deletes them anyway, and one that
// fails, is interrupted or dies keeps them); "" when the run always cleans up.
func keptReason(rb *runbook.Runbook, keep bool) string {
	switch {
	case keep:
		return "--keep"
	case rb.Spec.Cleanup == runbook.CleanupNever:
		return "spec.cleanup: never"
	case rb.Spec.Cleanup == runbook.CleanupOnSuccess:
		return "spec.cleanup: onSuccess, if the run does not pass"
	}
	return ""
}
