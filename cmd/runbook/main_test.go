package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	// A server that refuses connections: every command that talks to the
	// cluster says it cannot be used, exit 3.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down := []string{"--server", gone.URL, "--kubeconfig", "/dev/null"}
	tests := []struct {
		args    []string
		code    int
		errPart string
	}{
		{[]string{"frobnicate"}, exitInvalid, `unknown command "frobnicate"`},
		{[]string{"plan"}, exitInvalid, "expected one runbook file, got 0 arguments"},
		{[]string{"plan", "--output", "xml", "../../examples/distroless.yaml"}, exitInvalid, `--output "xml": use text, yaml or json`},
		{[]string{"run", "--report", "pdf=x.pdf", "../../examples/distroless.yaml"}, exitInvalid, `--report "pdf=x.pdf"`},
		{[]string{"run", "--report", "md", "../../examples/distroless.yaml"}, exitInvalid, "expected FORMAT=PATH"},
		{[]string{"run", "--var", "nope", "../../examples/distroless.yaml"}, exitInvalid, `--var "nope": expected NAME=VALUE`},
		// A mistyped NAME:VALUE is not repeated: the value may be a secret.
		{[]string{"run", "--var", "pw:hunter2secret", "../../examples/distroless.yaml"}, exitInvalid, `--var "pw:…": expected NAME=VALUE`},
		{[]string{"run", "--timeout", "2562047h47m16s", "../../examples/distroless.yaml"}, exitInvalid, `is more than the maximum of 168h`},
		// Found before the run, not after it.
		{[]string{"run", "--report", "md=main_test.go/r.md", "../../examples/distroless.yaml"}, exitInvalid, `--report "md=main_test.go/r.md": main_test.go is not a directory`},
		{[]string{"run", "--report", "md=main_test.go/sub/r.md", "../../examples/distroless.yaml"}, exitInvalid, `--report "md=main_test.go/sub/r.md": main_test.go is not a directory`},
		{[]string{"run", "--report", "json=testdata", "../../examples/distroless.yaml"}, exitInvalid, `--report "json=testdata": is a directory`},
		{append([]string{"run", "--artifacts", "main_test.go/files", "../../examples/cp.yaml"}, down...), exitInvalid, `--artifacts "main_test.go/files": main_test.go is not a directory`},
		{append([]string{"run", "--artifacts", "main_test.go", "../../examples/cp.yaml"}, down...), exitInvalid, `--artifacts "main_test.go": main_test.go is not a directory`},
		// Two reports to one file: one would overwrite the other.
		{[]string{"run", "--report", "md=testdata/r.out", "--report", "json=./testdata/../testdata/r.out", "../../examples/distroless.yaml"}, exitInvalid, `--report "json=./testdata/../testdata/r.out": ./testdata/../testdata/r.out is already the path of --report md=testdata/r.out`},
		{[]string{"run", "--timeout", "-5s", "../../examples/distroless.yaml"}, exitInvalid, `invalid argument "-5s" for "--timeout" flag: must be greater than 0; omit the flag for spec.timeout (default 10m)`},
		{[]string{"run", "--timeout", "0", "../../examples/distroless.yaml"}, exitInvalid, `invalid argument "0" for "--timeout" flag: must be greater than 0; omit the flag for spec.timeout (default 10m)`},
		{[]string{"run", "--timeout", "soon", "../../examples/distroless.yaml"}, exitInvalid, `invalid argument "soon" for "--timeout" flag: not a duration (use 30s, 5m, 1h30m)`},
		{[]string{"run", "--keep-results", "0", "../../examples/distroless.yaml"}, exitInvalid, "--keep-results 0: keep at least 1"},
		{[]string{"job", "--keep-results", "-1", "../../examples/distroless.yaml"}, exitInvalid, "--keep-results -1: keep at least 1"},
		{[]string{"run", "--kubeconfig", "/nonexistent/kubeconfig", "../../examples/distroless.yaml"}, exitCluster, "cannot use the cluster"},
		{append([]string{"run", "../../examples/distroless.yaml"}, down...), exitCluster, "cannot be used"},
		{append([]string{"plan", "--preflight", "../../examples/distroless.yaml"}, down...), exitCluster, "plan --preflight: the cluster at " + gone.URL + " (--server) cannot be used"},
		{append([]string{"cleanup", "-n", "x"}, down...), exitCluster, "connection refused"},
		{append([]string{"results"}, down...), exitCluster, "connection refused"},
		{append([]string{"results", "show", "r-1"}, down...), exitCluster, "connection refused"},
		{append([]string{"job", "--apply", "../../examples/distroless.yaml"}, down...), exitCluster, "connection refused"},
		{[]string{"rbac", "testdata/missing.yaml"}, exitInvalid, "no such file or directory"},
		{[]string{"report", "testdata/missing.json"}, exitInvalid, "no such file or directory"},
		{[]string{"job", "testdata/missing.yaml"}, exitInvalid, "no such file or directory"},
		{[]string{"cleanup", "extra"}, exitInvalid, "takes no arguments"},
		// A run id no run can have is the command line's fault, before any request.
		{append([]string{"cleanup", "--run-id", "Bad\x1bID"}, down...), exitInvalid, `--run-id "Bad\x1bID": must be at most 40 lowercase letters`},
		{[]string{"validate", "testdata/missing.yaml"}, exitInvalid, "no such file or directory"},
		{[]string{"plan", "--no-such-flag", "x"}, exitInvalid, "unknown flag: --no-such-flag"},
		{[]string{"version"}, exitPassed, ""},
		// report renders a result: done, whatever the run's verdict.
		{[]string{"report", "-o", "junit", "../../report/testdata/failed.json.golden"}, exitPassed, ""},
		{[]string{"report", "-o", "md", "../../report/testdata/error.json.golden"}, exitPassed, ""},
		{[]string{"report", "../../README.md"}, exitInvalid, "not a runbook result"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.errPart) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.errPart)
			}
		})
	}
}

// TestUnstartedRunListsItsSteps: a run whose cluster cannot be used still
// lists every step of the runbook, skipped, in its JUnit report (beside the
// run's error), so that a CI dashboard sees the same test cases as on a run
// that started.
func TestUnstartedRunListsItsSteps(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	out := filepath.Join(t.TempDir(), "r.xml")
	code, _, stderr := run(t, "run", "-o", "none", "--report", "junit="+out, "--server", gone.URL, "--kubeconfig", "/dev/null", "../../examples/distroless.yaml")
	if code != exitCluster {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitCluster, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Skipped *struct{} `xml:"skipped"`
			Error   *struct{} `xml:"error"`
		} `xml:"testsuite>testcase"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var skipped, errored []string
	for _, c := range doc.Cases {
		switch {
		case c.Skipped != nil:
			skipped = append(skipped, c.Name)
		case c.Error != nil:
			errored = append(errored, c.Name)
		}
	}
	// examples/distroless.yaml: the pod, a group of four, the exec in the copy.
	if len(skipped) != 6 || len(errored) != 1 || errored[0] != "run" || skipped[0] != "01 Create a pod with no shell" {
		t.Errorf("skipped %q, errors %q; want the 6 steps skipped and the run's error", skipped, errored)
	}
}

// TestValidateGolden checks the one-line-per-problem output and exit 2.
func TestValidateGolden(t *testing.T) {
	code, stdout, stderr := run(t, "validate", "../../runbook/testdata/bad.yaml", "../../examples/distroless.yaml")
	if code != exitInvalid {
		t.Errorf("exit %d, want 2", code)
	}
	if stdout != "../../examples/distroless.yaml: ok\n" {
		t.Errorf("stdout %q", stdout)
	}
	golden := "testdata/validate-bad.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(stderr), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// TestPlanWithoutCluster runs plan with no usable kubeconfig and checks the
// three modes' objects, the privileged flags and the RBAC rules.
func TestPlanWithoutCluster(t *testing.T) {
	noKubeconfig(t)
	code, out, stderr := run(t, "plan", "../../examples/distroless.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"PATCH pods/ephemeralcontainers default/noshell (application/strategic-merge-patch+json)",
		"targetContainerName: app",
		"shareProcessNamespace: true",
		"name: debugger",
		"kubectl debug noshell -n default --copy-to=noshell-dbg --image=busybox:1.36 -c debugger --profile=general --share-processes -- sleep 3600",
		"!! privileged: hostPID",
		"mountPath: /host",
		"path: /",
		"- operator: Exists",
		"restartPolicy: Never",
		"pods/ephemeralcontainers     group \"\"     verbs patch",
		"pods/exec                    group \"\"     verbs create",
		"pods/log                     group \"\"     verbs get",
		"nodes                        group \"\"     verbs get",
		"pods                         group \"\"     verbs create,delete,get,list,watch",
		"delete pod default/noshell-dbg",
		"cannot be removed: ephemeral container \"debugger\" stays in pod default/noshell",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	code, out, _ = run(t, "plan", "-o", "json", "../../examples/distroless.yaml")
	var p struct {
		Steps []struct {
			Kind string
			Plan struct {
				Calls []struct{ Verb, Resource string }
			}
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Steps) != 6 || p.Steps[2].Plan.Calls[1].Verb != "patch" {
		t.Errorf("plan -o json: exit %d, %+v", code, p)
	}
}

func TestRBAC(t *testing.T) {
	code, out, stderr := run(t, "rbac", "../../examples/distroless.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kind: Role", "namespace: default", "- pods/ephemeralcontainers", "kind: ClusterRole", "- nodes"} {
		if !strings.Contains(out, want) {
			t.Errorf("rbac lacks %q:\n%s", want, out)
		}
	}
}

// TestRBACVars: the rules follow the plan of the runbook with the vars the
// runs will set. The Service incident runbook reads its Service by a var:
// get services with it, list services (the plan of an empty name) without.
func TestRBACVars(t *testing.T) {
	rule := func(out, verb string) bool {
		return strings.Contains(out, "  - services\n  verbs:\n  - "+verb+"\n")
	}
	code, out, stderr := run(t, "rbac", "--var", "service=web", "--var", "client=c", "../../examples/incidents/service.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !rule(out, "get") || rule(out, "list") {
		t.Errorf("rbac --var service=web: want get services and no list:\n%s", out)
	}
	code, out, stderr = run(t, "rbac", "../../examples/incidents/service.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !rule(out, "list") {
		t.Errorf("rbac without --var: want list services (the plan of an empty name):\n%s", out)
	}
	if code, _, stderr = run(t, "rbac", "--var", "novalue", "../../examples/incidents/service.yaml"); code != 2 {
		t.Errorf("rbac --var novalue: exit %d, want 2: %s", code, stderr)
	}
}

func TestSchemaCommand(t *testing.T) {
	for _, args := range [][]string{{"schema"}, {"schema", "--result"}} {
		code, out, _ := run(t, args...)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["$schema"] == nil {
			t.Errorf("%v: exit %d, not a JSON Schema", args, code)
		}
	}
}

// TestReportToSpecialFiles checks that a report is written into a FIFO (or
// a device: /dev/stdout) and through a symbolic link, not renamed over
// them: the FIFO stays a FIFO and its reader gets the report, the link
// stays a link and its target gets the report.
func TestReportToSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		// Opening for reading waits for the writer, as a reader of
		// --report md=>(cat) does.
		data, _ := os.ReadFile(fifo)
		got <- data
	}()
	if code, _, stderr := run(t, "report", "-o", "md", "--to", fifo, "../../report/testdata/failed.json.golden"); code != exitPassed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		// Its reader waits for a writer that will never come.
		t.Fatalf("the FIFO was replaced: %v, %v", fi.Mode(), err)
	}
	if data := <-got; !strings.Contains(string(data), "# Runbook") {
		t.Errorf("the FIFO's reader got %q, want the Markdown report", data)
	}

	target := filepath.Join(dir, "target.md")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.md")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "report", "-o", "md", "--to", link, "../../report/testdata/failed.json.golden"); code != exitPassed {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v, %v", fi.Mode(), err)
	}
	if data, err := os.ReadFile(target); err != nil || !strings.Contains(string(data), "# Runbook") {
		t.Errorf("the link's target holds %q (%v), want the Markdown report", data, err)
	}
}

// failingWriter is standard output that cannot be written (a full disk).
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestValidateOutput: the "FILE: ok" line shows a file name's control
// characters escaped, as load problems do, and an output that cannot be
// written fails the command.
func TestValidateOutput(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a\x1b]0;owned\x07b.yaml")
	data, err := os.ReadFile("../../examples/distroless.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "validate", name)
	if want := filepath.Join(dir, `a\x1b]0;owned\ab.yaml`) + ": ok\n"; code != exitPassed || stdout != want {
		t.Errorf("exit %d, stdout %q (stderr %q); want 0 and %q", code, stdout, stderr, want)
	}
	var errb bytes.Buffer
	if code := execute([]string{"validate", "../../examples/distroless.yaml"}, failingWriter{}, &errb); code == exitPassed || !strings.Contains(errb.String(), "writing standard output: no space left on device") {
		t.Errorf("exit %d, stderr %q; want a failure that says standard output could not be written", code, errb.String())
	}
}
