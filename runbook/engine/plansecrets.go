package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// secretPlan adds to a plan the reads a run makes to redact the values of
// the Secrets that the pods its steps enter (exec, debug, cp, logs)
// reference: a get of each such Secret, by name, once per run, when the
// plan knows the pod (the runbook creates or copies it); otherwise a get of
// the pod and a note, since the Secrets' names are known only at run time.
type secretPlan struct {
	// created are the pods earlier steps create, by namespace/name.
	created map[string]*corev1.Pod
	// pods and secrets are those already looked at or read, or that the
	// run knows without a read (it creates or reads them itself).
	pods, secrets map[string]bool
}

func newSecretPlan() *secretPlan {
	return &secretPlan{created: map[string]*corev1.Pod{}, pods: map[string]bool{}, secrets: map[string]bool{}}
}

// step adds the reads of one planned step to its calls.
func (sp *secretPlan) step(p *steps.Planner, s *runbook.Step, pl *steps.Planned) {
	for _, c := range pl.Calls {
		key := c.Namespace + "/" + c.Name
		switch {
		case c.Group == "" && c.Resource == "pods" && c.Subresource == "" && c.Verb == "create":
			if pod := podOf(c.Body); pod != nil {
				sp.created[key] = pod
			}
		case c.Group == "" && c.Resource == "secrets" && (c.Verb == "create" || c.Verb == "get") && c.Name != "":
			// The run learns the values of a Secret it creates or reads.
			sp.secrets[key] = true
		}
	}
	var extra []steps.Call
	for _, c := range pl.Calls {
		if !entersPod(c) {
			continue
		}
		key := c.Namespace + "/" + c.Name
		if sp.pods[key] {
			continue
		}
		sp.pods[key] = true
		pod := p.Pod(c.Namespace, c.Name)
		if pod == nil {
			pod = sp.created[key]
		}
		if pod == nil {
			if !readsPod(pl, c) && (s.ForEach == nil || s.ForEach.Pods == nil) {
				extra = append(extra, steps.Call{Verb: "get", Resource: "pods", Namespace: c.Namespace, Name: c.Name,
					Note: "once per run, unless the run's pod watch has it: to find the Secrets it references, whose values are redacted"})
			}
			pl.Notes = append(pl.Notes, fmt.Sprintf("the Secrets pod %s references, if any, are read to redact their values; "+
				"their names are known at run time only, so no rule grants it: without it, the env vars they set are masked "+
				"in the output and the result says what was not checked", key))
			continue
		}
		for _, use := range kube.SecretUses(pod) {
			skey := c.Namespace + "/" + use.Name
			if sp.secrets[skey] {
				continue
			}
			sp.secrets[skey] = true
			extra = append(extra, steps.Call{Verb: "get", Resource: "secrets", Namespace: c.Namespace, Name: use.Name,
				Note: fmt.Sprintf("once per run: pod %s references it (%s); its values are redacted", pod.Name, useText(use))})
		}
	}
	pl.Calls = append(pl.Calls, extra...)
}

// entersPod reports whether a call reaches what a pod's processes, files
// or logs say.
func entersPod(c steps.Call) bool {
	if c.Group != "" || c.Resource != "pods" {
		return false
	}
	return (c.Subresource == "exec" && c.Verb == "create") || (c.Subresource == "log" && c.Verb == "get") ||
		(c.Subresource == "ephemeralcontainers" && c.Verb == "patch")
}

// readsPod reports whether a step reads the pod a call names itself: by
// name, or in the list it chooses the pod from (a workload or a selector).
func readsPod(pl *steps.Planned, c steps.Call) bool {
	for _, o := range pl.Calls {
		if o.Group != "" || o.Resource != "pods" || o.Subresource != "" || o.Namespace != c.Namespace {
			continue
		}
		if o.Verb == "get" && o.Name == c.Name || o.Verb == "list" && o.Name == "" {
			return true
		}
	}
	return false
}

// podOf reads the pod a planned create sends.
func podOf(body any) *corev1.Pod {
	b, err := json.Marshal(body)
	if err != nil {
		return nil
	}
	var pod corev1.Pod
	if json.Unmarshal(b, &pod) != nil || pod.Name == "" {
		return nil
	}
	return &pod
}

// useText says how a pod uses a Secret: "env A, B; envFrom; volume v".
func useText(u kube.SecretUse) string {
	var parts []string
	if len(u.Env) > 0 {
		parts = append(parts, "env "+strings.Join(u.Env, ", "))
	}
	if u.EnvFrom {
		parts = append(parts, "envFrom")
	}
	if len(u.Volumes) > 0 {
		parts = append(parts, "volume "+strings.Join(u.Volumes, ", "))
	}
	return strings.Join(parts, "; ")
}
