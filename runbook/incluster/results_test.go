package incluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
)

func result(runID string, started time.Time, verdict report.Verdict) *report.Result {
	return &report.Result{SchemaVersion: report.SchemaVersion, RunID: runID, Verdict: verdict,
		Runbook: report.RunbookInfo{Name: "CI Check"}, StartedAt: started, FinishedAt: started.Add(3 * time.Second),
		Duration: report.Seconds(3 * time.Second),
		Steps:    []report.StepResult{{Index: 1, Name: "one", Status: report.StatusPassed, Stdout: "hello"}}}
}

// TestStoreListGetPrune stores five results with Keep 3: the three newest
// are left, listed newest first, and each reads back as it was stored.
func TestStoreListGetPrune(t *testing.T) {
	c := kube.NewClientsWith(fake.NewSimpleClientset(), nil, nil, "checks")
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for i := range 5 {
		verdict := report.VerdictPassed
		if i == 4 {
			verdict = report.VerdictFailed
		}
		stored, err := StoreResult(t.Context(), c, result(fmt.Sprintf("rb-%d", i), t0.Add(time.Duration(i)*time.Minute), verdict),
			StoreOptions{Namespace: "checks", Install: "runbook-ci-check", Job: "runbook-ci-check-123", Keep: 3})
		if err != nil {
			t.Fatal(err)
		}
		if stored.Name != ResultPrefix+fmt.Sprintf("rb-%d", i) || stored.Cut != "" {
			t.Errorf("stored %+v", stored)
		}
	}
	list, err := ListResults(t.Context(), c, "checks", "CI Check")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range list {
		ids = append(ids, r.RunID+":"+r.Verdict)
	}
	if got := strings.Join(ids, " "); got != "rb-4:failed rb-3:passed rb-2:passed" {
		t.Errorf("results %s, want the three newest, newest first", got)
	}
	if list[0].Runbook != "CI Check" || list[0].Job != "runbook-ci-check-123" || !list[0].Started.Equal(t0.Add(4*time.Minute)) ||
		time.Duration(list[0].Duration) != 3*time.Second {
		t.Errorf("description %+v", list[0])
	}
	d, res, md, err := GetResult(t.Context(), c, "", "rb-3")
	if err != nil {
		t.Fatal(err)
	}
	if d.Install != "runbook-ci-check" || res.Steps[0].Stdout != "hello" || !strings.Contains(md, "# Runbook CI Check") {
		t.Errorf("got %+v %+v\n%s", d, res.Steps, md)
	}
	if _, _, _, err := GetResult(t.Context(), c, "checks", "rb-0"); err == nil || !strings.Contains(err.Error(), "no stored result") {
		t.Errorf("pruned result: %v", err)
	}
	// A ConfigMap that is not a result, labelled as one, is refused.
	cm, _ := c.Kube.CoreV1().ConfigMaps("checks").Get(t.Context(), ResultPrefix+"rb-3", metav1.GetOptions{})
	cm.Data[KeyResult] = `{"hello": 1}`
	if _, err := c.Kube.CoreV1().ConfigMaps("checks").Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := GetResult(t.Context(), c, "checks", "rb-3"); err == nil || !strings.Contains(err.Error(), "not a runbook result") {
		t.Errorf("bad result: %v", err)
	}
}

// TestStoreCutsWhatDoesNotFit stores a result larger than a ConfigMap:
// it is cut, and the object, the JSON and the report say so.
func TestStoreCutsWhatDoesNotFit(t *testing.T) {
	c := kube.NewClientsWith(fake.NewSimpleClientset(), nil, nil, "checks")
	res := result("rb-big", time.Now(), report.VerdictPassed)
	for range 8 {
		res.Steps = append(res.Steps, report.StepResult{Name: "big", Status: report.StatusPassed, Stdout: strings.Repeat("x\n", 200<<10)})
	}
	stored, err := StoreResult(t.Context(), c, res, StoreOptions{Namespace: "checks"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored.Cut, "cut to") {
		t.Errorf("cut %q", stored.Cut)
	}
	cm, err := c.Kube.CoreV1().ConfigMaps("checks").Get(t.Context(), stored.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	size := len(cm.Data[KeyResult]) + len(cm.Data[KeyReport])
	if size > 1<<20 || len(cm.Data[KeyResult]) > MaxResultJSONBytes {
		t.Errorf("stored %d bytes", size)
	}
	if !strings.Contains(cm.Data[KeyReport], "cut to fit") || !strings.Contains(cm.Data[KeyResult], "cut to fit") {
		t.Error("the stored report or JSON does not say what was cut")
	}
	if len(res.Steps[1].Stdout) != 400<<10 {
		t.Error("the run's own result was changed")
	}
}
