package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// The JUnit shape as a consumer reads it, written independently of the
// renderer's own types so that a mistake in those cannot hide here.
type consumerSuites struct {
	XMLName  xml.Name        `xml:"testsuites"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Suites   []consumerSuite `xml:"testsuite"`
}

type consumerSuite struct {
	Name       string `xml:"name,attr"`
	Tests      int    `xml:"tests,attr"`
	Failures   int    `xml:"failures,attr"`
	Errors     int    `xml:"errors,attr"`
	Skipped    int    `xml:"skipped,attr"`
	Time       string `xml:"time,attr"`
	Timestamp  string `xml:"timestamp,attr"`
	Properties []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []consumerCase `xml:"testcase"`
}

type consumerCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	} `xml:"error"`
	Skipped   *struct{} `xml:"skipped"`
	SystemOut string    `xml:"system-out"`
	SystemErr string    `xml:"system-err"`
}

// outcome names what a consumer sees for a testcase.
func (c consumerCase) outcome() string {
	switch {
	case c.Failure != nil:
		return "failure"
	case c.Error != nil:
		return "error"
	case c.Skipped != nil:
		return "skipped"
	}
	return "passed"
}

func parseJUnit(t *testing.T, fx fixtureCase) consumerSuites {
	t.Helper()
	var doc consumerSuites
	if err := xml.Unmarshal(render(t, "junit", fx), &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v", err)
	}
	return doc
}

func TestJUnitParsesWithTheRightCounts(t *testing.T) {
	tests := []struct {
		fixture                          string
		tests, failures, errors, skipped int
		cases                            []string // "name outcome"
	}{
		{"passed", 6, 0, 0, 0, []string{
			"01 Create a pod with no shell: passed",
			"02 kubectl exec has nothing to run: passed",
			"03 Attach busybox targeting app: passed",
			"04 Copy the pod with a debugger that shares processes: passed",
			"05 Both /pause processes are visible from the copy: passed",
			"06 Read the node's hostname through /host: passed",
		}},
		{"failed", 5, 2, 0, 1, []string{
			"01 The checkout pod is not crash-looping: failure",
			"02 Attach a debugger to checkout: failure",
			"03 Look at the app's open files: skipped",
			"04 Events of the pod: passed",
			"05 Logs of the app: passed",
		}},
		{"interrupted", 4, 0, 1, 1, []string{
			"01 Create a pod with no shell: passed",
			"02 Copy the pod with a debugger that shares processes: error",
			"03 Both /pause processes are visible from the copy: skipped",
			"04 Events of the namespace: passed",
		}},
		{"fanout", 3, 1, 0, 0, []string{
			"01 Every worker reads its own hostname [node worker-0]: passed",
			"01 Every worker reads its own hostname [node worker-1]: failure",
			"01 Every worker reads its own hostname [node worker-2]: passed",
		}},
		{"error", 1, 0, 1, 0, []string{"run: error"}},
		{"hostile", 2, 1, 0, 0, []string{
			"01 Print `README` | <b>bold</b> </details>: passed",
			"02 Fail with </details> in the error: failure",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			doc := parseJUnit(t, fixtureCase{tt.fixture, func() *Result { return fixtureByName(t, tt.fixture) }})
			if len(doc.Suites) != 1 {
				t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			// <testsuites> carries no skipped count (consumers' schema).
			got := []int{doc.Tests, doc.Failures, doc.Errors, doc.Skipped, s.Tests, s.Failures, s.Errors, s.Skipped}
			want := []int{tt.tests, tt.failures, tt.errors, 0, tt.tests, tt.failures, tt.errors, tt.skipped}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("counts tests,failures,errors,skipped (suites then suite) (-want +got):\n%s", diff)
			}
			var cases []string
			outcomes := map[string]int{}
			for _, c := range s.Cases {
				cases = append(cases, c.Name+": "+c.outcome())
				outcomes[c.outcome()]++
				if c.Classname != s.Name {
					t.Errorf("testcase %q has classname %q, want the runbook %q", c.Name, c.Classname, s.Name)
				}
			}
			if diff := cmp.Diff(tt.cases, cases); diff != "" {
				t.Errorf("testcases (-want +got):\n%s", diff)
			}
			// The attributes agree with the testcases themselves.
			if outcomes["failure"] != s.Failures || outcomes["error"] != s.Errors || outcomes["skipped"] != s.Skipped || len(s.Cases) != s.Tests {
				t.Errorf("attributes %d/%d/%d/%d disagree with testcases %v", s.Tests, s.Failures, s.Errors, s.Skipped, outcomes)
			}
		})
	}
}

func TestJUnitContent(t *testing.T) {
	doc := parseJUnit(t, fixtureCase{"failed", failedResult})
	s := doc.Suites[0]
	if s.Name != "checkout-debug" || s.Timestamp != "2025-11-24T22:36:00Z" || s.Time != "95.500" {
		t.Errorf("suite name/timestamp/time = %q %q %q", s.Name, s.Timestamp, s.Time)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	for name, want := range map[string]string{"runId": "r-4f2a9c", "context": "kind-runbook", "namespace": "shop"} {
		if props[name] != want {
			t.Errorf("property %s = %q, want %q", name, props[name], want)
		}
	}
	crash := s.Cases[0].Failure
	if crash == nil {
		t.Fatal("step 1 has no failure")
	}
	if crash.Type != "AssertionFailed" || crash.Message != "assertion failed: the app should not be crash-looping (pod.status.containerStatuses[0].restartCount < 3)" {
		t.Errorf("failure type/message = %q %q", crash.Type, crash.Message)
	}
	for _, want := range []string{"pod.status.containerStatuses[0].restartCount = 7", `lastState.terminated.reason = "OOMKilled"`} {
		if !strings.Contains(crash.Text, want) {
			t.Errorf("failure text %q lacks %q", crash.Text, want)
		}
	}
	if strings.Contains(crash.Text, "pod.status.phase") {
		t.Errorf("failure text %q names an assertion that held", crash.Text)
	}
	pull := s.Cases[1]
	if pull.Failure == nil || pull.Failure.Type != "StepFailed" || !strings.Contains(pull.Failure.Message, "ImagePullBackOff") {
		t.Errorf("step 2 failure = %+v, want a StepFailed with ImagePullBackOff", pull.Failure)
	}
	if !strings.Contains(pull.SystemErr, "ErrImagePull (attempt 12)") {
		t.Errorf("step 2 system-err = %q", pull.SystemErr)
	}
	if want := failedResult().Steps[4].Stdout; s.Cases[4].SystemOut != want {
		t.Errorf("step 5 system-out = %q, want the step's stdout %q", s.Cases[4].SystemOut, want)
	}
}

// TestJUnitNeverGreenForAFailedRun: a run that failed outside any step still
// shows a failing testcase.
func TestJUnitNeverGreenForAFailedRun(t *testing.T) {
	for _, v := range []Verdict{VerdictFailed, VerdictInterrupted, VerdictError} {
		t.Run(string(v), func(t *testing.T) {
			r := passedResult()
			r.Verdict = v
			r.Error = "timed out after 5m0s"
			doc := parseJUnit(t, fixtureCase{"x", func() *Result { return r }})
			if doc.Failures+doc.Errors != 1 {
				t.Fatalf("failures+errors = %d, want 1", doc.Failures+doc.Errors)
			}
			last := doc.Suites[0].Cases[len(doc.Suites[0].Cases)-1]
			if last.Name != "run" || last.outcome() == "passed" {
				t.Errorf("last testcase = %q %s, want a failing run testcase", last.Name, last.outcome())
			}
		})
	}
}

func TestJUnitControlCharactersStayValid(t *testing.T) {
	r := passedResult()
	r.Steps[2].Stdout = "colour \x1b[31mred\x1b[0m and a NUL \x00 byte\n"
	doc := parseJUnit(t, fixtureCase{"x", func() *Result { return r }})
	if got := doc.Suites[0].Cases[2].SystemOut; !strings.Contains(got, "red") {
		t.Errorf("system-out = %q", got)
	}
}

// TestJUnitControlCharacters: output, names and errors from the cluster
// with control characters (an escape sequence, NUL, DEL, a C1 CSI, a
// bidirectional override) give XML that parses, holds none of them raw, and
// shows them as the other formats do (\x1b), not as U+FFFD.
func TestJUnitControlCharacters(t *testing.T) {
	const evil = "a\x1b[2J\x00\x7f\u009b31m\u202eb"
	r := runInfo("ctl"+evil, "rb.yaml", at(0), at(100))
	r.Host = "host" + evil
	r.Verdict = VerdictFailed
	r.Steps = []StepResult{timed(StepResult{
		Index: 1, Name: "step" + evil, Kind: "local", Phase: PhaseSteps, Status: StatusFailed,
		Stdout: "out" + evil, Stderr: "err" + evil, Error: "error" + evil,
		Assertions: []Assertion{{Expr: "stdout == \"\"", Message: "msg" + evil, Values: []Value{{Expr: "stdout", Value: "\"" + evil + "\""}}}},
	}, 0, 100)}
	var b bytes.Buffer
	if err := RenderJUnit(&b, &r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var doc consumerSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v\n%s", err, out)
	}
	if i := strings.IndexFunc(out, func(c rune) bool { return isControl(c) || isBidi(c) || c == utf8.RuneError }); i >= 0 {
		t.Errorf("raw %U at byte %d of:\n%s", []rune(out[i:])[0], i, out)
	}
	for _, want := range []string{`<system-out>outa\x1b[2J\x00\x7f\x9b31m\u202Eb</system-out>`, `name="01 stepa\x1b[2J`, `message="errora\x1b[2J`, `hostname="hosta\x1b[2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("the XML lacks %s:\n%s", want, out)
		}
	}
}

// TestJUnitTimeoutsAreErrors: a step a timeout cut short, or whose request
// the cluster refused, could not finish its check, which JUnit calls an
// error; a step whose command failed, whose object was not found or whose
// assertion did not hold is a failure. The counts follow.
func TestJUnitTimeoutsAreErrors(t *testing.T) {
	r := runInfo("timeouts", "rb.yaml", at(0), at(5000))
	r.Verdict = VerdictFailed
	r.Steps = []StepResult{
		timed(StepResult{Index: 1, Name: "slow", Kind: "wait", Status: StatusFailed, TimedOut: true,
			Error: "the step's timeout of 3s expired (waiting for pod x: last seen Pending)"}, 0, 3000),
		timed(StepResult{Index: 2, Name: "exits 1", Kind: "local", Status: StatusFailed, ExitCode: intp(1),
			Error: "command exited with code 1", ContinueOnError: true}, 3000, 3100),
		timed(StepResult{Index: 3, Name: "asserts", Kind: "local", Status: StatusFailed, ContinueOnError: true,
			Assertions: []Assertion{{Expr: "false"}}}, 3100, 3200),
		timed(StepResult{Index: 4, Name: "refused", Kind: "get", Status: StatusFailed, ClusterError: true, ContinueOnError: true,
			Error: `pods "web" is forbidden: User "system:serviceaccount:ci:runbook" cannot get resource "pods"`}, 3200, 3300),
		timed(StepResult{Index: 5, Name: "absent", Kind: "get", Status: StatusFailed, ContinueOnError: true,
			Error: `pods "web" not found`}, 3300, 3400),
	}
	doc := parseJUnit(t, fixtureCase{"x", func() *Result { return &r }})
	s := doc.Suites[0]
	var got []string
	for _, c := range s.Cases {
		typ := ""
		if c.Error != nil {
			typ = c.Error.Type
		}
		if c.Failure != nil {
			typ = c.Failure.Type
		}
		got = append(got, c.Name+": "+c.outcome()+" "+typ)
	}
	want := []string{"01 slow: error Timeout", "02 exits 1: failure StepFailed", "03 asserts: failure AssertionFailed",
		"04 refused: error ClusterError", "05 absent: failure StepFailed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("testcases (-want +got):\n%s", diff)
	}
	if s.Tests != 5 || s.Failures != 3 || s.Errors != 2 || doc.Failures != 3 || doc.Errors != 2 {
		t.Errorf("counts: suite %d/%d/%d, suites %d/%d; want 5 tests, 3 failures, 2 errors", s.Tests, s.Failures, s.Errors, doc.Failures, doc.Errors)
	}

	// The run's timeout expired between steps: no step says so, the
	// testcase "run" does, as an error.
	r = runInfo("timeouts", "rb.yaml", at(0), at(5000))
	r.Verdict, r.TimedOut, r.Error = VerdictFailed, true, "the run's timeout of 5s expired"
	r.Steps = []StepResult{
		timed(StepResult{Index: 1, Name: "quick", Kind: "local", Status: StatusPassed}, 0, 4999),
		{Index: 2, Name: "late", Kind: "local", Status: StatusSkipped, SkipReason: "the run's timeout of 5s expired"},
	}
	doc = parseJUnit(t, fixtureCase{"x", func() *Result { return &r }})
	last := doc.Suites[0].Cases[len(doc.Suites[0].Cases)-1]
	if last.Name != "run" || last.Error == nil || last.Error.Type != "Timeout" || last.Error.Message != r.Error || doc.Errors != 1 || doc.Failures != 0 {
		t.Errorf("run testcase %q %s (%+v), errors %d, failures %d; want an error of type Timeout", last.Name, last.outcome(), last.Error, doc.Errors, doc.Failures)
	}
}
