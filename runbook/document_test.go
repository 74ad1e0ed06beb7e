package runbook

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseDocument: another file of the project decoded by the loader's
// rules: typed, strict keys with suggestions, duplicates, the document
// named in messages, positions for later checks with KeyNode.
func TestParseDocument(t *testing.T) {
	type item struct {
		Name  string `yaml:"name"`
		Count int    `yaml:"count"`
	}
	type file struct {
		Kind  string `yaml:"kind"`
		Items []item `yaml:"items"`
	}
	src := "kind: X\nitems:\n- name: a\n  count: two\n- name: b\n  cuont: 1\nextra: 1\nkind: Y\n"
	var f file
	doc := ParseDocument("f.yaml", "the test file", []byte(src), &f)
	if doc.Root == nil {
		t.Fatal("no root")
	}
	doc.Errorf(KeyNode(doc.Root, "items", "1", "name"), "item %q is checked later", f.Items[1].Name)
	doc.Errorf(KeyNode(doc.Root, "items", "7"), "an index past the end is reported at the list")
	var got []string
	for _, e := range doc.Err().(ErrorList) {
		got = append(got, e.Error())
	}
	want := []string{
		`f.yaml:3:1: an index past the end is reported at the list`,
		`f.yaml:4:10: items[0].count: expected a whole number, found "two"`,
		`f.yaml:5:9: item "b" is checked later`,
		`f.yaml:6:3: unknown field "cuont" in items[1] (did you mean "count"?)`,
		`f.yaml:7:1: unknown field "extra" in the test file`,
		`f.yaml:8:1: field "kind" appears twice in the test file`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	doc = ParseDocument("g.yaml", "the test file", []byte("a: [\n"), &f)
	if doc.Root != nil || doc.Err() == nil || !strings.HasPrefix(doc.Err().Error(), "g.yaml:") {
		t.Errorf("a syntax error: root %v, error %v", doc.Root, doc.Err())
	}
	doc = ParseDocument("h.yaml", "the test file", []byte("kind: X\n---\nkind: Y\n"), &f)
	if err := doc.Err(); err == nil || err.Error() != "h.yaml:2:1: one document per file: a second YAML document starts here" {
		t.Errorf("two documents: %v", err)
	}
}
