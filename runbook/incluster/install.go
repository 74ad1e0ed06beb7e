package incluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

// DefaultImage is the tool's image as `make image` builds it and imports
// it into the local cluster's nodes (no registry: pods use it with
// imagePullPolicy IfNotPresent).
const DefaultImage = "runbook.local/runbook:dev"

// ImageUser is the non-root user and group id the image and the Job's pod
// run as.
const ImageUser = 65532

// Labels of everything this package creates. See the package comment.
const (
	// LabelPartOf is app.kubernetes.io/part-of=runbook, as on what
	// `runbook rbac` prints.
	LabelPartOf = "app.kubernetes.io/part-of"
	// LabelManagedBy is the standard managed-by label; its value here is
	// ManagedByJob.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByJob is LabelManagedBy's value on installs, their Jobs and
	// results. It differs from kube.ManagedByValue on purpose: `runbook
	// cleanup` deletes objects labelled with that one.
	ManagedByJob = "runbook-job"
	// LabelRunbook is the runbook's metadata.name as a label value
	// (RunbookLabelValue).
	LabelRunbook = "runbook/runbook"
	// LabelInstall is the install's name (Install.Name).
	LabelInstall = "runbook/install"
	// LabelInstallNamespace is the install's namespace: Roles in other
	// namespaces and ClusterRoles carry it, so that two installs of the
	// same name in two namespaces stay apart.
	LabelInstallNamespace = "runbook/install-namespace"
	// LabelComponent says what an object is: "install" (ConfigMap,
	// Secret, ServiceAccount, RBAC), "run" (Job, CronJob, their pods) or
	// "result".
	LabelComponent = "runbook/component"
	// LabelRun is the run id on a Job built by Install.Job, its pod, and a
	// stored result. It is not kube.LabelRunID (the label cleanup uses).
	LabelRun = "runbook/run"
	// LabelVerdict is a stored result's verdict.
	LabelVerdict = "runbook/verdict"
	// LabelJob is the name of the Job that stored a result.
	LabelJob = "runbook/job"
)

// Values of LabelComponent.
const (
	ComponentInstall = "install"
	ComponentRun     = "run"
	ComponentResult  = "result"
)

// Paths inside the Job's pod.
const (
	// RunbookPath is the runbook file, from the ConfigMap.
	RunbookPath = "/etc/runbook/runbook.yaml"
	// VarsPath is the non-secret --vars, from the ConfigMap (a JSON
	// object of strings, read by `runbook run --vars-file`).
	VarsPath = "/etc/runbook/vars.json"
	// SecretVarsPath is the secret vars, from the Secret.
	SecretVarsPath = "/etc/runbook-secret/vars.json"
	// ArtifactsPath is the artifact directory (an emptyDir at /tmp).
	ArtifactsPath = "/tmp/artifacts"
)

// Keys of the install's ConfigMap and Secret.
const (
	KeyRunbook = "runbook.yaml"
	KeyVars    = "vars.json"
)

// DefaultKeepResults is how many results per install are kept by default.
const DefaultKeepResults = 10

// MaxVarBytes bounds one value of RunOptions.Vars.
const MaxVarBytes = 1024

// maxNameLen bounds an install's name: a Job's name is the install's, "-"
// and a run id (a label value: 63 at most), and a CronJob's name may not
// exceed 52.
const maxNameLen = 40

// Options configure New.
type Options struct {
	// Source is the runbook file's bytes, stored in the ConfigMap (key
	// runbook.yaml) as they are but for the default of each var named in
	// spec.secretVars: that is replaced in place by a placeholder of its
	// kind (PlaceholderString, 0, false, [] or {}, padded with spaces,
	// its line breaks kept, so that every line and column of the file
	// stays where it was) and its value goes to the Secret. Required.
	Source []byte
	// Vars are the --var values given for every run (NAME to VALUE, as
	// typed). Those named in spec.secretVars go to the Secret, the others
	// to the ConfigMap. The runbook passed to New must have been loaded
	// with them (runbook.LoadOptions.Vars), which checks them.
	Vars map[string]string
	// Namespace is -n: where the install's objects live and its Jobs run,
	// and the namespace runs work in (passed as -n). Empty: the runbook's
	// spec.namespace, else "default", and runs get no -n (the runbook's
	// own namespace, or a temporary one, applies).
	Namespace string
	// TargetNamespaces are further namespaces a run may be given
	// (RunOptions.Namespace), e.g. the namespace of an alert's pod: the
	// ServiceAccount gets the runbook's rules in each of them too. "*"
	// grants the rules in every namespace (ClusterRoles).
	TargetNamespaces []string
	// Name of the install, its ServiceAccount, ConfigMap, CronJob and the
	// prefix of its Jobs' names. Default: runbook-NAME (NAME from
	// metadata.name, shortened to fit).
	Name string
	// Image is the tool's image (default DefaultImage).
	Image string
	// PullPolicy of the image (default IfNotPresent).
	PullPolicy corev1.PullPolicy
	// KeepResults is how many stored results of this install are kept
	// (default DefaultKeepResults); older ones are deleted by each run.
	KeepResults int
	// AllowPrivileged passes --allow-privileged to every run.
	AllowPrivileged bool
}

// Install is everything one runbook needs to run in the cluster. Build it
// with New; its fields are the objects, ready to apply (Objects lists them
// in order).
type Install struct {
	// Name of the install (see Options.Name).
	Name string
	// Namespace of the install's objects and Jobs.
	Namespace string
	// Runbook is the runbook's metadata.name.
	Runbook string
	// RunNamespace is the -n every run gets unless RunOptions says
	// otherwise; empty for none.
	RunNamespace string
	// Timeout is the run's timeout (spec.timeout, else the default).
	Timeout time.Duration
	// Image and PullPolicy of the Job's container.
	Image      string
	PullPolicy corev1.PullPolicy
	// KeepResults is passed to runs as --keep-results.
	KeepResults int

	// ConfigMap holds the runbook (runbook.yaml) without the defaults of
	// its secret vars, and the non-secret vars (vars.json).
	ConfigMap *corev1.ConfigMap
	// Secret holds the values of the secret vars (vars.json): those given
	// (Options.Vars) and the defaults written in the file; nil when there
	// are none (no secret var, or only empty defaults).
	Secret *corev1.Secret
	// SourceRewritten is true when the defaults of the secret vars could
	// not be replaced in place (a plain scalar written over several
	// lines, say): the ConfigMap's runbook.yaml is then the file written
	// again from its YAML tree (comments kept, not the layout), and the
	// line:col of a run's messages refer to it, not to the file.
	SourceRewritten bool
	// Warnings are the steps that cannot work in the Job's pod (see
	// podWarnings), for the person installing it.
	Warnings []string
	// ServiceAccount the Jobs run as.
	ServiceAccount *corev1.ServiceAccount
	// RBAC are the Roles, ClusterRoles and their bindings: the runbook's
	// rules (RBACObjects, as `runbook rbac` prints them) and a Role to
	// store results (ResultRules) in Namespace.
	RBAC []*unstructured.Unstructured
	// Permissions are the runbook's rules by namespace, as derived from
	// its plan(s).
	Permissions []engine.Permission

	allowPrivileged bool
	anyNamespace    bool
	targets         map[string]bool
	declared        map[string]bool
	secret          map[string]bool
}

// New builds the install of a runbook loaded with steps.Registry and
// o.Vars. It sends nothing: the rules come from the runbook's plan, as
// `runbook rbac` derives them. Errors are the plan's (with the file's
// name) or those of o.
func New(rb *runbook.Runbook, o Options) (*Install, error) {
	if rb == nil {
		return nil, errors.New("no runbook")
	}
	if len(o.Source) == 0 {
		return nil, fmt.Errorf("%s: the runbook's source is empty", rb.File)
	}
	in := &Install{Runbook: rb.Metadata.Name, RunNamespace: o.Namespace, Image: o.Image, PullPolicy: o.PullPolicy,
		KeepResults: o.KeepResults, allowPrivileged: o.AllowPrivileged, targets: map[string]bool{},
		declared: map[string]bool{}, secret: map[string]bool{}}
	if in.Image == "" {
		in.Image = DefaultImage
	}
	if rb.Spec.Context != "" {
		return nil, fmt.Errorf("%s: spec.context %q: a run in the cluster has no kubeconfig context to match, so every Job would refuse to run: remove spec.context to install it", rb.File, rb.Spec.Context)
	}
	in.Warnings = podWarnings(rb)
	if in.PullPolicy == "" {
		in.PullPolicy = corev1.PullIfNotPresent
	}
	if in.KeepResults <= 0 {
		in.KeepResults = DefaultKeepResults
	}
	for k := range rb.Spec.Vars {
		in.declared[k] = true
	}
	for _, k := range rb.Spec.SecretVars {
		in.secret[k] = true
	}
	in.Name = o.Name
	if in.Name == "" {
		in.Name = "runbook-" + DNSName(rb.Metadata.Name, maxNameLen-len("runbook-"))
	}
	if errs := validation.IsDNS1123Label(in.Name); len(errs) > 0 || len(in.Name) > maxNameLen {
		return nil, fmt.Errorf("install name %q: must be at most %d lowercase letters, digits and '-'", in.Name, maxNameLen)
	}
	in.Namespace = o.Namespace
	if in.Namespace == "" {
		in.Namespace = rb.Spec.Namespace
	}
	if in.Namespace == "" {
		in.Namespace = "default"
	}
	if errs := validation.IsDNS1123Label(in.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", in.Namespace, strings.Join(errs, "; "))
	}
	timeout := rb.Spec.Timeout.Duration
	if timeout == 0 {
		timeout = engine.DefaultTimeout
	}
	in.Timeout = timeout

	// The rules: the plan for the run's own namespace (in the pod, the
	// context's namespace is the pod's), then one per target namespace.
	plans := []engine.PlanOptions{{Namespace: o.Namespace, ContextNamespace: in.Namespace}}
	for _, t := range o.TargetNamespaces {
		switch {
		case t == "*":
			in.anyNamespace = true
			// A namespace known only at run time: the plan's rules for it
			// are cluster-wide.
			plans = append(plans, engine.PlanOptions{Namespace: "<namespace of the run>"})
		case len(validation.IsDNS1123Label(t)) > 0:
			return nil, fmt.Errorf("target namespace %q: not a valid namespace name", t)
		default:
			in.targets[t] = true
			plans = append(plans, engine.PlanOptions{Namespace: t})
		}
	}
	var perms []engine.Permission
	for _, po := range plans {
		p, err := engine.MakePlan(rb, po)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rb.File, err)
		}
		if err := checkSecretNames(rb, p); err != nil {
			return nil, err
		}
		perms = append(perms, p.Permissions...)
	}
	in.Permissions = mergePermissions(perms)

	labels := in.labels(ComponentInstall)
	plain := map[string]string{}
	for k, v := range o.Vars {
		if !in.declared[k] {
			return nil, fmt.Errorf("--var %s: the runbook declares no such variable in spec.vars", k)
		}
		if !in.secret[k] {
			plain[k] = v
		}
	}
	// The secret vars' values, defaults of the file included, go to the
	// Secret only; the ConfigMap gets the file without the defaults.
	split, err := splitSecrets(rb, o.Source, o.Vars, o.AllowPrivileged)
	if err != nil {
		return nil, err
	}
	secret := split.values
	in.SourceRewritten = !split.inPlace
	varsJSON, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	in.ConfigMap = &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: labels},
		Data:       map[string]string{KeyRunbook: string(split.source), KeyVars: string(varsJSON)},
	}
	if len(secret) > 0 {
		b, err := json.Marshal(secret)
		if err != nil {
			return nil, err
		}
		in.Secret = &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: in.Name + "-vars", Namespace: in.Namespace, Labels: labels},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{KeyVars: b},
		}
	}
	in.ServiceAccount = &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: labels},
	}
	rbacLabels := in.labels(ComponentInstall)
	rbacLabels[LabelInstallNamespace] = in.Namespace
	for _, u := range RBACObjects(in.Name, in.Namespace, in.Permissions, rbacLabels) {
		if u.GetKind() == "ServiceAccount" {
			continue
		}
		in.RBAC = append(in.RBAC, u)
	}
	in.RBAC = append(in.RBAC, RBACObjects(in.Name+"-results", in.Namespace,
		[]engine.Permission{{Namespace: in.Namespace, Rules: ResultRules()}}, rbacLabels)[1:]...)
	// The results Role is bound to the install's account, not to one
	// named after it.
	for _, u := range in.RBAC[len(in.RBAC)-2:] {
		if u.GetKind() == "RoleBinding" {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"kind": "ServiceAccount", "name": in.Name, "namespace": in.Namespace}}, "subjects")
		}
	}
	return in, nil
}

// ResultRules are what a run needs to store its result and delete older
// ones (StoreResult): ConfigMaps in the install's namespace.
func ResultRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "delete", "list"}}}
}

// labels are the labels of the install's objects of one component.
func (in *Install) labels(component string) map[string]string {
	return map[string]string{
		LabelPartOf: "runbook", LabelManagedBy: ManagedByJob, LabelComponent: component,
		LabelRunbook: RunbookLabelValue(in.Runbook), LabelInstall: in.Name,
	}
}

// Selector selects everything an install named installName labelled (its objects, Jobs,
// pods and results; across namespaces, its Roles and ClusterRoles).
func Selector(installName string) string {
	return LabelManagedBy + "=" + ManagedByJob + "," + LabelInstall + "=" + installName
}

// Objects are the install's objects in the order to apply them:
// ServiceAccount, RBAC, Secret, ConfigMap.
func (in *Install) Objects() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, o := range []runtime.Object{in.ServiceAccount} {
		u, err := ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	out = append(out, in.RBAC...)
	var rest []runtime.Object
	if in.Secret != nil {
		rest = append(rest, in.Secret)
	}
	rest = append(rest, in.ConfigMap)
	for _, o := range rest {
		u, err := ToUnstructured(o)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// ToUnstructured converts a typed object (with its TypeMeta set) to the
// form Apply takes and YAML prints: no creationTimestamp, no status.
func ToUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "spec", "jobTemplate", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "spec", "jobTemplate", "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "status")
	return &unstructured.Unstructured{Object: m}, nil
}

// RBACObjects are what a ServiceAccount needs to run a plan: the account,
// a Role and RoleBinding per namespace of perms, and a ClusterRole and
// ClusterRoleBinding for what applies cluster-wide (named NAME-NAMESPACE,
// since they are not namespaced). `runbook rbac` prints exactly these.
func RBACObjects(name, saNamespace string, perms []engine.Permission, labels map[string]string) []*unstructured.Unstructured {
	lbl := func() map[string]any {
		m := map[string]any{}
		for k, v := range labels {
			m[k] = v
		}
		return m
	}
	subject := []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": saNamespace}}
	docs := []*unstructured.Unstructured{{Object: map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": name, "namespace": saNamespace, "labels": lbl()}}}}
	for _, perm := range perms {
		meta := func() map[string]any {
			m := map[string]any{"name": name, "labels": lbl()}
			if perm.Namespace == "" {
				m["name"] = name + "-" + saNamespace
			} else {
				m["namespace"] = perm.Namespace
			}
			return m
		}
		kind, bindingKind := "Role", "RoleBinding"
		if perm.Namespace == "" {
			kind, bindingKind = "ClusterRole", "ClusterRoleBinding"
		}
		roleMeta := meta()
		docs = append(docs,
			&unstructured.Unstructured{Object: map[string]any{"apiVersion": rbacv1.SchemeGroupVersion.String(), "kind": kind, "metadata": roleMeta, "rules": rulesOf(perm.Rules)}},
			&unstructured.Unstructured{Object: map[string]any{"apiVersion": rbacv1.SchemeGroupVersion.String(), "kind": bindingKind, "metadata": meta(),
				"roleRef":  map[string]any{"apiGroup": rbacv1.GroupName, "kind": kind, "name": roleMeta["name"]},
				"subjects": subject}})
	}
	return docs
}

func rulesOf(rules []rbacv1.PolicyRule) []any {
	strs := func(s []string) []any {
		out := make([]any, len(s))
		for i, v := range s {
			out[i] = v
		}
		return out
	}
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		rule := map[string]any{"apiGroups": strs(r.APIGroups), "resources": strs(r.Resources), "verbs": strs(r.Verbs)}
		if len(r.ResourceNames) > 0 {
			rule["resourceNames"] = strs(r.ResourceNames)
		}
		out = append(out, rule)
	}
	return out
}

// mergePermissions joins permissions of several plans: one entry per
// namespace, each rule once, namespaces sorted ("" first).
func mergePermissions(perms []engine.Permission) []engine.Permission {
	byNS := map[string][]rbacv1.PolicyRule{}
	for _, p := range perms {
		for _, r := range p.Rules {
			if !slices.ContainsFunc(byNS[p.Namespace], func(o rbacv1.PolicyRule) bool { return reflect.DeepEqual(o, r) }) {
				byNS[p.Namespace] = append(byNS[p.Namespace], r)
			}
		}
	}
	var out []engine.Permission
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		out = append(out, engine.Permission{Namespace: ns, Rules: byNS[ns]})
	}
	return out
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// DNSName makes s usable in object names: lowercase letters, digits and
// '-', at most max characters, never empty ("runbook").
func DNSName(s string, max int) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		return "runbook"
	}
	return s
}

// RunbookLabelValue is a runbook's name as a label value (LabelRunbook).
func RunbookLabelValue(name string) string {
	return DNSName(name, validation.LabelValueMaxLength)
}

// checkSecretNames refuses an install whose Roles would name a value of
// spec.secretVars (a Secret's name, a namespace, from a secret var): a Role
// is readable by whoever may read roles, and the value would be in plain
// there, while `runbook rbac` can print it redacted for a person to fill in.
func checkSecretNames(rb *runbook.Runbook, p *engine.Plan) error {
	red := p.Secrets()
	for _, perm := range p.Permissions {
		names := []string{perm.Namespace}
		for _, r := range perm.Rules {
			names = append(names, r.ResourceNames...)
		}
		for _, n := range names {
			if n != "" && red.Known(n) != n {
				return fmt.Errorf("%s: a rule of the Job's Role names a value of spec.secretVars (a resource name or a namespace from a secret var): "+
					"a Role is no place for a secret; give that name as a var that is not secret, or run the runbook with runbook run", rb.File)
			}
		}
	}
	return nil
}

// podWarnings names the steps that fail in the Job's pod whenever they run:
// a local step (the image has no shell nor tools) and an apply of a file
// (only the runbook itself is in the ConfigMap). They are warnings, not
// refusals: a step may be skipped by its when, or continue on error.
func podWarnings(rb *runbook.Runbook) []string {
	var out []string
	for _, st := range rb.ActionSteps() {
		where := fmt.Sprintf("%s:%d:%d: step %q", rb.File, st.Line, st.Column, st.Title())
		switch a := st.Action.(type) {
		case *steps.LocalStep:
			out = append(out, where+": a local step finds no command to run in the Job's pod (its image has no shell and no tools)")
		case *steps.ApplyStep:
			if a.File != "" {
				out = append(out, fmt.Sprintf("%s: apply file %q is not in the Job's pod (only the runbook is in its ConfigMap): write the objects inline under manifest", where, a.File))
			}
		}
	}
	return out
}
