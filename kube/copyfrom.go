package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// Limits of CopyFrom.
const (
	// DefaultCopyMaxBytes caps the bytes CopyFrom writes when the caller gives no cap (10 MiB).
	DefaultCopyMaxBytes int64 = 10 << 20
	// DefaultCopyMaxEntries caps the entries of the tar stream CopyFrom reads when the caller
	// gives no cap.
	DefaultCopyMaxEntries = 10000
	// CopyHeadBytes is how much of the start of each file CopiedFile.Head keeps.
	CopyHeadBytes = 8 << 10
	// copyStderrBytes caps tar's standard error kept in CopyResult.Stderr.
	copyStderrBytes = 64 << 10
)

// Errors of CopyFrom that callers explain in their own words (test them with errors.Is).
var (
	// ErrNoTar: the container has no tar to run, e.g. a distroless image.
	ErrNoTar = errors.New("the container has no tar")
	// ErrNoSuchPath: tar could not find the path in the container.
	ErrNoSuchPath = errors.New("no such file or directory in the container")
	// ErrNothingCopied: tar ran, but nothing it sent could be written (only a symlink,
	// a device, ...).
	ErrNothingCopied = errors.New("nothing was copied")
)

// CopyFromOptions bound what CopyFrom writes.
type CopyFromOptions struct {
	// MaxBytes caps the bytes of file content written, all files together
	// (DefaultCopyMaxBytes if <= 0). The stream is stopped when the cap is reached.
	MaxBytes int64
	// MaxEntries caps the entries (files, directories, links, ...) read from the stream
	// (DefaultCopyMaxEntries if <= 0).
	MaxEntries int
}

// CopiedFile is a regular file CopyFrom wrote.
type CopiedFile struct {
	// Path is where the file was written, relative to the root given to CopyFrom, with /
	// as the separator: to, or to/sub/file for a directory's files.
	Path string
	// Source is the file's path in the container.
	Source string
	// Size is the number of bytes written.
	Size int64
	// Truncated is true when the byte cap cut the file.
	Truncated bool
	// SHA256 is the SHA-256 of the bytes written, in hex.
	SHA256 string
	// Head is the first CopyHeadBytes bytes of the file (all of a shorter one).
	Head []byte
}

// CopyResult is what CopyFrom did.
type CopyResult struct {
	// Files are the regular files written, in the order of the stream.
	Files []CopiedFile
	// Dirs is the number of directories created.
	Dirs int
	// Notes say which entries were not copied and why (symlinks, devices, entries whose
	// path leaves the destination, the cap), one line each.
	Notes []string
	// Truncated is true when a cap stopped the copy: files or parts of files are missing.
	Truncated bool
	// Stderr is tar's standard error (at most 64 KiB).
	Stderr string
	// ExitCode is tar's exit code; -1 when it is not known (tar could not start, or the
	// stream was stopped at a cap, or failed).
	ExitCode int
	// Err is why the copy failed: see ErrNoTar, ErrNoSuchPath, ErrNothingCopied; a
	// destination that exists already; tar's failure; the connection; ctx's end.
	Err error
}

// TarCommand returns the command CopyFrom runs in the container to copy srcPath, an
// absolute path: tar cf - -C DIR -- BASE, as kubectl cp runs it (with -- so that a base
// name starting with - is not an option).
func TarCommand(srcPath string) ([]string, error) {
	dir, base, err := splitSource(srcPath)
	if err != nil {
		return nil, err
	}
	return []string{"tar", "cf", "-", "-C", dir, "--", base}, nil
}

// splitSource splits an absolute path into the directory tar changes to and the member it
// archives.
func splitSource(srcPath string) (dir, base string, err error) {
	if !path.IsAbs(srcPath) {
		return "", "", fmt.Errorf("the path to copy must be absolute, not %q", srcPath)
	}
	clean := path.Clean(srcPath)
	if clean == "/" {
		return "", "", errors.New("the path to copy cannot be / (name a file or a directory under it)")
	}
	return path.Dir(clean), path.Base(clean), nil
}

// CopyFrom copies srcPath, a file or a directory, out of a container into root/to, as
// kubectl cp does: it runs `tar cf - -C DIR -- BASE` in the container over exec (WebSocket,
// SPDY as the fallback) and extracts the stream as it comes, never holding more than a
// buffer of it. to is a relative path with / as the separator; it must not exist yet (a
// copy never overwrites), and root and the directories of to are created when the first
// entry arrives, so a copy that brings nothing creates nothing.
//
// The extraction refuses entries whose path leaves root/to, never creates a symlink, a hard
// link, a device or a FIFO (each is a note), and writes files 0644 and directories 0755.
// When the byte or the entry cap is reached it stops reading, stops the stream and marks
// the result truncated: that is not an error. CopyFrom never panics; every failure is the
// result's Err.
func CopyFrom(ctx context.Context, c *Clients, namespace, pod, container, srcPath, root, to string, o CopyFromOptions) CopyResult {
	res := CopyResult{ExitCode: -1}
	command, err := TarCommand(srcPath)
	switch {
	case err != nil:
		res.Err = err
		return res
	case c == nil || c.Config == nil || c.Kube == nil:
		res.Err = errors.New("copy: no cluster connection")
		return res
	case pod == "":
		res.Err = errors.New("copy: no pod")
		return res
	}
	x, err := newExtractor(root, to, srcPath, o)
	if err != nil {
		res.Err = err
		return res
	}
	req := c.Kube.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true},
			scheme.ParameterCodec)
	executor, err := newExecutor(c, req.URL())
	if err != nil {
		res.Err = fmt.Errorf("copy: %w", err)
		return res
	}

	// The extractor reads the stream from a pipe as tar writes it. When it stops early
	// (a cap, a local error), it closes its end, so that the rest of the stream is
	// dropped without blocking, and cancels the stream.
	streamCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	errStopped := errors.New("the copy stopped reading")
	pr, pw := io.Pipe()
	extracted := make(chan error, 1)
	go func() {
		err := x.extract(pr)
		_ = pr.CloseWithError(errStopped)
		if err != nil || x.stopped {
			stop(errStopped)
		}
		extracted <- err
	}()
	stderr := NewCappedBuffer(copyStderrBytes)
	streamErr := executor.StreamWithContext(streamCtx, remotecommand.StreamOptions{Stdout: dropWhenClosed{pw}, Stderr: stderr})
	// Whether the extractor stopped the stream is known now: after the close below, it
	// may still fail on a stream that ended in the middle of an entry.
	stoppedByUs := errors.Is(context.Cause(streamCtx), errStopped) && ctx.Err() == nil
	_ = pw.Close()
	extractErr := <-extracted
	// A cap reached is a stop too, even when tar had sent its last byte and
	// its status before the extractor got there: what tar would have said
	// about the rest is not known either way, so the exit code is -1.
	stoppedByUs = stoppedByUs || x.stopped && ctx.Err() == nil

	res.Files, res.Dirs, res.Notes, res.Truncated = x.files, x.dirs, x.notes, x.truncated
	res.Stderr = stderr.String()
	var exit exec.ExitError
	switch {
	case stoppedByUs:
		res.Err = extractErr // nil when a cap stopped the copy
	case streamErr == nil:
		res.ExitCode = 0
		res.Err = extractErr
	case errors.As(streamErr, &exit) && exit.Exited():
		res.ExitCode = exit.ExitStatus()
		res.Err = tarFailed(res.ExitCode, res.Stderr, srcPath)
	case ctx.Err() != nil:
		res.Err = fmt.Errorf("copying %s: %w (%v)", srcPath, context.Cause(ctx), streamErr)
	case noTar(streamErr):
		res.Err = fmt.Errorf("%w: %v", ErrNoTar, streamErr)
	default:
		res.Err = fmt.Errorf("copying %s: %w", srcPath, streamErr)
	}
	if res.Err == nil && len(res.Files) == 0 && res.Dirs == 0 && !res.Truncated {
		res.Err = fmt.Errorf("%w from %s: %s", ErrNothingCopied, srcPath, strings.Join(res.Notes, "; "))
	}
	return res
}

// tarFailed explains a non-zero exit of tar.
func tarFailed(code int, stderr, srcPath string) error {
	msg := strings.TrimSpace(stderr)
	switch {
	case code == 127 || code == 126:
		return fmt.Errorf("%w: exit code %d: %s", ErrNoTar, code, msg)
	case strings.Contains(msg, "No such file or directory") || strings.Contains(msg, "Cannot stat"):
		return fmt.Errorf("%w: %s (tar: exit code %d: %s)", ErrNoSuchPath, srcPath, code, msg)
	case msg == "":
		return fmt.Errorf("tar exited with code %d", code)
	}
	return fmt.Errorf("tar exited with code %d: %s", code, msg)
}

// noTar reports whether the runtime could not start tar: containerd and CRI-O say
// `exec: "tar": executable file not found in $PATH`.
func noTar(err error) bool {
	s := err.Error()
	return strings.Contains(s, `"tar"`) &&
		(strings.Contains(s, "executable file not found") || strings.Contains(s, "no such file or directory"))
}

// dropWhenClosed writes to a pipe and drops what its reader no longer wants, so that
// the exec streams never block or log an error after the extractor stopped.
type dropWhenClosed struct{ w *io.PipeWriter }

// Write implements io.Writer.
func (d dropWhenClosed) Write(p []byte) (int, error) {
	_, _ = d.w.Write(p)
	return len(p), nil
}
