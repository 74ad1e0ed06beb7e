package kube

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ReadyFunc decides from a workload's state whether it is ready (rolled out, complete), or
// can never be (err). It fits WaitFor.
type ReadyFunc func(u *unstructured.Unstructured) (bool, error)

// Readiness returns how a kind says it is ready: a Deployment, StatefulSet or DaemonSet
// rolled out as kubectl rollout status would say, a Job complete. It is nil for other kinds:
// they are ready once they exist. Errors name the object like "deployment ns/web".
func Readiness(gk schema.GroupKind) ReadyFunc {
	var ready func(what string, u *unstructured.Unstructured) (bool, error)
	switch gk {
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		ready = deploymentReady
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		ready = statefulSetReady
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		ready = daemonSetReady
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		ready = jobComplete
	default:
		return nil
	}
	kind := strings.ToLower(gk.Kind)
	return func(u *unstructured.Unstructured) (bool, error) {
		return ready(kind+" "+objectName(u.GetNamespace(), u.GetName()), u)
	}
}

// number reads an integer field; missing is def.
func number(u *unstructured.Unstructured, def int64, path ...string) int64 {
	v, ok, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return def
}

// observed reports whether the controller has seen the latest spec.
func observed(u *unstructured.Unstructured) bool {
	return number(u, 0, "status", "observedGeneration") >= u.GetGeneration()
}

// condition returns the status, reason and message of a status condition.
func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "conditions")
	conds, _ := v.([]any)
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		status, _ = m["status"].(string)
		reason, _ = m["reason"].(string)
		message, _ = m["message"].(string)
		return status, reason, message
	}
	return "", "", ""
}

// deploymentReady is kubectl rollout status's rule: every replica updated and available,
// no old replica left. A rollout past its progress deadline is an error.
func deploymentReady(what string, u *unstructured.Unstructured) (bool, error) {
	if _, reason, msg := condition(u, "Progressing"); reason == "ProgressDeadlineExceeded" {
		return false, fmt.Errorf("%s: rollout stopped: %s", what, msg)
	}
	if !observed(u) {
		return false, nil
	}
	want := number(u, 1, "spec", "replicas")
	updated := number(u, 0, "status", "updatedReplicas")
	return updated >= want && number(u, 0, "status", "replicas") == updated &&
		number(u, 0, "status", "availableReplicas") >= updated, nil
}

// statefulSetReady: every replica ready and updated.
func statefulSetReady(_ string, u *unstructured.Unstructured) (bool, error) {
	want := number(u, 1, "spec", "replicas")
	return observed(u) && number(u, 0, "status", "readyReplicas") >= want &&
		number(u, 0, "status", "updatedReplicas") >= want, nil
}

// daemonSetReady: every scheduled pod ready and updated.
func daemonSetReady(_ string, u *unstructured.Unstructured) (bool, error) {
	want := number(u, -1, "status", "desiredNumberScheduled")
	return observed(u) && want >= 0 && number(u, 0, "status", "numberReady") >= want &&
		number(u, 0, "status", "updatedNumberScheduled") >= want, nil
}

// jobComplete: condition Complete; condition Failed is an error.
func jobComplete(what string, u *unstructured.Unstructured) (bool, error) {
	if st, _, _ := condition(u, "Complete"); st == "True" {
		return true, nil
	}
	if st, reason, msg := condition(u, "Failed"); st == "True" {
		return false, fmt.Errorf("%s failed: %s", what, strings.TrimSuffix(reason+": "+msg, ": "))
	}
	return false, nil
}
