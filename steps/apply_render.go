package steps

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// An inline manifest with ${{ }} is parsed as written, and each value is
// put into the one YAML value it stands in, after parsing: a value read
// from a var or from the cluster stays that one value, whatever it holds
// (quotes, newlines, `: {privileged: true}`), and cannot add fields,
// containers, volumes or a namespace. A value that is a whole ${{ }} keeps
// its type (a number stays a number); anything else is a string.

// templatedScalars returns the scalars of docs that hold ${{ }}, in
// document order (each node once: an alias shares its anchor's node), and
// checks that no key holds one.
func templatedScalars(docs []*yaml.Node, line func(int) string) ([]*yaml.Node, error) {
	var out []*yaml.Node
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n == nil || seen[n] {
			return nil
		}
		seen[n] = true
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				if err := walk(c); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if strings.Contains(n.Content[i].Value, "${{") {
					return fmt.Errorf("%s: ${{ }} cannot stand in a key, only in a value", line(n.Content[i].Line))
				}
				if err := walk(n.Content[i+1]); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if strings.Contains(n.Value, "${{") {
				out = append(out, n)
			}
		}
		return nil
	}
	for _, d := range docs {
		if err := walk(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkTemplated checks, before any value exists, that the manifest's
// ${{ }} parts all stand in values: their count in the scalars equals the
// template's (a part in a comment or a key would break the placement). It
// returns the templated scalars, for substitute.
func checkTemplated(t expression.Template, docs []*yaml.Node, line func(int) string) ([]*yaml.Node, error) {
	scalars, err := templatedScalars(docs, line)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, s := range scalars {
		n += expression.Placeholders(s.Value)
	}
	if want := expression.Placeholders(t.Raw); n != want {
		return nil, fmt.Errorf("%d of the manifest's %d ${{ }} stand outside a value (in a comment or a key): put each in a value, e.g. image: \"${{ vars.image }}\"", want-n, want)
	}
	return scalars, nil
}

// substitute puts values, in order, into the templated scalars (as
// checkTemplated returns them).
func substitute(scalars []*yaml.Node, values []any, line func(int) string) error {
	for _, n := range scalars {
		k := expression.Placeholders(n.Value)
		if k > len(values) {
			return errors.New("the manifest's ${{ }} do not match its values")
		}
		vs := values[:k]
		values = values[k:]
		if expression.Whole(n.Value) {
			if err := setScalar(n, vs[0]); err != nil {
				return fmt.Errorf("%s: %s: %v", line(n.Line), strings.TrimSpace(n.Value), err)
			}
			continue
		}
		text, _ := splice(n.Value, vs)
		setString(n, text)
	}
	if len(values) > 0 {
		return errors.New("the manifest's ${{ }} do not match its values")
	}
	return nil
}

// splice replaces each ${{ }} of text with its value as text.
func splice(text string, values []any) (string, int) {
	var b strings.Builder
	used := 0
	for used < len(values) {
		i := strings.Index(text, "${{")
		if i < 0 {
			break
		}
		j := strings.Index(text[i:], "}}")
		if j < 0 {
			break
		}
		b.WriteString(text[:i])
		b.WriteString(expression.Text(values[used]))
		used++
		text = text[i+j+2:]
	}
	b.WriteString(text)
	return b.String(), used
}

// setScalar makes n the YAML scalar of v: a string, a number, a boolean or
// null. A list or a map is refused: a ${{ }} stands for one value.
func setScalar(n *yaml.Node, v any) error {
	n.Style = 0
	switch x := v.(type) {
	case nil:
		n.Tag, n.Value = "!!null", "null"
	case string:
		setString(n, x)
	case bool:
		n.Tag, n.Value = "!!bool", strconv.FormatBool(x)
	case int:
		n.Tag, n.Value = "!!int", strconv.Itoa(x)
	case int64:
		n.Tag, n.Value = "!!int", strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			n.Tag, n.Value = "!!int", strconv.FormatInt(int64(x), 10)
		} else {
			n.Tag, n.Value = "!!float", strconv.FormatFloat(x, 'g', -1, 64)
		}
	default:
		return fmt.Errorf("gave a %T: a ${{ }} in a manifest stands for one value (a string, number or boolean)", v)
	}
	return nil
}

// setString makes n a string scalar holding s, exactly.
func setString(n *yaml.Node, s string) {
	n.Tag, n.Value, n.Style = "!!str", s, yaml.DoubleQuotedStyle
}
