package steps

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// TestEnvFlagsReadBack parses the --env flags of a printed kubectl line
// with pflag's StringToString, the parser kubectl's --env uses, and checks
// that it reads back every value as the step sets it.
func TestEnvFlagsReadBack(t *testing.T) {
	values := []string{
		"plain", "", "with spaces", "a,b", "a=b", "x=1,y=2", `say "hi"`, `"quoted"`, `"lead`, `trail"`,
		`""`, `"`, "line1\nline2", " leading space", "tab\tin", "ünïcode", `a"b,c=d"`, "'single'", "$HOME `x`",
	}
	for _, v := range values {
		t.Run(v, func(t *testing.T) {
			c := kube.DebugContainer{Env: []corev1.EnvVar{{Name: "V", Value: v}, {Name: "W", Value: "w"}}}
			var flags []string
			for _, a := range kubectlArgs(c) {
				if strings.HasPrefix(a, "--env=") {
					flags = append(flags, a)
				}
			}
			fs := pflag.NewFlagSet("debug", pflag.ContinueOnError)
			env := fs.StringToString("env", nil, "")
			if err := fs.Parse(flags); err != nil {
				t.Fatalf("kubectl's parser refuses %q: %v", flags, err)
			}
			if got := (*env)["V"]; got != v || len(*env) != 2 || (*env)["W"] != "w" {
				t.Errorf("%q read back as %q, want V=%q W=w", flags, *env, v)
			}
			if n := envFlagsDiffer(c.Env); n != "" {
				t.Errorf("envFlagsDiffer = %q for values kubectl can express", n)
			}
		})
	}
}

// TestKubectlDiffers checks that a line says what kubectl cannot
// reproduce, and says nothing for a line that builds the same object.
func TestKubectlDiffers(t *testing.T) {
	tests := []struct {
		name string
		c    kube.DebugContainer
		want string
	}{
		{"exact", kube.DebugContainer{Command: []string{"sleep", "1"}, Env: []corev1.EnvVar{{Name: "A", Value: "a=b"}}}, ""},
		{"args only", kube.DebugContainer{Args: []string{"-c", "x"}}, ""},
		{"command and args", kube.DebugContainer{Command: []string{"sh", "-c"}, Args: []string{"x"}}, "command and args all in the container's command"},
		{"twice the same name", kube.DebugContainer{Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}}, "sets A twice"},
		{"CR LF read by the CSV reader", kube.DebugContainer{Env: []corev1.EnvVar{{Name: "A", Value: "x=\r\ny"}}}, "CR LF in A as LF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kubectlDiffers("kubectl debug x", tt.c)
			if tt.want == "" {
				if got != "kubectl debug x" {
					t.Errorf("line %q, want it unchanged", got)
				}
				return
			}
			if !strings.HasPrefix(got, "kubectl debug x  # differs: ") || !strings.Contains(got, tt.want) {
				t.Errorf("line %q, want a note saying %q", got, tt.want)
			}
		})
	}
}

// TestCopyArgsOnly checks that a copy takes args without command for an
// existing container, as kubectl's --arguments-only does, and names the
// container it needs.
func TestCopyArgsOnly(t *testing.T) {
	ok := &CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
		Container: tpl(t, "app"), Args: []expression.Template{tpl(t, "-v")}}}
	if errs := ok.Check(&runbook.CheckContext{}); len(errs) > 0 {
		t.Errorf("args for container app refused: %v", errs)
	}
	bad := &CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
		Args: []expression.Template{tpl(t, "-v")}}}
	errs := bad.Check(&runbook.CheckContext{})
	if len(errs) != 1 || errs[0].Field != "args" || !strings.Contains(errs[0].Message, "name it with container") {
		t.Errorf("args without image or container: %v, want one error on args asking for container", errs)
	}
}

// TestKubectlLineRedacted checks that a secret env value leaves no piece
// of itself in a printed line once redacted, whatever quoting the line
// gives it (shell, CSV).
func TestKubectlLineRedacted(t *testing.T) {
	for _, secret := range []string{"it's-a-s3cret", `ab"cd-s3cret"`, "k=v,s3cret-x", `o'ne="tw,o"-s3cret`, "plain-s3cret"} {
		t.Run(secret, func(t *testing.T) {
			c := kube.DebugContainer{Name: "d", Image: "busybox", Env: []corev1.EnvVar{{Name: "TOKEN", Value: secret}}}
			r := &report.Result{Error: (&EphemeralStep{}).kubectl(kube.EphemeralOptions{DebugContainer: c}, "ns", "web")}
			report.Redact(r, []string{secret})
			if strings.Contains(r.Error, "s3cret") || !strings.Contains(r.Error, "***") {
				t.Errorf("redacted line %q still holds part of the secret %q", r.Error, secret)
			}
		})
	}
}
