package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/incluster"
)

type resultsOptions struct {
	kube          kubeFlags
	allNamespaces bool
	output        string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *resultsOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.addNS(fs, "namespace of the results (default: the context's)")
	fs.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "look in every namespace")
	fs.StringVarP(&o.output, "output", "o", "", "list: table (default) or json; show: "+strings.Join(report.Formats(), ", ")+" (default md)")
}

// Run runs the command with its positional arguments: [RUNBOOK] lists,
// show RUN-ID renders one.
func (o *resultsOptions) Run(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		if len(args) != 2 {
			return exitf(exitInvalid, "%s results show: expected one RUN-ID", programName())
		}
		return o.show(args[1], stdout)
	}
	if len(args) > 1 {
		return exitf(exitInvalid, "%s results: expected at most one RUNBOOK name (or show RUN-ID)", programName())
	}
	output := o.output
	if output == "" {
		output = "table"
	}
	if output != "table" && output != "json" {
		return exitf(exitInvalid, "--output %q: use table or json (or results show RUN-ID -o FORMAT)", output)
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	c, err := o.kube.clients()
	if err != nil {
		return err
	}
	ns := c.Namespace
	if o.allNamespaces {
		ns = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := incluster.ListResults(ctx, c, ns, name)
	if err != nil {
		return exitf(exitCluster, "listing results: %v", err)
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		where := "namespace " + ns
		if ns == "" {
			where = "any namespace"
		}
		_, err := fmt.Fprintf(stdout, "no stored results in %s\n", where)
		return err
	}
	return writeResultsTable(stdout, list, o.allNamespaces)
}

// writeResultsTable lists stored results as a table. The runbook's name and
// what was cut come from annotations, which anyone who may write a
// ConfigMap there can set to anything: every cell goes through clean, so an
// escape sequence cannot act on the terminal nor a tab or a newline break
// the columns.
func writeResultsTable(w io.Writer, list []incluster.StoredResult, allNamespaces bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "RUN ID\tRUNBOOK\tVERDICT\tSTARTED\tDURATION\tJOB\tCUT"
	if allNamespaces {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(tw, header)
	for _, r := range list {
		cells := []string{r.RunID, r.Runbook, r.Verdict, r.Started.UTC().Format(time.RFC3339), r.Duration.String(), dash(r.Job), dash(r.Cut)}
		if allNamespaces {
			cells = append([]string{r.Namespace}, cells...)
		}
		for i, c := range cells {
			cells[i] = clean(c, true)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// show renders one stored result with the renderers of `runbook report`.
func (o *resultsOptions) show(runID string, stdout io.Writer) error {
	output := o.output
	if output == "" {
		output = "md"
	}
	render, err := report.Lookup(output)
	if err != nil {
		return exitf(exitInvalid, "--output: %v", err)
	}
	c, err := o.kube.clients()
	if err != nil {
		return err
	}
	ns := c.Namespace
	if o.allNamespaces || o.kube.namespace() == "" {
		// A run id is unique enough to be found anywhere unless -n says.
		ns = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, res, _, err := incluster.GetResult(ctx, c, ns, runID)
	if apierrors.IsForbidden(err) && ns == "" && !o.allNamespaces {
		// Not allowed to look everywhere: the context's namespace.
		_, res, _, err = incluster.GetResult(ctx, c, c.Namespace, runID)
	}
	if err != nil {
		return exitf(showExit(err), "%v", err)
	}
	return render(stdout, res)
}

// showExit is the exit code of results show's error: the cluster could not
// be asked (an error of the API server, or none reached it) is exit 3, like
// every command's; a run id that names no result, or a stored object that
// is not one, is exit 2.
func showExit(err error) int {
	var status apierrors.APIStatus
	var urlErr *url.Error
	if errors.As(err, &status) || errors.As(err, &urlErr) {
		return exitCluster
	}
	return exitInvalid
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
