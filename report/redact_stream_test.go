package report

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestStreamSplitAtEveryOffset writes each text in two writes, cut at
// every offset, in three, cut at every two offsets, and a byte a write: the output is what String makes
// of the whole text, so no secret (nor any of its forms) gets through by
// straddling two writes.
func TestStreamSplitAtEveryOffset(t *testing.T) {
	const token = "sha256~Zm9vYmFyYmF6cXV4"
	tests := []struct {
		name    string
		secrets []string
		text    string
	}{
		{"token in a line", []string{token}, "error: Unauthorized, token " + token + " rejected\n"},
		{"token at the end, no newline", []string{token}, "the token is " + token},
		{"token at the start", []string{token}, token + " was sent\n"},
		{"token alone", []string{token}, token},
		{"token twice, apart", []string{token}, token + " and " + token + "\n"},
		{"token twice, adjacent", []string{token}, token + token + "\n"},
		{"token quoted", []string{token}, `{"token":"` + token + `"}` + "\n"},
		{"token in base64", []string{token}, "data: " + base64.StdEncoding.EncodeToString([]byte(token)) + "\n"},
		{"almost the token", []string{token}, "sha256~Zm9vYmFyYmF6cXV sha256~ sha\n"},
		{"a prefix of the token at the end", []string{token}, "output ends with sha256~Zm9v"},
		{"two secrets, one inside the other's text", []string{"hunter2-s3cret", "s3cret-and-more"}, "x hunter2-s3cret-and-more y\n"},
		{"multi-line secret", []string{"line-one\nline-two"}, "a line-one\nline-two b\n"},
		{"no secret in the text", []string{token}, "nothing to hide here\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := NewRedactor(tt.secrets...)
			want := red.String(tt.text)
			for _, s := range tt.secrets {
				if strings.Contains(want, s) {
					t.Fatalf("String(%q) = %q keeps a secret: the test is wrong", tt.text, want)
				}
			}
			for cut := 0; cut <= len(tt.text); cut++ {
				var out bytes.Buffer
				st := NewStream(&out, red)
				for _, part := range []string{tt.text[:cut], tt.text[cut:]} {
					if n, err := st.Write([]byte(part)); n != len(part) || err != nil {
						t.Fatalf("Write(%q) = %d, %v", part, n, err)
					}
				}
				if err := st.Flush(); err != nil {
					t.Fatal(err)
				}
				if out.String() != want {
					t.Errorf("cut at %d (%q | %q): wrote %q, want %q", cut, tt.text[:cut], tt.text[cut:], out.String(), want)
				}
			}
			for i := 0; i <= len(tt.text); i++ {
				for j := i; j <= len(tt.text); j++ {
					var out bytes.Buffer
					st := NewStream(&out, red)
					st.Write([]byte(tt.text[:i]))
					st.Write([]byte(tt.text[i:j]))
					st.Write([]byte(tt.text[j:]))
					st.Flush()
					if out.String() != want {
						t.Fatalf("cut at %d and %d: wrote %q, want %q", i, j, out.String(), want)
					}
				}
			}
			var out bytes.Buffer
			st := NewStream(&out, red)
			for i := 0; i < len(tt.text); i++ {
				st.Write([]byte{tt.text[i]})
			}
			st.Flush()
			if out.String() != want {
				t.Errorf("a byte a write: wrote %q, want %q", out.String(), want)
			}
		})
	}
}

// TestStreamHoldsBackOnlyAPossibleStart checks that a write whose end
// cannot start a secret goes out at once (the progress is not delayed), and
// that what is held back is bounded by the longest form, however much text
// that could start a secret is written.
func TestStreamHoldsBackOnlyAPossibleStart(t *testing.T) {
	red := NewRedactor("SECRET-TOKEN")
	var out bytes.Buffer
	st := NewStream(&out, red)
	st.Write([]byte("step 1 passed\n"))
	if got := out.String(); got != "step 1 passed\n" {
		t.Errorf("a line that cannot start a secret: wrote %q at once, want all of it", got)
	}
	out.Reset()
	st.Write([]byte("value: SECRET-TO"))
	if got := out.String(); got != "value: " {
		t.Errorf("wrote %q before the rest of the write, want %q (the start of the secret held back)", got, "value: ")
	}
	st.Write([]byte("KEN!\n"))
	if got := out.String(); got != "value: ***!\n" {
		t.Errorf("wrote %q, want %q", got, "value: ***!\n")
	}
	for i := 0; i < 1000; i++ {
		st.Write([]byte("SECRET-"))
	}
	if len(st.held) >= red.maxLen {
		t.Errorf("holds back %d bytes, want fewer than the longest form (%d)", len(st.held), red.maxLen)
	}
	st.Flush()
	if strings.Contains(out.String(), "SECRET-TOKEN") {
		t.Errorf("the secret got through: %q", out.String())
	}
}

// TestStreamWithoutSecrets checks that a Stream of a Redactor that knows
// no value holds nothing back.
func TestStreamWithoutSecrets(t *testing.T) {
	var out bytes.Buffer
	st := NewStream(&out, NewRedactor())
	st.Write([]byte("partial line"))
	if out.String() != "partial line" {
		t.Errorf("wrote %q, want the write at once", out.String())
	}
}
