package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/steps"
)

// secretReadTimeout bounds the reads a step's redaction needs (a pod, the
// Secrets it references), whatever is left of the step's own time.
const secretReadTimeout = 15 * time.Second

// secrets is what a run knows of secrets: the Redactor every string of the
// result and of the live progress goes through, and what it needs to learn
// more as steps run. It is safe for concurrent use (fanned-out steps).
type secrets struct {
	red *report.Redactor
	// vars are the names of spec.secretVars.
	vars map[string]bool

	mu sync.Mutex
	// known are pods the run has seen (created, copied, listed, read), by
	// namespace/name, so that finding what a pod references costs nothing.
	known map[string]*corev1.Pod
	// fetched are the pods the run had not seen when a step entered them,
	// read once per run, by namespace/name; nil when they could not be read.
	fetched map[string]*once[*corev1.Pod]
	// read are the Secrets read (or found unreadable), by namespace/name;
	// nil error when read, or absent.
	read map[string]*once[error]
	// absent are the Secrets found not to exist, and when (absentRecheck).
	absent map[string]time.Time
	// derived are the vars a step set from a secret var (see Secret).
	derived  map[string]bool
	warnings []string
	warned   map[string]bool
}

// once is a value computed once per run, by the first step that needs
// it; steps of a fan-out that need it at the same time wait for it.
type once[T any] struct {
	sync.Once
	v T
}

// entry returns the entry of key, made if missing. The caller holds mu.
func entry[T any](m map[string]*once[T], key string) *once[T] {
	e := m[key]
	if e == nil {
		e = &once[T]{}
		m[key] = e
	}
	return e
}

// envMask says which environment assignments to mask in a step's output:
// those of Secrets the run could not read.
type envMask struct{ names, prefixes []string }

func newSecrets(rb *runbook.Runbook) *secrets {
	s := &secrets{red: report.NewRedactor(), vars: map[string]bool{}, known: map[string]*corev1.Pod{},
		fetched: map[string]*once[*corev1.Pod]{}, read: map[string]*once[error]{}, absent: map[string]time.Time{}, derived: map[string]bool{}, warned: map[string]bool{}}
	for _, name := range rb.Spec.SecretVars {
		s.vars[name] = true
		if v, ok := rb.Vars[name]; ok {
			s.red.Add(expression.Text(v))
		}
	}
	// Secret env values that hold no expression are known before any step.
	for _, st := range rb.ActionSteps() {
		secretEnvLiterals(reflect.ValueOf(st.Action), s.red)
	}
	return s
}

// KnownSecrets returns a Redactor of the secret values a runbook holds
// before it runs: those of spec.secretVars (with --var overrides) and the
// literal env values marked secret, for what is printed of a runbook
// without running it (a plan).
func KnownSecrets(rb *runbook.Runbook) *report.Redactor { return newSecrets(rb).red }

// secretEnvLiterals adds the literal values of the env vars marked secret
// found anywhere in an action's spec.
func secretEnvLiterals(v reflect.Value, red *report.Redactor) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			secretEnvLiterals(v.Elem(), red)
		}
	case reflect.Struct:
		if e, ok := v.Interface().(steps.EnvVar); ok {
			if e.Secret && !e.Value.HasExpressions() {
				red.Add(e.Value.Raw)
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				secretEnvLiterals(v.Field(i), red)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			secretEnvLiterals(v.Index(i), red)
		}
	}
}

// setVar learns the value set into a var named in spec.secretVars, and
// marks a var set by an expression that read a secret var (whose value
// Derived has learned) as secret for the expressions that read it next.
func (s *secrets) setVar(name string, v any, reads expression.Reads) {
	if s.vars[name] {
		s.red.Add(expression.Text(v))
	}
	if s.Secret(reads) {
		s.mu.Lock()
		s.derived[name] = true
		s.mu.Unlock()
	}
}

// Secret implements expression.Taint: an expression may make a value
// from a secret when it reads a var of spec.secretVars, a var set from
// one, or vars by a computed name while any var is secret.
func (s *secrets) Secret(r expression.Reads) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.AnyVar && len(s.vars)+len(s.derived) > 0 {
		return true
	}
	for _, name := range r.Vars {
		if s.vars[name] || s.derived[name] {
			return true
		}
	}
	return false
}

// Derived implements expression.Taint: the strings of a value made from a
// secret (upper(vars.pw)) are redacted as the secret is. A string that
// holds a known value already ("token " + vars.token) is not learned: its
// secret is redacted where it stands, and the text around it stays.
func (s *secrets) Derived(values []string) {
	for _, v := range values {
		if s.red.Known(v) == v {
			s.red.Add(v)
		}
	}
}

// checkSecretVars reports a name of spec.secretVars that is neither in
// spec.vars nor set by a step.
func checkSecretVars(rb *runbook.Runbook) error {
	known := map[string]bool{}
	for name := range rb.Spec.Vars {
		known[name] = true
	}
	for _, st := range rb.ActionSteps() {
		for _, set := range st.Set {
			known[set.Name] = true
		}
	}
	for _, name := range rb.Spec.SecretVars {
		if !known[name] {
			return fmt.Errorf("%s: spec.secretVars: %q is neither in spec.vars nor set by a step", rb.File, name)
		}
	}
	return nil
}

// knowPod remembers a pod the run has seen.
func (s *secrets) knowPod(p *corev1.Pod) {
	if p == nil || p.Name == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.known[p.Namespace+"/"+p.Name] = p
}

// learn takes in what a step's outcome tells of secrets: the values it
// found, the Secrets and pods among its objects, and the Secrets of the
// pods it entered (read once per run, with ctx's call log). It returns the
// step's stdout and stderr with the assignments of env vars masked that
// come from Secrets the run could not read.
func (r *runner) learn(ctx context.Context, kind string, out *steps.Outcome) (stdout, stderr string) {
	s := r.sec
	s.red.Add(out.Secrets...)
	if out.Pod != nil {
		var p corev1.Pod
		if fromMap(out.Pod, &p) == nil {
			s.knowPod(&p)
		}
	}
	for _, o := range append([]any{out.Object}, out.Objects...) {
		m, _ := o.(map[string]any)
		if m == nil || m["apiVersion"] != "v1" {
			continue
		}
		switch m["kind"] {
		case "Pod":
			var p corev1.Pod
			if fromMap(m, &p) == nil {
				s.knowPod(&p)
			}
		case "Secret":
			var sec corev1.Secret
			if fromMap(m, &sec) == nil {
				s.red.Add(kube.SecretValues(&sec)...)
				s.mu.Lock()
				entry(s.read, sec.Namespace+"/"+sec.Name).Do(func() {})
				s.mu.Unlock()
			}
		}
	}
	entered := enteredPods(kind, out)
	if len(entered) == 0 {
		return out.Stdout, out.Stderr
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), secretReadTimeout)
	defer cancel()
	var mask envMask
	for _, e := range entered {
		m := r.enter(rctx, e.ns, e.name)
		mask.names = append(mask.names, m.names...)
		mask.prefixes = append(mask.prefixes, m.prefixes...)
	}
	stdout, stderr = out.Stdout, out.Stderr
	if len(mask.names)+len(mask.prefixes) > 0 {
		var v1, v2 []string
		stdout, v1 = report.MaskEnv(stdout, mask.names, mask.prefixes)
		stderr, v2 = report.MaskEnv(stderr, mask.names, mask.prefixes)
		s.red.Add(append(v1, v2...)...)
	}
	return stdout, stderr
}

// podRef names a pod.
type podRef struct{ ns, name string }

// enteredPods are the pods a step's output comes from: those it ran a
// command in (exec, cp), added a debug container to (debug), or read the
// log of (logs; its target when the read failed part way); for a node
// step, its own pod and the pod it was sent to (whose processes it sees
// through /host).
func enteredPods(kind string, out *steps.Outcome) []podRef {
	var pods []podRef
	for _, t := range out.Touched {
		if t.Kind != "Pod" {
			continue
		}
		switch {
		case t.Action == report.ActionExec || t.Action == report.ActionPatched,
			kind == "logs" && t.Action == report.ActionRead,
			kind == "node" && (t.Action == report.ActionCreated || t.Action == report.ActionRead):
			pods = append(pods, podRef{t.Namespace, t.Name})
		}
	}
	if kind == "logs" && len(pods) == 0 {
		// "pod NS/NAME", or "pod NS/NAME (from deployment/web)".
		target, _, _ := strings.Cut(out.Target, " (")
		if ns, name, ok := strings.Cut(strings.TrimPrefix(target, "pod "), "/"); ok && strings.HasPrefix(target, "pod ") && !kube.Unknown(name) {
			pods = append(pods, podRef{ns, name})
		}
	}
	return pods
}

// enter finds the Secrets a pod references, as the run last saw the pod
// (a debugger added since, with its own env, included), and reads those
// not read yet; it returns what to mask for those it could not read. A pod
// the run has not seen is read once per run.
func (r *runner) enter(ctx context.Context, ns, name string) envMask {
	s := r.sec
	key := ns + "/" + name
	s.mu.Lock()
	pod := s.known[key]
	var e *once[*corev1.Pod]
	if pod == nil {
		e = entry(s.fetched, key)
	}
	s.mu.Unlock()
	if e != nil {
		e.Do(func() { e.v = r.findPod(ctx, ns, name) })
		pod = e.v
	}
	return r.lookAt(ctx, ns, name, pod)
}

// lookAt reads the Secrets pod references and returns what to mask for
// those it could not read.
func (r *runner) lookAt(ctx context.Context, ns, name string, pod *corev1.Pod) envMask {
	s := r.sec
	var m envMask
	for _, use := range kube.SecretUses(pod) {
		if err := r.readSecret(ctx, ns, use.Name); err != nil {
			m.names = append(m.names, use.Env...)
			for _, p := range use.EnvPrefixes {
				if p != "" {
					m.prefixes = append(m.prefixes, p)
				}
			}
			s.warn(unreadableSecret(ns, name, use, err))
		}
	}
	return m
}

// findPod returns a pod from the run's pod watch when it has it, else
// reads it; nil (with a warning) when it cannot be read.
func (r *runner) findPod(ctx context.Context, ns, name string) *corev1.Pod {
	r.mu.Lock()
	w := r.watchers[ns]
	r.mu.Unlock()
	if w != nil {
		if p, ok := w.Get(name); ok {
			return p
		}
	}
	p, err := r.o.Clients.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			r.sec.warn(fmt.Sprintf("could not read pod %s/%s to find the Secrets it references (%s): their values in the output of steps that entered it were not checked", ns, name, reason(err)))
		}
		return nil
	}
	r.sec.knowPod(p)
	return p
}

// absentRecheck is how long a Secret found absent is taken as absent: a
// pod entered later than that reads it again, since it may have been made
// meanwhile (by a controller, or by a step) and the pod then shows its
// values. It bounds those reads to one a second per Secret.
const absentRecheck = time.Second

// readSecret reads a Secret once per run and learns its values. It
// returns nil when the Secret was read or does not exist (an optional
// reference: it has no values to show); one that did not exist is read
// again when asked about absentRecheck later.
func (r *runner) readSecret(ctx context.Context, ns, name string) error {
	s := r.sec
	key := ns + "/" + name
	s.mu.Lock()
	if at, ok := s.absent[key]; ok && time.Since(at) >= absentRecheck {
		delete(s.absent, key)
		delete(s.read, key)
	}
	e := entry(s.read, key)
	s.mu.Unlock()
	e.Do(func() {
		sec, err := kube.ReadSecret(ctx, r.o.Clients, ns, name)
		switch {
		case err == nil:
			s.red.Add(kube.SecretValues(sec)...)
		case apierrors.IsNotFound(err):
			err = nil
			s.mu.Lock()
			s.absent[key] = time.Now()
			s.mu.Unlock()
		}
		e.v = err
	})
	return e.v
}

// unreadableSecret is the warning for a Secret a pod references that the
// run could not read.
func unreadableSecret(ns, pod string, use kube.SecretUse, err error) string {
	var masked, unchecked []string
	if len(use.Env) > 0 {
		masked = append(masked, "env "+strings.Join(use.Env, ", "))
	}
	for _, p := range use.EnvPrefixes {
		if p == "" {
			unchecked = append(unchecked, "the variables envFrom makes of it (their names are its keys)")
		} else {
			masked = append(masked, "envFrom prefix "+p)
		}
	}
	if len(use.Volumes) > 0 {
		unchecked = append(unchecked, "files of volume "+strings.Join(use.Volumes, ", "))
	}
	msg := fmt.Sprintf("could not read Secret %s/%s, which pod %s/%s references, to redact its values (%s)", ns, use.Name, ns, pod, reason(err))
	if len(masked) > 0 {
		msg += "; NAME=value lines of " + strings.Join(masked, " and ") + " are masked in the output of steps that entered the pod"
	}
	unchecked = append(unchecked, "its values anywhere else")
	return msg + "; not checked: " + strings.Join(unchecked, ", ")
}

// reason is a short form of an API error.
func reason(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden"
	}
	return err.Error()
}

// warn adds a warning to the result, once.
func (s *secrets) warn(w string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.warned[w] {
		s.warned[w] = true
		s.warnings = append(s.warnings, w)
	}
}

// Warnings returns the warnings, sorted.
func (s *secrets) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.warnings...)
	sort.Strings(out)
	return out
}

// fromMap converts an object's JSON map to a typed object.
func fromMap(m map[string]any, into any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// redactingProgress passes live progress on through the run's Redactor:
// no line a Progress writes holds a secret the run knows at that moment.
type redactingProgress struct {
	next Progress
	red  *report.Redactor
}

func (p redactingProgress) StepStarted(phase string, index int, title, kind string) {
	p.next.StepStarted(phase, index, p.red.String(title), kind)
}

func (p redactingProgress) StepDone(r *report.StepResult) {
	// A copy: the result itself is redacted once, at the end, of every
	// secret the run learned by then.
	var c report.StepResult
	b, err := json.Marshal(r)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		c = report.StepResult{Index: r.Index, Name: r.Name, Kind: r.Kind, Status: r.Status, Duration: r.Duration}
	}
	p.red.Step(&c)
	p.next.StepDone(&c)
}

func (p redactingProgress) Output(index int, target, stream, line string) {
	p.next.Output(index, p.red.String(target), stream, p.red.String(line))
}

func (p redactingProgress) Logf(format string, args ...any) {
	p.next.Logf("%s", p.red.String(fmt.Sprintf(format, args...)))
}

func (p redactingProgress) FanOut(index, done, total, failed int) {
	p.next.FanOut(index, done, total, failed)
}
