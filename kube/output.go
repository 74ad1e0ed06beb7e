package kube

import (
	"bytes"
	"context"
	"sync"
)

// OutputFunc receives a running command's output as it comes, a line at a
// time: stream is "stdout" or "stderr".
type OutputFunc func(stream, line string)

type outputKey struct{}

// WithOutput returns a context under which commands (exec, local) also
// hand their output, line by line, to f while they run.
func WithOutput(ctx context.Context, f OutputFunc) context.Context {
	return context.WithValue(ctx, outputKey{}, f)
}

// OutputFrom returns the context's OutputFunc, or nil.
func OutputFrom(ctx context.Context) OutputFunc {
	f, _ := ctx.Value(outputKey{}).(OutputFunc)
	return f
}

// maxLiveLine cuts a line handed to an OutputFunc: a command that prints
// no newline cannot make the progress hold unbounded text.
const maxLiveLine = 4096

// LineWriter calls an OutputFunc for each complete line written to it; Close
// hands over the last, unterminated one. It is safe for concurrent use.
type LineWriter struct {
	mu     sync.Mutex
	f      OutputFunc
	stream string
	buf    []byte
}

// NewLineWriter returns a LineWriter of stream for f.
func NewLineWriter(f OutputFunc, stream string) *LineWriter {
	return &LineWriter{f: f, stream: stream}
}

// Write implements io.Writer; it never fails.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > maxLiveLine {
				w.f(w.stream, string(w.buf[:maxLiveLine]))
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		line := w.buf[:i]
		if len(line) > maxLiveLine {
			line = line[:maxLiveLine]
		}
		w.f(w.stream, string(bytes.TrimSuffix(line, []byte("\r"))))
		w.buf = w.buf[i+1:]
	}
}

// Close hands over what is left of the last line.
func (w *LineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.f(w.stream, string(w.buf))
		w.buf = nil
	}
	return nil
}
