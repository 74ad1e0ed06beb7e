package steps

import (
	"context"
	"fmt"
	"time"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// LogsStep reads a container's log into stdout, as `kubectl logs` does
// (without following), capped at the run's output limit.
type LogsStep struct {
	// PodTarget is the pod whose log is read.
	PodTarget `yaml:",inline" json:",inline"`
	// Container in the pod (default: the pod's default container, as kubectl
	// logs picks it: the kubectl.kubernetes.io/default-container annotation,
	// else the first container; see "Containers" in docs/format.md).
	Container expression.Template `yaml:"container,omitempty" json:"container,omitempty"`
	// Previous reads the log of the container's previous instance, the one
	// that crashed last (kubectl logs --previous). While the container waits
	// to restart after a crash, a kubelet that has removed the instance before
	// it cannot serve that log: the step reads the crashed instance, the
	// container's current log, and warns that it did. Right after a restart
	// the kubelet cannot serve it for some seconds: the step waits for it,
	// within its timeout. A container that has not restarted has no previous
	// log: that is an error.
	Previous bool `yaml:"previous,omitempty" json:"previous,omitempty"`
	// TailLines keeps only the last lines of the log (kubectl logs --tail).
	TailLines *int64 `yaml:"tailLines,omitempty" json:"tailLines,omitempty"`
	// Since keeps only lines newer than this, e.g. 10m (kubectl logs --since).
	Since *runbook.Duration `yaml:"since,omitempty" json:"since,omitempty" omit:"the whole log"`
	// Timestamps starts each line with its RFC 3339 time, as the runtime
	// recorded it (kubectl logs --timestamps).
	Timestamps bool `yaml:"timestamps,omitempty" json:"timestamps,omitempty"`
	// LimitBytes keeps only the first bytes of the log, cut by the server
	// (kubectl logs --limit-bytes); the run's output limit applies as well.
	LimitBytes int64 `yaml:"limitBytes,omitempty" json:"limitBytes,omitempty" omit:"the whole log"`
}

var logsKind = Kind{
	Name:    "logs",
	Summary: "read a container's log into stdout (kubectl logs)",
	New:     func() Action { return &LogsStep{} },
	Results: []Result{resultStdout, resultLogsStderr},
}

// resultLogsStderr is what kubectl logs would print on stderr: its notes on the
// container it chose when the step names none.
var resultLogsStderr = Result{runbook.Result{Name: "stderr", Type: "",
	Doc: "kubectl's notes on the container chosen when the step names none (Defaulted container ...)"},
	func(o *Outcome) any { return o.Stderr }}

// Check implements Action.
func (s *LogsStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := append(s.checkTarget(), checkName("container", s.Container, containerName)...)
	if s.TailLines != nil && *s.TailLines < 0 {
		errs = append(errs, fieldErr("tailLines", "tailLines must be 0 or more (leave it out for the whole log)"))
	}
	if s.Since != nil && s.Since.Duration <= 0 {
		errs = append(errs, fieldErr("since", "since must be more than 0 (leave it out for the whole log)"))
	}
	if s.LimitBytes < 0 {
		errs = append(errs, fieldErr("limitBytes", "limitBytes must be more than 0 (leave it out for no limit)"))
	}
	return errs
}

func (s *LogsStep) options(ns, pod, container string) (string, map[string]any) {
	cmd := fmt.Sprintf("kubectl logs %s -n %s", shellQuote(pod), shellQuote(ns))
	params := map[string]any{}
	if container != "" {
		cmd += " -c " + shellQuote(container)
		params["container"] = container
	}
	if s.Previous {
		cmd += " --previous"
		params["previous"] = true
	}
	if s.TailLines != nil {
		cmd += fmt.Sprintf(" --tail=%d", *s.TailLines)
		params["tailLines"] = *s.TailLines
	}
	if s.Since != nil {
		cmd += " --since=" + s.Since.String()
		params["sinceSeconds"] = kube.SinceSeconds(s.Since.Duration)
	}
	if s.Timestamps {
		cmd += " --timestamps"
		params["timestamps"] = true
	}
	if s.LimitBytes > 0 {
		cmd += fmt.Sprintf(" --limit-bytes=%d", s.LimitBytes)
		params["limitBytes"] = s.LimitBytes
	}
	return cmd, params
}

// Plan implements Action.
func (s *LogsStep) Plan(p *Planner) (*Planned, error) {
	pt := s.spec(kube.ChooseLogs).plan(p, p.Namespace, false)
	pl := pt.planned()
	c := planContainer(&pt, pl, s.Container, p.Render(s.Container), kube.ChooseLogs)
	cmd, params := s.options(pt.ns, pt.kubectlName(true), c.kubectl)
	params["container"] = c.call
	pl.Kubectl = cmd
	pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Subresource: "log", Namespace: pt.ns, Name: pt.name, Body: params, Note: "query parameters; the log is capped at the run's output limit"})
	if s.Previous {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: pt.ns, Name: pt.name,
			Note: "when the kubelet cannot serve the previous log: is the container waiting to restart after a crash? Then its current log (the crashed instance) is read, and the pod again; else the previous log is asked again until the step's timeout"})
	}
	return pl, nil
}

// Run implements Action.
func (s *LogsStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := s.spec(kube.ChooseLogs).resolve(ctx, e, out, e.Namespace)
	if err != nil {
		return out.fail(err)
	}
	ns, pod := t.ns, t.name
	container, err := e.Render(s.Container)
	if err != nil {
		return out.fail(fmt.Errorf("container: %w", err))
	}
	out.Kubectl, _ = s.options(ns, pod, container)
	// Without a container, kubectl logs' (the pod is read for it); with the pod in
	// hand, the named one is checked as kubectl checks it. The pod in out.Pod also
	// lets the Secrets it references be found without a read.
	if container, _, err = stepContainer(ctx, e, out, t, container, kube.ChooseLogs); err != nil {
		return out.fail(err)
	}
	out.Kubectl, _ = s.options(ns, pod, container)
	o := kube.LogOptions{Previous: s.Previous, TailLines: s.TailLines, MaxBytes: e.MaxOutput, Timestamps: s.Timestamps, LimitBytes: s.LimitBytes}
	if s.Since != nil {
		d := s.Since.Duration
		o.Since = &d
	}
	var text string
	var truncated bool
	if s.Previous {
		// Right after a restart the kubelet cannot serve the previous log for some
		// seconds: wait for it, within the step's timeout. While the container waits
		// to restart, the crashed instance is read instead, with a warning.
		var l kube.PreviousLog
		l, err = kube.PreviousLogs(ctx, e.Clients, ns, pod, container, o, func(err error) {
			e.logf("waiting for the previous log of %s: %v", out.Target, err)
		})
		text, truncated = l.Text, l.Truncated
		if w := lastEndedWarning(container, l); w != "" {
			e.logf("%s", w)
			out.Warnings = append(out.Warnings, w)
		}
	} else {
		text, truncated, err = kube.Logs(ctx, e.Clients, ns, pod, container, o)
	}
	out.Stdout, out.StdoutTruncated = text, truncated
	// The server cut the log at limitBytes: its end may be the start of a secret.
	out.StdoutCut = s.LimitBytes > 0 && int64(len(text)) >= s.LimitBytes
	if err != nil {
		return out.fail(err)
	}
	out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: ns, Name: pod, Action: report.ActionRead})
	return out
}

// lastEndedWarning says, when PreviousLogs read the instance that ended last in place of
// the one before it, which instance that is and why; "" otherwise.
func lastEndedWarning(container string, l kube.PreviousLog) string {
	if l.Ended == nil {
		return ""
	}
	t := l.Ended.State.Terminated
	removed := "the instance before it"
	if prev := l.Ended.LastTerminationState.Terminated; prev != nil && prev.ContainerID != "" {
		removed += " (" + prev.ContainerID + ")"
	}
	return fmt.Sprintf("container %q is waiting to restart after a crash and the kubelet has removed %s: read the instance that ended last, %s (exit code %d, finished %s), whose log kubectl logs without --previous shows",
		container, removed, t.ContainerID, t.ExitCode, t.FinishedAt.UTC().Format(time.RFC3339))
}
