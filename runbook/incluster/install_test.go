package incluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/engine"
	"github.com/kube-runbook/runbook/steps"
)

const testRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: Pod Check}
spec:
  namespace: apps
  timeout: 3m
  vars: {pod: web, token: "", image: busybox:1.36}
  secretVars: [token]
  steps:
  - name: read the pod
    get: {kind: Pod, name: "${{ vars.pod }}"}
`

func load(t *testing.T, src string, vars map[string]string) *runbook.Runbook {
	t.Helper()
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry, Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestNewSplitsSecretVars(t *testing.T) {
	vars := map[string]string{"pod": "api", "token": "s3cr3t-value"}
	in, err := New(load(t, testRunbook, vars), Options{Source: []byte(testRunbook), Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "runbook-pod-check" || in.Namespace != "apps" || in.RunNamespace != "" {
		t.Errorf("name %q namespace %q run namespace %q", in.Name, in.Namespace, in.RunNamespace)
	}
	if strings.Contains(in.ConfigMap.Data[KeyVars], "s3cr3t") || !strings.Contains(in.ConfigMap.Data[KeyVars], `"pod":"api"`) {
		t.Errorf("configmap vars %s", in.ConfigMap.Data[KeyVars])
	}
	if in.Secret == nil || string(in.Secret.Data[KeyVars]) != `{"token":"s3cr3t-value"}` {
		t.Fatalf("secret %+v", in.Secret)
	}
	job, err := in.Job(RunOptions{RunID: "rb-1"})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	if strings.Contains(args, "s3cr3t") || !strings.Contains(args, "--vars-file "+SecretVarsPath) {
		t.Errorf("args %s", args)
	}
	objs, err := in.Objects()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetLabels()[LabelInstall] != in.Name || o.GetLabels()[LabelManagedBy] != ManagedByJob {
			t.Errorf("%s %s labels %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
	}
	want := []string{"ServiceAccount", "Role", "RoleBinding", "Role", "RoleBinding", "Secret", "ConfigMap"}
	if !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

func TestNewRulesAreRbacs(t *testing.T) {
	rb := load(t, testRunbook, nil)
	in, err := New(rb, Options{Source: []byte(testRunbook), Namespace: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.MakePlan(rb, engine.PlanOptions{Namespace: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Permissions) != 1 || in.Permissions[0].Namespace != "ops" || len(p.Permissions) != 1 {
		t.Fatalf("permissions %+v, plan's %+v", in.Permissions, p.Permissions)
	}
	rules, _, _ := unstructuredRules(t, in, "Role", "ops", in.Name)
	if len(rules) != len(p.Permissions[0].Rules) {
		t.Errorf("role rules %v, plan's %v", rules, p.Permissions[0].Rules)
	}
	_, subjects, found := unstructuredRules(t, in, "RoleBinding", "ops", in.Name+"-results")
	if !found || !strings.Contains(subjects, "name:"+in.Name+" ") {
		t.Errorf("results binding subjects %s", subjects)
	}

	// Runs may target a further namespace: the rules are there too, and a
	// namespace not granted is refused.
	in, err = New(rb, Options{Source: []byte(testRunbook), TargetNamespaces: []string{"team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := unstructuredRules(t, in, "Role", "team-a", in.Name); !ok {
		t.Error("no Role in the target namespace team-a")
	}
	if _, err := in.Job(RunOptions{Namespace: "team-a"}); err != nil {
		t.Error(err)
	}
	if _, err := in.Job(RunOptions{Namespace: "team-b"}); err == nil || !strings.Contains(err.Error(), "no rules there") {
		t.Errorf("team-b: %v", err)
	}
	// "*": ClusterRoles, any namespace.
	in, err = New(rb, Options{Source: []byte(testRunbook), TargetNamespaces: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := unstructuredRules(t, in, "ClusterRole", "", in.Name+"-apps"); !ok {
		t.Errorf("no ClusterRole for any namespace: %v", in.RBAC)
	}
	if _, err := in.Job(RunOptions{Namespace: "team-b"}); err != nil {
		t.Error(err)
	}
}

func unstructuredRules(t *testing.T, in *Install, kind, ns, name string) (rules []any, subjects string, found bool) {
	t.Helper()
	for _, u := range in.RBAC {
		if u.GetKind() == kind && u.GetNamespace() == ns && u.GetName() == name {
			rules, _ := u.Object["rules"].([]any)
			var b strings.Builder
			if subs, ok := u.Object["subjects"].([]any); ok {
				for _, s := range subs {
					m := s.(map[string]any)
					b.WriteString("name:" + m["name"].(string) + " ")
				}
			}
			return rules, b.String(), true
		}
	}
	return nil, "", false
}

func TestJobValidatesUntrustedOptions(t *testing.T) {
	in, err := New(load(t, testRunbook, nil), Options{Source: []byte(testRunbook)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    RunOptions
		want string
	}{
		{"undeclared var", RunOptions{Vars: map[string]string{"nope": "x"}}, "declares no such variable"},
		{"secret var", RunOptions{Vars: map[string]string{"token": "x"}}, "is secret"},
		{"long value", RunOptions{Vars: map[string]string{"pod": strings.Repeat("a", MaxVarBytes+1)}}, "more than"},
		{"control character", RunOptions{Vars: map[string]string{"pod": "a\nb"}}, "control character"},
		{"bad utf-8", RunOptions{Vars: map[string]string{"pod": "a\xffb"}}, "not UTF-8"},
		{"bad namespace", RunOptions{Namespace: "../etc"}, "no rules there"},
		{"bad run id", RunOptions{RunID: "Run_1"}, "run id"},
		{"reserved label", RunOptions{Labels: map[string]string{"runbook/run": "x"}}, "reserved"},
		{"bad label value", RunOptions{Labels: map[string]string{"alert": "a b"}}, "label"},
	} {
		if _, err := in.Job(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	// A hostile value is one argument of its own, its $( ) escaped.
	job, err := in.Job(RunOptions{RunID: "rb-2", Vars: map[string]string{"pod": "x; rm -rf / $(RUNBOOK_JOB_NAME)"},
		Labels: map[string]string{"alertname": "PodCrashLooping"}})
	if err != nil {
		t.Fatal(err)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "pod=x; rm -rf / $$(RUNBOOK_JOB_NAME)") {
		t.Errorf("args %q", args)
	}
	if job.Name != "runbook-pod-check-rb-2" || job.Labels[LabelRun] != "rb-2" || job.Spec.Template.Labels["alertname"] != "PodCrashLooping" {
		t.Errorf("job %s labels %v pod labels %v", job.Name, job.Labels, job.Spec.Template.Labels)
	}
	checkJobSpec(t, job.Spec, 3*time.Minute)
}

func checkJobSpec(t *testing.T, spec batchv1.JobSpec, timeout time.Duration) {
	t.Helper()
	if spec.BackoffLimit == nil || *spec.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v", spec.BackoffLimit)
	}
	if want := int64((timeout + 2*engine.CleanupTimeout + time.Minute) / time.Second); spec.ActiveDeadlineSeconds == nil || *spec.ActiveDeadlineSeconds != want {
		t.Errorf("activeDeadlineSeconds %v, want %d", spec.ActiveDeadlineSeconds, want)
	}
	pod := spec.Template.Spec
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < 2*engine.CleanupTimeout {
		t.Errorf("grace period %v shorter than cleanup", g)
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("pod security context %+v", pod.SecurityContext)
	}
	if pod.ServiceAccountName == "" || pod.ServiceAccountName == "default" {
		t.Errorf("service account %q", pod.ServiceAccountName)
	}
}

func TestCronJob(t *testing.T) {
	in, err := New(load(t, testRunbook, nil), Options{Source: []byte(testRunbook)})
	if err != nil {
		t.Fatal(err)
	}
	cj, err := in.CronJob("*/30 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || *cj.Spec.SuccessfulJobsHistoryLimit != SuccessfulJobsHistory {
		t.Errorf("cronjob spec %+v", cj.Spec)
	}
	checkJobSpec(t, cj.Spec.JobTemplate.Spec, 3*time.Minute)
	for _, bad := range []string{"* * *", "61 * * * *", "CRON_TZ=UTC * * * * *"} {
		if _, err := in.CronJob(bad); err == nil {
			t.Errorf("schedule %q accepted", bad)
		}
	}
}

func TestNewOnExamples(t *testing.T) {
	incidents, err := filepath.Glob(filepath.Join("..", "..", "examples", "incidents", "*.yaml"))
	if err != nil || len(incidents) == 0 {
		t.Fatalf("incident runbooks: %v", err)
	}
	for _, path := range incidents {
		// As an alert receiver installs them: runs in any namespace.
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := runbook.Load(path, runbook.LoadOptions{Kinds: steps.Registry})
		if err != nil {
			t.Fatal(err)
		}
		in, err := New(rb, Options{Source: src, Namespace: "runbooks", TargetNamespaces: []string{"*"}})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if _, err := in.Job(RunOptions{Namespace: "shop"}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	for _, f := range []string{"distroless.yaml", "ci-debuggability.yaml"} {
		path := filepath.Join("..", "..", "examples", f)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := runbook.Load(path, runbook.LoadOptions{Kinds: steps.Registry})
		if err != nil {
			t.Fatal(err)
		}
		in, err := New(rb, Options{Source: src, Namespace: "checks"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := in.CronJob("* * * * *"); err != nil {
			t.Error(err)
		}
		if len(in.RBAC) < 4 {
			t.Errorf("%s: %d RBAC objects", f, len(in.RBAC))
		}
	}
}

func TestFitResultCutsAndSays(t *testing.T) {
	res := &report.Result{SchemaVersion: report.SchemaVersion, RunID: "rb-big", Verdict: report.VerdictPassed,
		Runbook: report.RunbookInfo{Name: "big"}}
	for i := range 4 {
		res.Steps = append(res.Steps, report.StepResult{Index: i + 1, Name: "s", Status: report.StatusPassed,
			Stdout: strings.Repeat("é", 100<<10)})
	}
	fitted, js, cut, err := FitResult(res, 200<<10)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) > 200<<10 || cut == "" || !fitted.Steps[0].StdoutTruncated {
		t.Fatalf("json %d bytes, cut %q", len(js), cut)
	}
	if len(fitted.Warnings) != 1 || !strings.Contains(fitted.Warnings[0], "cut to fit") {
		t.Errorf("warnings %q", fitted.Warnings)
	}
	if res.Steps[0].StdoutTruncated || len(res.Warnings) != 0 {
		t.Error("FitResult changed its input")
	}
	small := &report.Result{SchemaVersion: report.SchemaVersion, RunID: "rb-s"}
	if _, _, cut, err := FitResult(small, 200<<10); err != nil || cut != "" {
		t.Errorf("small result: cut %q, %v", cut, err)
	}
}

// TestNewRefusesSecretNamesInRoles: a Role that would name a secret var's
// value (its default, or a --var) is refused, printed or applied alike.
func TestNewRefusesSecretNamesInRoles(t *testing.T) {
	const src = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: sec}
spec:
  namespace: default
  vars: {pw: hunter2secret}
  secretVars: [pw]
  steps:
  - get: {kind: Secret, name: "${{ vars.pw }}"}
`
	for _, vars := range []map[string]string{nil, {"pw": "override-pw-99"}} {
		rb := load(t, src, vars)
		_, err := New(rb, Options{Source: []byte(src), Vars: vars, Namespace: "ops"})
		if err == nil || !strings.Contains(err.Error(), "names a value of spec.secretVars") {
			t.Errorf("vars %v: error %v, want the install refused", vars, err)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2secret") || strings.Contains(err.Error(), "override-pw-99")) {
			t.Errorf("the error holds the secret: %v", err)
		}
	}
}

// TestNewSaysWhatCannotWorkInThePod: spec.context is refused (every Job
// would refuse to run); a local step and an apply of a file are warnings.
func TestNewSaysWhatCannotWorkInThePod(t *testing.T) {
	const head = "apiVersion: runbook/v1alpha1\nkind: Runbook\nmetadata: {name: w}\nspec:\n  namespace: default\n"
	src := head + "  context: kind-*\n  steps:\n  - note: {message: hi}\n"
	if _, err := New(load(t, src, nil), Options{Source: []byte(src)}); err == nil || !strings.Contains(err.Error(), `spec.context "kind-*"`) {
		t.Errorf("spec.context: %v, want a refusal", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src = head + "  steps:\n  - local: {command: [date]}\n  - apply: {file: cm.yaml}\n  - note: {message: hi}\n"
	rb, err := runbook.Parse(filepath.Join(dir, "rb.yaml"), []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(rb, Options{Source: []byte(src)})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Warnings) != 2 || !strings.Contains(in.Warnings[0], "a local step") || !strings.Contains(in.Warnings[1], `apply file "cm.yaml"`) {
		t.Errorf("warnings %q", in.Warnings)
	}
}
