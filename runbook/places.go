package runbook

import (
	"math"
	"sort"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// Phases of a runbook, in the order they are checked: spec.steps, then
// onFailure and finally, which may read any main step (it may not have
// run: its results are then empty) but not each other's.
const (
	phaseMain = iota
	phaseOnFailure
	phaseFinally
	phases
)

// stepAt is where a step stands: its phase and index in it (the steps of
// parallel groups counted in place of their group).
type stepAt struct{ phase, index int }

// varAt is where a variable becomes known: declared in spec.vars, or set
// first by the step at first[phase] of each phase (never: math.MaxInt).
type varAt struct {
	spec  bool
	first [phases]int
}

// places knows where every step id and every variable of a runbook
// stands, so that whether an expression may use one is a lookup and a
// comparison, not a set built for each step.
type places struct {
	ids  map[string]stepAt
	vars map[string]*varAt
	// order lists the ids of each phase by index, and varNames every
	// variable, for a "did you mean".
	order    [phases][]idAt
	varNames []string
	// suggestions is what is left of the candidates "did you mean" may
	// weigh, so that a file full of wrong names stays linear to check.
	suggestions int
	// flat are the steps of each phase with groups flattened, and limit,
	// for each of them, the index of the first step it may not read: its
	// own, or the first of its parallel group (a sibling may still run).
	flat  [phases][]*Step
	limit [phases][]int
}

type idAt struct {
	id    string
	index int
}

// maxSuggestions bounds the candidates weighed for "did you mean" in one
// file.
const maxSuggestions = 1_000_000

// newPlaces indexes the ids (the first step with an id has it) and the
// variables of rb.
func newPlaces(rb *Runbook) *places {
	p := &places{ids: map[string]stepAt{}, vars: map[string]*varAt{}, suggestions: maxSuggestions}
	for name := range rb.Spec.Vars {
		p.variable(name).spec = true
	}
	for phase, list := range [phases][]*Step{rb.Spec.Steps, rb.Spec.OnFailure, rb.Spec.Finally} {
		for _, s := range list {
			if s == nil {
				continue
			}
			first := len(p.flat[phase])
			for _, m := range Flatten([]*Step{s}) {
				p.limit[phase] = append(p.limit[phase], first)
				if s.Parallel == nil {
					p.limit[phase][len(p.limit[phase])-1] = len(p.flat[phase])
				}
				p.flat[phase] = append(p.flat[phase], m)
			}
		}
		for i, s := range p.flat[phase] {
			if s.ID != "" {
				if _, dup := p.ids[s.ID]; !dup {
					p.ids[s.ID] = stepAt{phase, i}
					p.order[phase] = append(p.order[phase], idAt{s.ID, i})
				}
			}
			for _, st := range s.Set {
				v := p.variable(st.Name)
				v.first[phase] = min(v.first[phase], i)
			}
		}
	}
	sort.Strings(p.varNames)
	return p
}

func (p *places) variable(name string) *varAt {
	v, ok := p.vars[name]
	if !ok {
		v = &varAt{first: [phases]int{math.MaxInt, math.MaxInt, math.MaxInt}}
		p.vars[name] = v
		p.varNames = append(p.varNames, name)
	}
	return v
}

// at returns the names known to the expressions of the step at index i
// of phase.
func (p *places) at(phase, i int) place { return place{p, stepAt{phase, i}} }

// place is expression.Names for the expressions of one step.
type place struct {
	p  *places
	at stepAt
}

// limit is the index of the first step of its phase this one may not
// read: its own, or the first of its parallel group.
func (pl place) limit() int { return pl.p.limit[pl.at.phase][pl.at.index] }

// before reports whether a step of phase at index i has finished before
// this one starts.
func (pl place) before(phase, i int) bool {
	return phase == pl.at.phase && i < pl.limit() || pl.at.phase != phaseMain && phase == phaseMain
}

// Step implements expression.Names.
func (pl place) Step(id string) expression.Order {
	s, ok := pl.p.ids[id]
	switch {
	case !ok:
		return expression.NoSuchStep
	case pl.before(s.phase, s.index):
		return expression.Before
	case s.phase == pl.at.phase && s.index != pl.at.index && pl.p.limit[s.phase][s.index] == pl.limit():
		return expression.Sibling
	}
	return expression.NotYet
}

// Var implements expression.Names.
func (pl place) Var(name string) bool {
	v, ok := pl.p.vars[name]
	if !ok {
		return false
	}
	return v.spec || v.first[pl.at.phase] < pl.limit() || pl.at.phase != phaseMain && v.first[phaseMain] != math.MaxInt
}

// EarlierSteps implements expression.Names.
func (pl place) EarlierSteps() []string {
	if !pl.p.spend(len(pl.p.ids)) {
		return nil
	}
	var out []string
	for phase, ids := range pl.p.order {
		for _, x := range ids {
			if pl.before(phase, x.index) {
				out = append(out, x.id)
			}
		}
	}
	return out
}

// KnownVars implements expression.Names.
func (pl place) KnownVars() []string {
	if !pl.p.spend(len(pl.p.varNames)) {
		return nil
	}
	var out []string
	for _, name := range pl.p.varNames {
		if pl.Var(name) {
			out = append(out, name)
		}
	}
	return out
}

// spend takes n candidates from the suggestion budget, if it has them.
func (p *places) spend(n int) bool {
	if n > p.suggestions {
		p.suggestions = 0
		return false
	}
	p.suggestions -= n
	return true
}
