package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Pod targets, as kubectl takes them: `kubectl logs deploy/web`, `kubectl
// exec sts/db -- ps`. A target is a pod by name (NAME or pod/NAME), a
// workload whose pods one is chosen from (KIND/NAME), or a label selector.
// The choice among the pods is kubectl's own (k8s.io/kubectl v0.33
// pkg/polymorphichelpers): the workload's selector (SelectorsForObject),
// one list of the pods it matches, sorted with podutils and the first
// taken (GetFirstPod). Unlike kubectl, which waits up to
// --pod-running-timeout for a pod to appear, a target with no pods is an
// error at once.

// WorkloadKind is a kind of object whose pods a target may name.
type WorkloadKind struct {
	// Name is the kind's canonical lowercase name in a target, e.g. deployment.
	Name string
	// Kind is the object's kind, e.g. Deployment.
	Kind string
	// GVR is the object's group, version and resource.
	GVR schema.GroupVersionResource
	// Aliases are the other names kubectl accepts: the plural and the
	// short names (deploy, sts, ds, rs, po).
	Aliases []string
}

// PodKind is the kind of a target that names a pod.
var PodKind = WorkloadKind{Name: "pod", Kind: "Pod", GVR: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Aliases: []string{"pods", "po"}}

// WorkloadKinds are the kinds a target may name, pods first.
var WorkloadKinds = []WorkloadKind{
	PodKind,
	{Name: "deployment", Kind: "Deployment", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Aliases: []string{"deployments", "deploy"}},
	{Name: "statefulset", Kind: "StatefulSet", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, Aliases: []string{"statefulsets", "sts"}},
	{Name: "daemonset", Kind: "DaemonSet", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, Aliases: []string{"daemonsets", "ds"}},
	{Name: "replicaset", Kind: "ReplicaSet", GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, Aliases: []string{"replicasets", "rs"}},
	{Name: "job", Kind: "Job", GVR: schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, Aliases: []string{"jobs"}},
}

// lookupKind finds a kind by any of its names, case-insensitively, with or
// without its group (deployments.apps, jobs.batch), as kubectl accepts them.
func lookupKind(s string) (WorkloadKind, bool) {
	s = strings.ToLower(s)
	for _, k := range WorkloadKinds {
		for _, n := range append([]string{k.Name}, k.Aliases...) {
			if s == n || (k.GVR.Group != "" && s == n+"."+k.GVR.Group) {
				return k, true
			}
		}
	}
	return WorkloadKind{}, false
}

// PodTarget is a parsed target: a pod by name, a workload, or a selector.
type PodTarget struct {
	// Kind is what Name names: PodKind for a pod; zero for a selector.
	Kind WorkloadKind
	// Name is the pod's or the workload's name.
	Name string
	// Selector is a label selector (instead of Kind and Name).
	Selector string
}

// IsPod reports whether the target names a pod directly.
func (t PodTarget) IsPod() bool { return t.Selector == "" && t.Kind.Name == PodKind.Name }

// String is the target as written in a runbook, canonical: web,
// deployment/web, or selector app=web.
func (t PodTarget) String() string {
	switch {
	case t.Selector != "":
		return "selector " + t.Selector
	case t.IsPod():
		return t.Name
	}
	return t.Kind.Name + "/" + t.Name
}

// Unknown reports whether s holds a part known only at run time, which a
// plan writes <like this>: no object name or selector may contain '<'.
func Unknown(s string) bool { return strings.Contains(s, "<") }

// ParsePodTarget parses a pod target: NAME, pod/NAME, or KIND/NAME for a
// kind of WorkloadKinds (deployment, deploy, deployments.apps, sts, ds, rs,
// job...). A name with a part known only at run time (<...>) is not checked.
func ParsePodTarget(s string) (PodTarget, error) {
	if s == "" {
		return PodTarget{}, errors.New("the pod is empty")
	}
	kind, name, found := strings.Cut(s, "/")
	t := PodTarget{Kind: PodKind, Name: s}
	if found && !Unknown(kind) {
		k, ok := lookupKind(kind)
		if !ok {
			return t, fmt.Errorf("%q: unknown kind %q (a pod target is NAME, pod/NAME, or one of %s followed by /NAME)", s, kind, kindList())
		}
		t.Kind, t.Name = k, name
	}
	if Unknown(t.Name) {
		return t, nil
	}
	if t.Name == "" {
		return t, fmt.Errorf("%q: no name after %s/", s, kind)
	}
	if msgs := validation.IsDNS1123Subdomain(t.Name); len(msgs) > 0 {
		return t, fmt.Errorf("%q: %q is not a valid %s name: %s", s, t.Name, t.Kind.Name, strings.Join(msgs, "; "))
	}
	return t, nil
}

// kindList names the workload kinds a target accepts, for messages.
func kindList() string {
	var names []string
	for _, k := range WorkloadKinds[1:] {
		n := k.Name
		if short := k.Aliases[len(k.Aliases)-1]; short != k.Name+"s" {
			n += " (" + short + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// ParseSelector checks a label selector as kubectl -l reads it
// (labels.Parse). An empty selector, which would match every pod, is an error.
func ParseSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("the selector is empty: it would match every pod of the namespace")
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("selector %q: %v", s, err)
	}
	return sel, nil
}

// ErrNoPods is the error of a target that matches no pod.
var ErrNoPods = errors.New("no pods")

// PodChoice is the kubectl command whose rule chooses one pod among many.
type PodChoice int

const (
	// ChooseAttach is the rule of kubectl exec, attach and port-forward
	// (attachablePodForObject): sort.Reverse(podutils.ActivePods), so a
	// scheduled, running, ready, not deleting pod first; among ready pods the
	// one ready longest, then the fewest restarts, then the oldest.
	ChooseAttach PodChoice = iota
	// ChooseLogs is the rule of kubectl logs (logsForObject):
	// podutils.ByLogging, so a scheduled, running, ready pod first; among
	// ready pods the one ready longest, then the most restarts, then the oldest.
	ChooseLogs
)

// String names the kubectl commands that choose a pod this way.
func (c PodChoice) String() string {
	if c == ChooseLogs {
		return "kubectl logs"
	}
	return "kubectl exec"
}

// sortPods sorts pods as kubectl does before it takes the first.
func (c PodChoice) sortPods(pods []*corev1.Pod) {
	if c == ChooseLogs {
		sort.Sort(podutils.ByLogging(pods))
		return
	}
	sort.Sort(sort.Reverse(podutils.ActivePods(pods)))
}

// ChoosePod returns the pod kubectl would choose among pods (nil if none);
// pods is sorted in place.
func ChoosePod(pods []*corev1.Pod, c PodChoice) *corev1.Pod {
	if len(pods) == 0 {
		return nil
	}
	c.sortPods(pods)
	return pods[0]
}

// ResolvedPod is the pod a target resolved to.
type ResolvedPod struct {
	// Name of the pod.
	Name string
	// Pod is the pod as listed; nil for a pod named directly (not read).
	Pod *corev1.Pod
	// From says where the pod came from: deployment/web or selector
	// app=web; "" for a pod named directly.
	From string
	// Selector is the label selector the pods were listed with.
	Selector string
	// Matched is the number of pods the selector matched.
	Matched int
	// Workload is the object read for its selector, nil for a pod or a selector.
	Workload *ObjectRef
}

// Describe says how the pod was chosen: "pod web-1 (from deployment/web)".
func (r *ResolvedPod) Describe() string {
	if r.From == "" {
		return "pod " + r.Name
	}
	return fmt.Sprintf("pod %s (from %s)", r.Name, r.From)
}

// ResolvePod resolves a target in namespace ns: a pod by name is returned
// as is, unread; a workload is read for its selector, and the pods the
// selector matches are listed and one is chosen by c, as kubectl does.
func ResolvePod(ctx context.Context, cs *Clients, ns string, t PodTarget, c PodChoice) (*ResolvedPod, error) {
	if t.IsPod() {
		return &ResolvedPod{Name: t.Name}, nil
	}
	r := &ResolvedPod{From: t.String(), Selector: t.Selector}
	if t.Selector == "" {
		sel, err := workloadSelector(ctx, cs, ns, t)
		if err != nil {
			return nil, err
		}
		r.Selector = sel
		ref := RefOf(t.Kind.GVR, t.Kind.Kind, ns, t.Name)
		r.Workload = &ref
	} else if _, err := ParseSelector(t.Selector); err != nil {
		return nil, err
	}
	list, err := cs.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: r.Selector})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of %s in %s: %w", t, ns, err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	pod := ChoosePod(pods, c)
	if pod == nil {
		if t.Selector != "" {
			return nil, fmt.Errorf("%w in %s match selector %s", ErrNoPods, ns, t.Selector)
		}
		return nil, fmt.Errorf("%s/%s in %s has %w (selector %s)", t.Kind.Name, t.Name, ns, ErrNoPods, r.Selector)
	}
	r.Name, r.Pod, r.Matched = pod.Name, pod, len(pods)
	return r, nil
}

// workloadSelector reads a workload and returns its pod selector, as
// kubectl's SelectorsForObject does.
func workloadSelector(ctx context.Context, cs *Clients, ns string, t PodTarget) (string, error) {
	var sel *metav1.LabelSelector
	var err error
	apps, get := cs.Kube.AppsV1(), metav1.GetOptions{}
	switch t.Kind.Name {
	case "deployment":
		var o *appsv1.Deployment
		if o, err = apps.Deployments(ns).Get(ctx, t.Name, get); err == nil {
			sel = o.Spec.Selector
		}
	case "statefulset":
		var o *appsv1.StatefulSet
		if o, err = apps.StatefulSets(ns).Get(ctx, t.Name, get); err == nil {
			sel = o.Spec.Selector
		}
	case "daemonset":
		var o *appsv1.DaemonSet
		if o, err = apps.DaemonSets(ns).Get(ctx, t.Name, get); err == nil {
			sel = o.Spec.Selector
		}
	case "replicaset":
		var o *appsv1.ReplicaSet
		if o, err = apps.ReplicaSets(ns).Get(ctx, t.Name, get); err == nil {
			sel = o.Spec.Selector
		}
	case "job":
		var o *batchv1.Job
		if o, err = cs.Kube.BatchV1().Jobs(ns).Get(ctx, t.Name, get); err == nil {
			sel = o.Spec.Selector
		}
	default:
		return "", fmt.Errorf("%s: unknown kind %q", t, t.Kind.Name)
	}
	if err != nil {
		return "", fmt.Errorf("reading %s/%s in %s: %w", t.Kind.Name, t.Name, ns, err)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "", fmt.Errorf("%s/%s in %s: invalid label selector: %v", t.Kind.Name, t.Name, ns, err)
	}
	if sel == nil || s.Empty() {
		return "", fmt.Errorf("%s/%s in %s has no pod selector", t.Kind.Name, t.Name, ns)
	}
	return s.String(), nil
}

// PlaceholderPod stands in a plan for a pod whose spec is read only at run
// time: its namespace and name, the containers a step names (their images
// marked as read at run time, so a builder can change them), and one
// container standing for the others.
func PlaceholderPod(ns, name string, containers ...string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	seen := map[string]bool{}
	for _, c := range containers {
		if c == "" || c == "*" || seen[c] {
			continue
		}
		seen[c] = true
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "<image of " + c + " in " + name + ", read at run time>"})
	}
	others := "<containers of " + name + ", read at run time>"
	if len(pod.Spec.Containers) > 0 {
		others = "<other containers of " + name + ", if any, read at run time>"
	}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: others})
	return pod
}
