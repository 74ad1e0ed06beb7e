//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// plannedObject is an object of a plan's cleanup list, as plan -o json
// writes it.
type plannedObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// TestPlanMatchesRun runs every example that runs as it is with a known
// run id and checks that its plan (plan --run-id with the same id) named
// exactly the objects the run created: the same kinds, namespaces and names,
// where a part the plan marks <...> is known only at run time (a node's
// name read from a pod the run creates).
func TestPlanMatchesRun(t *testing.T) {
	c := connect(t)
	for i, ex := range []string{"distroless", "ephemeral", "copy", "crashloop-copy", "node", "cp"} {
		t.Run(ex, func(t *testing.T) {
			ns := c.newNamespace(t, "e2e-plan-")
			file := repoFile("examples/" + ex + ".yaml")
			runID := fmt.Sprintf("rb-plan%d%s", i, strings.TrimPrefix(ns, "e2e-plan-"))
			plan := runCLI(t, "plan", file, "-n", ns, "--run-id", runID, "-o", "json")
			if plan.code != 0 {
				t.Fatalf("plan: %s", plan)
			}
			var p struct {
				Cleanup []plannedObject `json:"cleanup"`
			}
			if err := json.Unmarshal([]byte(plan.stdout), &p); err != nil {
				t.Fatalf("plan -o json: %v\n%s", err, plan.stdout)
			}
			paths := newReportPaths(t)
			run := runCLI(t, "run", file, "-n", ns, "--run-id", runID, "--artifacts", t.TempDir(), "--report", "json="+paths.json)
			res := readResult(t, paths.json)
			if run.code != 0 {
				t.Fatalf("run: %s\n%s", run, describeSteps(res))
			}
			var made []string
			for _, d := range res.Cleanup.Deletions {
				made = append(made, strings.ToLower(d.Kind)+" "+d.Namespace+"/"+d.Name)
			}
			sort.Strings(made)
			var planned []*regexp.Regexp
			var shown []string
			for _, o := range p.Cleanup {
				want := strings.ToLower(o.Kind) + " " + o.Namespace + "/" + o.Name
				shown = append(shown, want)
				// <...> is a part the plan knows only at run time.
				parts := regexp.MustCompile(`<[^>]*>`).Split(want, -1)
				for i := range parts {
					parts[i] = regexp.QuoteMeta(parts[i])
				}
				planned = append(planned, regexp.MustCompile("^"+strings.Join(parts, "[a-z0-9.-]+")+"$"))
			}
			if len(planned) != len(made) {
				t.Fatalf("the plan names %d objects, the run made %d:\nplan: %v\nrun:  %v", len(planned), len(made), shown, made)
			}
			used := make([]bool, len(made))
			for i, re := range planned {
				found := false
				for j, m := range made {
					if !used[j] && re.MatchString(m) {
						used[j], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("planned %q: the run made no such object (run: %v)", shown[i], made)
				}
			}
		})
	}
}

// TestRBACDeploymentRole applies what `runbook rbac` prints for a runbook
// that applies an apps/v1 Deployment, runs the runbook as a ServiceAccount
// bound to exactly that Role, and checks that the run passes and its
// cleanup deleted the Deployment (a Role with core-group deployments rules
// would make the delete Forbidden).
func TestRBACDeploymentRole(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-rbac-")
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: deploy}
spec:
  steps:
  - id: web
    apply:
      manifest: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: app, image: busybox:1.36, command: [sleep, "3600"]}]
    assert:
    - object.kind == "Deployment"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runCLI(t, "rbac", file, "-n", ns, "--name", "runner")
	if out.code != 0 {
		t.Fatalf("rbac: %s", out)
	}
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict([]byte(out.stdout), &role); err != nil {
		t.Fatalf("rbac printed more than one Role or something else: %v\n%s", err, out.stdout)
	}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			if res == "deployments" && (len(r.APIGroups) != 1 || r.APIGroups[0] != "apps") {
				t.Errorf("rule %v grants deployments outside the apps group", r)
			}
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if _, err := c.client.RbacV1().Roles(ns).Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the Role: %v", err)
	}
	sa, err := c.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "runner"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := c.serviceAccountKubeconfig(t, ns, sa.Name)

	paths := newReportPaths(t)
	run := runCLI(t, "run", file, "-n", ns, "--kubeconfig", kubeconfig, "--report", "json="+paths.json)
	res := readResult(t, paths.json)
	if run.code != 0 {
		t.Fatalf("run as the ServiceAccount: %s\n%s", run, describeSteps(res))
	}
	if len(res.Cleanup.Deletions) != 1 || res.Cleanup.Deletions[0].Outcome != "deleted" {
		t.Errorf("cleanup: %+v, want the Deployment deleted", res.Cleanup.Deletions)
	}
	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	if _, err := dyn.Resource(deployments).Namespace(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployment web after cleanup: %v, want NotFound", err)
	}

	// Without the delete rule the steps pass but cleanup cannot remove the
	// Deployment: the run fails, and says what is left and how to remove it.
	for i := range role.Rules {
		var verbs []string
		for _, v := range role.Rules[i].Verbs {
			if v != "delete" {
				verbs = append(verbs, v)
			}
		}
		role.Rules[i].Verbs = verbs
	}
	if _, err := c.client.RbacV1().Roles(ns).Update(ctx, &role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	paths = newReportPaths(t)
	run = runCLI(t, "run", file, "-n", ns, "--kubeconfig", kubeconfig, "--report", "json="+paths.json)
	res = readResult(t, paths.json)
	if run.code != 1 || res.Verdict != "failed" {
		t.Errorf("run without delete: exit %d, verdict %s; want 1, failed\n%s", run.code, res.Verdict, run)
	}
	for _, want := range []string{"cleanup could not delete 1 object(s): deployment " + ns + "/web", "forbidden", "runbook cleanup -n " + ns + " --run-id"} {
		if !strings.Contains(res.Error, want) {
			t.Errorf("error %q does not say %q", res.Error, want)
		}
	}
	if _, err := dyn.Resource(deployments).Namespace(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("deployment web should be left behind: %v", err)
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount ns/name with a short-lived token from the TokenRequest API.
func (c *cluster) serviceAccountKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	expiry := int64(3600)
	tok, err := c.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, name, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.config.Host, CertificateAuthorityData: c.config.CAData,
		CertificateAuthority: c.config.CAFile}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
