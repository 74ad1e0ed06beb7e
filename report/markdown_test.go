package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// toHTML converts Markdown the way GitHub does (GFM tables and the rest),
// letting raw HTML through so that any that escaped the renderer shows.
func toHTML(t *testing.T, md []byte) string {
	t.Helper()
	var out bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))
	if err := gm.Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// escapeHTML escapes text the way goldmark does in code blocks.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// TestMarkdownShowsEveryOutputInACodeBlock converts each report to HTML
// and checks that every step's stdout and stderr is there whole, as the
// content of one code block.
func TestMarkdownShowsEveryOutputInACodeBlock(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			page := toHTML(t, render(t, "md", fx))
			for _, l := range leaves(fx.result()) {
				for _, out := range []string{l.step.Stdout, l.step.Stderr} {
					if out == "" {
						continue
					}
					block := `<pre><code class="language-text">` + escapeHTML(out) + "</code></pre>"
					if !strings.Contains(page, block) {
						t.Errorf("step %q: the HTML lacks its output as a code block:\n%s", l.title(), block)
					}
				}
			}
		})
	}
}

// TestMarkdownShowsTheSeedsThreeOutputs checks the passed run's HTML for the
// three outputs of the seed: /pause seen from an ephemeral container, both
// /pause seen from a copy, the node's hostname read through /host.
func TestMarkdownShowsTheSeedsThreeOutputs(t *testing.T) {
	page := toHTML(t, render(t, "md", fixtureCase{"passed", passedResult}))
	for _, want := range []string{
		"<pre><code class=\"language-text\">PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n   14 root      0:00 ps -ef\n</code></pre>",
		"    1 65535     0:00 /pause\n    7 65535     0:00 /pause\n   13 root      0:00 sleep 3600\n",
		"<pre><code class=\"language-text\">runbook-control-plane\n</code></pre>",
		"<pre><code class=\"language-sh\">kubectl debug noshell -n default --image=busybox:1.36 --target=app -c debugger -- ps -ef\n</code></pre>",
		"<h1>Runbook distroless-three-ways: PASSED</h1>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
}

// TestMarkdownHostileContentStaysInside checks that output, names and
// errors full of fences and HTML produce exactly the structure the renderer
// meant: one <details> (the folded stdout), no live HTML from the content,
// headings and table rows intact.
func TestMarkdownHostileContentStaysInside(t *testing.T) {
	page := toHTML(t, render(t, "md", fixtureCase{"hostile", hostileResult}))
	counts := map[string]int{
		"<details>":  1,
		"</details>": 1,
		"<summary>":  1,
		"<script":    0,
		"<img":       0,
		"<b>":        0,
		"<!--":       0,
		"<h2>":       5, // What failed, Summary, Steps, Cleanup, Timeline
		"<h3>":       3, // the two steps and "Could not be removed": nothing from the output
		"<table>":    3, // facts, summary, timeline (cleanup deleted nothing)
	}
	for tag, want := range counts {
		if got := strings.Count(page, tag); got != want {
			t.Errorf("%s occurs %d times in the HTML, want %d", tag, got, want)
		}
	}
	// The summary table keeps 7 cells in each of its 2 rows.
	summary := page[strings.Index(page, "<h2>Summary</h2>"):strings.Index(page, "<h2>Steps</h2>")]
	if got := strings.Count(summary, "<td"); got != 14 {
		t.Errorf("the summary table has %d cells, want 14:\n%s", got, summary)
	}
	for _, want := range []string{
		"<td>Print `README` | &lt;b&gt;bold&lt;/b&gt; &lt;/details&gt;</td>",
		"<h3>✅ 1. Print `README` | &lt;b&gt;bold&lt;/b&gt; &lt;/details&gt;</h3>",
		"<code>&quot;&lt;/details&gt;\\n&lt;details&gt;`x`|y&quot;</code>",
		"<code>stdout contains &quot;```&quot;</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
}

// fencedBlock is a fenced code block found in Markdown.
type fencedBlock struct {
	fence   int // length of the opening backtick run
	longest int // longest backtick run in the content
	closed  bool
}

// fencedBlocks finds the top-level backtick-fenced blocks of md as
// CommonMark does: a block opens with a line of 3 or more backticks (and an
// info string without backticks) and closes with a line of at least as many
// backticks and nothing else. inside tells for each line of md whether it
// belongs to a block, fences included.
func fencedBlocks(md string) (blocks []fencedBlock, inside []bool) {
	opening := regexp.MustCompile("^(`{3,})[^`]*$")
	closing := regexp.MustCompile("^(`{3,})\\s*$")
	var cur *fencedBlock
	for _, line := range strings.Split(md, "\n") {
		if cur == nil {
			if m := opening.FindStringSubmatch(line); m != nil {
				blocks = append(blocks, fencedBlock{fence: len(m[1])})
				cur = &blocks[len(blocks)-1]
			}
			inside = append(inside, cur != nil)
			continue
		}
		inside = append(inside, true)
		if m := closing.FindStringSubmatch(line); m != nil && len(m[1]) >= cur.fence {
			cur.closed = true
			cur = nil
			continue
		}
		cur.longest = max(cur.longest, longestRun(line, '`'))
	}
	return blocks, inside
}

func TestMarkdownFencesAreLongerThanTheirContent(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			blocks, _ := fencedBlocks(string(render(t, "md", fx)))
			if len(blocks) == 0 && len(fx.result().Steps) > 0 {
				t.Fatal("no fenced block found")
			}
			for i, b := range blocks {
				if !b.closed {
					t.Errorf("block %d is never closed", i)
				}
				if b.longest >= b.fence {
					t.Errorf("block %d has a fence of %d backticks around a run of %d", i, b.fence, b.longest)
				}
			}
		})
	}
	t.Run("the hostile stdout gets a fence of five", func(t *testing.T) {
		found := false
		blocks, _ := fencedBlocks(string(render(t, "md", fixtureCase{"hostile", hostileResult})))
		for _, b := range blocks {
			found = found || (b.fence == 5 && b.longest == 4)
		}
		if !found {
			t.Error("no block with a fence of 5 around the 4-backtick run")
		}
	})
}

func TestMarkdownDetailsAreSeparatedFromTheirFence(t *testing.T) {
	md := string(render(t, "md", fixtureCase{"hostile", hostileResult}))
	lines := strings.Split(md, "\n")
	_, inside := fencedBlocks(md)
	summaries := 0
	for i, line := range lines {
		if inside[i] {
			continue
		}
		if strings.HasPrefix(line, "<summary>") {
			summaries++
			if i+1 >= len(lines) || lines[i+1] != "" {
				t.Errorf("line %d: <summary> is not followed by a blank line", i+1)
			}
		}
		if line == "</details>" && lines[i-1] != "" {
			t.Errorf("line %d: </details> is not preceded by a blank line", i+1)
		}
	}
	if summaries != 1 {
		t.Errorf("found %d <summary> lines, want 1", summaries)
	}
}

func TestMarkdownFoldsLongOutputOnly(t *testing.T) {
	tests := []struct {
		name   string
		stdout string
		folded bool
	}{
		{"20 lines", strings.Repeat("line\n", 20), false},
		{"21 lines", strings.Repeat("line\n", 21), true},
		{"2000 bytes", strings.Repeat("x", 1999) + "\n", false},
		{"2001 bytes", strings.Repeat("x", 2000) + "\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := passedResult()
			r.Steps[2].Stdout = tt.stdout
			md := string(renderResult(t, "md", r))
			if got := strings.Contains(md, "<summary>stdout"); got != tt.folded {
				t.Errorf("folded = %v, want %v", got, tt.folded)
			}
		})
	}
}

func TestMarkdownTruncatesHugeOutput(t *testing.T) {
	line := strings.Repeat("a", 99) + "\n"
	r := passedResult()
	r.Steps[2].Stdout = strings.Repeat(line, 1000) // 100,000 bytes
	md := string(renderResult(t, "md", r))
	shown := MaxMarkdownOutputBytes / 100 * 100 // cut on the last line boundary
	note := fmt.Sprintf("(output truncated: %d bytes more; full output in the JSON result)", 100000-shown)
	if !strings.Contains(md, note) {
		t.Errorf("the report lacks the note %q", note)
	}
	if strings.Count(md, line) != shown/100 {
		t.Errorf("the report shows %d lines of output, want %d", strings.Count(md, line), shown/100)
	}
	if len(md) > MaxMarkdownOutputBytes+20000 {
		t.Errorf("the report is %d bytes long", len(md))
	}
	// The executor's own cut is mentioned too.
	r.Steps[2].Stdout, r.Steps[2].StdoutTruncated = "short\n", true
	if md := string(renderResult(t, "md", r)); !strings.Contains(md, "(output truncated by the run at 1048576 bytes; the rest was not kept)") {
		t.Error("the report does not say that the executor cut the output")
	}
}

func TestTableTruncatesHugeOutput(t *testing.T) {
	r := failedResult()
	r.Steps[1].Stderr = strings.Repeat("x", 5000) + "\n" + strings.Repeat("line\n", 500)
	out := string(renderResult(t, "table", r))
	if !strings.Contains(out, "stderr (output truncated: last 10 of 501 lines; full output in the JSON result):") {
		t.Errorf("the table lacks the truncation note:\n%s", out)
	}
	if strings.Count(out, "line") < 10 || strings.Contains(out, strings.Repeat("x", 300)) {
		t.Errorf("the table shows the wrong part of the output:\n%s", out)
	}
}

// renderResult renders r in a format.
func renderResult(t *testing.T, format string, r *Result) []byte {
	t.Helper()
	return render(t, format, fixtureCase{"x", func() *Result { return r }})
}

func TestTableNeutralisesTerminalEscapes(t *testing.T) {
	r := failedResult()
	r.Steps[1].Name = "evil \x1b]0;title\x07 name"
	r.Steps[1].Stderr = "\x1b[2J\x1b[Hscreen cleared\n"
	out := string(renderResult(t, "table", r))
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("the table passes control characters through:\n%q", out)
	}
	if !strings.Contains(out, `\x1b[2J\x1b[Hscreen cleared`) {
		t.Errorf("the escape sequence is not shown as text:\n%s", out)
	}
}

func TestMdCode(t *testing.T) {
	tests := map[string]string{
		"plain":          "`plain`",
		"":               "-",
		"a`b":            "``a`b``",
		"```":            "```` ``` ````",
		"`start":         "`` `start ``",
		"two\nlines":     "`two↵lines`",
		" padded ":       "`  padded  `",
		"<b>&amp;</b>":   "`<b>&amp;</b>`",
		"pipe | in code": "`pipe | in code`",
	}
	for in, want := range tests {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMdText(t *testing.T) {
	tests := map[string]string{
		"plain words":           "plain words",
		"*bold* _it_ `code`":    `\*bold\* \_it\_ \` + "`code\\`",
		"<script>&amp;":         `\<script\>\&amp;`,
		"[link](x) | ~strike~":  `\[link\](x) \| \~strike\~`,
		"heading #":             `heading \#`,
		"back\\slash":           `back\\slash`,
		"two\nlines\r\n  three": "two lines three",
		"- not a list":          `\- not a list`,
		"+ nor this":            `\+ nor this`,
		"---":                   `\---`,
		"1. not ordered":        `1\. not ordered`,
		"12) nor this":          `12\) nor this`,
		"10 pods, 2-3 ready.":   "10 pods, 2-3 ready.",
	}
	for in, want := range tests {
		if got := mdText(in); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMdCell(t *testing.T) {
	tests := map[string]string{
		"a|b":                 "a\\|b",
		"a\\|b":               "a\\|b",     // text mdText escaped already
		"a\\\\|b":             "a\\\\\\|b", // an escaped backslash, then a bare pipe
		"`x|y`":               "`x\\|y`",
		"`x\\|y`":             "`x\\\\|y`", // a code span holding x\|y: GitHub drops the added backslash only
		"``a`|b``":            "``a`\\|b``",
		"\\`x|y\\`":           "\\`x\\|y\\`", // escaped backticks open no span
		"`open|":              "`open\\|",    // nor an unclosed run
		"no pipes":            "no pipes",
		"||":                  "\\|\\|",
		"\\" + "|end":         "\\|end",
		"`a` | `b|c` \\| `d`": "`a` \\| `b\\|c` \\| `d`",
	}
	for in, want := range tests {
		if got := mdCell(in); got != want {
			t.Errorf("mdCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarkdownCutsLongVars: a var a step set from a whole output (set:
// {log: stdout}) is shown in the facts cut, as assertion values are, not
// as a cell of a megabyte.
func TestMarkdownCutsLongVars(t *testing.T) {
	r := passedResult()
	r.Vars["log"] = strings.Repeat("line of log\n", 100000)
	md := string(renderResult(t, "md", r))
	if len(md) > 30000 {
		t.Errorf("the report is %d bytes long", len(md))
	}
	want := "| Var `log` | `" + strings.Repeat("line of log↵", 24) + "line of log…` (1200000 characters; full value in the JSON result) |"
	if !strings.Contains(md, want) {
		t.Errorf("the report lacks the cut var:\n%s", want)
	}
	if !strings.Contains(md, "| Var `image` | `busybox:1.36` |") {
		t.Error("a short var is not shown whole")
	}
}
