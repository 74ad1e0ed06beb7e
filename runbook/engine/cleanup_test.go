package engine

import (
	"strings"
	"testing"

	"github.com/kube-runbook/runbook/report"
)

// TestFailOnCleanup checks that a run whose cleanup failed to delete
// something fails, says what is left and how to remove it, and that a run
// whose cleanup went well keeps its verdict.
func TestFailOnCleanup(t *testing.T) {
	tests := []struct {
		name      string
		verdict   report.Verdict
		deletions []report.Deletion
		want      report.Verdict
		wantErr   string
	}{
		{"all deleted", report.VerdictPassed, []report.Deletion{{Kind: "Pod", Namespace: "ns", Name: "a", Outcome: report.OutcomeDeleted}}, report.VerdictPassed, ""},
		{"a delete was forbidden", report.VerdictPassed,
			[]report.Deletion{{Kind: "Pod", Namespace: "ns", Name: "a", Outcome: report.OutcomeFailed, Error: `pods "a" is forbidden`}},
			report.VerdictFailed, "cleanup could not delete 1 object(s): pod ns/a (pods \"a\" is forbidden); remove them with `runbook cleanup -n ns --run-id rb-1`"},
		{"an interrupted run stays interrupted", report.VerdictInterrupted,
			[]report.Deletion{{Kind: "ClusterRole", Name: "r", Outcome: report.OutcomeFailed, Error: "timeout"}},
			report.VerdictInterrupted, "`runbook cleanup -A --run-id rb-1`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &runner{o: RunOptions{RunID: "rb-1"}, res: &report.Result{Verdict: tt.verdict}}
			r.res.Cleanup.Deletions = tt.deletions
			r.failOnCleanup()
			if r.res.Verdict != tt.want {
				t.Errorf("verdict %s, want %s", r.res.Verdict, tt.want)
			}
			if tt.wantErr == "" && r.res.Error != "" || !strings.Contains(r.res.Error, tt.wantErr) {
				t.Errorf("error %q, want %q", r.res.Error, tt.wantErr)
			}
		})
	}
}
