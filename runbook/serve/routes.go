package serve

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// RoutesKind is the kind of a routes file; its apiVersion is the
// runbook format's.
const RoutesKind = "Routes"

// RoutesFile is a routes file as written: which alerts start which
// installed runbook, and which of the alert's labels become its vars and
// its target namespace.
type RoutesFile struct {
	// APIVersion must be runbook/v1alpha1.
	APIVersion string `yaml:"apiVersion"`
	// Kind must be Routes.
	Kind string `yaml:"kind"`
	// Routes are tried in order; the first that matches an alert wins.
	Routes []RouteSpec `yaml:"routes"`
}

// RouteSpec is one route as written.
type RouteSpec struct {
	// Name identifies the route in metrics, logs and the labels of the
	// Jobs it starts (a DNS label, unique in the file).
	Name string `yaml:"name"`
	// Alert is the alertname the route matches.
	Alert string `yaml:"alert"`
	// Selector further matches the alert's labels, in Kubernetes label
	// selector syntax ("severity=critical,namespace in (shop,payments)").
	Selector string `yaml:"selector,omitempty"`
	// Runbook is the runbook file (relative to the routes file), as
	// `runbook job FILE --apply` installed it in the receiver's namespace.
	Runbook string `yaml:"runbook"`
	// Install is the install's name (`runbook job --name`); empty for
	// the default, runbook-NAME.
	Install string `yaml:"install,omitempty"`
	// TargetNamespaces are the namespaces the install's account has the
	// runbook's rules in besides its own (`runbook job
	// --target-namespace`; "*" for any): a run's namespace must be one of
	// them.
	TargetNamespaces []string `yaml:"targetNamespaces,omitempty"`
	// Namespace is the run's target namespace: a reference to a label
	// ("labels.namespace"), or a namespace name. Empty: the runbook's own.
	Namespace string `yaml:"namespace,omitempty"`
	// Vars maps a var of the runbook to a label or annotation of the
	// alert: "labels.pod", or {from: labels.pod, as: name|label|text}.
	Vars map[string]VarSpec `yaml:"vars,omitempty"`
	// Resolved starts a run for resolved alerts too (ignored by default).
	Resolved bool `yaml:"resolved,omitempty"`
}

// VarSpec is where a var's value comes from and how it is checked.
type VarSpec struct {
	// From is "labels.NAME" or "annotations.NAME".
	From string `yaml:"from"`
	// As is what the value must be: name (a Kubernetes object name, the
	// default), label (a label value) or text (up to MaxText bytes of
	// printable UTF-8).
	As string `yaml:"as,omitempty"`
}

// UnmarshalYAML reads the short form (a bare reference) or the long one.
func (v *VarSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v.From = n.Value
		return nil
	}
	type plain VarSpec
	var p plain
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected labels.NAME, annotations.NAME or {from: ..., as: ...}")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "from", "as":
		default:
			return fmt.Errorf("unknown field %q in a var (from, as)", k)
		}
	}
	if err := n.Decode(&p); err != nil {
		return err
	}
	*v = VarSpec(p)
	return nil
}

// Checks of a value taken from an alert.
const (
	AsName  = "name"
	AsLabel = "label"
	AsText  = "text"
	// MaxText is the longest text value.
	MaxText = 1024
)

// Routes are the compiled routes of a file.
type Routes struct {
	list []*Route
}

// Route is one compiled route.
type Route struct {
	// Name and Alert are the route's.
	Name, Alert string
	// File is the runbook file's path, Source its bytes and Runbook the
	// runbook loaded from them, each var the route takes from an alert
	// set to its Placeholder (for the plan of the install's rules).
	File    string
	Source  []byte
	Runbook *runbook.Runbook
	// Install and TargetNamespaces are the route's, for incluster.New.
	Install          string
	TargetNamespaces []string
	// Resolved starts runs for resolved alerts too.
	Resolved bool
	// spec is the runbook as written in the routes file.
	spec     string
	selector labels.Selector
	// namespace is a reference (ref.source != "") or a fixed name.
	namespace ref
	vars      map[string]ref
}

// ref is where a value comes from in an alert.
type ref struct {
	source string // "labels" or "annotations"; "" for a fixed value
	key    string // the label or annotation, or the fixed value
	as     string
}

// Names lists the routes' names, in order.
func (rs *Routes) Names() []string {
	out := make([]string, len(rs.list))
	for i, r := range rs.list {
		out[i] = r.Name
	}
	return out
}

// LoadRoutes reads, checks and compiles a routes file. The error is a
// runbook.ErrorList with every problem, each as file:line:col.
func LoadRoutes(file string) (*Routes, error) {
	var f RoutesFile
	doc := runbook.LoadDocument(file, "the routes file", &f)
	return compileRoutes(file, doc, &f)
}

// ParseRoutes is LoadRoutes for bytes already read.
func ParseRoutes(file string, data []byte) (*Routes, error) {
	var f RoutesFile
	doc := runbook.ParseDocument(file, "the routes file", data, &f)
	return compileRoutes(file, doc, &f)
}

func compileRoutes(file string, doc *runbook.Document, f *RoutesFile) (*Routes, error) {
	if doc.Root == nil {
		return nil, doc.Err()
	}
	at := func(keys ...string) *yaml.Node { return runbook.KeyNode(doc.Root, keys...) }
	if f.APIVersion != runbook.APIVersion {
		doc.Errorf(at("apiVersion"), "apiVersion must be %s, found %q", runbook.APIVersion, f.APIVersion)
	}
	if f.Kind != RoutesKind {
		doc.Errorf(at("kind"), "kind must be %s, found %q", RoutesKind, f.Kind)
	}
	if len(f.Routes) == 0 {
		doc.Errorf(at("routes"), "routes is empty: a routes file needs at least one route")
	}
	rs := &Routes{}
	seen := map[string]bool{}
	for i, spec := range f.Routes {
		idx := fmt.Sprint(i)
		r := &Route{Name: spec.Name, Alert: spec.Alert, Install: spec.Install, TargetNamespaces: spec.TargetNamespaces,
			Resolved: spec.Resolved, vars: map[string]ref{}}
		where := fmt.Sprintf("routes[%d]", i)
		switch {
		case spec.Name == "":
			doc.Errorf(at("routes", idx), "%s: name is required", where)
		case len(validation.IsDNS1123Label(spec.Name)) > 0:
			doc.Errorf(at("routes", idx, "name"), "%s: name %q is not a DNS label (lower-case letters, digits, '-', at most 63)", where, spec.Name)
		case seen[spec.Name]:
			doc.Errorf(at("routes", idx, "name"), "%s: route %q is defined twice", where, spec.Name)
		}
		seen[spec.Name] = true
		if spec.Alert == "" {
			doc.Errorf(at("routes", idx), "%s: alert is required (the alertname to match)", where)
		}
		if spec.Runbook == "" {
			doc.Errorf(at("routes", idx), "%s: runbook is required (the file of an installed runbook)", where)
		} else {
			r.File, r.spec = spec.Runbook, spec.Runbook
			if !filepath.IsAbs(r.File) {
				r.File = filepath.Join(filepath.Dir(file), r.File)
			}
			var err error
			r.Source, r.Runbook, err = loadRunbook(r.File)
			if err != nil {
				doc.Errorf(at("routes", idx, "runbook"), "%s: runbook %s: %s", where, spec.Runbook, indent(err.Error()))
			}
		}
		sel, err := labels.Parse(spec.Selector)
		r.selector = sel
		if err != nil {
			doc.Errorf(at("routes", idx, "selector"), "%s: selector: %v", where, err)
		}
		if spec.Namespace != "" {
			if strings.Contains(spec.Namespace, ".") {
				ns, msg := parseRef(VarSpec{From: spec.Namespace, As: AsName})
				if msg != "" {
					doc.Errorf(at("routes", idx, "namespace"), "%s: namespace: %s", where, msg)
				}
				ns.as = "namespace"
				r.namespace = ns
			} else if len(validation.IsDNS1123Label(spec.Namespace)) > 0 {
				doc.Errorf(at("routes", idx, "namespace"), "%s: namespace %q is neither labels.NAME nor a namespace name", where, spec.Namespace)
			} else {
				r.namespace = ref{key: spec.Namespace}
			}
		}
		// A problem with a var's name is reported at its key.
		varKey := func(name string) *yaml.Node { return runbook.KeyOf(at("routes", idx, "vars"), name) }
		for _, name := range sortedKeys(spec.Vars) {
			v, msg := parseRef(spec.Vars[name])
			switch {
			case !identifier(name):
				doc.Errorf(varKey(name), "%s: vars: %q is not a valid variable name (letters, digits, _)", where, name)
			case msg != "":
				doc.Errorf(at("routes", idx, "vars", name), "%s: vars.%s: %s", where, name, msg)
			case r.Runbook != nil && !declared(r.Runbook, name):
				doc.Errorf(varKey(name), "%s: vars: the runbook %s declares no var %q in spec.vars%s", where, r.Runbook.Metadata.Name, name, expression.Suggest(name, sortedKeys(r.Runbook.Spec.Vars)))
			case r.Runbook != nil && slices.Contains(r.Runbook.Spec.SecretVars, name):
				doc.Errorf(varKey(name), "%s: vars: %q is a secret var of the runbook: an alert cannot set it", where, name)
			}
			r.vars[name] = v
		}
		rs.list = append(rs.list, r)
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	for _, r := range rs.list {
		// The install's rules come from a plan of the runbook: plan it
		// with a placeholder for each var an alert will give, so that the
		// steps named after them (the copy of the alert's pod) are
		// planned, and need their rules, as they will run.
		vars := map[string]string{}
		for name := range r.vars {
			vars[name] = Placeholder(name)
		}
		if len(vars) == 0 {
			continue
		}
		rb, err := runbook.Parse(r.File, r.Source, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars})
		if err != nil {
			return nil, fmt.Errorf("route %s: the runbook with placeholder vars: %w", r.Name, err)
		}
		r.Runbook = rb
	}
	return rs, nil
}

// Placeholder is the value a var taken from an alert has when a route's
// runbook is planned for its install: a valid name, alert-NAME.
func Placeholder(name string) string {
	return "alert-" + strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// loadRunbook reads and loads a route's runbook with the step kinds.
func loadRunbook(file string) ([]byte, *runbook.Runbook, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, runbook.MaxFileBytes+1))
	if err != nil {
		return nil, nil, err
	}
	rb, err := runbook.Parse(file, data, runbook.LoadOptions{Kinds: steps.Registry})
	return data, rb, err
}

// indent puts the lines after the first of a multi-line message under it.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func declared(rb *runbook.Runbook, name string) bool {
	_, ok := rb.Spec.Vars[name]
	return ok
}

func parseRef(v VarSpec) (ref, string) {
	source, key, ok := strings.Cut(v.From, ".")
	r := ref{source: source, key: key, as: v.As}
	if r.as == "" {
		r.as = AsName
	}
	switch {
	case !ok || (source != "labels" && source != "annotations") || key == "":
		return r, fmt.Sprintf("%q is not labels.NAME or annotations.NAME", v.From)
	case r.as != AsName && r.as != AsLabel && r.as != AsText:
		return r, fmt.Sprintf("as must be name, label or text, found %q", v.As)
	}
	return r, ""
}

func identifier(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Match returns the first route that matches the alert, or nil.
func (rs *Routes) Match(a *Alert) *Route {
	for _, r := range rs.list {
		if r.Alert == a.Name() && r.selector.Matches(labels.Set(a.Labels)) {
			return r
		}
	}
	return nil
}

// Target is what a route makes of an alert: the run to start.
type Target struct {
	// Namespace is the target namespace ("" for the runbook's own).
	Namespace string
	// Vars are the runbook's vars taken from the alert.
	Vars map[string]string
}

// Target takes the route's namespace and vars from the alert, each checked
// as the route says. An error names the var and the label, never trusting
// the value enough to print more than a quoted, cut copy of it.
func (r *Route) Target(a *Alert) (Target, error) {
	t := Target{Vars: make(map[string]string, len(r.vars))}
	if r.namespace.source == "" {
		t.Namespace = r.namespace.key
	} else {
		v, err := r.namespace.take(a)
		if err != nil {
			return Target{}, fmt.Errorf("namespace: %w", err)
		}
		t.Namespace = v
	}
	for _, name := range sortedKeys(r.vars) {
		v, err := r.vars[name].take(a)
		if err != nil {
			return Target{}, fmt.Errorf("var %s: %w", name, err)
		}
		t.Vars[name] = v
	}
	return t, nil
}

// take reads the value of the ref from the alert and checks it.
func (f ref) take(a *Alert) (string, error) {
	m := a.Labels
	if f.source == "annotations" {
		m = a.Annotations
	}
	v, ok := m[f.key]
	if !ok || v == "" {
		return "", fmt.Errorf("the alert has no %s.%s", f.source, f.key)
	}
	var errs []string
	switch f.as {
	case "namespace":
		errs = validation.IsDNS1123Label(v)
	case AsName:
		errs = validation.IsDNS1123Subdomain(v)
	case AsLabel:
		errs = validation.IsValidLabelValue(v)
	case AsText:
		switch {
		case len(v) > MaxText:
			errs = []string{fmt.Sprintf("over %d bytes", MaxText)}
		case !utf8.ValidString(v):
			errs = []string{"not valid UTF-8"}
		case strings.IndexFunc(v, func(c rune) bool { return !unicode.IsPrint(c) && c != ' ' }) >= 0:
			errs = []string{"holds control characters"}
		}
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("%s.%s %s is not a valid %s: %s", f.source, f.key, quoteCut(v), f.as, strings.Join(errs, "; "))
	}
	return v, nil
}

// quoteCut quotes at most 64 bytes of an untrusted value.
func quoteCut(v string) string {
	if len(v) > 64 {
		return fmt.Sprintf("%q...", v[:64])
	}
	return fmt.Sprintf("%q", v)
}
