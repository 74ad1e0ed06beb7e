package steps

import (
	"sort"

	"github.com/kube-runbook/runbook/runbook"
)

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
	noteKind,
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

// Registry is the table of kinds as the loader takes it
// (runbook.LoadOptions.Kinds).
var Registry runbook.Kinds = formatKinds{}

type formatKinds struct{}

func (formatKinds) Lookup(key string) (runbook.StepKind, bool) {
	k, ok := Lookup(key)
	if !ok {
		return runbook.StepKind{}, false
	}
	return k.Format(), true
}

func (formatKinds) Names() []string { return Names() }
