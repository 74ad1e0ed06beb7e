package kube

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLineWriter hands over whole lines whatever the writes' boundaries,
// drops a carriage return before the line break, cuts a line at
// MaxLiveLine and drops the rest of it, and hands over the unterminated
// last line on Close.
func TestLineWriter(t *testing.T) {
	var got []string
	w := NewLineWriter(func(stream, line string) { got = append(got, stream+":"+line) }, "stdout")
	long := strings.Repeat("a", MaxLiveLine) + "SECRET-TAIL"
	for _, chunk := range []string{"fir", "st\nsec", "ond\r\n", long[:100], long[100:], "\n", "after", " the cut\nlast"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"stdout:first", "stdout:second", "stdout:" + long[:MaxLiveLine], "stdout:after the cut", "stdout:last"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// TestFollowLogs follows a log as the server writes it: a line reaches the
// caller while the stream is still open, and the whole log is returned
// when the server ends it (the container ended).
func TestFollowLogs(t *testing.T) {
	firstSeen := make(chan struct{})
	var query string
	c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "tick 1\n")
		w.(http.Flusher).Flush()
		// The second line only once the first was handed over: a reader
		// that waited for the end would never see it (the limit fails it).
		select {
		case <-firstSeen:
		case <-time.After(time.Minute):
			return
		}
		fmt.Fprint(w, "tick 2\nno newline")
	}))
	var mu sync.Mutex
	var lines []string
	text, truncated, err := FollowLogs(context.Background(), c, "ns", "web", "debugger", 0, func(stream, line string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, stream+":"+line)
		if line == "tick 1" {
			close(firstSeen)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if text != "tick 1\ntick 2\nno newline" || truncated {
		t.Errorf("log %q (truncated %v)", text, truncated)
	}
	if diff := cmp.Diff([]string{"stdout:tick 1", "stdout:tick 2", "stdout:no newline"}, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	for _, want := range []string{"follow=true", "container=debugger", fmt.Sprintf("limitBytes=%d", DefaultMaxBytes+1)} {
		if !strings.Contains(query, want) {
			t.Errorf("query %q lacks %s", query, want)
		}
	}
}

// TestFollowLogsCap stops at the cap and says the log was cut.
func TestFollowLogsCap(t *testing.T) {
	c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "0123456789\n")
	}))
	text, truncated, err := FollowLogs(context.Background(), c, "ns", "web", "", 4, nil)
	if err != nil || text != "0123" || !truncated {
		t.Errorf("FollowLogs = %q, %v, %v; want 0123, truncated", text, truncated, err)
	}
}
