// Package report holds the plain result of a runbook run and the renderers
// that turn it into what people paste and machines read: a terminal table,
// a Markdown incident report, JSON and JUnit XML.
//
// The executor fills a Result and redacts it once, as a whole (Redactor),
// before it hands it to one or more renderers picked by name from the
// registry (see Lookup): no renderer sees a secret.
// Renderers only read the Result: they never decide exit codes, never call
// time.Now, render every time in UTC and sort every map, so the same Result
// always gives the same bytes.
//
// The package is a leaf: it imports nothing from Kubernetes or from the rest
// of the project.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SchemaVersion names the shape of a Result in its JSON form. ReadJSON
// refuses results of any other version.
const SchemaVersion = "runbook.dev/result/v1"

// Verdict is the outcome of a whole run.
type Verdict string

// The verdicts of a run. VerdictError means the runbook could not be run at
// all: the cluster was unusable, the context guard refused it, or the
// runbook was invalid.
const (
	VerdictPassed      Verdict = "passed"
	VerdictFailed      Verdict = "failed"
	VerdictInterrupted Verdict = "interrupted"
	VerdictError       Verdict = "error"
)

// Status is the outcome of one step, or of one target of a fanned-out step.
type Status string

// The statuses of a step.
const (
	StatusPassed      Status = "passed"
	StatusFailed      Status = "failed"
	StatusSkipped     Status = "skipped"
	StatusInterrupted Status = "interrupted"
)

// The phases a step runs in: the runbook's steps, its finally steps (always
// run) and its onFailure steps (run only when something failed).
const (
	PhaseSteps     = "steps"
	PhaseFinally   = "finally"
	PhaseOnFailure = "onFailure"
)

// The outcomes of a Deletion, the one set of them: kube's cleanup gives its
// deletions these outcomes too.
const (
	// OutcomeDeleted: the delete call succeeded (and, when waiting, the object is gone).
	OutcomeDeleted = "deleted"
	// OutcomeNotFound: the object did not exist (already deleted, or never created).
	OutcomeNotFound = "not found"
	// OutcomeFailed: the delete call failed, or the object outlived the wait; see Error.
	OutcomeFailed = "failed"
	// OutcomeKept: the object was left on purpose (--keep, spec.cleanup).
	OutcomeKept = "kept"
)

// The actions an ObjectRef records.
const (
	ActionCreated = "created"
	ActionPatched = "patched"
	ActionRead    = "read"
	ActionDeleted = "deleted"
	// ActionExec is a command run in a pod.
	ActionExec = "exec"
)

// Seconds is a duration that is written to JSON as a number of seconds
// ("duration": 1.234), which tools and people read more easily than Go's
// nanosecond integers. It converts to and from time.Duration; the JSON
// number keeps nanosecond precision for any duration under about 100 days.
type Seconds time.Duration

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// String renders s for people, rounded to the millisecond ("1.234s", "2m3.5s").
func (s Seconds) String() string {
	return time.Duration(s).Round(time.Millisecond).String()
}

// MarshalJSON writes s as a JSON number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON reads a JSON number of seconds. It refuses a negative
// duration, which no run writes (the schema's minimum is 0), and one too
// long for a time.Duration: float64(math.MaxInt64) is 2^63, one more than
// the largest Duration, so that bound is excluded, or 2^63 ns would wrap
// to a negative Duration.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration must be a number of seconds, got %s", b)
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*1e9) >= math.MaxInt64:
		return fmt.Errorf("duration %s seconds is out of range", b)
	case f < 0:
		return fmt.Errorf("duration %s seconds is negative", b)
	}
	*s = Seconds(math.Round(f * 1e9))
	return nil
}

// Result is the plain record of one run of a runbook: what ran, where, by
// whom, what each step did and saw, and how the scene was cleaned up. All
// times are UTC (renderers convert anyway).
type Result struct {
	SchemaVersion      string            `json:"schemaVersion" doc:"Version of this result's shape; runbook.dev/result/v1."`
	Runbook            RunbookInfo       `json:"runbook" doc:"The runbook that was run."`
	RunID              string            `json:"runId" doc:"Identifier of the run; every object the run created carries it in the runbook/run-id label."`
	Cluster            ClusterInfo       `json:"cluster" doc:"The cluster the run talked to."`
	Namespace          string            `json:"namespace" doc:"Namespace the steps ran in by default."`
	TemporaryNamespace bool              `json:"temporaryNamespace,omitempty" doc:"True when the namespace was made for the run and deleted at cleanup."`
	User               string            `json:"user" doc:"Who ran it (the operator's login name)."`
	Host               string            `json:"host" doc:"The machine it was run from."`
	Tool               string            `json:"tool" doc:"The tool and its version, e.g. runbook v0.1.0."`
	StartedAt          time.Time         `json:"startedAt" doc:"When the run started (UTC)."`
	FinishedAt         time.Time         `json:"finishedAt" doc:"When the run finished, cleanup included (UTC)."`
	Duration           Seconds           `json:"duration" doc:"Length of the run in seconds."`
	Verdict            Verdict           `json:"verdict" enum:"passed,failed,interrupted,error" doc:"Outcome of the run; error means it could not run (cluster unusable, context guard, invalid runbook)."`
	Error              string            `json:"error,omitempty" doc:"Run-level reason when the run did not pass on its own terms: timeout, interrupted by SIGINT, context guard, ..."`
	TimedOut           bool              `json:"timedOut,omitempty" doc:"True when the run's timeout expired before its steps ended."`
	Warnings           []string          `json:"warnings,omitempty" doc:"What the run could not check, whatever its verdict: values of Secrets a pod the run entered references that could not be read for redaction, ..."`
	ArtifactDir        string            `json:"artifactDir,omitempty" doc:"Directory the run's steps write files into (runbook run --artifacts); the path of each artifact is relative to it. It exists only if a step wrote a file."`
	Steps              []StepResult      `json:"steps" doc:"Every step in the order it ran or was skipped, finally and onFailure steps included."`
	Cleanup            CleanupResult     `json:"cleanup" doc:"What cleanup did with the objects the run created."`
	APIRequests        int64             `json:"apiRequests" doc:"Number of requests sent to the API server."`
	APIRequestsByVerb  map[string]int64  `json:"apiRequestsByVerb,omitempty" doc:"Requests sent to the API server, by HTTP verb."`
	Vars               map[string]string `json:"vars,omitempty" doc:"The runbook's variables at the end of the run."`
}

// RunbookInfo identifies the runbook that was run.
type RunbookInfo struct {
	Name        string `json:"name" doc:"metadata.name of the runbook."`
	Description string `json:"description,omitempty" doc:"metadata.description of the runbook."`
	File        string `json:"file,omitempty" doc:"Path of the runbook file as given on the command line."`
	Digest      string `json:"digest,omitempty" doc:"Digest of the runbook file's bytes, sha256:HEX."`
}

// ClusterInfo identifies the cluster a run talked to.
type ClusterInfo struct {
	Context       string `json:"context,omitempty" doc:"kubeconfig context used."`
	Server        string `json:"server,omitempty" doc:"URL of the API server."`
	ServerVersion string `json:"serverVersion,omitempty" doc:"Version the API server reported, e.g. v1.33.1."`
}

// StepResult is what one step did and saw. A step that fanned out over
// several targets (a node step with a selector, say) has one StepResult per
// target in Targets; each target's entry carries that target's own outcome,
// output and assertions, and renderers fall back to the parent's Index, ID,
// Name, Kind and Phase where a target leaves them empty.
type StepResult struct {
	Index           int               `json:"index,omitempty" doc:"Position of the step in run order, from 1; absent in a target that shares its step's."`
	ID              string            `json:"id,omitempty" doc:"The step's id, if it has one."`
	Name            string            `json:"name" doc:"The step's name."`
	Description     string            `json:"description,omitempty" doc:"The step's description."`
	Kind            string            `json:"kind,omitempty" doc:"Step kind (absent in a target that shares its step's): apply, exec, debug, copy, node, get, wait, logs, events, delete, local, ..."`
	Phase           string            `json:"phase,omitempty" enum:"steps,finally,onFailure" doc:"Which list the step came from; absent in a target that shares its step's."`
	Group           int               `json:"group,omitempty" doc:"Number of the parallel group the step ran in, from 1 in run order; the steps of one group ran at the same time. Absent for a step of no group."`
	GroupName       string            `json:"groupName,omitempty" doc:"Name of the step's parallel group (its name, or parallel group)."`
	Target          string            `json:"target,omitempty" doc:"What the step acted on, e.g. pod default/noshell or node worker-0."`
	Status          Status            `json:"status" enum:"passed,failed,skipped,interrupted" doc:"Outcome of the step."`
	SkipReason      string            `json:"skipReason,omitempty" doc:"Why a skipped step was skipped."`
	StartedAt       time.Time         `json:"startedAt,omitzero" doc:"When the step started (UTC); absent for a skipped step."`
	FinishedAt      time.Time         `json:"finishedAt,omitzero" doc:"When the step finished (UTC); absent for a skipped step."`
	Duration        Seconds           `json:"duration" doc:"Length of the step in seconds."`
	Command         string            `json:"command,omitempty" doc:"The equivalent kubectl command line, for a human to repeat the step."`
	Calls           []Call            `json:"calls,omitempty" doc:"API calls the step made, in order, as the API server's authorizer saw them (the step's own requests; the run's pod watches are counted in apiRequests only)."`
	CallsDropped    int               `json:"callsDropped,omitempty" doc:"Calls the step made beyond the ones listed (the list is capped)."`
	Stdout          string            `json:"stdout,omitempty" doc:"Standard output of the step's command."`
	Stderr          string            `json:"stderr,omitempty" doc:"Standard error of the step's command."`
	StdoutTruncated bool              `json:"stdoutTruncated,omitempty" doc:"True when stdout was cut at the executor's limit (MaxJSONOutputBytes)."`
	StderrTruncated bool              `json:"stderrTruncated,omitempty" doc:"True when stderr was cut at the executor's limit (MaxJSONOutputBytes)."`
	ExitCode        *int              `json:"exitCode,omitempty" doc:"Exit code of the step's command, when it ran one."`
	Error           string            `json:"error,omitempty" doc:"Why the step's action failed."`
	TimedOut        bool              `json:"timedOut,omitempty" doc:"True when the step failed because a timeout expired (the step's or the run's) before its action ended: JUnit reports it as an error, not a failure."`
	ClusterError    bool              `json:"clusterError,omitempty" doc:"True when the step failed because the cluster refused or failed its request (forbidden, unauthorized, a server error or timeout, throttled, unreachable), not because of what it found: JUnit reports it as an error, not a failure."`
	ExpectFailure   bool              `json:"expectFailure,omitempty" doc:"The step passes only if its action fails."`
	ContinueOnError bool              `json:"continueOnError,omitempty" doc:"A failure of this step does not stop the run."`
	Assertions      []Assertion       `json:"assertions,omitempty" doc:"The step's assertions, in order."`
	Objects         []ObjectRef       `json:"objects,omitempty" doc:"Objects the step created, patched, read or deleted."`
	Artifacts       []Artifact        `json:"artifacts,omitempty" doc:"Files the step wrote into the run's artifact directory, e.g. copied out of a container."`
	Set             map[string]string `json:"set,omitempty" doc:"Variables the step captured with set."`
	Targets         []StepResult      `json:"targets,omitempty" doc:"One result per target when the step fanned out over several."`
}

// Assertion is one checked expression and, when it matters, the values of
// its parts.
type Assertion struct {
	Expr    string  `json:"expr" doc:"The expression as written in the runbook."`
	Message string  `json:"message,omitempty" doc:"The runbook's message for this assertion."`
	Passed  bool    `json:"passed" doc:"Whether the expression held."`
	Error   string  `json:"error,omitempty" doc:"Why the expression could not be evaluated."`
	Values  []Value `json:"values,omitempty" doc:"Values of the expression's parts, to tell why it did not hold."`
}

// Value is the value of one part of an assertion's expression.
type Value struct {
	Expr  string `json:"expr" doc:"The sub-expression, e.g. len(pod.spec.containers)."`
	Value string `json:"value" doc:"Its value, rendered JSON-like."`
}

// Call is one API request as the API server's authorizer sees it.
type Call struct {
	Verb        string `json:"verb" doc:"The RBAC verb: get, list, watch, create, update, patch, delete."`
	Group       string `json:"group,omitempty" doc:"API group; absent for the core group."`
	Version     string `json:"version,omitempty" doc:"API version."`
	Resource    string `json:"resource,omitempty" doc:"Plural resource, e.g. pods; absent for a request that names no resource."`
	Subresource string `json:"subresource,omitempty" doc:"Subresource, e.g. exec, log, ephemeralcontainers."`
	Namespace   string `json:"namespace,omitempty" doc:"Namespace; absent for cluster-scoped objects and requests across namespaces."`
	Name        string `json:"name,omitempty" doc:"Name of the object (also of a list or watch restricted to one object)."`
	Path        string `json:"path,omitempty" doc:"URL path of a request that names no resource, e.g. /version."`
}

// Key names what was called without the object: "GET pods", "WATCH pods",
// "PATCH pods/ephemeralcontainers", "LIST deployments.apps"; "GET /version"
// for a request that names no resource. Request counts are kept by Key.
func (c Call) Key() string {
	verb := strings.ToUpper(c.Verb)
	if c.Resource == "" {
		return strings.TrimSpace(verb + " " + c.Path)
	}
	res := c.Resource
	if c.Group != "" {
		res += "." + c.Group
	}
	if c.Subresource != "" {
		res += "/" + c.Subresource
	}
	return verb + " " + res
}

// String is the one-line form of a call: "PATCH pods/ephemeralcontainers default/noshell",
// "LIST pods default/*", "GET nodes worker-0".
func (c Call) String() string {
	id := c.Name
	switch {
	case c.Namespace != "" && c.Name != "":
		id = c.Namespace + "/" + c.Name
	case c.Namespace != "":
		id = c.Namespace + "/*"
	}
	return strings.TrimSpace(c.Key() + " " + id)
}

// ObjectRef names an object a step touched and what it did with it.
type ObjectRef struct {
	Kind      string `json:"kind" doc:"Kind of the object, e.g. Pod."`
	Namespace string `json:"namespace,omitempty" doc:"Namespace; empty for cluster-scoped objects."`
	Name      string `json:"name" doc:"Name of the object."`
	Action    string `json:"action" enum:"created,patched,read,deleted,exec" doc:"What the step did with it (exec: ran a command in the pod)."`
}

// Artifact is a file a step wrote into the run's artifact directory. The
// file on disk is the raw copy; Content, like every string of a Result, is
// redacted before any report is written, so it can differ from the file
// (and from SHA256).
type Artifact struct {
	Path      string `json:"path" doc:"Path of the file relative to the run's artifact directory (artifactDir), with / as the separator."`
	Source    string `json:"source,omitempty" doc:"Where the file came from, e.g. pod default/web container app:/etc/hostname."`
	Size      int64  `json:"size" doc:"Size of the file written, in bytes."`
	Truncated bool   `json:"truncated,omitempty" doc:"True when the copy stopped at the step's byte cap: the file holds only the first size bytes of the original."`
	SHA256    string `json:"sha256" doc:"SHA-256 of the file written, in hex."`
	Text      bool   `json:"text,omitempty" doc:"True when the file looks like text: valid UTF-8 without NUL bytes (judged on its first 8 KiB)."`
	Content   string `json:"content,omitempty" doc:"The whole file when it is a small text file (at most 4 KiB, not truncated), for reports to show; redacted like output."`
}

// CleanupResult records how the run left the scene.
type CleanupResult struct {
	Policy    string     `json:"policy" enum:"always,onSuccess,never,keep" doc:"The cleanup policy in force."`
	Deletions []Deletion `json:"deletions,omitempty" doc:"One entry per object the run created, in the order cleanup handled them (reverse creation)."`
	Leftovers []string   `json:"leftovers,omitempty" doc:"What cannot be removed, e.g. an ephemeral container that stays until its pod is deleted."`
}

// Deletion is what cleanup did with one object the run created.
type Deletion struct {
	Kind      string  `json:"kind" doc:"Kind of the object."`
	Namespace string  `json:"namespace,omitempty" doc:"Namespace; empty for cluster-scoped objects."`
	Name      string  `json:"name" doc:"Name of the object."`
	Outcome   string  `json:"outcome" enum:"deleted,not found,failed,kept" doc:"What happened to it."`
	Error     string  `json:"error,omitempty" doc:"Why the deletion failed."`
	Duration  Seconds `json:"duration" doc:"How long the deletion took, in seconds."`
}

// Counts tallies outcomes. Counts are taken over what was checked: a step,
// or each target of a fanned-out step (the same units as JUnit testcases and
// table rows).
type Counts struct {
	Passed      int
	Failed      int
	Skipped     int
	Interrupted int
}

// Total returns the number of results counted.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Skipped + c.Interrupted }

// String renders c for people: "4 passed, 1 failed, 1 skipped"; interrupted
// is mentioned only when non-zero.
func (c Counts) String() string {
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
	if c.Interrupted > 0 {
		s += fmt.Sprintf(", %d interrupted", c.Interrupted)
	}
	return s
}

// Counts tallies the outcomes of r's steps, one per target for fanned-out
// steps.
func (r *Result) Counts() Counts {
	var c Counts
	for _, l := range leaves(r) {
		switch l.step.Status {
		case StatusPassed:
			c.Passed++
		case StatusFailed:
			c.Failed++
		case StatusSkipped:
			c.Skipped++
		case StatusInterrupted:
			c.Interrupted++
		}
	}
	return c
}

// Failed returns the results that failed, in run order: a step, or a target
// of a fanned-out step. The pointers point into r.
func (r *Result) Failed() []*StepResult {
	var out []*StepResult
	for _, l := range leaves(r) {
		if l.step.Status == StatusFailed {
			out = append(out, l.step)
		}
	}
	return out
}

// AssertionCounts returns how many of s's assertions held, and how many
// there are.
func (s *StepResult) AssertionCounts() (passed, total int) {
	for _, a := range s.Assertions {
		if a.Passed {
			passed++
		}
	}
	return passed, len(s.Assertions)
}

// leaf is one checked unit: a step without targets, or one target of a
// fanned-out step together with its parent.
type leaf struct {
	step   *StepResult
	parent *StepResult // nil for a step without targets
}

// leaves walks r's steps in order, descending into fanned-out steps.
func leaves(r *Result) []leaf {
	var out []leaf
	for i := range r.Steps {
		s := &r.Steps[i]
		if len(s.Targets) == 0 {
			out = append(out, leaf{step: s})
			continue
		}
		for j := range s.Targets {
			out = append(out, leaf{step: &s.Targets[j], parent: s})
		}
	}
	return out
}

// index returns the leaf's step number, falling back to the parent's.
func (l leaf) index() int {
	if l.step.Index == 0 && l.parent != nil {
		return l.parent.Index
	}
	return l.step.Index
}

// name returns the leaf's step name, falling back to the parent's.
func (l leaf) name() string { return l.pick(func(s *StepResult) string { return s.Name }) }

// kind returns the leaf's step kind, falling back to the parent's.
func (l leaf) kind() string { return l.pick(func(s *StepResult) string { return s.Kind }) }

// group returns the leaf's parallel group, falling back to the parent's.
func (l leaf) group() int {
	if l.step.Group == 0 && l.parent != nil {
		return l.parent.Group
	}
	return l.step.Group
}

// phase returns the leaf's phase, falling back to the parent's.
func (l leaf) phase() string { return l.pick(func(s *StepResult) string { return s.Phase }) }

// pick returns f of the leaf's step, or of its parent when that is empty.
func (l leaf) pick(f func(*StepResult) string) string {
	if v := f(l.step); v != "" || l.parent == nil {
		return v
	}
	return f(l.parent)
}

// title is the leaf's name with its target when it is one of several:
// "Read the hostname [node worker-0]".
func (l leaf) title() string {
	if l.parent != nil && l.step.Target != "" {
		return l.name() + " [" + l.step.Target + "]"
	}
	return l.name()
}

// utc returns a copy of r whose times are all in UTC and whose Steps is
// never nil, so that the JSON form does not depend on the executor's time
// zone and always has "steps": []. Slices other than Steps and Targets are
// shared with r and must not be modified.
func utc(r *Result) *Result {
	c := *r
	c.StartedAt = c.StartedAt.UTC()
	c.FinishedAt = c.FinishedAt.UTC()
	c.Steps = utcSteps(r.Steps)
	if c.Steps == nil {
		c.Steps = []StepResult{}
	}
	return &c
}

func utcSteps(steps []StepResult) []StepResult {
	if steps == nil {
		return nil
	}
	out := make([]StepResult, len(steps))
	for i, s := range steps {
		s.StartedAt = s.StartedAt.UTC()
		s.FinishedAt = s.FinishedAt.UTC()
		s.Targets = utcSteps(s.Targets)
		out[i] = s
	}
	return out
}

// compile-time check that Seconds satisfies the JSON interfaces.
var (
	_ json.Marshaler   = Seconds(0)
	_ json.Unmarshaler = (*Seconds)(nil)
)
