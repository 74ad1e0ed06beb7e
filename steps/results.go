package steps

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kube-runbook/runbook/runbook"
)

// Result is a name a kind's runs provide, and how to read its value from
// an Outcome. A kind with a result of its own declares it in its own file,
// reading it from Outcome.Values; the common ones are below.
type Result struct {
	runbook.Result
	// Get reads the result's value from an outcome.
	Get func(o *Outcome) any
}

// Value reads the result from an outcome, or its type's zero value when
// the step did not get so far.
func (r Result) Value(o *Outcome) any {
	if o != nil {
		if v := r.Get(o); v != nil {
			return v
		}
	}
	return r.Type
}

func valueOf(name string) func(o *Outcome) any {
	return func(o *Outcome) any { return o.Values[name] }
}

// The results that several kinds provide.
var (
	resultStdout = Result{runbook.Result{Name: "stdout", Type: "",
		Doc: "standard output of the command, or the text the step read (logs, events)"},
		func(o *Outcome) any { return o.Stdout }}
	resultStderr = Result{runbook.Result{Name: "stderr", Type: "", Doc: "standard error of the command"},
		func(o *Outcome) any { return o.Stderr }}
	resultExitCode = Result{runbook.Result{Name: "exitCode", Type: 0, Doc: "exit code of the command (0 when it did not run)"},
		func(o *Outcome) any {
			if o.ExitCode == nil {
				return nil
			}
			return *o.ExitCode
		}}
	resultPod = Result{runbook.Result{Name: "pod", Type: map[string]any{}, Doc: "the pod after the step (target, copy or node pod)"},
		func(o *Outcome) any { return mapOrNil(o.Pod) }}
	resultContainer = Result{runbook.Result{Name: "container", Type: map[string]any{}, Doc: "the container's status (the debug container's, for debug and node)"},
		func(o *Outcome) any { return mapOrNil(o.Container) }}
	resultNode = Result{runbook.Result{Name: "node", Type: map[string]any{}, Doc: "the node the step ran on"},
		func(o *Outcome) any { return mapOrNil(o.Node) }}
	resultObject = Result{runbook.Result{Name: "object", Type: map[string]any{}, Doc: "the object the step read, applied, waited for or deleted"},
		func(o *Outcome) any { return mapOrNil(o.Object) }}
	resultObjects = Result{runbook.Result{Name: "objects", Type: []any{}, Doc: "the objects the step read or applied"},
		func(o *Outcome) any {
			if o.Objects == nil {
				return nil
			}
			return o.Objects
		}}
)

// ObjectMap converts an API object, typed or read through the dynamic
// client, to the JSON map that expressions see: the API's field names,
// numbers as float64. It returns nil for nil and for what does not encode
// as a JSON object.
func ObjectMap(obj any) map[string]any {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if u == nil {
			return nil
		}
		obj = u.Object
	}
	if obj == nil {
		return nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}

// mapOrNil turns a nil map into an untyped nil, so Value falls back to the
// result's zero value.
func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// Bind turns an outcome into the values of the kind's results, by name:
// what assertions see and what later steps read as steps.ID.
func (k Kind) Bind(o *Outcome) map[string]any {
	out := make(map[string]any, len(k.Results))
	for _, r := range k.Results {
		out[r.Name] = r.Value(o)
	}
	return out
}
