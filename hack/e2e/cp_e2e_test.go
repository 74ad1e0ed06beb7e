//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/kube-runbook/runbook/report"
)

// TestCopyArtifacts runs examples/cp.yaml: a cp from the distroless app's
// container fails and says to copy from a debugger; cp copies a directory
// an ephemeral debugger wrote, the app's binary through the debugger's
// /proc/1/root (cut at maxBytes), and /host/etc/hostname out of a node pod.
// The files must be in the artifact directory with the right content, and
// every report must list them: the Markdown report shows the small text
// files and links the others, relative to itself.
func TestCopyArtifacts(t *testing.T) {
	c := connect(t)
	nodes := c.nodeNames(t)
	ns := c.newNamespace(t, "runbook-e2e-cp-")
	p := newReportPaths(t)
	dir := filepath.Join(t.TempDir(), "evidence")
	run := runCLI(t, append([]string{"run", repoFile("examples/cp.yaml"), "-n", ns, "--artifacts", dir}, p.flags()...)...)
	if run.code != 0 {
		t.Errorf("want exit 0, got:\n%s", run)
	}
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %q (error %q), want passed:%s", res.Verdict, res.Error, describeSteps(res))
	}
	if res.ArtifactDir != dir {
		t.Errorf("artifactDir %q, want %q", res.ArtifactDir, dir)
	}

	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatalf("artifact %s: %v", rel, err)
		}
		return string(b)
	}
	byPath := map[string]report.Artifact{}
	for _, s := range res.Steps {
		for _, a := range s.Artifacts {
			byPath[a.Path] = a
			sum := sha256.Sum256([]byte(read(a.Path)))
			if got := hex.EncodeToString(sum[:]); got != a.SHA256 || int64(len(read(a.Path))) != a.Size {
				t.Errorf("%s: the result says %d bytes sha256 %s, the file has %d bytes sha256 %s", a.Path, a.Size, a.SHA256, len(read(a.Path)), got)
			}
		}
	}
	var paths []string
	for p := range byPath {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	if want := []string{"app/pause", "evidence/note.txt", "evidence/ps.txt", "node/hostname"}; !slices.Equal(paths, want) {
		t.Fatalf("artifacts %q, want %q", paths, want)
	}

	t.Run("the files", func(t *testing.T) {
		if got := read("evidence/note.txt"); got != "written by the debugger\n" {
			t.Errorf("evidence/note.txt = %q", got)
		}
		if got := read("evidence/ps.txt"); !strings.Contains(got, "sleep") && !strings.Contains(got, "sh -c") {
			t.Errorf("evidence/ps.txt does not look like the debugger's ps:\n%s", got)
		}
		if _, err := os.Lstat(filepath.Join(dir, "evidence", "passwd")); !os.IsNotExist(err) {
			t.Errorf("the symlink evidence/passwd was copied: %v", err)
		}
		if got := strings.TrimSpace(read("node/hostname")); !slices.Contains(nodes, got) {
			t.Errorf("node/hostname = %q, want a node's name %v", got, nodes)
		}
		pause := byPath["app/pause"]
		if b := read("app/pause"); len(b) != 4096 || !strings.HasPrefix(b, "\x7fELF") || !pause.Truncated || pause.Text {
			t.Errorf("app/pause: %d bytes, starts %q, truncated %v, text %v; want the first 4096 bytes of an ELF binary, truncated",
				len(b), b[:min(4, len(b))], pause.Truncated, pause.Text)
		}
		note := byPath["evidence/note.txt"]
		if note.Content != "written by the debugger\n" || note.Source != "pod "+ns+"/noshell container debugger:/tmp/evidence/note.txt" {
			t.Errorf("evidence/note.txt: %+v", note)
		}
	})

	t.Run("the steps", func(t *testing.T) {
		if e := res.Steps[1].Error; !strings.Contains(e, "has no tar") || !strings.Contains(e, "path: /proc/1/root/pause") {
			t.Errorf("the cp from the app's container: error %q, want that it has no tar and to use /proc/1/root/pause", e)
		}
		if s := stepByID(t, res, "evidence"); !strings.Contains(s.Stderr, "skipped symlink /tmp/evidence/passwd -> /etc/passwd") {
			t.Errorf("the directory copy's stderr does not name the skipped symlink:\n%s", s.Stderr)
		}
		if s := stepByID(t, res, "hostname"); !strings.HasPrefix(s.Command, "kubectl cp "+ns+"/node-debugger-") ||
			!strings.HasSuffix(s.Command, filepath.Join(dir, "node", "hostname")+" -c debugger") {
			t.Errorf("the hostname copy's kubectl line: %q", s.Command)
		}
	})

	t.Run("Markdown shows the text files and links every file", func(t *testing.T) {
		doc := markdownHTML(t, readFile(t, p.md))
		codes := codeTexts(doc)
		for _, want := range []string{"written by the debugger\n", read("node/hostname")} {
			if !slices.Contains(codes, want) {
				t.Errorf("no <code> holding %q", want)
			}
		}
		var hrefs []string
		for _, a := range elements(doc, atom.A) {
			hrefs = append(hrefs, attr(a, "href"))
		}
		mdDir := filepath.Dir(p.md)
		for _, rel := range paths {
			found := false
			for _, h := range hrefs {
				u, err := url.PathUnescape(h)
				found = found || err == nil && !filepath.IsAbs(u) && filepath.Join(mdDir, filepath.FromSlash(u)) == filepath.Join(dir, filepath.FromSlash(rel))
			}
			if !found {
				t.Errorf("no link, relative to the report, to %s; links: %q", rel, hrefs)
			}
		}
		if !strings.Contains(string(readFile(t, p.md)), "truncated at the step's byte cap") {
			t.Error("the Markdown report does not say app/pause was cut at the cap")
		}
	})

	t.Run("table and JUnit list the files", func(t *testing.T) {
		table := string(readFile(t, p.table))
		for _, want := range []string{"Artifacts in " + dir + " (4 files):", "node/hostname", "app/pause  4.0 KiB (truncated)"} {
			if !strings.Contains(table, want) {
				t.Errorf("the table does not say %q:\n%s", want, table)
			}
		}
		suites, err := junit.IngestFile(p.junit)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for _, tc := range suites[0].Tests {
			out.WriteString(tc.SystemOut)
		}
		for _, rel := range paths {
			if want := "[[ATTACHMENT|" + filepath.Join(dir, filepath.FromSlash(rel)) + "]]"; !strings.Contains(out.String(), want) {
				t.Errorf("JUnit system-out lacks %s", want)
			}
		}
	})

	t.Run("JSON follows schemas/result.schema.json", func(t *testing.T) {
		validateResult(t, p.json)
	})
}

// attr returns the value of an element's attribute, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
