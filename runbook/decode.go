package runbook

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// Error is one problem of a runbook file, at a position.
type Error struct {
	File         string
	Line, Column int
	Message      string
	// Snippet is the source line with a caret under the column; a line
	// longer than 120 characters is cut around the column, with … where
	// it is cut.
	Snippet string
}

// Error formats the problem as file:line:col: message. The file's name and
// the message (which may quote a value of the file) are shown with their
// unprintable characters escaped (escapeUnprintable), so that a problem is
// one line that reads as it is written.
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", escapeUnprintable(e.File), escapeUnprintable(e.Message))
	}
	return fmt.Sprintf("%s:%d:%d: %s", escapeUnprintable(e.File), e.Line, e.Column, escapeUnprintable(e.Message))
}

// Printable returns s with each character that is not printable escaped,
// as a load problem shows a file's name and the values it quotes: for a
// line of output that names a file (validate's "FILE: ok").
func Printable(s string) string { return escapeUnprintable(s) }

// escapeUnprintable shows each character of s that is not printable as
// its Go escape: a control character (the start of a terminal escape
// sequence that would retitle the window or recolour what follows, a line
// break in a file's name) as \x1b or \n, a format character (a
// bidirectional override that makes a text read other than it is, a
// zero-width space) as \u202e. Tabs stay.
func escapeUnprintable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unprintable(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func unprintable(r rune) bool { return r != '\t' && !strconv.IsPrint(r) }

// ErrorList is every problem of a file, sorted by position.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Format writes one line per problem, each followed by its snippet when
// snippets is true.
func (l ErrorList) Format(snippets bool) string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Error())
		b.WriteByte('\n')
		if snippets && e.Snippet != "" {
			b.WriteString(e.Snippet)
		}
	}
	return b.String()
}

// decoder decodes yaml nodes into the format's types strictly: unknown keys,
// duplicate keys and wrong types are errors, and decoding goes on after an
// error so that every problem of a file is reported at once.
type decoder struct {
	kinds Kinds
	file  string
	// doc names the whole document in messages ("the runbook" when empty).
	doc   string
	lines []string
	errs  ErrorList
	// full is set when MaxErrors problems are listed: the others are not.
	full bool
	// runeMarks are the byte offsets of every runeMarkEvery-th character
	// of the long lines that a snippet was made of, by line.
	runeMarks map[int][]int
	// seen are the problems reported, to report each once (a problem
	// inside an aliased value is met at every alias).
	seen map[Error]bool

	// nodes is the number of nodes of the file, aliasLimit its alias
	// budget and aliasLeft what is left of it.
	nodes, aliasLimit, aliasLeft int
	// aliasDepth counts the aliases being followed, aliasAt is the
	// outermost, expanding their anchors' nodes (to refuse a cycle).
	aliasDepth int
	aliasAt    *yaml.Node
	expanding  map[*yaml.Node]bool
	// depth is how deep decoding is, aliases followed.
	depth int
	// stopped is set when the budget or the depth is exceeded: decoding
	// stops at once.
	stopped bool
	// lateSnippets defers snippets to finish, after the source lines are
	// masked of secret values.
	lateSnippets bool
}

func (d *decoder) errorf(line, col int, format string, args ...any) {
	if d.full {
		// Past MaxErrors: not even the message is made.
		return
	}
	e := &Error{File: d.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
	if d.seen == nil {
		d.seen = map[Error]bool{}
	}
	if d.seen[*e] {
		return
	}
	d.seen[*e] = true
	if len(d.errs) >= MaxErrors {
		d.full = true
		d.errs = append(d.errs, &Error{File: d.file, Message: fmt.Sprintf("too many problems: only the first %d are listed", MaxErrors)})
		return
	}
	if line >= 1 && line <= len(d.lines) && !d.lateSnippets {
		e.Snippet = d.snippet(line, col)
	}
	d.errs = append(d.errs, e)
}

const (
	// snippetWidth is how many characters of its line a snippet shows at
	// most: a longer line (a minified JSON runbook is one line of
	// megabytes) is cut to the characters around the column, with … on
	// each side that is cut, so that a snippet costs the same whatever the
	// length of its line.
	snippetWidth = 120
	// runeMarkEvery is how many characters apart runeAt marks the byte
	// offsets of a line longer than runeMarkLine bytes, so that finding a
	// column in it costs at most runeMarkEvery steps.
	runeMarkEvery = 256
	runeMarkLine  = 4 * runeMarkEvery
)

// snippet is line (from 1) of the file with a caret under col (in
// characters, from 1), cut to at most snippetWidth characters around it.
func (d *decoder) snippet(line, col int) string {
	text := d.lines[line-1]
	c := max(col-1, 0)
	start, from := d.runeAt(line, max(c-snippetWidth/2, 0))
	to, n := from, 0
	for to < len(text) && n < snippetWidth {
		_, size := utf8.DecodeRuneInString(text[to:])
		to += size
		n++
	}
	// Near the end of the line, show more of what comes before.
	for from > 0 && n < snippetWidth {
		_, size := utf8.DecodeLastRuneInString(text[:from])
		from -= size
		start--
		n++
	}
	// The caret is under the column (a column past the end of a long line
	// is not worth a line of spaces).
	pad := min(c-start, snippetWidth)
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
		pad++
	}
	b.WriteString(snippetLine(text[from:to]))
	if to < len(text) {
		b.WriteString("…")
	}
	return fmt.Sprintf("  %4d | %s\n       | %s^\n", line, b.String(), strings.Repeat(" ", pad))
}

// runeAt returns the index of the r-th character (from 0) of line (from
// 1) and its byte offset, or the number of characters of the line and its
// length when it is shorter. A long line is read once, to mark the offset
// of every runeMarkEvery-th character.
func (d *decoder) runeAt(line, r int) (i, off int) {
	text := d.lines[line-1]
	if len(text) > runeMarkLine {
		marks, ok := d.runeMarks[line]
		if !ok {
			marks = []int{0}
			n := 0
			for off := range text {
				if n > 0 && n%runeMarkEvery == 0 {
					marks = append(marks, off)
				}
				n++
			}
			if d.runeMarks == nil {
				d.runeMarks = map[int][]int{}
			}
			d.runeMarks[line] = marks
		}
		k := min(r/runeMarkEvery, len(marks)-1)
		i, off = k*runeMarkEvery, marks[k]
	}
	for off < len(text) && i < r {
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
		i++
	}
	return i, off
}

// snippetLine is a line of the file as a snippet shows it: one character
// per character, so that the caret stays under the column; a tab is a
// space, and a control character or a byte that is not UTF-8 (the file
// may hold them: that is the error) is '?', so that it cannot act on the
// terminal the error is printed on.
func snippetLine(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		switch {
		case r == '\t':
			r = ' '
		case r == utf8.RuneError && size <= 1, r < 0x20, r >= 0x7f && r < 0xa0:
			r = '?'
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func (d *decoder) nodeErrorf(n *yaml.Node, format string, args ...any) {
	d.errorf(n.Line, n.Column, format, args...)
}

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	stepType        = reflect.TypeOf(Step{})
	assertionType   = reflect.TypeOf(Assertion{})
	settersType     = reflect.TypeOf([]Setter{})
	durationType    = reflect.TypeOf(Duration{})
	yamlLinePrefix  = regexp.MustCompile(`^(yaml: )?line \d+: `)
)

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// decode fills v from n; what describes v in messages ("spec", "step").
func (d *decoder) decode(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind == yaml.AliasNode {
		t, ok := d.enter(n)
		if !ok {
			return
		}
		defer d.leave(t)
		n = t
	}
	if !d.push(n) {
		return
	}
	defer d.pop()
	for v.Kind() == reflect.Pointer {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			if v.Type().Elem() == stepType {
				d.nodeErrorf(n, "%s: empty step: a step needs one action (%s)", what, strings.Join(d.kinds.Names(), ", "))
			}
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == stepType:
		d.decodeStep(n, v.Addr().Interface().(*Step))
		return
	case v.Type() == assertionType:
		d.decodeAssertion(n, v.Addr().Interface().(*Assertion))
		return
	case v.Type() == settersType:
		d.decodeSetters(n, v.Addr().Interface().(*[]Setter))
		return
	case v.CanAddr() && v.Addr().Type().Implements(unmarshalerType):
		if !d.plain(n, what) {
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.nodeErrorf(n, "%s: %s", what, yamlMessage(err))
		}
		d.setIndent(n, v.Addr().Interface())
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, what)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Tag == "!!null" {
				return
			}
			d.nodeErrorf(n, "%s: expected a list, found %s", what, kindOf(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", what, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return
			}
			d.nodeErrorf(n, "%s: expected a mapping, found %s", what, kindOf(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		d.pairs(n, &where{text: what}, func(k, val *yaml.Node) {
			key := deref(k)
			if key.Kind != yaml.ScalarNode {
				d.nodeErrorf(k, "%s: a key must be a single value, found %s", what, kindOf(key))
				return
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, what+"."+key.Value)
			m.SetMapIndex(reflect.ValueOf(key.Value).Convert(v.Type().Key()), ev)
		})
		v.Set(m)
	case reflect.Interface:
		x, ok := d.value(n, what)
		switch {
		case !ok || x == nil:
		case reflect.TypeOf(x).AssignableTo(v.Type()):
			v.Set(reflect.ValueOf(x))
		default:
			d.nodeErrorf(n, "%s: expected %s, found %s", what, typeName(v.Type()), kindOf(n))
		}
	case reflect.Bool:
		d.decodeBool(n, v, what)
	default:
		if n.Kind != yaml.ScalarNode {
			d.nodeErrorf(n, "%s: expected %s, found %s", what, typeName(v.Type()), kindOf(n))
			return
		}
		if isInt(v.Kind()) && n.ShortTag() != "!!int" && n.ShortTag() != "!!null" {
			// yaml.v3 decodes 1.5 into an int as 1, and 1e3 as 1000:
			// a whole number is written as one.
			d.nodeErrorf(n, "%s: expected %s, found %s", what, typeName(v.Type()), kindOf(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.nodeErrorf(n, "%s: expected %s, found %s", what, typeName(v.Type()), kindOf(n))
		}
	}
}

// yaml12Bools are the booleans of YAML 1.2's core schema, the rule
// yaml-language-server applies with the JSON Schema: yes, no, on, off, y
// and n are strings (YAML 1.1 read them as booleans, and yaml.v3 still does
// when it decodes into a bool), and so is a quoted "true".
var yaml12Bools = map[string]bool{"true": true, "True": true, "TRUE": true, "false": false, "False": false, "FALSE": false}

// decodeBool sets v from a YAML 1.2 boolean, the same rule as the schema's
// type: boolean, and says what to write instead of anything else.
func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if b, ok := yaml12Bools[n.Value]; ok {
			v.SetBool(b)
			return
		}
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.nodeErrorf(n, "%s: expected true or false, found %s", what, kindOf(n))
		return
	}
	want := ""
	switch strings.ToLower(n.Value) {
	case "true", "yes", "y", "on", "1":
		want = "true"
	case "false", "no", "n", "off", "0":
		want = "false"
	}
	switch {
	case want == "":
		d.nodeErrorf(n, "%s: expected true or false, found %s", what, kindOf(n))
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		d.nodeErrorf(n, "%s: expected true or false, found the string %s: write %s, without quotes", what, kindOf(n), want)
	case n.ShortTag() == "!!str":
		d.nodeErrorf(n, "%s: expected true or false, found %s, which YAML 1.2 reads as a string: write %s", what, kindOf(n), want)
	default:
		d.nodeErrorf(n, "%s: expected true or false, found %s: write %s", what, kindOf(n), want)
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "a whole number"
	}
	return t.String()
}

func isInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func yamlMessage(err error) string {
	var msgs []string
	if te, ok := err.(*yaml.TypeError); ok {
		for _, m := range te.Errors {
			msgs = append(msgs, yamlLinePrefix.ReplaceAllString(m, ""))
		}
		return strings.Join(msgs, "; ")
	}
	return yamlLinePrefix.ReplaceAllString(err.Error(), "")
}

type fieldInfo struct {
	index []int
	name  string
	// omit is what leaving the field out means, from its omit tag ("the
	// default of 10m"), for the message of a duration of 0 or less.
	omit string
}

// fieldsByType caches fieldsOf.
var fieldsByType sync.Map // reflect.Type → map[string]fieldInfo

// fieldsOf lists the YAML keys of a struct type, with inline structs
// flattened. The map is shared: it must not be changed.
func fieldsOf(t reflect.Type) map[string]fieldInfo {
	if f, ok := fieldsByType.Load(t); ok {
		return f.(map[string]fieldInfo)
	}
	out := map[string]fieldInfo{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, prefix...), i)
			if strings.Contains(opts, "inline") {
				walk(f.Type, idx)
				continue
			}
			if name == "" {
				continue
			}
			out[name] = fieldInfo{index: idx, name: name, omit: f.Tag.Get("omit")}
		}
	}
	walk(t, nil)
	fieldsByType.Store(t, out)
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, what string) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		if what == "" {
			what = "a runbook"
			if d.doc != "" {
				what = d.doc
			}
		}
		d.nodeErrorf(n, "%s: expected a mapping, found %s", what, kindOf(n))
		return
	}
	fields := fieldsOf(v.Type())
	seen := map[string]bool{}
	where := what
	if where == "" {
		where = "the runbook"
		if d.doc != "" {
			where = d.doc
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		if !ok {
			d.nodeErrorf(k, "unknown field %q in %s%s", k.Value, where, expression.Suggest(k.Value, keysOf(fields)))
			continue
		}
		if seen[k.Value] {
			d.nodeErrorf(k, "field %q appears twice in %s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		d.decodeField(val, v.FieldByIndex(f.index), strings.TrimPrefix(what+"."+k.Value, "."), f)
	}
}

// decodeField decodes the value of the struct field f. A Duration (or a
// pointer to one) is decoded here rather than by its UnmarshalYAML, so that
// a duration of 0 or less says what leaving the field out means; so does a
// whole number of 0 in a field whose omit tag says what leaving it out
// means (limitBytes, maxBytes, concurrency), rather than silently meaning
// that.
func (d *decoder) decodeField(n *yaml.Node, v reflect.Value, what string, f fieldInfo) {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != durationType {
		d.decode(n, v, what)
		if f.omit != "" && v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64 && v.Int() == 0 {
			if s := deref(n); s.Kind == yaml.ScalarNode && s.ShortTag() == "!!int" {
				d.nodeErrorf(s, "%s: 0 must be greater than 0; omit it for %s", what, f.omit)
			}
		}
		return
	}
	// A scalar reached through an alias costs nothing to decode; an
	// aliased mapping or list is not a duration and is not walked.
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	dur, err := parseDuration(n)
	switch {
	case errors.Is(err, errNotPositive):
		omit := f.omit
		if omit == "" {
			omit = "the default"
		}
		d.nodeErrorf(n, "%s: %s; omit it for %s", what, err, omit)
		return
	case err != nil:
		d.nodeErrorf(n, "%s: %s", what, err)
		return
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(t))
		v = v.Elem()
	}
	v.Set(reflect.ValueOf(Duration{dur}))
}

func keysOf(m map[string]fieldInfo) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// commonStepKeys are the keys every step may have besides its action.
var commonStepKeys = fieldsOf(stepType)

func (d *decoder) decodeStep(n *yaml.Node, s *Step) {
	s.Line, s.Column = n.Line, n.Column
	if n.Kind != yaml.MappingNode {
		d.nodeErrorf(n, "a step must be a mapping with one action (%s), found %s", strings.Join(d.kinds.Names(), ", "), kindOf(n))
		return
	}
	v := reflect.ValueOf(s).Elem()
	seen := map[string]bool{}
	var actionKey *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.nodeErrorf(k, "field %q appears twice in the step", k.Value)
			continue
		}
		seen[k.Value] = true
		if f, ok := commonStepKeys[k.Value]; ok {
			if k.Value == "parallel" {
				s.groupNode = val
			}
			d.decodeField(val, v.FieldByIndex(f.index), k.Value, f)
			continue
		}
		kind, ok := d.kinds.Lookup(k.Value)
		if !ok {
			all := append(keysOf(commonStepKeys), d.kinds.Names()...)
			d.nodeErrorf(k, "unknown field %q in step%s", k.Value, expression.Suggest(k.Value, all))
			continue
		}
		if actionKey != nil {
			d.nodeErrorf(k, "a step has one action: %q and %q are both here (split them into two steps)", actionKey.Value, k.Value)
			continue
		}
		actionKey = k
		s.Kind = kind.Name
		s.Action = kind.New()
		s.actionNode = val
		d.decode(val, reflect.ValueOf(s.Action), kind.Name)
	}
	if s.Parallel != nil {
		d.checkGroupKeys(n, s, actionKey)
		return
	}
	if actionKey == nil {
		d.nodeErrorf(n, "step has no action: add one of %s", strings.Join(d.kinds.Names(), ", "))
	}
}

// groupKeys are the keys a parallel group takes besides parallel.
var groupKeys = map[string]bool{"parallel": true, "name": true, "description": true, "when": true, "timeout": true}

// checkGroupKeys refuses in a parallel group what belongs to one step: an
// action, and the common keys that have no meaning for a group.
func (d *decoder) checkGroupKeys(n *yaml.Node, s *Step, actionKey *yaml.Node) {
	s.Kind = KindParallel
	if actionKey != nil {
		d.nodeErrorf(actionKey, "a step is either a parallel group or one action: %q is here next to parallel (put it in parallel.steps, or in a step of its own)", actionKey.Value)
		s.Action, s.actionNode = nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, common := commonStepKeys[k.Value]; common && !groupKeys[k.Value] {
			d.nodeErrorf(k, "a parallel group takes only name, description, when, timeout and parallel: %q belongs on a step of parallel.steps", k.Value)
		}
	}
}

// setIndent gives a template or an expression written as a block scalar
// (| or >) the indentation of its content, the first line that is not
// blank after the indicator's, so that positions inside it are right.
func (d *decoder) setIndent(n *yaml.Node, v any) {
	s, ok := v.(interface{ SetIndent(int) })
	if !ok || n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		return
	}
	for _, line := range d.lines[min(n.Line, len(d.lines)):] {
		if strings.TrimSpace(line) != "" {
			s.SetIndent(len(line) - len(strings.TrimLeft(line, " ")))
			return
		}
	}
}

func (d *decoder) decodeAssertion(n *yaml.Node, a *Assertion) {
	if n.Kind == yaml.ScalarNode {
		if err := a.That.UnmarshalYAML(n); err != nil {
			d.nodeErrorf(n, "assert: %s", yamlMessage(err))
		}
		d.setIndent(n, &a.That)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.nodeErrorf(n, "an assertion is an expression or {that: EXPR, message: TEXT}, found %s", kindOf(n))
		return
	}
	d.decodeStruct(n, reflect.ValueOf(a).Elem(), "assert")
	if a.That.IsZero() {
		d.nodeErrorf(n, "assertion has no that: expression")
	}
}

func (d *decoder) decodeSetters(n *yaml.Node, out *[]Setter) {
	if n.Kind != yaml.MappingNode {
		d.nodeErrorf(n, "set: expected a mapping of name: expression, found %s", kindOf(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !identifier.MatchString(k.Value) {
			d.nodeErrorf(k, "set: %q is not a valid variable name (letters, digits, _)", k.Value)
			continue
		}
		var x expression.Expr
		if val.Kind != yaml.ScalarNode {
			d.nodeErrorf(val, "set.%s: expected an expression, found %s", k.Value, kindOf(val))
			continue
		}
		_ = x.UnmarshalYAML(val)
		d.setIndent(val, &x)
		*out = append(*out, Setter{Name: k.Value, Expr: x})
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
