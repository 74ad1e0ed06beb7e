package main

import (
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

type rbacOptions struct {
	kube           kubeFlags
	serviceAccount string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *rbacOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.add(fs)
	fs.Lookup("namespace").Usage = "namespace the run works in, and of the ServiceAccount (default: the runbook's, then the context's, then default)"
	fs.StringVar(&o.serviceAccount, "service-account", "", "name of the ServiceAccount, its Roles and bindings (default: runbook-NAME)")
}

// Run runs the command with its positional arguments.
func (o *rbacOptions) Run(args []string, stdout, _ io.Writer) error {
	file, err := oneFile("rbac", args)
	if err != nil {
		return err
	}
	rb, err := load(file, runbook.LoadOptions{Kinds: steps.Registry}, false)
	if err != nil {
		return err
	}
	p, err := engine.MakePlan(rb, engine.PlanOptions{Namespace: o.kube.namespace,
		ContextNamespace: kube.ContextNamespace(kube.ConfigOptions{Kubeconfig: o.kube.kubeconfig, Context: o.kube.context})})
	if err != nil {
		return exitf(exitInvalid, "%s: %v", file, err)
	}
	name := o.serviceAccount
	if name == "" {
		name = "runbook-" + dnsName(rb.Metadata.Name)
	}
	saNamespace := p.Namespace
	if p.TemporaryNamespace || saNamespace == "" {
		saNamespace = "default"
	}
	if o.kube.namespace != "" {
		saNamespace = o.kube.namespace
	}
	docs := rbacObjects(name, saNamespace, p.Permissions)
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(stdout, "---\n"); err != nil {
				return err
			}
		}
		if _, err := stdout.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// rbacObjects are what a ServiceAccount needs to run the plan: the
// account, a Role and RoleBinding per namespace the run works in, and a
// ClusterRole and ClusterRoleBinding for what applies cluster-wide (named
// after the account's namespace too, since they are not namespaced).
func rbacObjects(name, saNamespace string, perms []engine.Permission) []map[string]any {
	subject := []map[string]any{{"kind": "ServiceAccount", "name": name, "namespace": saNamespace}}
	docs := []map[string]any{{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": name, "namespace": saNamespace, "labels": rbacLabels()}}}
	for _, perm := range perms {
		meta := map[string]any{"name": name, "labels": rbacLabels()}
		kind, bindingKind := "Role", "RoleBinding"
		if perm.Namespace == "" {
			kind, bindingKind = "ClusterRole", "ClusterRoleBinding"
			meta["name"] = name + "-" + saNamespace
		} else {
			meta["namespace"] = perm.Namespace
		}
		docs = append(docs,
			map[string]any{"apiVersion": rbacv1.SchemeGroupVersion.String(), "kind": kind, "metadata": meta, "rules": rulesOf(perm.Rules)},
			map[string]any{"apiVersion": rbacv1.SchemeGroupVersion.String(), "kind": bindingKind, "metadata": meta,
				"roleRef":  map[string]any{"apiGroup": rbacv1.GroupName, "kind": kind, "name": meta["name"]},
				"subjects": subject})
	}
	return docs
}

func rulesOf(rules []rbacv1.PolicyRule) []map[string]any {
	out := make([]map[string]any, 0, len(rules))
	for _, r := range rules {
		rule := map[string]any{"apiGroups": r.APIGroups, "resources": r.Resources, "verbs": r.Verbs}
		if len(r.ResourceNames) > 0 {
			rule["resourceNames"] = r.ResourceNames
		}
		out = append(out, rule)
	}
	return out
}

// rbacLabels mark what `runbook rbac` printed. Not the run label: these
// objects outlive runs, and `runbook cleanup` must never find them.
func rbacLabels() map[string]any {
	return map[string]any{"app.kubernetes.io/part-of": "runbook"}
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes a runbook's name usable in object names.
func dnsName(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	if s == "" {
		return "runbook"
	}
	return s
}
