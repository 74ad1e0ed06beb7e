//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

// hostileValues are Secret values that once leaked: a password with a
// quote, a backslash, a line break and non-ASCII text; a PEM private key;
// a JSON credential.
func hostileValues(t *testing.T) (password, pemKey, cred string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	return "p@ss\"w0rd\\e2e\nsecond-line ünïcødé ✓", pemKey, `{"token":"e2e-cred-token-` + strconv.Itoa(os.Getpid()) + `-abcdef","user":"bot"}`
}

// leakForms lists what no output may hold of each value: the value, and
// each of its lines of at least report.MinSecretLength bytes (PEM armour
// aside) and each string of a JSON value, raw, Go-quoted, JSON-escaped,
// XML-escaped and in base64 (standard and URL, with and without padding).
func leakForms(values ...string) map[string]string {
	out := map[string]string{}
	var add func(what, v string, split bool)
	add = func(what, v string, split bool) {
		if len(v) < report.MinSecretLength {
			return
		}
		q := strconv.Quote(v)
		j, _ := json.Marshal(v)
		var x bytes.Buffer
		_ = xml.EscapeText(&x, []byte(v))
		for name, f := range map[string]string{
			"raw": v, "quoted": q[1 : len(q)-1], "json": string(j[1 : len(j)-1]), "xml": x.String(),
			"base64": base64.StdEncoding.EncodeToString([]byte(v)), "base64url": base64.URLEncoding.EncodeToString([]byte(v)),
			"base64 unpadded": base64.RawStdEncoding.EncodeToString([]byte(v)),
		} {
			if len(f) >= report.MinSecretLength {
				out[f] = what + " " + name
			}
		}
		if !split {
			return
		}
		for i, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
				add(what+" line "+strconv.Itoa(i+1), line, false)
			}
		}
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) == nil {
			for k, e := range m {
				if s, ok := e.(string); ok && len(s) >= 8 {
					add(what+" ."+k, s, false)
				}
			}
		}
	}
	for i, v := range values {
		add("value "+strconv.Itoa(i+1), v, true)
	}
	return out
}

// checkNoLeak fails for each form found in out.
func checkNoLeak(t *testing.T, where string, out []byte, forms map[string]string) {
	t.Helper()
	for f, what := range forms {
		if bytes.Contains(out, []byte(f)) {
			t.Errorf("%s holds %s: %q", where, what, f)
		}
	}
}

// yamlString is s as a double-quoted YAML scalar on one line.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestRedactHostileSecrets runs a runbook that creates a Secret holding a
// quoted password, a PEM key and a JSON credential and a pod whose env
// comes from it (envFrom), reads the Secret with a get step, runs env in
// the pod and fails an assertion on its output: the four reports, the
// table printed at the end and the live progress on stderr hold none of
// the values in any form, and the run cleans up.
func TestRedactHostileSecrets(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-redact-")
	password, pemKey, cred := hostileValues(t)
	file := filepath.Join(t.TempDir(), "secrets.yaml")
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: hostile-secrets}
spec:
  timeout: 4m
  steps:
  - name: Make the Secret
    apply:
      manifest: |
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData:
          PASSWORD: ` + yamlString(password) + `
          TLS_KEY: ` + yamlString(pemKey) + `
          CRED_JSON: ` + yamlString(cred) + `
  - name: A pod whose env comes from it
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: app}
        spec:
          terminationGracePeriodSeconds: 0
          containers:
          - name: app
            image: busybox:1.36
            command: [sleep, "3600"]
            envFrom: [{secretRef: {name: creds}}]
      waitFor: Ready
  - id: read
    name: Read the Secret
    get: {kind: Secret, name: creds}
    assert: [object.data.PASSWORD != ""]
  - id: env
    name: Print the pod's environment
    exec: {pod: app, container: app, command: [env]}
    assert:
    - stdout contains "PATH="
    - stdout contains "nope"
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", file, "-n", ns}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if run.code != 1 || res.Verdict != report.VerdictFailed {
		t.Fatalf("exit %d, verdict %s; want 1, failed (the assertion on the value)\n%s\n%s", run.code, res.Verdict, run, describeSteps(res))
	}
	env := stepByID(t, res, "env")
	if env.Status != report.StatusFailed || len(env.Assertions) != 2 || !env.Assertions[0].Passed || env.Assertions[1].Passed {
		t.Errorf("the exec step should fail only its second assertion:\n%s", describeSteps(res))
	}
	if !strings.Contains(env.Stdout, "PATH=") || !strings.Contains(env.Stdout, "PASSWORD="+report.Redacted) {
		t.Errorf("env output over- or under-redacted:\n%s", env.Stdout)
	}
	for _, d := range res.Cleanup.Deletions {
		if d.Outcome != report.OutcomeDeleted {
			t.Errorf("cleanup: %s %s/%s %s %s", d.Kind, d.Namespace, d.Name, d.Outcome, d.Error)
		}
	}
	forms := leakForms(password, pemKey, cred)
	for where, path := range map[string]string{"the JSON result": p.json, "the Markdown report": p.md, "the JUnit report": p.junit, "the table report": p.table} {
		checkNoLeak(t, where, readFile(t, path), forms)
	}
	checkNoLeak(t, "the table on stdout", []byte(run.stdout), forms)
	checkNoLeak(t, "the progress on stderr", []byte(run.stderr), forms)
	// The env was shown as it came, the Secret's values already redacted.
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\dZ    │ PASSWORD=\*\*\*$`).MatchString(run.stderr) {
		t.Errorf("the live progress does not show the env line PASSWORD=***:\n%s", run.stderr)
	}
}

// TestRedactUnreadableSecrets runs, as a ServiceAccount holding what
// `runbook rbac` prints, env in a pod the runbook did not make, whose env
// comes from a Secret the account may not read: the run passes, the
// NAME=value lines of those variables are masked, the values appear
// nowhere, and the result warns that the Secret's values were not checked.
func TestRedactUnreadableSecrets(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-unread-")
	password, _, _ := hostileValues(t)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if _, err := c.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hidden"},
		StringData: map[string]string{"password": password, "API_KEY": "api-key-0123456789"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	grace := int64(0)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "holder"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "hidden"}, Key: "password"}}}},
			EnvFrom: []corev1.EnvFromSource{{Prefix: "X_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "hidden"}}}},
		}}}}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.waitForPod(ctx, ns, "holder", podReady); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "unreadable.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: unreadable}
spec:
  steps:
  - id: env
    exec: {pod: holder, container: app, command: [env]}
    assert: [stdout contains "DB_PASSWORD="]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, "rbac", file, "-n", ns, "--service-account", "runner")
	if out.code != 0 {
		t.Fatalf("rbac: %s", out)
	}
	if strings.Contains(out.stdout, "secrets") {
		t.Errorf("rbac grants secrets for a pod whose Secrets it cannot name:\n%s", out.stdout)
	}
	c.applyAll(t, ctx, out.stdout)
	kubeconfig := c.serviceAccountKubeconfig(t, ns, "runner")
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", file, "-n", ns, "--kubeconfig", kubeconfig}, p.flags()...)...)
	res := readResult(t, p.json)
	if run.code != 0 {
		t.Fatalf("run as the ServiceAccount: %s\n%s", run, describeSteps(res))
	}
	stdout := stepByID(t, res, "env").Stdout
	for _, want := range []string{"DB_PASSWORD=" + report.Redacted, "X_API_KEY=" + report.Redacted, "PATH="} {
		if !strings.Contains(stdout, want) {
			t.Errorf("env output lacks %q:\n%s", want, stdout)
		}
	}
	w := strings.Join(res.Warnings, "\n")
	for _, want := range []string{"could not read Secret " + ns + "/hidden", "forbidden", "env DB_PASSWORD", "envFrom prefix X_"} {
		if !strings.Contains(w, want) {
			t.Errorf("the warnings do not say %q:\n%s", want, w)
		}
	}
	forms := leakForms(password, "api-key-0123456789")
	for where, path := range map[string]string{"the JSON result": p.json, "the Markdown report": p.md, "the JUnit report": p.junit, "the table report": p.table} {
		checkNoLeak(t, where, readFile(t, path), forms)
	}
	checkNoLeak(t, "the progress on stderr", []byte(run.stderr), forms)
	// Shown as it came: masked from the first line, and a note says why.
	for _, want := range []string{"    │ DB_PASSWORD=***\n", "    │ X_API_KEY=***\n", "    ! Secrets this step's pod references could not be read"} {
		if !strings.Contains(run.stderr, want) {
			t.Errorf("the live progress lacks %q:\n%s", want, run.stderr)
		}
	}
}

// TestRedactDerivedSecrets runs a debug step whose command holds values
// made from a secret var (--var): its upper-case form and a piece of it.
// The container prints them, an assertion shows one: no report, nor the
// table, nor the live progress holds either, and the text around them stays.
func TestRedactDerivedSecrets(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-e2e-derived-")
	token := "tok-" + strconv.Itoa(os.Getpid()) + "-derivedpiece-e2e"
	file := filepath.Join(t.TempDir(), "derived.yaml")
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: derived-secrets}
spec:
  timeout: 3m
  vars: {token: ""}
  secretVars: [token]
  steps:
  - name: A pod to debug
    apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: app}
        spec:
          terminationGracePeriodSeconds: 0
          containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
      waitFor: Ready
  - id: dbg
    name: Print values made from the token
    debug:
      pod: app
      image: busybox:1.36
      command: [sh, -c, 'echo "upper=${{ upper(vars.token) }} piece=${{ split(vars.token, "-")[2] }}"']
    assert:
    - stdout contains "upper="
    - lower(trim(stdout)) == "nothing"
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", file, "-n", ns, "--var", "token=" + token}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if run.code != 1 || res.Verdict != report.VerdictFailed {
		t.Fatalf("exit %d, verdict %s; want 1, failed (the second assertion)\n%s\n%s", run.code, res.Verdict, run, describeSteps(res))
	}
	dbg := stepByID(t, res, "dbg")
	if got := strings.TrimSpace(dbg.Stdout); got != "upper=*** piece=***" {
		t.Errorf("debug output %q, want upper=*** piece=***", got)
	}
	forms := leakForms(token, strings.ToUpper(token), "derivedpiece", strings.ToLower(strings.TrimSpace("upper="+strings.ToUpper(token)+" piece=derivedpiece")))
	for where, path := range map[string]string{"the JSON result": p.json, "the Markdown report": p.md, "the JUnit report": p.junit, "the table report": p.table} {
		checkNoLeak(t, where, readFile(t, path), forms)
	}
	checkNoLeak(t, "the table on stdout", []byte(run.stdout), forms)
	checkNoLeak(t, "the progress on stderr", []byte(run.stderr), forms)
}
