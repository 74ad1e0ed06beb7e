package runbook_test

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestForEachSelectionIsChecked: a forEach selection is read as written,
// so a ${{ }} in it, a selector that does not parse or a bad namespace is
// an error at load time, with its position.
func TestForEachSelectionIsChecked(t *testing.T) {
	head := "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  vars: {sel: app=web}\n  steps:\n"
	for _, tt := range []struct{ sel, want string }{
		{`pods: {selector: "${{ vars.sel }}"}`, "rb.yaml:7:5: forEach.pods.selector cannot hold ${{ }}"},
		{`pods: {selector: "app in (web"}`, `rb.yaml:7:5: forEach.pods.selector "app in (web": unable to parse requirement`},
		{`pods: {selector: app=web, namespace: "${{ vars.sel }}"}`, "rb.yaml:7:5: forEach.pods.namespace cannot hold ${{ }}"},
		{`nodes: {selector: "kubernetes.io/os=linux"}`, ""},
	} {
		src := head + "  - forEach: {" + tt.sel + "}\n    local: {command: [echo]}\n"
		_, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.sel, got, tt.want)
		}
	}
}
