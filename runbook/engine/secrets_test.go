package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// secretPod is a pod whose env and volumes come from Secrets.
func secretPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app",
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}},
			EnvFrom: []corev1.EnvFromSource{{Prefix: "API_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}}}},
		}},
		Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls"}}}},
	}}
}

func secretObjects() []runtime.Object {
	return []runtime.Object{
		secretPod(),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Data: map[string][]byte{"password": []byte("hunter2-db-password")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "default"}, Data: map[string][]byte{"TOKEN": []byte("api-token-0123456789")}},
		// tls does not exist: an optional reference has no values.
	}
}

func countActions(cs *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource && a.GetSubresource() == "" {
			n++
		}
	}
	return n
}

// The first logs step reads the pod to choose its container (none named), and the
// run reuses it to find the Secrets; the second names its container: no read.
const logsTwice = `  steps:
  - logs: {pod: web}
  - logs: {pod: web, container: app}
  - local: {command: [echo, "DB_PASSWORD=hunter2-db-password API_TOKEN=api-token-0123456789"]}
`

// TestRunReadsSecretsOfEnteredPods reads the Secrets a pod references when
// a step reads its logs, once per run, and redacts their values anywhere.
func TestRunReadsSecretsOfEnteredPods(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+logsTwice), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(secretObjects()...)
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default"), RunID: "rb-test"})
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s: %s %+v", res.Verdict, res.Error, res.Steps)
	}
	if out := res.Steps[2].Stdout; out != "DB_PASSWORD=*** API_TOKEN=***\n" {
		t.Errorf("values of the pod's Secrets not redacted: %q", out)
	}
	if n := countActions(cs, "get", "secrets"); n != 3 {
		t.Errorf("%d reads of secrets, want 3 (db, api, tls), once per run", n)
	}
	if n := countActions(cs, "get", "pods"); n != 1 {
		t.Errorf("%d reads of the pod, want 1", n)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
}

// TestRunMasksEnvOfUnreadableSecrets: without the right to read the
// Secrets, the assignments of the env vars they set are masked in the
// output of steps that enter the pod, the values masked are redacted
// elsewhere too, and the result says what was not checked.
func TestRunMasksEnvOfUnreadableSecrets(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+logsTwice), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(secretObjects()...)
	cs.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, a.(k8stesting.GetAction).GetName(), nil)
	})
	r := &runner{rb: rb, o: RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default")}, sec: newSecrets(rb), watchers: map[string]*kube.PodWatcher{}}
	out := &steps.Outcome{
		Stdout:  "HOME=/root\nDB_PASSWORD=hunter2-db-password\nAPI_TOKEN=api-token-0123456789\nPATH=/bin\n",
		Touched: []steps.ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "exec"}},
	}
	stdout, _ := r.learn(context.Background(), "exec", out)
	if want := "HOME=/root\nDB_PASSWORD=***\nAPI_TOKEN=***\nPATH=/bin\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if got := r.sec.red.String("later: hunter2-db-password"); got != "later: ***" {
		t.Errorf("a masked value is not redacted elsewhere: %q", got)
	}
	w := strings.Join(r.sec.Warnings(), "\n")
	for _, want := range []string{"could not read Secret default/db", "env DB_PASSWORD", "envFrom prefix API_", "files of volume tls", "forbidden"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings do not say %q:\n%s", want, w)
		}
	}
	// Once per pod: a second step that enters it reads nothing more.
	before := len(cs.Actions())
	r.learn(context.Background(), "logs", &steps.Outcome{Target: "pod default/web"})
	if len(cs.Actions()) != before {
		t.Errorf("the pod's Secrets were looked at twice")
	}
}

// recorder is a Progress that keeps every line it is given.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (p *recorder) StepStarted(phase string, index int, title, kind string) {
	p.add(title)
}
func (p *recorder) StepDone(r *report.StepResult) {
	p.add(r.Name + " " + r.Error + " " + r.Stdout + " " + r.Stderr)
	for _, a := range r.Assertions {
		for _, v := range a.Values {
			p.add(v.Value)
		}
	}
}
func (p *recorder) Logf(format string, args ...any)      { p.add(fmt.Sprintf(format, args...)) }
func (p *recorder) FanOut(int, int, int, int)            {}
func (p *recorder) Output(_ int, target, _, line string) { p.add(target + " " + line) }
func (p *recorder) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, s)
}

// TestRunRedactsProgress: secret vars, their values set by steps, secret
// env values and what a command prints never reach the live progress.
func TestRunRedactsProgress(t *testing.T) {
	src := runHead + `  vars: {password: "pa\"ss\\wo\nrd-ü", other: plain}
  secretVars: [password, captured]
  steps:
  - name: print it
    local: {command: [printf, "%s", "${{ vars.password }}"]}
    assert: [stdout contains "nope"]
    continueOnError: true
  - name: capture
    local: {command: [sh, -c, 'echo captured-$((1000+234))-value']}
    set: {captured: trim(stdout)}
  - name: set fails with the value in its error
    local: {command: ["true"]}
    set: {n: int(vars.password)}
    continueOnError: true
  - name: echo the capture
    local:
      command: [sh, -c, 'echo "$T ${1}"', sh, "${{ vars.captured }}"]
      env: [{name: T, value: literal-secret-env, secret: true}]
    assert: [stdout == ""]
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p := &recorder{}
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(fake.NewClientset(), nil, nil, "default"), RunID: "rb-test", Progress: p})
	all := strings.Join(p.lines, "\n")
	if res.Verdict == report.VerdictError {
		t.Fatalf("run: %s", res.Error)
	}
	for _, s := range []string{"pa\"ss\\wo", "rd-ü", `pa\"ss\\wo`, "captured-1234-value", "literal-secret-env"} {
		if strings.Contains(all, s) {
			t.Errorf("the progress holds %q:\n%s", s, all)
		}
		var b strings.Builder
		_ = report.RenderJSON(&b, res)
		if strings.Contains(b.String(), s) {
			t.Errorf("the result holds %q", s)
		}
	}
	if !strings.Contains(all, "***") || !strings.Contains(all, "running") {
		t.Errorf("the progress shows no redacted line:\n%s", all)
	}
}

func TestCheckSecretVars(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+"  vars: {a: x}\n  secretVars: [b]\n  steps:\n  - local: {command: [\"true\"]}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(fake.NewClientset(), nil, nil, "default")})
	if res.Verdict != report.VerdictError || !strings.Contains(res.Error, `spec.secretVars: "b" is neither in spec.vars nor set by a step`) {
		t.Errorf("verdict %s, error %q", res.Verdict, res.Error)
	}
}

// TestRunReadsSecretsOncePerPodInAFanOut: targets of a fan-out that enter
// the same pod at once read its Secrets once.
func TestRunReadsSecretsOncePerPodInAFanOut(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+`  steps:
  - forEach: {items: "[1, 2, 3, 4]", concurrency: 4}
    logs: {pod: web, container: app}
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(secretObjects()...)
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default"), RunID: "rb-test"})
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s: %s", res.Verdict, res.Error)
	}
	if n, m := countActions(cs, "get", "secrets"), countActions(cs, "get", "pods"); n != 3 || m != 1 {
		t.Errorf("%d reads of secrets and %d of the pod, want 3 and 1", n, m)
	}
}

// TestEnterSeesThePodAsItIsNow: a pod entered again after it changed (a debugger added
// with its own env from a Secret, which the first look could not see) has the Secrets of
// its new spec read; an absent Secret is read again once absentRecheck has passed (made
// meanwhile by a controller), not before.
func TestEnterSeesThePodAsItIsNow(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+"  steps:\n  - local: {command: [\"true\"]}\n"), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "debug-env", Namespace: "default"},
		Data: map[string][]byte{"K": []byte("debugger-secret-4711")}})
	r := &runner{rb: rb, o: RunOptions{Clients: kube.NewClientsWith(cs, nil, nil, "default")}, sec: newSecrets(rb)}
	ctx := t.Context()

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	r.sec.knowPod(pod)
	r.enter(ctx, "default", "web")
	if got := r.sec.red.String("debugger-secret-4711"); got != "debugger-secret-4711" {
		t.Fatalf("a Secret no container references yet was learned: %q", got)
	}
	debugged := pod.DeepCopy()
	debugged.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger",
		EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "debug-env"}}}}}}}
	r.sec.knowPod(debugged)
	r.enter(ctx, "default", "web")
	if got := r.sec.red.String("K=debugger-secret-4711"); got != "K=***" {
		t.Errorf("the debugger's own Secret was not learned on entering the pod again: %q", got)
	}

	// An optional reference to a Secret that does not exist yet.
	late := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: "default"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
		Env: []corev1.EnvVar{{Name: "LATE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "late-sec"}, Key: "v"}}}}}}}}
	r.sec.knowPod(late)
	r.enter(ctx, "default", "late")
	if _, err := cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "late-sec", Namespace: "default"},
		Data: map[string][]byte{"v": []byte("made-later-0815")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	reads := countActions(cs, "get", "secrets")
	r.enter(ctx, "default", "late")
	if n := countActions(cs, "get", "secrets") - reads; n != 0 {
		t.Errorf("an absent Secret was read again %d times within absentRecheck", n)
	}
	r.sec.mu.Lock()
	r.sec.absent["default/late-sec"] = time.Now().Add(-absentRecheck)
	r.sec.mu.Unlock()
	r.enter(ctx, "default", "late")
	if got := r.sec.red.String("LATE=made-later-0815"); got != "LATE=***" {
		t.Errorf("a Secret made after it was found absent was not learned: %q", got)
	}
}

// TestEnteredPodsOfANodeStep: a node step's output comes from its own pod (whose custom
// env may name Secrets) and, through /host, from the pod it was sent to.
func TestEnteredPodsOfANodeStep(t *testing.T) {
	out := &steps.Outcome{Touched: []steps.ObjectRef{
		{Kind: "Node", Name: "n1", Action: report.ActionRead},
		{Kind: "Pod", Namespace: "default", Name: "web", Action: report.ActionRead},
		{Kind: "Pod", Namespace: "default", Name: "node-debugger-n1-abcde", Action: report.ActionCreated},
	}}
	got := enteredPods("node", out)
	want := []podRef{{"default", "web"}, {"default", "node-debugger-n1-abcde"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("entered pods of a node step: %v, want %v", got, want)
	}
	if got := enteredPods("copy", out); len(got) != 0 {
		t.Errorf("entered pods of a copy step: %v, want none", got)
	}
}

// TestRunWithholdsTheOutputOfAFailedSecretSet: a step that was to set a secret var from its
// output and failed (its command, an assertion, the set itself) never let the run learn the
// secret: its output is withheld from the result, the assertions' values and later steps.
func TestRunWithholdsTheOutputOfAFailedSecretSet(t *testing.T) {
	for name, step := range map[string]string{
		"command fails":   `{id: f, local: {shell: 'echo tok-SECRET-55$((10+1)); echo warn tok-SECRET-55$((10+1)) >&2; exit 3'}, set: {token: trim(stdout)}, continueOnError: true}`,
		"assertion fails": `{id: f, local: {shell: 'echo tok-SECRET-55$((10+1))'}, assert: ['stdout == "x"'], set: {token: trim(stdout)}, continueOnError: true}`,
		"set fails":       `{id: f, local: {shell: 'echo tok-SECRET-55$((10+1))'}, set: {token: 'int(trim(stdout))'}, continueOnError: true}`,
	} {
		t.Run(name, func(t *testing.T) {
			res := runLocal(t, t.Context(), runHead+`  vars: {token: ""}
  secretVars: [token]
  steps:
  - `+step+`
  - {local: {command: [echo, "${{ steps.f.stdout }}|${{ steps.f.stderr }}"]}}
`)
			var b strings.Builder
			if err := report.RenderJSON(&b, res); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "SECRET-5511") {
				t.Errorf("the secret is in the result:\n%s", b.String())
			}
			if got := res.Steps[0].Stdout; !strings.Contains(got, "withheld") {
				t.Errorf("stdout %q does not say it was withheld", got)
			}
			if got := res.Steps[1].Stdout; got != "|\n" {
				t.Errorf("a later step saw %q of the failed step's output", got)
			}
		})
	}
}

// TestRunRedactsTheEndOfALogCutAtLimitBytes: a log cut by the server at limitBytes may end
// in the start of a secret, which no whole form matches: it is redacted as a cut value is.
// (The fake API server answers every log read with "fake logs", ignoring limitBytes.)
func TestRunRedactsTheEndOfALogCutAtLimitBytes(t *testing.T) {
	rb, err := runbook.Parse("rb.yaml", []byte(runHead+`  vars: {pw: "fake logs are secret"}
  secretVars: [pw]
  steps:
  - logs: {pod: web, container: app, limitBytes: 7}
`), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(t.Context(), rb, RunOptions{Clients: kube.NewClientsWith(fake.NewClientset(secretPod()), nil, nil, "default"), RunID: "rb-test"})
	if res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %s: %s %+v", res.Verdict, res.Error, res.Steps)
	}
	if got := res.Steps[0].Stdout; got != "***" {
		t.Errorf("stdout %q, want the start of the secret that limitBytes left redacted", got)
	}
}

// TestRunRedactsValuesDerivedFromSecretVars: a value an expression makes
// from a secret var (upper, split, a concatenation, a var set from one)
// is redacted in every output as the var's own value is; what is made from
// other vars, and literals chosen by a test of a secret, are not.
func TestRunRedactsValuesDerivedFromSecretVars(t *testing.T) {
	res := runLocal(t, t.Context(), runHead+`  vars: {pw: "s3cret words here", user: alice-admin}
  secretVars: [pw]
  steps:
  - id: a
    local: {command: [echo, "${{ upper(vars.pw) }}|${{ split(vars.pw, ' ')[1] }}|${{ vars.user }}|${{ vars.pw != '' ? 'configured' : 'missing' }}"]}
    set: {shout: 'upper(vars.pw) + "-ZZ"', who: upper(vars.user)}
  - id: b
    note: {message: 'derived again: ${{ lower(vars.shout) }}'}
  - id: c
    local: {command: [echo, "${{ vars.who }}"]}
    assert: ['trim(stdout) == replace(vars.pw, "s3cret", "other")']
    continueOnError: true
`)
	var b strings.Builder
	if err := report.RenderJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, leak := range []string{"S3CRET WORDS HERE", "words", "s3cret words here-zz", "other words here"} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(leak)) {
			t.Errorf("%q, made from a secret var, is in the result:\n%s", leak, out)
		}
	}
	if got := res.Steps[0].Stdout; got != "***|***|alice-admin|configured\n" {
		t.Errorf("stdout %q, want the derived values redacted, the others kept", got)
	}
	if got := res.Steps[1].Stdout; got != "derived again: ***-zz" {
		t.Errorf("note %q, want the secret redacted where it stands and the text around it kept", got)
	}
	if got := res.Steps[2].Stdout; got != "ALICE-ADMIN\n" {
		t.Errorf("stdout %q: a value made from a var that is not secret was redacted", got)
	}
}
