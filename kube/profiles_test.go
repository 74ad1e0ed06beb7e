package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseProfile(t *testing.T) {
	tests := []struct {
		in      string
		want    Profile
		wantErr string
	}{
		{in: "", want: ProfileGeneral},
		{in: "legacy", want: ProfileLegacy},
		{in: "general", want: ProfileGeneral},
		{in: "baseline", want: ProfileBaseline},
		{in: "restricted", want: ProfileRestricted},
		{in: "netadmin", want: ProfileNetAdmin},
		{in: "sysadmin", want: ProfileSysAdmin},
		{in: "Sysadmin", wantErr: `unknown profile "Sysadmin" (valid profiles: baseline, general, legacy, netadmin, restricted, sysadmin)`},
		{in: "netAdmin", wantErr: `unknown profile "netAdmin" (valid profiles: baseline, general, legacy, netadmin, restricted, sysadmin)`},
		{in: "privileged", wantErr: `unknown profile "privileged" (valid profiles: baseline, general, legacy, netadmin, restricted, sysadmin)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseProfile(tt.in)
			if diff := cmp.Diff(tt.wantErr, errText(err)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if got != tt.want {
				t.Errorf("ParseProfile(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	want := []Profile{"baseline", "general", "legacy", "netadmin", "restricted", "sysadmin"}
	if diff := cmp.Diff(want, Profiles()); diff != "" {
		t.Errorf("Profiles() (-want +got):\n%s", diff)
	}
	for _, p := range Profiles() {
		if got, err := ParseProfile(string(p)); err != nil || got != p {
			t.Errorf("ParseProfile(%q) = %q, %v", p, got, err)
		}
	}
}

func TestProfileNeedsPrivilege(t *testing.T) {
	tests := []struct {
		profile               Profile
		ephemeral, copy, node bool
	}{
		{profile: "", ephemeral: false, copy: false, node: true},
		{profile: ProfileLegacy, ephemeral: false, copy: false, node: true},
		{profile: ProfileGeneral, ephemeral: false, copy: false, node: true},
		{profile: ProfileBaseline, ephemeral: false, copy: false, node: false},
		{profile: ProfileRestricted, ephemeral: false, copy: false, node: false},
		{profile: ProfileNetAdmin, ephemeral: true, copy: true, node: true},
		{profile: ProfileSysAdmin, ephemeral: true, copy: true, node: true},
		{profile: "bogus", ephemeral: true, copy: true, node: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.profile), func(t *testing.T) {
			got := map[Mode]bool{
				ModeEphemeral: ProfileNeedsPrivilege(tt.profile, ModeEphemeral),
				ModeCopy:      ProfileNeedsPrivilege(tt.profile, ModeCopy),
				ModeNode:      ProfileNeedsPrivilege(tt.profile, ModeNode),
			}
			want := map[Mode]bool{ModeEphemeral: tt.ephemeral, ModeCopy: tt.copy, ModeNode: tt.node}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ProfileNeedsPrivilege(%q, ...) (-want +got):\n%s", tt.profile, diff)
			}
		})
	}
	t.Run("unknown mode fails closed", func(t *testing.T) {
		if !ProfileNeedsPrivilege(ProfileRestricted, "attach") {
			t.Error(`ProfileNeedsPrivilege(restricted, "attach") = false, want true`)
		}
	})
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
