package report

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
)

// wrapLinesQuadratic and wrapToWidthQuadratic are wrapLines and
// wrapToWidth as they were before they were made linear: the reference
// the linear ones must agree with, byte for byte.
func wrapLinesQuadratic(text string, width int) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for len([]rune(line)) > width {
			r := []rune(line)
			cut := width
			if i := strings.LastIndex(string(r[:width]), " "); i > width/2 {
				cut = len([]rune(string(r[:width])[:i]))
			}
			out = append(out, string(r[:cut]))
			line = strings.TrimLeft(string(r[cut:]), " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func wrapToWidthQuadratic(text string, width int) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		nl := strings.HasSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\n")
		indent := strings.Repeat(" ", min(len(line)-len(strings.TrimLeft(line, " "))+2, width/2))
		first := true
		for runewidth.StringWidth(line) > width {
			cut := runewidth.Truncate(line, width, "")
			if i := strings.LastIndex(cut, " "); i > len(indent)+width/4 {
				cut = cut[:i]
			}
			if cut == "" || strings.TrimSpace(cut) == strings.TrimSpace(indent) {
				_, n := utf8.DecodeRuneInString(strings.TrimLeft(line, " "))
				cut = line[:len(line)-len(strings.TrimLeft(line, " "))+n]
			}
			b.WriteString(cut + "\n")
			line = indent + strings.TrimLeft(line[len(cut):], " ")
			if !first && len(strings.TrimSpace(line)) == 0 {
				break
			}
			first = false
		}
		b.WriteString(line)
		if nl {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// wrapPieces are what random lines are made of: spaces and tabs, wide
// and combining characters, emoji sequences and flags (grapheme clusters
// of several runes), invalid UTF-8, line breaks.
var wrapPieces = []string{
	"a", "b", "word", " ", " ", "  ", "\t", "界", "é", "e\u0301", "\u0301", "👍", "👩\u200d💻", "\u200d",
	"🇫🇷", "🇫", "\xff", "\n", "x", "-", "longwordwithoutspaces",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(wrapPieces[rng.IntN(len(wrapPieces))])
	}
	return b.String()
}

// TestWrapLinearAsBefore checks that the one-pass wrapLines and
// wrapToWidth cut every line where the old ones, which measured the whole
// rest of the line for every piece, did.
func TestWrapLinearAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		text := randomText(rng, rng.IntN(200))
		if i%3 == 0 {
			text = strings.Repeat(" ", rng.IntN(12)) + text // indented lines
		}
		width := 1 + rng.IntN(40)
		if got, want := wrapLines(text, width), wrapLinesQuadratic(text, width); got != want {
			t.Fatalf("wrapLines(%q, %d) =\n%q\nwant\n%q", text, width, got, want)
		}
		if got, want := wrapToWidth(text, width), wrapToWidthQuadratic(text, width); got != want {
			t.Fatalf("wrapToWidth(%q, %d) =\n%q\nwant\n%q", text, width, got, want)
		}
	}
	// Long lines, a window of fitWidth being too short at first.
	for _, text := range []string{
		strings.Repeat("\u0301", 5000) + "a b c",
		strings.Repeat("\t", 3000) + strings.Repeat("x ", 300),
		strings.Repeat(" ", 3000) + "x",
		"x" + strings.Repeat(" ", 3000),
		randomText(rng, 20000),
	} {
		for _, width := range []int{1, 7, 80} {
			if got, want := wrapLines(text, width), wrapLinesQuadratic(text, width); got != want {
				t.Fatalf("wrapLines(%.40q..., %d) differs", text, width)
			}
			if got, want := wrapToWidth(text, width), wrapToWidthQuadratic(text, width); got != want {
				t.Fatalf("wrapToWidth(%.40q..., %d) differs", text, width)
			}
		}
	}
}

// TestWrapHugeLine wraps a 1 MiB line, which the old code took a minute
// for: the result is every word of it, in order, in rows that fit.
func TestWrapHugeLine(t *testing.T) {
	line := strings.Repeat("error: the quick brown fox jumps over the lazy dog ", 1<<20/50)
	words := strings.Fields(line)
	md := wrapLines(line, mdWrapWidthForTest)
	for _, row := range strings.Split(md, "\n") {
		if n := utf8.RuneCountInString(row); n > mdWrapWidthForTest {
			t.Fatalf("wrapLines: a row of %d runes", n)
		}
	}
	if got := strings.Fields(md); strings.Join(got, " ") != strings.Join(words, " ") {
		t.Fatal("wrapLines lost or moved words")
	}
	const width = 80
	term := wrapToWidth(line, width)
	for _, row := range strings.Split(term, "\n") {
		if n := runewidth.StringWidth(row); n > width {
			t.Fatalf("wrapToWidth: a row of %d columns", n)
		}
	}
	if got := strings.Fields(term); strings.Join(got, " ") != strings.Join(words, " ") {
		t.Fatal("wrapToWidth lost or moved words")
	}
}

const mdWrapWidthForTest = 100

func BenchmarkWrapLines1MiB(b *testing.B) {
	line := strings.Repeat("x", 1<<20)
	for b.Loop() {
		wrapLines(line, mdWrapWidthForTest)
	}
}

func BenchmarkWrapToWidth1MiB(b *testing.B) {
	line := strings.Repeat("word ", 1<<20/5)
	for b.Loop() {
		wrapToWidth(line, 80)
	}
}
