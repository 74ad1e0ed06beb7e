package runbook

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a duration written as Go writes them: 30s, 5m, 1h30m.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration such as 30s or 5m", n.Line)}}
	}
	v, err := time.ParseDuration(n.Value)
	if err == nil && v < 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is negative: a duration is 0 or more (30s, 5m, 1h30m)", n.Line, n.Value)}}
	}
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (use 30s, 5m, 1h30m)", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", d.String())), nil }
