package steps

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// ExecStep runs a command in a running container, as `kubectl exec` does
// (WebSocket, with SPDY as the fallback). A command that cannot start, such
// as /bin/sh in a distroless image, is a result with error set.
type ExecStep struct {
	// PodTarget is the pod to run the command in.
	PodTarget `yaml:",inline" json:",inline"`
	// Container in the pod (default: the pod's default container, as kubectl
	// exec picks it: the kubectl.kubernetes.io/default-container annotation,
	// else the first container; see "Containers" in docs/format.md).
	Container expression.Template `yaml:"container,omitempty" json:"container,omitempty"`
	// Command is the argv to run; no shell unless you name one.
	Command []expression.Template `yaml:"command" json:"command"`
	// Stdin is text written to the command's standard input.
	Stdin expression.Template `yaml:"stdin,omitempty" json:"stdin,omitempty"`
}

var execKind = Kind{
	Name:    "exec",
	Summary: "run a command in a running container (kubectl exec)",
	New:     func() Action { return &ExecStep{} },
	Results: []Result{resultStdout, resultStderr, resultExitCode},
}

// Check implements Action.
func (s *ExecStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := append(s.checkTarget(), checkName("container", s.Container, containerName)...)
	if len(s.Command) == 0 {
		errs = append(errs, fieldErr("command", "command is required (a list: [ps, -ef])"))
	}
	return errs
}

func (s *ExecStep) kubectl(ns, pod, container string, argv []string) string {
	cmd := fmt.Sprintf("kubectl exec %s -n %s", shellQuote(pod), shellQuote(ns))
	if container != "" {
		cmd += " -c " + shellQuote(container)
	}
	if !s.Stdin.IsZero() {
		cmd += " -i"
	}
	return cmd + " -- " + shellJoin(argv)
}

// Plan implements Action.
func (s *ExecStep) Plan(p *Planner) (*Planned, error) {
	pt := s.spec(kube.ChooseAttach).plan(p, p.Namespace, false)
	ns, pod := pt.ns, pt.name
	argv := p.RenderAll(s.Command)
	pl := pt.planned()
	c := planContainer(&pt, pl, s.Container, p.Render(s.Container), kube.ChooseAttach)
	pl.Kubectl = s.kubectl(ns, pt.kubectlName(true), c.kubectl, argv)
	pl.Calls = append(pl.Calls, Call{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns, Name: pod,
		Body: map[string]any{"container": c.call, "command": argv, "stdin": !s.Stdin.IsZero()},
		Note: "streamed over WebSocket (SPDY as the fallback)"})
	return pl, nil
}

// Run implements Action.
func (s *ExecStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := s.spec(kube.ChooseAttach).resolve(ctx, e, out, e.Namespace)
	if err != nil {
		return out.fail(err)
	}
	ns, pod := t.ns, t.name
	container, err := e.Render(s.Container)
	if err != nil {
		return out.fail(err)
	}
	argv, err := e.RenderAll(s.Command)
	if err != nil {
		return out.fail(err)
	}
	stdin, err := e.Render(s.Stdin)
	if err != nil {
		return out.fail(err)
	}
	out.Kubectl = s.kubectl(ns, pod, container, argv)
	// Without a container, kubectl's (the pod is read for it); with the pod in hand,
	// the named one is checked as kubectl checks it. The pod in out.Pod also lets the
	// Secrets it references be found without a read.
	container, p, err := stepContainer(ctx, e, out, t, container, kube.ChooseAttach)
	if err != nil {
		return out.fail(err)
	}
	out.Kubectl = s.kubectl(ns, pod, container, argv)
	if p != nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
		// kubectl exec's check, in its words, when the pod is in hand: no container of it runs.
		return out.fail(fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", p.Status.Phase))
	}
	notes := out.Stderr
	var in *strings.Reader
	if !s.Stdin.IsZero() {
		in = strings.NewReader(stdin)
	}
	if f := e.live(ctx, nil, EnteredPod{Namespace: ns, Name: pod, Pod: p}); f != nil {
		// Also hand the output over as it comes, for the live progress.
		ctx = kube.WithOutput(ctx, f)
	}
	var r kube.ExecResult
	if in != nil {
		r = kube.Exec(ctx, e.Clients, ns, pod, container, argv, in, e.MaxOutput)
	} else {
		r = kube.Exec(ctx, e.Clients, ns, pod, container, argv, nil, e.MaxOutput)
	}
	// kubectl's notes come first on stderr, as kubectl exec prints them before the command runs.
	out.Stdout, out.Stderr = r.Stdout, notes+r.Stderr
	out.ExitCode = intPtr(r.ExitCode)
	out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: ns, Name: pod, Action: report.ActionExec})
	return out.fail(r.Err)
}
