package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/schemas"
	"github.com/kube-runbook/runbook/steps"
)

func version() string { return engine.Version }

// stdin is where a runbook named "-" is read from (a variable for tests).
var stdin io.Reader = os.Stdin

// stdinName names standard input in messages (file:line:col).
const stdinName = "<stdin>"

// load loads a runbook, turning its problems into exit code 2.
func load(file string, o runbook.LoadOptions, snippets bool) (*runbook.Runbook, error) {
	var rb *runbook.Runbook
	var err error
	if file == "-" {
		// Standard input, as kubectl -f - reads it; bounded as a file is.
		var data []byte
		data, err = io.ReadAll(io.LimitReader(stdin, runbook.MaxFileBytes+1))
		if err == nil {
			rb, err = runbook.Parse(stdinName, data, o)
		}
	} else {
		rb, err = runbook.Load(file, o)
	}
	if err != nil {
		var list runbook.ErrorList
		if errors.As(err, &list) {
			return nil, exitf(exitInvalid, "%s", strings.TrimRight(list.Format(snippets), "\n"))
		}
		var pe *fs.PathError
		if file == "-" && errors.As(err, &pe) {
			return nil, exitf(exitInvalid, "%s: %v", stdinName, pe.Err)
		}
		return nil, exitf(exitInvalid, "%v", err)
	}
	return rb, nil
}

func oneFile(cmd string, args []string) (string, error) {
	if len(args) != 1 {
		return "", exitf(exitInvalid, "%s %s: expected one runbook file, got %d arguments", programName(), cmd, len(args))
	}
	return args[0], nil
}

// parseVars reads --var NAME=VALUE flags.
func parseVars(flag []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range flag {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			// Say which flag without its value: a mistyped NAME:VALUE may hold a secret.
			return nil, exitf(exitInvalid, "--var %q: expected NAME=VALUE", varHead(kv))
		}
		out[k] = v
	}
	return out, nil
}

type validateOptions struct {
	snippets  bool
	vars      []string
	varsFiles []string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *validateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.snippets, "snippets", "s", false, "show the source line and a caret under each problem")
	fs.StringArrayVar(&o.vars, "var", nil, "override a variable, NAME=VALUE (repeatable)")
	addVarsFile(fs, &o.varsFiles)
}

// Run runs the command with its positional arguments.
func (o *validateOptions) Run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return exitf(exitInvalid, "%s validate: expected one or more runbook files", programName())
	}
	if i := slices.Index(args, "-"); i >= 0 && slices.Contains(args[i+1:], "-") {
		return exitf(exitInvalid, "%s validate: standard input (-) can be read once: name it once", programName())
	}
	vars, origins, err := varsOf(o.varsFiles, o.vars)
	if err != nil {
		return err
	}
	bad := 0
	for _, f := range args {
		if _, err := load(f, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, VarOrigins: origins}, o.snippets); err != nil {
			fmt.Fprintln(stderr, err)
			bad++
			continue
		}
		if _, err := fmt.Fprintf(stdout, "%s: ok\n", runbook.Printable(f)); err != nil {
			return fmt.Errorf("writing standard output: %w", err)
		}
	}
	if bad > 0 {
		return exitf(exitInvalid, "")
	}
	return nil
}

type planOptions struct {
	output    string
	vars      []string
	varsFiles []string
	preflight bool
	runID     string
	kube      kubeFlags
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *planOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text, yaml or json")
	fs.StringArrayVar(&o.vars, "var", nil, "override a variable, NAME=VALUE (repeatable)")
	addVarsFile(fs, &o.varsFiles)
	fs.BoolVar(&o.preflight, "preflight", false, "also ask the cluster: permissions (SelfSubjectAccessReview), targets (and whether a debug target runs), Pod Security, server-side dry run of every object; changes nothing")
	fs.StringVar(&o.runID, "run-id", "", "plan for the run with this id (run --run-id): generated names are then exactly the run's")
	o.kube.add(fs)
}

// Run runs the command with its positional arguments.
func (o *planOptions) Run(args []string, stdout, _ io.Writer) error {
	file, err := oneFile("plan", args)
	if err != nil {
		return err
	}
	switch o.output {
	case "text", "yaml", "json":
	default:
		return exitf(exitInvalid, "--output %q: use text, yaml or json", o.output)
	}
	vars, origins, err := varsOf(o.varsFiles, o.vars)
	if err != nil {
		return err
	}
	rb, err := load(file, runbook.LoadOptions{Kinds: steps.Registry, Vars: vars, VarOrigins: origins}, false)
	if err != nil {
		return err
	}
	if err := checkRunID(o.runID); err != nil {
		return err
	}
	// Read even with -n: a kubeconfig or context named that is not there
	// is a mistake to say, not to pass over.
	contextNS, err := o.kube.contextNamespace()
	if err != nil {
		return err
	}
	po := engine.PlanOptions{Namespace: o.kube.namespace(), RunID: o.runID,
		ContextNamespace: contextNS}
	var c *kube.Clients
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if o.preflight {
		// The plan reads (only) what it would otherwise know at run time.
		if c, err = o.kube.clients(); err != nil {
			return err
		}
		// A cluster that does not answer fails no check of the runbook's:
		// it is unusable (exit 3, as for run), not a list of failed checks.
		if _, err := c.ServerVersion(ctx); err != nil {
			server := c.Server
			if c.Source != "" {
				server += " (" + c.Source + ")"
			}
			return exitf(exitCluster, "%s plan --preflight: the cluster at %s cannot be used: %s", programName(), server, o.kube.redact(err.Error()))
		}
		po.Cluster, po.Context = c, ctx
	}
	p, err := engine.MakePlan(rb, po)
	if err != nil {
		return exitf(exitInvalid, "%s: %v", file, err)
	}
	failed := 0
	if o.preflight {
		p.Preflight = engine.Preflight(ctx, c, p)
		for _, ch := range p.Preflight {
			if !ch.OK {
				failed++
			}
		}
	}
	// The plan shows rendered templates: secret vars are redacted.
	var out bytes.Buffer
	if err := o.write(&out, p); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, redactPrinted(p.Secrets(), out.String())); err != nil {
		return err
	}
	if failed > 0 {
		return exitf(exitFailed, "preflight: %d check(s) failed", failed)
	}
	return nil
}

func (o *planOptions) write(stdout io.Writer, p *engine.Plan) error {
	switch o.output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	case "yaml":
		enc := yaml.NewEncoder(stdout)
		enc.SetIndent(2)
		if err := enc.Encode(p); err != nil {
			return err
		}
		return enc.Close()
	}
	return writePlanText(stdout, p)
}

type schemaOptions struct{ result bool }

// AddFlags registers the command's flags on its own FlagSet.
func (o *schemaOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.result, "result", false, "print the JSON Schema of run results instead")
}

// Run runs the command with its positional arguments.
func (o *schemaOptions) Run(_ []string, stdout, _ io.Writer) error {
	if o.result {
		b, err := report.ResultSchema()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	_, err := stdout.Write(schemas.Runbook)
	return err
}

type reportOptions struct {
	output string
	out    string
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *reportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", "md", "format: "+strings.Join(report.Formats(), ", "))
	fs.StringVar(&o.out, "to", "", "write to this file instead of standard output (whole or not at all; missing directories are made)")
}

// Run runs the command with its positional arguments.
func (o *reportOptions) Run(args []string, stdout, _ io.Writer) error {
	if len(args) != 1 {
		return exitf(exitInvalid, "%s report: expected one RESULT.json (- for standard input)", programName())
	}
	render, err := report.Lookup(o.output)
	if err != nil {
		return exitf(exitInvalid, "--output: %v", err)
	}
	res, err := readResult(args[0])
	if err != nil {
		return err
	}
	if o.out != "" {
		// As run writes its reports: whole, or not at all.
		if err := writeReport(reportTarget{format: o.output, path: o.out, render: render}, res); err != nil {
			return exitf(exitInvalid, "--to: %v", err)
		}
		return nil
	}
	return render(stdout, res)
}

// maxResultBytes bounds a JSON result read back: far above what a run
// writes (each output in it is capped), far below what would exhaust memory.
const maxResultBytes = 256 << 20

// readResult reads a saved JSON result from a file, or from standard input
// when the name is "-". A file is decoded as it is read, a step at a time
// (report.DecodeJSON), so that a large result is never held twice; only
// when that fails is it read again whole, to say where it is wrong.
func readResult(name string) (*report.Result, error) {
	var r io.Reader = stdin
	shown := stdinName
	size := int64(-1)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, exitf(exitInvalid, "%v", err)
		}
		defer f.Close()
		r, shown = f, name
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		if size > maxResultBytes {
			return nil, tooLargeResult(shown)
		}
		if size >= 0 {
			if res, err := report.DecodeJSON(io.LimitReader(f, maxResultBytes+1)); err == nil {
				return res, nil
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, exitf(exitInvalid, "%s: %v", shown, err)
			}
		}
	}
	var data []byte
	var err error
	if size < 0 {
		// A pipe is read once: decoded as it comes, its text kept only to
		// say where it is wrong (no copies as a growing buffer would make
		// of it, no second decoding).
		var seen chunks
		res, derr := report.DecodeJSON(io.TeeReader(io.LimitReader(r, maxResultBytes+1), &seen))
		if derr == nil {
			return res, nil
		}
		var syntax *json.SyntaxError
		if errors.As(derr, &syntax) {
			// Not JSON where the decoder stopped, in what it has read:
			// what follows cannot move that, and is not read (garbage or
			// /dev/zero piped in would be read to the limit and kept).
			data = seen.bytes()
		} else {
			rest, rerr := io.ReadAll(io.LimitReader(r, int64(maxResultBytes+1-seen.n)))
			data, err = append(seen.bytes(), rest...), rerr
		}
	} else {
		data, err = readAtMost(r, size, maxResultBytes)
	}
	if err != nil {
		return nil, exitf(exitInvalid, "%s: %v", shown, err)
	}
	if len(data) > maxResultBytes {
		return nil, tooLargeResult(shown)
	}
	res, err := report.ParseJSON(data)
	if err != nil {
		return nil, exitf(exitInvalid, "%s: %v", shown, err)
	}
	return res, nil
}

// chunks keeps what is written to it in pieces of up to chunkSize bytes:
// unlike a growing buffer, it never copies what it holds.
type chunks struct {
	parts [][]byte
	n     int
}

const chunkSize = 1 << 20

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	c.n += n
	for len(p) > 0 {
		if len(c.parts) == 0 || len(c.parts[len(c.parts)-1]) == chunkSize {
			c.parts = append(c.parts, make([]byte, 0, chunkSize))
		}
		last := &c.parts[len(c.parts)-1]
		k := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// bytes joins the pieces.
func (c *chunks) bytes() []byte {
	return bytes.Join(c.parts, nil)
}

func tooLargeResult(shown string) error {
	return exitf(exitInvalid, "%s: larger than %d MiB, which no run writes: not a runbook result", shown, maxResultBytes>>20)
}

// readAtMost reads r, whose size is size, to its end, or to one byte past
// limit: into one buffer of size+1 bytes, growing only if the file grew
// since.
func readAtMost(r io.Reader, size int64, limit int) ([]byte, error) {
	lr := io.LimitReader(r, int64(limit)+1)
	buf := make([]byte, size+1)
	n, err := io.ReadFull(lr, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return buf[:n], nil
	case err != nil:
		return nil, err
	}
	rest, err := io.ReadAll(lr)
	return append(buf, rest...), err
}

// checkRunID checks a --run-id: it becomes a label value and part of names.
func checkRunID(id string) error {
	if id == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(id); len(errs) > 0 || len(id) > 40 {
		return exitf(exitInvalid, "--run-id %q: must be at most 40 lowercase letters, digits and '-', starting and ending with a letter or digit", id)
	}
	return nil
}

// shortenedInText finds where a printed value was shortened ("… (12 more characters)", as
// expression.Shorten cuts a target, a note, an assertion's value).
var shortenedInText = regexp.MustCompile(`… \(\d+ more characters\)`)

// redactPrinted redacts the secrets red knows from text printed without a run (a plan, RBAC
// rules): every form of them, and, before each value the text shortened, the start of a
// secret the cut left there (Redactor.Cut), which no whole form matches.
func redactPrinted(red *report.Redactor, text string) string {
	locs := shortenedInText.FindAllStringIndex(text, -1)
	if len(locs) == 0 {
		return red.Known(text)
	}
	var b strings.Builder
	prev := 0
	for _, loc := range locs {
		b.WriteString(red.Cut(text[prev:loc[0]]))
		b.WriteString(text[loc[0]:loc[1]])
		prev = loc[1]
	}
	b.WriteString(red.Known(text[prev:]))
	return b.String()
}

// varHead is what an error may show of a malformed --var argument: up to its
// first ':' or the first 20 characters (the name a user meant), then "…".
func varHead(kv string) string {
	head := kv
	if i := strings.IndexAny(head, ": "); i >= 0 {
		head = head[:i+1]
	}
	if r := []rune(head); len(r) > 20 {
		head = string(r[:20])
	}
	if head != kv {
		head += "…"
	}
	return head
}
