package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// wrappedSecret is a Secret value in the middle of an env file that a
// container prints through base64(1).
const wrappedSecret = "S3cr3t-h3-DBPASS-7Q"

// wrapBase64 is base64 of b as base64(1) -w width prints it: lines of
// width characters, each after indent and ending with eol.
func wrapBase64(b []byte, width int, indent, eol string) string {
	e := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for i := 0; i < len(e); i += width {
		out.WriteString(indent + e[i:min(i+width, len(e))] + eol)
	}
	return out.String()
}

// envWith is an env file with value in the middle, after pad bytes that
// move it along the lines and through the three base64 alignments.
func envWith(value string, pad int) string {
	return "HOME=/root\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\nHOSTNAME=web-7d9f8\n" +
		"PAD=" + strings.Repeat("x", pad) + "\nDB_PW=" + value + "\nTERM=xterm\nLANG=C.UTF-8\n" +
		"KUBERNETES_SERVICE_HOST=10.96.0.1\nKUBERNETES_SERVICE_PORT=443\nSHLVL=1\n"
}

// encodingPieces are the runs of MinSecretLength characters of value's
// base64 encodings that depend on value alone, at each alignment.
func encodingPieces(value string) []string {
	var out []string
	for o := 0; o < 3; o++ {
		e := base64.StdEncoding.EncodeToString(append(make([]byte, o), value...))
		start, end := (8*o+5)/6, 8*(o+len(value))/6
		for i := start; i+MinSecretLength <= end; i++ {
			out = append(out, e[i:i+MinSecretLength])
		}
	}
	return out
}

// unwrap joins the lines of s, without their indentation and line breaks.
func unwrap(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

// TestRedactWrappedBase64 checks a value inside a longer text in base64
// wrapped at 76 (base64) or 64 (openssl) columns, wherever the line breaks
// cut its encoding, at each alignment, with CRLF line breaks and indented:
// the whole text (a report) shows no piece of the encoding, the lines of
// the block the value is not in and the text around survive; line by line
// (the live output), no piece of MinSecretLength characters survives.
func TestRedactWrappedBase64(t *testing.T) {
	red := NewRedactor(wrappedSecret)
	pieces := encodingPieces(wrappedSecret)
	for _, width := range []int{76, 64} {
		for _, layout := range []struct{ indent, eol string }{{"", "\n"}, {"", "\r\n"}, {"    ", "\n"}} {
			for pad := 0; pad < width; pad++ {
				block := wrapBase64([]byte(envWith(wrappedSecret, pad)), width, layout.indent, layout.eol)
				text := "$ env | base64" + layout.eol + block + "exit status 0" + layout.eol
				name := fmt.Sprintf("width %d, indent %q, eol %q, pad %d", width, layout.indent, layout.eol, pad)

				got := red.String(text)
				for _, p := range pieces {
					if strings.Contains(unwrap(got), p) {
						t.Fatalf("%s: the whole text keeps %q of the encoding:\n%s", name, p, got)
					}
				}
				if !strings.HasPrefix(got, "$ env | base64"+layout.eol) || !strings.HasSuffix(got, layout.eol+"exit status 0"+layout.eol) {
					t.Fatalf("%s: the text around the block changed:\n%s", name, got)
				}
				lines := strings.SplitAfter(block, "\n")
				kept := 0
				for _, l := range lines {
					if strings.Contains(got, l) {
						kept++
					}
				}
				if kept < len(lines)-3 {
					t.Fatalf("%s: %d of the block's %d lines are kept, want all but the (at most 3) the value is in:\n%s", name, kept, len(lines), got)
				}

				var live strings.Builder
				for _, l := range strings.SplitAfter(text, "\n") {
					live.WriteString(red.String(l))
				}
				for _, p := range pieces {
					if strings.Contains(unwrap(live.String()), p) {
						t.Fatalf("%s: line by line, %q of the encoding is kept:\n%s", name, p, live.String())
					}
				}
			}
		}
	}
}

// TestRedactWrappedBase64LongValue checks a value whose encoding is longer
// than a line (a key) inside wrapped base64: line by line, the lines
// wholly inside its encoding are masked too.
func TestRedactWrappedBase64LongValue(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	key := make([]byte, 300)
	rnd.Read(key)
	value := base64.RawURLEncoding.EncodeToString(key)
	red := NewRedactor(value)
	pieces := encodingPieces(value)
	for pad := 0; pad < 80; pad += 7 {
		text := wrapBase64([]byte(envWith(value, pad)), 76, "", "\n") + "done\n"
		var live strings.Builder
		for _, l := range strings.SplitAfter(text, "\n") {
			live.WriteString(red.String(l))
		}
		for name, got := range map[string]string{"whole": red.String(text), "line by line": live.String()} {
			for _, p := range pieces {
				if strings.Contains(unwrap(got), p) {
					t.Fatalf("pad %d, %s: %q of the encoding is kept:\n%s", pad, name, p, got)
				}
			}
			if !strings.HasSuffix(got, "\ndone\n") || !strings.HasPrefix(got, text[:20]) {
				t.Fatalf("pad %d, %s: the text around the value changed:\n%s", pad, name, got)
			}
		}
	}
}

// TestRedactWrappedBase64KeepsInnocentText checks that wrapped base64
// without a secret, and lines of text that look like base64, are kept.
func TestRedactWrappedBase64KeepsInnocentText(t *testing.T) {
	red := NewRedactor(wrappedSecret)
	text := wrapBase64([]byte(envWith("not-the-password", 5)), 76, "", "\n") +
		"configmap/web-config-created\nsecret/db-credentials-configured\nDone\n" +
		wrapBase64([]byte(strings.Repeat("innocent text ", 40)), 64, "  ", "\r\n")
	if got := red.String(text); got != text {
		t.Errorf("String changed innocent text:\n%s\nto\n%s", text, got)
	}
}

// TestStreamWrappedBase64 writes wrapped base64 holding a secret to a
// Stream, cut at every offset, a line at a time, a byte at a time and in
// pieces of a few bytes: it writes what String makes of the whole text, so
// no line of a block is written before the line that shows it holds a
// piece of a secret.
func TestStreamWrappedBase64(t *testing.T) {
	red := NewRedactor(wrappedSecret)
	type textCase struct{ name, text string }
	var cases []textCase
	for pad := 0; pad < 76; pad += 5 {
		cases = append(cases,
			textCase{fmt.Sprintf("pad %d", pad), "$ env | base64\n" + wrapBase64([]byte(envWith(wrappedSecret, pad)), 76, "", "\n") + "done\n"},
			textCase{fmt.Sprintf("CRLF, openssl, pad %d", pad), wrapBase64([]byte(envWith(wrappedSecret, pad)), 64, "", "\r\n") + "done"})
	}
	cases = append(cases, textCase{"indented, at the end", "data: |\n" + wrapBase64([]byte(strings.Repeat("x", 50)+wrappedSecret), 76, "  ", "\n")})
	crossing := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			want := red.String(text)
			for _, p := range encodingPieces(wrappedSecret) {
				if strings.Contains(unwrap(want), p) {
					t.Fatalf("String keeps %q of the secret's encoding:\n%s", p, want)
				}
			}
			if strings.Contains(want, "\n"+Redacted+"\n") || strings.Contains(want, "\n"+Redacted+"\r\n") || strings.Contains(want, "  "+Redacted+"\n") {
				crossing++ // a line masked whole: the encoding is cut by a line break
			}
			check := func(how string, parts []string) {
				t.Helper()
				var out bytes.Buffer
				st := NewStream(&out, red)
				for _, p := range parts {
					if n, err := st.Write([]byte(p)); n != len(p) || err != nil {
						t.Fatalf("Write(%q) = %d, %v", p, n, err)
					}
					if len(st.held) > red.maxLen+2*(maxWrapWidth+1) {
						t.Fatalf("%s: holds back %d bytes", how, len(st.held))
					}
				}
				if err := st.Flush(); err != nil {
					t.Fatal(err)
				}
				if out.String() != want {
					t.Fatalf("%s: wrote\n%q\nwant\n%q", how, out.String(), want)
				}
			}
			for cut := 0; cut <= len(text); cut++ {
				check(fmt.Sprintf("cut at %d", cut), []string{text[:cut], text[cut:]})
			}
			check("a line at a time", strings.SplitAfter(text, "\n"))
			for _, size := range []int{1, 3, 7, 50} {
				var parts []string
				for i := 0; i < len(text); i += size {
					parts = append(parts, text[i:min(i+size, len(text))])
				}
				check(fmt.Sprintf("%d bytes at a time", size), parts)
			}
		})
	}
	if crossing < len(cases)/4 {
		t.Errorf("in %d texts of %d only is the secret's encoding cut by a line break: the test proves little", crossing, len(cases))
	}
}

// TestStreamShowsWrappedBase64ThatHoldsNoSecret checks that a Stream
// writes the lines of a block of base64 once the longest form cannot reach
// them any more, before the block ends.
func TestStreamShowsWrappedBase64ThatHoldsNoSecret(t *testing.T) {
	red := NewRedactor(wrappedSecret)
	block := wrapBase64(bytes.Repeat([]byte("innocent text "), 40), 76, "", "\n")
	lines := strings.SplitAfter(block, "\n")
	var out bytes.Buffer
	st := NewStream(&out, red)
	for _, l := range lines[:4] {
		st.Write([]byte(l))
	}
	if !strings.HasPrefix(block, out.String()) || out.Len() < len(lines[0]) {
		t.Errorf("wrote %q of a block of 4 lines so far, want its first lines", out.String())
	}
	st.Write([]byte(strings.Join(lines[4:], "")))
	st.Flush()
	if out.String() != block {
		t.Errorf("wrote %q, want the block as it is", out.String())
	}
}

// TestStreamAsStringOnRandomText writes random texts (wrapped base64 with
// and without secrets, secrets in several forms, masks, line breaks) to a
// Stream in random pieces: it writes what String makes of the whole text,
// and String is idempotent.
func TestStreamAsStringOnRandomText(t *testing.T) {
	secrets := []string{wrappedSecret, "line-one-x\nline-two-y", "tok-0123456789abcdef", "abcd"}
	red := NewRedactor(secrets...)
	rnd := rand.New(rand.NewSource(42))
	frag := func() string {
		switch rnd.Intn(9) {
		case 0:
			return secrets[rnd.Intn(len(secrets))]
		case 1:
			var b []byte
			for i := rnd.Intn(60); i > 0; i-- {
				b = append(b, byte('a'+rnd.Intn(26)))
			}
			if rnd.Intn(2) == 0 {
				b = append(b, secrets[rnd.Intn(len(secrets))]...)
			}
			for i := rnd.Intn(60); i > 0; i-- {
				b = append(b, byte(rnd.Intn(256)))
			}
			w := []int{16, 20, 64, 76}[rnd.Intn(4)]
			eol := []string{"\n", "\r\n"}[rnd.Intn(2)]
			ind := []string{"", "  "}[rnd.Intn(2)]
			return wrapBase64(b, w, ind, eol)
		case 2:
			return "\n"
		case 3:
			return base64.StdEncoding.EncodeToString([]byte(secrets[rnd.Intn(len(secrets))]))
		case 4:
			return "***"
		case 5:
			return "QUJD"
		case 6:
			return "=="
		default:
			return []string{"hello ", "x", "line-one-x\n", "ab", "\r\n", "  ", "S3cr3t-h3"}[rnd.Intn(7)]
		}
	}
	for iter := 0; iter < 400; iter++ {
		var b strings.Builder
		for i := rnd.Intn(12); i >= 0; i-- {
			b.WriteString(frag())
		}
		text := b.String()
		want := red.String(text)
		if red.String(want) != want {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, want, red.String(want))
		}
		for k := 0; k < 5; k++ {
			var out bytes.Buffer
			st := NewStream(&out, red)
			for i := 0; i < len(text); {
				n := 1 + rnd.Intn(1+rnd.Intn(100))
				st.Write([]byte(text[i:min(i+n, len(text))]))
				i += n
			}
			st.Flush()
			if out.String() != want {
				t.Fatalf("text %q\nstream %q\nwant   %q", text, out.String(), want)
			}
		}
	}
}

// largeWrapped is 1 MiB of base64 wrapped at 76 columns, with
// wrappedSecret inside near its end.
func largeWrapped() string {
	rnd := rand.New(rand.NewSource(1))
	data := make([]byte, 3<<18)
	rnd.Read(data)
	copy(data[len(data)-1000:], "\nDB_PASSWORD="+wrappedSecret+"\n")
	return wrapBase64(data, 76, "", "\n")
}

// TestRedactLargeWrappedBase64 checks that a MiB of wrapped base64 is
// redacted in linear time, whole and through a Stream.
func TestRedactLargeWrappedBase64(t *testing.T) {
	red := NewRedactor(wrappedSecret, strings.Repeat("a long secret value, ", 20))
	text := largeWrapped()
	start := time.Now()
	got := red.String(text)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("String of %d bytes took %v", len(text), d)
	}
	if strings.Count(got, Redacted) == 0 || len(got) < len(text)-4*77 {
		t.Fatalf("String masked %d bytes of %d, want the lines of the secret", len(text)-len(got), len(text))
	}
	var out bytes.Buffer
	st := NewStream(&out, red)
	start = time.Now()
	for i := 0; i < len(text); i += 4096 {
		st.Write([]byte(text[i:min(i+4096, len(text))]))
		if len(st.held) > red.maxLen+2*(maxWrapWidth+1) {
			t.Fatalf("holds back %d bytes", len(st.held))
		}
	}
	st.Flush()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a Stream of %d bytes took %v", len(text), d)
	}
	if out.String() != got {
		t.Errorf("the Stream wrote other bytes than String")
	}
}

func BenchmarkRedactLargeWrappedBase64(b *testing.B) {
	red := NewRedactor(wrappedSecret)
	text := largeWrapped()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		red.String(text)
	}
}
