package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/steps"
)

// TestPlanReadsSecretsOfEnteredPods: a plan lists a get of each Secret a
// pod it knows references, once, before the step that enters the pod, and
// rbac grants it by name; a Secret the runbook makes is not read; for a pod
// it does not know, it plans a get of the pod and says so.
func TestPlanReadsSecretsOfEnteredPods(t *testing.T) {
	src := runHead + `  steps:
  - apply:
      manifest: |
        apiVersion: v1
        kind: Secret
        metadata: {name: made}
        stringData: {password: x}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: app
            image: busybox
            envFrom: [{secretRef: {name: made}}, {secretRef: {name: creds}}]
            env: [{name: DB, valueFrom: {secretKeyRef: {name: db, key: pw}}}]
  - exec: {pod: web, command: [env]}
  - exec: {pod: web, command: [env]}
  - logs: {pod: other}
`
	rb, err := runbook.Parse("rb.yaml", []byte(src), runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(rb, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		for _, c := range s.Planned.Calls {
			if c.Resource == "secrets" && c.Verb == "get" || c.Resource == "pods" && c.Verb == "get" && c.Subresource == "" {
				got = append(got, s.Kind+": "+c.String())
			}
		}
	}
	// Each exec reads the pod to choose its container (none named; no pod watch without a wait).
	want := []string{"exec: GET pods default/web", "exec: GET secrets default/creds", "exec: GET secrets default/db", "exec: GET pods default/web", "logs: GET pods default/other"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("planned reads (-want +got):\n%s", diff)
	}
	if notes := strings.Join(p.Steps[3].Planned.Notes, "\n"); !strings.Contains(notes, "the Secrets pod default/other references") {
		t.Errorf("the logs step does not say its pod's Secrets are read: %q", notes)
	}
	var rules []rbacv1.PolicyRule
	for _, r := range p.Permissions[0].Rules {
		if r.Resources[0] == "secrets" {
			rules = append(rules, r)
		}
	}
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"creds", "db"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"delete"}, ResourceNames: []string{"made"}},
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("rules on secrets (-want +got):\n%s", diff)
	}
}
