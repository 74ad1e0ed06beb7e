package report

import (
	"bytes"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// hostileTexts are what a pod name, a log line, an annotation, an
// assertion message or an error may hold that Markdown or HTML would read
// as structure.
var hostileTexts = []string{
	"```", "````x", "</details>", "<details>", "<summary>", "<script>alert(1)</script>", "a <b> c", "<!-- c", "<?php", "<![CDATA[", "<",
	"a|b", "|", "a\\|b", "\\", "a\\", "`", "``", "\\`",
	"a\nb", "a\r\nb", "a\rb", "x\n---",
	"# h", "> q", "- l", "+ x", "1. x", "1) x", "---", "===", "* * *", "- [ ] task", "    indented",
	"\x00\x01\x1b[2J", "\x7f", "\u0085", "\f", "\u202e", "\ufeff", "\u200b", "\xff\xfe", "🔥",
	"&amp;", "&#60;", "[x](javascript:alert(1))", "![i](http://x)", "[^1]", "[x]: http://e",
	"*", "_", "~~s~~", ":smile:", "$x$",
}

// setTexts sets every non-empty free-text string in v (names, outputs,
// errors, messages, values, vars...) to s, leaving the fields whose values
// are the renderers' own vocabulary (statuses, phases, outcomes...).
func setTexts(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setTexts(v.Elem(), s)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			switch v.Type().Field(i).Name {
			case "SchemaVersion", "Verdict", "Status", "Phase", "Verb", "Outcome", "Action", "Policy":
				continue
			}
			setTexts(v.Field(i), s)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			setTexts(v.Index(i), s)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if v.MapIndex(k).Kind() == reflect.String {
				v.SetMapIndex(k, reflect.ValueOf(s))
			}
		}
	case reflect.String:
		if v.String() != "" && v.CanSet() {
			v.SetString(s)
		}
	}
}

// markdownShape is the tree of a Markdown document as GitHub's parser
// (GFM) sees it: one line per node, its kind (a table row with its number
// of cells), adjacent text merged. Text does not show, only structure.
func markdownShape(md []byte) string {
	doc := goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser().Parse(text.NewReader(md))
	var lines []string
	var walk func(n ast.Node, depth int)
	walk = func(n ast.Node, depth int) {
		kind := n.Kind().String()
		switch n := n.(type) {
		case *ast.Text, *ast.String:
			kind = "Text"
		case *extast.TableRow:
			kind = fmt.Sprintf("TableRow of %d", n.ChildCount())
		}
		line := strings.Repeat("  ", depth) + kind
		if kind != "Text" || len(lines) == 0 || lines[len(lines)-1] != line {
			lines = append(lines, line)
		}
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			walk(c, depth+1)
		}
	}
	walk(doc, 0)
	return strings.Join(lines, "\n")
}

// TestMarkdownStructureDoesNotDependOnContent renders every fixture with
// each of its texts replaced by a plain word, then by each hostile text
// (alone, inside other text, on two lines), and checks that GFM parses the
// same document: the same headings, lists, tables with as many cells,
// details and code blocks; no link, emphasis, HTML or list that came from
// the content. Bare URLs are left out: GitHub links them in any text, as
// it would in a comment.
func TestMarkdownStructureDoesNotDependOnContent(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			plain := fx.result()
			setTexts(reflect.ValueOf(plain), "word")
			want := markdownShape(renderResult(t, "md", plain))
			for _, h := range hostileTexts {
				for _, s := range []string{h, "x" + h + "x", "x " + h + " x", h + "\n" + h, "ok\n" + h} {
					r := fx.result()
					setTexts(reflect.ValueOf(r), s)
					md := renderResult(t, "md", r)
					if got := markdownShape(md); got != want {
						t.Errorf("with every text %q the document's structure changes:\n%s", s, firstDifference(want, got))
					}
				}
			}
		})
	}
}

// firstDifference shows where two shapes part, with a few lines around.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) && i < len(g); i++ {
		if w[i] != g[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("want:\n%s\ngot:\n%s", strings.Join(w[lo:min(len(w), i+4)], "\n"), strings.Join(g[lo:min(len(g), i+4)], "\n"))
		}
	}
	return fmt.Sprintf("want %d nodes, got %d", len(w), len(g))
}

// TestMarkdownShowsTextsAsTheyAre renders a step's name, target and a var's
// value made of each hostile text (and a grep pattern with \|) and checks
// what GFM shows: the name as text in its heading, the target and the value
// as code in their table cells, each as it is (on one line, control
// characters as \xNN), nothing lost to escaping, no backslash added.
func TestMarkdownShowsTextsAsTheyAre(t *testing.T) {
	texts := append([]string{`timeout\|refused`, "a\\\\|b", "x`|`y", " both ", "tab\there", "émoji 🔥"}, hostileTexts...)
	heading := regexp.MustCompile(`<h3>✅ 3\. (.*?)</h3>`)
	target := regexp.MustCompile(`<td[^>]*>3</td>\n<td>[^\n]*</td>\n<td>[^\n]*</td>\n<td><code>(.*?)</code></td>`)
	value := regexp.MustCompile(`<td>Var <code>pattern</code></td>\n<td><code>(.*?)</code></td>`)
	for _, s := range texts {
		r := passedResult()
		r.Steps[2].Name, r.Steps[2].Target = s, s
		r.Vars = map[string]string{"pattern": s}
		var out bytes.Buffer
		if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(renderResult(t, "md", r), &out); err != nil {
			t.Fatal(err)
		}
		page := out.String()
		asCode := strings.ReplaceAll(printable(s), "\n", "↵")
		for _, c := range []struct {
			what string
			re   *regexp.Regexp
			want string
		}{{"the heading", heading, oneLine(s)}, {"the target's cell", target, asCode}, {"the var's cell", value, asCode}} {
			m := c.re.FindStringSubmatch(page)
			if m == nil {
				t.Errorf("%q: %s is not found in the HTML", s, c.what)
				continue
			}
			if got := html.UnescapeString(m[1]); got != c.want {
				t.Errorf("%q: %s shows %q, want %q", s, c.what, got, c.want)
			}
		}
	}
}
