package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/steps"
)

// Check is one preflight finding: what only a cluster can tell about a plan.
type Check struct {
	// What was checked, e.g. "RBAC: patch pods/ephemeralcontainers in default".
	What string `json:"what" yaml:"what"`
	// OK is false when the run would fail (or be refused) because of it.
	OK bool `json:"ok" yaml:"ok"`
	// Detail says why.
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
}

// Preflight asks the cluster what a plan cannot know: whether the current
// user may make every call (SelfSubjectAccessReview), whether the pods the
// runbook targets but does not create exist, what Pod Security level the
// namespace enforces, and whether the API server accepts every object the
// run would create (server-side dry run, which runs admission, Pod Security
// included). It changes nothing in the cluster.
func Preflight(ctx context.Context, c *kube.Clients, p *Plan) []Check {
	var out []Check
	ns := p.Namespace
	if p.TemporaryNamespace {
		ns = c.Namespace
	}
	// Exactly the rules `runbook rbac` prints, each where it applies.
	for _, perm := range p.Permissions {
		for _, r := range perm.Rules {
			for _, verb := range r.Verbs {
				if len(r.ResourceNames) == 0 {
					out = append(out, accessCheck(ctx, c, r, verb, perm.Namespace, ""))
				}
				for _, name := range r.ResourceNames {
					out = append(out, accessCheck(ctx, c, r, verb, perm.Namespace, name))
				}
			}
		}
	}
	if p.TemporaryNamespace {
		// The namespace and everything in it exist only during the run.
		return out
	}
	out = append(out, podSecurityCheck(ctx, c, ns, p))
	created := map[string]bool{}
	for _, s := range p.Steps {
		// What the plan read to fill in its run-time parts (the pods
		// targets resolve to, pods read by name), then what it says fails.
		read := map[string]bool{}
		for _, l := range s.Planned.Lookups {
			out = append(out, Check{What: fmt.Sprintf("step %d: %s", s.Index, l.What), OK: l.OK, Detail: l.Detail})
			if l.Pod != "" {
				read[l.Pod] = true
			}
		}
		if s.Planned.Fails != "" {
			out = append(out, Check{What: fmt.Sprintf("step %d: the plan", s.Index), Detail: "the run fails here: " + s.Planned.Fails})
		}
		for _, call := range s.Planned.Calls {
			if !concrete(call.Name) {
				continue
			}
			key := call.Namespace + "/" + call.Name
			switch {
			case call.Verb == "create" && call.Resource == "pods" && call.Subresource == "":
				created[key] = true
				out = append(out, dryRunCreate(ctx, c, s, call))
			case created[key]:
				// Made by an earlier step: it cannot be read or patched yet.
			case call.Verb == "patch" && call.Subresource == "ephemeralcontainers":
				out = append(out, dryRunPatch(ctx, c, s, call))
				if target := patchTarget(call.Body); target != "" {
					out = append(out, targetRunningCheck(ctx, c, s, call, target))
				}
			case call.Verb == "get" && call.Resource == "pods" && call.Subresource == "" && !read[key]:
				out = append(out, existsCheck(ctx, c, s, call))
			}
		}
	}
	return out
}

// concrete reports whether a planned name is known (no <expression>).
func concrete(name string) bool { return name != "" && !strings.Contains(name, "<") }

func accessCheck(ctx context.Context, c *kube.Clients, r rbacv1.PolicyRule, verb, ns, name string) Check {
	resource, sub, _ := strings.Cut(r.Resources[0], "/")
	attrs := &authv1.ResourceAttributes{Group: r.APIGroups[0], Resource: resource, Subresource: sub, Verb: verb, Name: name}
	where := "cluster-wide"
	if ns != "" {
		attrs.Namespace = ns
		where = "in " + ns
	}
	if name != "" {
		where += ", name " + name
	}
	what := fmt.Sprintf("RBAC: %s %s %s", verb, r.Resources[0], where)
	review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}}
	res, err := c.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return Check{What: what, Detail: "could not ask: " + err.Error()}
	}
	if !res.Status.Allowed {
		detail := "denied"
		if res.Status.Reason != "" {
			detail += ": " + res.Status.Reason
		}
		return Check{What: what, Detail: detail}
	}
	return Check{What: what, OK: true, Detail: "allowed"}
}

func podSecurityCheck(ctx context.Context, c *kube.Clients, ns string, p *Plan) Check {
	what := "Pod Security of namespace " + ns
	n, err := c.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		// The run does not read namespaces: this check is extra, and the
		// dry runs below meet Pod Security anyway.
		return Check{What: what, OK: true, Detail: "not readable with these rights (the run does not need it); the dry runs below meet Pod Security"}
	}
	if apierrors.IsNotFound(err) {
		return Check{What: "namespace " + ns, Detail: MissingNamespace(ns, p.NamespaceFrom) + ": the run would fail at its first request in it"}
	}
	if err != nil {
		return Check{What: what, Detail: err.Error()}
	}
	level := n.Labels["pod-security.kubernetes.io/enforce"]
	if level == "" || level == "privileged" {
		return Check{What: what, OK: true, Detail: "enforces " + cmp.Or(level, "nothing (privileged)")}
	}
	if len(p.Privileged) > 0 {
		return Check{What: what, Detail: fmt.Sprintf("enforces %s, and the run has privileged items (%d): the API server will refuse them", level, len(p.Privileged))}
	}
	return Check{What: what, OK: true, Detail: "enforces " + level + "; the dry runs below show what it admits"}
}

func dryRunCreate(ctx context.Context, c *kube.Clients, s PlannedStep, call steps.Call) Check {
	what := fmt.Sprintf("step %d: dry-run create pod %s/%s", s.Index, call.Namespace, call.Name)
	b, err := json.Marshal(call.Body)
	if err != nil {
		return Check{What: what, Detail: err.Error()}
	}
	var pod corev1.Pod
	if err := json.Unmarshal(b, &pod); err != nil {
		return Check{What: what, Detail: err.Error()}
	}
	for _, ct := range pod.Spec.Containers {
		if kube.Unknown(ct.Name) || kube.Unknown(ct.Image) {
			// Built from a placeholder: the pod it copies could not be read.
			return Check{What: what, OK: true, Detail: "not tried: the pod it is made from is known only at run time"}
		}
	}
	if strings.Contains(pod.Spec.NodeName, "<") {
		pod.Spec.NodeName = ""
	}
	// The plan shows the run id as a placeholder; a dry run needs a value.
	for k, v := range pod.Labels {
		if strings.Contains(v, "<") {
			pod.Labels[k] = "preflight"
		}
	}
	_, err = c.Kube.CoreV1().Pods(call.Namespace).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return verdict(what, err)
}

func dryRunPatch(ctx context.Context, c *kube.Clients, s PlannedStep, call steps.Call) Check {
	what := fmt.Sprintf("step %d: dry-run add ephemeral container to pod %s/%s", s.Index, call.Namespace, call.Name)
	b, err := json.Marshal(call.Body)
	if err != nil {
		return Check{What: what, Detail: err.Error()}
	}
	_, err = c.Kube.CoreV1().Pods(call.Namespace).Patch(ctx, call.Name, types.StrategicMergePatchType, b,
		metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}, "ephemeralcontainers")
	return verdict(what, err)
}

// patchTarget is the container an ephemeral container patch targets
// (targetContainerName), or "".
func patchTarget(body any) string {
	spec, _ := body.(map[string]any)["spec"].(map[string]any)
	ecs, _ := spec["ephemeralContainers"].([]any)
	for _, ec := range ecs {
		if m, ok := ec.(map[string]any); ok {
			if t, ok := m["targetContainerName"].(string); ok {
				return t
			}
		}
	}
	return ""
}

// targetRunningCheck says whether the container a debug step targets runs
// now: a run refuses a target that does not (kube.TargetNotRunningError), as
// the kubelet would never start the debugger.
func targetRunningCheck(ctx context.Context, c *kube.Clients, s PlannedStep, call steps.Call, target string) Check {
	what := fmt.Sprintf("step %d: target container %s of pod %s/%s is running", s.Index, target, call.Namespace, call.Name)
	pod, err := c.Kube.CoreV1().Pods(call.Namespace).Get(ctx, call.Name, metav1.GetOptions{})
	if err != nil {
		return verdict(what, err)
	}
	if err := kube.CheckEphemeralTargetContainer(pod, target); err != nil {
		return Check{What: what, Detail: "the run fails here: " + err.Error()}
	}
	return Check{What: what, OK: true, Detail: "running"}
}

func existsCheck(ctx context.Context, c *kube.Clients, s PlannedStep, call steps.Call) Check {
	what := fmt.Sprintf("step %d: pod %s/%s exists", s.Index, call.Namespace, call.Name)
	pod, err := c.Kube.CoreV1().Pods(call.Namespace).Get(ctx, call.Name, metav1.GetOptions{})
	if err != nil {
		return verdict(what, err)
	}
	var names []string
	for _, ct := range pod.Spec.Containers {
		names = append(names, ct.Name)
	}
	sort.Strings(names)
	return Check{What: what, OK: true, Detail: fmt.Sprintf("phase %s, containers: %s", pod.Status.Phase, strings.Join(names, ", "))}
}

func verdict(what string, err error) Check {
	switch {
	case err == nil:
		return Check{What: what, OK: true, Detail: "accepted"}
	case apierrors.IsAlreadyExists(err):
		return Check{What: what, Detail: "already exists: the run would fail (apply and copy never take over an existing object)"}
	}
	return Check{What: what, Detail: err.Error()}
}
