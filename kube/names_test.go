package kube

import (
	"regexp"
	"testing"
)

func TestShortSuffix(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9]{5}$`)
	tests := []struct{ seed, want string }{
		{seed: "", want: "k4m9f"},
		{seed: "worker-0", want: "xxth4"},
		{seed: "worker-1", want: "9smxk"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			got := ShortSuffix(tt.seed)
			if got != tt.want {
				t.Errorf("ShortSuffix(%q) = %q, want %q", tt.seed, got, tt.want)
			}
			if !valid.MatchString(got) {
				t.Errorf("ShortSuffix(%q) = %q, want 5 characters of [a-z0-9]", tt.seed, got)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("ShortSuffix(%q) = ShortSuffix(%q) = %q", tt.seed, other, got)
			}
			seen[got] = tt.seed
		})
	}
}

func TestDebugContainerName(t *testing.T) {
	first := DebugContainerName(nil, "default/noshell/busybox:1.36")
	second := DebugContainerName([]string{first}, "default/noshell/busybox:1.36")
	third := DebugContainerName([]string{"app", first, second}, "default/noshell/busybox:1.36")
	tests := []struct {
		name     string
		existing []string
		want     string
	}{
		{name: "free", existing: []string{"app", "sidecar"}, want: "debugger-l8nww"},
		{name: "taken once", existing: []string{"debugger-l8nww"}, want: second},
		{name: "taken twice", existing: []string{first, second}, want: third},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DebugContainerName(tt.existing, "default/noshell/busybox:1.36")
			if got != tt.want {
				t.Errorf("DebugContainerName(%q) = %q, want %q", tt.existing, got, tt.want)
			}
		})
	}
	if first == second || second == third || first == third {
		t.Errorf("names repeat: %q, %q, %q", first, second, third)
	}
	if !regexp.MustCompile(`^debugger-[a-z0-9]{5}$`).MatchString(second) {
		t.Errorf("second name %q is not debugger-xxxxx", second)
	}
}
