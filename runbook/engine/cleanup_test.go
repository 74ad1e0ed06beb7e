package engine

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
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

// TestKeptObjectsAreMarked: what a run keeps on purpose (--keep, spec.cleanup: never, and
// onSuccess, which keeps what a run that does not pass made) carries kube.AnnotationKept with the reason, so that `runbook cleanup` leaves it alone
// past the run's deadline; a run that cleans up marks nothing.
func TestKeptObjectsAreMarked(t *testing.T) {
	const pod = `  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec: {containers: [{name: c, image: busybox}]}
`
	for _, tt := range []struct {
		name, spec string
		keep       bool
		want       string
	}{
		{"--keep", pod, true, "--keep"},
		{"spec.cleanup: never", "  cleanup: never\n" + pod, false, "spec.cleanup: never"},
		{"spec.cleanup: onSuccess", "  cleanup: onSuccess\n" + pod, false, "spec.cleanup: onSuccess, if the run does not pass"},
		{"cleans up", pod, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rb, err := runbook.Parse("rb.yaml", []byte(runHead+tt.spec), runbook.LoadOptions{Kinds: steps.Registry})
			if err != nil {
				t.Fatal(err)
			}
			cs := fake.NewClientset()
			var annotations map[string]string
			cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
				annotations = a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).Annotations
				return false, nil, nil
			})
			res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default"), RunID: "rb-test", Keep: tt.keep})
			// (The fakes have no dynamic client to delete with: a run that cleans up
			// fails its cleanup here, which is not what is tested.)
			if len(res.Steps) != 1 || res.Steps[0].Status != report.StatusPassed {
				t.Fatalf("steps: %+v", summary(res))
			}
			if got := annotations[kube.AnnotationKept]; got != tt.want {
				t.Errorf("%s = %q, want %q", kube.AnnotationKept, got, tt.want)
			}
		})
	}
}
