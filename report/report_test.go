package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFormats(t *testing.T) {
	want := []string{"json", "junit", "markdown", "md", "table"}
	if diff := cmp.Diff(want, Formats()); diff != "" {
		t.Errorf("Formats() (-want +got):\n%s", diff)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string
	}{
		{name: "table"},
		{name: "md"},
		{name: "markdown"},
		{name: "json"},
		{name: "junit"},
		{name: "html", wantErr: `unknown report format "html" (known: json, junit, markdown, md, table)`},
		{name: "", wantErr: `unknown report format "" (known: json, junit, markdown, md, table)`},
		{name: "JSON", wantErr: `unknown report format "JSON" (known: json, junit, markdown, md, table)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Lookup(tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Lookup(%q) error = %v, want %q", tt.name, err, tt.wantErr)
				}
				if r != nil {
					t.Errorf("Lookup(%q) returned a renderer with an error", tt.name)
				}
				return
			}
			if err != nil || r == nil {
				t.Fatalf("Lookup(%q) = %v, %v", tt.name, r, err)
			}
		})
	}
}

func TestMarkdownAliasRendersTheSame(t *testing.T) {
	fx := fixtures[0]
	if md, markdown := render(t, "md", fx), render(t, "markdown", fx); string(md) != string(markdown) {
		t.Errorf("md and markdown differ:\n%s", cmp.Diff(string(md), string(markdown)))
	}
}

func TestRenderersRefuseNil(t *testing.T) {
	for _, name := range Formats() {
		t.Run(name, func(t *testing.T) {
			r, _ := Lookup(name)
			var b strings.Builder
			if err := r(&b, nil); err == nil || err.Error() != "no result to render" {
				t.Errorf("error = %v, want no result to render", err)
			}
		})
	}
}

func TestRenderersHandleAnEmptyResult(t *testing.T) {
	for _, name := range Formats() {
		t.Run(name, func(t *testing.T) {
			r, _ := Lookup(name)
			var b strings.Builder
			if err := r(&b, &Result{}); err != nil {
				t.Fatal(err)
			}
			if b.Len() == 0 {
				t.Error("rendered nothing")
			}
		})
	}
}

func TestSecondsJSON(t *testing.T) {
	tests := []struct {
		d    time.Duration
		json string
	}{
		{0, "0"},
		{1234 * time.Millisecond, "1.234"},
		{41*time.Second + 234*time.Millisecond, "41.234"},
		{1500 * time.Microsecond, "0.0015"},
		{time.Nanosecond, "0.000000001"},
		{90 * time.Minute, "5400"},
		{123456789 * time.Nanosecond, "0.123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			b, err := json.Marshal(Seconds(tt.d))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.json {
				t.Errorf("Marshal(%v) = %s, want %s", tt.d, b, tt.json)
			}
			var s Seconds
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			if s.Duration() != tt.d {
				t.Errorf("Unmarshal(%s) = %v, want %v", b, s.Duration(), tt.d)
			}
		})
	}
}

func TestSecondsUnmarshalErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"1s"`, `duration must be a number of seconds, got "1s"`},
		{`true`, `duration must be a number of seconds, got true`},
		{`1e300`, `duration 1e300 seconds is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var s Seconds
			err := s.UnmarshalJSON([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecondsString(t *testing.T) {
	tests := map[time.Duration]string{
		1234567 * time.Microsecond:     "1.235s",
		95*time.Second + time.Second/2: "1m35.5s",
		0:                              "0s",
		40 * time.Millisecond:          "40ms",
	}
	for d, want := range tests {
		if got := Seconds(d).String(); got != want {
			t.Errorf("Seconds(%v).String() = %q, want %q", d, got, want)
		}
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		fixture string
		want    Counts
		text    string
	}{
		{"passed", Counts{Passed: 6}, "6 passed, 0 failed, 0 skipped"},
		{"failed", Counts{Passed: 2, Failed: 2, Skipped: 1}, "2 passed, 2 failed, 1 skipped"},
		{"interrupted", Counts{Passed: 2, Skipped: 1, Interrupted: 1}, "2 passed, 0 failed, 1 skipped, 1 interrupted"},
		{"fanout", Counts{Passed: 2, Failed: 1}, "2 passed, 1 failed, 0 skipped"},
		{"error", Counts{}, "0 passed, 0 failed, 0 skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got := fixtureByName(t, tt.fixture).Counts()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Counts() (-want +got):\n%s", diff)
			}
			if got.String() != tt.text {
				t.Errorf("String() = %q, want %q", got.String(), tt.text)
			}
			if got.Total() != tt.want.Passed+tt.want.Failed+tt.want.Skipped+tt.want.Interrupted {
				t.Errorf("Total() = %d", got.Total())
			}
		})
	}
}

func TestFailed(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string // Target or Name of each failed result
	}{
		{"passed", nil},
		{"failed", []string{"The checkout pod is not crash-looping", "Attach a debugger to checkout"}},
		{"interrupted", nil},
		{"fanout", []string{"node worker-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			r := fixtureByName(t, tt.fixture)
			var got []string
			for _, s := range r.Failed() {
				if s.Name != "" {
					got = append(got, s.Name)
				} else {
					got = append(got, s.Target)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Failed() (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("points into the result", func(t *testing.T) {
		r := fixtureByName(t, "fanout")
		r.Failed()[0].Error = "changed"
		if r.Steps[0].Targets[1].Error != "changed" {
			t.Error("Failed() returned a copy, not a pointer into the result")
		}
	})
}

// fixtureByName returns a fresh copy of the named fixture.
func fixtureByName(t *testing.T, name string) *Result {
	t.Helper()
	for _, fx := range fixtures {
		if fx.name == name {
			return fx.result()
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

func TestTextHelpers(t *testing.T) {
	t.Run("printable", func(t *testing.T) {
		tests := map[string]string{
			"plain\ttext\n":                   "plain\ttext\n",
			"crlf\r\nline":                    "crlf\nline",
			"progress 10%\rprogress 20%":      "progress 10%\nprogress 20%",
			"\x1b[2Jcleared\a":                `\x1b[2Jcleared\x07`,
			"bad \xff utf8":                   "bad \uFFFD utf8",
			"c1 \u009b control":               `c1 \x9b control`,
			"admin\u202e\u2066 txt.exe\u2069": `admin\u202E\u2066 txt.exe\u2069`,
		}
		for in, want := range tests {
			if got := printable(in); got != want {
				t.Errorf("printable(%q) = %q, want %q", in, got, want)
			}
		}
	})
	t.Run("cutBytes", func(t *testing.T) {
		tests := []struct {
			in       string
			n        int
			wantHead string
			wantMore int
		}{
			{"short", 10, "short", 0},
			{"line one\nline two\n", 12, "line one\n", 9},
			{"abcdefghij", 4, "abcd", 6},
			{"héllo", 2, "h", 5}, // é is two bytes: never cut inside a rune
		}
		for _, tt := range tests {
			head, more := cutBytes(tt.in, tt.n)
			if head != tt.wantHead || more != tt.wantMore {
				t.Errorf("cutBytes(%q, %d) = %q, %d; want %q, %d", tt.in, tt.n, head, more, tt.wantHead, tt.wantMore)
			}
			if len(head)+more != len(tt.in) {
				t.Errorf("cutBytes(%q, %d) loses bytes", tt.in, tt.n)
			}
		}
	})
	t.Run("clip", func(t *testing.T) {
		if got := clip("αβγδε", 3); got != "αβ…" {
			t.Errorf("clip = %q", got)
		}
		if got := clip("abc", 3); got != "abc" {
			t.Errorf("clip = %q", got)
		}
	})
	t.Run("lineCount", func(t *testing.T) {
		tests := map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\nb\n": 2, "\n": 1}
		for in, want := range tests {
			if got := lineCount(in); got != want {
				t.Errorf("lineCount(%q) = %d, want %d", in, got, want)
			}
		}
	})
}
