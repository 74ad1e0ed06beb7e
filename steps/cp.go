package steps

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// Limits of a cp step.
const (
	// MaxCpBytes is the largest maxBytes a cp step may ask for (1 GiB).
	MaxCpBytes int64 = 1 << 30
	// maxCpContentBytes caps the small text files a cp step keeps whole in its result,
	// all together, so a directory of many small files does not swell the reports; the
	// files beyond are linked only.
	maxCpContentBytes = 64 << 10
)

// CpStep copies a file or a directory out of a running container into the
// run's artifact directory, as `kubectl cp POD:PATH DEST` does: it runs
// `tar cf - -C DIR -- BASE` in the container over exec and extracts the
// stream as it comes, up to a byte cap. Symlinks, hard links, devices and
// FIFOs are not copied (stderr says which); a copy never overwrites. The
// container needs tar: to copy out of a distroless container, copy from an
// ephemeral debugger that shares its process namespace, at /proc/1/root/PATH.
type CpStep struct {
	// PodTarget is the pod to copy from.
	PodTarget `yaml:",inline" json:",inline"`
	// Container to copy from (default: the pod's default container, as
	// kubectl picks it). It may be an ephemeral container, such as the
	// debugger of an earlier debug step: ${{ steps.ID.container.name }}.
	Container expression.Template `yaml:"container,omitempty" json:"container,omitempty"`
	// Path is the absolute path of a file or a directory in the container,
	// e.g. /host/etc/hostname in a node pod, or /proc/1/root/etc/app in an
	// ephemeral debugger that targets the app's container.
	Path expression.Template `yaml:"path" json:"path"`
	// To is where the copy goes, relative to the run's artifact directory
	// (default: the base name of path). It must not exist yet.
	To expression.Template `yaml:"to,omitempty" json:"to,omitempty"`
	// MaxBytes caps the bytes copied, all files together (default 10 MiB,
	// at most 1 GiB). The copy stops at the cap; the result says it was cut.
	MaxBytes int64 `yaml:"maxBytes,omitempty" json:"maxBytes,omitempty" omit:"the default of 10 MiB"`
}

var cpKind = Kind{
	Name:    "cp",
	Summary: "copy a file or directory out of a container into the run's artifacts (kubectl cp POD:PATH)",
	New:     func() Action { return &CpStep{} },
	Results: []Result{resultPod, resultStderr, resultFiles},
}

// resultFiles is what a cp step copied: one entry per file, with its path
// in the artifact directory, size, sha256, whether it was cut at the cap,
// and for small text files their content.
var resultFiles = Result{runbook.Result{Name: "files", Type: []any{},
	Doc: "the files copied: path, size, sha256, truncated, text, and content for small text files"},
	valueOf("files")}

// filesOf is the files result of a cp step's artifacts.
func filesOf(arts []report.Artifact) []any {
	out := make([]any, 0, len(arts))
	for _, a := range arts {
		out = append(out, map[string]any{"path": a.Path, "size": a.Size, "sha256": a.SHA256,
			"truncated": a.Truncated, "text": a.Text, "content": a.Content})
	}
	return out
}

// Check implements Action.
func (s *CpStep) Check(*runbook.CheckContext) []runbook.FieldError {
	errs := append(s.checkTarget(), checkName("container", s.Container, containerName)...)
	switch {
	case s.Path.IsZero():
		errs = append(errs, fieldErr("path", "path is required (an absolute path in the container, e.g. /etc/hostname)"))
	case !s.Path.HasExpressions():
		if _, err := kube.TarCommand(s.Path.Raw); err != nil {
			errs = append(errs, fieldErr("path", "%v", err))
		}
	}
	if !s.To.IsZero() && !s.To.HasExpressions() {
		if _, err := kube.CleanArtifactPath(s.To.Raw); err != nil {
			errs = append(errs, fieldErr("to", "%v", err))
		}
	}
	if s.MaxBytes < 0 || s.MaxBytes > MaxCpBytes {
		errs = append(errs, fieldErr("maxBytes", "maxBytes must be between 1 and %d (1 GiB), not %d", MaxCpBytes, s.MaxBytes))
	}
	return errs
}

// cpArgs are a cp step's fields, rendered.
type cpArgs struct {
	ns, pod, container, src, to string
}

func (s *CpStep) args(r renderFunc, ns, pod string) (cpArgs, error) {
	a := cpArgs{ns: ns, pod: pod}
	var err error
	if a.container, err = r(s.Container); err != nil {
		return a, err
	}
	if a.src, err = r(s.Path); err != nil {
		return a, err
	}
	if a.to, err = r(s.To); err != nil {
		return a, err
	}
	if a.to == "" {
		a.to = path.Base(path.Clean(a.src))
	}
	return a, nil
}

func (s *CpStep) maxBytes() int64 {
	if s.MaxBytes > 0 {
		return s.MaxBytes
	}
	return kube.DefaultCopyMaxBytes
}

func (a cpArgs) kubectl(dest string) string {
	cmd := fmt.Sprintf("kubectl cp %s %s", shellQuote(a.ns+"/"+a.pod+":"+a.src), shellQuote(dest))
	if a.container != "" {
		cmd += " -c " + shellQuote(a.container)
	}
	return cmd
}

// Plan implements Action.
func (s *CpStep) Plan(p *Planner) (*Planned, error) {
	pt := s.spec(kube.ChooseAttach).plan(p, p.Namespace, true)
	a, _ := s.args(plannerRender(p), pt.ns, pt.name)
	command, err := kube.TarCommand(a.src)
	if err != nil && !s.Path.HasExpressions() {
		return nil, err
	}
	if err != nil {
		command = []string{"tar", "cf", "-", "-C", "<dir of " + a.src + ">", "--", "<base of " + a.src + ">"}
	}
	container, kubectlContainer := a.container, a.container
	pl := pt.planned()
	if pt.pod != nil && !kube.Unknown(a.container) {
		// The pod is known: the container chosen as the run chooses it (but not whether
		// it runs, which the plan cannot know).
		if c, ok := planChoice(pl, pt.pod, a.container, kube.ChooseAttach); ok {
			container, kubectlContainer = c, c
		}
	}
	if container == "" {
		container = "<default container of " + pt.name + ">"
	}
	dest := "<artifacts>/" + a.to
	pl.Kubectl = cpArgs{ns: a.ns, pod: pt.kubectlName(false), container: kubectlContainer, src: a.src}.kubectl(dest)
	if !pt.listed {
		pl.Calls = append(pl.Calls, Call{Verb: "get", Resource: "pods", Namespace: a.ns, Name: a.pod,
			Note: "read the pod to choose and check the container (from the run's pod watch when it has it)"})
	}
	pl.Calls = append(pl.Calls, Call{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: a.ns, Name: a.pod,
		Body: map[string]any{"container": container, "command": command, "stdout": true, "stderr": true},
		Note: fmt.Sprintf("tar streamed over WebSocket (SPDY as the fallback) into %s; at most %d bytes", dest, s.maxBytes())})
	pl.Notes = append(pl.Notes, "writes "+dest+" in the run's artifact directory (--artifacts); symlinks, hard links, devices and FIFOs are not copied")
	return pl, nil
}

// Run implements Action.
func (s *CpStep) Run(ctx context.Context, e *Env) *Outcome {
	out := &Outcome{}
	t, err := s.spec(kube.ChooseAttach).resolve(ctx, e, out, e.Namespace)
	if err != nil {
		return out.fail(err)
	}
	a, err := s.args(envRender(e), t.ns, t.name)
	if err != nil {
		return out.fail(err)
	}
	if _, err := kube.TarCommand(a.src); err != nil {
		return out.fail(fmt.Errorf("path: %w", err))
	}
	if a.to, err = kube.CleanArtifactPath(a.to); err != nil {
		return out.fail(fmt.Errorf("to: %w", err))
	}
	if e.ArtifactDir == "" {
		return out.fail(errors.New("the run has no artifact directory to copy into (runbook run --artifacts DIR)"))
	}
	pod, err := t.podOf(ctx, e, out)
	if err != nil {
		return out.fail(err)
	}
	out.Pod = ObjectMap(pod)
	var notes []string
	a.container, notes, err = cpContainer(pod, a.container)
	if err != nil {
		return out.fail(err)
	}
	out.Kubectl = a.kubectl(filepath.Join(e.ArtifactDir, filepath.FromSlash(a.to)))
	e.logf("copying %s from container %s of pod %s/%s", a.src, a.container, a.ns, a.pod)
	res := kube.CopyFrom(ctx, e.Clients, a.ns, a.pod, a.container, a.src, e.ArtifactDir, a.to,
		kube.CopyFromOptions{MaxBytes: s.maxBytes()})
	out.Touched = append(out.Touched, ObjectRef{Kind: "Pod", Namespace: a.ns, Name: a.pod, Action: report.ActionExec})
	budget := maxCpContentBytes
	for _, f := range res.Files {
		art := report.NewArtifact(f.Path, fmt.Sprintf("pod %s/%s container %s:%s", a.ns, a.pod, a.container, f.Source),
			f.Size, f.Truncated, f.SHA256, f.Head)
		if len(art.Content) > budget {
			art.Content = ""
		}
		budget -= len(art.Content)
		out.Artifacts = append(out.Artifacts, art)
	}
	out.Values = map[string]any{resultFiles.Name: filesOf(out.Artifacts)}
	// kubectl's notes on the container first, as kubectl cp prints them before tar runs.
	out.Stderr = res.Stderr
	if len(notes) > 0 {
		out.Stderr = strings.Join(notes, "\n") + "\n" + res.Stderr
	}
	for _, n := range res.Notes {
		out.Stderr += "cp: " + n + "\n"
	}
	return out.fail(cpError(res.Err, a))
}

// cpContainer picks the container to copy from as kubectl cp does (chooseContainer, the
// rule of kubectl exec), with kubectl's notes, and checks that it runs: tar cannot run in
// a container that has stopped.
func cpContainer(pod *corev1.Pod, name string) (string, []string, error) {
	id := pod.Namespace + "/" + pod.Name
	name, notes, err := chooseContainer(pod, name, kube.ChooseAttach)
	if err != nil {
		return "", nil, err
	}
	if st := kube.ContainerStatus(pod, name); st != nil && st.State.Running == nil {
		state := "not started"
		switch {
		case st.State.Waiting != nil:
			state = "waiting: " + st.State.Waiting.Reason
		case st.State.Terminated != nil:
			state = fmt.Sprintf("terminated with exit code %d", st.State.Terminated.ExitCode)
		}
		return "", notes, fmt.Errorf("container %q of pod %s is not running (%s): cp runs tar in it, so it must run. "+
			"A debug or node step whose container a cp reads needs waitFor: Running and a command that keeps running, e.g. [sleep, \"3600\"]",
			name, id, state)
	}
	return name, notes, nil
}

// cpError says what to do about the failures people meet.
func cpError(err error, a cpArgs) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kube.ErrNoTar):
		said := strings.TrimPrefix(err.Error(), kube.ErrNoTar.Error()+": ")
		return fmt.Errorf("container %q of pod %s/%s has no tar, which cp runs in it (as kubectl cp does). "+
			"To copy out of a distroless container, attach an ephemeral debugger that shares its process namespace "+
			"(a debug step with target: %s, waitFor: Running and a command such as [sleep, \"3600\"]), then copy from the debugger "+
			"with container: ${{ steps.ID.container.name }} and path: /proc/1/root%s. The runtime said: %s",
			a.container, a.ns, a.pod, a.container, a.src, said)
	case errors.Is(err, kube.ErrNoSuchPath):
		return fmt.Errorf("%s does not exist in container %q of pod %s/%s: %v", a.src, a.container, a.ns, a.pod, err)
	}
	return fmt.Errorf("copying %s from container %q of pod %s/%s: %w", a.src, a.container, a.ns, a.pod, err)
}
