package steps

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/runbook"
)

// TestCustomOneDecoder checks that Check (validate) rejects what the
// builders (plan, run) reject in custom, with the same message.
func TestCustomOneDecoder(t *testing.T) {
	tests := []struct {
		name    string
		action  Action
		wantErr string
	}{
		{"ephemeral cannot have ports", &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
			Image: tpl(t, "busybox:1.36"), Custom: map[string]any{"ports": []any{map[string]any{"containerPort": 80}}}}},
			"custom: an ephemeral container cannot set ports"},
		{"ephemeral cannot have resources", &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
			Image: tpl(t, "busybox:1.36"), Custom: map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}}},
			"custom: an ephemeral container cannot set resources"},
		{"unknown field", &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
			Image: tpl(t, "busybox:1.36"), Custom: map[string]any{"evn": []any{}}}},
			`custom: unknown field "evn"`},
		{"forbidden field", &EphemeralStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, DebugContainer: DebugContainer{
			Image: tpl(t, "busybox:1.36"), Custom: map[string]any{"image": "x"}}},
			"custom: image cannot be set in custom"},
		{"a copy may have resources", &CopyStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, To: tpl(t, "web-copy"), DebugContainer: DebugContainer{
			Image: tpl(t, "busybox:1.36"), Custom: map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}}},
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.action.Check(&runbook.CheckContext{}) {
				if e.Field == "custom" {
					got = append(got, e.Message)
				}
			}
			if tt.wantErr == "" {
				if len(got) > 0 {
					t.Fatalf("Check: %v, want no custom error", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.wantErr) {
				t.Fatalf("Check: %v, want %q", got, tt.wantErr)
			}
			// The plan builds the same objects: it fails with the same message.
			if _, err := tt.action.Plan(testPlanner(t)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Plan: %v, want %q", err, tt.wantErr)
			}
		})
	}
}
