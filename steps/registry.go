package steps

import "sort"

// registry is the one table of step kinds. Adding a kind is one file, one
// line here, tests and an example.
var registry = []Kind{
	applyKind,
	execKind,
	debugKind,
	copyKind,
	nodeKind,
	getKind,
	waitKind,
	logsKind,
	eventsKind,
	deleteKind,
	localKind,
	cpKind,
}

// Kinds returns every step kind, sorted by name.
func Kinds() []Kind {
	out := append([]Kind(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the kind selected by key.
func Lookup(key string) (Kind, bool) {
	for _, k := range registry {
		if k.Name == key {
			return k, true
		}
	}
	return Kind{}, false
}

// Names returns the kinds' names, sorted.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}
