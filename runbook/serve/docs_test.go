package serve

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsRoutesLoad loads the routes file docs/in-cluster.md shows, next to
// the runbook it names (examples/incidents/), as a reader would use it.
func TestDocsRoutesLoad(t *testing.T) {
	b, err := os.ReadFile("../../docs/in-cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)\n```").FindAllStringSubmatch(string(b), -1)
	dir := t.TempDir()
	loaded := 0
	for _, m := range blocks {
		if !strings.Contains(m[1], "kind: Routes") {
			continue
		}
		name := regexp.MustCompile(`(?m)^\s+runbook: (\S+)`).FindStringSubmatch(m[1])
		if name == nil {
			t.Fatalf("the routes block names no runbook:\n%s", m[1])
		}
		rb, err := os.ReadFile(filepath.Join("../../examples/incidents", name[1]))
		if err != nil {
			t.Fatalf("the routes block names %s, which is not in examples/incidents: %v", name[1], err)
		}
		if err := os.WriteFile(filepath.Join(dir, name[1]), rb, 0o644); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "routes.yaml")
		if err := os.WriteFile(file, []byte(m[1]+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadRoutes(file); err != nil {
			t.Errorf("the routes file of docs/in-cluster.md does not load:\n%v", err)
		}
		loaded++
	}
	if loaded == 0 {
		t.Fatal("docs/in-cluster.md shows no routes file (kind: Routes)")
	}
}
