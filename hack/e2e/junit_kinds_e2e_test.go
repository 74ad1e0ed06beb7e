//go:build e2e

package e2e

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	junit "github.com/joshdk/go-junit"
)

// TestJUnitErrorsAndFailures runs, on the real cluster, steps that fail in
// each way a CI system tells apart, as an account with no rights and as
// the admin: what the cluster refused (forbidden) and what a timeout cut
// short are JUnit errors (an exec refused at its upgrade too); a pod that does not exist, a command that exits
// non-zero and an assertion that does not hold are failures. go-junit, as
// CI tools do, reads the statuses, and the counts match them.
func TestJUnitErrorsAndFailures(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-junit-")
	file := filepath.Join(t.TempDir(), "kinds.yaml")
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: junit-kinds}
spec:
  timeout: 2m
  steps:
  - name: get a pod
    get: {kind: Pod, name: web}
    continueOnError: true
  - name: logs of a pod
    logs: {pod: web}
    continueOnError: true
  - name: exec in a pod
    exec: {pod: web, container: app, command: ["true"]}
    continueOnError: true
  - name: slow
    timeout: 1s
    local: {command: [sleep, "30"]}
    continueOnError: true
  - name: exits 3
    local: {command: [sh, -c, "exit 3"]}
    continueOnError: true
  - name: asserts
    local: {command: [echo, hi]}
    assert: ['trim(stdout) == "bye"']
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who  string
		as   []string
		want []string
	}{
		{"an account without rights", []string{"--as", "system:serviceaccount:" + ns + ":nobody"},
			[]string{"error ClusterError", "error ClusterError", "error ClusterError", "error Timeout", "failed StepFailed", "failed AssertionFailed"}},
		{"the admin", nil,
			[]string{"failed StepFailed", "failed StepFailed", "failed StepFailed", "error Timeout", "failed StepFailed", "failed AssertionFailed"}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "junit.xml")
			run := runCLI(t, append([]string{"run", file, "-n", ns, "--report", "junit=" + out}, tc.as...)...)
			if run.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", run.code, run)
			}
			suites, err := junit.IngestFile(out)
			if err != nil || len(suites) != 1 {
				t.Fatalf("go-junit read %d suites: %v", len(suites), err)
			}
			var got []string
			errors, failures := 0, 0
			for _, tc := range suites[0].Tests {
				got = append(got, fmt.Sprintf("%s %s", tc.Status, tc.Error.(junit.Error).Type))
				switch tc.Status {
				case junit.StatusError:
					errors++
				case junit.StatusFailed:
					failures++
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("testcases (-want +got):\n%s", diff)
			}
			var attrs struct {
				Suite struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
					Errors   int `xml:"errors,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(readFile(t, out), &attrs); err != nil {
				t.Fatal(err)
			}
			if a := attrs.Suite; a.Tests != len(got) || a.Errors != errors || a.Failures != failures {
				t.Errorf("the testsuite says %d tests, %d failures, %d errors; its testcases are %d, %d, %d", a.Tests, a.Failures, a.Errors, len(got), failures, errors)
			}
		})
	}
}
