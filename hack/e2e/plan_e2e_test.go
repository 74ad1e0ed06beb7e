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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
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
	for i, ex := range []string{"distroless", "distroless-sequential", "ephemeral", "copy", "crashloop-copy", "node", "cp"} {
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
	out := runCLI(t, "rbac", file, "-n", ns, "--service-account", "runner")
	if out.code != 0 {
		t.Fatalf("rbac: %s", out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	objs := c.applyAll(t, ctx, out.stdout)
	var role *rbacv1.Role
	for _, u := range objs {
		switch u.GetKind() {
		case "Role":
			role = &rbacv1.Role{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, role); err != nil {
				t.Fatal(err)
			}
		case "ClusterRole", "ClusterRoleBinding":
			t.Errorf("rbac printed a %s for a runbook that works in one namespace", u.GetKind())
		}
	}
	if role == nil || role.Namespace != ns {
		t.Fatalf("rbac printed no Role in %s:\n%s", ns, out.stdout)
	}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			if res == "deployments" && (len(r.APIGroups) != 1 || r.APIGroups[0] != "apps") {
				t.Errorf("rule %v grants deployments outside the apps group", r)
			}
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner"}}
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
	if _, err := c.client.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
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

// applyAll creates every object of a multi-document YAML stream, as a user
// would apply what `runbook rbac` prints, and returns them.
func (c *cluster) applyAll(t *testing.T, ctx context.Context, stream string) []*unstructured.Unstructured {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	gvrs := map[string]schema.GroupVersionResource{
		"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
		"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
		"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
		"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(stream, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		gvr, ok := gvrs[u.GetKind()]
		if !ok {
			t.Fatalf("rbac printed a %s", u.GetKind())
		}
		ri := dyn.Resource(gvr)
		var err error
		if u.GetNamespace() != "" {
			_, err = ri.Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{})
		} else {
			_, err = ri.Create(ctx, u, metav1.CreateOptions{})
			name := u.GetName()
			t.Cleanup(func() { _ = ri.Delete(context.Background(), name, metav1.DeleteOptions{}) })
		}
		if err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		out = append(out, u)
	}
	return out
}

// TestRBACSeedLeastPrivilege applies what `runbook rbac` prints for the
// seed runbook and runs it as that ServiceAccount: preflight passes and the
// run passes with the seed's 15 requests (exec over WebSocket, no SPDY
// fallback). Then, for each rule in turn, the rule is removed: preflight
// names the missing permission, and the run fails.
func TestRBACSeedLeastPrivilege(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "e2e-least-")
	file := repoFile("examples/distroless.yaml")
	out := runCLI(t, "rbac", file, "-n", ns, "--service-account", "seed")
	if out.code != 0 {
		t.Fatalf("rbac: %s", out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	objs := c.applyAll(t, ctx, out.stdout)
	kubeconfig := c.serviceAccountKubeconfig(t, ns, "seed")

	pre := runCLI(t, "plan", file, "-n", ns, "--preflight", "--kubeconfig", kubeconfig)
	if pre.code != 0 {
		t.Fatalf("preflight with every rule: %s", pre)
	}
	paths := newReportPaths(t)
	run := runCLI(t, "run", file, "-n", ns, "--kubeconfig", kubeconfig, "--report", "json="+paths.json)
	res := readResult(t, paths.json)
	if run.code != 0 {
		t.Fatalf("run with every rule: %s\n%s", run, describeSteps(res))
	}
	if res.APIRequests != 15 {
		t.Errorf("run as the ServiceAccount made %d API requests %v, want the seed's 15", res.APIRequests, res.APIRequestsByVerb)
	}

	dyn, err := dynamic.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	rbacGV := schema.GroupVersion{Group: "rbac.authorization.k8s.io", Version: "v1"}
	for _, u := range objs {
		if u.GetKind() != "Role" && u.GetKind() != "ClusterRole" {
			continue
		}
		ri := dyn.Resource(rbacGV.WithResource(strings.ToLower(u.GetKind()) + "s"))
		var rc dynamic.ResourceInterface = ri
		if u.GetNamespace() != "" {
			rc = ri.Namespace(u.GetNamespace())
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
		for i := range rules {
			rule := rules[i].(map[string]any)
			what := fmt.Sprintf("%s %v %v", u.GetKind(), rule["resources"], rule["verbs"])
			t.Run("without "+what, func(t *testing.T) {
				cur, err := rc.Get(ctx, u.GetName(), metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				fewer := append(append([]any{}, rules[:i]...), rules[i+1:]...)
				if err := unstructured.SetNestedSlice(cur.Object, fewer, "rules"); err != nil {
					t.Fatal(err)
				}
				if _, err := rc.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				defer func() {
					cur, err := rc.Get(ctx, u.GetName(), metav1.GetOptions{})
					if err == nil {
						_ = unstructured.SetNestedSlice(cur.Object, rules, "rules")
						_, err = rc.Update(ctx, cur, metav1.UpdateOptions{})
					}
					if err != nil {
						t.Fatalf("restoring %s: %v", u.GetName(), err)
					}
				}()
				resource := fmt.Sprint(rule["resources"].([]any)[0])
				pre := runCLI(t, "plan", file, "-n", ns, "--preflight", "--kubeconfig", kubeconfig)
				if pre.code != 1 || !regexp.MustCompile(`FAIL RBAC: [a-z]+ `+regexp.QuoteMeta(resource)+` `).MatchString(pre.stdout) {
					t.Errorf("preflight without %s: exit %d, want 1 and a FAIL line for %s:\n%s", what, pre.code, resource, pre.stdout)
				}
				paths := newReportPaths(t)
				run := runCLI(t, "run", file, "-n", ns, "--kubeconfig", kubeconfig, "--report", "json="+paths.json)
				res := readResult(t, paths.json)
				if run.code == 0 || res.Verdict == "passed" {
					t.Errorf("run without %s passed", what)
				}
				if !strings.Contains(strings.ToLower(describeSteps(res)+res.Error), "forbidden") {
					t.Errorf("run without %s does not name the missing permission:\n%s\n%s", what, res.Error, describeSteps(res))
				}
				// Whatever a failed run could not delete goes, with full rights.
				if r := runCLI(t, "cleanup", "-n", ns); r.code != 0 {
					t.Errorf("cleanup: %s", r)
				}
			})
		}
	}
}
