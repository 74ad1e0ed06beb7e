//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/report"
)

// lineCase is one debug, copy or node step whose printed kubectl line is
// run with a real kubectl and compared, object by object, with what the
// step built.
type lineCase struct {
	// id is the step's id; step is its body in YAML (flow style), under
	// the kind.
	id, kind, step string
	// differs are the phrases the line's "# differs:" note must hold;
	// none means the line must carry no note and build the same object.
	differs []string
	// sameNode says the copy names the original's node (the others are
	// placed by the scheduler).
	sameNode bool
	// divergence turns what kubectl built into what the step builds by
	// design, for a line with a note: the test then checks that this,
	// and nothing else, is the difference.
	divergence func(obj map[string]any)
}

// The env values a line must carry through bash and kubectl's --env
// parser (pflag's StringToString: a CSV record when there is a second
// "=", quotes trimmed otherwise).
const lineEnv = `[{name: PLAIN, value: plain}, {name: EMPTY, value: ""}, {name: SPACES, value: "a b  c"},
  {name: COMMA, value: "a,b"}, {name: EQUALS, value: "k=v,x=y"}, {name: QUOTES, value: 'say "hi"'},
  {name: QUOTED, value: '"quoted"'}, {name: SHELL, value: "$HOME $(id) 'single' ` + "`x`" + `"},
  {name: NEWLINE, value: "line1\nline2"}]`

// lineCases are the cases: every profile in each mode, the keep flags,
// env, custom, command and args (args only too), set-image (alone, with a
// command, for every container), same-node, share-processes, the pull
// policy, default names.
func lineCases(node string) []lineCase {
	var cases []lineCase
	profiles := []string{"legacy", "general", "baseline", "restricted", "netadmin", "sysadmin"}
	// Ephemeral containers (pause as the debugger: it runs as 65535, so
	// restricted's runAsNonRoot holds, and keeps running).
	cases = append(cases, lineCase{id: "debug_defaults", kind: "debug", step: `{pod: web, image: "registry.k8s.io/pause:3.10.2", target: app, waitFor: Running}`})
	for _, p := range profiles {
		cases = append(cases, lineCase{id: "debug_" + p, kind: "debug",
			step: fmt.Sprintf(`{pod: web, image: "registry.k8s.io/pause:3.10.2", container: dbg-%s, target: app, profile: %s, waitFor: Running}`, p, p)})
	}
	cases = append(cases,
		lineCase{id: "debug_env", kind: "debug", step: `{pod: web, image: "busybox:1.36", container: dbg-env, command: [sleep, "3600"], waitFor: Running, env: ` + lineEnv + `}`},
		lineCase{id: "debug_custom", kind: "debug", step: `{pod: web, image: "busybox:1.36", container: dbg-custom, command: [sleep, "3600"], waitFor: Running,
  custom: {workingDir: /tmp, env: [{name: FROM_CUSTOM, value: "x,y=z"}], securityContext: {runAsUser: 0, capabilities: {add: [NET_BIND_SERVICE]}}}}`},
		lineCase{id: "debug_args_only", kind: "debug", step: `{pod: web, image: "busybox:1.36", container: dbg-args, args: [sleep, "3600"], waitFor: Running}`},
		lineCase{id: "debug_command_args", kind: "debug", step: `{pod: web, image: "busybox:1.36", container: dbg-cmdargs, command: [sh, -c], args: ["sleep 3600"], waitFor: Running}`,
			differs: []string{"command and args"}, divergence: splitCommand("dbg-cmdargs", 2)},
		lineCase{id: "debug_pull_policy", kind: "debug", step: `{pod: web, image: "registry.k8s.io/pause:3.10.2", container: dbg-pull, imagePullPolicy: Never, waitFor: Running}`},
	)
	// Copies (waitFor None: the objects are compared, not their fate).
	cases = append(cases, lineCase{id: "copy_defaults", kind: "copy", step: `{pod: web, to: web-defaults, image: "registry.k8s.io/pause:3.10.2", waitFor: None}`})
	for _, p := range profiles {
		cases = append(cases, lineCase{id: "copy_" + p, kind: "copy",
			step: fmt.Sprintf(`{pod: web, to: web-%s, image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: %s, waitFor: None}`, p, p)})
	}
	cases = append(cases,
		lineCase{id: "copy_keep", kind: "copy", step: `{pod: web, to: web-keep, image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: general, waitFor: None,
  keepLabels: true, keepAnnotations: true, keepLiveness: true, keepReadiness: true, keepStartup: true, keepInitContainers: false}`},
		lineCase{id: "copy_keep_legacy", kind: "copy", step: `{pod: web, to: web-keep-legacy, image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: legacy, waitFor: None,
  keepLabels: true, keepAnnotations: true, keepInitContainers: false}`},
		lineCase{id: "copy_keep_some", kind: "copy", step: `{pod: web, to: web-keep-some, image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: restricted, waitFor: None,
  keepReadiness: true, keepAnnotations: true}`},
		lineCase{id: "copy_env", kind: "copy", step: `{pod: web, to: web-env, image: "busybox:1.36", container: dbg, command: [sleep, "3600"], waitFor: None, env: ` + lineEnv + `}`},
		lineCase{id: "copy_env_app", kind: "copy", step: `{pod: web, to: web-env-app, container: app, command: [/pause], waitFor: None, env: ` + lineEnv + `}`},
		lineCase{id: "copy_custom", kind: "copy", step: `{pod: web, to: web-custom, image: "busybox:1.36", container: dbg, command: [sleep, "3600"], waitFor: None,
  custom: {resources: {limits: {cpu: 100m, memory: 64Mi}}, ports: [{containerPort: 9999}], env: [{name: FROM_CUSTOM, value: "1"}], securityContext: {runAsUser: 0}}}`},
		lineCase{id: "copy_custom_app", kind: "copy", step: `{pod: web, to: web-custom-app, container: app, command: [/pause], waitFor: None,
  custom: {env: [{name: ORIG, value: changed}, {name: MORE, value: "1"}]}}`},
		lineCase{id: "copy_args_only", kind: "copy", step: `{pod: web, to: web-args, image: "busybox:1.36", container: dbg, args: [sleep, "3600"], waitFor: None}`},
		lineCase{id: "copy_args_app", kind: "copy", step: `{pod: web, to: web-args-app, container: app, args: ["-v"], waitFor: None}`},
		lineCase{id: "copy_command_args", kind: "copy", step: `{pod: web, to: web-cmdargs, image: "busybox:1.36", container: dbg, command: [sh, -c], args: ["sleep 3600"], waitFor: None}`,
			differs: []string{"command and args"}, divergence: splitCommand("dbg", 2)},
		lineCase{id: "copy_command", kind: "copy", step: `{pod: web, to: web-command, container: app, setImage: {app: "busybox:1.36"}, command: [sleep, "3600"], waitFor: None}`},
		lineCase{id: "copy_set_image_only", kind: "copy", step: `{pod: web, to: web-set-image, setImage: {side: "busybox:1.36"}, waitFor: None}`,
			differs: []string{"set-image-only"}, divergence: generalCopy},
		lineCase{id: "copy_set_image_all", kind: "copy", step: `{pod: web, to: web-set-image-all, setImage: {"*": "busybox:1.36", side: "registry.k8s.io/pause:3.10.2"},
  image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: netadmin, waitFor: None}`},
		lineCase{id: "copy_same_node", kind: "copy", step: `{pod: web, to: web-same-node, image: "registry.k8s.io/pause:3.10.2", container: dbg, sameNode: true, waitFor: None}`,
			sameNode: true},
		lineCase{id: "copy_share_processes", kind: "copy", step: `{pod: web, to: web-share, image: "registry.k8s.io/pause:3.10.2", container: dbg, profile: legacy, shareProcesses: true, waitFor: None}`},
		lineCase{id: "copy_pull_policy", kind: "copy", step: `{pod: web, to: web-pull, image: "registry.k8s.io/pause:3.10.2", container: dbg, imagePullPolicy: IfNotPresent, waitFor: None}`},
	)
	// Node debug pods.
	cases = append(cases, lineCase{id: "node_defaults", kind: "node", step: fmt.Sprintf(`{name: %s, image: "registry.k8s.io/pause:3.10.2", waitFor: Running}`, node)})
	for _, p := range profiles {
		cases = append(cases, lineCase{id: "node_" + p, kind: "node",
			step: fmt.Sprintf(`{name: %s, image: "registry.k8s.io/pause:3.10.2", profile: %s, waitFor: Running}`, node, p)})
	}
	cases = append(cases,
		lineCase{id: "node_env", kind: "node", step: fmt.Sprintf(`{name: %s, image: "busybox:1.36", command: [sleep, "3600"], waitFor: Running, env: %s}`, node, lineEnv)},
		lineCase{id: "node_custom", kind: "node", step: fmt.Sprintf(`{name: %s, image: "busybox:1.36", command: [sleep, "3600"], waitFor: Running,
  custom: {resources: {requests: {cpu: 10m}}, env: [{name: FROM_CUSTOM, value: "1"}], volumeMounts: [{name: host-root, mountPath: /host, readOnly: true}]}}`, node)},
		lineCase{id: "node_args_only", kind: "node", step: fmt.Sprintf(`{name: %s, image: "busybox:1.36", container: shell, args: [sleep, "3600"], waitFor: Running}`, node)},
		lineCase{id: "node_command_args", kind: "node", step: fmt.Sprintf(`{name: %s, image: "busybox:1.36", command: [sh, -c], args: ["sleep 3600"], waitFor: Running}`, node),
			differs: []string{"command and args"}, divergence: splitCommand("debugger", 2)},
		lineCase{id: "node_by_pod", kind: "node", step: `{pod: web, image: "registry.k8s.io/pause:3.10.2", imagePullPolicy: Never, waitFor: Running}`},
	)
	return cases
}

// TestKubectlLine runs each case's step with --keep, then the kubectl line
// the step printed, with the kubectl of the server's version, in a second
// namespace holding a twin of the target pod, and compares the objects
// kubectl made with the step's. Names, uids, times, status and runbook's
// own labels are normalised away; everything else must be equal, or differ
// exactly as the line's note and docs/format.md say.
func TestKubectlLine(t *testing.T) {
	c := connect(t)
	kubectl := kubectlBinary(t, c)
	node := c.nodeNames(t)[0]
	nsRun := c.newNamespace(t, "runbook-e2e-line-")
	nsKubectl := c.newNamespace(t, "runbook-e2e-line-kubectl-")
	for _, ns := range []string{nsRun, nsKubectl} {
		c.createTarget(t, ns, node)
	}

	cases := lineCases(node)
	var rb strings.Builder
	rb.WriteString("apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: kubectl-lines}\nspec:\n  timeout: 10m\n  allowPrivileged: true\n  steps:\n")
	for _, tc := range cases {
		fmt.Fprintf(&rb, "  - id: %s\n    continueOnError: true\n    %s: %s\n", tc.id, tc.kind, tc.step)
	}
	file := filepath.Join(t.TempDir(), "lines.yaml")
	if err := os.WriteFile(file, []byte(rb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, "run", file, "-n", nsRun, "--keep", "--report", "json="+p.json)
	if _, err := os.Stat(p.json); err != nil {
		t.Fatalf("the run wrote no result:\n%s", run)
	}
	res := readResult(t, p.json)
	if run.code != 0 || res.Verdict != report.VerdictPassed {
		t.Errorf("the run did not pass (exit %d, verdict %s):%s\n%s", run.code, res.Verdict, describeSteps(res), run)
	}

	bin := t.TempDir()
	if err := os.Symlink(kubectl, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			step := stepByID(t, res, tc.id)
			if step.Status != report.StatusPassed {
				t.Fatalf("the step %s: %s", step.Status, step.Error)
			}
			line := step.Command
			t.Logf("line: %s", line)
			checkNote(t, line, tc.differs)
			if n := strings.Count(line, nsRun); n != 1 || !strings.Contains(line, " -n "+nsRun+" ") {
				t.Fatalf("the line names namespace %s %d times, want once as -n: %s", nsRun, n, line)
			}
			want, got := c.runAndRead(t, bin, tc.kind, step, nsRun, nsKubectl)
			if tc.kind == "copy" {
				if n, _ := want["spec"].(map[string]any)["nodeName"].(string); tc.sameNode != (n == node) {
					t.Errorf("the step's copy has nodeName %q as created; want the original's (%s) only with sameNode", n, node)
				}
			}
			if tc.divergence != nil {
				if diff := cmp.Diff(want, got); diff == "" {
					t.Errorf("the line's note says it differs, but kubectl built the same object")
				}
				tc.divergence(got)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("kubectl's object differs from the step's (-step +kubectl):\n%s", diff)
			}
		})
	}
}

// runAndRead runs the line of a step that ran in nsRun in nsKubectl
// instead, and returns the object the step made (want) and the one the
// line made (got), normalised. For a debug step they are the ephemeral
// container the line names, with the pod's labels and annotations.
func (c *cluster) runAndRead(t *testing.T, bin, kind string, step *report.StepResult, nsRun, nsKubectl string) (want, got map[string]any) {
	t.Helper()
	line := step.Command
	out := runLine(t, bin, strings.Replace(line, " -n "+nsRun+" ", " -n "+nsKubectl+" ", 1))
	switch kind {
	case "debug":
		name := lineContainer(t, line)
		pod := lineTarget(t, line)
		return c.ephemeral(t, nsRun, pod, name), c.ephemeral(t, nsKubectl, pod, name)
	case "copy":
		name := regexp.MustCompile(`--copy-to=(\S+)`).FindStringSubmatch(line)[1]
		return c.podObject(t, nsRun, name), c.podObject(t, nsKubectl, name)
	case "node":
		m := regexp.MustCompile(`Creating debugging pod (\S+) with container`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("kubectl did not say which pod it created:\n%s", out)
		}
		return c.podObject(t, nsRun, createdPod(t, step)), c.podObject(t, nsKubectl, m[1])
	}
	t.Fatalf("no comparison for kind %q", kind)
	return nil, nil
}

// lineTarget is what a `kubectl debug TARGET -n NS ...` line debugs: a
// pod's name, or node/NAME.
func lineTarget(t *testing.T, line string) string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "kubectl" || f[1] != "debug" {
		t.Fatalf("not a kubectl debug line: %s", line)
	}
	return f[2]
}

// TestKubectlLineExamples runs the examples that run as they are with
// --keep and, for each of their debug, copy and node steps, the printed
// line in a namespace of its own holding a twin of the pod the step read
// (its spec on the same node, its labels and annotations but runbook's),
// and compares the objects as TestKubectlLine does. The examples' lines
// carry no "differs" note: each must build the step's object.
func TestKubectlLineExamples(t *testing.T) {
	c := connect(t)
	kubectl := kubectlBinary(t, c)
	bin := t.TempDir()
	if err := os.Symlink(kubectl, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	for _, ex := range []string{"distroless", "ephemeral", "copy", "crashloop-copy", "node", "cp"} {
		t.Run(ex, func(t *testing.T) {
			nsRun := c.newNamespace(t, "runbook-e2e-line-ex-")
			p := newReportPaths(t)
			run := runCLI(t, "run", repoFile("examples/"+ex+".yaml"), "-n", nsRun, "--keep",
				"--artifacts", t.TempDir(), "--report", "json="+p.json)
			if _, err := os.Stat(p.json); err != nil {
				t.Fatalf("the run wrote no result:\n%s", run)
			}
			res := readResult(t, p.json)
			if run.code != 0 {
				// What is compared is the objects, which a failed
				// assertion does not change; a step that made none fails
				// its comparison below.
				t.Logf("the run failed (verdict %s):%s", res.Verdict, describeSteps(res))
			}
			seen := 0
			for _, s := range res.Steps {
				if s.Kind != "debug" && s.Kind != "copy" && s.Kind != "node" {
					continue
				}
				steps := []report.StepResult{s}
				if len(s.Targets) > 0 {
					steps = s.Targets
				}
				for i := range steps {
					step := &steps[i]
					seen++
					t.Run(fmt.Sprintf("%d_%s_%d", s.Index, s.Kind, i), func(t *testing.T) {
						t.Logf("line: %s", step.Command)
						checkNote(t, step.Command, nil)
						nsKubectl := c.newNamespace(t, "runbook-e2e-line-ex-kubectl-")
						if target := lineTarget(t, step.Command); !strings.HasPrefix(target, "node/") {
							c.twin(t, nsRun, nsKubectl, target, s.Kind == "debug")
						}
						want, got := c.runAndRead(t, bin, s.Kind, step, nsRun, nsKubectl)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("kubectl's object differs from the step's (-step +kubectl):\n%s", diff)
						}
					})
				}
			}
			if seen == 0 {
				t.Errorf("the example has no debug, copy or node step")
			}
		})
	}
}

// twin creates in namespace to a pod like pod name of namespace from, as
// it was before the run's debuggers: its spec (on the same node) without
// ephemeral containers, its labels and annotations without runbook's. A
// twin that an ephemeral debugger will join must run first.
func (c *cluster) twin(t *testing.T, from, to, name string, running bool) {
	t.Helper()
	p, err := c.client.CoreV1().Pods(from).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the original %s/%s: %v", from, name, err)
	}
	dropMarks(t, p)
	tw := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Labels: p.Labels, Annotations: p.Annotations}, Spec: *p.Spec.DeepCopy()}
	tw.Spec.EphemeralContainers = nil
	if _, err := c.client.CoreV1().Pods(to).Create(t.Context(), tw, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the twin of %s/%s in %s: %v", from, name, to, err)
	}
	if !running {
		return
	}
	if _, err := c.waitForPod(t.Context(), to, name, func(p *corev1.Pod) (bool, error) {
		return p.Status.Phase == corev1.PodRunning, stuck(p)
	}); err != nil {
		t.Fatalf("the twin: %v", err)
	}
}

// kubectlBinary builds (or finds in the cache) the kubectl of the server's
// version with hack/kubectl.sh and returns its path. The Cloud SDK's
// dispatcher at /usr/bin/kubectl is never used.
func kubectlBinary(t *testing.T, c *cluster) string {
	t.Helper()
	v, err := c.client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, repoFile("hack/kubectl.sh"), v.GitVersion)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/kubectl.sh %s: %v\n%s", v.GitVersion, err, stderr.String())
	}
	path := strings.TrimSpace(string(out))
	vout, err := exec.CommandContext(ctx, path, "version", "--client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", path, err)
	}
	var cv struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
	}
	if err := json.Unmarshal(vout, &cv); err != nil || cv.ClientVersion.GitVersion != v.GitVersion {
		t.Fatalf("%s is kubectl %q (%v), want the server's %s", path, cv.ClientVersion.GitVersion, err, v.GitVersion)
	}
	t.Logf("kubectl %s (the server's version): %s", v.GitVersion, path)
	return path
}

// createTarget creates the pod the cases debug, web, in ns on node, and
// waits until it runs: labels, annotations, an init container, probes of
// each kind (delayed an hour, so they never act), two containers, no
// service account token (its volume's name is random).
func (c *cluster) createTarget(t *testing.T, ns, node string) {
	t.Helper()
	probe := func(port int32) *corev1.Probe {
		return &corev1.Probe{InitialDelaySeconds: 3600, ProbeHandler: corev1.ProbeHandler{
			TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "the original"}},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			InitContainers:                []corev1.Container{{Name: "init", Image: "busybox:1.36", Command: []string{"true"}}},
			Containers: []corev1.Container{
				{Name: "app", Image: "registry.k8s.io/pause:3.10.2", Env: []corev1.EnvVar{{Name: "ORIG", Value: "1"}},
					LivenessProbe: probe(8080), ReadinessProbe: probe(8081), StartupProbe: probe(8082)},
				{Name: "side", Image: "registry.k8s.io/pause:3.10.2"},
			},
		},
	}
	if _, err := c.client.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the target pod in %s: %v", ns, err)
	}
	running := func(p *corev1.Pod) (bool, error) {
		if err := stuck(p); err != nil {
			return false, err
		}
		return p.Status.Phase == corev1.PodRunning, nil
	}
	if _, err := c.waitForPod(t.Context(), ns, "web", running); err != nil {
		t.Fatalf("the target pod: %v", err)
	}
}

// checkNote checks the line's "# differs:" note against the case.
func checkNote(t *testing.T, line string, want []string) {
	t.Helper()
	_, note, has := strings.Cut(line, "  # differs: ")
	if len(want) == 0 && has {
		t.Errorf("the line has a note, want none: %s", note)
	}
	if len(want) > 0 && !has {
		t.Errorf("the line has no note, want one saying %q", want)
	}
	for _, w := range want {
		if !strings.Contains(note, w) {
			t.Errorf("the line's note %q does not say %q", note, w)
		}
	}
}

// runLine runs a printed line with bash (it may use process
// substitution), with the test's kubectl first in PATH, and returns its
// output.
func runLine(t *testing.T, bin, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the line failed: %v\n%s\n%s", err, line, out)
	}
	return string(out)
}

// lineContainer is the debug container a line names with -c.
func lineContainer(t *testing.T, line string) string {
	t.Helper()
	m := regexp.MustCompile(` -c (\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("the line names no container (-c): %s", line)
	}
	return m[1]
}

// createdPod is the pod a step created, from its result.
func createdPod(t *testing.T, step *report.StepResult) string {
	t.Helper()
	for _, o := range step.Objects {
		if o.Kind == "Pod" && o.Action == report.ActionCreated {
			return o.Name
		}
	}
	t.Fatalf("the step created no pod: %+v", step.Objects)
	return ""
}

// ephemeral returns the ephemeral container name of pod ns/pod, with the
// pod's labels and annotations (kubectl may change them too), normalised.
func (c *cluster) ephemeral(t *testing.T, ns, pod, name string) map[string]any {
	t.Helper()
	p, err := c.client.CoreV1().Pods(ns).Get(t.Context(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading pod %s/%s: %v", ns, pod, err)
	}
	dropMarks(t, p)
	for _, ec := range p.Spec.EphemeralContainers {
		if ec.Name == name {
			obj := toMap(t, ec)
			sortEnv(obj)
			out := map[string]any{"container": obj}
			if len(p.Labels) > 0 {
				out["labels"] = p.Labels
			}
			if len(p.Annotations) > 0 {
				out["annotations"] = p.Annotations
			}
			return out
		}
	}
	t.Fatalf("pod %s/%s has no ephemeral container %q", ns, pod, name)
	return nil
}

// podObject reads pod ns/name and normalises it: no namespace, uid, times,
// status or managed fields; no label or annotation of runbook's own (and
// kubectl's app.kubernetes.io/managed-by, its own mark since v1.37); a
// generated node pod name replaced; env sorted by name (kubectl reads
// --env into a map, so its order is random); spec.nodeName kept only when
// the creator set it, not when the scheduler did.
func (c *cluster) podObject(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	p, err := c.client.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading pod %s/%s: %v", ns, name, err)
	}
	creatorSetNode := false
	for _, mf := range p.ManagedFields {
		if mf.Subresource == "" && mf.FieldsV1 != nil && strings.Contains(mf.FieldsV1.GetRawString(), `"f:nodeName"`) {
			creatorSetNode = true
		}
	}
	dropMarks(t, p)
	obj := toMap(t, p)
	meta := map[string]any{"name": p.Name}
	if strings.HasPrefix(p.Name, "node-debugger-") {
		meta["name"] = "<node debug pod>"
	}
	if len(p.Labels) > 0 {
		meta["labels"] = p.Labels
	}
	if len(p.Annotations) > 0 {
		meta["annotations"] = p.Annotations
	}
	obj["metadata"] = meta
	delete(obj, "status")
	spec := obj["spec"].(map[string]any)
	if !creatorSetNode {
		delete(spec, "nodeName")
	}
	sortEnv(spec)
	return obj
}

// tokenVolume is the name the ServiceAccount admission plugin gives the
// token volume it adds to a pod: kube-api-access- and a random suffix.
var tokenVolume = regexp.MustCompile(`"kube-api-access-[a-z0-9]{5}"`)

// dropMarks removes from a pod the labels and annotations of runbook's own
// (the run's labels, its deadline) and kubectl's (v1.37 and later label a
// node pod app.kubernetes.io/managed-by=kubectl-debug); any other value of
// that label is an error.
func dropMarks(t *testing.T, p *corev1.Pod) {
	t.Helper()
	switch v := p.Labels[labelManagedBy]; v {
	case "", "runbook", "kubectl-debug":
		delete(p.Labels, labelManagedBy)
	default:
		t.Errorf("pod %s/%s: label %s=%q, want runbook's or kubectl's own", p.Namespace, p.Name, labelManagedBy, v)
	}
	for k := range p.Labels {
		if strings.HasPrefix(k, "runbook/") {
			delete(p.Labels, k)
		}
	}
	for k := range p.Annotations {
		if strings.HasPrefix(k, "runbook/") {
			delete(p.Annotations, k)
		}
	}
}

// toMap turns an API object into plain JSON data, through its JSON form
// (what a diff shows is what kubectl get -o json would), with the token
// volume's generated name replaced.
func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	b = tokenVolume.ReplaceAll(b, []byte(`"kube-api-access-<generated>"`))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// sortEnv sorts by name the env of every container under obj (a pod spec
// or a container).
func sortEnv(obj map[string]any) {
	if env, ok := obj["env"].([]any); ok {
		sort.SliceStable(env, func(i, j int) bool {
			return fmt.Sprint(env[i].(map[string]any)["name"]) < fmt.Sprint(env[j].(map[string]any)["name"])
		})
	}
	for _, key := range []string{"containers", "initContainers", "ephemeralContainers"} {
		list, _ := obj[key].([]any)
		for _, c := range list {
			sortEnv(c.(map[string]any))
		}
	}
}

// containerOf returns the container name of a normalised object (a pod or
// an ephemeral container record).
func containerOf(obj map[string]any, name string) map[string]any {
	if c, ok := obj["container"].(map[string]any); ok && c["name"] == name {
		return c
	}
	spec, _ := obj["spec"].(map[string]any)
	list, _ := spec["containers"].([]any)
	for _, c := range list {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

// splitCommand is the divergence of a step with both command and args:
// kubectl puts them all in command; the step keeps the first n as command
// and the rest as args, as written.
func splitCommand(container string, n int) func(map[string]any) {
	return func(obj map[string]any) {
		c := containerOf(obj, container)
		if c == nil {
			return
		}
		cmd, _ := c["command"].([]any)
		if len(cmd) <= n {
			return
		}
		c["command"], c["args"] = slices.Clone(cmd[:n]), slices.Clone(cmd[n:])
	}
}

// generalCopy is the divergence of a set-image-only copy: kubectl applies
// no profile to it; the step applies the general profile's pod-level
// changes (labels, annotations and probes removed, processes shared), so
// that the copy is not adopted by the original's ReplicaSet.
func generalCopy(obj map[string]any) {
	meta := obj["metadata"].(map[string]any)
	delete(meta, "labels")
	delete(meta, "annotations")
	spec := obj["spec"].(map[string]any)
	for _, c := range spec["containers"].([]any) {
		m := c.(map[string]any)
		delete(m, "livenessProbe")
		delete(m, "readinessProbe")
		delete(m, "startupProbe")
	}
	if _, ok := spec["shareProcessNamespace"]; !ok {
		spec["shareProcessNamespace"] = true
	}
}
