// Package serve is the engine of `runbook serve`: it receives Alertmanager's
// webhook notifications (payload version 4), matches each alert against the
// routes file, and starts one run of an installed runbook per firing alert
// through a Starter, deduplicated by the alert's fingerprint within a window
// and capped in the number of runs at once. It never trusts what it
// receives: the token, the method, the size, the JSON and every label value
// that becomes a name are checked before anything starts.
package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Alert statuses of the payload.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Message is the body of Alertmanager's webhook notification, version 4:
// its notify/webhook Message, which embeds the template data (receiver,
// status, alerts, group and common labels) and adds the version, the group
// key and the number of alerts cut by max_alerts.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            Alerts            `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	// Fingerprint identifies the alert by its labels (Alertmanager's
	// hash); when a sender leaves it out, Key derives one from the labels.
	Fingerprint string `json:"fingerprint"`
}

// Name is the alert's alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// Key names the alert in messages and in the Job's annotation: its
// fingerprint, or, when the sender sent none, LabelsKey.
func (a *Alert) Key() string {
	if a.Fingerprint != "" {
		return a.Fingerprint
	}
	return a.LabelsKey()
}

// LabelsKey identifies the alert for deduplication: a digest of its sorted
// labels, which are what a route reads. Alertmanager's fingerprint is a
// digest of the same labels, but as sent it is the sender's word: a decoy
// with the fingerprint of a real alert and other labels would otherwise
// hold the real one back for the whole window.
func (a *Alert) LabelsKey() string {
	names := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(a.Labels[k]), a.Labels[k])
	}
	return "labels:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Payload bounds, besides the size of the body (the receiver's MaxBody).
const (
	// MaxAlerts is the most alerts one notification may carry.
	MaxAlerts = 1000
	// MaxLabels is the most labels (or annotations) one alert may carry.
	MaxLabels = 128
	// MaxFingerprint is the longest fingerprint (Alertmanager's are 16
	// hex digits).
	MaxFingerprint = 64
)

func notWord(c rune) bool {
	return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
}

// ErrPayload marks an error of DecodeMessage about the payload itself (as
// opposed to reading it).
var ErrPayload = errors.New("invalid payload")

// DecodeMessage reads one webhook notification strictly: one JSON object,
// nothing after it, version "4", statuses firing or resolved, every alert
// named, within MaxAlerts and MaxLabels. A field it does not know is read
// past: Alertmanager adds fields to version 4 (groupKey, truncatedAlerts
// came later), and refusing them would stop every run at its next
// upgrade. Every error wraps ErrPayload, and an error reading r (such as
// *http.MaxBytesError) stays findable with errors.As.
func DecodeMessage(r io.Reader) (*Message, error) {
	dec := json.NewDecoder(r)
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, payloadError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, payloadError(err)
		}
		return nil, fmt.Errorf("%w: more data after the JSON object", ErrPayload)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	return &m, nil
}

// payloadError wraps an error of decoding in ErrPayload, keeping it (an
// *http.MaxBytesError from the reader stays findable with errors.As).
func payloadError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: the body is empty", ErrPayload)
	}
	return fmt.Errorf("%w: %w", ErrPayload, err)
}

func (m *Message) check() error {
	if m.Version != "4" {
		return fmt.Errorf("version must be \"4\" (Alertmanager's webhook payload), found %q", m.Version)
	}
	if m.Status != StatusFiring && m.Status != StatusResolved {
		return fmt.Errorf("status must be firing or resolved, found %q", m.Status)
	}
	if len(m.Alerts) > MaxAlerts {
		return fmt.Errorf("%d alerts, over the limit of %d", len(m.Alerts), MaxAlerts)
	}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		if a.Status != StatusFiring && a.Status != StatusResolved {
			return fmt.Errorf("alerts[%d].status must be firing or resolved, found %q", i, a.Status)
		}
		if len(a.Labels) > MaxLabels || len(a.Annotations) > MaxLabels {
			return fmt.Errorf("alerts[%d] has over %d labels or annotations", i, MaxLabels)
		}
		if a.Name() == "" {
			return fmt.Errorf("alerts[%d] has no alertname label", i)
		}
		if len(a.Fingerprint) > MaxFingerprint || strings.IndexFunc(a.Fingerprint, notWord) >= 0 {
			return fmt.Errorf("alerts[%d].fingerprint is not up to %d letters and digits", i, MaxFingerprint)
		}
	}
	return nil
}

// Alerts are a message's alerts, decoded one at a time so that a body of
// hundreds of thousands of empty alerts is refused at alert MaxAlerts+1
// instead of after all of them are built (a 1 MiB body made 100 MB).
type Alerts []Alert

// UnmarshalJSON decodes at most MaxAlerts alerts.
func (l *Alerts) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t == nil {
		*l = nil
		return nil
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return errors.New("alerts must be a list")
	}
	var out Alerts
	for dec.More() {
		if len(out) == MaxAlerts {
			return fmt.Errorf("more than %d alerts, the limit", MaxAlerts)
		}
		var a Alert
		if err := dec.Decode(&a); err != nil {
			return err
		}
		out = append(out, a)
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*l = out
	return nil
}
