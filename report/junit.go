package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The JUnit XML written by RenderJUnit, in the shape that CI systems
// (Jenkins, GitLab, GitHub reporters) read: one testsuite per runbook, one
// testcase per step or per target of a fanned-out step.
type (
	junitTestsuites struct {
		XMLName  xml.Name         `xml:"testsuites"`
		Name     string           `xml:"name,attr"`
		Tests    int              `xml:"tests,attr"`
		Failures int              `xml:"failures,attr"`
		Errors   int              `xml:"errors,attr"`
		Time     string           `xml:"time,attr"`
		Suites   []junitTestsuite `xml:"testsuite"`
	}
	junitTestsuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Hostname   string          `xml:"hostname,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitTestcase `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitTestcase struct {
		Classname string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitFailure `xml:"failure"`
		Error     *junitFailure `xml:"error"`
		Skipped   *junitSkipped `xml:"skipped"`
		SystemOut string        `xml:"system-out,omitempty"`
		SystemErr string        `xml:"system-err,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
)

// The type attribute of JUnit failures and errors.
const (
	junitTypeStep        = "StepFailed"      // the step's action failed
	junitTypeAssertion   = "AssertionFailed" // the action succeeded, an assertion did not hold
	junitTypeInterrupted = "Interrupted"     // the step was cut short by a signal
	junitTypeTimeout     = "Timeout"         // a timeout (the step's or the run's) cut it short
	junitTypeCluster     = "ClusterError"    // the cluster refused or failed the step's request
	junitTypeRun         = "RunFailed"       // the run failed outside any step
)

// RenderJUnit writes r as JUnit XML with encoding/xml: a <testsuites> with
// one <testsuite> named after the runbook, carrying <properties> (run id,
// context, namespace, ...), and a <testcase> per step named "NN name" (per
// target of a fanned-out step: "NN name [target]"). A failed step carries a
// <failure> with its error and its failed assertions and their values; a
// step a timeout cut short (type Timeout), whose request the cluster
// refused or failed (type ClusterError) or a signal interrupted (type
// Interrupted) an <error>, as JUnit tells a test that could not finish from
// one whose checks failed; a skipped step <skipped/>. Output goes to
// <system-out> and <system-err>; system-out ends with a line
// [[ATTACHMENT|PATH]] per file the step wrote. When the run did not pass
// but no step says why (the cluster could not be used, a timeout between
// steps), a testcase named "run" carries the run's error, so that CI never
// shows such a run as green: a <failure> when the run failed (cleanup could
// not delete something), an <error> when it could not run, was interrupted
// or timed out.
func RenderJUnit(w io.Writer, r *Result) error {
	if r == nil {
		return errors.New("no result to render")
	}
	suite := junitTestsuite{
		Name:      printable(r.Runbook.Name),
		Time:      junitSeconds(r.Duration),
		Timestamp: r.StartedAt.UTC().Format(time.RFC3339),
		Hostname:  printable(r.Host),
		Properties: []junitProperty{
			{"runId", r.RunID},
			{"context", r.Cluster.Context},
			{"server", r.Cluster.Server},
			{"serverVersion", r.Cluster.ServerVersion},
			{"namespace", r.Namespace},
			{"runbookFile", r.Runbook.File},
			{"runbookDigest", r.Runbook.Digest},
			{"verdict", string(r.Verdict)},
			{"user", r.User},
			{"tool", r.Tool},
		},
	}
	for _, w := range r.Warnings {
		suite.Properties = append(suite.Properties, junitProperty{"warning", w})
	}
	suite.Properties = slices.DeleteFunc(suite.Properties, func(p junitProperty) bool { return p.Value == "" })
	for i := range suite.Properties {
		suite.Properties[i].Value = printable(suite.Properties[i].Value)
	}
	stepFailed := false
	for _, l := range leaves(r) {
		tc := junitTestcase{
			Classname: printable(r.Runbook.Name),
			Name:      printable(fmt.Sprintf("%02d %s", l.index(), l.title())),
			Time:      junitSeconds(l.step.Duration),
			SystemOut: printable(junitAttachments(defuseAttachments(l.step.Stdout), r.ArtifactDir, l.step)),
			SystemErr: printable(defuseAttachments(l.step.Stderr)),
		}
		switch l.step.Status {
		case StatusFailed:
			stepFailed = true
			f := junitFailureOf(l.step)
			if l.step.TimedOut || l.step.ClusterError {
				suite.Errors++
				f.Type = junitTypeTimeout
				if !l.step.TimedOut {
					f.Type = junitTypeCluster
				}
				tc.Error = f
				break
			}
			suite.Failures++
			tc.Failure = f
		case StatusInterrupted:
			stepFailed = true
			suite.Errors++
			f := junitFailureOf(l.step)
			f.Type = junitTypeInterrupted
			tc.Error = f
		case StatusSkipped:
			suite.Skipped++
			tc.Skipped = &junitSkipped{Message: printable(l.step.SkipReason)}
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if r.Verdict != VerdictPassed && !stepFailed {
		msg := r.Error
		if msg == "" {
			msg = "run " + string(r.Verdict)
		}
		msg = printable(msg)
		f := &junitFailure{Message: msg, Type: junitTypeRun, Text: msg}
		tc := junitTestcase{Classname: printable(r.Runbook.Name), Name: "run", Time: junitSeconds(r.Duration)}
		if r.TimedOut {
			f.Type = junitTypeTimeout
		}
		if r.Verdict == VerdictFailed && !r.TimedOut {
			tc.Failure = f
			suite.Failures++
		} else {
			tc.Error = f
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitTestsuites{
		Name:     printable(r.Runbook.Name),
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Errors:   suite.Errors,
		Time:     suite.Time,
		Suites:   []junitTestsuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encoding the result as JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitFailureOf describes why s failed: its error, then each failed
// assertion with the values of its parts.
func junitFailureOf(s *StepResult) *junitFailure {
	f := &junitFailure{Type: junitTypeAssertion}
	var text strings.Builder
	if s.Error != "" {
		f.Type = junitTypeStep
		f.Message = s.Error
		fmt.Fprintf(&text, "error: %s\n", s.Error)
	}
	for _, a := range s.Assertions {
		if a.Passed {
			continue
		}
		if f.Message == "" {
			f.Message = "assertion failed: " + assertionTitle(a)
		}
		fmt.Fprintf(&text, "assertion failed: %s\n", assertionTitle(a))
		if a.Error != "" {
			fmt.Fprintf(&text, "  error: %s\n", a.Error)
		}
		for _, v := range a.Values {
			fmt.Fprintf(&text, "  %s = %s\n", v.Expr, v.Value)
		}
	}
	if f.Message == "" {
		f.Message = "step " + string(s.Status)
	}
	// Control characters: shown as \xNN (as the other formats do) rather
	// than left to encoding/xml, which makes those XML 1.0 forbids U+FFFD
	// and writes the others (DEL, C1) as they are.
	f.Message, f.Text = printable(f.Message), printable(text.String())
	return f
}

// assertionTitle names an assertion: its message and expression, or the
// expression alone.
func assertionTitle(a Assertion) string {
	if a.Message != "" {
		return a.Message + " (" + a.Expr + ")"
	}
	return a.Expr
}

// junitSeconds renders a duration as JUnit's time attribute: seconds with
// millisecond precision.
func junitSeconds(s Seconds) string {
	return fmt.Sprintf("%.3f", s.Duration().Seconds())
}

// attachmentMarker is how Jenkins' JUnit Attachments plugin finds a file to
// attach in system-out and system-err: [[ATTACHMENT|PATH]] anywhere in a
// line (its pattern is \[\[ATTACHMENT\|.+]]).
const attachmentMarker = "[[ATTACHMENT|"

// defuseAttachments breaks every attachment marker in text that comes from
// a step (its stdout, its stderr) as "[ [ATTACHMENT|": the plugin attaches
// any file of the agent a marker names, so a container that printed
// [[ATTACHMENT|/var/lib/jenkins/secrets/master.key]] would make CI publish
// that file. Only the lines junitAttachments adds, for the files the step
// really wrote, may read as markers. The word is matched in any case, and
// so are the letters Unicode case-folds onto it (ı, ſ, K), in case the
// plugin matches it without regard to case. The text is read once.
func defuseAttachments(text string) string {
	var b strings.Builder
	done := 0
	for i := 0; ; {
		j := strings.Index(text[i:], "[[")
		if j < 0 {
			break
		}
		i += j
		if isAttachmentWord(text[i+2:]) {
			if b.Len() == 0 {
				b.Grow(len(text) + 8)
			}
			b.WriteString(text[done : i+1])
			b.WriteByte(' ')
			done = i + 1
		}
		i++
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// isAttachmentWord reports whether s starts with ATTACHMENT| in any case.
func isAttachmentWord(s string) bool {
	for _, want := range attachmentMarker[2:] {
		c, n := utf8.DecodeRuneInString(s)
		if n == 0 || !foldsTo(c, want) {
			return false
		}
		s = s[n:]
	}
	return true
}

// foldsTo reports whether c is want (an ASCII letter or |) in some case,
// as a case-insensitive Java or Go pattern would match it.
func foldsTo(c, want rune) bool {
	if c == want || unicode.ToUpper(c) == want || unicode.ToLower(c) == unicode.ToLower(want) {
		return true
	}
	for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
		if f == want || f == unicode.ToLower(want) {
			return true
		}
	}
	return false
}
