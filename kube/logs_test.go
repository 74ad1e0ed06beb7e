package kube

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/kubernetes/fake"
)

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
				"sinceSeconds": {"91"}, "previous": {"true"}},
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
