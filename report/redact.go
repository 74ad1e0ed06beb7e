package report

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces every secret that a Redactor finds.
const Redacted = "***"

// MinSecretLength is the shortest secret value (and the shortest line of a
// multi-line value) that a Redactor replaces. Shorter values ("1", "no",
// "abc") occur everywhere in output, so replacing them would destroy the
// report without hiding anything a credential is made of; they are left as
// they are.
const MinSecretLength = 4

// Redactor removes secrets from text and from results: the values it is
// given, in every form a renderer or a command may write them, and what
// looks like a credential whatever its value (bearer tokens, Authorization
// header values, PEM private keys, JWTs). See Add for the forms.
//
// Secrets are learned while a run goes (Add), and every string redacted
// after that is redacted of them too. A Redactor is safe for concurrent
// use; the zero value is not usable, use NewRedactor.
type Redactor struct {
	mu     sync.RWMutex
	values map[string]bool
	// forms are the strings to replace, by their first MinSecretLength
	// bytes, longest first.
	forms map[string][]string
	// all is every form; maxLen is the length of the longest.
	all    map[string]bool
	maxLen int
	// heads are the prefixes of the forms shorter than MinSecretLength,
	// for a Stream to know that the end of a write may start a secret.
	heads map[string]bool
	// encs are the base64 encodings of the values (see base64Forms);
	// b64 finds them by any MinSecretLength bytes of theirs (each entry
	// an encoding and where those bytes are in it), b64Heads by their
	// first MinSecretLength bytes: for the pieces of an encoding at the
	// line breaks of wrapped base64 (see wrappedSpans).
	encs     map[string]bool
	b64      map[string][]b64At
	b64Heads map[string][]string
}

// NewRedactor returns a Redactor of the given secret values (see Add).
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{values: map[string]bool{}, forms: map[string][]string{}, all: map[string]bool{}, heads: map[string]bool{},
		encs: map[string]bool{}, b64: map[string][]b64At{}, b64Heads: map[string][]string{}}
	r.Add(secrets...)
	return r
}

// Redact removes secrets from res in place, before any renderer sees it:
// it is NewRedactor(secrets).Result(res).
func Redact(res *Result, secrets []string) {
	NewRedactor(secrets...).Result(res)
}

// Add makes the Redactor replace each value, from now on, in each of
// these forms (each at least MinSecretLength bytes long):
//   - the value as it is, and without surrounding white space;
//   - Go- and JSON-quoted (strconv.Quote, strconv.QuoteToASCII,
//     json.Marshal with and without HTML escaping; without the outer
//     quotes), XML-escaped (JUnit), with and without escaped line breaks,
//     single-quoted for a shell (a quote ends the word, is escaped and
//     opens it again) or a YAML scalar (a quote doubled), double-quoted
//     for a CSV field (a double quote doubled); and these escapes
//     composed up to three deep (a CSV field in a shell word in a JSON
//     string; see maxEscapeDepth for the bound);
//   - base64, standard and URL alphabets, with and without padding, at
//     each of the three alignments it can have inside a longer encoded
//     text (the characters that depend on the value alone, at least 8),
//     and wrapped at 64 and 76 columns (PEM, base64(1)), line by line;
//     inside a longer text wrapped at any width (base64(1) of a whole env
//     file), also where a line break cuts the encoding: see wrappedSpans;
//   - for a value of several lines: each line of at least MinSecretLength
//     bytes (white space trimmed), in all the forms above, except the
//     -----BEGIN/END----- armour lines of PEM, which hide nothing;
//   - for a JSON value (a credential file): each string in it of at least
//     8 bytes, in all the forms above.
//
// Values shorter than MinSecretLength are ignored.
func (r *Redactor) Add(secrets ...string) {
	var add []string
	r.mu.RLock()
	for _, s := range secrets {
		if len(s) >= MinSecretLength && !r.values[s] {
			add = append(add, s)
		}
	}
	r.mu.RUnlock()
	if len(add) == 0 {
		return
	}
	forms, encs := map[string]bool{}, map[string]bool{}
	for _, s := range add {
		fs, es := formsOf(s)
		for f := range fs {
			forms[f] = true
		}
		for e := range es {
			encs[e] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range add {
		r.values[s] = true
	}
	changed := map[string]bool{}
	for f := range forms {
		if r.all[f] {
			continue
		}
		r.all[f] = true
		r.maxLen = max(r.maxLen, len(f))
		head := f[:MinSecretLength]
		r.forms[head] = append(r.forms[head], f)
		for n := 1; n < MinSecretLength; n++ {
			r.heads[f[:n]] = true
		}
		changed[head] = true
	}
	for head := range changed {
		sortLongestFirst(r.forms[head])
	}
	for e := range encs {
		if r.encs[e] {
			continue
		}
		r.encs[e] = true
		r.b64Heads[e[:MinSecretLength]] = append(r.b64Heads[e[:MinSecretLength]], e)
		for p := 0; p+MinSecretLength <= len(e); p++ {
			r.b64[e[p:p+MinSecretLength]] = append(r.b64[e[p:p+MinSecretLength]], b64At{e, p})
		}
	}
}

// Len returns how many secret values the Redactor knows.
func (r *Redactor) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.values)
}

// String returns s without secrets: every credential pattern and every
// known value in any of its forms is replaced with Redacted. Overlapping
// or adjacent matches become one Redacted. String is idempotent.
func (r *Redactor) String(s string) string {
	if len(s) < MinSecretLength {
		return s
	}
	s = redactPatterns(s)
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.forms) == 0 {
		return s
	}
	return r.replace(s)
}

// Known replaces the known values in s, in all their forms, but no
// credential recognised by its shape alone: for structured text (a plan as
// JSON or YAML), whose shape a match to the end of a line could break.
func (r *Redactor) Known(s string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(s) < MinSecretLength || len(r.forms) == 0 {
		return s
	}
	return r.replace(s)
}

// Cut is String for a string that was cut at its end (output at the run's
// limit, a shortened value): a prefix of a secret's form that the cut left
// at the end, at least MinSecretLength bytes of it, is replaced too.
func (r *Redactor) Cut(s string) string {
	s = r.String(s)
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cutTail(s)
}

// shortenedRE finds the end a shortened value gets ("… (12 more
// characters)", as the expression package shortens assertion values).
var shortenedRE = regexp.MustCompile(`… \(\d+ more characters\)$`)

// Result removes secrets from res in place, before any renderer sees it:
// every string of the result (output, errors, commands, API calls,
// assertion values, variables, captured sets, artifacts' content, cleanup
// errors and leftovers, warnings, ...) goes through String; output cut at
// the run's limit and shortened values go through Cut. Map keys (variable
// names) are kept. Result is idempotent.
func (r *Redactor) Result(res *Result) {
	if res == nil {
		return
	}
	redactValue(reflect.ValueOf(res).Elem(), r.field)
	for i := range res.Steps {
		r.cutStep(&res.Steps[i])
	}
}

// Step removes secrets from one step result in place, as Result does.
func (r *Redactor) Step(s *StepResult) {
	if s == nil {
		return
	}
	redactValue(reflect.ValueOf(s).Elem(), r.field)
	r.cutStep(s)
}

// field redacts one string of a result.
func (r *Redactor) field(s string) string {
	if loc := shortenedRE.FindStringIndex(s); loc != nil {
		return r.Cut(s[:loc[0]]) + s[loc[0]:]
	}
	return r.String(s)
}

// cutStep redacts the tail of output cut at the run's limit.
func (r *Redactor) cutStep(s *StepResult) {
	if s.StdoutTruncated {
		s.Stdout = r.Cut(s.Stdout)
	}
	if s.StderrTruncated {
		s.Stderr = r.Cut(s.Stderr)
	}
	for i := range s.Targets {
		r.cutStep(&s.Targets[i])
	}
}

// replace replaces every occurrence of every form in s: one Redacted per
// run of bytes that matches cover (see runs). The caller holds r.mu.
func (r *Redactor) replace(s string) string {
	rs := r.runs(s)
	if len(rs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, run := range rs {
		b.WriteString(s[last:run.start])
		b.WriteString(Redacted)
		last = run.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// span is the bytes [start, end) of a text.
type span struct{ start, end int }

// runs marks the bytes each match of a form in s covers, and the lines of
// wrapped base64 that hold a piece of a value's encoding (wrappedSpans),
// and returns the runs of marked bytes, in order: overlapping or adjacent
// matches make one run, so that two runs are at least a byte apart. The
// caller holds r.mu.
func (r *Redactor) runs(s string) []span {
	return r.runsIn(s, false, false)
}

// runsIn is runs of a piece of a longer text: midLine when s starts in
// the middle of a line, open when its last line (without a line break)
// may go on; those lines are not taken for lines of wrapped base64. The
// caller holds r.mu.
func (r *Redactor) runsIn(s string, midLine, open bool) []span {
	rs := r.scan(s)
	if ws := r.wrappedSpans(s, midLine, open); len(ws) > 0 {
		rs = mergeSpans(append(rs, ws...))
	}
	return rs
}

// mergeSpans sorts spans and makes one of those that overlap or touch.
func mergeSpans(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		if last := &out[len(out)-1]; sp.start <= last.end {
			last.end = max(last.end, sp.end)
		} else {
			out = append(out, sp)
		}
	}
	return out
}

// scan returns the runs of the bytes that matches of forms cover, as runs
// does, without wrapped base64. The caller holds r.mu.
func (r *Redactor) scan(s string) []span {
	var out []span
	cur := span{end: -1} // the current run; end -1 when none
	for i := 0; i+MinSecretLength <= len(s); i++ {
		if cur.end >= 0 && i > cur.end {
			out = append(out, cur)
			cur.end = -1
		}
		for _, f := range r.forms[s[i:i+MinSecretLength]] {
			if strings.HasPrefix(s[i:], f) {
				if cur.end < 0 {
					cur = span{i, i + len(f)}
				} else if i+len(f) > cur.end {
					cur.end = i + len(f)
				}
				break // longest first: the others end sooner
			}
		}
	}
	if cur.end >= 0 {
		out = append(out, cur)
	}
	return out
}

// cutTail replaces the longest prefix of a form, at least
// MinSecretLength bytes, that s ends with. The caller holds r.mu.
func (r *Redactor) cutTail(s string) string {
	for j := max(0, len(s)-r.maxLen); j+MinSecretLength <= len(s); j++ {
		for _, f := range r.forms[s[j:j+MinSecretLength]] {
			if len(f) > len(s)-j && strings.HasPrefix(f, s[j:]) {
				return s[:j] + Redacted
			}
		}
	}
	return s
}

// redactValue applies f to every settable string reachable from v.
func redactValue(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(v.String()))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			redactValue(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				redactValue(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			redactValue(v.Index(i), f)
		}
	case reflect.Map:
		if v.IsNil() || v.Type().Elem().Kind() != reflect.String {
			return
		}
		iter := v.MapRange()
		type kv struct{ k, v reflect.Value }
		var updates []kv
		for iter.Next() {
			val := reflect.New(v.Type().Elem()).Elem()
			val.SetString(f(iter.Value().String()))
			updates = append(updates, kv{iter.Key(), val})
		}
		for _, u := range updates {
			v.SetMapIndex(u.k, u.v)
		}
	}
}
