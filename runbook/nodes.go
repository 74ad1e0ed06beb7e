package runbook

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bounds of a runbook file. yaml.v3 keeps an alias as a reference to its
// anchor's node, so parsing is linear in the file; the decoder, which
// follows aliases itself, spends a budget on every node it reaches through
// an alias, like yaml.v3's and Kubernetes' decoders do when they expand
// aliases into Go values.
const (
	// MaxFileBytes is the largest runbook file Load and Parse accept.
	MaxFileBytes = 8 << 20
	// AliasRatio is how many times its own nodes a file may add by
	// aliases: the nodes decoded through aliases may be AliasRatio times
	// the nodes written in the file (but MinAliasNodes whatever its size,
	// and MaxAliasNodes at most).
	AliasRatio = 10
	// MinAliasNodes is the alias budget of a small file.
	MinAliasNodes = 10_000
	// MaxAliasNodes is the alias budget of any file.
	MaxAliasNodes = 1_000_000
	// MaxDepth is how deeply values may nest, aliases followed.
	MaxDepth = 10_000
	// MaxErrors is how many problems of a file are reported.
	MaxErrors = 1000
	// MaxSteps is how many steps (groups' steps, onFailure and finally
	// included) a runbook may have: checking, compiling and planning
	// each costs kilobytes, so 8 MiB of one-line steps took 1.2 GB.
	MaxSteps = 10_000
)

// countNodes counts the nodes of the tree under n as written (an alias
// is one node).
func countNodes(n *yaml.Node) int {
	count := 0
	stack := []*yaml.Node{n}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		count++
		stack = append(stack, n.Content...)
	}
	return count
}

// aliasBudget is the number of nodes a file of n nodes may decode through
// aliases.
func aliasBudget(n int) int {
	return min(max(n*AliasRatio, MinAliasNodes), MaxAliasNodes)
}

// enter starts following the alias n and returns its anchor's node, or
// false if decoding stops (a cycle, or the budget is spent). leave(target)
// must follow.
func (d *decoder) enter(n *yaml.Node) (*yaml.Node, bool) {
	if d.stopped {
		return nil, false
	}
	t := n.Alias
	if t == nil {
		d.nodeErrorf(n, "unknown anchor %q", n.Value)
		return nil, false
	}
	if d.expanding[t] {
		d.nodeErrorf(n, "alias *%s refers to a value that contains it", n.Value)
		d.stopped = true
		return nil, false
	}
	if d.expanding == nil {
		d.expanding = map[*yaml.Node]bool{}
	}
	d.expanding[t] = true
	if d.aliasDepth == 0 {
		d.aliasAt = n
	}
	d.aliasDepth++
	return t, true
}

// leave ends following the alias whose anchor's node is t.
func (d *decoder) leave(t *yaml.Node) {
	delete(d.expanding, t)
	d.aliasDepth--
}

// push counts a node being decoded: one deeper, and one node of the alias
// budget if it is reached through an alias. It returns false, after
// reporting why, when decoding must stop; pop must follow a true.
func (d *decoder) push(n *yaml.Node) bool {
	if d.stopped {
		return false
	}
	if d.depth >= MaxDepth {
		d.nodeErrorf(n, "values nest more than %d levels deep here", MaxDepth)
		d.stopped = true
		return false
	}
	if !d.spend(1) {
		return false
	}
	d.depth++
	return true
}

func (d *decoder) pop() { d.depth-- }

// spend takes k nodes from the alias budget when decoding is inside an
// alias.
func (d *decoder) spend(k int) bool {
	if d.aliasDepth == 0 {
		return true
	}
	d.aliasLeft -= k
	if d.aliasLeft >= 0 {
		return true
	}
	n := d.aliasAt
	d.nodeErrorf(n, "alias *%s: the aliases of this file expand to more than %d nodes, its limit (a file may repeat by aliases %d times its %d nodes, at least %d and at most %d nodes in all)",
		n.Value, d.aliasLimit, AliasRatio, d.nodes, MinAliasNodes, MaxAliasNodes)
	d.stopped = true
	return false
}

// plain checks that an Unmarshaler gets a node without aliases (it may
// decode the node itself, where no budget applies), and charges the node's
// subtree to the budget when it is reached through an alias.
func (d *decoder) plain(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	count := 0
	stack := []*yaml.Node{n}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.Kind == yaml.AliasNode {
			d.nodeErrorf(c, "%s: an alias cannot be used inside this value", what)
			return false
		}
		count++
		stack = append(stack, c.Content...)
	}
	return d.spend(count - 1)
}

// isMerge reports whether k is the << key of a YAML merge.
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

// deref returns the node an alias refers to, or n if it is not an alias.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// pairs calls fn with each key and value of the mapping n, as yaml.v3
// would decode them: a key written twice is an error, and << merges
// mappings in (keys written in n win, then the earlier merged mapping's).
// Unlike yaml.v3's check of duplicate keys, it is linear in the keys.
func (d *decoder) pairs(n *yaml.Node, what fmt.Stringer, fn func(k, v *yaml.Node)) {
	d.mergePairs(n, what, make(map[nodeKey]bool, len(n.Content)/2), fn)
}

// nodeKey identifies a key node for duplicate checks, as yaml.v3 compares
// them (same kind, same text).
type nodeKey struct {
	kind  yaml.Kind
	value string
}

func keyID(k *yaml.Node) nodeKey { return nodeKey{k.Kind, k.Value} }

// mergePairs calls fn for the pairs of n whose keys are not in done yet,
// then applies n's merges.
func (d *decoder) mergePairs(n *yaml.Node, what fmt.Stringer, done map[nodeKey]bool, fn func(k, v *yaml.Node)) {
	own := make(map[nodeKey]*yaml.Node, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content) && !d.stopped; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.spend(1) {
			return
		}
		if prev, ok := own[keyID(k)]; ok {
			d.nodeErrorf(k, "%s: mapping key %q already defined at line %d", what, k.Value, prev.Line)
			continue
		}
		own[keyID(k)] = k
		if isMerge(k) {
			merges = append(merges, v)
			continue
		}
		if id := keyID(deref(k)); !done[id] {
			done[id] = true
			fn(k, v)
		}
	}
	for _, m := range merges {
		d.merge(m, what, done, fn)
	}
}

// merge applies the value of a << key: a mapping, or a list of them.
func (d *decoder) merge(m *yaml.Node, what fmt.Stringer, done map[nodeKey]bool, fn func(k, v *yaml.Node)) {
	if m.Kind == yaml.AliasNode {
		t, ok := d.enter(m)
		if !ok {
			return
		}
		defer d.leave(t)
		m = t
	}
	if !d.push(m) {
		return
	}
	defer d.pop()
	switch m.Kind {
	case yaml.MappingNode:
		d.mergePairs(m, what, done, fn)
		return
	case yaml.SequenceNode:
		for _, c := range m.Content {
			if deref(c).Kind != yaml.MappingNode {
				d.nodeErrorf(c, "%s: << merges a mapping or a list of mappings, found %s", what, kindOf(deref(c)))
				continue
			}
			d.merge(c, what, done, fn)
		}
		return
	}
	d.nodeErrorf(m, "%s: << merges a mapping or a list of mappings, found %s", what, kindOf(m))
}

// value converts n to the Go value yaml.v3 gives an `any` (a mapping
// with string keys is a map[string]any, with other keys a map[any]any, a
// list is a []any, a scalar is the value of its tag), but with the alias
// budget, the depth bound and a linear check of duplicate keys. It
// returns false after reporting a problem.
func (d *decoder) value(n *yaml.Node, what string) (any, bool) {
	return d.valueAt(n, &where{text: what})
}

// valueAt is value at w.
func (d *decoder) valueAt(n *yaml.Node, what *where) (any, bool) {
	if n.Kind == yaml.AliasNode {
		t, ok := d.enter(n)
		if !ok {
			return nil, false
		}
		defer d.leave(t)
		n = t
	}
	if !d.push(n) {
		return nil, false
	}
	defer d.pop()
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		good := true
		for i, c := range n.Content {
			v, ok := d.valueAt(c, &where{parent: what, index: i})
			out[i], good = v, good && ok
		}
		return out, good
	case yaml.MappingNode:
		return d.mapping(n, what)
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!str":
			return n.Value, true
		}
		var v any
		if err := n.Decode(&v); err != nil {
			d.nodeErrorf(n, "%s: %s", what, yamlMessage(err))
			return nil, false
		}
		return v, true
	}
	d.nodeErrorf(n, "%s: unexpected %s", what, kindOf(n))
	return nil, false
}

// mapping is value for a mapping.
func (d *decoder) mapping(n *yaml.Node, what *where) (any, bool) {
	strs := make(map[string]any, len(n.Content)/2)
	var general map[any]any
	good := true
	d.pairs(n, what, func(k, val *yaml.Node) {
		key := deref(k)
		if key.Kind != yaml.ScalarNode {
			d.nodeErrorf(k, "%s: a mapping key must be a single value, found %s", what, kindOf(key))
			good = false
			return
		}
		v, ok := d.valueAt(val, &where{parent: what, text: key.Value, key: true})
		good = good && ok
		if general == nil && key.ShortTag() == "!!str" {
			strs[key.Value] = v
			return
		}
		kv, ok := d.valueAt(key, what)
		if !ok {
			good = false
			return
		}
		if general == nil {
			general = make(map[any]any, len(n.Content)/2)
			for s, x := range strs {
				general[s] = x
			}
		}
		general[kv] = v
	})
	if general != nil {
		return general, good
	}
	return strs, good
}

// where is the path of a value, for messages ("spec.vars.a[3].b"), written
// out only when a message needs it: written for every value, the path of
// a value nested n deep costs O(n), all of them O(n²) (an 8 MiB runbook of
// vars nested thousands deep took 48 s and 7 GB).
type where struct {
	parent *where
	// text is a root's path, or a key when key is set; else the value is
	// element index of its parent.
	text  string
	index int
	key   bool
}

// String writes the path out.
func (w *where) String() string {
	var parts []*where
	for p := w; p != nil; p = p.parent {
		parts = append(parts, p)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		switch {
		case p.parent == nil:
			b.WriteString(p.text)
		case p.key:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.text)
		default:
			fmt.Fprintf(&b, "[%d]", p.index)
		}
	}
	return b.String()
}

// NodeValue converts a YAML node to the value yaml.v3's Decode gives an
// `any`, as the loader does for spec.vars and other free-form values:
// aliases followed within the budget of a file of the node's size, nesting
// bounded by MaxDepth, a duplicate key an error, in time linear in the
// value (yaml.v3's own check of duplicate keys is quadratic in the keys of
// a mapping). It is meant for the YAML a runbook holds, such as manifests.
// Positions in errors are the node's.
func NodeValue(n *yaml.Node) (any, error) {
	d := &decoder{}
	d.nodes = countNodes(n)
	d.aliasLimit = aliasBudget(d.nodes)
	d.aliasLeft = d.aliasLimit
	v, ok := d.value(n, "")
	if ok && len(d.errs) == 0 {
		return v, nil
	}
	msgs := make([]string, len(d.errs))
	for i, e := range d.sorted() {
		msgs[i] = fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, strings.TrimPrefix(e.Message, ": "))
	}
	return nil, errors.New(strings.Join(msgs, "; "))
}
