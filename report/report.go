package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Renderer writes r in one format. Renderers only read r; they are
// deterministic: the same Result always gives the same bytes.
type Renderer func(w io.Writer, r *Result) error

// renderers is the registry of formats, read by Formats, Lookup and the help
// of the CLI's --report and -o flags. Adding a format is one file and one
// line here.
var renderers = map[string]Renderer{
	"table":    RenderTable,
	"md":       RenderMarkdown,
	"markdown": RenderMarkdown,
	"json":     RenderJSON,
	"junit":    RenderJUnit,
}

// Formats returns the names Lookup accepts, sorted, aliases included.
func Formats() []string {
	names := make([]string, 0, len(renderers))
	for name := range renderers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the renderer of the named format. The error names the
// formats there are.
func Lookup(name string) (Renderer, error) {
	if r, ok := renderers[name]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("unknown report format %q (known: %s)", name, strings.Join(Formats(), ", "))
}
