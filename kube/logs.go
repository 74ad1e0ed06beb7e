package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogOptions selects which part of a container's log to read.
type LogOptions struct {
	// TailLines keeps only the last lines; nil reads the whole log.
	TailLines *int64
	// Since keeps only lines newer than this; nil reads the whole log.
	Since *time.Duration
	// Previous reads the log of the previous instance of a restarted container.
	Previous bool
	// MaxBytes keeps the first MaxBytes of the log (DefaultMaxBytes if <= 0).
	MaxBytes int
	// Timestamps starts each line with its RFC 3339 time (kubectl logs --timestamps).
	Timestamps bool
	// LimitBytes, when more than 0, asks the server for at most that many bytes of the
	// log (kubectl logs --limit-bytes); a log cut there is not truncated: it was asked so.
	LimitBytes int64
}

// SinceSeconds is the sinceSeconds kubectl logs --since=d sends: d rounded to the
// nearest second, and at least 1 (kubectl sends 0 for less than half a second, which
// the API server refuses).
func SinceSeconds(d time.Duration) int64 {
	return max(int64(d.Round(time.Second).Seconds()), 1)
}

// Logs reads a container's log, like kubectl logs (without following). It returns at most
// opts.MaxBytes of it and whether there was more; the server is asked for one byte more
// than the cap, so a long log is not transferred in full. A log the kubelet could not read
// is a *LogUnavailableError, never a log: the kubelet answers such a request with status
// 200 and its error as the whole body.
func Logs(ctx context.Context, c *Clients, namespace, pod, container string, opts LogOptions) (string, bool, error) {
	if c == nil || c.Kube == nil {
		return "", false, errors.New("logs: no cluster client")
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	limit := int64(maxBytes) + 1
	asked := opts.LimitBytes > 0 && opts.LimitBytes < limit
	if asked {
		limit = opts.LimitBytes
	}
	po := &corev1.PodLogOptions{
		Container:  container,
		Previous:   opts.Previous,
		TailLines:  opts.TailLines,
		Timestamps: opts.Timestamps,
		LimitBytes: &limit,
	}
	if opts.Since != nil {
		secs := SinceSeconds(*opts.Since)
		po.SinceSeconds = &secs
	}
	stream, err := c.Kube.CoreV1().Pods(namespace).GetLogs(pod, po).Stream(ctx)
	if err != nil {
		return "", false, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	defer stream.Close()
	// The kubelet's error is not cut at limitBytes: read enough of it to tell it from a log.
	data, err := io.ReadAll(io.LimitReader(stream, max(limit, maxKubeletError+1)))
	if err != nil {
		return string(data), false, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	if msg, ok := kubeletLogError(data); ok {
		return "", false, &LogUnavailableError{Pod: namespace + "/" + pod, Container: container, Previous: opts.Previous, Kubelet: msg}
	}
	if asked && int64(len(data)) > limit {
		return string(data[:limit]), false, nil
	}
	if len(data) > maxBytes {
		return string(data[:maxBytes]), true, nil
	}
	return string(data), false, nil
}

// LogUnavailableError says that the kubelet could not read a container's log. Its answer
// has status 200 and the kubelet's error as the whole body ("unable to retrieve container
// logs for containerd://…"): for the previous instance of a container that has just
// restarted, that is its answer for some seconds (until its status reports the restart,
// the previous instance it means is one it has already removed); otherwise the log is gone
// (the container or its log file was removed).
type LogUnavailableError struct {
	// Pod is "namespace/name".
	Pod string
	// Container is the container asked for; "" for the pod's default one.
	Container string
	// Previous is set when the log of the previous instance was asked for.
	Previous bool
	// Kubelet is the kubelet's answer.
	Kubelet string
}

// Error reads like `the kubelet could not read the log of the previous instance of
// container "app" in pod ns/web: unable to retrieve container logs for containerd://…`.
func (e *LogUnavailableError) Error() string {
	what := "the log of "
	if e.Previous {
		what += "the previous instance of "
	}
	if e.Container != "" {
		what += fmt.Sprintf("container %q in ", e.Container)
	}
	return "the kubelet could not read " + what + "pod " + e.Pod + ": " + e.Kubelet
}

// maxKubeletError is the longest body taken for the kubelet's error.
const maxKubeletError = 4096

// kubeletLogErrors are the beginnings of the errors the kubelet writes as the body of a log
// request it could not serve (kuberuntime's GetContainerLogs and ReadLogs).
var kubeletLogErrors = []string{
	"unable to retrieve container logs for ",
	`failed to try resolving symlinks in path "`,
	`failed to open log file "`,
}

// kubeletLogError reports whether a log is in fact the kubelet's error: one line, starting
// with one of the kubelet's forms. A log with more lines is a log, whatever it says.
func kubeletLogError(body []byte) (string, bool) {
	s := strings.TrimSpace(string(body))
	if s == "" || strings.Contains(s, "\n") || len(s) > maxKubeletError {
		return "", false
	}
	for _, prefix := range kubeletLogErrors {
		if strings.HasPrefix(s, prefix) {
			return s, true
		}
	}
	return "", false
}

// previousLogRetry is the back-off of PreviousLogs: first and longest pause.
var previousLogRetry = struct{ first, max time.Duration }{500 * time.Millisecond, 2 * time.Second}

// PreviousLog is the log PreviousLogs read.
type PreviousLog struct {
	// Text is the log, at most LogOptions.MaxBytes of it; Truncated says there was more.
	Text      string
	Truncated bool
	// Ended is set when the kubelet had removed the previous instance while the
	// container waited to restart: Text is then the log of the instance that ended
	// last (the container's current one, which kubectl logs without --previous
	// reads), and Ended is the container's status when it was read: its
	// State.Terminated is how that instance ended, its LastTerminationState the
	// instance the kubelet could no longer read.
	Ended *corev1.ContainerStatus
}

// PreviousLogs reads the log of the previous instance of a container (Logs with
// opts.Previous), the instance that crashed last.
//
// The kubelet keeps one ended instance per container. From a crash until the container
// starts again (its back-off: up to five minutes), a kubelet may report the crashed
// instance as the container's state and the one before it, already removed, as its
// lastState (v1.37 does so for the whole back-off); right after a restart it may not have
// reported the restart yet. Meanwhile it cannot serve the previous log
// (*LogUnavailableError). In the first case PreviousLogs reads the crashed instance, the
// container's current log, and says so in PreviousLog.Ended; otherwise it asks again,
// backing off from half a second to two, until it can or ctx ends, and calls waiting once,
// with the kubelet's error, when it starts to wait. When ctx ends first the error says that
// the previous log never became readable (and wraps the *LogUnavailableError). A container
// that has no previous instance (the kubelet answers `previous terminated container "app"
// in pod "web" not found`) is an error at once: it has not restarted, or the kubelet has
// not reported the restart yet.
func PreviousLogs(ctx context.Context, c *Clients, namespace, pod, container string, opts LogOptions, waiting func(error)) (PreviousLog, error) {
	opts.Previous = true
	pause := previousLogRetry.first
	var last error // the kubelet's last *LogUnavailableError
	never := func() error { return fmt.Errorf("the previous log never became readable: %w", last) }
	for {
		text, truncated, err := Logs(ctx, c, namespace, pod, container, opts)
		var unavailable *LogUnavailableError
		switch {
		case err == nil:
			return PreviousLog{Text: text, Truncated: truncated}, nil
		case last != nil && (ctx.Err() != nil || deadlineNear(ctx, err)):
			// Ended during a request, or the client's rate limiter saw
			// that the next request could not be made before the deadline.
			return PreviousLog{}, never()
		case apierrors.IsBadRequest(err) && strings.Contains(err.Error(), "previous terminated container"):
			what := "the container"
			if container != "" {
				what = fmt.Sprintf("container %q", container)
			}
			return PreviousLog{}, fmt.Errorf("%s in pod %s/%s has no previous instance to read the log of: it has not restarted, or the kubelet has not reported the restart yet (%w)", what, namespace, pod, err)
		case !errors.As(err, &unavailable):
			return PreviousLog{}, err
		}
		if l, ok := lastEnded(ctx, c, namespace, pod, container, opts); ok {
			return l, nil
		}
		if last == nil && waiting != nil {
			waiting(err)
		}
		last = err
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return PreviousLog{}, never()
		case <-t.C:
		}
		pause = min(2*pause, previousLogRetry.max)
	}
}

// lastEnded reads the log of the instance of a container that ended last when the
// container is waiting to restart after it (its state is terminated, and its lastState
// is another instance): that is the container's current log. It reads the pod before and
// after the log, so that a restart in between (whose log would be the new instance's) is
// not taken for it. ok is false when the container is not in that state, or when a read
// failed: the caller then waits for the kubelet as before.
func lastEnded(ctx context.Context, c *Clients, namespace, pod, container string, opts LogOptions) (PreviousLog, bool) {
	ended := func() (*corev1.ContainerStatus, bool) {
		p, err := c.Kube.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return nil, false
		}
		st := ContainerStatus(p, container)
		if st == nil || st.State.Terminated == nil || st.State.Terminated.ContainerID == "" {
			return nil, false
		}
		if prev := st.LastTerminationState.Terminated; prev != nil && prev.ContainerID == st.State.Terminated.ContainerID {
			return nil, false
		}
		return st, true
	}
	before, ok := ended()
	if !ok {
		return PreviousLog{}, false
	}
	opts.Previous = false
	text, truncated, err := Logs(ctx, c, namespace, pod, container, opts)
	if err != nil {
		return PreviousLog{}, false
	}
	after, ok := ended()
	if !ok || after.State.Terminated.ContainerID != before.State.Terminated.ContainerID {
		return PreviousLog{}, false
	}
	return PreviousLog{Text: text, Truncated: truncated, Ended: before}, true
}

// deadlineNear reports whether err is client-go's rate limiter refusing to
// wait past ctx's deadline: the context has not ended yet, but no request
// can be made before it does.
func deadlineNear(ctx context.Context, err error) bool {
	_, has := ctx.Deadline()
	return has && strings.Contains(err.Error(), "would exceed context deadline")
}

// FollowLogs reads a started container's log as it is written, like kubectl logs -f, until
// the container ends (the server then closes the stream), ctx ends or the log reaches
// maxBytes (DefaultMaxBytes if <= 0). Each line is handed to f as it comes (f may be nil);
// the log, at most maxBytes of it, is returned with whether there was more. A log the
// kubelet could not read is a *LogUnavailableError, as for Logs; a stream that broke is an
// error, returned with what was read before.
func FollowLogs(ctx context.Context, c *Clients, namespace, pod, container string, maxBytes int, f OutputFunc) (string, bool, error) {
	if c == nil || c.Kube == nil {
		return "", false, errors.New("logs: no cluster client")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	limit := int64(maxBytes) + 1
	stream, err := c.Kube.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: container, Follow: true, LimitBytes: &limit,
	}).Stream(ctx)
	if err != nil {
		return "", false, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	defer stream.Close()
	buf := NewCappedBuffer(maxBytes)
	var w io.Writer = buf
	if f != nil {
		lw := NewLineWriter(f, "stdout")
		defer lw.Close()
		w = io.MultiWriter(buf, lw)
	}
	_, err = io.Copy(w, io.LimitReader(stream, limit))
	text := buf.String()
	if err != nil {
		if ctxErr := context.Cause(ctx); ctxErr != nil && ctx.Err() != nil {
			err = ctxErr
		}
		return text, buf.Truncated(), fmt.Errorf("following the log of %s/%s: %w", namespace, pod, err)
	}
	if msg, ok := kubeletLogError([]byte(text)); ok {
		return "", false, &LogUnavailableError{Pod: namespace + "/" + pod, Container: container, Kubelet: msg}
	}
	return text, buf.Truncated(), nil
}
