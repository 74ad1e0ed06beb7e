package report

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedactStrings(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"secret value", []string{"hunter2-s3cret"}, "password is hunter2-s3cret.", "password is ***."},
		{"every occurrence", []string{"s3cr3t"}, "s3cr3t and s3cr3t", "*** and ***"},
		{"base64 form", []string{"hunter2-s3cret"}, "password: aHVudGVyMi1zM2NyZXQ=", "password: ***"},
		{"shorter than the minimum is kept", []string{"abc"}, "abc abcd", "abc abcd"},
		{"minimum length is replaced", []string{"abcd"}, "abc abcd", "abc ***"},
		{"empty secret is ignored", []string{""}, "nothing to hide", "nothing to hide"},
		{"longest first", []string{"pass", "password1"}, "password1 pass", "*** ***"},
		{"longest first whatever the order", []string{"password1", "pass"}, "password1 pass", "*** ***"},
		{"bearer token", nil, "Authorization-less: Bearer eyJhbGciOi.J9.sig", "Authorization-less: Bearer ***"},
		{"bearer lower case", nil, "token=bearer abcdefgh12345678", "token=bearer ***"},
		{"bearer prose is kept", nil, "invalid bearer token", "invalid bearer token"},
		{"authorization header", nil, "> Authorization: Basic YWxpY2U6aHVudGVyMg==\n> Accept: */*", "> Authorization: ***\n> Accept: */*"},
		{"authorization in JSON", nil, `{"authorization": "Bearer abc.def.ghi", "x": 1}`, `{"authorization": "***", "x": 1}`},
		{"authorization in prose is kept", nil, "authorization failed for user", "authorization failed for user"},
		{"multi-line secret", []string{"line1\nline2"}, "a line1\nline2 b", "a *** b"},
		{"nothing to do", []string{"secret-value"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Result{Error: tt.in}
			Redact(r, tt.secrets)
			if r.Error != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, r.Error, tt.want)
			}
			Redact(r, tt.secrets)
			if r.Error != tt.want {
				t.Errorf("Redact is not idempotent: second pass gave %q", r.Error)
			}
		})
	}
}

// TestRedactReachesEveryString checks that Redact walks every string of a
// result, nested ones and map values included, and keeps map keys.
func TestRedactReachesEveryString(t *testing.T) {
	const s = "topsecret"
	step := StepResult{
		ID: s, Name: s, Description: s, Kind: s, Phase: s, Target: s, SkipReason: s,
		Command: s, Calls: []Call{{Verb: s, Resource: s, Name: s}}, Stdout: s, Stderr: s, Error: s,
		Assertions: []Assertion{{Expr: s, Message: s, Error: s, Values: []Value{{Expr: s, Value: s}}}},
		Objects:    []ObjectRef{{Kind: s, Namespace: s, Name: s, Action: s}},
		Set:        map[string]string{"key": s},
	}
	withTarget := step
	withTarget.Targets = []StepResult{step}
	r := &Result{
		SchemaVersion: s, RunID: s, Namespace: s, User: s, Host: s, Tool: s, Error: s,
		Runbook: RunbookInfo{Name: s, Description: s, File: s, Digest: s},
		Cluster: ClusterInfo{Context: s, Server: s, ServerVersion: s},
		Verdict: Verdict(s),
		Steps:   []StepResult{withTarget},
		Cleanup: CleanupResult{Policy: s, Deletions: []Deletion{{Kind: s, Namespace: s, Name: s, Outcome: s, Error: s}}, Leftovers: []string{s}},
		Vars:    map[string]string{"v": s},
	}
	Redact(r, []string{s})
	var buf bytes.Buffer
	if err := RenderJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(s)) {
		t.Errorf("the secret is still in the result:\n%s", buf.String())
	}
	if r.Vars["v"] != Redacted || r.Steps[0].Targets[0].Set["key"] != Redacted {
		t.Errorf("map values not redacted, or keys changed: %v %v", r.Vars, r.Steps[0].Targets[0].Set)
	}
}

func TestRedactNilResult(t *testing.T) {
	Redact(nil, []string{"secret"}) // must not panic
}

// TestRedactedFixtureLeaksNothing renders the redacted fixture in every
// format and checks that no secret, in any form, is in any of them, while
// the same result without Redact does leak them (so the check can fail).
func TestRedactedFixtureLeaksNothing(t *testing.T) {
	leaks := []string{
		fixturePassword,
		base64.StdEncoding.EncodeToString([]byte(fixturePassword)),
		fixtureToken,
		fixtureBasic,
	}
	for _, name := range Formats() {
		t.Run(name, func(t *testing.T) {
			for _, fx := range []fixtureCase{{"redacted", redactedResult}, {"unredacted", unredactedResult}} {
				out := render(t, name, fx)
				for _, secret := range leaks {
					found := bytes.Contains(out, []byte(secret))
					if fx.name == "redacted" && found {
						t.Errorf("%s output contains %q", name, secret)
					}
					if fx.name == "unredacted" && !found {
						t.Errorf("the unredacted %s output should contain %q: the leak check proves nothing", name, secret)
					}
				}
			}
		})
	}
}

func TestRedactKeepsEverythingElse(t *testing.T) {
	before, after := unredactedResult(), unredactedResult()
	Redact(after, []string{"not-in-the-result"})
	// Only the Authorization and Bearer values in stderr change.
	before.Steps[1].Stderr = "> GET /healthz HTTP/1.1\n> Authorization: ***\n> X-Token: Bearer ***\n"
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("Redact changed more than secrets (-want +got):\n%s", diff)
	}
}
