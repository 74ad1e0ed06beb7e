package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	sigsjson "sigs.k8s.io/json"
)

// DebugContainer holds what the three debug modes share: the debug container
// the user asks for and the profile that shapes it.
type DebugContainer struct {
	// Name is the debug container's name (kubectl --container). Empty means a
	// generated "debugger-xxxxx" for ephemeral and copy, "debugger" for node.
	Name string
	// Image is the debug container's image (kubectl --image).
	Image string
	// Command replaces the image's entrypoint (what follows kubectl's "--").
	Command []string
	// Args are the arguments (kubectl --arguments-only puts "--" here).
	Args []string
	// Env is the debug container's environment (kubectl --env).
	Env []corev1.EnvVar
	// ImagePullPolicy is Always, IfNotPresent, Never, or empty for the server's default.
	ImagePullPolicy corev1.PullPolicy
	// Profile is the kubectl debug profile; empty means general.
	Profile Profile
	// Custom is a partial container spec merged after the profile with a
	// strategic merge patch, like kubectl --custom. Unknown fields and wrong
	// types are errors; name, command, image, lifecycle and volumeDevices may
	// not be set (kubectl forbids them too).
	Custom map[string]any
}

// EphemeralOptions describes an ephemeral debug container
// (kubectl debug POD --image=IMAGE [--target=CONTAINER]).
type EphemeralOptions struct {
	DebugContainer
	// Target is the container whose process namespace the debug container joins: one of
	// the pod's containers or sidecars (restartable init containers).
	Target string
}

// EphemeralContainer returns the ephemeral container a debug step adds to pod,
// with the profile and Custom applied. pod may be nil (plan without a cluster):
// then Target and the name are not checked against it; when pod is given, a
// Target that is not one of its containers and a Name already in use are
// errors. All problems found are returned together.
func EphemeralContainer(pod *corev1.Pod, o EphemeralOptions) (*corev1.EphemeralContainer, error) {
	profile, custom, errs := o.check(true)
	var existing []string
	if pod != nil {
		existing = listAllContainerNames(&pod.Spec)
		if targets := targetNames(&pod.Spec); o.Target != "" && !slices.Contains(targets, o.Target) {
			errs = append(errs, fmt.Errorf("target container %q not found in pod %s (containers: %s)",
				o.Target, podDisplayName(pod), strings.Join(targets, ", ")))
		}
		if o.Name != "" && slices.Contains(existing, o.Name) {
			errs = append(errs, fmt.Errorf("debug container name %q is already used in pod %s", o.Name, podDisplayName(pod)))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	name := o.Name
	if name == "" {
		seed := o.Image
		if pod != nil {
			seed = podDisplayName(pod) + "/" + o.Image
		}
		name = DebugContainerName(existing, seed)
	}
	scratch := &corev1.Pod{Spec: corev1.PodSpec{EphemeralContainers: []corev1.EphemeralContainer{{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon(o.container(name)),
		TargetContainerName:      o.Target,
	}}}}
	if err := applyProfile(scratch, name, profile, ModeEphemeral, keepFlags{}); err != nil {
		return nil, err
	}
	ec := &scratch.Spec.EphemeralContainers[0]
	if custom != nil {
		if err := mergeCustom(ec, name, custom); err != nil {
			return nil, err
		}
		if err := ephemeralCustomErr(ec); err != nil {
			return nil, err
		}
	}
	return ec, nil
}

// ephemeralCustomErr says which fields that custom set an ephemeral
// container may not have.
func ephemeralCustomErr(ec *corev1.EphemeralContainer) error {
	if bad := ephemeralForbidden(ec); len(bad) > 0 {
		return fmt.Errorf("custom: an ephemeral container cannot set %s", strings.Join(bad, ", "))
	}
	return nil
}

// CheckCustom decodes a custom partial container as the builders do and
// checks it for mode: the same decoder and rules for validate, plan and
// run. It returns the decoded container (nil when custom is empty).
func CheckCustom(custom map[string]any, mode Mode) (*corev1.Container, error) {
	c, err := decodeCustom(custom)
	if err != nil || c == nil || mode != ModeEphemeral {
		return c, err
	}
	ec := &corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(*c.DeepCopy())}
	return c, ephemeralCustomErr(ec)
}

// EphemeralPatch returns the strategic-merge-patch body for the
// pods/ephemeralcontainers subresource that adds ec:
// {"spec":{"ephemeralContainers":[ec]}}. ephemeralContainers merges by name, so
// the patch can be sent without reading the pod first. Without the
// $setElementOrder directive kubectl computes from the pod it read, the merged
// list has the new container first; the API server accepts the reordering
// (it compares existing ephemeral containers by name).
//
// The patch is the whole change: in ephemeral mode no profile changes the pod
// itself (kubectl v1.33 to v1.37 alike: hack/e2e/kubectl_line_e2e_test.go
// also compares the target pod's labels and annotations after kubectl's patch).
func EphemeralPatch(ec *corev1.EphemeralContainer) ([]byte, error) {
	if ec == nil {
		return nil, errors.New("ephemeral patch: no ephemeral container")
	}
	if ec.Name == "" {
		return nil, errors.New("ephemeral patch: the ephemeral container has no name")
	}
	type spec struct {
		EphemeralContainers []corev1.EphemeralContainer `json:"ephemeralContainers"`
	}
	return json.Marshal(struct {
		Spec spec `json:"spec"`
	}{spec{[]corev1.EphemeralContainer{*ec}}})
}

// CopyOptions describes a copy of a pod (kubectl debug POD --copy-to=TO).
type CopyOptions struct {
	// DebugContainer is the container to add or change. Name names the debug
	// container; if it names an existing container of the pod, that container
	// is changed instead (Image, Command/Args, Env, ImagePullPolicy when given;
	// Stdin and TTY always off), as kubectl does: with Image empty this only
	// changes its command, e.g. to sleep in a pod in CrashLoopBackOff. Image
	// empty and no Name means no debug container (a SetImage-only copy).
	DebugContainer
	// To is the name of the copy (kubectl --copy-to).
	To string
	// ShareProcesses sets shareProcessNamespace: true (kubectl
	// --share-processes). False leaves the choice to the profile, which shares
	// processes unless the pod says otherwise (all profiles but legacy); it
	// cannot force sharing off, which kubectl --share-processes=false can.
	ShareProcesses bool
	// SameNode keeps spec.nodeName, scheduling the copy on the original's node (kubectl --same-node).
	SameNode bool
	// SetImage maps container names to new images; "*" means every container
	// not named (kubectl --set-image). Naming a container the pod does not have
	// is an error (kubectl ignores it).
	SetImage map[string]string
	// KeepLabels keeps the pod's labels in the copy (kubectl --keep-labels).
	// Without it the copy has no labels, so Services and controllers leave it
	// alone. The legacy profile removes labels regardless.
	KeepLabels bool
	// KeepAnnotations keeps the pod's annotations (kubectl --keep-annotations).
	KeepAnnotations bool
	// KeepLiveness keeps the containers' liveness probes (kubectl --keep-liveness).
	KeepLiveness bool
	// KeepReadiness keeps the containers' readiness probes (kubectl --keep-readiness).
	KeepReadiness bool
	// KeepStartup keeps the containers' startup probes (kubectl --keep-startup).
	KeepStartup bool
	// KeepInitContainers keeps the pod's init containers (kubectl
	// --keep-init-containers). kubectl defaults it to true; the zero value here
	// is false, so callers that want kubectl's default must set it.
	KeepInitContainers bool
}

// PodCopy returns the copy of pod that a copy step creates; pod is not changed.
// The copy has only name, namespace, labels and annotations as metadata (no
// uid, resourceVersion, ownerReferences, creationTimestamp, status), no
// ephemeral containers, no nodeName unless SameNode; SetImage, the debug
// container, then the profile (labels, annotations, probes and init
// containers removed unless kept; process namespace shared) and Custom are
// applied. Unlike kubectl, a SetImage-only copy also gets the profile's
// pod-level changes: a copy that kept its labels would be adopted by the
// original's ReplicaSet.
func PodCopy(pod *corev1.Pod, o CopyOptions) (*corev1.Pod, error) {
	if pod == nil {
		return nil, errors.New("pod copy: no pod to copy")
	}
	profile, custom, errs := o.check(false)
	if o.To == "" {
		errs = append(errs, errors.New("the copy needs a name (to)"))
	} else if Unknown(o.To) {
		// A plan's placeholder: the name is checked when the run knows it.
	} else if msgs := validation.IsDNS1123Subdomain(o.To); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("copy name %q: %s", o.To, strings.Join(msgs, "; ")))
	}
	hasCommand := len(o.Command) > 0 || len(o.Args) > 0
	if o.Image == "" && len(o.SetImage) == 0 && !hasCommand {
		errs = append(errs, errors.New("a copy needs an image for a debug container, setImage, or a command for an existing container"))
	}
	if hasCommand && o.Name == "" && o.Image == "" {
		errs = append(errs, errors.New("a command needs an existing container (name) or an image for a new debug container"))
	}
	names := listContainerNames(pod.Spec.Containers)
	for _, k := range slices.Sorted(maps.Keys(o.SetImage)) {
		if k != "*" && !slices.Contains(names, k) {
			errs = append(errs, fmt.Errorf("setImage: container %q not found in pod %s (containers: %s)", k, podDisplayName(pod), strings.Join(names, ", ")))
		}
		if img := o.SetImage[k]; img == "" {
			errs = append(errs, fmt.Errorf("setImage: no image given for container %q", k))
		} else if err := CheckImage(img); err != nil {
			errs = append(errs, fmt.Errorf("setImage: container %q: %v", k, err))
		}
	}
	if o.Name != "" && o.Image == "" && findPodContainer(&pod.Spec, o.Name) == nil {
		errs = append(errs, fmt.Errorf("container %q not found in pod %s (containers: %s) and no image to create it with",
			o.Name, podDisplayName(pod), strings.Join(names, ", ")))
	}
	if custom != nil && o.Name == "" && o.Image == "" {
		errs = append(errs, errors.New("custom needs a container: give an image for a debug container or the name of an existing one"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	cp := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        o.To,
			Namespace:   pod.Namespace,
			Labels:      maps.Clone(pod.Labels),
			Annotations: maps.Clone(pod.Annotations),
		},
		Spec: *pod.Spec.DeepCopy(),
	}
	cp.Spec.EphemeralContainers = nil // a new pod may not have any
	if o.ShareProcesses {
		cp.Spec.ShareProcessNamespace = ptr.To(true)
	}
	if !o.SameNode {
		cp.Spec.NodeName = ""
	}
	for i := range cp.Spec.Containers {
		img := o.SetImage["*"]
		if named, ok := o.SetImage[cp.Spec.Containers[i].Name]; ok {
			img = named
		}
		if img != "" {
			cp.Spec.Containers[i].Image = img
		}
	}

	name := o.Name
	c := findPodContainer(&cp.Spec, name)
	if c == nil && o.Image != "" {
		if name == "" {
			name = DebugContainerName(listAllContainerNames(&cp.Spec), podDisplayName(pod)+"/"+o.To)
		}
		cp.Spec.Containers = append(cp.Spec.Containers, corev1.Container{
			Name:                     name,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		})
		c = &cp.Spec.Containers[len(cp.Spec.Containers)-1]
	}
	if c != nil {
		if len(o.Command) > 0 {
			c.Command = slices.Clone(o.Command)
			c.Args = slices.Clone(o.Args)
		} else if len(o.Args) > 0 {
			c.Args = slices.Clone(o.Args)
		}
		if len(o.Env) > 0 {
			c.Env = slices.Clone(o.Env)
		}
		if o.Image != "" {
			c.Image = o.Image
		}
		if o.ImagePullPolicy != "" {
			c.ImagePullPolicy = o.ImagePullPolicy
		}
		// kubectl sets these from -i and -t; a runbook runs unattended.
		c.Stdin, c.TTY = false, false
	}

	keep := keepFlags{
		labels:         o.KeepLabels,
		annotations:    o.KeepAnnotations,
		liveness:       o.KeepLiveness,
		readiness:      o.KeepReadiness,
		startup:        o.KeepStartup,
		initContainers: o.KeepInitContainers,
	}
	if err := applyProfile(cp, name, profile, ModeCopy, keep); err != nil {
		return nil, err
	}
	if custom != nil {
		c := findPodContainer(&cp.Spec, name)
		if c == nil {
			return nil, fmt.Errorf("custom: container %q is not in the copy (an init container removed because keepInitContainers is false?)", name)
		}
		if err := mergeCustom(c, name, custom); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

// NodeOptions describes a pod that debugs a node (kubectl debug node/NODE).
type NodeOptions struct {
	DebugContainer
	// NodeName is the node the pod runs on (spec.nodeName; no scheduling).
	NodeName string
	// PodName is the pod's name; empty means node-debugger-NODE-SUFFIX.
	PodName string
	// Suffix is the suffix of a generated PodName; empty means ShortSuffix(NodeName).
	// Callers pass a deterministic one (e.g. ShortSuffix of the run and step ids)
	// where kubectl draws a random one.
	Suffix string
	// Namespace is the pod's namespace.
	Namespace string
}

// NodePod returns the pod a node step creates on NodeName: one container (Name,
// default "debugger"), restartPolicy Never, tolerating every taint, and what
// the profile adds (for general: host PID, network and IPC namespaces and the
// node's "/" as hostPath volume host-root mounted at /host).
func NodePod(o NodeOptions) (*corev1.Pod, error) {
	profile, custom, errs := o.check(true)
	if o.NodeName == "" {
		errs = append(errs, errors.New("the node name is required"))
	}
	if o.PodName != "" {
		if msgs := validation.IsDNS1123Subdomain(o.PodName); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("pod name %q: %s", o.PodName, strings.Join(msgs, "; ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	cn := o.Name
	if cn == "" {
		cn = "debugger"
	}
	pn := o.PodName
	if pn == "" {
		pn = nodeDebugPodName(o.NodeName, o.Suffix)
	}
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: pn, Namespace: o.Namespace},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{o.container(cn)},
			NodeName:      o.NodeName,
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
	if err := applyProfile(p, cn, profile, ModeNode, keepFlags{}); err != nil {
		return nil, err
	}
	if custom != nil {
		if err := mergeCustom(&p.Spec.Containers[0], cn, custom); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// nodeDebugPodName returns node-debugger-NODE-SUFFIX, shortening NODE if the
// whole would exceed the 253 characters of an object name.
func nodeDebugPodName(node, suffix string) string {
	const prefix = "node-debugger-"
	if suffix == "" {
		suffix = ShortSuffix(node)
	}
	room := max(validation.DNS1123SubdomainMaxLength-len(prefix)-1-len(suffix), 0)
	if len(node) > room {
		node = strings.TrimRight(node[:room], "-.")
	}
	return prefix + node + "-" + suffix
}

// check validates the shared fields and returns the parsed profile and Custom
// (nil when empty), with every problem found.
func (d DebugContainer) check(needImage bool) (Profile, *corev1.Container, []error) {
	var errs []error
	profile, err := ParseProfile(string(d.Profile))
	if err != nil {
		errs = append(errs, err)
	}
	if needImage && d.Image == "" {
		errs = append(errs, errors.New("the debug container needs an image"))
	}
	if d.Image != "" && !Unknown(d.Image) {
		if err := CheckImage(d.Image); err != nil {
			errs = append(errs, err)
		}
	}
	if d.Name != "" && !Unknown(d.Name) {
		if msgs := validation.IsDNS1123Label(d.Name); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("container name %q: %s", d.Name, strings.Join(msgs, "; ")))
		}
	}
	switch d.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, fmt.Errorf("invalid imagePullPolicy %q (valid: Always, IfNotPresent, Never)", d.ImagePullPolicy))
	}
	custom, err := decodeCustom(d.Custom)
	if err != nil {
		errs = append(errs, err)
	}
	return profile, custom, errs
}

// container returns the debug container before any profile.
func (d DebugContainer) container(name string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    d.Image,
		Command:                  slices.Clone(d.Command),
		Args:                     slices.Clone(d.Args),
		Env:                      slices.Clone(d.Env),
		ImagePullPolicy:          d.ImagePullPolicy,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
}

// customForbidden are the container fields that kubectl's --custom may not set.
var customForbidden = []string{"name", "command", "image", "lifecycle", "volumeDevices"}

// decodeCustom strictly decodes a partial container spec: unknown fields,
// duplicate fields and wrong types are errors, as are the fields kubectl
// forbids in --custom. An empty map means no Custom.
func decodeCustom(custom map[string]any) (*corev1.Container, error) {
	if len(custom) == 0 {
		return nil, nil
	}
	var bad []string
	for _, f := range customForbidden {
		if _, ok := custom[f]; ok {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("custom: %s cannot be set in custom (kubectl forbids %s there; use the step's own fields)",
			strings.Join(bad, ", "), strings.Join(customForbidden, ", "))
	}
	data, err := json.Marshal(custom)
	if err != nil {
		return nil, fmt.Errorf("custom: %v", err)
	}
	var c corev1.Container
	strict, err := sigsjson.UnmarshalStrict(data, &c, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, fmt.Errorf("custom: %v", err)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		return nil, fmt.Errorf("custom: %s", strings.Join(msgs, "; "))
	}
	return &c, nil
}

// mergeCustom merges custom onto the container c with a strategic merge patch
// under corev1.Container's patch strategies (env merges by name, and so on),
// as kubectl --custom does.
func mergeCustom[T corev1.Container | corev1.EphemeralContainer](c *T, name string, custom *corev1.Container) error {
	patch := custom.DeepCopy()
	patch.Name = name
	patchJS, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("custom: %v", err)
	}
	origJS, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("custom: %v", err)
	}
	merged, err := strategicpatch.StrategicMergePatch(origJS, patchJS, corev1.Container{})
	if err != nil {
		return fmt.Errorf("custom: merging into container %q: %v", name, err)
	}
	var out T
	if err := json.Unmarshal(merged, &out); err != nil {
		return fmt.Errorf("custom: merging into container %q: %v", name, err)
	}
	*c = out
	return nil
}

// ephemeralForbidden lists the fields set on ec that the API server refuses in
// an ephemeral container.
func ephemeralForbidden(ec *corev1.EphemeralContainer) []string {
	var bad []string
	add := func(set bool, field string) {
		if set {
			bad = append(bad, field)
		}
	}
	add(len(ec.Ports) > 0, "ports")
	add(len(ec.Resources.Limits) > 0 || len(ec.Resources.Requests) > 0 || len(ec.Resources.Claims) > 0, "resources")
	add(len(ec.ResizePolicy) > 0, "resizePolicy")
	add(ec.RestartPolicy != nil, "restartPolicy")
	add(ec.LivenessProbe != nil, "livenessProbe")
	add(ec.ReadinessProbe != nil, "readinessProbe")
	add(ec.StartupProbe != nil, "startupProbe")
	add(ec.Lifecycle != nil, "lifecycle")
	for _, m := range ec.VolumeMounts {
		add(m.SubPath != "" || m.SubPathExpr != "", "volumeMounts["+m.Name+"].subPath")
	}
	return bad
}

// findPodContainer returns the container or init container of spec called name,
// or nil.
func findPodContainer(spec *corev1.PodSpec, name string) *corev1.Container {
	if name == "" {
		return nil
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == name {
			return &spec.InitContainers[i]
		}
	}
	return nil
}

// listContainerNames returns the names of cs in order.
func listContainerNames(cs []corev1.Container) []string {
	names := make([]string, len(cs))
	for i := range cs {
		names[i] = cs[i].Name
	}
	return names
}

// targetNames returns the names of the containers an ephemeral container may target: the
// pod's containers, then its sidecars (restartable init containers). The API server also
// accepts a plain init container, but it has ended before the pod runs.
func targetNames(spec *corev1.PodSpec) []string {
	names := listContainerNames(spec.Containers)
	for _, c := range spec.InitContainers {
		if isSidecar(c) {
			names = append(names, c.Name)
		}
	}
	return names
}

// listAllContainerNames returns the names of every container, init container and
// ephemeral container of spec: the names a new container may not take.
func listAllContainerNames(spec *corev1.PodSpec) []string {
	names := append(listContainerNames(spec.Containers), listContainerNames(spec.InitContainers)...)
	for i := range spec.EphemeralContainers {
		names = append(names, spec.EphemeralContainers[i].Name)
	}
	return names
}

// podDisplayName returns "namespace/name", or "name" without a namespace.
func podDisplayName(pod *corev1.Pod) string {
	if pod.Namespace == "" {
		return pod.Name
	}
	return pod.Namespace + "/" + pod.Name
}
