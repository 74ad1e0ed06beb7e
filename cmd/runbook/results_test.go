package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kube-runbook/runbook/runbook/incluster"
)

// TestResultsTableEscapesAnnotations: the runbook's name and what was cut
// are annotations of a ConfigMap, which anyone allowed to write one can set;
// `runbook results` must not send their escape sequences to the terminal,
// nor let a tab or a newline break its columns.
func TestResultsTableEscapesAnnotations(t *testing.T) {
	list := []incluster.StoredResult{{
		Namespace: "checks", RunID: "rb-1", Verdict: "passed", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Runbook: "evil\x1b]0;pwned\x07\x1b[2J\tname\nsecond line", Cut: "\x9b31mred",
	}}
	var b bytes.Buffer
	if err := writeResultsTable(&b, list, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\t\u009b") || !utf8.ValidString(out) {
		t.Errorf("control characters reached the table:\n%q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one row, got %d lines:\n%s", len(lines), out)
	}
	if !strings.Contains(lines[1], "evil") || !strings.Contains(lines[1], "second line") || !strings.HasPrefix(lines[1], "checks") {
		t.Errorf("row = %q", lines[1])
	}
}
