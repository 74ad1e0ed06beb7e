package runbook

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a duration written as Go writes them: 30s, 5m, 1h30m. It is
// always greater than 0: a duration field that is left out has its default,
// and 0 or less is an error at load time rather than a silent default (a
// timeout of 0 could as well mean "none" or "at once").
type Duration struct{ time.Duration }

// errNotPositive is the problem of a duration of 0 or less; the decoder
// completes its message with what leaving the field out means.
var errNotPositive = errors.New("must be greater than 0")

// parseDuration parses the duration written at n.
func parseDuration(n *yaml.Node) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, errors.New("expected a duration such as 30s or 5m")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use 30s, 5m, 1h30m)", n.Value)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%q %w", n.Value, errNotPositive)
	}
	return v, nil
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
