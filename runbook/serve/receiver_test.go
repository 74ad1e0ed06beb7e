package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeStarter records the runs it is asked to start; active is what
// Active reports before them.
type fakeStarter struct {
	mu       sync.Mutex
	runs     []Run
	active   int
	err      error
	countErr error
}

func (f *fakeStarter) Start(_ context.Context, run Run) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.runs = append(f.runs, run)
	return fmt.Sprintf("job-%d", len(f.runs)), nil
}

func (f *fakeStarter) Active(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active + len(f.runs), f.countErr
}

const testToken = "s3cret-token"

// testTokenFile is a token file of testToken, as runbook serve reads its
// token (--token-file, a mounted Secret).
func testTokenFile(t *testing.T) *TokenFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tf, err := NewTokenFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tf
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestReceiver(t *testing.T, st Starter, c *clock, maxActive int) *Receiver {
	t.Helper()
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := NewReceiver(Options{Routes: rs, Starter: st, TokenFile: testTokenFile(t), Window: 10 * time.Minute, MaxActive: maxActive, MaxBody: 64 << 10, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// notification is a version-4 payload as Alertmanager v0.26 sends it,
// with one alert per fingerprint given.
func notification(status string, alerts ...string) string {
	var items []string
	for _, a := range alerts {
		items = append(items, fmt.Sprintf(`{"status":%q,"labels":{"alertname":"KubePodCrashLooping","severity":"critical","namespace":"shop","pod":"web-%s","container":"app"},"annotations":{"summary":"crash"},"startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus/graph","fingerprint":%q}`, status, a, a))
	}
	return fmt.Sprintf(`{"receiver":"runbook","status":%q,"alerts":[%s],"groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{"alertname":"KubePodCrashLooping"},"commonAnnotations":{},"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"KubePodCrashLooping\"}","truncatedAlerts":0}`, status, strings.Join(items, ","))
}

func post(rc http.Handler, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, req)
	return w
}

func TestAuth(t *testing.T) {
	st := &fakeStarter{}
	rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 5)
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + testToken, "Bearer " + testToken + "x", "Bearer s3cret"} {
		w := post(rc, notification(StatusFiring, "a"), "Authorization", auth)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: want 401, got %d", auth, w.Code)
		}
		if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("Authorization %q: WWW-Authenticate %q", auth, got)
		}
	}
	if len(st.runs) != 0 {
		t.Fatalf("unauthorised requests started %d runs", len(st.runs))
	}
	if w := post(rc, notification(StatusFiring, "a"), "Authorization", "bearer "+testToken); w.Code != http.StatusOK {
		t.Errorf("the right token (scheme in lower case): want 200, got %d: %s", w.Code, w.Body)
	}
}

func TestRejects(t *testing.T) {
	st := &fakeStarter{}
	rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 5)
	tests := []struct {
		name   string
		method string
		body   string
		header []string
		code   int
		text   string
	}{
		{name: "GET", method: http.MethodGet, code: 405, text: "only POST"},
		{name: "not JSON", body: "hello", code: 400, text: "invalid payload: invalid character 'h'"},
		{name: "empty", body: "", code: 400, text: "invalid payload: the body is empty"},
		{name: "truncated", body: notification(StatusFiring, "a")[:100], code: 400, text: "invalid payload: unexpected EOF"},
		{name: "two objects", body: notification(StatusFiring, "a") + "{}", code: 400, text: "invalid payload: more data after the JSON object"},
		{name: "version 3", body: `{"version":"3","status":"firing","alerts":[]}`, code: 400, text: `invalid payload: version must be "4" (Alertmanager's webhook payload), found "3"`},
		{name: "bad status", body: `{"version":"4","status":"on fire","alerts":[]}`, code: 400, text: `invalid payload: status must be firing or resolved, found "on fire"`},
		{name: "alert without a name", body: `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{}}]}`, code: 400, text: "invalid payload: alerts[0] has no alertname label"},
		{name: "label of the wrong type", body: `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":1}}]}`, code: 400, text: "invalid payload: json: cannot unmarshal number"},
		{name: "bad time", body: `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"x"},"startsAt":"yesterday"}]}`, code: 400, text: "invalid payload: parsing time"},
		{name: "fingerprint too long", body: strings.Replace(notification(StatusFiring, "a"), `"fingerprint":"a"`, `"fingerprint":"`+strings.Repeat("f", 65)+`"`, 1), code: 400, text: "invalid payload: alerts[0].fingerprint is not up to 64 letters and digits"},
		{name: "fingerprint with a newline", body: strings.Replace(notification(StatusFiring, "a"), `"fingerprint":"a"`, `"fingerprint":"a\nforged line"`, 1), code: 400, text: "invalid payload: alerts[0].fingerprint is not up to 64 letters and digits"},
		{name: "long unknown field", body: `{"` + strings.Repeat("k", 2000) + `":1}`, code: 400, text: `invalid payload: version must be "4" (Alertmanager's webhook payload), found ""`},
		{name: "too big", body: `{"version":"4","status":"firing","alerts":[],"receiver":"` + strings.Repeat("x", 70<<10) + `"}`, code: 413, text: "the body is over 65536 bytes"},
		{name: "not JSON media type", body: notification(StatusFiring, "a"), header: []string{"Content-Type", "text/plain"}, code: 415, text: "the body must be application/json"},
		{name: "no media type", body: notification(StatusFiring, "a"), header: []string{"Content-Type", ""}, code: 415, text: "the body must be application/json"},
		{name: "1001 alerts", body: `{"version":"4","status":"firing","alerts":[` + strings.Repeat(`{},`, 1000) + `{}]}`, code: 400, text: "invalid payload: more than 1000 alerts, the limit"},
		{name: "pod label not a name", body: strings.Replace(notification(StatusFiring, "a"), "web-a", "WEB A", 1), code: 400, text: `KubePodCrashLooping a: route crashloop: var pod: labels.pod "WEB A" is not a valid name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/webhook", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, req)
			if w.Code != tt.code || !strings.HasPrefix(w.Body.String(), tt.text) {
				t.Errorf("want %d %q..., got %d %q", tt.code, tt.text, w.Code, w.Body)
			}
			if w.Body.Len() > 600 {
				t.Errorf("the answer is %d bytes: an error quoting the payload must be cut", w.Body.Len())
			}
		})
	}
	if len(st.runs) != 0 {
		t.Fatalf("rejected requests started %d runs", len(st.runs))
	}
	m := scrape(t, rc)
	for _, line := range []string{
		`runbook_serve_rejected_total{reason="malformed"} 13`,
		`runbook_serve_rejected_total{reason="method"} 1`,
		`runbook_serve_rejected_total{reason="too_large"} 1`,
		`runbook_serve_rejected_total{reason="media_type"} 2`,
		`runbook_serve_rejected_total{reason="invalid_alert"} 1`,
		`runbook_serve_jobs_started_total{route="crashloop"} 0`,
	} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, m)
		}
	}
}

func scrape(t *testing.T, rc http.Handler) string {
	t.Helper()
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("/metrics: %d", w.Code)
	}
	return w.Body.String()
}

func TestDedupWindow(t *testing.T) {
	st := &fakeStarter{}
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	rc := newTestReceiver(t, st, c, 100)
	steps := []struct {
		after  time.Duration
		alerts []string
		status string
		runs   int
	}{
		{0, []string{"a", "b"}, StatusFiring, 2},
		{time.Minute, []string{"a"}, StatusFiring, 2},                    // a within the window
		{time.Minute, []string{"a", "c"}, StatusFiring, 3},               // c is new
		{time.Minute, []string{"a"}, StatusResolved, 3},                  // resolved: the route ignores it
		{6*time.Minute + 59*time.Second, []string{"a"}, StatusFiring, 3}, // 9m59s after a
		{time.Second, []string{"a"}, StatusFiring, 4},                    // 10m: the window is over
	}
	for i, s := range steps {
		c.t = c.t.Add(s.after)
		w := post(rc, notification(s.status, s.alerts...))
		if w.Code != 200 {
			t.Fatalf("step %d: %d %s", i, w.Code, w.Body)
		}
		if len(st.runs) != s.runs {
			t.Fatalf("step %d: want %d runs, got %d: %s", i, s.runs, len(st.runs), w.Body)
		}
	}
	want := Run{Route: "crashloop", Runbook: "incident-crashloop", Namespace: "shop", Vars: map[string]string{"pod": "web-a", "container": "app"}, Alert: "KubePodCrashLooping", Fingerprint: "a"}
	if diff := cmp.Diff(want, st.runs[0]); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	m := scrape(t, rc)
	for _, line := range []string{
		`runbook_serve_alerts_received_total 8`,
		`runbook_serve_alerts_matched_total{route="crashloop"} 8`,
		`runbook_serve_jobs_started_total{route="crashloop"} 4`,
		`runbook_serve_alerts_deduplicated_total{route="crashloop"} 3`,
		`runbook_serve_alerts_ignored_total{route="crashloop"} 1`,
	} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, m)
		}
	}
}

func TestCap(t *testing.T) {
	st := &fakeStarter{active: 1}
	rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 3)
	w := post(rc, notification(StatusFiring, "a", "b", "c", "d"))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("over the cap: want 503 (Alertmanager retries), got %d: %s", w.Code, w.Body)
	}
	if len(st.runs) != 2 {
		t.Fatalf("1 active and a cap of 3: want 2 runs started, got %d", len(st.runs))
	}
	if !strings.Contains(w.Body.String(), "KubePodCrashLooping c: 3 runs active, the cap: try later") {
		t.Errorf("body: %s", w.Body)
	}
	// The runs end; Alertmanager sends the group again: a and b are
	// deduplicated, c and d start.
	st.active = -2
	w = post(rc, notification(StatusFiring, "a", "b", "c", "d"))
	if w.Code != 200 || len(st.runs) != 4 {
		t.Fatalf("after the runs ended: want 200 and 4 runs, got %d and %d: %s", w.Code, len(st.runs), w.Body)
	}
	if got := []string{st.runs[2].Fingerprint, st.runs[3].Fingerprint}; !cmp.Equal(got, []string{"c", "d"}) {
		t.Errorf("started again: %v", got)
	}
}

func TestStartFailureIsRetried(t *testing.T) {
	st := &fakeStarter{err: errors.New("jobs.batch is forbidden")}
	rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 3)
	w := post(rc, notification(StatusFiring, "a"))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "starting runbook incident-crashloop: jobs.batch is forbidden") {
		t.Fatalf("want 503 naming the error, got %d: %s", w.Code, w.Body)
	}
	st.err = nil
	w = post(rc, notification(StatusFiring, "a"))
	if w.Code != 200 || len(st.runs) != 1 {
		t.Fatalf("a failed start is not deduplicated: want 200 and 1 run, got %d and %d: %s", w.Code, len(st.runs), w.Body)
	}
	st.err = fmt.Errorf("%w: namespace %q: the install has no rules there", ErrInvalidRun, "shop")
	w = post(rc, notification(StatusFiring, "c"))
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `the install has no rules there`) {
		t.Fatalf("a run the install refuses: want 400 (no retry), got %d: %s", w.Code, w.Body)
	}
	st.err = nil
	st.countErr = errors.New("connection refused")
	w = post(rc, notification(StatusFiring, "b"))
	if w.Code != http.StatusServiceUnavailable || len(st.runs) != 1 {
		t.Fatalf("the active runs cannot be counted: want 503 and no new run, got %d and %d runs", w.Code, len(st.runs))
	}
}

func TestHealthz(t *testing.T) {
	rc := newTestReceiver(t, &fakeStarter{}, &clock{}, 1)
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Fatalf("/healthz: %d %q", w.Code, w.Body)
	}
}

// FuzzDecodeMessage: whatever the body, DecodeMessage returns a checked
// message or an error wrapping ErrPayload, and never panics.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(notification(StatusFiring, "a", "b"))
	f.Add(notification(StatusResolved, "a"))
	f.Add(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"x","pod":"\u0000"}}]}`)
	f.Add(`{"version":"4","alerts":null,"status":"firing"} `)
	f.Add(`[]`)
	f.Add(`{"version":"4","status":"firing","alerts":[{"startsAt":"2026-13-45T99:00:00Z"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := DecodeMessage(strings.NewReader(body))
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("an error that is not ErrPayload: %v", err)
			}
			return
		}
		if m.Version != "4" || len(m.Alerts) > MaxAlerts {
			t.Fatalf("an unchecked message passed: %+v", m)
		}
		for _, a := range m.Alerts {
			if a.Name() == "" || (a.Status != StatusFiring && a.Status != StatusResolved) {
				t.Fatalf("an unchecked alert passed: %+v", a)
			}
		}
	})
}

// FuzzWebhook: whatever an authorised client posts, the receiver answers
// 200, 4xx or 503 and starts only runs whose names are valid.
func FuzzWebhook(f *testing.F) {
	f.Add(notification(StatusFiring, "a"))
	f.Add(strings.Replace(notification(StatusFiring, "a"), "web-a", "x/../y", 1))
	f.Add(strings.Replace(notification(StatusFiring, "a"), `"shop"`, `"kube-system "`, 1))
	f.Add(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"NodeDiskFull","node":"n"},"annotations":{"summary":"\u001b]0;x\u0007"}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		st := &fakeStarter{}
		rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 2)
		w := post(rc, body)
		switch {
		case w.Code == 200, w.Code >= 400 && w.Code < 500, w.Code == 503:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, r := range st.runs {
			for name, v := range r.Vars {
				if name != "summary" && !dnsName.MatchString(v) {
					t.Fatalf("var %s %q is not a name", name, v)
				}
			}
			if r.Namespace != "" && !dnsName.MatchString(r.Namespace) {
				t.Fatalf("namespace %q is not a name", r.Namespace)
			}
		}
		io.Copy(io.Discard, w.Body)
	})
}

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

// TestNoForgedLines: an alert's name is printed quoted when it is not
// plain, so that it cannot add a line to the answer or the log.
func TestNoForgedLines(t *testing.T) {
	rc := newTestReceiver(t, &fakeStarter{}, &clock{}, 1)
	w := post(rc, `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"x\nKubePodCrashLooping a: started job/evil"},"fingerprint":"f1"}]}`)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got, want := w.Body.String(), `"x\nKubePodCrashLooping a: started job/evil" f1: no route`+"\n"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
}

// TestUnknownFieldsAreReadPast: Alertmanager adds fields to version 4
// (groupKey, truncatedAlerts came later); one the receiver does not know,
// in the notification or in an alert, is read past, not refused.
func TestUnknownFieldsAreReadPast(t *testing.T) {
	st := &fakeStarter{}
	rc := newTestReceiver(t, st, &clock{}, 5)
	body := strings.Replace(notification(StatusFiring, "a"), `"version":"4"`, `"version":"4","futureField":{"x":[1,"y"]}`, 1)
	body = strings.Replace(body, `"fingerprint":"a"`, `"fingerprint":"a","silencedBy":[]`, 1)
	w := post(rc, body)
	if w.Code != 200 || len(st.runs) != 1 {
		t.Errorf("%d %q, %d runs; want 200 and 1 run", w.Code, w.Body, len(st.runs))
	}
}

// TestTruncatedAlertsAreSaid: alerts Alertmanager left out of a group
// (max_alerts) start no run; the answer and the log say how many.
func TestTruncatedAlertsAreSaid(t *testing.T) {
	var logged strings.Builder
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st := &fakeStarter{}
	rc, err := NewReceiver(Options{Routes: rs, Starter: st, TokenFile: testTokenFile(t), Window: time.Minute, MaxActive: 5, MaxBody: 64 << 10,
		Now: (&clock{}).now, Log: log.New(&logged, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(notification(StatusFiring, "a"), `"truncatedAlerts":0`, `"truncatedAlerts":7`, 1)
	w := post(rc, body)
	want := "7 more alerts of group {}:{alertname=\"KubePodCrashLooping\"} were left out by Alertmanager (max_alerts): they start no run\n"
	if w.Code != 200 || len(st.runs) != 1 || !strings.HasSuffix(w.Body.String(), want) {
		t.Errorf("%d, %d runs, answer %q; want 200, 1 run and the answer ending %q", w.Code, len(st.runs), w.Body, want)
	}
	if !strings.Contains(logged.String(), "7 more alerts of group") {
		t.Errorf("the log does not say it:\n%s", logged.String())
	}
}

// TestDedupIsByLabels: a decoy sent with the fingerprint of a real alert
// and other labels does not hold the real one back; the same labels again
// are deduplicated whatever fingerprint they come with.
func TestDedupIsByLabels(t *testing.T) {
	st := &fakeStarter{}
	rc := newTestReceiver(t, st, &clock{t: time.Unix(0, 0)}, 100)
	decoy := strings.Replace(notification(StatusFiring, "a"), `"pod":"web-a"`, `"pod":"decoy"`, 1)
	for i, body := range []string{decoy, notification(StatusFiring, "a"), strings.Replace(notification(StatusFiring, "a"), `"fingerprint":"a"`, `"fingerprint":"b"`, 1)} {
		if w := post(rc, body); w.Code != 200 {
			t.Fatalf("post %d: %d %s", i, w.Code, w.Body)
		}
	}
	if len(st.runs) != 2 || st.runs[0].Vars["pod"] != "decoy" || st.runs[1].Vars["pod"] != "web-a" {
		t.Errorf("runs %+v, want the decoy's and the real alert's, the repeat deduplicated", st.runs)
	}
}
