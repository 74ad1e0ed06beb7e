package main

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseReportsCommaList checks that --report takes several reports
// separated by commas, as users write it (md=r.md,json=r.json), instead of
// writing one Markdown report to a path named "r.md,json=r.json"; a comma
// not followed by a known format stays in the path.
func TestParseReportsCommaList(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		flags []string
		want  []string // format=path, in order
	}{
		{[]string{"md=" + p("r.md") + ",json=" + p("r.json") + ",junit=" + p("r.xml")},
			[]string{"md=" + p("r.md"), "json=" + p("r.json"), "junit=" + p("r.xml")}},
		{[]string{"md=" + p("a,b.md")}, []string{"md=" + p("a,b.md")}},
		{[]string{"md=" + p("a,pdf=b.md"), "table=" + p("t.txt")}, []string{"md=" + p("a,pdf=b.md"), "table=" + p("t.txt")}},
		{[]string{"markdown=" + p("r.md") + ",table=" + p("t.txt")}, []string{"markdown=" + p("r.md"), "table=" + p("t.txt")}},
	}
	for _, tt := range tests {
		got, err := parseReports(tt.flags)
		if err != nil {
			t.Errorf("parseReports(%q): %v", tt.flags, err)
			continue
		}
		var names []string
		for _, r := range got {
			names = append(names, r.format+"="+r.path)
		}
		if diff := cmp.Diff(tt.want, names); diff != "" {
			t.Errorf("parseReports(%q) (-want +got):\n%s", tt.flags, diff)
		}
	}
	if _, err := parseReports([]string{"md=" + p("r.md") + ",json="}); err == nil {
		t.Error(`parseReports("md=r.md,json="): no error for the empty json path`)
	}
}
