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
// The known values are replaced exactly as String replaces them in the
// whole text; the credentials recognised by their shape alone (bearer
// tokens, JWTs, PEM keys, Authorization values) are replaced within what
// is written at a time. A Stream is safe for concurrent use; call Flush
// before the program exits.
type Stream struct {
	mu  sync.Mutex
	w   io.Writer
	red *Redactor
	// held is what is held back.
	held string
	// masked is set when what was written ends with a Redacted that a
	// match at the start of held continues; covered is how many bytes
	// at the start of held that Redacted already stands for (the rest of
	// a match that the cut went through).
	masked  bool
	covered int
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
	runs := r.runs(data)
	cut := len(data)
	if !all {
		cut = r.heldFrom(data)
	}
	r.mu.RUnlock()
	if s.covered > 0 || s.masked {
		// The Redacted written last goes on over the start of data.
		if len(runs) > 0 && runs[0].start <= s.covered {
			runs[0] = span{0, max(runs[0].end, s.covered)}
		} else if s.covered > 0 {
			runs = append([]span{{0, s.covered}}, runs...)
		}
	}
	var b strings.Builder
	last := 0
	masked, covered := false, 0
	for _, run := range runs {
		if run.start >= cut {
			break
		}
		b.WriteString(redactPatterns(data[last:run.start]))
		if run.start > 0 || !(s.masked || s.covered > 0) {
			b.WriteString(Redacted)
		}
		last = min(run.end, cut)
		if run.end >= cut {
			masked, covered = true, run.end-cut
		}
	}
	if last < cut {
		b.WriteString(redactPatterns(data[last:cut]))
	}
	if last == cut && cut == 0 {
		// Nothing written: the state carries over to the held text.
		masked, covered = s.masked, s.covered
	}
	s.held, s.masked, s.covered = data[cut:], masked, covered
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(s.w, b.String())
	return err
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
