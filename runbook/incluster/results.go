package incluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
)

// A stored result is a ConfigMap named ResultPrefix+RUN-ID holding the
// JSON result (KeyResult) and the Markdown report (KeyReport), labelled
// (LabelComponent=result, LabelRunbook, LabelRun, LabelVerdict, LabelJob,
// LabelInstall) and annotated (AnnotationRunbook, AnnotationStarted,
// AnnotationDuration, AnnotationCut).
const (
	ResultPrefix = "runbook-result-"
	KeyResult    = "result.json"
	KeyReport    = "report.md"

	// AnnotationRunbook is the runbook's metadata.name as written.
	AnnotationRunbook = "runbook/runbook-name"
	// AnnotationStarted is when the run started (RFC 3339, UTC).
	AnnotationStarted = "runbook/started"
	// AnnotationDuration is the run's length in seconds, e.g. "12.3".
	AnnotationDuration = "runbook/duration"
	// AnnotationCut says what was cut to fit, when something was.
	AnnotationCut = "runbook/cut"
)

// Bounds of a stored result. A ConfigMap holds at most 1 MiB: the JSON
// result gets MaxResultJSONBytes, the Markdown report MaxReportBytes.
const (
	MaxResultJSONBytes = 640 << 10
	MaxReportBytes     = 320 << 10
)

// StoreOptions say where and how StoreResult stores a result.
type StoreOptions struct {
	// Namespace of the ConfigMap (the install's). Required.
	Namespace string
	// Install is the install's name (LabelInstall); empty for a result
	// stored outside an install.
	Install string
	// Job is the name of the Job that ran (LabelJob), if any.
	Job string
	// Keep is how many results of the same install (or, without one, of
	// the same runbook) are kept, this one included; older ones are
	// deleted. 0 keeps DefaultKeepResults.
	Keep int
}

// StoredResult describes one stored result, from its labels and
// annotations alone.
type StoredResult struct {
	// Name and Namespace of the ConfigMap.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Runbook is the runbook's metadata.name.
	Runbook string `json:"runbook"`
	// RunID is the run's id.
	RunID string `json:"runId"`
	// Verdict is passed, failed, interrupted or error.
	Verdict string `json:"verdict"`
	// Install and Job that ran it, if any.
	Install string `json:"install,omitempty"`
	Job     string `json:"job,omitempty"`
	// Started is when the run started.
	Started time.Time `json:"started"`
	// Duration is the run's length.
	Duration report.Seconds `json:"duration"`
	// Cut says what was cut to fit, if anything.
	Cut string `json:"cut,omitempty"`
}

// StoreResult stores res as one ConfigMap in o.Namespace (cut to fit, as
// its warnings and AnnotationCut then say), then deletes the results of
// the same install beyond o.Keep, oldest first. res is not changed. A
// failure to prune is returned with the stored result.
func StoreResult(ctx context.Context, c *kube.Clients, res *report.Result, o StoreOptions) (*StoredResult, error) {
	if res == nil {
		return nil, errors.New("no result to store")
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("--store-result %q: not a namespace name", o.Namespace)
	}
	fitted, js, cut, err := FitResult(res, MaxResultJSONBytes)
	if err != nil {
		return nil, err
	}
	var md bytes.Buffer
	if err := report.RenderMarkdown(&md, fitted); err != nil {
		return nil, err
	}
	mdText := md.String()
	if len(mdText) > MaxReportBytes {
		note := fmt.Sprintf("\n\n**Cut:** this report was cut at %d of its %d bytes to fit the stored result; `runbook results show %s -o md` renders it whole from the JSON result.\n",
			MaxReportBytes, len(mdText), res.RunID)
		mdText = cutUTF8(mdText, MaxReportBytes-len(note)) + note
		cut = joinCut(cut, "Markdown report cut")
	}
	lbl := map[string]string{
		LabelPartOf: "runbook", LabelManagedBy: ManagedByJob, LabelComponent: ComponentResult,
		LabelRunbook: RunbookLabelValue(res.Runbook.Name), LabelRun: res.RunID, LabelVerdict: string(res.Verdict),
	}
	if o.Install != "" {
		lbl[LabelInstall] = o.Install
	}
	if o.Job != "" && len(validation.IsValidLabelValue(o.Job)) == 0 {
		lbl[LabelJob] = o.Job
	}
	ann := map[string]string{
		AnnotationRunbook:  res.Runbook.Name,
		AnnotationStarted:  res.StartedAt.UTC().Format(time.RFC3339),
		AnnotationDuration: fmt.Sprintf("%.1f", time.Duration(res.Duration).Seconds()),
	}
	if cut != "" {
		ann[AnnotationCut] = cut
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: ResultPrefix + res.RunID, Namespace: o.Namespace, Labels: lbl, Annotations: ann},
		Data:       map[string]string{KeyResult: string(js), KeyReport: mdText},
	}
	created, err := c.Kube.CoreV1().ConfigMaps(o.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("storing the result in configmap %s/%s: %w", o.Namespace, cm.Name, err)
	}
	stored := describe(created)
	return &stored, prune(ctx, c, o, lbl[LabelRunbook])
}

// prune deletes the results of the same install (or runbook) beyond Keep.
func prune(ctx context.Context, c *kube.Clients, o StoreOptions, runbookLabel string) error {
	keep := o.Keep
	if keep <= 0 {
		keep = DefaultKeepResults
	}
	set := labels.Set{LabelManagedBy: ManagedByJob, LabelComponent: ComponentResult}
	if o.Install != "" {
		set[LabelInstall] = o.Install
	} else {
		set[LabelRunbook] = runbookLabel
	}
	list, err := c.Kube.CoreV1().ConfigMaps(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: set.String()})
	if err != nil {
		return fmt.Errorf("listing older results: %w", err)
	}
	all := make([]StoredResult, 0, len(list.Items))
	for i := range list.Items {
		all = append(all, describe(&list.Items[i]))
	}
	sortNewestFirst(all)
	var errs []error
	for _, r := range all[min(keep, len(all)):] {
		if err := c.Kube.CoreV1().ConfigMaps(o.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the older result %s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ListResults lists the stored results in namespace ("" for all), of one
// runbook when runbookName is not "" (its metadata.name), newest first.
func ListResults(ctx context.Context, c *kube.Clients, namespace, runbookName string) ([]StoredResult, error) {
	set := labels.Set{LabelManagedBy: ManagedByJob, LabelComponent: ComponentResult}
	if runbookName != "" {
		set[LabelRunbook] = RunbookLabelValue(runbookName)
	}
	list, err := c.Kube.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: set.String()})
	if err != nil {
		return nil, err
	}
	out := make([]StoredResult, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, describe(&list.Items[i]))
	}
	sortNewestFirst(out)
	return out, nil
}

// GetResult reads the stored result of run runID in namespace ("" for
// all): its description, the JSON result and the stored Markdown report.
// The JSON is read with report.ReadJSON, so a stored object that is not a
// result is refused.
func GetResult(ctx context.Context, c *kube.Clients, namespace, runID string) (*StoredResult, *report.Result, string, error) {
	if errs := validation.IsValidLabelValue(runID); len(errs) > 0 || runID == "" {
		return nil, nil, "", fmt.Errorf("run id %q: not a run id", runID)
	}
	set := labels.Set{LabelManagedBy: ManagedByJob, LabelComponent: ComponentResult, LabelRun: runID}
	list, err := c.Kube.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: set.String()})
	if err != nil {
		return nil, nil, "", err
	}
	switch len(list.Items) {
	case 0:
		where := "namespace " + namespace
		if namespace == "" {
			where = "any namespace"
		}
		return nil, nil, "", fmt.Errorf("no stored result of run %s in %s", runID, where)
	case 1:
	default:
		return nil, nil, "", fmt.Errorf("%d stored results of run %s: name the namespace (-n)", len(list.Items), runID)
	}
	cm := &list.Items[0]
	d := describe(cm)
	res, err := report.ReadJSON(strings.NewReader(cm.Data[KeyResult]))
	if err != nil {
		return &d, nil, "", fmt.Errorf("configmap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return &d, res, cm.Data[KeyReport], nil
}

func describe(cm *corev1.ConfigMap) StoredResult {
	l, a := cm.Labels, cm.Annotations
	r := StoredResult{Name: cm.Name, Namespace: cm.Namespace, Runbook: a[AnnotationRunbook], RunID: l[LabelRun],
		Verdict: l[LabelVerdict], Install: l[LabelInstall], Job: l[LabelJob], Cut: a[AnnotationCut]}
	if r.Runbook == "" {
		r.Runbook = l[LabelRunbook]
	}
	if t, err := time.Parse(time.RFC3339, a[AnnotationStarted]); err == nil {
		r.Started = t
	} else {
		r.Started = cm.CreationTimestamp.UTC()
	}
	var secs float64
	if _, err := fmt.Sscanf(a[AnnotationDuration], "%g", &secs); err == nil && secs >= 0 && secs < 1e9 {
		r.Duration = report.Seconds(time.Duration(secs * float64(time.Second)))
	}
	return r
}

func sortNewestFirst(list []StoredResult) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Started.Equal(list[j].Started) {
			return list[i].Started.After(list[j].Started)
		}
		return list[i].Name > list[j].Name
	})
}

// FitResult returns a copy of res whose JSON (also returned) is at most
// max bytes, and what was cut ("" when nothing was). It cuts, in turn,
// until the JSON fits: each step's stdout and stderr to ever fewer bytes
// (setting StdoutTruncated and StderrTruncated), then the steps' lists of
// API calls (counted in CallsDropped), then the steps' objects, commands
// and assertions' messages. What it cut is added to the copy's warnings,
// so every report rendered from it says so.
func FitResult(res *report.Result, max int) (*report.Result, []byte, string, error) {
	js, err := renderJSON(res)
	if err != nil || len(js) <= max {
		return res, js, "", err
	}
	cp, err := copyResult(res)
	if err != nil {
		return nil, nil, "", err
	}
	warnAt := len(cp.Warnings)
	cp.Warnings = append(cp.Warnings, "")
	try := func(cut string) ([]byte, bool, error) {
		cp.Warnings[warnAt] = fmt.Sprintf("The stored result was cut to fit the cluster's object size limit: %s (the JSON result was %d bytes, the limit is %d).", cut, len(js), max)
		b, err := renderJSON(cp)
		return b, err == nil && len(b) <= max, err
	}
	for _, limit := range []int{64 << 10, 16 << 10, 4 << 10, 1 << 10, 256, 0} {
		n := cutOutputs(cp.Steps, limit)
		cut := fmt.Sprintf("%d step output(s) cut to %d bytes each", n, limit)
		b, ok, err := try(cut)
		if err != nil {
			return nil, nil, "", err
		}
		if ok {
			return cp, b, cut, nil
		}
	}
	dropCalls(cp.Steps)
	cut := "every step output and every list of API calls dropped"
	if b, ok, err := try(cut); err != nil || ok {
		return cp, b, cut, err
	}
	dropDetails(cp.Steps)
	cut = "every step output, list of API calls, object, command and assertion message dropped"
	b, ok, err := try(cut)
	if err != nil {
		return nil, nil, "", err
	}
	if !ok {
		return nil, nil, "", fmt.Errorf("the result does not fit in %d bytes even with every output and detail cut (%d bytes)", max, len(b))
	}
	return cp, b, cut, nil
}

func renderJSON(r *report.Result) ([]byte, error) {
	var b bytes.Buffer
	err := report.RenderJSON(&b, r)
	return b.Bytes(), err
}

func copyResult(r *report.Result) (*report.Result, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var out report.Result
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// cutOutputs cuts every stdout and stderr longer than limit, in steps and
// their targets, and returns how many it cut.
func cutOutputs(list []report.StepResult, limit int) int {
	n := 0
	for i := range list {
		s := &list[i]
		if len(s.Stdout) > limit {
			s.Stdout, s.StdoutTruncated = cutUTF8(s.Stdout, limit), true
			n++
		}
		if len(s.Stderr) > limit {
			s.Stderr, s.StderrTruncated = cutUTF8(s.Stderr, limit), true
			n++
		}
		n += cutOutputs(s.Targets, limit)
	}
	return n
}

func dropCalls(list []report.StepResult) {
	for i := range list {
		list[i].CallsDropped += len(list[i].Calls)
		list[i].Calls = nil
		dropCalls(list[i].Targets)
	}
}

func dropDetails(list []report.StepResult) {
	for i := range list {
		s := &list[i]
		s.Objects, s.Command, s.Set = nil, "", nil
		s.Error = cutUTF8(s.Error, 1024)
		for j := range s.Assertions {
			s.Assertions[j].Message = ""
		}
		dropDetails(s.Targets)
	}
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func joinCut(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
