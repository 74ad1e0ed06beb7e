package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"os"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

// secretForms returns the forms no output may hold of each value: raw,
// Go-quoted, JSON-escaped, XML-escaped, base64 (standard and URL), for the
// value and each of its lines of at least 4 bytes (PEM armour aside).
func secretForms(values ...string) map[string]string {
	out := map[string]string{}
	var add func(what, v string)
	add = func(what, v string) {
		if len(v) < report.MinSecretLength {
			return
		}
		q := strconv.Quote(v)
		j, _ := json.Marshal(v)
		var x bytes.Buffer
		_ = xml.EscapeText(&x, []byte(v))
		for name, f := range map[string]string{"raw": v, "quoted": q[1 : len(q)-1], "json": string(j[1 : len(j)-1]), "xml": x.String(),
			"base64": base64.StdEncoding.EncodeToString([]byte(v)), "base64url": base64.URLEncoding.EncodeToString([]byte(v))} {
			out[f] = what + " " + name
		}
		if strings.Contains(v, "\n") {
			for i, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
					add(what+" line "+strconv.Itoa(i+1), line)
				}
			}
		}
	}
	for i, v := range values {
		add("secret "+strconv.Itoa(i+1), v)
	}
	return out
}

// TestRunProgressAndReportsLeakNothing runs a runbook whose secret vars
// hold hostile values (quotes, a backslash, line breaks, non-ASCII text, a
// PEM key, a JSON credential) and whose steps print them, fail assertions
// on them and fail a set with one in its error, with the live progress of
// `runbook run` (the lines CI keeps): neither the progress nor any report
// format holds a value in any form.
func TestRunProgressAndReportsLeakNothing(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	password := "pa\"ss\\wo\nrd-ünï ✓"
	cred := `{"token":"cred-token-0123456789abcdef"}`
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	src := "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: hostile}\nspec:\n  namespace: default\n" +
		"  vars: {password: " + q(password) + ", key: " + q(pemKey) + ", cred: " + q(cred) + "}\n" +
		`  secretVars: [password, key, cred]
  steps:
  - name: print them
    local: {command: [printf, "%s\n%s\n%s\n", "${{ vars.password }}", "${{ vars.key }}", "${{ vars.cred }}"]}
    assert: [stdout contains "nope"]
    continueOnError: true
  - name: encode them
    local:
      command: [sh, -c, 'printf "%s" "$P" | base64; printf "%s" "$K" | base64 -w0; echo "Authorization: Bearer $T"']
      env:
      - {name: P, value: "${{ vars.password }}"}
      - {name: K, value: "${{ vars.key }}"}
      - {name: T, value: literal-bearer-token-0123, secret: true}
    assert: [stdout == ""]
    continueOnError: true
  - name: a set that fails
    local: {command: ["true"]}
    set: {n: int(vars.cred)}
`
	rb, err := runbook.Parse("hostile.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	progress := newProgress(&stderr, outputAll)
	res := engine.Run(t.Context(), rb, engine.RunOptions{Clients: kube.NewClientsWith(fake.NewClientset(), nil, nil, "default"),
		RunID: "rb-hostile", Progress: progress})
	progress.Close()
	if res.Verdict != report.VerdictFailed || len(res.Steps) != 3 {
		t.Fatalf("verdict %s (%s), %d steps; want a failed run of 3 steps", res.Verdict, res.Error, len(res.Steps))
	}
	forms := secretForms(password, pemKey, cred, "cred-token-0123456789abcdef", "literal-bearer-token-0123")
	check := func(where string, out []byte) {
		for f, what := range forms {
			if bytes.Contains(out, []byte(f)) {
				t.Errorf("%s holds %s: %q", where, what, f)
			}
		}
	}
	check("the progress on stderr", stderr.Bytes())
	if !strings.Contains(stderr.String(), "running printf") {
		t.Errorf("the progress does not show the command line:\n%s", stderr.String())
	}
	for _, name := range report.Formats() {
		render, _ := report.Lookup(name)
		var out bytes.Buffer
		if err := render(&out, res); err != nil {
			t.Fatal(err)
		}
		check("the "+name+" report", out.Bytes())
	}
}

// TestPlanRedactsSecretVars: a plan renders templates, so it shows the
// values of vars; those of spec.secretVars, --var overrides included, are
// redacted in every output format.
func TestPlanRedactsSecretVars(t *testing.T) {
	file := t.TempDir() + "/plan.yaml"
	src := `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: plan-secrets}
spec:
  namespace: default
  vars: {password: placeholder, user: admin}
  secretVars: [password]
  steps:
  - local: {command: [psql, "postgres://${{ vars.user }}:${{ vars.password }}@db/app"]}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	password := "from-ci \"quoted\" \\ ü"
	forms := secretForms(password)
	for _, format := range []string{"text", "json", "yaml"} {
		code, stdout, stderr := run(t, "plan", file, "-o", format, "--var", "password="+password)
		if code != exitPassed {
			t.Fatalf("plan -o %s: exit %d: %s", format, code, stderr)
		}
		for f, what := range forms {
			if strings.Contains(stdout, f) {
				t.Errorf("plan -o %s holds %s: %q", format, what, f)
			}
		}
		if !strings.Contains(stdout, "admin:***@db") {
			t.Errorf("plan -o %s does not show the command with the password redacted:\n%s", format, stdout)
		}
	}
}

// TestPrintedWithoutARunLeaksNoPartOfASecret: a plan shortens long values (a target, a
// note) and may cut one inside a secret: the start the cut left is redacted too; the
// Secret an apply step creates is shown with its keys, not its values; RBAC rules that name
// a secret var's value print it redacted and say so.
func TestPrintedWithoutARunLeaksNoPartOfASecret(t *testing.T) {
	dir := t.TempDir()
	planFile, rbacFile := dir+"/plan.yaml", dir+"/rbac.yaml"
	const pw = "S3cr3t-TRUNC-0123456789abcdef"
	if err := os.WriteFile(planFile, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: plan-cut}
spec:
  namespace: default
  vars: {pw: placeholder}
  secretVars: [pw]
  steps:
  - local: {command: [curl, -sS, "https://api.internal.example/v1/health", -u, "admin:${{ vars.pw }}"]}
  - note: {message: "The health check of https://api.internal.example/v1/health failed for admin, password ${{ vars.pw }} and more"}
  - apply:
      manifest: |
        apiVersion: v1
        kind: Secret
        metadata: {name: app}
        stringData: {k: literal-secret-APPLIED-77}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json", "yaml"} {
		code, stdout, stderr := run(t, "plan", planFile, "-o", format, "--var", "pw="+pw)
		if code != exitPassed {
			t.Fatalf("plan -o %s: exit %d: %s", format, code, stderr)
		}
		for _, part := range []string{"S3cr3t-TRUNC", "literal-secret-APPLIED"} {
			if strings.Contains(stdout, part) {
				t.Errorf("plan -o %s holds %q:\n%s", format, part, stdout)
			}
		}
	}
	if err := os.WriteFile(rbacFile, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: rbac-secret}
spec:
  namespace: default
  vars: {pw: placeholder}
  secretVars: [pw]
  steps:
  - get: {kind: Secret, name: "${{ vars.pw }}"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "rbac", rbacFile, "--var", "pw=hunter2-rbac-name")
	if code != exitPassed {
		t.Fatalf("rbac: exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout, "hunter2-rbac-name") || !strings.Contains(stdout, "***") {
		t.Errorf("rbac does not redact the secret var's value:\n%s", stdout)
	}
	if !strings.Contains(stderr, "spec.secretVars") {
		t.Errorf("rbac does not say it redacted a rule: %q", stderr)
	}
}
