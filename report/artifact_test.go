package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsText(t *testing.T) {
	tests := []struct {
		name     string
		b        string
		complete bool
		want     bool
	}{
		{"empty", "", true, true},
		{"ascii", "hello\n", true, true},
		{"utf-8", "grüße ✓\n", true, true},
		{"NUL", "a\x00b", true, false},
		{"invalid UTF-8", "a\xffb", true, false},
		{"a character cut at the end of a whole file", "a\xe2\x9c", true, false},
		{"a character cut at the end of a head", "a\xe2\x9c", false, true},
		{"invalid UTF-8 before the end of a head", "\xffabc", false, false},
		{"an ELF header", "\x7fELF\x02\x01\x01\x00", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsText([]byte(tt.b), tt.complete); got != tt.want {
				t.Errorf("IsText(%q, %v) = %v, want %v", tt.b, tt.complete, got, tt.want)
			}
		})
	}
}

func TestNewArtifact(t *testing.T) {
	big := strings.Repeat("x", MaxArtifactContentBytes+1)
	tests := []struct {
		name      string
		size      int64
		truncated bool
		head      string
		want      Artifact
	}{
		{"small text is kept", 3, false, "hi\n", Artifact{Size: 3, Text: true, Content: "hi\n"}},
		{"empty file", 0, false, "", Artifact{Size: 0, Text: true}},
		{"binary is not kept", 3, false, "a\x00b", Artifact{Size: 3}},
		{"truncated text is not kept", 3, true, "hi\n", Artifact{Size: 3, Truncated: true, Text: true}},
		{"text over 4 KiB is not kept", int64(len(big)), false, big, Artifact{Size: int64(len(big)), Text: true}},
		{"a head shorter than the file", 100000, false, "only the start", Artifact{Size: 100000, Text: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewArtifact("p", "src", tt.size, tt.truncated, "abc", []byte(tt.head))
			tt.want.Path, tt.want.Source, tt.want.SHA256 = "p", "src", "abc"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NewArtifact (-want +got):\n%s", diff)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 1023: "1023 bytes", 1024: "1.0 KiB",
		1536: "1.5 KiB", 10 << 20: "10.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestMarkdownArtifacts reads the artifacts fixture as HTML: every file is
// a link that stays one whatever its name, the small text file is shown
// whole in a code block, and the binary and empty files are not shown.
func TestMarkdownArtifacts(t *testing.T) {
	page := toHTML(t, render(t, "md", fixtureCase{"artifacts", artifactsResult}))
	for _, want := range []string{
		`<a href="/home/alice/incidents/runbook-artifacts/r-4f2a9c/hostname"><code>hostname</code></a>`,
		`<a href="/home/alice/incidents/runbook-artifacts/r-4f2a9c/pause"><code>pause</code></a>`,
		`<a href="/home/alice/incidents/runbook-artifacts/r-4f2a9c/config%20%28v2%29/app.yaml"><code>config (v2)/app.yaml</code></a>`,
		"<pre><code class=\"language-text\">runbook-control-plane\n</code></pre>",
		`<pre><code class="language-text">` + escapeHTML(artifactsAppYAML) + "</code></pre>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the HTML lacks\n%s\n%s", want, page)
		}
	}
	if strings.Contains(page, "ELF") || strings.Contains(page, "PNG") {
		t.Error("a binary file is shown in the report")
	}
	if strings.Contains(page, "<script>") {
		t.Error("HTML from a file escaped its code block")
	}
}

func TestArtifactURLEscapesEverySegment(t *testing.T) {
	tests := []struct{ dir, path, want string }{
		{"", "a b/c", "a%20b/c"},
		{"../out", "x](y)", "../out/x%5D%28y%29"},
		{"/abs/dir", "line\nbreak<b>", "/abs/dir/line%0Abreak%3Cb%3E"},
		{`C:\runs\r1`, "f", "C:/runs/r1/f"},
	}
	for _, tt := range tests {
		if got := artifactURL(tt.dir, Artifact{Path: tt.path}); got != tt.want {
			t.Errorf("artifactURL(%q, %q) = %q, want %q", tt.dir, tt.path, got, tt.want)
		}
	}
}

func TestJUnitAttachments(t *testing.T) {
	s := &StepResult{Artifacts: []Artifact{{Path: "a"}, {Path: "d/b"}}}
	tests := []struct{ out, want string }{
		{"", "[[ATTACHMENT|/r/a]]\n[[ATTACHMENT|/r/d/b]]\n"},
		{"no newline", "no newline\n[[ATTACHMENT|/r/a]]\n[[ATTACHMENT|/r/d/b]]\n"},
		{"line\n", "line\n[[ATTACHMENT|/r/a]]\n[[ATTACHMENT|/r/d/b]]\n"},
	}
	for _, tt := range tests {
		if got := junitAttachments(tt.out, "/r", s); got != tt.want {
			t.Errorf("junitAttachments(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
	if got := junitAttachments("out", "/r", &StepResult{}); got != "out" {
		t.Errorf("a step without artifacts: %q", got)
	}
}

func TestRedactReachesArtifacts(t *testing.T) {
	const s = "topsecret"
	r := &Result{ArtifactDir: "/tmp/" + s, Steps: []StepResult{{Artifacts: []Artifact{{Path: s, Source: s, Content: "password=" + s + "\n"}}}}}
	Redact(r, []string{s})
	var buf bytes.Buffer
	if err := RenderMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), s) {
		t.Errorf("the secret is still in the report:\n%s", buf.String())
	}
}
