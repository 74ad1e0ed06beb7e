//go:build e2e

package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/incluster"
)

// TestHostileStoredResult: a ConfigMap that looks like a stored result,
// written by anyone allowed to write ConfigMaps in the namespace, with
// escape sequences in its annotations and in the result itself. `runbook
// results` and `results show` in every format must not pass them to the
// terminal.
func TestHostileStoredResult(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "rb-e2e-hostile-")
	const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e"
	res := &report.Result{SchemaVersion: report.SchemaVersion, Runbook: report.RunbookInfo{Name: "evil" + evil},
		Verdict: report.VerdictFailed, Error: "error" + evil,
		Steps: []report.StepResult{{Index: 1, ID: "a", Name: "step" + evil, Kind: "local", Status: report.StatusFailed,
			Stdout: "out" + evil, Stderr: "err" + evil, Error: "failed" + evil}}}
	var doc strings.Builder
	if err := report.RenderJSON(&doc, res); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "evil-result", Namespace: ns,
			Labels: map[string]string{incluster.LabelManagedBy: incluster.ManagedByJob, incluster.LabelComponent: incluster.ComponentResult,
				incluster.LabelRun: "rb-evil1"},
			Annotations: map[string]string{incluster.AnnotationRunbook: "evil" + evil + "\tcolumn\nline", incluster.AnnotationCut: "cut" + evil}},
		Data: map[string]string{incluster.KeyResult: doc.String()},
	}
	if _, err := c.client.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	raw := func(s string) bool { return strings.ContainsAny(s, "\x1b\x07\u009b\u202e") }
	r := runCLI(t, "results", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stdout, "rb-evil1") || raw(r.stdout) || strings.Count(r.stdout, "\n") != 2 {
		t.Errorf("runbook results: %s", r)
	}
	for _, format := range []string{"table", "md", "junit"} {
		r := runCLI(t, "results", "show", "rb-evil1", "-n", ns, "-o", format)
		if r.code != 0 || !strings.Contains(r.stdout, "step") || raw(r.stdout) {
			t.Errorf("runbook results show -o %s: %s", format, r)
		}
	}
}
