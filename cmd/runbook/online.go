package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/steps"
)

// kubeFlags are kubectl's kubeconfig flags (kube.ConfigFlags: clientcmd's
// own, as kubectl binds them).
type kubeFlags struct {
	kube.ConfigFlags
}

// add registers the flags, -n with runbook's meaning for a run.
func (k *kubeFlags) add(fs *pflag.FlagSet) {
	k.addNS(fs, "namespace (overrides spec.namespace; default: spec.namespace, then the context's, then default)")
}

// kubeFlagGroup is the annotation that marks the kubeconfig flags, which
// help lists apart.
const kubeFlagGroup = "runbook/kubeconfig"

// addNS registers the flags with nsUsage as the help of -n.
func (k *kubeFlags) addNS(fs *pflag.FlagSet, nsUsage string) {
	kfs := pflag.NewFlagSet("kubeconfig", pflag.ContinueOnError)
	k.AddFlags(kfs, nsUsage)
	kfs.VisitAll(func(f *pflag.Flag) {
		if f.Annotations == nil {
			f.Annotations = map[string][]string{}
		}
		f.Annotations[kubeFlagGroup] = []string{"true"}
	})
	fs.AddFlagSet(kfs)
}

// namespace is the -n flag ("" when not given).
func (k *kubeFlags) namespace() string { return k.Namespace() }

// contextNamespace is the kubeconfig context's namespace, read without a
// request, for the commands that work without a cluster (plan, rbac, job):
// "" when there is no kubeconfig and none is named. A kubeconfig or context
// named (flags, $KUBECONFIG) that cannot be read is an invalid command line
// (exit 2), never a silent fallback to namespace default: what they print
// would then be for another namespace than a run's.
func (k *kubeFlags) contextNamespace() (string, error) {
	ns, err := kube.ContextNamespace(k.ConfigFlags)
	if err != nil {
		return "", exitf(exitInvalid, "%s", k.redact(err.Error()))
	}
	return ns, nil
}

func (k *kubeFlags) clients() (*kube.Clients, error) {
	c, err := kube.NewClients(kube.ConfigOptions{Flags: k.ConfigFlags, UserAgent: "runbook/" + engine.Version})
	if err != nil {
		return nil, exitf(exitCluster, "cannot use the cluster: %s", k.redact(err.Error()))
	}
	return c, nil
}

// redact removes the secret flag values (--token) from s.
func (k *kubeFlags) redact(s string) string {
	red := report.NewRedactor()
	for _, v := range k.Secrets() {
		red.Add(v)
	}
	return red.String(s)
}

type runOptions struct {
	kube            kubeFlags
	vars            []string
	reports         []string
	timeout         time.Duration
	keep            bool
	allowPrivileged bool
	output          string
	artifacts       string
	runID           string
	verbose, quiet  bool
	varsFiles       []string
	storeResult     string
	resultInstall   string
	keepResults     int
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *runOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.add(fs)
	fs.StringArrayVar(&o.vars, "var", nil, "override a variable, NAME=VALUE (repeatable)")
	fs.StringArrayVar(&o.reports, "report", nil, "write a report, FORMAT=PATH (repeatable, or several separated by commas: md=r.md,json=r.json); formats: "+strings.Join(report.Formats(), ", "))
	fs.Var(deadlineFlag{&o.timeout}, "timeout", fmt.Sprintf("deadline for the whole run, more than 0 (default: spec.timeout, else %s)", runbook.ShortDuration(engine.DefaultTimeout)))
	fs.BoolVar(&o.keep, "keep", false, "do not clean up what the run created")
	fs.BoolVar(&o.allowPrivileged, "allow-privileged", false, "allow node steps and privileged profiles even if the runbook does not")
	fs.StringVarP(&o.output, "output", "o", "table", "what to print at the end on standard output: "+strings.Join(report.Formats(), ", ")+", or none")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "show all of each step's output under it (default: its first and last lines)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "show no step output, only the steps' lines")
	fs.StringVar(&o.runID, "run-id", "", "the run's id (default: a random rb-XXXXXXXX); plan --run-id with the same id shows the run's exact names")
	fs.StringVar(&o.artifacts, "artifacts", "", "directory for the files steps copy (default: "+defaultArtifactsRoot+"/RUN-ID; created only when a step writes one)")
	addVarsFile(fs, &o.varsFiles)
	fs.StringVar(&o.storeResult, "store-result", "", "store the result in the cluster, in this namespace: one ConfigMap per run (see runbook results)")
	fs.StringVar(&o.resultInstall, "result-install", "", "with --store-result: the install the run belongs to (runbook job sets it; older results of the same install are pruned)")
	fs.IntVar(&o.keepResults, "keep-results", incluster.DefaultKeepResults, "with --store-result: how many results of the same install (or runbook) to keep")
}

// deadlineFlag is a duration flag that must be more than 0, as a duration
// in a runbook must: --timeout 0 is an error, not the default, since kubectl
// reads a timeout of 0 in ways that differ by command ("none" for
// --request-timeout, "check once" for wait). Left out, it is 0: no override.
type deadlineFlag struct{ d *time.Duration }

func (f deadlineFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f deadlineFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (use 30s, 5m, 1h30m)")
	}
	if v <= 0 {
		return fmt.Errorf("must be greater than 0; omit the flag for spec.timeout (default %s)", runbook.ShortDuration(engine.DefaultTimeout))
	}
	if v > runbook.MaxDuration {
		return fmt.Errorf("is more than the maximum of %s", runbook.ShortDuration(runbook.MaxDuration))
	}
	*f.d = v
	return nil
}

func (deadlineFlag) Type() string { return "duration" }

type reportTarget struct {
	format, path string
	render       report.Renderer
}

// splitReportFlag splits a --report value that lists several reports,
// md=r.md,json=r.json, at each comma followed by a known format and "=",
// as kubectl's list flags take a comma-separated list; a comma elsewhere
// stays in the path (md=a,b.md is one report).
func splitReportFlag(f string) []string {
	var out []string
	start := 0
	for i := 0; i < len(f); i++ {
		if f[i] != ',' {
			continue
		}
		format, _, ok := strings.Cut(f[i+1:], "=")
		if _, err := report.Lookup(format); ok && err == nil {
			out = append(out, f[start:i])
			start = i + 1
		}
	}
	return append(out, f[start:])
}

func parseReports(flags []string) ([]reportTarget, error) {
	var out []reportTarget
	var all []string
	for _, f := range flags {
		all = append(all, splitReportFlag(f)...)
	}
	for _, f := range all {
		format, path, ok := strings.Cut(f, "=")
		if !ok || path == "" {
			return nil, exitf(exitInvalid, "--report %q: expected FORMAT=PATH, e.g. md=report.md (formats: %s)", f, strings.Join(report.Formats(), ", "))
		}
		r, err := report.Lookup(format)
		if err != nil {
			return nil, exitf(exitInvalid, "--report %q: %v", f, err)
		}
		if err := checkWritable(path); err != nil {
			return nil, exitf(exitInvalid, "--report %q: %v", f, err)
		}
		for _, o := range out {
			if samePath(o.path, path) {
				return nil, exitf(exitInvalid, "--report %q: %s is already the path of --report %s=%s: one would overwrite the other", f, path, o.format, o.path)
			}
		}
		out = append(out, reportTarget{format: format, path: path, render: r})
	}
	return out, nil
}

// samePath tells whether a and b name the same file: the same path once
// made absolute and cleaned, or, for files that exist, the same file
// (through a link, say).
func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// checkWritable reports, before a run, why a report could not be written
// to path after it: a directory there, or no directory that can be made or
// written where it goes (missing directories are made when the report is
// written). A run that fails at its end for a typo in a path has done its
// work (and touched the cluster) for nothing. Nothing is left behind.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return errors.New("is a directory")
		}
		if !fi.Mode().IsRegular() {
			// A device or a FIFO is written as it is, at the end: opening
			// a FIFO now would end its reader (cat sees the end of input).
			return nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	// The nearest directory that exists is where the rest would be made.
	dir := filepath.Dir(path)
	for {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || filepath.Dir(dir) == dir {
			return err
		}
		dir = filepath.Dir(dir)
	}
	f, err := os.CreateTemp(dir, ".runbook-report-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Run runs the command with its positional arguments.
func (o *runOptions) Run(args []string, stdout, stderr io.Writer) error {
	file, err := oneFile("run", args)
	if err != nil {
		return err
	}
	vars, origins, err := varsOf(o.varsFiles, o.vars)
	if err != nil {
		return err
	}
	if o.storeResult != "" {
		if errs := validation.IsDNS1123Label(o.storeResult); len(errs) > 0 {
			return exitf(exitInvalid, "--store-result %q: not a namespace name", o.storeResult)
		}
	}
	if o.keepResults < 1 {
		return exitf(exitInvalid, "--keep-results %d: keep at least 1 (the result just stored)", o.keepResults)
	}
	targets, err := parseReports(o.reports)
	if err != nil {
		return err
	}
	var final report.Renderer
	if o.output != "none" {
		if final, err = report.Lookup(o.output); err != nil {
			return exitf(exitInvalid, "--output: %v, or none", err)
		}
	}
	if err := checkRunID(o.runID); err != nil {
		return err
	}
	rb, err := load(file, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, VarOrigins: origins, AllowPrivileged: o.allowPrivileged}, false)
	if err != nil {
		if o.storeResult != "" {
			// In a Job nobody sees the exit code but the Job's status: the
			// stored result says why the run could not start.
			o.storeLoadError(file, vars, err, stderr)
		}
		return err
	}
	clients, err := o.kube.clients()
	if err != nil {
		return err
	}
	runID := o.runID
	if runID == "" {
		runID = engine.NewRunID()
	}
	artifacts, err := artifactDir(o.artifacts, runID)
	if err != nil {
		return exitf(exitInvalid, "--artifacts: %v", err)
	}
	if o.artifacts != "" {
		// Found before the run, as a --report path is: a cp step would
		// fail after copying, with the run half done. The default is
		// made only when a step writes (a Job's directory may not allow it).
		if err := checkWritable(filepath.Join(o.artifacts, ".runbook-check")); err != nil {
			return exitf(exitInvalid, "--artifacts %q: %v", o.artifacts, err)
		}
	}

	level := outputShort
	switch {
	case o.verbose && o.quiet:
		return exitf(exitInvalid, "--verbose and --quiet contradict each other")
	case o.verbose:
		level = outputAll
	case o.quiet:
		level = outputNone
	}
	progress := newProgress(stderr, level)
	defer progress.Close()

	// The first SIGINT, SIGTERM or SIGHUP stops the run, which then runs
	// its finally steps, cleans up and writes its reports; a second one
	// exits at once. One interrupt often arrives twice: coreutils timeout,
	// CI runners and process supervisors signal the child and then its
	// process group, microseconds apart; a signal within repeatWindow of
	// the first is that same interrupt, not a second.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, stopSignals()...)
	defer signal.Stop(sigs)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		first := time.Now()
		progress.Println(fmt.Sprintf("%s: stopping the run, then cleaning up (send it again to exit now)", sig))
		cancel(engine.ErrInterrupted)
		for range sigs {
			if time.Since(first) < repeatWindow {
				continue
			}
			progress.Close()
			cleanup := programName() + " cleanup --run-id " + runID
			if ns := o.kube.namespace(); ns != "" {
				cleanup += " -n " + ns
			}
			fmt.Fprintf(stderr, "exiting now: objects of run %s may be left behind; remove them with: %s\n", runID, cleanup)
			flushOutput(stdout, stderr)
			os.Exit(exitInterrupted)
		}
	}()

	res := engine.Run(ctx, rb, engine.RunOptions{
		Clients: clients, Namespace: o.kube.namespace(), Timeout: o.timeout, Keep: o.keep, Progress: progress,
		AllowPrivileged: o.allowPrivileged,
		RunID:           runID, ArtifactDir: artifacts,
	})
	progress.Close()
	flushOutput(stderr)

	var writeErrs []string
	for _, t := range targets {
		if err := writeReport(t, res); err != nil {
			writeErrs = append(writeErrs, err.Error())
		}
	}
	if final != nil {
		if o.output == "table" {
			// The table on a terminal fits its width.
			final = func(w io.Writer, r *report.Result) error { return report.RenderTableWidth(w, r, terminalWidth(stdout)) }
		}
		if err := final(stdout, res); err != nil {
			writeErrs = append(writeErrs, err.Error())
		}
		flushOutput(stdout)
	}
	for _, e := range writeErrs {
		fmt.Fprintln(stderr, "runbook run: writing a report:", e)
	}
	if o.storeResult != "" {
		if err := o.store(clients, res, stderr); err != nil {
			fmt.Fprintln(stderr, "runbook run: storing the result:", err)
			writeErrs = append(writeErrs, err.Error())
		}
	}
	switch res.Verdict {
	case report.VerdictPassed:
		if len(writeErrs) > 0 {
			return exitf(exitFailed, "")
		}
		return nil
	case report.VerdictInterrupted:
		return exitf(exitInterrupted, "")
	case report.VerdictError:
		return exitf(exitCluster, "runbook run: %s", res.Error)
	}
	return exitf(exitFailed, "")
}

// store stores the result in the cluster (--store-result), on a context
// of its own: the run's may have been interrupted, and the result of an
// interrupted run is stored too.
func (o *runOptions) store(c *kube.Clients, res *report.Result, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stored, err := incluster.StoreResult(ctx, c, res, incluster.StoreOptions{Namespace: o.storeResult,
		Install: o.resultInstall, Job: os.Getenv("RUNBOOK_JOB_NAME"), Keep: o.keepResults})
	if stored != nil {
		line := fmt.Sprintf("result stored: configmap %s/%s", stored.Namespace, stored.Name)
		if stored.Cut != "" {
			line += " (cut to fit: " + stored.Cut + ")"
		}
		fmt.Fprintln(stderr, line)
	}
	return err
}

// storeLoadError stores the result of a run that could not start because
// its runbook or vars did not load: verdict error, the loader's message
// with every var value redacted (secret ones among them cannot be told
// apart without the runbook).
func (o *runOptions) storeLoadError(file string, vars map[string]string, loadErr error, stderr io.Writer) {
	clients, err := o.kube.clients()
	if err != nil {
		fmt.Fprintln(stderr, "runbook run: storing the result:", err)
		return
	}
	msg := loadErr.Error()
	for _, v := range vars {
		if len(v) >= 3 {
			msg = strings.ReplaceAll(msg, v, "<redacted>")
		}
	}
	name := filepath.Base(file)
	if data, err := os.ReadFile(file); err == nil {
		var head struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if yaml.Unmarshal(data, &head) == nil && head.Metadata.Name != "" {
			name = head.Metadata.Name
		}
	}
	runID := o.runID
	if runID == "" {
		runID = engine.NewRunID()
	}
	now := time.Now().UTC()
	res := &report.Result{SchemaVersion: report.SchemaVersion, Runbook: report.RunbookInfo{Name: name, File: file},
		RunID: runID, Tool: "runbook " + engine.Version, StartedAt: now, FinishedAt: now, Verdict: report.VerdictError,
		Error: "the runbook did not load: " + msg, Steps: []report.StepResult{}}
	res.Cluster = report.ClusterInfo{Context: clients.ContextName, Server: clients.Server}
	if err := o.store(clients, res, stderr); err != nil {
		fmt.Fprintln(stderr, "runbook run: storing the result:", err)
	}
}

// readVarsFiles reads --vars-file files: each a JSON or YAML object of
// strings (what an install's ConfigMap and Secret hold), later files
// winning. Each is bounded as a runbook file is.
func readVarsFiles(paths []string) (map[string]string, map[string]runbook.Origin, error) {
	out, origins := map[string]string{}, map[string]runbook.Origin{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, exitf(exitInvalid, "--vars-file: %v", err)
		}
		data, err := io.ReadAll(io.LimitReader(f, runbook.MaxFileBytes+1))
		f.Close()
		if err != nil {
			return nil, nil, exitf(exitInvalid, "--vars-file %s: %v", p, err)
		}
		if len(data) > runbook.MaxFileBytes {
			return nil, nil, exitf(exitInvalid, "--vars-file %s: larger than %d bytes", p, runbook.MaxFileBytes)
		}
		m, at, err := parseVarsFile(p, data)
		if err != nil {
			return nil, nil, exitf(exitInvalid, "--vars-file %v", err)
		}
		for k, v := range m {
			out[k], origins[k] = v, at[k]
		}
	}
	return out, origins, nil
}

// addVarsFile registers --vars-file.
func addVarsFile(fs *pflag.FlagSet, files *[]string) {
	fs.StringArrayVar(files, "vars-file", nil, "read variables from a JSON or YAML object of NAME: VALUE (repeatable; --var wins): values stay off the command line and out of the shell's history; a Job reads its install's this way")
}

// varsOf reads the vars files in order, then the --var flags over them;
// origins say where each value from a file was written.
func varsOf(files, flags []string) (vars map[string]string, origins map[string]runbook.Origin, err error) {
	vars, origins, err = readVarsFiles(files)
	if err != nil {
		return nil, nil, err
	}
	flagVars, err := parseVars(flags)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range flagVars {
		vars[k] = v
		delete(origins, k)
	}
	return vars, origins, nil
}

// parseVarsFile reads a vars file: one YAML (or JSON) mapping of names to
// scalar values, each taken as its text, as --var takes it. Errors say
// file:line:col and never hold a value (it may be secret).
func parseVarsFile(path string, data []byte) (map[string]string, map[string]runbook.Origin, error) {
	m, err := runbook.ParseNode(path, "a vars file", data)
	if err != nil {
		return nil, nil, err
	}
	if m.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d:%d: expected an object of NAME: VALUE", path, m.Line, m.Column)
	}
	out, at := map[string]string{}, map[string]runbook.Origin{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Value == "":
			return nil, nil, fmt.Errorf("%s:%d:%d: expected a variable name", path, k.Line, k.Column)
		case v.Kind == yaml.AliasNode:
			return nil, nil, fmt.Errorf("%s:%d:%d: %s: aliases are not allowed in a vars file", path, v.Line, v.Column, k.Value)
		}
		if _, dup := out[k.Value]; dup {
			return nil, nil, fmt.Errorf("%s:%d:%d: %s is given twice", path, k.Line, k.Column, k.Value)
		}
		switch {
		case v.Kind != yaml.ScalarNode:
			// Taken as text, a list would become the value of a string
			// var: a list or mapping var is given its YAML as a string.
			return nil, nil, fmt.Errorf("%s:%d:%d: %s: expected a value (a string, number or boolean); for a list or mapping var, quote its YAML: '[a, b]'", path, v.Line, v.Column, k.Value)
		case v.Tag == "!!null":
			out[k.Value] = ""
		default:
			out[k.Value] = v.Value
		}
		at[k.Value] = runbook.Origin{File: path, Line: v.Line, Column: v.Column}
	}
	return out, at, nil
}

// writeReport writes a report whole, or not at all: into PATH.tmp, renamed
// to PATH once complete. A symbolic link is followed (the link stays, its
// target gets the report), and a path that is not a regular file (a device
// such as /dev/stdout, a FIFO) is written in place: renaming over it would
// replace it with a file, /dev/stdout itself when run as root.
func writeReport(t reportTarget, res *report.Result) error {
	if t.format == "md" || t.format == "markdown" {
		res = relativeArtifacts(res, t.path)
	}
	path := t.path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if err := t.render(f, res); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", t.path, err)
		}
		return f.Close()
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := t.render(f, res); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", t.path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

type cleanupOptions struct {
	kube          kubeFlags
	allNamespaces bool
	runID         string
	dryRun        bool
	force         bool
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *cleanupOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.addNS(fs, "namespace to look in (default: the context's; with --run-id, every namespace)")
	fs.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "look in every namespace")
	fs.StringVar(&o.runID, "run-id", "", "only what this run left, wherever it is (default: every run); its objects go even if its deadline is ahead")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	fs.BoolVar(&o.force, "force", false, "also delete what runs whose deadline is still ahead left (they may be running)")
}

// Run runs the command with its positional arguments.
func (o *cleanupOptions) Run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return exitf(exitInvalid, "%s cleanup takes no arguments (use -n, -A, --run-id)", programName())
	}
	if err := checkRunID(o.runID); err != nil {
		return err
	}
	c, err := o.kube.clients()
	if err != nil {
		return err
	}
	ns := c.Namespace
	// A run's objects may be in any namespace (its temporary one, -n, a
	// step's own): --run-id without -n looks everywhere.
	everywhere := o.runID != "" && o.kube.namespace() == ""
	if o.allNamespaces || everywhere {
		ns = ""
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	all, err := kube.FindLeftovers(ctx, c, ns, o.runID)
	if everywhere && !o.allNamespaces && err != nil && len(all) == 0 && apierrors.IsForbidden(err) {
		// An account with rights in its namespace only.
		fmt.Fprintf(stderr, "warning: cannot look in every namespace (%v): looking in %s only (-n to choose)\n", err, c.Namespace)
		ns = c.Namespace
		all, err = kube.FindLeftovers(ctx, c, ns, o.runID)
	}
	if err != nil && len(all) == 0 {
		return exitf(exitCluster, "finding leftovers: %v", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "warning: some resources could not be searched: %v\n", err)
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "nothing left by runbook runs")
		return nil
	}
	// A run cannot outlive its deadline: before it, its objects may belong
	// to a live run, which cleanup must not break.
	now := time.Now()
	var found []kube.TrackedObject
	live := map[string]time.Time{}
	for _, f := range all {
		ahead := !f.Deadline.IsZero() && f.Deadline.After(now)
		switch {
		case f.Kept != "" && o.runID == "" && !o.force:
			// Kept for someone to look at: not a leftover, whatever its deadline.
			fmt.Fprintf(stdout, "skipped %s: %s kept it (%s); name it with --run-id, or use --force\n", f, f.Note, f.Kept)
		case !ahead || o.force:
			found = append(found, f)
		case o.runID != "":
			found = append(found, f)
			live[f.Note] = f.Deadline
		default:
			fmt.Fprintf(stdout, "skipped %s: %s may still be running (its deadline is %s); name it with --run-id, or use --force\n",
				f, f.Note, f.Deadline.Local().Format(time.RFC3339))
		}
	}
	for run, deadline := range live {
		fmt.Fprintf(stderr, "warning: %s's deadline (%s) is still ahead: deleting its objects as asked (--run-id)\n", run, deadline.Local().Format(time.RFC3339))
	}
	if len(found) == 0 {
		fmt.Fprintln(stdout, "nothing to delete")
		return nil
	}
	if o.dryRun {
		for _, f := range found {
			fmt.Fprintf(stdout, "would delete %s\n", f)
		}
		return nil
	}
	dels := kube.DeleteLeftovers(ctx, c, found, true)
	sort.SliceStable(dels, func(i, j int) bool { return dels[i].Object.String() < dels[j].Object.String() })
	failed := 0
	for _, d := range dels {
		line := fmt.Sprintf("%s: %s", d.Object, d.Outcome)
		if d.Error != "" {
			line += ": " + d.Error
			failed++
		}
		fmt.Fprintln(stdout, line)
	}
	if failed > 0 {
		return exitf(exitFailed, "%d object(s) could not be deleted", failed)
	}
	return nil
}

// repeatWindow is how soon after the first stop signal another one is taken
// as the same interrupt delivered twice (to the process and to its group).
const repeatWindow = 500 * time.Millisecond

// stopSignals are the signals that stop a run and have it clean up: Ctrl-C,
// SIGTERM (a CI job cancelled, a pod deleted) and SIGHUP (the terminal or
// the SSH session closed under it), unless SIGHUP is ignored, as under
// nohup: then the run goes on, as asked (signal.Notify would stop ignoring
// it).
func stopSignals() []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}
