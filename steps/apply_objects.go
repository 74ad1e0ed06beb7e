package steps

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/kube-runbook/runbook/runbook"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"

	"github.com/kube-runbook/runbook/kube"
)

// The objects of an apply step's manifest: reading the manifest (inline or
// a file) into objects, checking what every object needs, and preparing
// them as the run creates them (namespace, the run's labels).

// readManifest reads a manifest file, at most runbook.MaxFileBytes of it:
// a manifest named by mistake (/dev/zero, a log, an image) is an error, not
// all of the machine's memory.
func readManifest(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, runbook.MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > runbook.MaxFileBytes {
		return nil, fmt.Errorf("%s is over %d MiB, the limit of a manifest", file, runbook.MaxFileBytes>>20)
	}
	return b, nil
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
		b, err := readManifest(resolveFile(dir, s.File))
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
	scalars, err := checkTemplated(s.Manifest, docs, line)
	if err != nil {
		return nil, []error{err}
	}
	if values == nil {
		return nil, nil
	}
	vs, err := values()
	if err != nil {
		return nil, []error{fmt.Errorf("manifest: %w", err)}
	}
	if err := substitute(scalars, vs, line); err != nil {
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
	for _, r := range kube.PodObjectPrivilegedReasons(spec, podAnnotationsOf(o)) {
		out = append(out, o.u.GetKind()+" "+o.u.GetName()+": "+r)
	}
	return out
}

// podAnnotationsOf returns the annotations of a pod, or of the pod template of a workload
// (where the AppArmor beta annotation of its pods is written).
func podAnnotationsOf(o *applyObject) map[string]string {
	if o.pod != nil {
		return o.pod.Annotations
	}
	m, _, _ := unstructured.NestedStringMap(o.u.Object, templatePath(o, "metadata", "annotations")...)
	return m
}

// templatePath is the path of field in a workload's pod template:
// spec.template, or a CronJob's spec.jobTemplate.spec.template.
func templatePath(o *applyObject, field ...string) []string {
	path := []string{"spec", "template"}
	if o.u.GetKind() == "CronJob" {
		path = []string{"spec", "jobTemplate", "spec", "template"}
	}
	return append(path, field...)
}

// podSpecOf returns the pod spec of a pod, or the pod template of a
// workload, or nil.
func podSpecOf(o *applyObject) *corev1.PodSpec {
	if o.pod != nil {
		return &o.pod.Spec
	}
	m, ok, err := unstructured.NestedMap(o.u.Object, templatePath(o, "spec")...)
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
		} else if err := checkTyped(obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %s: %v", where, strings.ToLower(obj.GetKind()), obj.GetName(), err))
			continue
		}
		objs = append(objs, o)
	}
	return objs, errs
}

// checkTyped decodes an object of a kind client-go knows (ConfigMap,
// Deployment, Service, ...) into its Go type, strictly, as the API server
// would: a field of the wrong type or one the kind lacks is an error before
// the run, with the field's path (spec.replicas). Kinds client-go does not
// know (custom resources) are the API server's to check.
func checkTyped(obj *unstructured.Unstructured) error {
	typed, err := scheme.Scheme.New(obj.GroupVersionKind())
	if err != nil {
		return nil
	}
	b, err := utiljson.Marshal(obj.Object)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(b, typed)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	if len(strict) > 0 {
		return fmt.Errorf("strict decoding error: %v", errors.Join(strict...))
	}
	return nil
}

// objectOf converts a YAML mapping to an object with JSON's types (int64
// and float64 numbers), and checks the fields every object needs.
func objectOf(n *yaml.Node) (*unstructured.Unstructured, error) {
	// The format's converter: linear in the keys (yaml.v3's own duplicate
	// check is quadratic) and bounded in what aliases expand to.
	v, err := runbook.NodeValue(n)
	if err != nil {
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
