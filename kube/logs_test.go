package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

	// server answers the i-th request with answers[i] (the last one ever after): a
	// string body with 200, or a Status with 400 when it starts with "{".
	server := func(t *testing.T, answers ...string) (*Clients, *int) {
		n := 0
		return serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("previous") != "true" {
				t.Errorf("query %v: want previous=true", r.URL.Query())
			}
			a := answers[min(n, len(answers)-1)]
			n++
			if strings.HasPrefix(a, "{") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
			}
			fmt.Fprint(w, a)
		})), &n
	}

	t.Run("readable after the restart settles", func(t *testing.T) {
		c, n := server(t, unreadable, unreadable, "the crash\n")
		var waited []string
		got, _, err := PreviousLogs(context.Background(), c, "ns", "web", "app", LogOptions{}, func(err error) { waited = append(waited, err.Error()) })
		if err != nil || got != "the crash\n" {
			t.Fatalf("(%q, %v), want the previous instance's log", got, err)
		}
		if *n != 3 || len(waited) != 1 || !strings.Contains(waited[0], unreadable) {
			t.Errorf("%d requests, waiting called with %q: want 3 requests and one call with the kubelet's words", *n, waited)
		}
	})
	t.Run("never readable", func(t *testing.T) {
		c, n := server(t, unreadable)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		got, _, err := PreviousLogs(ctx, c, "ns", "web", "app", LogOptions{}, nil)
		want := `the previous log never became readable: the kubelet could not read the log of the previous instance of container "app" in pod ns/web: ` + unreadable
		if got != "" || errString(err) != want {
			t.Fatalf("(%q, %q), want (\"\", %q)", got, errString(err), want)
		}
		var unavailable *LogUnavailableError
		if !errors.As(err, &unavailable) || *n < 3 {
			t.Errorf("error %T after %d requests: want a *LogUnavailableError after several", err, *n)
		}
	})
	t.Run("no previous instance", func(t *testing.T) {
		c, n := server(t, notFound)
		_, _, err := PreviousLogs(context.Background(), c, "ns", "web", "app", LogOptions{}, nil)
		want := `container "app" in pod ns/web has no previous instance to read the log of: it has not restarted, or the kubelet has not reported the restart yet (logs of ns/web: previous terminated container "app" in pod "web" not found)`
		if errString(err) != want || *n != 1 {
			t.Errorf("error after %d requests:\n%s\nwant after 1:\n%s", *n, errString(err), want)
		}
	})
	t.Run("other errors end it", func(t *testing.T) {
		c, n := server(t, `{"apiVersion":"v1","kind":"Status","status":"Failure","message":"container \"nope\" in pod \"web\" is not valid","reason":"BadRequest","code":400}`)
		_, _, err := PreviousLogs(context.Background(), c, "ns", "web", "nope", LogOptions{}, nil)
		if errString(err) != `logs of ns/web: container "nope" in pod "web" is not valid` || *n != 1 {
			t.Errorf("error %q after %d requests", errString(err), *n)
		}
	})
}
