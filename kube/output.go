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

// MaxLiveLine cuts a line handed to an OutputFunc: a command that prints
// no newline cannot make the progress hold unbounded text. What follows the
// cut, up to the next newline, is dropped (not handed over as a line of its
// own, which could start in the middle of a secret); a receiver that
// redacts treats a line of this length as cut at its end.
const MaxLiveLine = 4096

// LineWriter calls an OutputFunc for each complete line written to it; Close
// hands over the last, unterminated one. It is safe for concurrent use.
type LineWriter struct {
	mu     sync.Mutex
	f      OutputFunc
	stream string
	buf    []byte
	// skip is set after a line was cut: the rest of it is dropped.
	skip bool
}

// NewLineWriter returns a LineWriter of stream for f.
func NewLineWriter(f OutputFunc, stream string) *LineWriter {
	return &LineWriter{f: f, stream: stream}
}

// Write implements io.Writer; it never fails.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := p
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if w.skip {
			if i < 0 {
				break
			}
			w.skip, data = false, data[i+1:]
			continue
		}
		if i < 0 {
			w.buf = append(w.buf, data...)
			if len(w.buf) >= MaxLiveLine {
				w.f(w.stream, string(w.buf[:MaxLiveLine]))
				w.buf, w.skip = w.buf[:0], true
			}
			break
		}
		w.buf = append(w.buf, data[:i]...)
		data = data[i+1:]
		line := bytes.TrimSuffix(w.buf, []byte("\r"))
		if len(line) > MaxLiveLine {
			line = line[:MaxLiveLine]
		}
		w.f(w.stream, string(line))
		w.buf = w.buf[:0]
	}
	return len(p), nil
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
