package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFollowLogsKeepsWhatWasReadWhenCtxEnds: a followed log of a command that
// prints and never ends (tcpdump, journalctl -f) is cut by ctx (the step's
// timeout, the run's, an interrupt); what was read until then is returned,
// with ctx's cause, and was handed over line by line.
func TestFollowLogsKeepsWhatWasReadWhenCtxEnds(t *testing.T) {
	const printed = "line-1\nline-2\nline-3\n"
	stop := make(chan struct{})
	c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "true" {
			t.Errorf("query %s: want follow", r.URL.RawQuery)
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, printed)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop) })
	for _, tt := range []struct {
		name          string
		maxBytes      int
		want          string
		wantTruncated bool
	}{
		{"whole", 0, printed, false},
		{"past the cap", 9, printed[:9], true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cause := errors.New("the step's timeout of 1s expired")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var lines []string
			done := make(chan struct{})
			var text string
			var truncated bool
			var err error
			go func() {
				defer close(done)
				text, truncated, err = FollowLogs(ctx, c, "ns", "web", "debugger", tt.maxBytes, func(stream, line string) { lines = append(lines, line) })
			}()
			time.Sleep(300 * time.Millisecond)
			cancel(cause)
			<-done
			if text != tt.want || truncated != tt.wantTruncated {
				t.Errorf("(%q, %v), want (%q, %v)", text, truncated, tt.want, tt.wantTruncated)
			}
			if tt.wantTruncated {
				// The cap ends the read: nothing is left to wait for.
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, cause) {
				t.Errorf("error %v, want ctx's cause", err)
			}
			if got := strings.Join(lines, "\n") + "\n"; got != printed {
				t.Errorf("lines %q, want the log's", lines)
			}
		})
	}
}
