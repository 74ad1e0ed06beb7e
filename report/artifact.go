package report

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxArtifactContentBytes is the size up to which a text artifact is kept
// whole in Artifact.Content, and so shown in the Markdown report (4 KiB).
// Larger or binary files are linked, with their size and SHA-256.
const MaxArtifactContentBytes = 4 << 10

// ArtifactSniffBytes is how much of the start of a file decides whether it
// is text (8 KiB, as git looks for a NUL byte in its first 8000 bytes).
const ArtifactSniffBytes = 8 << 10

// NewArtifact describes a file written into the run's artifact directory:
// relPath is its path there (with / as the separator), source where it came
// from, size its size, truncated whether it was cut at a cap, sha256Hex its
// SHA-256 in hex, and head its first bytes, at least min(size,
// ArtifactSniffBytes) of them (more are ignored). Text is judged on head;
// Content is set for a text file of at most MaxArtifactContentBytes that
// was not truncated.
func NewArtifact(relPath, source string, size int64, truncated bool, sha256Hex string, head []byte) Artifact {
	if len(head) > ArtifactSniffBytes {
		head = head[:ArtifactSniffBytes]
	}
	complete := int64(len(head)) >= size
	a := Artifact{Path: relPath, Source: source, Size: size, Truncated: truncated, SHA256: sha256Hex,
		Text: IsText(head, complete)}
	if a.Text && complete && !truncated && size <= MaxArtifactContentBytes {
		a.Content = string(head[:size])
	}
	return a
}

// IsText reports whether b looks like text: no NUL byte and valid UTF-8.
// When b is only the start of a file (complete is false), it may end in
// the middle of a character.
func IsText(b []byte, complete bool) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	if !complete {
		// Drop a character cut at the end: at most 3 bytes of one.
		for i := 1; i <= 3 && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

// byteSize renders a size for people: "22 bytes", "1.5 KiB", "10.0 MiB".
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return plural(int(n), "byte")
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMGT"[i])
}

// artifactLeaf is an artifact with the step that wrote it.
type artifactLeaf struct {
	leaf
	a Artifact
}

// artifacts lists every artifact of r in run order.
func artifacts(r *Result) []artifactLeaf {
	var out []artifactLeaf
	for _, l := range leaves(r) {
		for _, a := range l.step.Artifacts {
			out = append(out, artifactLeaf{l, a})
		}
	}
	return out
}

// artifactRef is where an artifact is from the reader of a report: its
// path joined to the artifact directory, with / as the separator.
func artifactRef(dir string, a Artifact) string {
	if dir == "" {
		return a.Path
	}
	return path.Join(strings.ReplaceAll(dir, `\`, "/"), a.Path)
}

// artifactURL is artifactRef as the destination of a Markdown link: every
// segment is percent-encoded, so spaces, parentheses and angle brackets
// cannot end the link.
func artifactURL(dir string, a Artifact) string {
	ref := artifactRef(dir, a)
	segs := strings.Split(ref, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// artifactFacts renders size, kind, truncation and digest:
// "22 bytes, text, sha256 `…`".
func artifactFacts(a Artifact, code func(string) string) string {
	kind := "binary"
	if a.Text {
		kind = "text"
	}
	s := byteSize(a.Size) + ", " + kind
	if a.Truncated {
		s += ", truncated at the step's byte cap"
	}
	return s + ", sha256 " + code(a.SHA256)
}

// writeArtifactLines writes the table renderer's list of artifacts: a line
// per file with its step and size.
func writeArtifactLines(w io.Writer, r *Result) {
	all := artifacts(r)
	if len(all) == 0 {
		return
	}
	fmt.Fprintf(w, "\nArtifacts in %s (%s):\n", oneLine(artifactDirWord(r.ArtifactDir)), plural(len(all), "file"))
	for _, x := range all {
		line := fmt.Sprintf("  %d. %s  %s", x.index(), oneLine(x.a.Path), byteSize(x.a.Size))
		if x.a.Truncated {
			line += " (truncated)"
		}
		fmt.Fprintln(w, line)
	}
}

// artifactDirWord names the artifact directory, or says none was recorded.
func artifactDirWord(dir string) string {
	if dir == "" {
		return "the artifact directory"
	}
	return dir
}

// artifacts writes the Markdown list of a step's artifacts, each linked,
// then each small text file whole in a fenced block.
func (m *mdWriter) artifacts(s *StepResult) {
	if len(s.Artifacts) == 0 {
		return
	}
	m.printf("Artifacts:\n\n")
	for _, a := range s.Artifacts {
		line := fmt.Sprintf("- [%s](%s) — %s", mdCode(a.Path), artifactURL(m.r.ArtifactDir, a), artifactFacts(a, mdCode))
		if a.Source != "" {
			line += " — from " + mdCode(a.Source)
		}
		m.printf("%s\n", line)
	}
	m.printf("\n")
	for _, a := range s.Artifacts {
		if a.Content == "" {
			continue
		}
		m.printf("%s (%s):\n\n", mdCode(a.Path), byteSize(a.Size))
		m.fenced("text", a.Content)
	}
}

// junitAttachments appends to out a line [[ATTACHMENT|PATH]] per artifact
// of s, the form Jenkins' JUnit Attachments plugin reads from system-out
// (it wants each on a line of its own, and an absolute path).
func junitAttachments(out string, dir string, s *StepResult) string {
	if len(s.Artifacts) == 0 {
		return out
	}
	var b strings.Builder
	b.WriteString(out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		b.WriteByte('\n')
	}
	for _, a := range s.Artifacts {
		fmt.Fprintf(&b, "[[ATTACHMENT|%s]]\n", oneLine(artifactRef(dir, a)))
	}
	return b.String()
}
