package report

import (
	"encoding/base64"
	"regexp"
	"strings"
)

// The credentials a Redactor replaces whatever their value.
var (
	// pemKeyRE finds a PEM private key block, from its BEGIN line to its
	// END line (across real or escaped line breaks), or to the end of the
	// text when the block was cut.
	pemKeyRE = regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----(?s:.*?-----END ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----|.*)`)
	// pemKeyBase64RE finds base64 text that starts with "-----BEGIN " (a
	// PEM block encoded once more, as a Secret's data shows it); it is
	// replaced when it decodes to a private key.
	pemKeyBase64RE = regexp.MustCompile(`LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}`)
	// jwtRE finds a JSON Web Token: base64url header and payload that are
	// JSON objects ("eyJ" is base64 of `{"`), and a signature.
	jwtRE = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*`)
	// bearerRE finds a bearer token anywhere: "Bearer eyJhbGciOi...". A
	// token is at least 8 characters, so that prose such as "invalid bearer
	// token" keeps its meaning.
	bearerRE = regexp.MustCompile(`(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*`)
	// authorizationRE finds where the value of an Authorization (or
	// Proxy-Authorization) header starts: a header line, a JSON or YAML
	// member, quoted or escaped once more.
	authorizationRE = regexp.MustCompile(`(?i)\b(?:proxy-)?authorization(?:\\?["'])?\s*[:=]\s*`)
)

// redactPatterns replaces the credentials that are recognised by their
// shape: PEM private keys (also base64-encoded), JWTs, bearer tokens and
// whole Authorization header values.
func redactPatterns(s string) string {
	if strings.Contains(s, "PRIVATE KEY") {
		s = pemKeyRE.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "LS0tLS1CRUdJTi") {
		s = pemKeyBase64RE.ReplaceAllStringFunc(s, func(m string) string {
			b, err := base64.StdEncoding.DecodeString(m[:len(m)/4*4])
			if err != nil {
				b, _ = base64.RawStdEncoding.DecodeString(strings.TrimRight(m, "="))
			}
			if strings.Contains(string(b), "PRIVATE KEY") {
				return Redacted
			}
			return m
		})
	}
	if strings.Contains(s, "eyJ") {
		s = jwtRE.ReplaceAllString(s, Redacted)
	}
	s = redactAuthorization(s)
	return bearerRE.ReplaceAllString(s, "${1}"+Redacted)
}

// redactAuthorization replaces the value of every Authorization header,
// whole: to the end of its line (a real line break, or an escaped one in
// quoted text), or, when the value is quoted, to its closing quote.
func redactAuthorization(s string) string {
	locs := authorizationRE.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		if loc[0] < last {
			continue
		}
		from, to := authorizationValue(s, loc[1])
		if to <= from || s[from:to] == Redacted {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(Redacted)
		last = to
	}
	b.WriteString(s[last:])
	return b.String()
}

// authorizationValue returns where the header value that starts at i
// begins and ends.
func authorizationValue(s string, i int) (from, to int) {
	switch {
	case strings.HasPrefix(s[i:], `\"`):
		// Escaped quotes: JSON inside a quoted string.
		for j := i + 2; j < len(s); j++ {
			switch {
			case strings.HasPrefix(s[j:], `\\\"`):
				j += 3
			case strings.HasPrefix(s[j:], `\"`), s[j] == '\n', s[j] == '\r':
				return i + 2, j
			case s[j] == '\\':
				j++
			}
		}
		return i + 2, len(s)
	case i < len(s) && (s[i] == '"' || s[i] == '\''):
		for j := i + 1; j < len(s); j++ {
			switch {
			case s[j] == '\\':
				j++
			case s[j] == s[i], s[j] == '\n', s[j] == '\r':
				return i + 1, j
			}
		}
		return i + 1, len(s)
	}
	for j := i; j < len(s); j++ {
		if s[j] == '\n' || s[j] == '\r' || (s[j] == '\\' && j+1 < len(s) && (s[j+1] == 'n' || s[j+1] == 'r')) {
			return i, j
		}
	}
	return i, len(s)
}

// MaskEnv masks environment assignments in command output: on every line
// with NAME=VALUE (at the start of the line or after a space, ';' or a
// quote, as env, export and declare -x print them) where NAME is one of
// names or starts with one of prefixes, VALUE is replaced with Redacted,
// and so is every following line until one that starts another NAME=
// assignment (the rest of a value of several lines, as env prints it). It
// returns the masked text and the values it masked (with and without their
// quotes), for a Redactor to hide wherever else they appear.
func MaskEnv(text string, names, prefixes []string) (string, []string) {
	m := NewEnvMasker(names, prefixes)
	if text == "" || m == nil {
		return text, nil
	}
	var out strings.Builder
	var values []string
	for _, line := range strings.SplitAfter(text, "\n") {
		body := strings.TrimRight(line, "\r\n")
		masked, v := m.Line(body)
		values = append(values, v...)
		out.WriteString(masked + line[len(body):])
	}
	return out.String(), values
}

// EnvMasker is MaskEnv for output that comes a line at a time (the live
// output of a running command): it remembers, from one line to the next,
// that a masked value goes on. Use one per stream; it is not safe for
// concurrent use.
type EnvMasker struct {
	re      *regexp.Regexp
	inValue bool
}

// NewEnvMasker returns a masker of the assignments of names and of names
// starting with prefixes; nil when there are none (nothing to mask).
func NewEnvMasker(names, prefixes []string) *EnvMasker {
	if len(names) == 0 && len(prefixes) == 0 {
		return nil
	}
	var alts []string
	for _, n := range names {
		alts = append(alts, regexp.QuoteMeta(n))
	}
	for _, p := range prefixes {
		alts = append(alts, regexp.QuoteMeta(p)+`[A-Za-z0-9_]*`)
	}
	return &EnvMasker{re: regexp.MustCompile(`(?:^|[\s;'"(])(?:` + strings.Join(alts, "|") + `)=`)}
}

// Line masks one line (without its line break), as MaskEnv does, and
// returns it with the values it masked.
func (m *EnvMasker) Line(body string) (string, []string) {
	if loc := m.re.FindStringIndex(body); loc != nil {
		m.inValue = true
		if value := body[loc[1]:]; value != "" {
			return body[:loc[1]] + Redacted, []string{value, strings.Trim(value, `"'`)}
		}
		return body, nil
	}
	if m.inValue && body != "" && !envAssignmentRE.MatchString(body) {
		return Redacted, []string{body, strings.TrimSpace(body)}
	}
	m.inValue = false
	return body, nil
}

// envAssignmentRE is a line that starts an environment assignment.
var envAssignmentRE = regexp.MustCompile(`^\s*(?:export\s+|declare\s+-x\s+)?[A-Za-z_][A-Za-z0-9_]*=`)
