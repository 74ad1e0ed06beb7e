package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/steps"
)

type jobOptions struct {
	kube             kubeFlags
	vars             []string
	varsFiles        []string
	schedule         string
	image            string
	pullPolicy       string
	name             string
	targetNamespaces []string
	keepResults      int
	allowPrivileged  bool
	apply, delete    bool
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *jobOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.addNS(fs, "namespace of the Job, its account and results, and the run's (default: the runbook's, then the context's, then default)")
	fs.StringArrayVar(&o.vars, "var", nil, "a variable for every run, NAME=VALUE (repeatable); secret vars go to a Secret")
	addVarsFile(fs, &o.varsFiles)
	fs.StringVar(&o.schedule, "schedule", "", `run on a schedule: a CronJob (cron syntax, e.g. "*/30 * * * *") instead of one Job`)
	fs.StringVar(&o.image, "image", incluster.DefaultImage, "the tool's image (make image builds it)")
	fs.StringVar(&o.pullPolicy, "pull-policy", string(corev1.PullIfNotPresent), "imagePullPolicy: IfNotPresent, Never or Always")
	fs.StringVar(&o.name, "name", "", "name of the install: its ServiceAccount, ConfigMap, CronJob and Jobs' prefix (default: runbook-NAME)")
	fs.StringArrayVar(&o.targetNamespaces, "target-namespace", nil, `a further namespace runs may work in (repeatable; "*" for any: ClusterRoles)`)
	fs.IntVar(&o.keepResults, "keep-results", incluster.DefaultKeepResults, "how many stored results of this runbook to keep")
	fs.BoolVar(&o.allowPrivileged, "allow-privileged", false, "pass --allow-privileged to the run")
	fs.BoolVar(&o.apply, "apply", false, "apply it to the cluster (server-side apply) instead of printing it")
	fs.BoolVar(&o.delete, "delete", false, "delete everything it labelled: CronJob, Jobs, pods, results, ConfigMap, Secret, account and RBAC")
}

// Run runs the command with its positional arguments.
func (o *jobOptions) Run(args []string, stdout, stderr io.Writer) error {
	file, err := oneFile("job", args)
	if err != nil {
		return err
	}
	if o.apply && o.delete {
		return exitf(exitInvalid, "--apply and --delete contradict each other")
	}
	if o.keepResults < 1 {
		return exitf(exitInvalid, "--keep-results %d: keep at least 1", o.keepResults)
	}
	switch corev1.PullPolicy(o.pullPolicy) {
	case corev1.PullIfNotPresent, corev1.PullNever, corev1.PullAlways:
	default:
		return exitf(exitInvalid, "--pull-policy %q: use IfNotPresent, Never or Always", o.pullPolicy)
	}
	if err := kube.CheckImage(o.image); err != nil {
		return exitf(exitInvalid, "--image: %v", err)
	}
	vars, origins, err := varsOf(o.varsFiles, o.vars)
	if err != nil {
		return err
	}
	source, err := readSource(file)
	if err != nil {
		return err
	}
	rb, err := load(file, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, VarOrigins: origins, AllowPrivileged: o.allowPrivileged}, false)
	if err != nil {
		return err
	}
	// Read even when unused (-n, spec.namespace): a kubeconfig or context
	// named that is not there is a mistake to say, not to pass over.
	contextNS, err := o.kube.contextNamespace()
	if err != nil {
		return err
	}
	ns := o.kube.namespace()
	if ns == "" && rb.Spec.Namespace == "" && !rb.Spec.TemporaryNamespace {
		ns = contextNS
	}
	in, err := incluster.New(rb, incluster.Options{Source: source, Vars: vars, Namespace: ns, TargetNamespaces: o.targetNamespaces,
		Name: o.name, Image: o.image, PullPolicy: corev1.PullPolicy(o.pullPolicy), KeepResults: o.keepResults, AllowPrivileged: o.allowPrivileged})
	if err != nil {
		return exitf(exitInvalid, "%v", err)
	}
	objs, err := in.Objects()
	if err != nil {
		return err
	}
	var run *unstructured.Unstructured
	runID := ""
	if o.schedule != "" {
		cj, err := in.CronJob(o.schedule)
		if err != nil {
			return exitf(exitInvalid, "%v", err)
		}
		if run, err = incluster.ToUnstructured(cj); err != nil {
			return err
		}
	} else {
		job, err := in.Job(incluster.RunOptions{})
		if err != nil {
			return exitf(exitInvalid, "%v", err)
		}
		runID = job.Labels[incluster.LabelRun]
		if run, err = incluster.ToUnstructured(job); err != nil {
			return err
		}
	}
	objs = append(objs, run)
	for _, w := range in.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if in.SourceRewritten {
		fmt.Fprintf(stderr, "%s: the defaults of its secret vars could not be replaced in place: the ConfigMap holds the file written again from its YAML (comments kept, not the layout); line:col in a run's messages refer to it\n", rb.File)
	}
	// What is printed is what is applied: the same objects; only the
	// Secret's values are shown redacted.
	if !o.apply && !o.delete {
		return printObjects(stdout, objs)
	}

	clients, err := jobClients(&o.kube)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if o.delete {
		deleted, err := incluster.Delete(ctx, clients, in.Namespace, in.Name)
		for _, d := range deleted {
			if d.Error != "" {
				fmt.Fprintf(stdout, "%s: failed: %s\n", d, d.Error)
			} else {
				fmt.Fprintf(stdout, "%s deleted\n", d)
			}
		}
		if len(deleted) == 0 && err == nil {
			fmt.Fprintf(stdout, "nothing labelled %s in %s\n", incluster.Selector(in.Name), in.Namespace)
		}
		if err != nil {
			return exitf(exitCluster, "runbook job --delete: %v", err)
		}
		return nil
	}
	applyCtx, cancelApply := context.WithTimeout(ctx, time.Minute)
	defer cancelApply()
	if err := incluster.Apply(applyCtx, clients, objs); err != nil {
		return exitf(exitCluster, "runbook job --apply: %v", err)
	}
	for _, u := range objs {
		fmt.Fprintf(stdout, "%s %s applied\n", u.GetKind(), objName(u))
	}
	if err := prune(applyCtx, clients, in, objs, stdout); err != nil {
		return exitf(exitCluster, "runbook job --apply: %v", err)
	}
	if runID != "" {
		fmt.Fprintf(stderr, "run %s: follow it with `kubectl logs -n %s -f job/%s`; its result: `%s results show %s -n %s`\n",
			runID, in.Namespace, run.GetName(), programName(), runID, in.Namespace)
	} else {
		fmt.Fprintf(stderr, "scheduled %q; results: `%s results -n %s %s`\n", o.schedule, programName(), in.Namespace, rb.Metadata.Name)
	}
	return nil
}

func objName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetName()
	}
	return u.GetNamespace() + "/" + u.GetName()
}

// readSource reads the runbook file's bytes (for the ConfigMap), bounded
// as the loader bounds them; standard input is read once and handed to
// the loader.
func readSource(file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, runbook.MaxFileBytes+1))
		stdin = bytes.NewReader(data)
	} else {
		var f *os.File
		if f, err = os.Open(file); err != nil {
			return nil, exitf(exitInvalid, "%v", err)
		}
		data, err = io.ReadAll(io.LimitReader(f, runbook.MaxFileBytes+1))
		f.Close()
	}
	if err != nil {
		return nil, exitf(exitInvalid, "%s: %v", file, err)
	}
	return data, nil
}

// jobClients are the clients of --apply and --delete (a test's fakes).
var jobClients = func(k *kubeFlags) (*kube.Clients, error) { return k.clients() }

// printObjects prints the objects as YAML documents, as --apply applies
// them: nothing in them is redacted but the Secret's values, shown as
// stringData with each value replaced (the printed Secret is to be filled
// in, or created with --apply). No other object holds a secret value:
// incluster.New keeps them out of the ConfigMap, defaults included.
func printObjects(w io.Writer, objs []*unstructured.Unstructured) error {
	var out bytes.Buffer
	for i, u := range objs {
		obj := u.Object
		if u.GetKind() == "Secret" {
			c := u.DeepCopy()
			data, _, _ := unstructured.NestedStringMap(c.Object, "data")
			strs := map[string]any{}
			for k := range data {
				var vars map[string]string
				if b, err := base64.StdEncoding.DecodeString(data[k]); err != nil || json.Unmarshal(b, &vars) != nil {
					vars = map[string]string{}
				}
				for name := range vars {
					vars[name] = "<redacted: runbook job --apply creates this Secret with the value>"
				}
				var raw bytes.Buffer
				enc := json.NewEncoder(&raw)
				enc.SetEscapeHTML(false) // <redacted...>, not \u003credacted...\u003e
				_ = enc.Encode(vars)
				strs[k] = strings.TrimSuffix(raw.String(), "\n")
			}
			unstructured.RemoveNestedField(c.Object, "data")
			c.Object["stringData"] = strs
			obj = c.Object
		}
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	_, err := w.Write(out.Bytes())
	return err
}

// prune deletes what an earlier apply of the install left that objs no
// longer has (its rights, its secret vars) and says so.
func prune(ctx context.Context, c *kube.Clients, in *incluster.Install, objs []*unstructured.Unstructured, stdout io.Writer) error {
	pruned, err := incluster.Prune(ctx, c, in.Namespace, in.Name, objs)
	for _, d := range pruned {
		if d.Error == "" {
			fmt.Fprintf(stdout, "%s deleted (no longer needed)\n", d)
		}
	}
	if err != nil {
		return fmt.Errorf("removing what the runbook no longer needs: %w", err)
	}
	return nil
}
