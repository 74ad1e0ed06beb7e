package steps

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
)

// TestNodeProfilesPrivilege: a node step with the baseline or restricted
// profile builds a plain pod on the node (no host namespaces, no /host, as
// kubectl's), so it needs no allowPrivileged and the plan does not flag it;
// the other profiles, a profile known only at run time and privileged
// custom settings still need it.
func TestNodeProfilesPrivilege(t *testing.T) {
	const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  vars: {p: general}\n  steps:\n"
	for _, tt := range []struct {
		step, wantErr string
	}{
		{"  - node: {name: n1, image: busybox, profile: restricted, command: [id]}\n", ""},
		{"  - node: {name: n1, image: busybox, profile: baseline, command: [id]}\n", ""},
		{"  - node: {name: n1, image: busybox, command: [id]}\n", "a node step runs a privileged pod"},
		{"  - node: {name: n1, image: busybox, profile: netadmin, command: [id]}\n", "a node step runs a privileged pod"},
		{"  - node: {name: n1, image: busybox, profile: '${{ vars.p }}', command: [id]}\n", "a node step runs a privileged pod"},
		{"  - node: {name: n1, image: busybox, profile: baseline, command: [id], custom: {securityContext: {privileged: true}}}\n", "privileged (container custom: privileged)"},
	} {
		rb, err := runbook.Parse("rb.yaml", []byte(head+tt.step), runbook.LoadOptions{Kinds: Registry})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.step, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.step, err, tt.wantErr)
		case tt.wantErr == "":
			if r := rb.Spec.Steps[0].Action.(*NodeStep).PrivilegeReasons(); len(r) > 0 {
				t.Errorf("%s: flagged privileged: %q", tt.step, r)
			}
		}
	}
}

// TestRestrictedWithRootUser: custom runAsUser 0 with the restricted
// profile (runAsNonRoot) builds a container the kubelet never starts: an
// error at load time, in each mode; another user, or another profile, is
// fine.
func TestRestrictedWithRootUser(t *testing.T) {
	const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: t}\nspec:\n  steps:\n"
	for _, tt := range []struct {
		step string
		bad  bool
	}{
		{"  - node: {name: n1, image: busybox, profile: restricted, command: [id], custom: {securityContext: {runAsUser: 0}}}\n", true},
		{"  - debug: {pod: web, image: busybox, profile: restricted, custom: {securityContext: {runAsUser: 0}}}\n", true},
		{"  - copy: {pod: web, image: busybox, profile: restricted, custom: {securityContext: {runAsUser: 0}}}\n", true},
		{"  - debug: {pod: web, image: busybox, profile: restricted, custom: {securityContext: {runAsUser: 1000}}}\n", false},
		{"  - debug: {pod: web, image: busybox, custom: {securityContext: {runAsUser: 0}}}\n", false},
	} {
		_, err := runbook.Parse("rb.yaml", []byte(head+tt.step), runbook.LoadOptions{Kinds: Registry})
		if got := err != nil && strings.Contains(err.Error(), "runAsNonRoot with runAsUser 0"); got != tt.bad {
			t.Errorf("%s: error %v, want refused %v", tt.step, err, tt.bad)
		}
	}
}
