package serve

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kube-runbook/runbook/runbook/incluster"
)

func TestJobStarter(t *testing.T) {
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	done := func(name string, cond batchv1.JobConditionType) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ops", Labels: map[string]string{LabelRoute: "crashloop"}}}
		if cond != "" {
			j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue}}
		}
		return j
	}
	client := fake.NewClientset(done("old-ok", batchv1.JobComplete), done("old-failed", batchv1.JobFailed), done("running", ""),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "not-ours", Namespace: "ops"}})
	st, err := NewJobStarter(client, "ops", "", rs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := st.Active(ctx); err != nil || n != 1 {
		t.Fatalf("Active: want 1 (one of ours unfinished), got %d, %v", n, err)
	}
	run := Run{Route: "crashloop", Runbook: "incident-crashloop", Namespace: "shop", Vars: map[string]string{"pod": "web-1", "container": "app"},
		Alert: "KubePodCrashLooping", Fingerprint: "abc123"}
	name, err := st.Start(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "job/runbook-incident-crashloop-") {
		t.Errorf("job name %q", name)
	}
	jobs, err := client.BatchV1().Jobs("ops").List(ctx, metav1.ListOptions{LabelSelector: LabelRoute + "=crashloop," + incluster.LabelComponent + "=" + incluster.ComponentRun})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("want the one Job started, got %v, %v", jobs, err)
	}
	job := jobs.Items[0]
	if got := job.Annotations[AnnotationFingerprint]; got != "abc123" {
		t.Errorf("fingerprint annotation %q", got)
	}
	args := job.Spec.Template.Spec.Containers[0].Args
	for _, want := range [][]string{{"-n", "shop"}, {"--var", "container=app"}, {"--var", "pod=web-1"}} {
		if !containsSeq(args, want) {
			t.Errorf("args lack %q: %q", want, args)
		}
	}
	if job.Spec.Template.Spec.ServiceAccountName != "runbook-incident-crashloop" {
		t.Errorf("service account %q", job.Spec.Template.Spec.ServiceAccountName)
	}
	if n, _ := st.Active(ctx); n != 2 {
		t.Errorf("Active after a start: want 2, got %d", n)
	}
	// The install of crashloop-any has its rules in shop only.
	if _, err := st.Start(ctx, Run{Route: "crashloop-any", Namespace: "kube-system", Vars: map[string]string{"pod": "p"}}); !errors.Is(err, ErrInvalidRun) ||
		!strings.Contains(err.Error(), `namespace "kube-system": the install ops/crashloop-shop has no rules there`) {
		t.Errorf("a namespace outside the install's targets: %v", err)
	}
}

func containsSeq(args, seq []string) bool {
	for i := 0; i+len(seq) <= len(args); i++ {
		if cmp.Equal(args[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

func TestJobStarterFixedNamespace(t *testing.T) {
	rs, err := ParseRoutes("testdata/r.yaml", []byte(`apiVersion: runbook/v1alpha1
kind: Routes
routes:
- name: crashloop
  alert: KubePodCrashLooping
  runbook: ../../../examples/incidents/crashloop.yaml
  targetNamespaces: [shop]
  namespace: payments
  vars: {pod: labels.pod}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewJobStarter(fake.NewClientset(), "ops", "", rs)
	if err == nil || !strings.Contains(err.Error(), `route crashloop: namespace "payments": the install ops/runbook-incident-crashloop has no rules there (its target namespaces: ops, shop)`) {
		t.Errorf("a fixed namespace outside the install's targets: %v", err)
	}
}

func TestJobStarterOneInstallTwoWays(t *testing.T) {
	rs, err := ParseRoutes("testdata/r.yaml", []byte(`apiVersion: runbook/v1alpha1
kind: Routes
routes:
- name: a
  alert: A
  runbook: ../../../examples/incidents/crashloop.yaml
  targetNamespaces: [shop]
- name: b
  alert: B
  runbook: ../../../examples/incidents/crashloop.yaml
  targetNamespaces: [shop]
- name: c
  alert: C
  runbook: ../../../examples/incidents/crashloop.yaml
  targetNamespaces: [payments]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewJobStarter(fake.NewClientset(), "ops", "", rs)
	if err == nil || err.Error() != "routes a and c make two different installs named runbook-incident-crashloop: give one an install: name of its own" {
		t.Errorf("two routes, one install name, two sets of rules: %v", err)
	}
}

// TestInstallRulesFromPlaceholders: the crash-loop runbook copies the
// alert's pod; planned with the route's vars as placeholders, its install
// may create pods in the target namespace (planned with pod "", the copy
// would not be planned, and the run would be forbidden).
func TestInstallRulesFromPlaceholders(t *testing.T) {
	rs, err := LoadRoutes("testdata/routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewJobStarter(fake.NewClientset(), "ops", "", rs)
	if err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, p := range st.Install("crashloop-any").Permissions {
		if p.Namespace != "shop" {
			continue
		}
		for _, r := range p.Rules {
			if slices.Equal(r.APIGroups, []string{""}) && slices.Contains(r.Resources, "pods") {
				verbs = append(verbs, r.Verbs...)
			}
		}
	}
	if !slices.Contains(verbs, "create") || !slices.Contains(verbs, "delete") {
		t.Errorf("the install's verbs on pods in shop: %v, want create and delete (the copy and its cleanup)", verbs)
	}
}
