package steps

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

const templatedPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    team: ${{ vars.team }}
    tier: app-${{ vars.tier }}
spec:
  terminationGracePeriodSeconds: ${{ vars.grace }}
  containers:
  - name: app
    image: ${{ vars.image }}
`

// compiled returns the manifest template compiled as the loader does.
func compiled(t *testing.T, src string) expression.Template {
	t.Helper()
	tm := expression.NewTemplate(src)
	if probs := tm.Compile(expression.Context{}); len(probs) > 0 {
		t.Fatalf("template: %v", probs)
	}
	return tm
}

// TestApplyValuesStayValues puts hostile values into a manifest: each
// stays the one value it was written for, and a whole ${{ }} keeps its
// type.
func TestApplyValuesStayValues(t *testing.T) {
	hostileImage := `x", securityContext: {privileged: true}, "`
	hostileTeam := "web\nnamespace: kube-system\n  hostPID: true"
	env := newTestEnv(t, nil)
	env.Scope = &expression.Scope{Vars: map[string]any{"image": hostileImage, "team": hostileTeam, "tier": "1: {a: b}", "grace": 0}}
	s := &ApplyStep{Manifest: compiled(t, templatedPod)}
	out := s.Run(testCtx(t), env.Env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	pod, err := env.kube.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pod.Spec.Containers[0].Image; got != hostileImage {
		t.Errorf("image = %q, want the value verbatim", got)
	}
	if sc := pod.Spec.Containers[0].SecurityContext; sc != nil {
		t.Errorf("a value added a securityContext: %+v", sc)
	}
	if pod.Namespace != "default" || pod.Spec.HostPID {
		t.Errorf("a value changed the namespace (%s) or hostPID (%v)", pod.Namespace, pod.Spec.HostPID)
	}
	if got := pod.Labels["team"]; got != hostileTeam {
		t.Errorf("label team = %q, want the value verbatim", got)
	}
	if got := pod.Labels["tier"]; got != "app-1: {a: b}" {
		t.Errorf("label tier = %q", got)
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g != 0 {
		t.Errorf("terminationGracePeriodSeconds = %v, want the number 0", g)
	}
}

// TestApplyTemplatePlaces checks where a ${{ }} may stand, at load time.
func TestApplyTemplatePlaces(t *testing.T) {
	tests := []struct {
		name, manifest, wantErr string
	}{
		{"in a value", templatedPod, ""},
		{"in a key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  ${{ vars.k }}: v\n", "cannot stand in a key"},
		{"in a comment", "apiVersion: v1\nkind: ConfigMap\n# ${{ vars.x }}\nmetadata: {name: c}\n", "stand outside a value"},
		{"unquoted in a flow mapping", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${{ vars.x }}}\n", "quote the value"},
		{"quoted in a flow mapping", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"${{ vars.x }}\"}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &ApplyStep{Manifest: compiled(t, tt.manifest)}
			errs := s.Check(&runbook.CheckContext{})
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Message)
			}
			got := strings.Join(msgs, "; ")
			if tt.wantErr == "" && got != "" || !strings.Contains(got, tt.wantErr) {
				t.Errorf("Check = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestApplyPrivilegeOfRenderedManifest checks that a manifest that becomes
// privileged only through a value fails before anything is created when
// the runbook does not allow it, and that a list or map value is refused.
func TestApplyPrivilegeOfRenderedManifest(t *testing.T) {
	m := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: ${{ vars.host }}\n  containers: [{name: c, image: i}]\n"
	env := newTestEnv(t, nil)
	env.Scope = &expression.Scope{Vars: map[string]any{"host": true}}
	s := &ApplyStep{Manifest: compiled(t, m)}
	if errs := s.Check(&runbook.CheckContext{}); len(errs) > 0 {
		t.Fatalf("Check = %v (privilege is only known at run time)", errs)
	}
	out := s.Run(testCtx(t), env.Env)
	if out.Err == nil || !strings.Contains(out.Err.Error(), "hostNetwork") || !strings.Contains(out.Err.Error(), "nothing was created") {
		t.Fatalf("error = %v, want a privilege error before creating", out.Err)
	}
	if pods, _ := env.kube.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{}); len(pods.Items) > 0 {
		t.Errorf("a pod was created: %v", pods.Items[0].Name)
	}
	env.AllowPrivileged = true
	if out := s.Run(testCtx(t), env.Env); out.Err != nil {
		t.Errorf("with allowPrivileged: %v", out.Err)
	}

	env = newTestEnv(t, nil)
	env.Scope = &expression.Scope{Vars: map[string]any{"host": map[string]any{"a": 1}}}
	if out := s.Run(testCtx(t), env.Env); out.Err == nil || !strings.Contains(out.Err.Error(), "stands for one value") {
		t.Errorf("a map value: error = %v", out.Err)
	}
}
