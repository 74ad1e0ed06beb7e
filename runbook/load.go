package runbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/labels"

	"gopkg.in/yaml.v3"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// Origin is where a value was written: a file, line and column (from 1).
type Origin struct {
	File         string
	Line, Column int
}

// LoadOptions change how a runbook is loaded.
type LoadOptions struct {
	// Vars override spec.vars (from --var NAME=VALUE); each value is read
	// as a YAML scalar, so 3 is a number and true a boolean.
	Vars map[string]string
	// VarOrigins says where values of Vars were written (a --vars-file's
	// NAME: VALUE), for the messages about them; a name without one came
	// from --var.
	VarOrigins map[string]Origin
	// AllowPrivileged allows node steps and privileged profiles even if
	// the file does not (--allow-privileged).
	AllowPrivileged bool
	// Kinds is the table of step kinds (steps.Registry); required.
	Kinds Kinds
}

// Load reads, decodes, checks and compiles a runbook file. The error, if
// any, is an ErrorList with every problem of the file.
func Load(file string, opts LoadOptions) (*Runbook, error) {
	if file == "" {
		return nil, ErrorList{{File: `""`, Message: "no such file: the name is empty"}}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, ErrorList{{File: file, Message: osMessage(err)}}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxFileBytes {
		return nil, ErrorList{tooBig(file, st.Size(), "a runbook")}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, ErrorList{{File: file, Message: osMessage(err)}}
	}
	return Parse(file, data, opts)
}

// osMessage is an error of opening or reading a file without the file's
// name, which the Error already starts with ("rb.yaml: is a directory",
// not "rb.yaml: read rb.yaml: is a directory").
func osMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// tooBig is the error for a file over MaxFileBytes; size is what is known
// of its size, what the kind of file ("a runbook").
func tooBig(file string, size int64, what string) *Error {
	sizeText := fmt.Sprintf("%.1f MiB (%d bytes)", float64(size)/(1<<20), size)
	if size == MaxFileBytes+1 {
		sizeText = "over " + sizeText // read up to the limit only
	}
	return &Error{File: file, Message: fmt.Sprintf("the file is %s, over the limit of %d MiB for %s", sizeText, MaxFileBytes>>20, what)}
}

var (
	dnsLabel    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse is Load for bytes already read; file names the source in errors.
func Parse(file string, data []byte, opts LoadOptions) (*Runbook, error) {
	if opts.Kinds == nil {
		return nil, ErrorList{{File: file, Message: "no step kinds: LoadOptions.Kinds is nil"}}
	}
	if len(data) > MaxFileBytes {
		return nil, ErrorList{tooBig(file, int64(len(data)), "a runbook")}
	}
	d := &decoder{file: file, lines: strings.Split(string(data), "\n"), kinds: opts.Kinds, lateSnippets: true}
	root := d.parseYAML(data, "one runbook per file")
	if root == nil {
		return nil, d.finish()
	}
	rb := &Runbook{File: file}
	sum := sha256.Sum256(data)
	rb.Digest = "sha256:" + hex.EncodeToString(sum[:])
	d.nodes = countNodes(root)
	d.aliasLimit = aliasBudget(d.nodes)
	d.aliasLeft = d.aliasLimit
	d.decode(root, reflect.ValueOf(rb).Elem(), "")
	d.maskSecretVars(root, rb, opts)
	if d.stopped || len(d.errs) > 0 && root.Kind != yaml.MappingNode {
		return nil, d.finish()
	}
	if steps := rb.ActionSteps(); len(steps) > MaxSteps {
		s := steps[MaxSteps]
		d.errorf(s.Line, s.Column, "the runbook has %d steps, over the limit of %d: split it", len(steps), MaxSteps)
		return nil, d.finish()
	}
	d.checkEnvelope(root, rb)
	rb.Vars = d.vars(root, rb, opts)
	d.checkSteps(rb, filepath.Dir(file), opts)
	if len(d.errs) > 0 {
		return nil, d.finish()
	}
	return rb, nil
}

// bom is UTF-8's byte order mark.
var bom = []byte("\uFEFF")

// parseYAML parses the one YAML document of data into its root node, or
// records the syntax error and returns nil; a second document is an error
// (one says why there is one document per file).
func (d *decoder) parseYAML(data []byte, one string) *yaml.Node {
	if rest, ok := bytes.CutPrefix(data, bom); ok && bytes.HasPrefix(rest, bom) {
		// yaml.v3 takes the second mark for content and then drops the
		// first character of every line: keys read "ind", "etadata".
		d.errorf(1, 2, "a second byte order mark (U+FEFF): a file starts with one at most")
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		line, col, msg := 1, 1, err.Error()
		if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
			fmt.Sscanf(m[1], "%d", &line)
			msg = m[2]
		} else if l, c, what, ok := badChar(data); ok {
			// yaml.v3's reader errors (a NUL, an escape, invalid UTF-8)
			// say no line: find the character ourselves.
			line, col, msg = l, c, what
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		if msg == "EOF" {
			msg = "the file is empty"
		}
		d.errorf(line, col, "%s", msg)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(extra.Line, extra.Column, "%s: a second YAML document starts here", one)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	return root
}

// badChar finds the first byte sequence of data that YAML does not allow
// in a UTF-8 file, with its line and column (in characters, from 1): invalid
// UTF-8, or a character outside YAML's printable set (a C0 or C1 control
// other than tab, newline, carriage return and U+0085; DEL; a surrogate;
// U+FFFE, U+FFFF). A UTF-16 file (yaml.v3 reads those) is not looked at.
func badChar(data []byte) (line, col int, what string, ok bool) {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return 0, 0, "", false
	}
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a runbook is UTF-8 text", data[i]), true
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r' || r == 0x85:
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0xd800 && r < 0xe000 || r == 0xfffe || r == 0xffff:
			esc := fmt.Sprintf(`\x%02x`, r)
			if r > 0xff {
				esc = fmt.Sprintf(`\u%04X`, r)
			}
			return line, col, fmt.Sprintf("character %U is not allowed in YAML (a control character: in a double-quoted string, write it as %s)", r, esc), true
		}
		i += size
		col++
	}
	return 0, 0, "", false
}

// maskSecretVars hides the values of spec.secretVars (defaults and --var
// values) in the source lines that snippets quote (validate -s prints them,
// often into CI logs): each occurrence of a value, and the rest of the line
// a default starts on (its quoting and escapes may differ from the value),
// become asterisks, as many as the characters hidden so that carets stay
// under their columns.
func (d *decoder) maskSecretVars(root *yaml.Node, rb *Runbook, opts LoadOptions) {
	if len(rb.Spec.SecretVars) == 0 {
		return
	}
	vars := KeyNode(root, "spec", "vars")
	var values []string
	for _, name := range rb.Spec.SecretVars {
		if v, ok := opts.Vars[name]; ok {
			values = append(values, v)
		}
		def, ok := rb.Spec.Vars[name]
		if !ok {
			continue
		}
		values = append(values, leafTexts(def)...)
		if n := KeyNode(vars, name); n != nil && n.Line >= 1 && n.Line <= len(d.lines) {
			line := []rune(d.lines[n.Line-1])
			for c := max(n.Column-1, 0); c < len(line); c++ {
				line[c] = '*'
			}
			d.lines[n.Line-1] = string(line)
		}
	}
	for _, v := range values {
		for _, part := range strings.Split(v, "\n") {
			if part = strings.TrimSpace(part); len(part) < minMasked {
				continue
			}
			stars := strings.Repeat("*", utf8.RuneCountInString(part))
			for i, l := range d.lines {
				d.lines[i] = strings.ReplaceAll(l, part, stars)
			}
		}
	}
}

// minMasked is the shortest value maskSecretVars hides (the reports'
// redaction has the same bound): shorter ones occur everywhere.
const minMasked = 4

// leafTexts are the texts of a value's scalars.
func leafTexts(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, leafTexts(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, leafTexts(e)...)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// finish returns the problems by position, each with its snippet when
// snippets are made late (after maskSecretVars).
func (d *decoder) finish() ErrorList {
	if d.lateSnippets {
		for _, e := range d.errs {
			if e.File == d.file && e.Line >= 1 && e.Line <= len(d.lines) && e.Snippet == "" {
				e.Snippet = d.snippet(e.Line, e.Column)
			}
		}
	}
	return d.sorted()
}

// sorted returns the problems by position.
func (d *decoder) sorted() ErrorList {
	sort.SliceStable(d.errs, func(i, j int) bool {
		if d.errs[i].Line != d.errs[j].Line {
			return d.errs[i].Line < d.errs[j].Line
		}
		return d.errs[i].Column < d.errs[j].Column
	})
	return d.errs
}

func (d *decoder) checkEnvelope(root *yaml.Node, rb *Runbook) {
	if rb.APIVersion != APIVersion {
		d.nodeErrorf(KeyNode(root, "apiVersion"), "apiVersion must be %s, found %q", APIVersion, rb.APIVersion)
	}
	if rb.Kind != Kind {
		d.nodeErrorf(KeyNode(root, "kind"), "kind must be %s, found %q", Kind, rb.Kind)
	}
	if rb.Metadata.Name == "" {
		d.nodeErrorf(KeyNode(root, "metadata"), "metadata.name is required")
	}
	if rb.Spec.Namespace != "" {
		n := KeyNode(root, "spec", "namespace")
		rb.NamespaceAt = fmt.Sprintf("%s:%d:%d", d.file, n.Line, n.Column)
	}
	if ns := rb.Spec.Namespace; ns != "" && !dnsLabel.MatchString(ns) {
		d.nodeErrorf(KeyNode(root, "spec", "namespace"), "spec.namespace %q is not a valid namespace name (lower-case letters, digits, '-')", ns)
	}
	if rb.Spec.TemporaryNamespace && rb.Spec.Namespace != "" {
		d.nodeErrorf(KeyNode(root, "spec", "temporaryNamespace"), "spec.temporaryNamespace and spec.namespace cannot both be set: the run works in one namespace")
	}
	if g := rb.Spec.Context; g != "" {
		if _, err := path.Match(g, ""); err != nil {
			d.nodeErrorf(KeyNode(root, "spec", "context"), "spec.context %q is not a valid glob: %v", g, err)
		}
	}
	switch rb.Spec.Cleanup {
	case "", CleanupAlways, CleanupOnSuccess, CleanupNever:
	default:
		d.nodeErrorf(KeyNode(root, "spec", "cleanup"), "spec.cleanup must be always, onSuccess or never, found %q", rb.Spec.Cleanup)
	}
	if len(rb.Spec.Steps) == 0 && len(d.errs) == 0 {
		d.nodeErrorf(KeyNode(root, "spec"), "spec.steps is empty: a runbook needs at least one step")
	}
}

// vars merges spec.vars with the overrides.
func (d *decoder) vars(root *yaml.Node, rb *Runbook, opts LoadOptions) map[string]any {
	out := make(map[string]any, len(rb.Spec.Vars))
	var bad []string
	for k, v := range rb.Spec.Vars {
		if !identifier.MatchString(k) {
			bad = append(bad, k)
		}
		out[k] = v
	}
	if len(bad) > 0 {
		// Find the keys once: a lookup for each would be quadratic.
		sort.Strings(bad)
		n := KeyNode(root, "spec", "vars")
		at := map[string]*yaml.Node{}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if _, ok := at[n.Content[i].Value]; !ok {
					at[n.Content[i].Value] = n.Content[i]
				}
			}
		}
		for _, k := range bad {
			where := n
			if kn, ok := at[k]; ok {
				where = kn
			}
			d.nodeErrorf(where, "spec.vars: %q is not a valid variable name (letters, digits, _)", k)
		}
	}
	names := make([]string, 0, len(opts.Vars))
	for k := range opts.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	undeclared := 0
	for _, k := range names {
		// A value from a --vars-file is named by its place there.
		at, what := &Error{File: d.file}, "--var "+expression.Shorten(k, 60)
		if o, ok := opts.VarOrigins[k]; ok {
			at, what = &Error{File: o.File, Line: o.Line, Column: o.Column}, expression.Shorten(k, 60)
		}
		if _, ok := rb.Spec.Vars[k]; !ok {
			// Listed up to maxUndeclared: a --vars-file may hold thousands.
			if undeclared++; undeclared <= maxUndeclared {
				at.Message = fmt.Sprintf("%s: the runbook declares no such variable in spec.vars%s", what, expression.Suggest(k, mapKeys(rb.Spec.Vars)))
				d.errs = append(d.errs, at)
			}
			continue
		}
		v, err := varValue(rb.Spec.Vars[k], opts.Vars[k])
		if err != nil {
			// Not the value: it may be a secret (spec.secretVars).
			at.Message = fmt.Sprintf("%s: %v", what, err)
			d.errs = append(d.errs, at)
			continue
		}
		out[k] = v
	}
	if undeclared > maxUndeclared {
		d.errs = append(d.errs, &Error{File: d.file, Message: fmt.Sprintf("and %d more --var or --vars-file names the runbook does not declare", undeclared-maxUndeclared)})
	}
	return out
}

// maxUndeclared is how many undeclared --var names a load lists one by one.
const maxUndeclared = 20

// varValue is the value of a --var (or --vars-file) for a variable declared
// as declared: text for a string (--var version=1.10 stays "1.10", not the
// number 1.1; --var pod=0123 stays "0123"), else read as YAML and of the
// declared kind (a number for a number, true or false for a boolean, a
// list or a mapping), or an error that says what is expected.
func varValue(declared any, text string) (any, error) {
	switch declared.(type) {
	case string, nil:
		return text, nil
	}
	v, err := varYAML(text)
	if err != nil {
		return nil, err
	}
	want := ""
	switch declared.(type) {
	case int, float64:
		switch x := v.(type) {
		case int:
			return x, nil
		case float64:
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				return x, nil
			}
		}
		want = "a number"
	case bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		want = "true or false"
	case []any:
		if l, ok := v.([]any); ok {
			return l, nil
		}
		want = "a list ([a, b])"
	case map[string]any:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		want = "a mapping ({a: 1})"
	default:
		return v, nil
	}
	return nil, fmt.Errorf("expected %s, as its value in spec.vars is", want)
}

// varYAML reads the value of a --var as one YAML value: a syntax error, a
// second document or text after the value (--var 'hosts=[a, b], c') is an
// error that says where in the value, never what it holds (it may be a
// secret). A value that parses but does not decode (a tag that does not
// fit) is the text, for the caller to refuse as not of the declared kind.
func varYAML(text string) (any, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			// Only blanks and comments: null, as yaml.Unmarshal reads it.
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML%s", varSyntaxError(text, err))
	}
	what, one := "the value", "one YAML value"
	if len(doc.Content) == 1 {
		switch doc.Content[0].Kind {
		case yaml.SequenceNode:
			what, one = "the list", "one list, every item inside its brackets"
		case yaml.MappingNode:
			what, one = "the mapping", "one mapping, every entry inside its braces"
		}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err == nil:
		return nil, fmt.Errorf("a second YAML document starts at %s: a value is one YAML value", textPos(text, lineOffset(text, next.Line)))
	default:
		where := ""
		if end, _, _ := scanFlow(text); end >= 0 && oneValue(text[:end]) {
			where = " at " + textPos(text, skipBlanks(text, end))
		}
		return nil, fmt.Errorf("more text follows %s%s: a value is %s", what, where, one)
	}
	var v any
	if err := doc.Decode(&v); err != nil {
		return text, nil
	}
	return v, nil
}

// oneValue reports whether text is one YAML value and nothing more.
func oneValue(text string) bool {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var n yaml.Node
	if dec.Decode(&n) != nil {
		return false
	}
	return dec.Decode(&n) == io.EOF
}

var (
	yamlErrLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	// yamlQuoted is what a message of yaml.v3 quotes: of the text (an
	// anchor's name), which is not repeated, or an indicator it expected.
	yamlQuoted = regexp.MustCompile(` ?'[^']*'| ?"[^"]*"|` + " ?`[^`]*`")
)

// varSyntaxError says where the YAML syntax error err of a --var's text
// is: a bracket or a quote that is not closed, or that does not match, at
// its column when scanFlow finds it, else yaml.v3's message (without what
// it quotes of the text) and its line when the text has several.
func varSyntaxError(text string, err error) string {
	if _, bad, why := scanFlow(text); bad >= 0 {
		return ": " + why
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := ""
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		if strings.Contains(text, "\n") {
			line = " at line " + m[1]
		}
		msg = m[2]
	}
	msg = yamlQuoted.ReplaceAllStringFunc(msg, func(q string) string {
		if inner := strings.TrimSpace(q); len(inner) == 3 && strings.IndexByte(yamlIndicators, inner[1]) >= 0 {
			return q // an indicator yaml.v3 expected: did not find expected ',' or ']'
		}
		return ""
	})
	return line + ": " + msg
}

// yamlIndicators are the characters of YAML's syntax that yaml.v3's
// messages quote.
const yamlIndicators = `-?:,[]{}#&*!|>'"%@` + "`"

// scanFlow reads the first value of text when it is a flow collection
// ([a, b] or {a: 1}) or a quoted string, as YAML does, for the position of
// a problem (yaml.v3's errors say a line, not a column): end is the offset
// just past the value, or -1; bad the offset of a bracket or a quote that
// is not closed or does not match, or -1, and why says which (by its
// position, not its text). Another first value gives -1, -1.
func scanFlow(text string) (end, bad int, why string) {
	type open struct {
		c  byte
		at int
	}
	var stack []open
	i := skipBlanks(text, 0)
	if i >= len(text) || !strings.ContainsRune("[{\"'", rune(text[i])) {
		return -1, -1, ""
	}
	// prev is the last byte read that is not blank: a quote opens a quoted
	// string at the start of an item only (it's is a plain scalar).
	var prev byte
	for i < len(text) {
		c := text[i]
		switch {
		case (c == '"' || c == '\'') && (prev == 0 || strings.IndexByte("[{,:", prev) >= 0):
			j := closingQuote(text, i)
			if j < 0 {
				return -1, i, "the quote at " + textPos(text, i) + " is not closed"
			}
			i, prev = j+1, c
			if len(stack) == 0 {
				return i, -1, ""
			}
			continue
		case c == '[' || c == '{':
			stack = append(stack, open{c, i})
		case c == ']' || c == '}':
			top := stack[len(stack)-1]
			if top.c != '[' && c == ']' || top.c != '{' && c == '}' {
				return -1, i, fmt.Sprintf("the %c at %s does not close the %c at %s", c, textPos(text, i), top.c, textPos(text, top.at))
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1, -1, ""
			}
		case c == '#' && (i == 0 || strings.IndexByte(" \t\r\n", text[i-1]) >= 0):
			for i < len(text) && text[i] != '\n' {
				i++
			}
			continue
		}
		if strings.IndexByte(" \t\r\n", c) < 0 {
			prev = c
		}
		i++
	}
	top := stack[len(stack)-1]
	return -1, top.at, fmt.Sprintf("the %c at %s is not closed", top.c, textPos(text, top.at))
}

// closingQuote is the offset of the quote that closes the quoted string
// that starts at text[i], or -1: inside '...', a quote is written twice;
// inside "...", \" is one.
func closingQuote(text string, i int) int {
	q := text[i]
	for j := i + 1; j < len(text); j++ {
		switch {
		case q == '"' && text[j] == '\\':
			j++
		case text[j] == q && q == '\'' && j+1 < len(text) && text[j+1] == '\'':
			j++
		case text[j] == q:
			return j
		}
	}
	return -1
}

// skipBlanks is the offset of the first byte of text from i that is not
// a blank, a line break or in a comment.
func skipBlanks(text string, i int) int {
	for i < len(text) {
		switch c := text[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '#' && (i == 0 || strings.IndexByte(" \t\r\n", text[i-1]) >= 0):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		default:
			return i
		}
	}
	return i
}

// lineOffset is the offset of line (from 1) of text.
func lineOffset(text string, line int) int {
	off := 0
	for ; line > 1; line-- {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			return len(text)
		}
		off += j + 1
	}
	return off
}

// textPos names the position of offset off of a --var's text: "column 4"
// (in characters, from 1) when the text is one line, else "line 2,
// column 1".
func textPos(text string, off int) string {
	start := strings.LastIndexByte(text[:off], '\n') + 1
	col := utf8.RuneCountInString(text[start:off]) + 1
	if !strings.Contains(text, "\n") {
		return fmt.Sprintf("column %d", col)
	}
	return fmt.Sprintf("line %d, column %d", strings.Count(text[:off], "\n")+1, col)
}

func mapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSteps checks ids, each action, privilege, and compiles every
// expression with the names known where it stands. It is linear in the
// steps: where an id or a variable may be used is a lookup (places).
func (d *decoder) checkSteps(rb *Runbook, dir string, opts LoadOptions) {
	cc := &CheckContext{AllowPrivileged: rb.Spec.AllowPrivileged || opts.AllowPrivileged, Dir: dir}
	ids := map[string]*Step{}
	where := newPlaces(rb)
	lists := where.flat
	for _, list := range lists {
		for _, s := range list {
			if s == nil || s.ID == "" {
				continue
			}
			if !identifier.MatchString(s.ID) {
				d.errorf(s.Line, s.Column, "step id %q must be letters, digits and _ (it is used as steps.%s in expressions)", s.ID, s.ID)
			}
			if prev, ok := ids[s.ID]; ok {
				d.errorf(s.Line, s.Column, "step id %q is already used by the step at line %d", s.ID, prev.Line)
				continue
			}
			ids[s.ID] = s
		}
	}
	known := d.knownResults()
	for phase, list := range [phases][]*Step{rb.Spec.Steps, rb.Spec.OnFailure, rb.Spec.Finally} {
		first := 0
		for _, s := range list {
			if s == nil {
				continue
			}
			if s.Parallel != nil {
				d.checkGroup(s, where.at(phase, first), known)
			}
			first += len(Flatten([]*Step{s}))
		}
	}
	for phase, list := range lists {
		for i, s := range list {
			if s == nil || s.Action == nil {
				continue
			}
			d.checkStep(s, cc, expression.Context{Names: where.at(phase, i), Known: known, ForEach: s.ForEach != nil})
		}
	}
}

// checkGroup checks a parallel group: its own keys, that it holds steps
// and no group, and that no two of its steps set the same variable (which
// value would be kept would depend on which finished last). first is the
// place of its first step, where its when is evaluated.
func (d *decoder) checkGroup(g *Step, first place, known map[string]any) {
	pg := g.Parallel
	if len(pg.Steps) == 0 {
		d.errorf(g.Line, g.Column, "parallel.steps is empty: a parallel group needs at least one step")
	}
	if pg.Concurrency < 0 {
		d.nodeErrorf(KeyOf(g.groupNode, "concurrency"), "parallel.concurrency must be 1 or more (default: all the steps of the group)")
	}
	switch pg.OnFailure {
	case "", OnFailureWait, OnFailureCancel:
	default:
		d.nodeErrorf(KeyOf(g.groupNode, "onFailure"), "parallel.onFailure must be wait or cancel, found %q", pg.OnFailure)
	}
	setBy := map[string]*Step{}
	for _, m := range pg.Steps {
		if m == nil {
			continue
		}
		if m.Parallel != nil {
			d.errorf(m.Line, m.Column, "parallel groups do not nest: put these steps in the enclosing group, or run them after it")
			continue
		}
		for _, st := range m.Set {
			if prev, ok := setBy[st.Name]; ok && prev != m {
				d.errorf(m.Line, m.Column, "set.%s: the step at line %d of the same parallel group sets it too; which value is kept would depend on which finishes last", st.Name, prev.Line)
				continue
			}
			setBy[st.Name] = m
		}
	}
	if !g.When.IsZero() && len(Flatten(pg.Steps)) > 0 {
		d.problems(g.When.Compile(expression.Context{Names: first, Known: known, Bool: true}), "when")
	}
}

func (d *decoder) problems(probs []expression.Problem, what string) {
	for _, p := range probs {
		d.errorf(p.Line, p.Column, "%s: %s", what, p.Message)
	}
}

func (d *decoder) checkStep(s *Step, cc *CheckContext, ctx expression.Context) {
	kind, _ := d.kinds.Lookup(s.Kind)
	ctx.Kind = s.Kind
	for _, fe := range s.Action.Check(cc) {
		n := KeyOf(s.actionNode, fe.Field)
		if n == nil {
			d.errorf(s.Line, s.Column, "%s: %s", s.Kind, fe.Message)
			continue
		}
		d.nodeErrorf(n, "%s: %s", s.Kind, fe.Message)
	}
	if fe := s.ForEach; fe != nil {
		n := 0
		if fe.Pods != nil {
			n++
			d.checkSelection(s, "forEach.pods", fe.Pods)
		}
		if fe.Nodes != nil {
			n++
			d.checkSelection(s, "forEach.nodes", fe.Nodes)
		}
		if !fe.Items.IsZero() {
			n++
			pre := ctx
			pre.ForEach = false
			pre.Bool = false
			d.problems(fe.Items.Compile(pre), "forEach.items")
		}
		if n != 1 {
			d.errorf(s.Line, s.Column, "forEach needs exactly one of pods, nodes or items")
		}
		if fe.Concurrency < 0 {
			d.errorf(s.Line, s.Column, "forEach.concurrency must be 1 or more")
		}
	}
	if !s.When.IsZero() {
		c := ctx
		c.Bool = true
		d.problems(s.When.Compile(c), "when")
	}
	d.compileAction(reflect.ValueOf(s.Action), ctx, s.Kind)
	res := ctx
	res.Result = true
	res.Results = map[string]any{}
	for _, r := range kind.Results {
		res.Results[r.Name] = r.Type
	}
	for i := range s.Assert {
		c := res
		c.Bool = true
		d.problems(s.Assert[i].That.Compile(c), "assert")
	}
	for i := range s.Set {
		d.problems(s.Set[i].Expr.Compile(res), "set."+s.Set[i].Name)
	}
}

var (
	templateType = reflect.TypeOf(expression.Template{})
	exprType     = reflect.TypeOf(expression.Expr{})
)

// compileAction compiles every Template (before the action runs) and
// Expr (with the names its `scope` tag lists) in an action spec.
func (d *decoder) compileAction(v reflect.Value, ctx expression.Context, what string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			d.compileAction(v.Elem(), ctx, what)
		}
	case reflect.Struct:
		switch v.Type() {
		case templateType:
			t := v.Addr().Interface().(*expression.Template)
			d.problems(t.Compile(ctx), what)
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if f.Type == exprType {
				x := fv.Addr().Interface().(*expression.Expr)
				if x.IsZero() {
					continue
				}
				c := ctx
				c.Result, c.Bool = true, true
				c.Results = map[string]any{}
				if scope := f.Tag.Get("scope"); scope != "" {
					for _, name := range strings.Split(scope, ",") {
						c.Results[name] = ctx.Known[name]
					}
				}
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				d.problems(x.Compile(c), what+"."+name)
				continue
			}
			d.compileAction(fv, ctx, what)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			d.compileAction(v.Index(i), ctx, what)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if iter.Value().Type() == templateType {
				t := iter.Value().Interface().(expression.Template)
				d.problems(t.Compile(ctx), what)
				v.SetMapIndex(iter.Key(), reflect.ValueOf(t))
			}
		}
	}
}

// knownResults are the result names of every kind, each with a value of
// its type (the first kind's, by name, when two declare one).
func (d *decoder) knownResults() map[string]any {
	out := map[string]any{}
	for _, name := range d.kinds.Names() {
		k, _ := d.kinds.Lookup(name)
		for _, r := range k.Results {
			if _, ok := out[r.Name]; !ok {
				out[r.Name] = r.Type
			}
		}
	}
	return out
}

// checkSelection checks a forEach selection, which is read as written: a
// ${{ }} there would reach the API server as text, so it is refused, and
// the selector must parse as a label selector.
func (d *decoder) checkSelection(s *Step, what string, sel *Selection) {
	for _, f := range []struct{ name, value string }{{"selector", sel.Selector}, {"namespace", sel.Namespace}} {
		if strings.Contains(f.value, "${{") {
			d.errorf(s.Line, s.Column, "%s.%s cannot hold ${{ }}: a selection is read as written (select with a literal selector, or use forEach.items with an expression)", what, f.name)
		}
	}
	if !strings.Contains(sel.Selector, "${{") {
		if _, err := labels.Parse(sel.Selector); err != nil {
			d.errorf(s.Line, s.Column, "%s.selector %q: %v", what, sel.Selector, err)
		}
	}
	if ns := sel.Namespace; ns != "" && !strings.Contains(ns, "${{") && !dnsLabel.MatchString(ns) {
		d.errorf(s.Line, s.Column, "%s.namespace %q is not a valid namespace name", what, ns)
	}
}
