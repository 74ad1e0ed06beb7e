package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Run is one run of an installed runbook that an alert asks for.
type Run struct {
	// Route is the name of the route that matched.
	Route string
	// Runbook is the installed runbook's metadata.name.
	Runbook string
	// Namespace is the target namespace ("" for the runbook's own).
	Namespace string
	// Vars are the runbook's vars taken from the alert.
	Vars map[string]string
	// Alert is the alert's name and Fingerprint its key.
	Alert, Fingerprint string
}

// ErrInvalidRun marks an error of Starter.Start that no retry can cure:
// the alert asks for a run its install refuses. The alert is answered 400,
// not 503.
var ErrInvalidRun = errors.New("invalid run")

// Starter starts runs: in the cluster, one Job per run.
type Starter interface {
	// Start starts the run and returns the name of what it started (the
	// Job); an error wrapping ErrInvalidRun is final, any other is
	// retried.
	Start(ctx context.Context, run Run) (string, error)
	// Active counts the runs started by the receiver that have not
	// finished, wherever they were started from (a restarted receiver
	// counts its predecessor's Jobs).
	Active(ctx context.Context) (int, error)
}

// Options configure a Receiver.
type Options struct {
	// Routes map alerts to runs.
	Routes *Routes
	// Starter starts them.
	Starter Starter
	// TokenFile holds the bearer token every notification must carry,
	// read again when the file changes (a rotated Secret).
	TokenFile *TokenFile
	// Window is how long a started alert (by its fingerprint) starts no
	// second run.
	Window time.Duration
	// MaxActive caps the runs at once; a firing alert over the cap is
	// answered 503, so that Alertmanager sends it again later.
	MaxActive int
	// MaxBody bounds a notification's body in bytes.
	MaxBody int64
	// Log receives one line per decision; nil discards them.
	Log *log.Logger
	// Now is the clock (time.Now when nil), for tests of the window.
	Now func() time.Time
}

// StartTimeout bounds the API calls of one notification.
const StartTimeout = 30 * time.Second

// MaxKeys bounds the fingerprints remembered for deduplication: over it,
// a new alert is answered 503 until the window frees some.
const MaxKeys = 100_000

// Receiver is the webhook receiver: an http.Handler serving the webhook
// at /webhook, /healthz and /metrics.
type Receiver struct {
	opts    Options
	mux     *http.ServeMux
	metrics *metrics

	// mu serialises the decisions: the count of active runs and the
	// dedup window stay consistent when notifications arrive at once.
	mu   sync.Mutex
	seen map[string]time.Time
}

// NewReceiver returns a receiver, its metrics at zero for every route.
func NewReceiver(opts Options) (*Receiver, error) {
	switch {
	case opts.Routes == nil || opts.Starter == nil:
		return nil, errors.New("serve: routes and a starter are required")
	case opts.TokenFile == nil:
		return nil, errors.New("serve: a token file is required")
	case opts.MaxActive < 1:
		return nil, errors.New("serve: the cap of runs at once must be at least 1")
	case opts.MaxBody < 1:
		return nil, errors.New("serve: the body limit must be at least 1 byte")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = log.New(io.Discard, "", 0)
	}
	rc := &Receiver{opts: opts, seen: map[string]time.Time{}}
	reg := prometheus.NewRegistry()
	rc.metrics = newMetrics(reg)
	for _, name := range opts.Routes.Names() {
		for _, c := range []*prometheus.CounterVec{rc.metrics.matched, rc.metrics.started, rc.metrics.deduplicated, rc.metrics.ignored, rc.metrics.throttled, rc.metrics.failed} {
			c.WithLabelValues(name)
		}
	}
	rc.mux = http.NewServeMux()
	rc.mux.HandleFunc("/webhook", rc.webhook)
	rc.mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	rc.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return rc, nil
}

// ServeHTTP serves the receiver's endpoints; it recovers from a panic of
// a handler (answering 500) so that no request ends the process.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			rc.opts.Log.Printf("internal error serving %s: %v", r.URL.Path, p)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	rc.mux.ServeHTTP(w, r)
}

// Reasons a request is rejected, the label of the rejected metric.
const (
	rejectUnauthorized = "unauthorized"
	rejectMethod       = "method"
	rejectMediaType    = "media_type"
	rejectTooLarge     = "too_large"
	rejectMalformed    = "malformed"
	rejectInvalidAlert = "invalid_alert"
)

func (rc *Receiver) reject(w http.ResponseWriter, code int, reason, msg string) {
	if len(msg) > 512 {
		// The message may quote the payload (an unknown field's name).
		msg = strings.ToValidUTF8(msg[:512], "") + "..."
	}
	rc.metrics.rejected.WithLabelValues(reason).Inc()
	rc.opts.Log.Printf("rejected (%d %s): %s", code, reason, msg)
	http.Error(w, msg, code)
}

// authorized compares the bearer token in constant time (of the digests,
// so that the length of the token leaks neither).
func (rc *Receiver) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := rc.opts.TokenFile.Digest(rc.opts.Now())
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func (rc *Receiver) webhook(w http.ResponseWriter, r *http.Request) {
	if !rc.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="runbook serve"`)
		rc.reject(w, http.StatusUnauthorized, rejectUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, http.StatusMethodNotAllowed, rejectMethod, "only POST")
		return
	}
	// Alertmanager always says application/json; a body without a type is
	// refused as the docs say, as is any other type.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		rc.reject(w, http.StatusUnsupportedMediaType, rejectMediaType, "the body must be application/json")
		return
	}
	body := http.MaxBytesReader(w, r.Body, rc.opts.MaxBody)
	msg, err := DecodeMessage(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rc.reject(w, http.StatusRequestEntityTooLarge, rejectTooLarge, fmt.Sprintf("the body is over %d bytes", rc.opts.MaxBody))
			return
		}
		rc.reject(w, http.StatusBadRequest, rejectMalformed, err.Error())
		return
	}
	code, text := rc.Handle(r.Context(), msg)
	if code >= 400 {
		http.Error(w, text, code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, text)
}

// Handle decides on every alert of a valid notification and starts the
// runs; it returns the HTTP status and a line per alert. 503 (Alertmanager
// retries it) when a run could not start for now (the cap, the API), 400
// when an alert cannot be used (a label that is not a valid name), else
// 200.
func (rc *Receiver) Handle(ctx context.Context, msg *Message) (int, string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	// A stuck API must not hold every later notification behind the lock.
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	var lines []string
	retry, invalid := false, false
	active := -1
	for i := range msg.Alerts {
		a := &msg.Alerts[i]
		rc.metrics.received.Inc()
		route := rc.opts.Routes.Match(a)
		if route == nil {
			lines = append(lines, fmt.Sprintf("%s %s: no route", show(a.Name()), show(a.Key())))
			continue
		}
		rc.metrics.matched.WithLabelValues(route.Name).Inc()
		if a.Status == StatusResolved && !route.Resolved {
			rc.metrics.ignored.WithLabelValues(route.Name).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: resolved, ignored by route %s", show(a.Name()), show(a.Key()), route.Name))
			continue
		}
		target, err := route.Target(a)
		if err != nil {
			invalid = true
			rc.metrics.rejected.WithLabelValues(rejectInvalidAlert).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: route %s: %v", show(a.Name()), show(a.Key()), route.Name, err))
			continue
		}
		key := a.Status + "/" + a.LabelsKey()
		now := rc.opts.Now()
		if at, ok := rc.seen[key]; ok && now.Sub(at) < rc.opts.Window {
			rc.metrics.deduplicated.WithLabelValues(route.Name).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: deduplicated (started %s ago)", show(a.Name()), show(a.Key()), now.Sub(at).Round(time.Second)))
			continue
		}
		rc.prune(now)
		if len(rc.seen) >= MaxKeys {
			retry = true
			rc.metrics.throttled.WithLabelValues(route.Name).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: %d alerts in the window, try later", show(a.Name()), show(a.Key()), len(rc.seen)))
			continue
		}
		if active < 0 {
			if active, err = rc.opts.Starter.Active(ctx); err != nil {
				retry = true
				active = -1
				rc.metrics.failed.WithLabelValues(route.Name).Inc()
				lines = append(lines, fmt.Sprintf("%s %s: counting the active runs: %v", show(a.Name()), show(a.Key()), err))
				continue
			}
		}
		if active >= rc.opts.MaxActive {
			retry = true
			rc.metrics.throttled.WithLabelValues(route.Name).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: %d runs active, the cap: try later", show(a.Name()), show(a.Key()), active))
			continue
		}
		run := Run{Route: route.Name, Runbook: route.Runbook.Metadata.Name, Namespace: target.Namespace, Vars: target.Vars, Alert: a.Name(), Fingerprint: a.Key()}
		job, err := rc.opts.Starter.Start(ctx, run)
		if errors.Is(err, ErrInvalidRun) {
			invalid = true
			rc.metrics.rejected.WithLabelValues(rejectInvalidAlert).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: route %s: %v", show(a.Name()), show(a.Key()), route.Name, err))
			continue
		}
		if err != nil {
			retry = true
			rc.metrics.failed.WithLabelValues(route.Name).Inc()
			lines = append(lines, fmt.Sprintf("%s %s: starting runbook %s: %v", show(a.Name()), show(a.Key()), run.Runbook, err))
			continue
		}
		rc.seen[key] = now
		active++
		rc.metrics.started.WithLabelValues(route.Name).Inc()
		lines = append(lines, fmt.Sprintf("%s %s: started %s (runbook %s, namespace %s)", show(a.Name()), show(a.Key()), job, run.Runbook, orDefault(target.Namespace)))
	}
	if msg.TruncatedAlerts > 0 {
		// Alertmanager cut the group at the receiver's max_alerts: those
		// alerts never reach us, and must not go unsaid.
		lines = append(lines, fmt.Sprintf("%d more alerts of group %s were left out by Alertmanager (max_alerts): they start no run", msg.TruncatedAlerts, show(msg.GroupKey)))
	}
	for _, l := range lines {
		rc.opts.Log.Print(l)
	}
	text := strings.Join(lines, "\n") + "\n"
	switch {
	case retry:
		return http.StatusServiceUnavailable, text
	case invalid:
		return http.StatusBadRequest, text
	}
	return http.StatusOK, text
}

// show prints an untrusted value in a log line: as it is when short and
// plain, else quoted and cut, so that no value can forge a line.
func show(s string) string {
	if len(s) <= 64 && s != "" && strings.IndexFunc(s, func(c rune) bool { return c <= ' ' || c > '~' }) < 0 {
		return s
	}
	return quoteCut(s)
}

func orDefault(ns string) string {
	if ns == "" {
		return "the runbook's"
	}
	return ns
}

// prune forgets the alerts started before the window.
func (rc *Receiver) prune(now time.Time) {
	for k, at := range rc.seen {
		if now.Sub(at) >= rc.opts.Window {
			delete(rc.seen, k)
		}
	}
}

// metrics are the receiver's Prometheus metrics.
type metrics struct {
	received                                                   prometheus.Counter
	matched, started, deduplicated, ignored, throttled, failed *prometheus.CounterVec
	rejected                                                   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	route := []string{"route"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "runbook_serve", Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	received := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "runbook_serve", Name: "alerts_received_total", Help: "Alerts received in valid, authorised notifications."})
	reg.MustRegister(received)
	m := &metrics{
		received:     received,
		matched:      counter("alerts_matched_total", "Alerts that matched a route.", route...),
		started:      counter("jobs_started_total", "Runs started (one Job each).", route...),
		deduplicated: counter("alerts_deduplicated_total", "Alerts not started again: their fingerprint started a run within the window.", route...),
		ignored:      counter("alerts_ignored_total", "Resolved alerts of routes that do not run on resolved.", route...),
		throttled:    counter("alerts_throttled_total", "Alerts answered 503 because the cap of runs at once was reached.", route...),
		failed:       counter("jobs_failed_to_start_total", "Runs the API refused or failed to start (answered 503).", route...),
		rejected:     counter("rejected_total", "Requests or alerts rejected, by reason.", "reason"),
	}
	for _, reason := range []string{rejectUnauthorized, rejectMethod, rejectMediaType, rejectTooLarge, rejectMalformed, rejectInvalidAlert} {
		m.rejected.WithLabelValues(reason)
	}
	return m
}
