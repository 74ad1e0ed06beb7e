package steps

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
)

// TestLiteralNamesAreChecked: a name written without ${{ }} that the API
// server would refuse (a container, a namespace, a node) or that no object
// can have (a "/" in a name) is an error at load time, at its file:line:col,
// as the copy's name and the pod target already were; names with an
// expression are left to the run.
func TestLiteralNamesAreChecked(t *testing.T) {
	const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  allowPrivileged: true\n  vars: {c: Bad_Name}\n  steps:\n"
	tests := []struct {
		name, step, wantErr string
	}{
		{"debug container", "  - debug: {pod: web, image: busybox, container: Bad_Name}\n", `rb.yaml:8:39: debug: container name "Bad_Name" is not valid`},
		{"debug target", "  - debug: {pod: web, image: busybox, target: App}\n", `rb.yaml:8:39: debug: container name "App" is not valid`},
		{"debug namespace", "  - debug: {pod: web, namespace: Prod, image: busybox}\n", `rb.yaml:8:23: debug: namespace "Prod" is not valid`},
		{"copy container", "  - copy: {pod: web, image: busybox, container: dbg_1}\n", `rb.yaml:8:38: copy: container name "dbg_1" is not valid`},
		{"logs container", "  - logs: {pod: web, container: -app}\n", `rb.yaml:8:22: logs: container name "-app" is not valid`},
		{"exec container", "  - exec: {pod: web, container: App, command: [ls]}\n", `rb.yaml:8:22: exec: container name "App" is not valid`},
		{"cp container", "  - cp: {pod: web, container: a.b, path: /etc/hostname}\n", `rb.yaml:8:20: cp: container name "a.b" is not valid`},
		{"node name", "  - node: {name: Node_1, image: busybox, command: [ls]}\n", `rb.yaml:8:12: node: node name "Node_1" is not valid`},
		{"get name with a slash", "  - get: {kind: Pod, name: a/b}\n", `rb.yaml:8:22: get: name "a/b" is not valid: may not contain '/'`},
		{"wait namespace", "  - wait: {kind: Pod, name: web, namespace: a_b, for: 'true'}\n", `rb.yaml:8:34: wait: namespace "a_b" is not valid`},
		{"delete name ..", "  - delete: {kind: Pod, name: ..}\n", `rb.yaml:8:25: delete: name ".." is not valid: may not be '..'`},
		{"valid names", "  - debug: {pod: web, namespace: prod-1, image: busybox, container: dbg-1, target: app}\n" +
			"  - node: {name: node-1.example.com, image: busybox, command: [ls]}\n" +
			"  - get: {kind: ClusterRole, name: 'system:controller:x'}\n", ""},
		{"names with an expression are the run's to check", "  - debug: {pod: web, image: busybox, container: '${{ vars.c }}'}\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runbook.Parse("rb.yaml", []byte(head+tt.step), runbook.LoadOptions{Kinds: Registry})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("load: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("load error = %v, want one with %q", err, tt.wantErr)
			}
		})
	}
}
