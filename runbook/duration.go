package runbook

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a duration written as Go writes them: 30s, 5m, 1h30m. It is
// always greater than 0, and at most MaxDuration: a duration field that is
// left out has its default, and 0 or less is an error at load time rather
// than a silent default (a timeout of 0 could as well mean "none" or "at
// once").
type Duration struct{ time.Duration }

// errNotPositive is the problem of a duration of 0 or less; the decoder
// completes its message with what leaving the field out means.
var errNotPositive = errors.New("must be greater than 0")

// MaxDuration is the longest duration a runbook may write (spec.timeout, a
// step's or a group's timeout, logs.since): 7 days. A run's deadline is its timeout plus the
// time its cleanup may take, so that a longer one could overflow
// time.Duration (2562047h47m16s at most) and put the deadline in the past.
const MaxDuration = 7 * 24 * time.Hour

// durationSyntax is a duration as time.ParseDuration reads it, whatever its
// size: one that matches it and does not parse is too large for a
// time.Duration.
var durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// checkDuration parses a duration of a runbook, written as text, by the
// rule of every duration: more than 0 (else an error that wraps
// errNotPositive) and at most MaxDuration.
func checkDuration(text string) (time.Duration, error) {
	v, err := time.ParseDuration(text)
	switch {
	case err != nil && durationSyntax.MatchString(text) && strings.HasPrefix(text, "-"):
		return 0, fmt.Errorf("%q %w", text, errNotPositive)
	case err != nil && durationSyntax.MatchString(text):
		// Over 2562047h47m16s.
		return 0, fmt.Errorf("%q is more than the maximum of %s", text, ShortDuration(MaxDuration))
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration (use 30s, 5m, 1h30m)", text)
	case v <= 0:
		return 0, fmt.Errorf("%q %w", text, errNotPositive)
	case v > MaxDuration:
		return 0, fmt.Errorf("%q is more than the maximum of %s", text, ShortDuration(MaxDuration))
	}
	return v, nil
}

// parseDuration parses the duration written at n.
func parseDuration(n *yaml.Node) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errors.New("expected a duration such as 30s or 5m")
	}
	return checkDuration(n.Value)
}

// ShortDuration writes d as a runbook would: 10m, 168h, not 10m0s, 168h0m0s.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML parses a duration string. The loader does not call it: it
// decodes a Duration field itself, to say what leaving it out means.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n)
	if errors.Is(err, errNotPositive) {
		err = fmt.Errorf("%w; omit it for the default", err)
	}
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, err)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", d.String())), nil }
