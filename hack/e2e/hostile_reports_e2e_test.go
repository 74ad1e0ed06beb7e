//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	"golang.org/x/net/html/atom"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

// hostileText is what an annotation or a log line may hold to break a
// report out of its structure: fences longer than the report's, the end of
// its <details>, live HTML, a table row, a heading, a list, a bidi
// override, an escape sequence, a CR.
const hostileText = "````\n</details>\n<script>alert(1)</script>\n| a | b |\n# heading\n- item\n\u202eevil\x1b[2J\r\nend"

// TestReportsHostileClusterContent runs a runbook against a pod that
// already exists, whose annotation and log hold hostileText (and invalid
// UTF-8), and whose env holds a Secret's value the runbook never names:
// it reads the log, dumps the pod (get), enters it with an ephemeral
// container that prints the app's environment from /proc/1/environ, and
// asserts on the Secret's (base64) value, and fails a local step whose stderr holds a
// secret var. The
// Markdown report keeps its structure on GitHub's parser, the JUnit parses
// as XML 1.0 with counts that match its testcases, the JSON has RFC 3339
// times, and no report, nor the terminal, holds either secret in any form.
func TestReportsHostileClusterContent(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-hostile-report-")
	token := fmt.Sprintf("app-token-%d-Zq9xRb", os.Getpid())
	apiKey := fmt.Sprintf("api-key-%d-Wp3mVc", os.Getpid())
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if _, err := c.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "app-creds"},
		StringData: map[string]string{"TOKEN": token},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	script := `printf 'token=%s\n' "$TOKEN"; printf '%s\n' "$HOSTILE"; printf 'bad \377\376 utf8\n'; exec sleep 3600`
	zero := int64(0)
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{"e2e/hostile": hostileText}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &zero,
			Containers: []corev1.Container{{
				Name: "app", Image: "busybox:1.36", Command: []string{"sh", "-c", script},
				Env: []corev1.EnvVar{
					{Name: "HOSTILE", Value: hostileText},
					{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "app-creds"}, Key: "TOKEN"}}},
				},
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitForPod(ctx, ns, "app", podReady); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hostile.yaml")
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: hostile-report}
spec:
  timeout: 3m
  vars: {apiKey: ""}
  secretVars: [apiKey]
  steps:
  - id: logs
    name: The app's log
    logs: {pod: app}
    continueOnError: true
    assert:
    - that: stdout contains "never printed"
      message: "the log </details> | ` + "```" + ` says so"
  - id: get
    name: The pod with its annotation
    get: {kind: Pod, name: app}
  - id: secret
    name: The Secret, its value asserted
    get: {kind: Secret, name: app-creds}
    continueOnError: true
    assert: ['object.data.TOKEN == "x"']
  - id: environ
    name: The app's environment, seen from a debugger
    debug: {pod: app, image: busybox:1.36, target: app, command: [sh, -c, "tr '\\0' '\\n' < /proc/1/environ"]}
    assert: ['stdout contains "TOKEN="']
  - id: local
    name: A command that prints its key and fails
    continueOnError: true
    local:
      shell: 'echo "key is $KEY" >&2; exit 2'
      env: [{name: KEY, value: "${{ vars.apiKey }}"}]
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", file, "-n", ns, "--var", "apiKey=" + apiKey}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if run.code != 1 || res.Verdict != report.VerdictFailed {
		t.Fatalf("exit %d, verdict %s; want 1, failed (the log's assertion and the local step)\n%s\n%s", run.code, res.Verdict, run, describeSteps(res))
	}
	for id, want := range map[string]report.Status{"logs": report.StatusFailed, "get": report.StatusPassed, "secret": report.StatusFailed, "environ": report.StatusPassed, "local": report.StatusFailed} {
		if s := stepByID(t, res, id); s.Status != want {
			t.Errorf("step %s: %s, want %s\n%s", id, s.Status, want, describeSteps(res))
		}
	}
	// The secrets were there to leak, and were redacted.
	if s := stepByID(t, res, "logs"); !strings.Contains(s.Stdout, "token="+report.Redacted) || !strings.Contains(s.Stdout, "</details>") {
		t.Errorf("the log is not shown redacted and whole:\n%s", s.Stdout)
	}
	if s := stepByID(t, res, "environ"); !strings.Contains(s.Stdout, "TOKEN="+report.Redacted) {
		t.Errorf("the environment from /proc/1/environ is not redacted:\n%s", s.Stdout)
	}
	if s := stepByID(t, res, "local"); !strings.Contains(s.Stderr, "key is "+report.Redacted) {
		t.Errorf("the local step's stderr is not redacted:\n%s", s.Stderr)
	}
	if s := stepByID(t, res, "secret"); len(s.Assertions) != 1 || len(s.Assertions[0].Values) == 0 || !strings.Contains(s.Assertions[0].Values[0].Value, report.Redacted) {
		t.Errorf("the Secret's base64 value in the assertion is not redacted: %+v", s.Assertions)
	}
	forms := leakForms(token, apiKey)
	for where, path := range map[string]string{"the JSON result": p.json, "the Markdown report": p.md, "the JUnit report": p.junit, "the table report": p.table} {
		checkNoLeak(t, where, readFile(t, path), forms)
	}
	checkNoLeak(t, "the table on stdout", []byte(run.stdout), forms)
	checkNoLeak(t, "the progress on stderr", []byte(run.stderr), forms)

	// Markdown: the structure the renderer meant, whatever the cluster said.
	doc := markdownHTML(t, readFile(t, p.md))
	for tag, want := range map[atom.Atom]int{atom.H1: 1, atom.Script: 0} {
		if got := len(elements(doc, tag)); got != want {
			t.Errorf("the Markdown report has %d <%s>, want %d", got, tag, want)
		}
	}
	h2 := elementTexts(doc, atom.H2)
	if want := "What failed|Summary|Steps|Cleanup|Timeline"; strings.Join(h2, "|") != want {
		t.Errorf("the Markdown report's sections are %q, want %q", strings.Join(h2, "|"), want)
	}
	if rows := tableRows(doc, "Step"); len(rows) != 5 {
		t.Errorf("the summary table has %d rows, want 5: %q", len(rows), rows)
	}
	found := false
	for _, code := range codeTexts(doc) {
		found = found || (strings.Contains(code, "</details>\n<script>alert(1)</script>\n| a | b |\n# heading") && strings.Contains(code, "token=***"))
	}
	if !found {
		t.Error("the Markdown report does not show the log, hostile lines and all, in a code block")
	}

	// JUnit: XML 1.0 that CI tools read, counts matching the testcases.
	raw := readFile(t, p.junit)
	var x struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Errors   int `xml:"errors,attr"`
			Skipped  int `xml:"skipped,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &x); err != nil {
		t.Fatalf("the JUnit report is not XML: %v", err)
	}
	suites, err := junit.Ingest(raw)
	if err != nil || len(suites) != 1 {
		t.Fatalf("go-junit read %d suites: %v", len(suites), err)
	}
	tot := suites[0].Totals
	if tot.Tests != 5 || tot.Failed != 3 || tot.Error != 0 || x.Suites[0].Tests != 5 || x.Suites[0].Failures != 3 || x.Suites[0].Errors != 0 {
		t.Errorf("JUnit counts: go-junit %+v, attributes %+v; want 5 tests, 3 failures", tot, x.Suites[0])
	}

	// JSON: times in RFC 3339, UTC.
	var j struct {
		StartedAt, FinishedAt string
		Steps                 []struct{ StartedAt, FinishedAt string }
	}
	if err := json.Unmarshal(readFile(t, p.json), &j); err != nil {
		t.Fatal(err)
	}
	stamps := []string{j.StartedAt, j.FinishedAt}
	for _, s := range j.Steps {
		stamps = append(stamps, s.StartedAt, s.FinishedAt)
	}
	for _, s := range stamps {
		if ts, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") || ts.IsZero() {
			t.Errorf("time %q is not RFC 3339 in UTC: %v", s, err)
		}
	}
}
