package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// ApplyStep creates the objects of a manifest, labelled with the run's
// labels and recorded for cleanup before each create call, and optionally
// waits for them.
//
// It creates and never updates: an object that already exists is an error
// (AlreadyExists), so that cleanup, which deletes what the run recorded,
// can never delete or revert something the run did not make. Delete the
// object first (a delete step) or choose another name.
type ApplyStep struct {
	// Manifest is inline YAML: one or more objects separated by ---, which
	// may hold ${{ }} expressions. Give manifest or file, not both.
	Manifest expression.Template `yaml:"manifest,omitempty" json:"manifest,omitempty"`
	// File is a YAML file of one or more objects, relative to the runbook's
	// directory. It is sent as written: ${{ }} is only evaluated in an
	// inline manifest.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// WaitFor is what to wait for after creating: Exists (default: no
	// wait), Ready, Running or Succeeded. For pods these are the pod's
	// Ready condition, phase Running (or already Succeeded) and phase
	// Succeeded; a container that cannot start (ImagePullBackOff,
	// CreateContainerError) fails the wait at once. For other kinds any
	// value but Exists waits until the object is ready as its kind defines
	// it: a Deployment, StatefulSet or DaemonSet with every replica updated
	// and available, a Job complete (a failed Job fails the step); other
	// kinds only need to exist.
	WaitFor string `yaml:"waitFor,omitempty" json:"waitFor,omitempty"`
}

var applyKind = Kind{
	Name:    "apply",
	Summary: "create the objects of a manifest (inline or file), tracked for cleanup, and wait for them",
	New:     func() Action { return &ApplyStep{} },
	Results: []Result{resultObject, resultObjects},
}

// Check implements Action.
func (s *ApplyStep) Check(c *runbook.CheckContext) []runbook.FieldError {
	var errs []runbook.FieldError
	switch s.WaitFor {
	case "", "Exists", "Ready", "Running", "Succeeded":
	default:
		errs = append(errs, fieldErr("waitFor", "waitFor must be Exists, Ready, Running or Succeeded, not %q", s.WaitFor))
	}
	field := "manifest"
	switch {
	case s.Manifest.IsZero() == (s.File == ""):
		return append(errs, fieldErr("", "an apply step needs exactly one of manifest (inline YAML) or file"))
	case s.File != "":
		field = "file"
	case s.Manifest.HasExpressions():
		// Only where its ${{ }} stand is known: the objects are checked
		// once the run has put the values in (privilege included).
		_, probs := s.parse(c.Dir, nil)
		for _, p := range probs {
			errs = append(errs, fieldErr(field, "%v", p))
		}
		return errs
	}
	objs, probs := s.parse(c.Dir, nil)
	for _, p := range probs {
		errs = append(errs, fieldErr(field, "%v", p))
	}
	if len(probs) == 0 && len(objs) == 0 {
		errs = append(errs, fieldErr(field, "the %s holds no object", field))
	}
	var reasons []string
	for _, o := range objs {
		reasons = append(reasons, o.privilegeReasons()...)
	}
	if len(reasons) > 0 && !c.AllowPrivileged {
		errs = append(errs, fieldErr(field, "privileged (%s): set spec.allowPrivileged: true (or --allow-privileged) to allow it", strings.Join(reasons, ", ")))
	}
	return errs
}

// PrivilegeReasons implements Privileged: the privileged settings of the
// pods (and pod templates) of an inline manifest without expressions. A
// plan flags those of other manifests on its create calls.
func (s *ApplyStep) PrivilegeReasons() []string {
	if s.File != "" || s.Manifest.IsZero() || s.Manifest.HasExpressions() {
		return nil
	}
	objs, _ := s.parse("", nil)
	var reasons []string
	for _, o := range objs {
		reasons = append(reasons, o.privilegeReasons()...)
	}
	return reasons
}

// valuesFunc returns the values of an inline manifest's ${{ }}, in order.
type valuesFunc func() ([]any, error)

// parse reads the file (when given) or the inline manifest, puts values
// into the manifest's ${{ }} (each into the one YAML value it stands in;
// values nil only checks that they all stand in values), and returns the
// objects and every problem found, each naming its line.
func (s *ApplyStep) parse(dir string, values valuesFunc) ([]*applyObject, []error) {
	line := func(n int) string { return "manifest line " + strconv.Itoa(n) }
	if s.File != "" {
		b, err := os.ReadFile(resolveFile(dir, s.File))
		if err != nil {
			return nil, []error{fmt.Errorf("cannot read the manifest file: %w", err)}
		}
		text := string(b)
		line = func(n int) string { return s.File + ":" + strconv.Itoa(n) }
		if strings.Contains(text, "${{") {
			return nil, []error{fmt.Errorf("%s holds ${{ }}, which is only evaluated in an inline manifest: move the objects into manifest, or remove the expression", s.File)}
		}
		return parseManifest(text, line)
	}
	text := s.Manifest.Raw
	if s.Manifest.Line > 0 {
		// Name lines of the runbook file.
		line = func(n int) string {
			l, _ := s.Manifest.Pos(lineOffset(text, n), 1, 0)
			return "line " + strconv.Itoa(l)
		}
	}
	if !s.Manifest.HasExpressions() {
		return parseManifest(text, line)
	}
	docs, errs := decodeDocs(text, line)
	if len(errs) > 0 {
		return nil, append(errs, errors.New(`a manifest with ${{ }} must be valid YAML as written: in a flow mapping {...} or list [...], quote the value, e.g. {name: "${{ vars.pod }}"}`))
	}
	if err := checkTemplated(s.Manifest, docs, line); err != nil {
		return nil, []error{err}
	}
	if values == nil {
		return nil, nil
	}
	vs, err := values()
	if err != nil {
		return nil, []error{fmt.Errorf("manifest: %w", err)}
	}
	if err := substitute(docs, vs, line); err != nil {
		return nil, []error{fmt.Errorf("manifest: %w", err)}
	}
	return objectsOf(docs, line)
}

// lineOffset returns the rune offset of the start of 1-based line n.
func lineOffset(text string, n int) int {
	off, l := 0, 1
	for _, r := range text {
		if l >= n {
			break
		}
		if r == '\n' {
			l++
		}
		off++
	}
	return off
}

// applyObject is one object of a manifest.
type applyObject struct {
	u *unstructured.Unstructured
	// pod is the object as a typed pod, for v1 Pods.
	pod *corev1.Pod
	// line names where the object starts, for messages.
	line       string
	gvr        schema.GroupVersionResource
	namespaced bool
}

// String reads like "pod default/web" or "namespace scratch".
func (o *applyObject) String() string {
	kind := strings.ToLower(o.u.GetKind())
	if o.u.GetNamespace() == "" {
		return kind + " " + o.u.GetName()
	}
	return kind + " " + o.u.GetNamespace() + "/" + o.u.GetName()
}

func (o *applyObject) isPod() bool { return o.pod != nil }

// privilegeReasons lists the privileged settings of the object's pod spec.
func (o *applyObject) privilegeReasons() []string {
	spec := podSpecOf(o)
	if spec == nil {
		return nil
	}
	var out []string
	for _, r := range kube.PodPrivilegedReasons(spec) {
		out = append(out, o.u.GetKind()+" "+o.u.GetName()+": "+r)
	}
	return out
}

// podSpecOf returns the pod spec of a pod, or the pod template of a
// workload, or nil.
func podSpecOf(o *applyObject) *corev1.PodSpec {
	if o.pod != nil {
		return &o.pod.Spec
	}
	path := []string{"spec", "template", "spec"}
	if o.u.GetKind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	m, ok, err := unstructured.NestedMap(o.u.Object, path...)
	if !ok || err != nil {
		return nil
	}
	var spec corev1.PodSpec
	if runtime.DefaultUnstructuredConverter.FromUnstructured(m, &spec) != nil {
		return nil
	}
	return &spec
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseManifest decodes the YAML documents of text into objects. line
// names a line of the text in messages.
func parseManifest(text string, line func(int) string) ([]*applyObject, []error) {
	docs, errs := decodeDocs(text, line)
	objs, more := objectsOf(docs, line)
	return objs, append(errs, more...)
}

// decodeDocs decodes the YAML documents of text, skipping empty ones.
func decodeDocs(text string, line func(int) string) ([]*yaml.Node, []error) {
	var docs []*yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "yaml: ")
			msg = yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
				return line(n)
			})
			return docs, []error{fmt.Errorf("not valid YAML: %s", msg)}
		}
		if len(doc.Content) == 0 {
			continue
		}
		n := doc.Content[0]
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			continue // an empty document, e.g. after a trailing ---
		}
		docs = append(docs, n)
	}
	return docs, nil
}

// objectsOf converts decoded documents into objects.
func objectsOf(docs []*yaml.Node, line func(int) string) ([]*applyObject, []error) {
	var objs []*applyObject
	var errs []error
	for _, n := range docs {
		where := line(n.Line)
		if n.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("%s: a manifest document must be an object (apiVersion, kind, metadata, ...)", where))
			continue
		}
		obj, err := objectOf(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", where, err))
			continue
		}
		o := &applyObject{u: obj, line: where}
		if obj.GetAPIVersion() == "v1" && obj.GetKind() == "Pod" {
			var pod corev1.Pod
			if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, &pod, true); err != nil {
				errs = append(errs, fmt.Errorf("%s: pod %s: %v", where, obj.GetName(), err))
				continue
			}
			o.pod = &pod
		}
		objs = append(objs, o)
	}
	return objs, errs
}

// objectOf converts a YAML mapping to an object with JSON's types (int64
// and float64 numbers), and checks the fields every object needs.
func objectOf(n *yaml.Node) (*unstructured.Unstructured, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	b, err := utiljson.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot be converted to JSON (keys must be strings): %v", err)
	}
	m := map[string]any{}
	if err := utiljson.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	var missing []string
	for _, f := range [][]string{{"apiVersion"}, {"kind"}, {"metadata", "name"}} {
		if s, _, _ := unstructured.NestedString(m, f...); s == "" {
			missing = append(missing, strings.Join(f, "."))
		}
	}
	if len(missing) > 0 {
		msg := "object has no " + strings.Join(missing, ", no ")
		if _, ok, _ := unstructured.NestedString(m, "metadata", "generateName"); ok {
			msg += " (generateName is not supported: the run records the name before creating, for cleanup)"
		}
		return nil, errors.New(msg)
	}
	if _, err := schema.ParseGroupVersion(u.GetAPIVersion()); err != nil {
		return nil, fmt.Errorf("apiVersion %q: %v", u.GetAPIVersion(), err)
	}
	for _, f := range []string{"labels", "annotations"} {
		if _, _, err := unstructured.NestedStringMap(m, "metadata", f); err != nil {
			return nil, fmt.Errorf("metadata.%s must map names to strings", f)
		}
	}
	return u, nil
}

// prepare sets an object's namespace (the run's when the kind is
// namespaced and the manifest gives none; none for cluster-scoped kinds)
// and adds the run's labels.
func (o *applyObject) prepare(ns string, stamp kube.RunStamp) {
	if !o.namespaced {
		o.u.SetNamespace("")
	} else if o.u.GetNamespace() == "" {
		o.u.SetNamespace(ns)
	}
	labels, annotations := stamp.ApplyTo(o.u.GetLabels(), o.u.GetAnnotations())
	o.u.SetLabels(labels)
	o.u.SetAnnotations(annotations)
	if o.pod != nil {
		o.pod.Namespace = o.u.GetNamespace()
		stamp.Apply(&o.pod.ObjectMeta)
	}
}

// waitMode says what waiting for the object means, or "" for no wait.
func (s *ApplyStep) waitMode(o *applyObject) string {
	if s.WaitFor == "" || s.WaitFor == "Exists" {
		return ""
	}
	if o.isPod() {
		return s.WaitFor
	}
	if kube.Readiness(o.u.GroupVersionKind().GroupKind()) != nil {
		return "Ready"
	}
	return ""
}

// kubectlWait is the kubectl command that waits like the step.
func (s *ApplyStep) kubectlWait(o *applyObject) string {
	var flag string
	switch w := s.waitMode(o); {
	case w == "":
		return ""
	case o.isPod() && w == "Ready":
		flag = "--for=condition=Ready"
	case o.isPod():
		flag = "--for=jsonpath={.status.phase}=" + w
	case o.gvr.Group == "batch":
		flag = "--for=condition=Complete"
	case o.u.GetKind() == "Deployment":
		flag = "--for=condition=Available"
	default:
		return fmt.Sprintf("kubectl rollout status %s -n %s", shellQuote(resourceName(o.gvr)+"/"+o.u.GetName()), shellQuote(o.u.GetNamespace()))
	}
	typ := "pod"
	if !o.isPod() {
		typ = resourceName(o.gvr)
	}
	cmd := "kubectl wait " + shellQuote(typ+"/"+o.u.GetName())
	if o.namespaced {
		cmd += " -n " + shellQuote(o.u.GetNamespace())
	}
	return cmd + " " + shellQuote(flag)
}

func (s *ApplyStep) kubectl(objs []*applyObject) string {
	src := "-"
	if s.File != "" {
		src = shellQuote(s.File)
	}
	cmd := "kubectl create -f " + src
	for _, o := range objs {
		if w := s.kubectlWait(o); w != "" {
			cmd += " && " + w
		}
	}
	return cmd
}

func objectsTarget(objs []*applyObject) string {
	var names []string
	for i, o := range objs {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(objs)-3))
			break
		}
		names = append(names, o.String())
	}
	return strings.Join(names, ", ")
}

// planObjects parses the manifest for a plan and prepares its objects as
// the run would; text is what the plan could render.
func (s *ApplyStep) planObjects(p *Planner) ([]*applyObject, string, []string, error) {
	objs, errs := s.parse(p.Dir, func() ([]any, error) { return s.Manifest.PartialValues(p.Scope), nil })
	text := p.Render(s.Manifest) // for display only
	if len(errs) > 0 {
		return nil, text, nil, errors.Join(errs...)
	}
	var notes []string
	for _, o := range objs {
		var note string
		o.gvr, o.namespaced, note = planResource(o.u.GroupVersionKind())
		if note != "" {
			notes = append(notes, note)
		}
		o.prepare(p.Namespace, p.stamp())
	}
	return objs, text, notes, nil
}

// PlannedPods returns the pods the manifest creates, namespaced and
// labelled as the run will create them, so that later steps' plans (copy,
// debug) can be built from them. It returns nothing when the manifest can
// only be read at run time.
func (s *ApplyStep) PlannedPods(p *Planner) []*corev1.Pod {
	objs, _, _, err := s.planObjects(p)
	if err != nil {
		return nil
	}
	var pods []*corev1.Pod
	for _, o := range objs {
		if o.pod != nil {
			pods = append(pods, o.pod.DeepCopy())
		}
	}
	return pods
}

// Plan implements Action.
func (s *ApplyStep) Plan(p *Planner) (*Planned, error) {
	objs, text, notes, err := s.planObjects(p)
	if err != nil {
		if text == "" {
			return nil, err
		}
		return &Planned{
			Target:  "the objects of the manifest",
			Kubectl: s.kubectl(nil),
			Calls: []Call{{Verb: "create", Resource: "<each object of the manifest>", Body: text,
				Note: "the manifest can only be read once the run has evaluated it: " + err.Error()}},
			Notes: []string{"every object is labelled with the run's labels and deleted at cleanup"},
		}, nil
	}
	pl := &Planned{Target: objectsTarget(objs), Kubectl: s.kubectl(objs), Notes: notes}
	for _, o := range objs {
		create := Call{Verb: "create", Group: o.gvr.Group, Resource: o.gvr.Resource, Namespace: o.u.GetNamespace(), Name: o.u.GetName(),
			Body: o.u.Object, Privileged: o.privilegeReasons(),
			Note: "create, never update: an object that already exists fails the step and is left alone"}
		if o.pod != nil {
			create.Body = bodyOf(o.pod)
		}
		pl.Calls = append(pl.Calls, create)
		pl.Cleanup = append(pl.Cleanup, kube.RefOf(o.gvr, o.u.GetKind(), o.u.GetNamespace(), o.u.GetName()))
	}
	for _, o := range objs {
		switch w := s.waitMode(o); {
		case w == "":
		case o.isPod():
			pl.Calls = append(pl.Calls, watchCall(o.u.GetNamespace(), "until pod "+o.u.GetName()+" is "+w))
		default:
			t := target{gvk: o.u.GroupVersionKind(), gvr: o.gvr, namespaced: o.namespaced, ns: o.u.GetNamespace(), name: o.u.GetName()}
			note := "field selector metadata.name=" + o.u.GetName() + ", until " + o.String() + " is ready"
			pl.Calls = append(pl.Calls, t.call("list", note), t.call("watch", note))
		}
	}
	return pl, nil
}

// Run implements Action.
func (s *ApplyStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	objs, errs := s.parse(e.Dir, func() ([]any, error) { return s.Manifest.Values(e.Scope) })
	if len(errs) > 0 {
		return out.fail(fmt.Errorf("manifest: %w", errors.Join(errs...)))
	}
	if len(objs) == 0 {
		return out.fail(errors.New("manifest: no object to create"))
	}
	if e.Clients == nil || e.Clients.Kube == nil {
		return out.fail(errors.New("no cluster client"))
	}
	if e.Tracker == nil {
		return out.fail(errors.New("no tracker to record the objects for cleanup"))
	}
	for _, o := range objs {
		var err error
		if o.gvr, o.namespaced, err = e.Clients.ResourceFor(o.u); err != nil {
			return out.fail(fmt.Errorf("%s (%s): %w", o.u.GetKind()+" "+o.u.GetName(), o.line, err))
		}
		o.prepare(e.Namespace, e.stamp())
	}
	out.Target = objectsTarget(objs)
	out.Kubectl = s.kubectl(objs)
	// Privilege is decided on the objects about to be sent, as the plan
	// decides it on the planned ones: a value put into the manifest can
	// make it privileged.
	if !e.AllowPrivileged {
		var reasons []string
		for _, o := range objs {
			reasons = append(reasons, o.privilegeReasons()...)
		}
		if len(reasons) > 0 {
			return out.fail(fmt.Errorf("the manifest, as rendered, is privileged (%s) and the runbook does not allow it: set spec.allowPrivileged: true (or --allow-privileged); nothing was created",
				strings.Join(reasons, ", ")))
		}
	}

	for _, o := range objs {
		if err := createObject(ctx, e, out, o); err != nil {
			return out.fail(err)
		}
	}
	for _, o := range objs {
		if err := s.wait(ctx, e, out, o); err != nil {
			s.results(out, objs)
			return out.fail(err)
		}
	}
	s.results(out, objs)
	return out
}

// results fills object and objects with the objects' latest states.
func (s *ApplyStep) results(out *Outcome, objs []*applyObject) {
	out.Objects = make([]any, 0, len(objs))
	for _, o := range objs {
		var m map[string]any
		if o.pod != nil {
			m = podMap(o.pod)
		} else {
			m = ObjectMap(o.u)
		}
		out.Objects = append(out.Objects, m)
		out.Object = m
	}
}

// podMap is a typed pod as JSON, with the apiVersion and kind the API
// server's answers leave out.
func podMap(pod *corev1.Pod) map[string]any {
	m := ObjectMap(pod)
	if m != nil {
		m["apiVersion"], m["kind"] = "v1", "Pod"
	}
	return m
}

// createObject makes one object:
// records it in the tracker, then sends the create call.
func createObject(ctx context.Context, e *Env, out *Outcome, o *applyObject) error {
	ns, name := o.u.GetNamespace(), o.u.GetName()
	var ri interface {
		Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
	}
	if !o.isPod() {
		if e.Clients.Dynamic() == nil {
			return errors.New("no cluster client")
		}
		r := e.Clients.Dynamic().Resource(o.gvr)
		ri = r
		if o.namespaced {
			ri = r.Namespace(ns)
		}
	}
	// Recorded before the create, so an interrupt during the request
	// still cleans it up; forgotten if the server refused it (e.g. it
	// already existed: apply never takes over an existing object).
	idx := e.Tracker.Record(kube.TrackedObject{GVR: o.gvr, Kind: o.u.GetKind(), Namespace: ns, Name: name})
	if o.isPod() {
		created, err := e.Clients.Kube.CoreV1().Pods(ns).Create(ctx, o.pod, metav1.CreateOptions{})
		if err != nil {
			e.Tracker.Forget(idx, err)
			return createErr(o, err)
		}
		o.pod = created
	} else {
		created, err := ri.Create(ctx, o.u, metav1.CreateOptions{})
		if err != nil {
			e.Tracker.Forget(idx, err)
			return createErr(o, err)
		}
		o.u = created
	}
	e.Tracker.MarkCreated(idx)
	out.Touched = append(out.Touched, ObjectRef{Kind: o.u.GetKind(), Namespace: ns, Name: name, Action: report.ActionCreated})
	return nil
}

func createErr(o *applyObject, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("%s already exists: apply creates objects and never changes existing ones, so that cleanup deletes only what the run made; delete it first or choose another name", o)
	}
	return fmt.Errorf("creating %s: %w", o, err)
}

// wait waits for one object as waitFor says.
func (s *ApplyStep) wait(ctx context.Context, e *Env, out *Outcome, o *applyObject) error {
	w := s.waitMode(o)
	if w == "" {
		return nil
	}
	ns, name := o.u.GetNamespace(), o.u.GetName()
	if o.isPod() {
		cond := kube.PodReady()
		switch w {
		case "Running":
			cond = kube.PodRunning()
		case "Succeeded":
			cond = kube.PodSucceeded()
		}
		e.logf("waiting for pod %s/%s to be %s", ns, name, w)
		var pod *corev1.Pod
		var err error
		if e.Pods != nil {
			pod, err = e.Pods(ns).WaitFrom(ctx, o.pod, cond)
		} else {
			pod, err = kube.WaitForPod(ctx, e.Clients, ns, name, cond)
		}
		if pod != nil {
			o.pod = pod
		}
		return err
	}
	cond := kube.Readiness(o.u.GroupVersionKind().GroupKind())
	e.logf("waiting for %s to be ready", o)
	waitNS := ""
	if o.namespaced {
		waitNS = ns
	}
	u, err := kube.WaitFor(ctx, e.Clients, o.gvr, waitNS, name, cond)
	if u != nil {
		o.u = u
	}
	return err
}
