package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/steps"
)

type rbacOptions struct {
	kube           kubeFlags
	serviceAccount string
	vars           []string
	varsFiles      []string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *rbacOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.addNS(fs, "namespace the run works in, and of the ServiceAccount (default: the runbook's, then the context's, then default)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "name of the ServiceAccount, its Roles and bindings (default: runbook-NAME)")
	// The rules follow from the plan, and the plan from the vars: a step
	// that reads a Service named by a var needs get on services, one
	// without a name list.
	fs.StringArrayVar(&o.vars, "var", nil, "a variable the runs will set, NAME=VALUE (repeatable): the rules are those of the plan with these values")
	addVarsFile(fs, &o.varsFiles)
}

// Run runs the command with its positional arguments.
func (o *rbacOptions) Run(args []string, stdout, stderr io.Writer) error {
	file, err := oneFile("rbac", args)
	if err != nil {
		return err
	}
	// The names go into the objects printed: one the API server would
	// refuse is a command line error now, not a failed apply later.
	if o.serviceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.serviceAccount); len(errs) > 0 {
			return exitf(exitInvalid, "--service-account %q: not a valid ServiceAccount name: %s", o.serviceAccount, strings.Join(errs, "; "))
		}
	}
	vars, origins, err := varsOf(o.varsFiles, o.vars)
	if err != nil {
		return err
	}
	rb, err := load(file, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, VarOrigins: origins}, false)
	if err != nil {
		return err
	}
	// Read even with -n: a kubeconfig or context named that is not there
	// is a mistake to say, not to pass over.
	contextNS, err := o.kube.contextNamespace()
	if err != nil {
		return err
	}
	p, err := engine.MakePlan(rb, engine.PlanOptions{Namespace: o.kube.namespace(),
		ContextNamespace: contextNS})
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
	if o.kube.namespace() != "" {
		saNamespace = o.kube.namespace()
	}
	// Checked whatever its source (-n, the runbook, the context), as job
	// checks its namespace.
	if errs := validation.IsDNS1123Label(saNamespace); len(errs) > 0 {
		return exitf(exitInvalid, "namespace %q: %s", saNamespace, strings.Join(errs, "; "))
	}
	docs := incluster.RBACObjects(name, saNamespace, p.Permissions, rbacLabels())
	var out bytes.Buffer
	for i, d := range docs {
		// A valid name and namespace can still make a ClusterRole name
		// (NAME-NAMESPACE) that is too long.
		if errs := validation.IsDNS1123Subdomain(d.GetName()); len(errs) > 0 {
			return exitf(exitInvalid, "--service-account %q: the %s name %q it gives is not valid: %s", name, d.GetKind(), d.GetName(), strings.Join(errs, "; "))
		}
		b, err := yaml.Marshal(d.Object)
		if err != nil {
			return err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	// A rule that names a secret var's value (a namespace or a resource name from one)
	// is printed redacted, as the plan is: the value never leaves the process.
	printed := redactPrinted(p.Secrets(), out.String())
	if printed != out.String() {
		fmt.Fprintf(stderr, "%s rbac: some rules name a value of spec.secretVars, shown as ***: apply them after putting the value back by hand\n", programName())
	}
	_, err = io.WriteString(stdout, printed)
	return err
}

// rbacLabels mark what `runbook rbac` printed. Not the run label: these
// objects outlive runs, and `runbook cleanup` must never find them.
func rbacLabels() map[string]string {
	return map[string]string{incluster.LabelPartOf: "runbook"}
}

// dnsName makes a runbook's name usable in object names.
func dnsName(s string) string { return incluster.DNSName(s, 50) }
