package kube

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationDeadline carries the time by which the run that created an
// object has ended, cleanup included (RFC 3339, UTC). A run cannot outlive
// it, so `runbook cleanup` leaves alone the objects of runs whose deadline
// is still ahead: they may be live.
const AnnotationDeadline = "runbook/deadline"

// AnnotationKept marks what a run keeps on purpose (--keep, spec.cleanup:
// never), with the reason: `runbook cleanup` leaves it alone, even past
// the run's deadline, unless the run is named (--run-id) or --force.
const AnnotationKept = "runbook/kept"

// RunStamp is what marks the objects a run creates: its labels, by which
// cleanup finds them, and its deadline.
type RunStamp struct {
	// RunID is the run's id.
	RunID string
	// Deadline is the annotation's value: a time in RFC 3339, or in a plan
	// a description of it.
	Deadline string
	// Kept is why the run keeps what it creates ("--keep", "spec.cleanup:
	// never"), the AnnotationKept value; "" when it cleans up.
	Kept string
}

// NewRunStamp is the stamp of run runID, which ends by deadline.
func NewRunStamp(runID string, deadline time.Time) RunStamp {
	return RunStamp{RunID: runID, Deadline: deadline.UTC().Format(time.RFC3339)}
}

// Apply adds the run's labels and deadline to an object's metadata.
func (s RunStamp) Apply(m *metav1.ObjectMeta) {
	m.Labels = s.mergeLabels(m.Labels)
	m.Annotations = s.mergeAnnotations(m.Annotations)
}

func (s RunStamp) mergeLabels(l map[string]string) map[string]string {
	if l == nil {
		l = map[string]string{}
	}
	for k, v := range Labels(s.RunID) {
		l[k] = v
	}
	return l
}

func (s RunStamp) mergeAnnotations(a map[string]string) map[string]string {
	if s.Deadline == "" {
		return a
	}
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationDeadline] = s.Deadline
	if s.Kept != "" {
		a[AnnotationKept] = s.Kept
	}
	return a
}

// ApplyTo adds the run's labels and deadline to an object given as maps
// (unstructured), returning the new labels and annotations.
func (s RunStamp) ApplyTo(labels, annotations map[string]string) (map[string]string, map[string]string) {
	return s.mergeLabels(labels), s.mergeAnnotations(annotations)
}

// Live reports whether an object's run may still be running at now: its
// deadline annotation is a time after now. An object without one (made by
// an older runbook) or with an unreadable one is not known to be live.
func Live(annotations map[string]string, now time.Time) (bool, time.Time) {
	t, err := time.Parse(time.RFC3339, annotations[AnnotationDeadline])
	if err != nil {
		return false, time.Time{}
	}
	return t.After(now), t
}
