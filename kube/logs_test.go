package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestSinceSeconds: --since as kubectl logs sends it, rounded to the nearest second.
func TestSinceSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int64{time.Millisecond: 1, 1400 * time.Millisecond: 1, 1500 * time.Millisecond: 2, 10 * time.Minute: 600} {
		if got := SinceSeconds(d); got != want {
			t.Errorf("SinceSeconds(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestLogs(t *testing.T) {
	tail := int64(20)
	since := 90*time.Second + time.Millisecond
	tests := []struct {
		name          string
		opts          LogOptions
		log           string
		want          string
		wantTruncated bool
		wantQuery     url.Values
	}{
		{
			name:      "whole log",
			log:       "line 1\nline 2\n",
			want:      "line 1\nline 2\n",
			wantQuery: url.Values{"container": {"app"}, "limitBytes": {fmt.Sprint(DefaultMaxBytes + 1)}},
		},
		{
			name: "tail, since, previous",
			opts: LogOptions{TailLines: &tail, Since: &since, Previous: true, MaxBytes: 100},
			log:  "x\n",
			want: "x\n",
			wantQuery: url.Values{"container": {"app"}, "limitBytes": {"101"}, "tailLines": {"20"},
				"sinceSeconds": {"90"}, "previous": {"true"}},
		},
		{
			name:      "timestamps, limitBytes under the cap: cut, not truncated",
			opts:      LogOptions{Timestamps: true, LimitBytes: 3, MaxBytes: 100},
			log:       "0123456789",
			want:      "012",
			wantQuery: url.Values{"container": {"app"}, "limitBytes": {"3"}, "timestamps": {"true"}},
		},
		{
			name:          "limitBytes over the cap: the cap",
			opts:          LogOptions{LimitBytes: 50, MaxBytes: 4},
			log:           "0123456789",
			want:          "0123",
			wantTruncated: true,
			wantQuery:     url.Values{"container": {"app"}, "limitBytes": {"5"}},
		},
		{
			name:          "longer than the cap",
			opts:          LogOptions{MaxBytes: 4},
			log:           "0123456789",
			want:          "0123",
			wantTruncated: true,
			wantQuery:     url.Values{"container": {"app"}, "limitBytes": {"5"}},
		},
		{
			name:      "exactly the cap",
			opts:      LogOptions{MaxBytes: 4},
			log:       "0123",
			want:      "0123",
			wantQuery: url.Values{"container": {"app"}, "limitBytes": {"5"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var query url.Values
			var path string
			c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path, query = r.URL.Path, r.URL.Query()
				log := tt.log
				// The server honours limitBytes, as the kubelet does.
				if n := r.URL.Query().Get("limitBytes"); n != "" {
					var limit int
					fmt.Sscan(n, &limit)
					if len(log) > limit {
						log = log[:limit]
					}
				}
				w.Header().Set("Content-Type", "text/plain")
				fmt.Fprint(w, log)
			}))
			got, truncated, err := Logs(context.Background(), c, "ns", "web", "app", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || truncated != tt.wantTruncated {
				t.Errorf("Logs = %q, %v; want %q, %v", got, truncated, tt.want, tt.wantTruncated)
			}
			if path != "/api/v1/namespaces/ns/pods/web/log" {
				t.Errorf("path %q", path)
			}
			if diff := cmp.Diff(tt.wantQuery, query); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int64{"GET pods/log": 1}, c.Requests.ByVerb()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogsErrors(t *testing.T) {
	c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","message":"container \"nope\" in pod \"web\" is not valid","reason":"BadRequest","code":400}`)
	}))
	_, _, err := Logs(context.Background(), c, "ns", "web", "nope", LogOptions{})
	if want := `logs of ns/web: container "nope" in pod "web" is not valid`; errString(err) != want {
		t.Errorf("error = %q, want %q", errString(err), want)
	}
	if _, _, err := Logs(context.Background(), nil, "ns", "web", "app", LogOptions{}); errString(err) != "logs: no cluster client" {
		t.Errorf("nil clients: %v", err)
	}
	// The fake clientset answers "fake logs": Logs works with fakes too.
	got, _, err := Logs(context.Background(), NewClientsWith(fake.NewSimpleClientset(), nil, nil, ""), "ns", "web", "app", LogOptions{})
	if err != nil || !strings.Contains(got, "fake logs") {
		t.Errorf("fake: %q, %v", got, err)
	}
}

func TestLogsKubeletErrorIsNotALog(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // the error; "" when the body is a log
	}{
		{"container removed", "unable to retrieve container logs for containerd://d3c229e37f29", "the kubelet could not read the log of container \"app\" in pod ns/web: unable to retrieve container logs for containerd://d3c229e37f29"},
		{"log file removed", `failed to try resolving symlinks in path "/var/log/pods/ns_web_uid/app/1.log": lstat /var/log/pods/ns_web_uid/app/1.log: no such file or directory`,
			`the kubelet could not read the log of container "app" in pod ns/web: failed to try resolving symlinks in path "/var/log/pods/ns_web_uid/app/1.log": lstat /var/log/pods/ns_web_uid/app/1.log: no such file or directory`},
		{"log file unreadable", `failed to open log file "/var/log/pods/x/app/0.log": permission denied` + "\n",
			`the kubelet could not read the log of container "app" in pod ns/web: failed to open log file "/var/log/pods/x/app/0.log": permission denied`},
		{"a log that quotes it", "starting\nunable to retrieve container logs for containerd://x\n", ""},
		{"a log", "panic: boom\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The kubelet answers 200 and writes its error as the body, whatever limitBytes says.
			c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				fmt.Fprint(w, tt.body)
			}))
			got, _, err := Logs(context.Background(), c, "ns", "web", "app", LogOptions{MaxBytes: 8})
			if errString(err) != tt.want {
				t.Fatalf("error = %q, want %q", errString(err), tt.want)
			}
			var unavailable *LogUnavailableError
			if tt.want != "" && (!errors.As(err, &unavailable) || got != "") {
				t.Errorf("(%q, %T): want no log and a *LogUnavailableError", got, err)
			}
		})
	}
}

func TestPreviousLogs(t *testing.T) {
	defer func(r struct{ first, max time.Duration }) { previousLogRetry = r }(previousLogRetry)
	previousLogRetry.first, previousLogRetry.max = 10*time.Millisecond, 20*time.Millisecond
	const notFound = `{"apiVersion":"v1","kind":"Status","status":"Failure","message":"previous terminated container \"app\" in pod \"web\" not found","reason":"BadRequest","code":400}`
	const unreadable = "unable to retrieve container logs for containerd://0ld"
	ended := func(id string) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ContainerID: id, ExitCode: 1, FinishedAt: metav1.Date(2026, 12, 3, 4, 21, 12, 0, time.UTC)}}
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	// Restarted once, running again: the kubelet's status has caught up.
	restarted := corev1.ContainerStatus{Name: "app", State: running, LastTerminationState: ended("containerd://0ld")}
	// Crashed again and waiting to restart: state is the crashed instance, lastState
	// the one before, which the kubelet has removed (v1.37 during the back-off).
	backOff := corev1.ContainerStatus{Name: "app", State: ended("containerd://cr4sh"), LastTerminationState: ended("containerd://0ld")}
	// Started again between two reads.
	again := corev1.ContainerStatus{Name: "app", State: running, LastTerminationState: ended("containerd://cr4sh")}

	type requests struct{ previous, current, pod int }
	// server answers the i-th previous-log request with previous[i], and the i-th
	// pod read with the pod whose status of container app is statuses[i] (the last
	// one ever after); the container's current log is "the last crash\n". A
	// previous-log answer is a string body with 200, or a Status with 400 when it
	// starts with "{".
	server := func(t *testing.T, statuses []corev1.ContainerStatus, previous ...string) (*Clients, *requests) {
		n := &requests{}
		return serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/api/v1/namespaces/ns/pods/web":
				st := statuses[min(n.pod, len(statuses)-1)]
				n.pod++
				pod := corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
					Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "sidecar"}, st}}}
				w.Header().Set("Content-Type", "application/json")
				if err := json.NewEncoder(w).Encode(pod); err != nil {
					t.Error(err)
				}
			case r.URL.Path != "/api/v1/namespaces/ns/pods/web/log":
				t.Errorf("unexpected request %s", r.URL)
				w.WriteHeader(http.StatusNotFound)
			case r.URL.Query().Get("previous") != "true":
				n.current++
				fmt.Fprint(w, "the last crash\n")
			default:
				a := previous[min(n.previous, len(previous)-1)]
				n.previous++
				if strings.HasPrefix(a, "{") {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
				}
				fmt.Fprint(w, a)
			}
		})), n
	}

	t.Run("readable after the restart settles", func(t *testing.T) {
		c, n := server(t, []corev1.ContainerStatus{restarted}, unreadable, unreadable, "the crash\n")
		var waited []string
		got, err := PreviousLogs(context.Background(), c, "ns", "web", "app", LogOptions{}, func(err error) { waited = append(waited, err.Error()) })
		if err != nil || got != (PreviousLog{Text: "the crash\n"}) {
			t.Fatalf("(%+v, %v), want the previous instance's log", got, err)
		}
		if *n != (requests{previous: 3, pod: 2}) || len(waited) != 1 || !strings.Contains(waited[0], unreadable) {
			t.Errorf("requests %+v, waiting called with %q: want 3 previous-log requests, 2 pod reads and one call with the kubelet's words", *n, waited)
		}
	})
	t.Run("the crashed instance while the container waits to restart", func(t *testing.T) {
		c, n := server(t, []corev1.ContainerStatus{backOff}, unreadable)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := PreviousLogs(ctx, c, "ns", "web", "app", LogOptions{}, func(err error) { t.Errorf("waited: %v", err) })
		if err != nil || got.Text != "the last crash\n" || got.Ended == nil || got.Ended.State.Terminated.ContainerID != "containerd://cr4sh" || got.Ended.LastTerminationState.Terminated.ContainerID != "containerd://0ld" {
			t.Fatalf("(%+v, %v), want the current log of instance cr4sh, 0ld removed", got, err)
		}
		if *n != (requests{previous: 1, current: 1, pod: 2}) {
			t.Errorf("requests %+v: want the previous log, the pod, the current log and the pod again", *n)
		}
	})
	t.Run("started again between the reads", func(t *testing.T) {
		// The current log read may be the new instance's: it is not taken, and the
		// previous log (the crashed instance, now readable) is asked for again.
		c, n := server(t, []corev1.ContainerStatus{backOff, again}, unreadable, "the crash\n")
		got, err := PreviousLogs(context.Background(), c, "ns", "web", "app", LogOptions{}, nil)
		if err != nil || got != (PreviousLog{Text: "the crash\n"}) {
			t.Fatalf("(%+v, %v), want the previous log asked again", got, err)
		}
		if *n != (requests{previous: 2, current: 1, pod: 2}) {
			t.Errorf("requests %+v", *n)
		}
	})
	t.Run("never readable", func(t *testing.T) {
		c, n := server(t, []corev1.ContainerStatus{restarted}, unreadable)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		got, err := PreviousLogs(ctx, c, "ns", "web", "app", LogOptions{}, nil)
		want := `the previous log never became readable: the kubelet could not read the log of the previous instance of container "app" in pod ns/web: ` + unreadable
		if got != (PreviousLog{}) || errString(err) != want {
			t.Fatalf("(%+v, %q), want (\"\", %q)", got, errString(err), want)
		}
		var unavailable *LogUnavailableError
		if !errors.As(err, &unavailable) || n.previous < 3 || n.current != 0 {
			t.Errorf("error %T after requests %+v: want a *LogUnavailableError after several, no current log read", err, *n)
		}
	})
	t.Run("no previous instance", func(t *testing.T) {
		c, n := server(t, []corev1.ContainerStatus{restarted}, notFound)
		_, err := PreviousLogs(context.Background(), c, "ns", "web", "app", LogOptions{}, nil)
		want := `container "app" in pod ns/web has no previous instance to read the log of: it has not restarted, or the kubelet has not reported the restart yet (logs of ns/web: previous terminated container "app" in pod "web" not found)`
		if errString(err) != want || *n != (requests{previous: 1}) {
			t.Errorf("error after requests %+v:\n%s\nwant after 1:\n%s", *n, errString(err), want)
		}
	})
	t.Run("other errors end it", func(t *testing.T) {
		c, n := server(t, []corev1.ContainerStatus{restarted}, `{"apiVersion":"v1","kind":"Status","status":"Failure","message":"container \"nope\" in pod \"web\" is not valid","reason":"BadRequest","code":400}`)
		_, err := PreviousLogs(context.Background(), c, "ns", "web", "nope", LogOptions{}, nil)
		if errString(err) != `logs of ns/web: container "nope" in pod "web" is not valid` || *n != (requests{previous: 1}) {
			t.Errorf("error %q after requests %+v", errString(err), *n)
		}
	})
}
