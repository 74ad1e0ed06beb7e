package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
)

// DefaultMaxBytes caps each output stream of Exec and Logs when the caller gives no cap.
const DefaultMaxBytes = 1 << 20

// ExecResult is what a command run in a container produced.
type ExecResult struct {
	// Stdout is the command's standard output, at most maxBytes of it.
	Stdout string
	// Stderr is the command's standard error, at most maxBytes of it.
	Stderr string
	// StdoutTruncated is true when Stdout was cut at maxBytes.
	StdoutTruncated bool
	// StderrTruncated is true when Stderr was cut at maxBytes.
	StderrTruncated bool
	// ExitCode is the command's exit code; -1 when it could not be started or its end
	// was not seen (Err says why).
	ExitCode int
	// Err is set when the command could not be started or run to its end: the executable
	// does not exist (the runtime's own text, e.g. `exec: "/bin/sh": stat /bin/sh: no such
	// file or directory`), the pod or container is missing, the connection failed, ctx
	// ended. A command that ran and exited non-zero is not an error: see ExitCode.
	Err error
}

// Exec runs command in a container, like kubectl exec: over WebSocket (the v5 protocol),
// falling back to SPDY when the server or a proxy cannot upgrade to WebSocket. stdin may be
// nil. Each of stdout and stderr keeps its first maxBytes (DefaultMaxBytes if maxBytes <= 0);
// the rest is read and dropped, and the result says it was truncated. Exec never panics on
// a failure of the command or the connection: every failure is in the result.
func Exec(ctx context.Context, c *Clients, namespace, pod, container string, command []string, stdin io.Reader, maxBytes int) ExecResult {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	stdout := NewCappedBuffer(maxBytes)
	stderr := NewCappedBuffer(maxBytes)
	result := func(code int, err error) ExecResult {
		return ExecResult{
			Stdout: stdout.String(), Stderr: stderr.String(),
			StdoutTruncated: stdout.Truncated(), StderrTruncated: stderr.Truncated(),
			ExitCode: code, Err: err,
		}
	}
	switch {
	case c == nil || c.Config == nil || c.Kube == nil:
		return result(-1, errors.New("exec: no cluster connection"))
	case len(command) == 0:
		return result(-1, errors.New("exec: empty command"))
	case pod == "":
		return result(-1, errors.New("exec: no pod"))
	}

	req := c.Kube.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	executor, err := newExecutor(c, req.URL())
	if err != nil {
		return result(-1, fmt.Errorf("exec: %w", err))
	}
	var outW, errW io.Writer = stdout, stderr
	if f := OutputFrom(ctx); f != nil {
		// Also hand the output over as it comes, for the live progress.
		lo, le := NewLineWriter(f, "stdout"), NewLineWriter(f, "stderr")
		defer lo.Close()
		defer le.Close()
		outW, errW = io.MultiWriter(stdout, lo), io.MultiWriter(stderr, le)
	}
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: outW, Stderr: errW})
	if err == nil {
		return result(0, nil)
	}
	var exit exec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		return result(exit.ExitStatus(), nil)
	}
	if ctxErr := context.Cause(ctx); ctxErr != nil && ctx.Err() != nil {
		return result(-1, fmt.Errorf("exec in %s/%s: %w (%v)", namespace, pod, ctxErr, err))
	}
	return result(-1, err)
}

// newExecutor builds kubectl's executor: WebSocket first, SPDY when the upgrade fails.
func newExecutor(c *Clients, u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return fallbackExecutor{ws: ws, spdy: spdy}, nil
}

// fallbackExecutor is kubectl's fallback (remotecommand.NewFallbackExecutor,
// with its condition): WebSocket, then SPDY when the WebSocket upgrade
// failed (a server before v1.30, a proxy that cannot upgrade; a server
// before v1.35 also authorizes the WebSocket GET as verb get and SPDY's POST
// as create, so a refusal of the one is no answer for the other). When both
// were refused, SPDY's error is kept, in kubectl's words ("unable to
// upgrade connection: pods "web" is forbidden: ..."), but k8s.io/streaming
// writes the server's status into that text and drops its code, which the
// WebSocket attempt kept: the error carries it (see refusedUpgrade), so that
// a refusal (forbidden, unauthorized) reads as the cluster's, not as the
// command's failure.
type fallbackExecutor struct {
	ws, spdy remotecommand.Executor
}

// Stream implements remotecommand.Executor.
func (e fallbackExecutor) Stream(options remotecommand.StreamOptions) error {
	return e.StreamWithContext(context.Background(), options)
}

// StreamWithContext implements remotecommand.Executor.
func (e fallbackExecutor) StreamWithContext(ctx context.Context, options remotecommand.StreamOptions) error {
	wsErr := e.ws.StreamWithContext(ctx, options)
	if !httpstream.IsUpgradeFailure(wsErr) && !httpstream.IsHTTPSProxyError(wsErr) {
		return wsErr
	}
	err := e.spdy.StreamWithContext(ctx, options)
	var upgrade *httpstream.UpgradeFailureError
	var status apierrors.APIStatus
	if err != nil && strings.HasPrefix(err.Error(), "unable to upgrade connection") &&
		errors.As(wsErr, &upgrade) && errors.As(upgrade.Cause, &status) {
		return &refusedUpgrade{err: err, status: status}
	}
	return err
}

// refusedUpgrade is SPDY's upgrade error, with the status of the server's
// answer to the WebSocket upgrade: its text is SPDY's, and errors.As finds the
// status (apierrors.IsForbidden, IsUnauthorized, ... hold).
type refusedUpgrade struct {
	err    error
	status apierrors.APIStatus
}

func (e *refusedUpgrade) Error() string { return e.err.Error() }

// Unwrap returns both the SPDY error and the WebSocket answer's status.
func (e *refusedUpgrade) Unwrap() []error {
	if se, ok := e.status.(error); ok {
		return []error{e.err, se}
	}
	return []error{e.err}
}

// CappedBuffer keeps the first max bytes written to it and drops the rest, noting that it
// did; writes never fail, so a chatty command is neither cut off mid-stream nor blocked on
// a full pipe. It is safe for concurrent use.
type CappedBuffer struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

// NewCappedBuffer returns an empty buffer that keeps at most max bytes.
func NewCappedBuffer(max int) *CappedBuffer {
	return &CappedBuffer{max: max}
}

// Write implements io.Writer.
func (b *CappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.buf)
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf = append(b.buf, p[:room]...)
		}
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// String returns what was kept.
func (b *CappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Truncated reports whether anything was dropped.
func (b *CappedBuffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}
