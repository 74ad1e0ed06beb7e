package incluster

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

// Placeholders written in the ConfigMap's runbook in place of the default
// of a secret var, by the default's kind, so that the value the Secret
// gives is read as the same kind (a number stays a number).
const (
	PlaceholderString = `"` + report.Redacted + `"`
	placeholderShort  = `""`
	placeholderNumber = "0"
	placeholderBool   = "false"
	placeholderList   = "[]"
	placeholderMap    = "{}"
)

// secretSource is the runbook's source as the ConfigMap holds it, and the
// values the Secret holds.
type secretSource struct {
	// source is the file with the default of each secret var replaced by
	// a placeholder.
	source []byte
	// values are the secret vars' values as a vars file gives them (the
	// text of --var): the --var value when one was given, else the
	// default of the file. Only vars with a value to hide are there.
	values map[string]string
	// inPlace is false when the file could not be edited in place and was
	// written again from its YAML tree (comments kept, layout not).
	inPlace bool
}

// splitSecrets takes the secret vars' values out of a runbook's source:
// the default written in spec.vars of each var named in spec.secretVars
// is replaced, in place, by a placeholder of its kind (PlaceholderString,
// 0, false, [] or {}), padded with spaces and keeping the value's line
// breaks, so that every other byte of the file, and the line and column
// of everything in it, stay as they were; the value goes to values, as
// do the --var values (given) of secret vars. A file whose value cannot
// be replaced in place (a plain scalar over several lines, say) is
// written again from its YAML tree instead.
//
// It checks the result as the Job's pod will use it: the edited file
// loaded with the vars files the pod gets must give each var its value,
// and no value known to be secret (engine.KnownSecrets, the defaults)
// may be left in plain (a value written twice, an env value marked
// secret: those cannot be taken out of the file, and are refused).
func splitSecrets(rb *runbook.Runbook, src []byte, given map[string]string, allowPrivileged bool) (*secretSource, error) {
	out := &secretSource{values: map[string]string{}, inPlace: true}
	secret := map[string]bool{}
	for _, k := range rb.Spec.SecretVars {
		secret[k] = true
	}
	known := engine.KnownSecrets(rb)
	for k, v := range given {
		if secret[k] {
			out.values[k] = v
			known.Add(v)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", rb.File, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	targets := aliasTargets(root)
	var edits []edit
	for _, k := range slices.Sorted(maps.Keys(secret)) {
		def, declared := rb.Spec.Vars[k]
		if !declared || def == nil || def == "" {
			// Set by a step, or no default to hide.
			continue
		}
		f := findVar(root, k)
		if f.value == nil {
			return nil, fmt.Errorf("%s: spec.vars.%s: the default of this secret var is not where it can be taken out of the file", rb.File, k)
		}
		if f.aliased || anyIn(f.path, targets) || subtreeIn(f.value, targets) {
			return nil, fmt.Errorf("%s:%d:%d: spec.vars.%s: the default of a secret var is shared through a YAML anchor and alias, so it cannot be taken out of the file for the ConfigMap: write it once in spec.vars, or give it with --var or --vars-file",
				rb.File, f.value.Line, f.value.Column, k)
		}
		text, err := varText(def)
		if err != nil {
			return nil, fmt.Errorf("%s: spec.vars.%s: %v", rb.File, k, err)
		}
		for _, leaf := range leaves(def) {
			known.Add(leaf)
		}
		if _, ok := out.values[k]; !ok {
			out.values[k] = text
		}
		edits = append(edits, edit{key: f.key, value: f.value, flow: f.mapping.Style&yaml.FlowStyle != 0, placeholder: placeholderOf(def)})
	}
	if len(edits) == 0 {
		out.source = src
	} else {
		s := &lineIndex{src: src}
		edited, ok := s.replace(edits)
		if ok {
			ok = sameTree(root, edited, edits)
		}
		if !ok {
			// Not in place: the tree written again, each value replaced.
			out.inPlace = false
			for _, e := range edits {
				*e.value = yaml.Node{Kind: yaml.ScalarNode, Value: strings.Trim(e.placeholder, `"`)}
				switch e.placeholder {
				case PlaceholderString:
					e.value.Style = yaml.DoubleQuotedStyle
				case placeholderList:
					*e.value = yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
				case placeholderMap:
					*e.value = yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
				}
			}
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				return nil, fmt.Errorf("%s: writing the runbook without its secret defaults: %v", rb.File, err)
			}
			edited = b.Bytes()
		}
		out.source = edited
	}
	if plain := string(out.source); known.Known(plain) != plain {
		return nil, fmt.Errorf("%s%s: the file holds a secret value here (a secret var's value written outside its default in spec.vars, in a comment say, or an env value marked secret), and the ConfigMap would hold it: make it a var of spec.secretVars and give it with --var or --vars-file",
			rb.File, where(plain, known))
	}
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if v := given[k]; !secret[k] && known.Known(v) != v {
			return nil, fmt.Errorf("--var %s: its value holds the value of a secret var, and the ConfigMap would hold it", k)
		}
	}
	if err := checkLoads(rb, out.source, given, out.values, allowPrivileged); err != nil {
		return nil, fmt.Errorf("%s: the runbook without its secret defaults: %s", rb.File, known.Known(err.Error()))
	}
	return out, nil
}

// checkLoads loads the edited source as `runbook run` in the Job's pod
// does (the vars files: the non-secret --vars and the Secret's values)
// and checks that each secret var gets the value it has in rb.
func checkLoads(rb *runbook.Runbook, src []byte, given, secretValues map[string]string, allowPrivileged bool) error {
	vars := map[string]string{}
	for k, v := range given {
		vars[k] = v
	}
	for k, v := range secretValues {
		vars[k] = v
	}
	got, err := runbook.Parse(rb.File, src, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, AllowPrivileged: allowPrivileged})
	if err != nil {
		return err
	}
	for _, k := range rb.Spec.SecretVars {
		if !reflect.DeepEqual(got.Vars[k], rb.Vars[k]) {
			return fmt.Errorf("spec.vars.%s: the value from the Secret is not read as the file's (a %T, not a %T)", k, got.Vars[k], rb.Vars[k])
		}
	}
	return nil
}

// where is " (line L, column C)" of the first secret value left in s, if
// found as it is written.
func where(s string, known *report.Redactor) string {
	red := known.Known(s)
	i := 0
	for i < len(s) && i < len(red) && s[i] == red[i] {
		i++
	}
	line := 1 + strings.Count(s[:i], "\n")
	col := 1 + utf8.RuneCountInString(s[strings.LastIndex(s[:i], "\n")+1:i])
	return fmt.Sprintf(":%d:%d", line, col)
}

// varText is a default as the text of --var: a string as it is, another
// value as YAML (which the loader reads back as the declared kind).
func varText(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// leaves are the texts of the scalars in a default (for the check that
// none is left in the file).
func leaves(v any) []string {
	switch x := v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, leaves(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, leaves(e)...)
		}
		return out
	case map[any]any:
		var out []string
		for k, e := range x {
			out = append(out, leaves(k)...)
			out = append(out, leaves(e)...)
		}
		return out
	case nil:
		return nil
	case string:
		return []string{x}
	}
	s, _ := varText(v)
	return []string{s}
}

// placeholderOf is the placeholder of a default of v's kind.
func placeholderOf(v any) string {
	switch v.(type) {
	case string:
		return PlaceholderString
	case int, float64, int64, uint64:
		return placeholderNumber
	case bool:
		return placeholderBool
	case []any:
		return placeholderList
	}
	return placeholderMap
}

// found is a var's value node in the file.
type found struct {
	key, value, mapping *yaml.Node
	// path are the nodes from the root to the mapping.
	path []*yaml.Node
	// aliased: reached through an alias.
	aliased bool
}

// findVar finds the value node of spec.vars.name as the loader reads it:
// the keys written in the mapping first, then those its << merges bring.
func findVar(root *yaml.Node, name string) found {
	var f found
	n := root
	for _, k := range []string{"spec", "vars"} {
		f.path = append(f.path, n)
		if n.Kind != yaml.MappingNode {
			return found{}
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return found{}
		}
		if next.Kind == yaml.AliasNode {
			f.aliased = true
			next = next.Alias
		}
		n = next
	}
	seen := map[*yaml.Node]bool{}
	var look func(m *yaml.Node, path []*yaml.Node, aliased bool) bool
	look = func(m *yaml.Node, path []*yaml.Node, aliased bool) bool {
		if m == nil || m.Kind != yaml.MappingNode || seen[m] {
			return false
		}
		seen[m] = true
		path = append(path, m)
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
				merges = append(merges, v)
				continue
			}
			if k.Kind == yaml.ScalarNode && k.Value == name {
				f = found{key: k, value: v, mapping: m, path: path, aliased: aliased}
				if v.Kind == yaml.AliasNode {
					f.aliased = true
				}
				return true
			}
		}
		for _, v := range merges {
			a := aliased
			if v.Kind == yaml.AliasNode {
				v, a = v.Alias, true
			}
			list := []*yaml.Node{v}
			if v != nil && v.Kind == yaml.SequenceNode {
				list = v.Content
			}
			for _, e := range list {
				ea := a
				if e.Kind == yaml.AliasNode {
					e, ea = e.Alias, true
				}
				if look(e, path, ea) {
					return true
				}
			}
		}
		return false
	}
	aliased := f.aliased
	path := f.path
	if !look(n, path, aliased) {
		return found{}
	}
	return f
}

// aliasTargets are the nodes an alias of the document refers to.
func aliasTargets(root *yaml.Node) map[*yaml.Node]bool {
	out := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			out[n.Alias] = true
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	return out
}

func anyIn(nodes []*yaml.Node, set map[*yaml.Node]bool) bool {
	return slices.ContainsFunc(nodes, func(n *yaml.Node) bool { return set[n] })
}

func subtreeIn(n *yaml.Node, set map[*yaml.Node]bool) bool {
	if set[n] {
		return true
	}
	return slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return subtreeIn(c, set) })
}

// edit is one value to replace.
type edit struct {
	key, value  *yaml.Node
	flow        bool
	placeholder string
}

// lineIndex maps yaml.v3's positions (line, and column in characters,
// from 1) to byte offsets of src.
type lineIndex struct {
	src    []byte
	starts []int
}

func (s *lineIndex) offset(line, col int) (int, bool) {
	if s.starts == nil {
		s.starts = []int{0}
		for i, c := range s.src {
			if c == '\n' {
				s.starts = append(s.starts, i+1)
			}
		}
	}
	if line < 1 || line > len(s.starts) || col < 1 {
		return 0, false
	}
	i := s.starts[line-1]
	for c := 1; c < col; c++ {
		if i >= len(s.src) || s.src[i] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(s.src[i:])
		i += size
	}
	return i, true
}

// replace returns src with each edit's value replaced by its placeholder,
// padded to keep the columns and line breaks; false when a value's extent
// is not known.
func (s *lineIndex) replace(edits []edit) ([]byte, bool) {
	type span struct {
		start, end int
		text       string
	}
	var spans []span
	for _, e := range edits {
		start, ok := s.offset(e.value.Line, e.value.Column)
		if !ok {
			return nil, false
		}
		end, ok := s.end(e.value, start, e.key.Column-1, e.flow)
		if !ok || end <= start {
			return nil, false
		}
		old := s.src[start:end]
		// Padding keeps the column of what follows on the value's last
		// line; nothing follows: no padding.
		rest := s.src[end:]
		if eol := bytes.IndexByte(rest, '\n'); eol >= 0 {
			rest = rest[:eol]
		}
		pad := len(bytes.TrimSpace(rest)) > 0
		text := e.placeholder
		if last := bytes.LastIndexByte(old, '\n'); last < 0 {
			width := utf8.RuneCount(old)
			if len(text) > width && e.placeholder == PlaceholderString {
				text = placeholderShort
			}
			if pad && width > len(text) {
				text += strings.Repeat(" ", width-len(text))
			}
		} else {
			// The line breaks kept (CRLF ones as CRLF): the lines that
			// follow stay where they were.
			for i, c := range old {
				if c == '\n' {
					if i > 0 && old[i-1] == '\r' {
						text += "\r"
					}
					text += "\n"
				}
			}
			if pad {
				text += strings.Repeat(" ", utf8.RuneCount(old[last+1:]))
			}
		}
		spans = append(spans, span{start, end, text})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b bytes.Buffer
	at := 0
	for _, sp := range spans {
		if sp.start < at {
			return nil, false
		}
		b.Write(s.src[at:sp.start])
		b.WriteString(sp.text)
		at = sp.end
	}
	b.Write(s.src[at:])
	return b.Bytes(), true
}

// end finds where the text of node n, which starts at offset start, ends:
// indent is the indentation of the block it is a value of, flow whether
// it is inside a flow collection.
func (s *lineIndex) end(n *yaml.Node, start, indent int, flow bool) (int, bool) {
	src := s.src
	i := start
	// Properties: an anchor, a tag.
	for i < len(src) && (src[i] == '&' || src[i] == '!') {
		for i < len(src) && !isSpace(src[i]) && !(flow && bytes.IndexByte([]byte(",[]{}"), src[i]) >= 0) {
			i++
		}
		for i < len(src) && isSpace(src[i]) {
			i++
		}
	}
	if i >= len(src) {
		return 0, false
	}
	switch n.Kind {
	case yaml.AliasNode:
		if src[i] != '*' {
			return 0, false
		}
		i++
		for i < len(src) && !isSpace(src[i]) && bytes.IndexByte([]byte(",[]{}"), src[i]) < 0 {
			i++
		}
		return i, true
	case yaml.ScalarNode:
		switch {
		case n.Style&yaml.DoubleQuotedStyle != 0:
			if src[i] != '"' {
				return 0, false
			}
			for i++; i < len(src); i++ {
				switch src[i] {
				case '\\':
					i++
				case '"':
					return i + 1, true
				}
			}
			return 0, false
		case n.Style&yaml.SingleQuotedStyle != 0:
			if src[i] != '\'' {
				return 0, false
			}
			for i++; i < len(src); i++ {
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						i++
						continue
					}
					return i + 1, true
				}
			}
			return 0, false
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			if src[i] != '|' && src[i] != '>' {
				return 0, false
			}
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				return len(src), true
			}
			end += i
			// The content: the lines more indented than the block,
			// blank ones included; it ends at its last non-blank line.
			for next := end + 1; next < len(src); {
				eol := bytes.IndexByte(src[next:], '\n')
				if eol < 0 {
					eol = len(src)
				} else {
					eol += next
				}
				line := bytes.TrimRight(src[next:eol], "\r")
				trimmed := bytes.TrimLeft(line, " ")
				if len(bytes.TrimSpace(line)) > 0 {
					if len(line)-len(trimmed) <= indent {
						break
					}
					end = next + len(line)
				}
				next = eol + 1
			}
			return end, true
		default:
			// A plain scalar: on one line only, else it is not known here.
			j := i
			for j < len(src) && src[j] != '\n' && src[j] != '\r' {
				c := src[j]
				if (c == '#') && j > i && isSpace(src[j-1]) {
					break
				}
				if c == ':' && (j+1 == len(src) || isSpace(src[j+1]) || flow && bytes.IndexByte([]byte(",[]{}"), src[j+1]) >= 0) {
					break
				}
				if flow && bytes.IndexByte([]byte(",[]{}"), c) >= 0 {
					break
				}
				j++
			}
			j = i + len(bytes.TrimRight(src[i:j], " \t"))
			if string(src[i:j]) != n.Value {
				return 0, false
			}
			return j, true
		}
	case yaml.SequenceNode, yaml.MappingNode:
		childFlow := flow || n.Style&yaml.FlowStyle != 0
		end := i
		if len(n.Content) == 0 && !childFlow {
			return 0, false
		}
		if childFlow {
			if src[i] != '[' && src[i] != '{' {
				return 0, false
			}
			end = i + 1
		}
		if len(n.Content) > 0 {
			last := n.Content[len(n.Content)-1]
			cs, ok := s.offset(last.Line, last.Column)
			if !ok {
				return 0, false
			}
			childIndent := n.Column - 1
			if n.Kind == yaml.MappingNode {
				childIndent = n.Content[len(n.Content)-2].Column - 1
			}
			if end, ok = s.end(last, cs, childIndent, childFlow); !ok {
				return 0, false
			}
		}
		if !childFlow {
			return end, true
		}
		// The closing bracket, past commas, white space and comments.
		for end < len(src) {
			switch c := src[end]; {
			case c == ']' || c == '}':
				return end + 1, true
			case c == ',' || isSpace(c) || c == '\n' || c == '\r':
				end++
			case c == '#':
				for end < len(src) && src[end] != '\n' {
					end++
				}
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// sameTree parses the edited source and checks that it is the original
// document but for the edited values: every other node of the same kind,
// style, tag, value, anchor, comments, line and column; each edited value
// a node at the same place.
func sameTree(orig *yaml.Node, edited []byte, edits []edit) bool {
	var doc yaml.Node
	if err := yaml.Unmarshal(edited, &doc); err != nil {
		return false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	skip := map[*yaml.Node]bool{}
	for _, e := range edits {
		skip[e.value] = true
	}
	var same func(a, b *yaml.Node) bool
	same = func(a, b *yaml.Node) bool {
		if a.Line != b.Line || a.Column != b.Column {
			return false
		}
		if skip[a] {
			return true
		}
		if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor ||
			a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment ||
			len(a.Content) != len(b.Content) {
			return false
		}
		for i := range a.Content {
			if !same(a.Content[i], b.Content[i]) {
				return false
			}
		}
		return true
	}
	return same(orig, root)
}
