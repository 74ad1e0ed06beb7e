package report

import (
	"io"
	"strings"
	"sync"
)

// Stream writes what it is given to an io.Writer without the secrets of
// a Redactor, even when a secret is split across writes (a token printed
// in two pieces, an error echoing it written by parts): it holds back the
// end of what it was given for as long as that end could be the start of a
// secret (at most the length of the longest form less one byte) and writes
// it with the next Write, or at Flush. Everything else goes through
// Redactor.String at once, so that whole lines and frames are not delayed.
//
// It holds back lines of wrapped base64 too (see wrappedSpans): a line
// that may be one until it ends (at most maxWrapWidth bytes), and, of a
// block that may go on, the lines that hold its last characters, as many
// as the longest form less one (a match that reaches a line still to come
// touches no line before them). So a line of `base64` output shows once
// enough of the lines after it are known, and never unmasked when a later
// line shows that it held a piece of a secret.
//
// The known values are replaced exactly as String replaces them in the
// whole text; the credentials recognised by their shape alone (bearer
// tokens, JWTs, PEM keys, Authorization values) are replaced within what
// is written at a time. A Stream is safe for concurrent use; call Flush
// before the program exits.
type Stream struct {
	mu  sync.Mutex
	w   io.Writer
	red *Redactor
	// held is what is held back; midLine is set when it starts in the
	// middle of a line.
	held    string
	midLine bool
	// masked is set when what was written ends with a Redacted that a
	// match at the start of held continues; pending are the bytes of held
	// already found to be masked (the rest of a match that the cut went
	// through, lines of a block that a match before the cut touches).
	masked  bool
	pending []span
}

// NewStream returns a Stream that writes to w without the secrets of red.
func NewStream(w io.Writer, red *Redactor) *Stream {
	return &Stream{w: w, red: red}
}

// Write implements io.Writer: it reports p written whole once what can be
// written of it is.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(s.held+string(p), false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back: the end of the output, which is no
// longer the start of a secret.
func (s *Stream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == "" {
		return nil
	}
	return s.write(s.held, true)
}

// Writer is the io.Writer the Stream writes to.
func (s *Stream) Writer() io.Writer { return s.w }

// write writes data, but for the end that may start a secret (unless
// all), and holds that end back.
func (s *Stream) write(data string, all bool) error {
	r := s.red
	r.mu.RLock()
	runs := r.runsIn(data, s.midLine, !all)
	cut := len(data)
	if !all {
		cut = r.holdFrom(data, s.midLine)
	}
	r.mu.RUnlock()
	if len(s.pending) > 0 {
		runs = mergeSpans(append(runs, s.pending...))
	}
	var b strings.Builder
	last := 0
	for _, run := range runs {
		if run.start >= cut {
			break
		}
		b.WriteString(redactPatterns(data[last:run.start]))
		if run.start > 0 || !s.masked {
			b.WriteString(Redacted)
		}
		last = min(run.end, cut)
	}
	if last < cut {
		b.WriteString(redactPatterns(data[last:cut]))
	}
	masked, pending := false, []span(nil)
	for _, run := range runs {
		if run.start < cut && run.end >= cut {
			masked = true
		}
		if run.end > cut {
			pending = append(pending, span{max(run.start, cut) - cut, run.end - cut})
		}
	}
	if cut == 0 {
		// Nothing written: the state carries over to the held text.
		masked = s.masked
	} else {
		s.midLine = data[cut-1] != '\n'
	}
	s.held, s.masked, s.pending = data[cut:], masked, pending
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(s.w, b.String())
	return err
}

// holdFrom returns where the end of data that a Stream holds back starts:
// the end that may start a form (heldFrom), the last line when it may be
// a line of wrapped base64 still being written, and the end of a block of
// wrapped base64 that may go on (see Stream); never the middle of a line
// that may be wrapped base64. midLine is set when data starts mid-line.
// The caller holds r.mu.
func (r *Redactor) holdFrom(data string, midLine bool) int {
	cut := r.heldFrom(data)
	if len(r.forms) == 0 {
		return cut
	}
	nl := strings.LastIndexByte(data, '\n')
	open := true // the block that ends with the last whole line may go on
	if ls := nl + 1; ls < len(data) {
		if _, ok := b64Body(data[ls:], true); ok && !(ls == 0 && midLine) {
			cut = min(cut, ls)
		} else {
			open = false
		}
	}
	if nl >= 0 && open {
		lines := b64Lines(data[:nl+1], midLine, false)
		k := len(lines) - 1
		if k >= 0 && lines[k].start == strings.LastIndexByte(data[:nl], '\n')+1 &&
			lines[k].end-lines[k].body >= minWrapWidth && data[lines[k].end-1] != '=' {
			i := k
			for i > 0 && continues(data, lines[i-1], lines[i]) {
				i--
			}
			// Hold the lines that hold the block's last maxLen-1
			// characters.
			need := r.maxLen - 1
			for i < k && need > 0 {
				need -= lines[k].end - lines[k].body
				if need > 0 {
					k--
				}
			}
			cut = min(cut, lines[k].start)
		}
	}
	if cut < len(data) {
		// Not in the middle of a whole line that may be wrapped base64.
		ls := strings.LastIndexByte(data[:cut], '\n') + 1
		if le := strings.IndexByte(data[cut:], '\n'); ls < cut && le >= 0 && !(ls == 0 && midLine) {
			if _, ok := b64Body(data[ls:cut+le], false); ok {
				cut = ls
			}
		}
	}
	return cut
}

// heldFrom returns where the end of data that is a proper prefix of a form
// starts, or len(data) when there is none. The caller holds r.mu.
func (r *Redactor) heldFrom(data string) int {
	if len(r.forms) == 0 {
		return len(data)
	}
	for j := max(0, len(data)-r.maxLen+1); j < len(data); j++ {
		if r.startsForm(data[j:]) {
			return j
		}
	}
	return len(data)
}

// startsForm reports whether tail is a proper prefix of a form. The
// caller holds r.mu.
func (r *Redactor) startsForm(tail string) bool {
	if len(tail) < MinSecretLength {
		return r.heads[tail]
	}
	for _, f := range r.forms[tail[:MinSecretLength]] {
		if len(f) > len(tail) && strings.HasPrefix(f, tail) {
			return true
		}
	}
	return false
}
