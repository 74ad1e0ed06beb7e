//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	junit "github.com/joshdk/go-junit"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/kube-runbook/runbook/report"
)

// TestReportsDistroless runs examples/distroless.yaml once with all four
// reports and reads each one as its consumer would: the JUnit with a JUnit
// parser, the Markdown turned into HTML by a GFM renderer, the JSON against
// the project's JSON Schema; `runbook report` re-renders the saved JSON
// into the same bytes.
func TestReportsDistroless(t *testing.T) {
	c := connect(t)
	nodes := c.nodeNames(t)
	ns := c.newNamespace(t, "runbook-e2e-rep-")
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", repoFile("examples/distroless.yaml"), "-n", ns}, p.flags()...)...)
	if run.code != 0 {
		t.Errorf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %q, want passed:%s", res.Verdict, describeSteps(res))
	}

	t.Run("table", func(t *testing.T) {
		table := string(readFile(t, p.table))
		if table != run.stdout {
			t.Errorf("--report table differs from the table printed at the end (-o table):\n%s", cmp.Diff(run.stdout, table))
		}
		for _, want := range []string{"Attach busybox targeting app", "PASSED", res.RunID} {
			if !strings.Contains(table, want) {
				t.Errorf("the table does not mention %q:\n%s", want, table)
			}
		}
	})

	t.Run("JUnit parsed by a JUnit consumer", func(t *testing.T) {
		suites, err := junit.IngestFile(p.junit)
		if err != nil {
			t.Fatalf("go-junit cannot read %s: %v", p.junit, err)
		}
		if len(suites) != 1 {
			t.Fatalf("%d test suites, want 1 per runbook", len(suites))
		}
		s := suites[0]
		if s.Name != res.Runbook.Name || s.Properties["runId"] != res.RunID {
			t.Errorf("suite %q with runId %q, want %q and %q", s.Name, s.Properties["runId"], res.Runbook.Name, res.RunID)
		}
		var got, want []string
		for _, tc := range s.Tests {
			got = append(got, fmt.Sprintf("%s: %s", tc.Name, tc.Status))
		}
		for _, st := range res.Steps {
			want = append(want, fmt.Sprintf("%02d %s: %s", st.Index, st.Name, junit.StatusPassed))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("testcases (-want +got):\n%s", diff)
		}
		if tot := s.Totals; tot.Tests != len(distrolessKinds) || tot.Passed != tot.Tests || tot.Failed != 0 || tot.Error != 0 {
			t.Errorf("totals %+v, want %d tests all passed", tot, len(distrolessKinds))
		}
		i := slices.IndexFunc(s.Tests, func(tc junit.Test) bool { return strings.HasPrefix(tc.Name, "03 ") })
		if i < 0 || !pauseLine.MatchString(s.Tests[i].SystemOut) {
			t.Errorf("the debug step's testcase has no `1 65535 /pause` in system-out")
		}
	})

	t.Run("Markdown as HTML shows the seed's three outputs", func(t *testing.T) {
		doc := markdownHTML(t, readFile(t, p.md))
		codes := codeTexts(doc)
		if !slices.ContainsFunc(codes, pauseLine.MatchString) {
			t.Errorf("no <code> with the line `1 65535 /pause`; code blocks:\n%s", strings.Join(codes, "\n---\n"))
		}
		if !slices.ContainsFunc(codes, func(code string) bool {
			lines := parsePS(code)
			return len(byCommand(lines, "/pause")) == 2 && len(byCommand(lines, "sleep 3600")) == 1
		}) {
			t.Errorf("no <code> with two /pause and one `sleep 3600`; code blocks:\n%s", strings.Join(codes, "\n---\n"))
		}
		if !slices.ContainsFunc(codes, func(code string) bool {
			return slices.Contains(nodes, strings.TrimSpace(code))
		}) {
			t.Errorf("no <code> holding just a node's name %v; code blocks:\n%s", nodes, strings.Join(codes, "\n---\n"))
		}
		// A human can repeat each debug mode from the report.
		for _, want := range []string{
			"kubectl debug noshell -n " + ns,
			"--target=app",
			"--copy-to=noshell-dbg",
			"--share-processes",
			"kubectl debug node/",
			"kubectl exec noshell-dbg -n " + ns,
		} {
			if !slices.ContainsFunc(codes, func(code string) bool { return strings.Contains(code, want) }) {
				t.Errorf("no <code> with %q", want)
			}
		}
		// The summary is a GFM table: a row per step, and one (with no
		// number) naming the parallel group.
		var rows [][]string
		groups := 0
		for _, row := range tableRows(doc, "Step") {
			if len(row) > 1 && row[0] == "" {
				groups++
				if !strings.Contains(row[1], "parallel group 1") {
					t.Errorf("a summary row without a number that names no group: %q", row)
				}
				continue
			}
			rows = append(rows, row)
		}
		if groups != 1 {
			t.Errorf("%d group rows in the summary, want 1 (the seed's parallel group)", groups)
		}
		if len(rows) != len(res.Steps) {
			t.Errorf("summary table has %d rows, want %d: %q", len(rows), len(res.Steps), rows)
		}
		for i, row := range rows {
			if !slices.ContainsFunc(row, func(cell string) bool { return strings.Contains(cell, "passed") }) {
				t.Errorf("summary row %d does not say passed: %q", i+1, row)
			}
		}
	})

	t.Run("runbook report re-renders the same bytes", func(t *testing.T) {
		for _, f := range []struct{ format, path string }{
			{"md", p.md}, {"json", p.json}, {"junit", p.junit}, {"table", p.table},
		} {
			again := runCLI(t, "report", p.json, "-o", f.format)
			if again.code != 0 {
				t.Errorf("report -o %s: want exit 0, got:\n%s", f.format, again)
				continue
			}
			if want := string(readFile(t, f.path)); again.stdout != want {
				t.Errorf("report -o %s differs from --report %s=PATH:\n%s", f.format, f.format, cmp.Diff(want, again.stdout))
			}
		}
	})

	t.Run("JSON follows schemas/result.schema.json", func(t *testing.T) {
		validateResult(t, p.json)
	})
}

// TestReportsOnFailure checks that a failed run and an interrupted run
// still write every requested report, and that their JUnit tells CI so.
func TestReportsOnFailure(t *testing.T) {
	c := connect(t)
	tests := []struct {
		name     string
		file     string
		signalAt *regexp.Regexp // when set, SIGINT at this progress line
		code     int
		verdict  report.Verdict
		// The testcase that carries the failure, its status and message.
		caseName   string
		caseStatus junit.Status
		message    *regexp.Regexp
	}{
		{
			name:       "failed run",
			file:       "testdata/pull-failure.yaml",
			code:       1,
			verdict:    report.VerdictFailed,
			caseName:   "02 Attach an image that cannot be pulled",
			caseStatus: junit.StatusFailed,
			message:    regexp.MustCompile(`ErrImagePull|ImagePullBackOff`),
		},
		{
			name:       "interrupted run",
			file:       repoFile("examples/distroless-sequential.yaml"),
			signalAt:   regexp.MustCompile(`waiting for ephemeral container debugger`),
			code:       130,
			verdict:    report.VerdictInterrupted,
			caseName:   "03 Attach busybox targeting app",
			caseStatus: junit.StatusError,
			message:    regexp.MustCompile(`(?i)interrupted`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := c.newNamespace(t, "runbook-e2e-repfail-")
			p := newReportPaths(t)
			live := startCLI(t, append([]string{"run", tt.file, "-n", ns}, p.flags()...)...)
			if tt.signalAt != nil {
				live.waitLine(tt.signalAt)
				live.signal(syscall.SIGINT)
			}
			run := live.wait()
			if run.code != tt.code {
				t.Errorf("want exit %d, got:\n%s", tt.code, run)
			}
			res := readResult(t, p.json)
			defer c.assertNoneLeft(t, res.RunID)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %q, want %q", res.Verdict, tt.verdict)
			}
			t.Run("JSON follows schemas/result.schema.json", func(t *testing.T) {
				validateResult(t, p.json)
			})

			table := string(readFile(t, p.table))
			if !strings.Contains(table, strings.ToUpper(string(tt.verdict))) {
				t.Errorf("the table does not say %s:\n%s", strings.ToUpper(string(tt.verdict)), table)
			}

			doc := markdownHTML(t, readFile(t, p.md))
			h1 := elementTexts(doc, atom.H1)
			if len(h1) != 1 || !strings.HasSuffix(h1[0], strings.ToUpper(string(tt.verdict))) {
				t.Errorf("Markdown title %q, want one ending in %s", h1, strings.ToUpper(string(tt.verdict)))
			}

			suites, err := junit.IngestFile(p.junit)
			if err != nil || len(suites) != 1 {
				t.Fatalf("go-junit read %d suites from %s: %v", len(suites), p.junit, err)
			}
			s := suites[0]
			i := slices.IndexFunc(s.Tests, func(tc junit.Test) bool { return tc.Name == tt.caseName })
			if i < 0 {
				t.Fatalf("no testcase %q in the JUnit", tt.caseName)
			}
			tc := s.Tests[i]
			if tc.Status != tt.caseStatus || !tt.message.MatchString(tc.Message) {
				t.Errorf("testcase %q: %s %q, want %s with a message matching %q", tc.Name, tc.Status, tc.Message, tt.caseStatus, tt.message)
			}
			if s.Totals.Failed+s.Totals.Error == 0 {
				t.Errorf("the JUnit has no failure nor error: %+v", s.Totals)
			}
			for _, later := range s.Tests[i+1:] {
				if later.Status != junit.StatusSkipped {
					t.Errorf("testcase %q after the failure: %s, want skipped", later.Name, later.Status)
				}
			}
		})
	}
}

// validateResult checks a JSON result against the JSON Schema the project
// generates for results (schemas/result.schema.json), as a tool reading it
// would.
func validateResult(t *testing.T, path string) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(repoFile("schemas/result.schema.json"))
	if err != nil {
		t.Fatalf("compiling schemas/result.schema.json: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening the result: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("reading the result: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("the JSON result does not follow schemas/result.schema.json:\n%v", err)
	}
}

// markdownHTML renders Markdown to HTML as GitHub does (CommonMark with the
// GFM extensions, raw HTML such as <details> allowed) and parses the HTML.
func markdownHTML(t *testing.T, md []byte) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := gm.Convert(md, &buf); err != nil {
		t.Fatalf("goldmark: %v", err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatalf("parsing goldmark's HTML: %v", err)
	}
	return doc
}

// text returns the text content of n, entities decoded.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// elements returns every element of the tree with the given tag, in
// document order.
func elements(n *html.Node, tag atom.Atom) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// elementTexts returns the text of every element with the given tag.
func elementTexts(doc *html.Node, tag atom.Atom) []string {
	var out []string
	for _, e := range elements(doc, tag) {
		out = append(out, text(e))
	}
	return out
}

// codeTexts returns the text of every <code> element: fenced blocks and
// inline code.
func codeTexts(doc *html.Node) []string { return elementTexts(doc, atom.Code) }

// tableRows returns the body rows, as cell texts, of the first table with
// a header cell named header.
func tableRows(doc *html.Node, header string) [][]string {
	for _, table := range elements(doc, atom.Table) {
		if !slices.Contains(elementTexts(table, atom.Th), header) {
			continue
		}
		var rows [][]string
		for _, body := range elements(table, atom.Tbody) {
			for _, tr := range elements(body, atom.Tr) {
				rows = append(rows, elementTexts(tr, atom.Td))
			}
		}
		return rows
	}
	return nil
}
