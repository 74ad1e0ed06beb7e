package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
)

func TestCappedBuffer(t *testing.T) {
	tests := []struct {
		name          string
		max           int
		writes        []string
		want          string
		wantTruncated bool
	}{
		{"under the cap", 10, []string{"abc", "def"}, "abcdef", false},
		{"exactly the cap", 6, []string{"abc", "def"}, "abcdef", false},
		{"cut inside a write", 4, []string{"abc", "def"}, "abcd", true},
		{"writes after the cap", 3, []string{"abc", "def", "ghi"}, "abc", true},
		{"empty write", 3, []string{""}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewCappedBuffer(tt.max)
			for _, w := range tt.writes {
				n, err := b.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; a capped buffer must accept everything", w, n, err)
				}
			}
			if b.String() != tt.want || b.Truncated() != tt.wantTruncated {
				t.Errorf("got %q truncated=%v, want %q truncated=%v", b.String(), b.Truncated(), tt.want, tt.wantTruncated)
			}
		})
	}
}

func TestExecBadInput(t *testing.T) {
	c := serverClients(t, http.NotFoundHandler())
	tests := []struct {
		name    string
		c       *Clients
		pod     string
		command []string
		wantErr string
	}{
		{"no clients", nil, "p", []string{"ls"}, "exec: no cluster connection"},
		{"fake clients", NewClientsWith(nil, nil, nil, ""), "p", []string{"ls"}, "exec: no cluster connection"},
		{"no command", c, "p", nil, "exec: empty command"},
		{"no pod", c, "", []string{"ls"}, "exec: no pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Exec(context.Background(), tt.c, "ns", tt.pod, "app", tt.command, nil, 0)
			if got.ExitCode != -1 || errString(got.Err) != tt.wantErr {
				t.Errorf("Exec = exit %d, error %q; want -1, %q", got.ExitCode, errString(got.Err), tt.wantErr)
			}
		})
	}
	if n := c.Requests.Count(); n != 0 {
		t.Errorf("bad input sent %d requests", n)
	}
}

// TestExecUpgradeRefused checks, against a server that refuses every upgrade, that Exec
// tries WebSocket, falls back to SPDY, and returns the server's error in the result, in
// SPDY's (kubectl's) words, with the status of the refusal: a forbidden exec is the
// cluster's refusal (IsClusterError), a missing pod is not.
func TestExecUpgradeRefused(t *testing.T) {
	tests := []struct {
		code           int
		reason, msg    string
		is             func(error) bool
		clusterRefused bool
	}{
		{http.StatusNotFound, "NotFound", `pods \"gone\" not found`, apierrors.IsNotFound, false},
		{http.StatusForbidden, "Forbidden", `pods \"gone\" is forbidden: User \"u\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"ns\"`, apierrors.IsForbidden, true},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			c := serverClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%s %s command=%v container=%s stdin=%s", r.Method, r.URL.Path,
					r.URL.Query()["command"], r.URL.Query().Get("container"), r.URL.Query().Get("stdin")))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.code)
				fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","message":"%s","reason":"%s","code":%d}`, tc.msg, tc.reason, tc.code)
			}))
			got := Exec(context.Background(), c, "ns", "gone", "app", []string{"/bin/sh", "-c", "echo hi"}, strings.NewReader("in"), 16)
			if got.Err == nil || got.ExitCode != -1 {
				t.Fatalf("Exec = %+v, want an error and exit code -1", got)
			}
			want := "unable to upgrade connection: " + strings.ReplaceAll(tc.msg, `\"`, `"`)
			if got.Err.Error() != want {
				t.Errorf("error %q, want kubectl's %q", got.Err, want)
			}
			if !tc.is(got.Err) || IsClusterError(got.Err) != tc.clusterRefused {
				t.Errorf("error %q: reason %s, IsClusterError %v; want %s, %v", got.Err, apierrors.ReasonForError(got.Err), IsClusterError(got.Err), tc.reason, tc.clusterRefused)
			}
			wantSeen := []string{
				"GET /api/v1/namespaces/ns/pods/gone/exec command=[/bin/sh -c echo hi] container=app stdin=true",
				"POST /api/v1/namespaces/ns/pods/gone/exec command=[/bin/sh -c echo hi] container=app stdin=true",
			}
			if diff := cmp.Diff(wantSeen, seen); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int64{"GET pods/exec": 1, "CREATE pods/exec": 1}, c.Requests.ByVerb()); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
		})
	}
}

// execRun plays a command on the fake exec server: it gets the command and stdin and
// returns what the container wrote and the status the runtime reports.
type execRun func(command []string, stdin string) (stdout, stderr string, status metav1.Status)

// spdyExecServer answers exec requests like a kubelet speaking the SPDY v4 protocol; it
// refuses WebSocket upgrades, so the client must fall back.
func spdyExecServer(t *testing.T, run execRun) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/exec") {
			http.Error(w, "websocket not supported here", http.StatusBadRequest)
			return
		}
		if _, err := httpstream.Handshake(r, w, []string{remotecommand.StreamProtocolV4Name}); err != nil {
			t.Errorf("handshake: %v", err)
			return
		}
		type newStream struct {
			stream httpstream.Stream
			reply  <-chan struct{}
		}
		streams := make(chan newStream, 4)
		conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, reply <-chan struct{}) error {
			streams <- newStream{s, reply}
			return nil
		})
		if conn == nil {
			t.Error("upgrade failed")
			return
		}
		defer conn.Close()
		want := 3
		if r.URL.Query().Get("stdin") == "true" {
			want = 4
		}
		byType := map[string]httpstream.Stream{}
		for range want {
			ns := <-streams
			<-ns.reply
			byType[ns.stream.Headers().Get(corev1.StreamType)] = ns.stream
		}
		var stdin string
		if in := byType[corev1.StreamTypeStdin]; in != nil {
			data, _ := io.ReadAll(in)
			stdin = string(data)
		}
		stdout, stderr, status := run(r.URL.Query()["command"], stdin)
		io.WriteString(byType[corev1.StreamTypeStdout], stdout)
		byType[corev1.StreamTypeStdout].Close()
		io.WriteString(byType[corev1.StreamTypeStderr], stderr)
		byType[corev1.StreamTypeStderr].Close()
		if status.Status != metav1.StatusSuccess {
			data, _ := json.Marshal(status)
			byType[corev1.StreamTypeError].Write(data)
		}
		byType[corev1.StreamTypeError].Close()
	})
}

func TestExecOverSPDY(t *testing.T) {
	success := metav1.Status{Status: metav1.StatusSuccess}
	exitCode := func(code string) metav1.Status {
		return metav1.Status{Status: metav1.StatusFailure, Reason: remotecommand.NonZeroExitCodeReason,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: code}}}}
	}
	noShell := `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "1f2e": ` +
		`OCI runtime exec failed: exec failed: unable to start container process: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown`
	tests := []struct {
		name     string
		command  []string
		stdin    io.Reader
		maxBytes int
		run      execRun
		want     ExecResult
		wantErr  string
	}{
		{
			name:    "output and exit code 0",
			command: []string{"ps", "-ef"},
			run: func(cmd []string, _ string) (string, string, metav1.Status) {
				return "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n", "", success
			},
			want: ExecResult{Stdout: "PID   USER     TIME  COMMAND\n    1 65535     0:00 /pause\n"},
		},
		{
			name:    "non-zero exit is an exit code, not an error",
			command: []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
			run: func([]string, string) (string, string, metav1.Status) {
				return "out\n", "err\n", exitCode("3")
			},
			want: ExecResult{Stdout: "out\n", Stderr: "err\n", ExitCode: 3},
		},
		{
			name:    "no shell in the container",
			command: []string{"/bin/sh", "-c", "echo hi"},
			run: func([]string, string) (string, string, metav1.Status) {
				return "", "", metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: noShell}
			},
			want:    ExecResult{ExitCode: -1},
			wantErr: noShell,
		},
		{
			name:     "output capped",
			command:  []string{"yes"},
			maxBytes: 5,
			run: func([]string, string) (string, string, metav1.Status) {
				return strings.Repeat("y\n", 100), "e", success
			},
			want: ExecResult{Stdout: "y\ny\ny", StdoutTruncated: true, Stderr: "e"},
		},
		{
			name:    "stdin",
			command: []string{"cat"},
			stdin:   strings.NewReader("from the operator"),
			run: func(_ []string, stdin string) (string, string, metav1.Status) {
				return stdin, "", success
			},
			want: ExecResult{Stdout: "from the operator"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCommand []string
			c := serverClients(t, spdyExecServer(t, func(cmd []string, stdin string) (string, string, metav1.Status) {
				gotCommand = cmd
				return tt.run(cmd, stdin)
			}))
			got := Exec(context.Background(), c, "ns", "web", "app", tt.command, tt.stdin, tt.maxBytes)
			if errString(got.Err) != tt.wantErr {
				t.Errorf("Err = %q, want %q", errString(got.Err), tt.wantErr)
			}
			got.Err = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Exec (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.command, gotCommand); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int64{"GET pods/exec": 1, "CREATE pods/exec": 1}, c.Requests.ByVerb()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}
