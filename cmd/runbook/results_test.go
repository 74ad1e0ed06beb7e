package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

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

// TestResultsShowExit: results show says exit 3 when the cluster could not
// be asked, as every command does, and exit 2 only for what the user named.
func TestResultsShowExit(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("no")), exitCluster},
		{fmt.Errorf("listing: %w", &url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection refused")}), exitCluster},
		{errors.New("no stored result of run rb-1 in namespace default"), exitInvalid},
	} {
		if got := showExit(tc.err); got != tc.want {
			t.Errorf("showExit(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
