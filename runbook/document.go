package runbook

import (
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Document is a YAML file of the project other than a runbook (the routes
// of `runbook serve`), decoded by the rules of the runbook loader: one
// document, strict keys (unknown and duplicate keys are errors, with a
// suggestion), typed values, the same size, alias and depth bounds, and
// every problem reported at once as file:line:col with a snippet.
type Document struct {
	// Root is the document's root node (nil when the YAML does not
	// parse), for the positions of the checks that follow decoding.
	Root *yaml.Node
	d    *decoder
}

// LoadDocument reads file (at most MaxFileBytes) and decodes it into v, a
// pointer to a struct with yaml tags; what names the document in messages
// ("the routes file"). Check Err after any further checks.
func LoadDocument(file, what string, v any) *Document {
	doc := &Document{d: &decoder{file: file, doc: what}}
	f, err := os.Open(file)
	if err != nil {
		doc.d.errs = ErrorList{{File: file, Message: err.Error()}}
		return doc
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		doc.d.errs = ErrorList{{File: file, Message: err.Error()}}
		return doc
	}
	return ParseDocument(file, what, data, v)
}

// ParseDocument is LoadDocument for bytes already read.
func ParseDocument(file, what string, data []byte, v any) *Document {
	d := &decoder{file: file, doc: what, lines: strings.Split(string(data), "\n")}
	doc := &Document{d: d}
	if len(data) > MaxFileBytes {
		d.errs = ErrorList{tooBig(file, int64(len(data)), what)}
		return doc
	}
	root := d.parseYAML(data, "one document per file")
	if root == nil {
		return doc
	}
	doc.Root = root
	d.nodes = countNodes(root)
	d.aliasLimit = aliasBudget(d.nodes)
	d.aliasLeft = d.aliasLimit
	d.decode(root, reflect.ValueOf(v).Elem(), "")
	if d.stopped {
		doc.Root = nil
	}
	return doc
}

// Errorf records a problem at n's position (the file's when n is nil).
func (doc *Document) Errorf(n *yaml.Node, format string, args ...any) {
	if n == nil {
		doc.d.errorf(0, 0, format, args...)
		return
	}
	doc.d.nodeErrorf(n, format, args...)
}

// Err returns every problem recorded, sorted by position, as an
// ErrorList, or nil.
func (doc *Document) Err() error {
	if len(doc.d.errs) == 0 {
		return nil
	}
	return doc.d.sorted()
}

// KeyOf returns the key node of key in mapping n (where a problem with
// the key itself is reported), or n itself when n is not a mapping or has
// no such key.
func KeyOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if key == "" || n.Kind != yaml.MappingNode {
		return n
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return n
}

// KeyNode returns the value node of a dotted key path under n (an index
// into a list is a key too: "routes", "2", "match"), or the deepest node
// found on the way, so that a problem is reported as near as possible.
func KeyNode(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = deref(n)
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
		default:
			return n
		}
	}
	return deref(n)
}

// ParseNode parses data, one YAML document, into its root node, by the
// loader's rules for syntax: a syntax error, a character YAML does not
// allow, an empty file or a second document is an ErrorList at
// file:line:col. For files read node by node (a vars file).
func ParseNode(file, what string, data []byte) (*yaml.Node, error) {
	d := &decoder{file: file, doc: what, lines: strings.Split(string(data), "\n")}
	if len(data) > MaxFileBytes {
		return nil, ErrorList{tooBig(file, int64(len(data)), what)}
	}
	root := d.parseYAML(data, "one document per file")
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return root, nil
}
