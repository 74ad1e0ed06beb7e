package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestKubeconfigFlagsOnEveryOnlineCommand checks that every command that
// talks to a cluster takes kubectl's kubeconfig flags, with kubectl's
// short names, and that help lists them in their own section.
func TestKubeconfigFlagsOnEveryOnlineCommand(t *testing.T) {
	want := []string{"kubeconfig", "context", "cluster", "user", "namespace", "server", "token", "as", "as-group", "as-uid",
		"certificate-authority", "client-certificate", "client-key", "insecure-skip-tls-verify", "tls-server-name",
		"request-timeout", "disable-compression", "proxy-url"}
	for _, name := range []string{"run", "plan", "cleanup", "rbac", "job", "results", "serve"} {
		cmd := lookupCommand(name)
		fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
		cmd.new().AddFlags(fs)
		for _, f := range want {
			if fs.Lookup(f) == nil {
				t.Errorf("%s: no --%s", name, f)
			}
		}
		for short, long := range map[string]string{"n": "namespace", "s": "server"} {
			if f := fs.ShorthandLookup(short); f == nil || f.Name != long {
				t.Errorf("%s: -%s is not --%s", name, short, long)
			}
		}
		for _, f := range []string{"username", "password", "cache-dir"} {
			if fs.Lookup(f) != nil {
				t.Errorf("%s: --%s is registered; runbook does not use it", name, f)
			}
		}
		_, stdout, _ := run(t, name, "--help")
		_, kubeHelp, ok := strings.Cut(stdout, "\nKubeconfig flags (kubectl's):\n")
		if !ok || !strings.Contains(kubeHelp, "--as string") || !strings.Contains(kubeHelp, "-s, --server string") {
			t.Errorf("%s --help: no kubeconfig section listing --as and -s:\n%s", name, stdout)
		}
		own, _, _ := strings.Cut(stdout, "\nKubeconfig flags")
		if strings.Contains(own, "--token string") {
			t.Errorf("%s --help lists --token among the command's own flags", name)
		}
	}
	code, script, _ := run(t, "completion", "fish")
	if code != exitPassed || !strings.Contains(script, "'__fish_seen_subcommand_from run' -l as -d") ||
		!strings.Contains(script, "'__fish_seen_subcommand_from serve' -l token -d") {
		t.Errorf("fish completion lacks run --as or serve --token:\n%s", script)
	}
}

// TestConnectionTokenNeverPrinted runs against an API server that echoes
// the bearer token it receives in every error it returns (a hostile or
// buggy proxy): the token given with --token must appear in no output,
// report or error, whichever way the run fails.
func TestConnectionTokenNeverPrinted(t *testing.T) {
	const token = "s3cr3t-flag-token-Qx7vZ"
	{
		{
			var seen string
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Header.Get("Authorization")
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/version" {
					fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
					return
				}
				cred := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"Forbidden","code":403,"message":"credential %s may not %s %s"}`,
					cred, r.Method, r.URL.Path)
			}))
			defer srv.Close()
			dir := t.TempDir()
			file := filepath.Join(dir, "tiny.yaml")
			if err := os.WriteFile(file, []byte("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: tiny}\nspec:\n  steps:\n  - id: cm\n    get: {kind: ConfigMap, name: x}\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("KUBECONFIG", filepath.Join(dir, "none"))
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			reports := map[string]string{}
			args := []string{"run", "--server", srv.URL, "--insecure-skip-tls-verify", "--token", token, "-n", "ns", "-v", file}
			for _, f := range []string{"json", "md", "junit"} {
				reports[f] = filepath.Join(dir, "report."+f)
				args = append(args, "--report", f+"="+reports[f])
			}
			code, stdout, stderr := run(t, args...)
			if seen != "Bearer "+token {
				t.Fatalf("the server got Authorization %q: --token did not reach it", seen)
			}
			if code == exitPassed {
				t.Fatalf("the run passed against a server that forbids everything:\n%s", stdout)
			}
			if !strings.Contains(stdout+stderr, "may not GET") {
				t.Fatalf("the server's error is not shown:\n%s\n%s", stdout, stderr)
			}
			outputs := map[string]string{"stdout": stdout, "stderr": stderr}
			for f, path := range reports {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("report %s: %v", f, err)
				}
				outputs["report "+f] = string(data)
			}
			for what, out := range outputs {
				for form, desc := range secretForms(token) {
					if strings.Contains(out, form) {
						t.Errorf("%s holds the token (%s):\n%s", what, desc, out)
					}
				}
			}

			// A command that fails outside a run: results' error.
			_, stdout, stderr = run(t, "results", "--server", srv.URL, "--insecure-skip-tls-verify", "--token", token, "-n", "ns")
			if !strings.Contains(stdout+stderr, "may not") {
				t.Fatalf("results: the server's error is not shown:\n%s\n%s", stdout, stderr)
			}
			for form, desc := range secretForms(token) {
				if strings.Contains(stdout+stderr, form) {
					t.Errorf("results' output holds the token (%s):\n%s\n%s", desc, stdout, stderr)
				}
			}
		}
	}
}

// TestNamespacePrecedence checks kubectl's namespace rules through the
// flags, as plan shows them without a request: -n, then spec.namespace,
// then the namespace of the context the kubeconfig flags select (several
// KUBECONFIG files merged), then default.
func TestNamespacePrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// The server is never asked: plan sends no request.
	first := write("first", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: first-token-xyz}}]
contexts:
- {name: one, context: {cluster: c, user: u, namespace: ns-one}}
- {name: bare, context: {cluster: c, user: u}}
current-context: one
`)
	second := write("second", `apiVersion: v1
kind: Config
clusters: [{name: c2, cluster: {server: "https://127.0.0.1:2"}}]
users: [{name: u2, user: {token: second-token-xyz}}]
contexts: [{name: two, context: {cluster: c2, user: u2, namespace: ns-two}}]
current-context: two
`)
	withNS := write("with-ns.yaml", "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: a}\nspec:\n  namespace: spec-ns\n  steps:\n  - get: {kind: ConfigMap, name: x}\n")
	withoutNS := write("without-ns.yaml", "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: b}\nspec:\n  steps:\n  - get: {kind: ConfigMap, name: x}\n")
	list := first + string(os.PathListSeparator) + second
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	for _, tt := range []struct {
		name, kubeconfig, file string
		args                   []string
		want                   string
	}{
		{"-n beats spec.namespace", list, withNS, []string{"-n", "flag-ns"}, "flag-ns"},
		{"spec.namespace beats the context's", list, withNS, nil, "spec-ns"},
		{"the first file's current context", list, withoutNS, nil, "ns-one"},
		{"--context picks one of the second file", list, withoutNS, []string{"--context", "two"}, "ns-two"},
		{"--kubeconfig replaces the list", list, withoutNS, []string{"--kubeconfig", second}, "ns-two"},
		{"a context without a namespace: default", list, withoutNS, []string{"--context", "bare"}, "default"},
		{"--cluster and --user do not change the namespace", list, withoutNS, []string{"--cluster", "c2", "--user", "u2"}, "ns-one"},
		{"-n beats everything", list, withoutNS, []string{"--context", "two", "-n", "flag-ns"}, "flag-ns"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			code, stdout, stderr := run(t, append([]string{"plan", tt.file}, tt.args...)...)
			if code != exitPassed {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "Namespace: "+tt.want+" ") || !strings.Contains(stdout, "configmap "+tt.want+"/x") {
				t.Errorf("plan does not work in %s:\n%s", tt.want, stdout)
			}
		})
	}
}

// TestRedactingWriterKeepsTheTerminal checks that the writer that hides
// --token still lets progress see the terminal (or file) under it, and
// hides the token in what passes through.
func TestRedactingWriterKeepsTheTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	var k kubeFlags
	k.add(fs)
	if err := fs.Parse([]string{"--token", "tok-en-123456"}); err != nil {
		t.Fatal(err)
	}
	stdout, _ := redactSecretFlags(fs, f, f)
	if got, ok := outputFile(stdout); !ok || got != f {
		t.Errorf("outputFile = %v, %v: the file under the redacting writer is lost", got, ok)
	}
	if _, err := io.WriteString(stdout, "sent tok-en-123456 to the server\n"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "tok-en-123456") || !strings.Contains(string(data), "sent *** to the server") {
		t.Errorf("written: %q", data)
	}
	f.Truncate(0)
	f.Seek(0, io.SeekStart)
	// The token split across two writes, at every offset, and flushed
	// as the command flushes its output at exit.
	const line = "sent tok-en-123456 to the server\n"
	for cut := 0; cut <= len(line); cut++ {
		io.WriteString(stdout, line[:cut])
		io.WriteString(stdout, line[cut:])
	}
	io.WriteString(stdout, "the end: tok-en")
	flushOutput(stdout)
	data, err = os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("sent *** to the server\n", len(line)+1) + "the end: tok-en"; string(data) != want {
		t.Errorf("written: %q, want %q", data, want)
	}
	plain := pflag.NewFlagSet("run", pflag.ContinueOnError)
	var k2 kubeFlags
	k2.add(plain)
	if out, _ := redactSecretFlags(plain, f, f); out != io.Writer(f) {
		t.Errorf("without --token the output is wrapped: %T", out)
	}
}
