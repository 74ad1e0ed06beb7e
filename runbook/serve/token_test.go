package serve

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenFileRotation rotates the token file under a receiver: the new
// token is taken once the file changed and a second passed, the old one
// is refused then; a file that cannot be read or holds no valid token
// leaves the last good token in force.
func TestTokenFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	c := &clock{t: time.Unix(1000, 0)}
	mtime := time.Unix(5000, 0)
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// A distinct modification time each write, as the kubelet's swap gives.
		mtime = mtime.Add(time.Minute)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("old-token\n")
	var logged []string
	tf, err := NewTokenFile(path, func(format string, args ...any) { logged = append(logged, format) })
	if err != nil {
		t.Fatal(err)
	}
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := NewReceiver(Options{Routes: rs, Starter: &fakeStarter{}, TokenFile: tf, Window: time.Minute, MaxActive: 5, MaxBody: 64 << 10, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	code := func(token string) int {
		return post(rc, notification(StatusResolved, "a"), "Authorization", "Bearer "+token).Code
	}
	steps := []struct {
		name    string
		write   *string // nil: leave the file
		remove  bool
		advance time.Duration
		ok, bad string // a token taken, a token refused
	}{
		{name: "the first token", ok: "old-token", bad: "new-token"},
		{name: "rotated, within the second", write: strp("new-token\n"), advance: 500 * time.Millisecond, ok: "old-token", bad: "new-token"},
		{name: "rotated, a second later", advance: time.Second, ok: "new-token", bad: "old-token"},
		{name: "emptied", write: strp(""), advance: 2 * time.Second, ok: "new-token", bad: "old-token"},
		{name: "white space", write: strp("a b\n"), advance: 2 * time.Second, ok: "new-token", bad: "a"},
		{name: "too long", write: strp(strings.Repeat("x", MaxTokenBytes+1)), advance: 2 * time.Second, ok: "new-token", bad: strings.Repeat("x", MaxTokenBytes+1)},
		{name: "removed", remove: true, advance: 2 * time.Second, ok: "new-token", bad: "old-token"},
		{name: "back", write: strp("third-token"), advance: 2 * time.Second, ok: "third-token", bad: "new-token"},
	}
	for _, s := range steps {
		if s.write != nil {
			write(*s.write)
		}
		if s.remove {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		c.t = c.t.Add(s.advance)
		if got := code(s.ok); got == http.StatusUnauthorized {
			t.Errorf("%s: %q refused", s.name, s.ok)
		}
		if got := code(s.bad); got != http.StatusUnauthorized {
			t.Errorf("%s: %q answered %d, want 401", s.name, s.bad, got)
		}
	}
	for _, l := range logged {
		for _, secret := range []string{"old-token", "new-token", "third-token"} {
			if strings.Contains(l, secret) {
				t.Errorf("a log line holds a token: %q", l)
			}
		}
	}
	if len(logged) < 5 {
		t.Errorf("logged %d lines, want one for each change and failure: %q", len(logged), logged)
	}
}

func TestNewTokenFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"empty": "", "space": "a b", "long": strings.Repeat("y", MaxTokenBytes+1)} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := NewTokenFile(path, nil)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if content != "" && strings.Contains(err.Error(), content) {
			t.Errorf("%s: the error holds the content: %v", name, err)
		}
	}
	if _, err := NewTokenFile(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing file: no error")
	}
}

func strp(s string) *string { return &s }

// TestReceiverNeedsTokenFile checks that a receiver has no token but a
// file's: without one it refuses to start.
func TestReceiverNeedsTokenFile(t *testing.T) {
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewReceiver(Options{Routes: rs, Starter: &fakeStarter{}, Window: time.Minute, MaxActive: 5, MaxBody: 64 << 10})
	if err == nil || err.Error() != "serve: a token file is required" {
		t.Errorf("NewReceiver without a token file: %v", err)
	}
}
