package steps

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// EventsStep lists the events of a namespace, or of one object in it, as
// `kubectl events` does: oldest first, as objects and as a table in stdout.
type EventsStep struct {
	// Namespace whose events are listed (default: the run's namespace).
	Namespace expression.Template `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// For keeps only the events about one object (kubectl events --for).
	For *EventsFor `yaml:"for,omitempty" json:"for,omitempty"`
}

// EventsFor names the object whose events an events step lists: by kind
// and name, or a pod as other steps take it (pod or selector).
type EventsFor struct {
	// Kind of the object as in its manifest, e.g. Pod, Deployment.
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	// Name of the object.
	Name expression.Template `yaml:"name,omitempty" json:"name,omitempty"`
	// Pod lists the events of a pod (instead of kind and name): NAME,
	// pod/NAME, or KIND/NAME for a workload one of whose pods is chosen as
	// kubectl logs chooses it, e.g. deployment/web.
	Pod expression.Template `yaml:"pod,omitempty" json:"pod,omitempty"`
	// Selector lists the events of the pod matching a label selector that
	// kubectl logs would choose (instead of kind and name).
	Selector expression.Template `yaml:"selector,omitempty" json:"selector,omitempty"`
}

// podSpec is the pod target of a `for`, nil when it names kind and name.
func (s *EventsStep) podSpec() *targetSpec {
	if s.For == nil || s.For.Pod.IsZero() && s.For.Selector.IsZero() {
		return nil
	}
	return &targetSpec{pod: s.For.Pod, selector: s.For.Selector, namespace: s.Namespace, choice: kube.ChooseLogs}
}

var eventsKind = Kind{
	Name:    "events",
	Summary: "list the events of a namespace or of one object, oldest first (kubectl events)",
	New:     func() Action { return &EventsStep{} },
	Results: []Result{resultStdout, resultObjects},
}

// Check implements Action.
func (s *EventsStep) Check(*runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	if t := s.podSpec(); t != nil {
		if s.For.Kind != "" || !s.For.Name.IsZero() {
			errs = append(errs, fieldErr("for", "for takes kind and name, or pod, or selector"))
		}
		for _, e := range t.check("pod", "selector") {
			errs = append(errs, fieldErr("for", "for.%s: %s", e.Field, e.Message))
		}
	} else if f := s.For; f != nil {
		if f.Kind == "" {
			errs = append(errs, fieldErr("for", "for.kind is required (e.g. Pod)"))
		} else if r := []rune(eventKind(f.Kind)); !unicode.IsUpper(r[0]) {
			errs = append(errs, fieldErr("for", "for.kind %q is not a built-in kind: write a custom resource's kind as in its manifests (e.g. %s)", f.Kind, string(unicode.ToUpper(r[0]))+string(r[1:])))
		}
		if f.Name.IsZero() {
			errs = append(errs, fieldErr("for", "for.name is required"))
		}
	}
	return append(errs, checkName("namespace", s.Namespace, namespaceName)...)
}

func (s *EventsStep) kubectl(ns, kind, name string) string {
	cmd := "kubectl events -n " + shellQuote(ns)
	if kind != "" {
		cmd += " --for " + shellQuote(strings.ToLower(kind)+"/"+name)
	}
	return cmd
}

// eventSelector is the field selector of the events of one object.
func eventSelector(kind, name string) string {
	if kind == "" {
		return ""
	}
	return fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.kind", kind),
		fields.OneTermEqualSelector("involvedObject.name", name),
	).String()
}

// Plan implements Action.
func (s *EventsStep) Plan(p *Planner) (*Planned, error) {
	ns := cmp.Or(p.Render(s.Namespace), p.Namespace)
	var kind, name string
	pl := &Planned{Target: "events in " + ns}
	if t := s.podSpec(); t != nil {
		pt := t.plan(p, p.Namespace, false)
		pl = pt.planned()
		ns, kind, name = pt.ns, "Pod", pt.name
		pl.Target = "events of " + pt.target
	} else if s.For != nil {
		kind, name = eventKind(s.For.Kind), p.Render(s.For.Name)
		pl.Target = "events of " + strings.ToLower(kind) + " " + ns + "/" + name
	}
	c := Call{Verb: "list", Resource: "events", Namespace: ns}
	if sel := eventSelector(kind, name); sel != "" {
		c.Note = "fieldSelector=" + sel
	}
	pl.Kubectl = s.kubectl(ns, kind, name)
	pl.Calls = append(pl.Calls, c)
	return pl, nil
}

// Run implements Action.
func (s *EventsStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	ns, err := e.Render(s.Namespace)
	if err != nil {
		return out.fail(fmt.Errorf("namespace: %w", err))
	}
	ns = cmp.Or(ns, e.Namespace)
	var kind, name string
	out.Target = "events in " + ns
	if e.Clients == nil || e.Clients.Kube == nil {
		return out.fail(fmt.Errorf("no cluster client"))
	}
	if t := s.podSpec(); t != nil {
		rt, err := t.resolve(ctx, e, out, e.Namespace)
		if err != nil {
			return out.fail(fmt.Errorf("for: %w", err))
		}
		ns, kind, name = rt.ns, "Pod", rt.name
		out.Target = "events of " + rt.String()
	} else if s.For != nil {
		kind = eventKind(s.For.Kind)
		if name, err = e.Render(s.For.Name); err != nil {
			return out.fail(fmt.Errorf("for.name: %w", err))
		}
		out.Target = "events of " + strings.ToLower(kind) + " " + ns + "/" + name
	}
	out.Kubectl = s.kubectl(ns, kind, name)
	sel := eventSelector(kind, name)
	list, err := e.Clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return out.fail(fmt.Errorf("listing events in %s: %w", ns, err))
	}
	var events []*corev1.Event
	for i := range list.Items {
		ev := &list.Items[i]
		if kind != "" && (ev.InvolvedObject.Kind != kind || ev.InvolvedObject.Name != name) {
			continue
		}
		events = append(events, ev)
	}
	sortEvents(events)
	out.Objects = make([]any, 0, len(events))
	for _, ev := range events {
		m := ObjectMap(ev)
		if m != nil {
			m["apiVersion"], m["kind"] = "v1", "Event"
		}
		out.Objects = append(out.Objects, m)
	}
	text := eventTable(events)
	limit := e.MaxOutput
	if limit <= 0 {
		limit = kube.DefaultMaxBytes
	}
	if len(text) > limit {
		text, out.StdoutTruncated = text[:limit], true
	}
	out.Stdout = text
	return out
}

// eventTime is when an event was last seen, from the first of the fields
// that the various event writers fill.
func eventTime(ev *corev1.Event) time.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		return ev.Series.LastObservedTime.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.FirstTimestamp.IsZero():
		return ev.FirstTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// eventSeries returns how many times the event was seen and when first, as kubectl events
// reads them: from the series of an events.k8s.io event, else from the count of a core one.
func eventSeries(ev *corev1.Event) (int32, time.Time) {
	if ev.Series != nil {
		return ev.Series.Count, ev.EventTime.Time
	}
	return ev.Count, ev.FirstTimestamp.Time
}

// sortEvents orders events oldest first, then by name.
func sortEvents(events []*corev1.Event) {
	sort.SliceStable(events, func(i, j int) bool {
		ti, tj := eventTime(events[i]), eventTime(events[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return events[i].Name < events[j].Name
	})
}

// eventTable renders events as kubectl events does, with absolute times.
func eventTable(events []*corev1.Event) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, ev := range events {
		seen := "<unknown>"
		if t := eventTime(ev); !t.IsZero() {
			seen = t.UTC().Format(time.RFC3339)
		}
		// An event seen again is one object with a count, as kubectl events
		// says "8m (x9 over 25m)": a container restarted nine times, not once.
		if n, first := eventSeries(ev); n > 1 && !first.IsZero() {
			seen += fmt.Sprintf(" (x%d since %s)", n, first.UTC().Format(time.RFC3339))
		} else if n > 1 {
			seen += fmt.Sprintf(" (x%d)", n)
		}
		obj := ev.InvolvedObject.Kind + "/" + ev.InvolvedObject.Name // kubectl events: Pod/web
		msg := strings.Join(strings.Fields(ev.Message), " ")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", seen, ev.Type, ev.Reason, obj, msg)
	}
	w.Flush()
	return b.String()
}

// builtinKinds maps each kind of client-go's scheme, lower-cased, to its
// spelling in manifests (statefulset: StatefulSet).
var builtinKinds = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for gvk := range scheme.Scheme.AllKnownTypes() {
		if !strings.HasSuffix(gvk.Kind, "List") {
			m[strings.ToLower(gvk.Kind)] = gvk.Kind
		}
	}
	return m
})

// eventKind is the kind as an event's involvedObject names it: a built-in
// kind in any case spelled as in manifests (statefulset, Statefulset:
// StatefulSet; kubectl events --for takes it in any case too), another
// (a custom resource's) as written.
func eventKind(kind string) string {
	if k, ok := builtinKinds()[strings.ToLower(kind)]; ok {
		return k
	}
	return kind
}
