package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
)

// TestCheck and TestPlan check the Check and Plan of the kinds apply, get,
// wait, logs, events, delete and local, one table each, grouped by kind.

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pod.yaml", podManifest+"---\n")
	write("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\nkind: ConfigMap\n")
	write("expr.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${{ vars.name }}}\n")
	allowed := &runbook.CheckContext{Dir: dir, AllowPrivileged: true}
	normal := &runbook.CheckContext{Dir: dir}

	tests := []struct {
		name string
		spec Action
		ctx  *runbook.CheckContext
		want []runbook.FieldError
	}{
		{"apply ok", &ApplyStep{Manifest: expression.NewTemplate(podManifest), WaitFor: "Ready"}, normal, nil},
		{"apply needs a manifest", &ApplyStep{}, normal,
			[]runbook.FieldError{{Field: "", Message: "an apply step needs exactly one of manifest (inline YAML) or file"}}},
		{"apply manifest and file", &ApplyStep{Manifest: expression.NewTemplate(podManifest), File: "pod.yaml"}, normal,
			[]runbook.FieldError{{Field: "", Message: "an apply step needs exactly one of manifest (inline YAML) or file"}}},
		{"apply bad waitFor", &ApplyStep{Manifest: expression.NewTemplate(podManifest), WaitFor: "Available"}, normal,
			[]runbook.FieldError{{Field: "waitFor", Message: `waitFor must be Exists, Ready, Running or Succeeded, not "Available"`}}},
		{"apply invalid YAML", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\n  metadata: x\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "not valid YAML: manifest line 3: mapping values are not allowed in this context"}}},
		{"apply object without kind and name", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nmetadata: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: object has no kind, no metadata.name"}}},
		{"apply labels that are not strings", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: [1]}}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: metadata.labels must map names to strings"}}},
		{"apply generateName", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: object has no metadata.name (generateName is not supported: the run records the name before creating, for cleanup)"}}},
		{"apply a list is not an object", &ApplyStep{Manifest: expression.NewTemplate("- a\n- b\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "manifest line 1: a manifest document must be an object (apiVersion, kind, metadata, ...)"}}},
		{"apply only comments", &ApplyStep{Manifest: expression.NewTemplate("# nothing\n---\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "the manifest holds no object"}}},
		{"apply unknown pod field", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {contianers: []}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: `manifest line 1: pod p: strict decoding error: unknown field "spec.contianers"`}}},
		{"apply a field of the wrong type, any built-in kind", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: three}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: `manifest line 1: deployment d: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`}}},
		{"apply unknown field, any built-in kind", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}], selectr: {a: b}}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: `manifest line 1: service s: strict decoding error: unknown field "spec.selectr"`}}},
		{"apply a custom resource is the API server's to check", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: [1]}\n")}, normal, nil},
		{"apply privileged pod", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: i}]}\n")}, normal,
			[]runbook.FieldError{{Field: "manifest", Message: "privileged (Pod p: " + strings.Join(kube.PodPrivilegedReasons(&corev1.PodSpec{HostPID: true}), ", Pod p: ") + "): set spec.allowPrivileged: true (or --allow-privileged) to allow it"}}},
		{"apply privileged pod allowed", &ApplyStep{Manifest: expression.NewTemplate("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: i}]}\n")}, allowed, nil},
		{"apply templated manifest is checked at run time", &ApplyStep{Manifest: expression.NewTemplate("kind: ${{ vars.kind }}\n")}, normal, nil},
		{"apply file ok", &ApplyStep{File: "pod.yaml"}, normal, nil},
		{"apply missing file", &ApplyStep{File: "nope.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "cannot read the manifest file: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory"}}},
		{"apply endless file", &ApplyStep{File: "/dev/zero"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "cannot read the manifest file: /dev/zero is over 8 MiB, the limit of a manifest"}}},
		{"apply bad file", &ApplyStep{File: "bad.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "bad.yaml:5: object has no apiVersion, no metadata.name"}}},
		{"apply file with an expression", &ApplyStep{File: "expr.yaml"}, normal,
			[]runbook.FieldError{{Field: "file", Message: "expr.yaml holds ${{ }}, which is only evaluated in an inline manifest: move the objects into manifest, or remove the expression"}}},

		{"get ok", &GetStep{Kind: "Pod", Name: expression.NewTemplate("x")}, normal, nil},
		{"get needs kind", &GetStep{}, normal, []runbook.FieldError{{Field: "kind", Message: "kind is required (e.g. Pod, Deployment)"}}},
		{"get name and selector", &GetStep{Kind: "Pod", Name: expression.NewTemplate("x"), Selector: expression.NewTemplate("a=b")}, normal,
			[]runbook.FieldError{{Field: "selector", Message: "give name or selector, not both"}}},
		{"get bad apiVersion", &GetStep{APIVersion: "a/b/c", Kind: "X"}, normal,
			[]runbook.FieldError{{Field: "apiVersion", Message: `apiVersion "a/b/c" is not GROUP/VERSION or VERSION: unexpected GroupVersion string: a/b/c`}}},

		{"wait ok", &WaitStep{Kind: "Pod", Name: expression.NewTemplate("x"), For: expression.NewExpr("true")}, normal, nil},
		{"wait needs kind, name, for", &WaitStep{}, normal, []runbook.FieldError{
			{Field: "kind", Message: "kind is required (e.g. Pod, Deployment)"},
			{Field: "name", Message: "name is required"},
			{Field: "for", Message: `for is required: an expression over object, e.g. object.status.phase == "Running" (or deleted: true to wait until it is gone)`}}},

		{"logs ok", &LogsStep{PodTarget: PodTarget{Pod: expression.NewTemplate("x")}, TailLines: i64(0)}, normal, nil},
		{"logs needs pod", &LogsStep{TailLines: i64(-1), Since: &runbook.Duration{}}, normal, []runbook.FieldError{
			{Field: "pod", Message: "pod (or selector) is required"},
			{Field: "tailLines", Message: "tailLines must be 0 or more (leave it out for the whole log)"},
			{Field: "since", Message: "since must be more than 0 (leave it out for the whole log)"}}},

		{"logs of a deployment", &LogsStep{PodTarget: PodTarget{Pod: expression.NewTemplate("deploy/web")}}, normal, nil},
		{"logs by selector", &LogsStep{PodTarget: PodTarget{Selector: expression.NewTemplate("app=web,tier in (a,b)")}}, normal, nil},
		{"logs unknown kind", &LogsStep{PodTarget: PodTarget{Pod: expression.NewTemplate("service/web")}}, normal, []runbook.FieldError{
			{Field: "pod", Message: `"service/web": unknown kind "service" (a pod target is NAME, pod/NAME, or one of deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job followed by /NAME)`}}},
		{"logs bad selector", &LogsStep{PodTarget: PodTarget{Selector: expression.NewTemplate("app in (a")}}, normal, []runbook.FieldError{
			{Field: "selector", Message: `selector "app in (a": unable to parse requirement: found '', expected: ',' or ')'`}}},
		{"logs pod and selector", &LogsStep{PodTarget: PodTarget{Pod: expression.NewTemplate("web"), Selector: expression.NewTemplate("app=web")}}, normal, []runbook.FieldError{
			{Field: "selector", Message: "pod and selector are exclusive: give one"}}},
		{"exec bad pod name", &ExecStep{PodTarget: PodTarget{Pod: expression.NewTemplate("deployment/Web_1")}, Command: []expression.Template{expression.NewTemplate("ps")}}, normal, []runbook.FieldError{
			{Field: "pod", Message: `"deployment/Web_1": "Web_1" is not a valid deployment name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}}},
		{"events for a deployment's pod", &EventsStep{For: &EventsFor{Pod: expression.NewTemplate("sts/db")}}, normal, nil},
		{"events for an unknown kind", &EventsStep{For: &EventsFor{Pod: expression.NewTemplate("svc/db")}}, normal, []runbook.FieldError{
			{Field: "for", Message: `for.pod: "svc/db": unknown kind "svc" (a pod target is NAME, pod/NAME, or one of deployment (deploy), statefulset (sts), daemonset (ds), replicaset (rs), job followed by /NAME)`}}},
		{"events for pod and kind", &EventsStep{For: &EventsFor{Kind: "Pod", Pod: expression.NewTemplate("db")}}, normal, []runbook.FieldError{
			{Field: "for", Message: "for takes kind and name, or pod, or selector"}}},
		{"events ok", &EventsStep{For: &EventsFor{Kind: "Pod", Name: expression.NewTemplate("x")}}, normal, nil},
		{"events whole namespace", &EventsStep{}, normal, nil},
		{"events for needs kind and name", &EventsStep{For: &EventsFor{}}, normal, []runbook.FieldError{
			{Field: "for", Message: "for.kind is required (e.g. Pod)"},
			{Field: "for", Message: "for.name is required"}}},
		// A built-in kind in any case, as kubectl events --for takes it: sent as StatefulSet.
		{"events lowercase kind", &EventsStep{For: &EventsFor{Kind: "statefulset", Name: expression.NewTemplate("x")}}, normal, nil},
		{"events kind in another case", &EventsStep{For: &EventsFor{Kind: "Statefulset", Name: expression.NewTemplate("x")}}, normal, nil},
		{"events lowercase unknown kind", &EventsStep{For: &EventsFor{Kind: "widget", Name: expression.NewTemplate("x")}}, normal,
			[]runbook.FieldError{{Field: "for", Message: `for.kind "widget" is not a built-in kind: write a custom resource's kind as in its manifests (e.g. Widget)`}}},

		{"delete ok", &DeleteStep{Kind: "Pod", Name: expression.NewTemplate("x"), GracePeriodSeconds: i64(0)}, normal, nil},
		{"delete needs name", &DeleteStep{Kind: "Pod", GracePeriodSeconds: i64(-1)}, normal, []runbook.FieldError{
			{Field: "name", Message: "name is required"},
			{Field: "gracePeriodSeconds", Message: "gracePeriodSeconds must be 0 or more"}}},

		{"local command", &LocalStep{Command: []expression.Template{expression.NewTemplate("echo")}}, normal, nil},
		{"local shell", &LocalStep{Shell: expression.NewTemplate("echo | cat")}, normal, nil},
		{"local needs a command", &LocalStep{}, normal,
			[]runbook.FieldError{{Field: "", Message: "a local step needs command (an argv, no shell) or shell (a script for /bin/sh -c)"}}},
		{"local command and shell", &LocalStep{Command: []expression.Template{expression.NewTemplate("echo")}, Shell: expression.NewTemplate("echo")}, normal,
			[]runbook.FieldError{{Field: "shell", Message: "give command (an argv, no shell) or shell (a script for /bin/sh -c), not both"}}},
		{"local empty program", &LocalStep{Command: []expression.Template{{}, expression.NewTemplate("x")}}, normal,
			[]runbook.FieldError{{Field: "command", Message: "the first element of command, the program, is empty"}}},
		{"local bad env", &LocalStep{Shell: expression.NewTemplate("env"), Env: []EnvVar{{Name: "A=B"}, {Name: "X"}, {Name: "X"}}}, normal, []runbook.FieldError{
			{Field: "env", Message: `env name "A=B" is not a valid variable name`},
			{Field: "env", Message: "env X is set twice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.Check(tt.ctx)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata: {name: "${{ vars.name }}", labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: scratch, namespace: ignored}
`
	tests := []struct {
		name string
		spec Action
		want *Planned
	}{
		{"apply pod and wait", &ApplyStep{Manifest: tpl(t, podManifest), WaitFor: "Ready"}, &Planned{
			Target:  "pod default/noshell",
			Kubectl: "kubectl create -f - && kubectl wait pod/noshell -n default --for=condition=Ready",
			Calls: []Call{
				{Verb: "create", Resource: "pods", Namespace: "default", Name: "noshell", Body: map[string]any{
					"apiVersion": "v1", "kind": "Pod",
					"metadata": map[string]any{"name": "noshell", "namespace": "default", "labels": planLabels},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.k8s.io/pause:3.10.2", "resources": map[string]any{}}}},
					"status":   map[string]any{},
				}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				watchCall("default", "until pod noshell is Ready"),
			},
			Cleanup: []kube.ObjectRef{kube.PodRef("default", "noshell")},
		}},
		{"apply deployment and namespace", &ApplyStep{Manifest: tpl(t, deployment), WaitFor: "Ready"}, &Planned{
			Target:  "deployment default/web, namespace scratch",
			Kubectl: "kubectl create -f - && kubectl wait deployments.apps/web -n default --for=condition=Available",
			Calls: []Call{
				{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "default", Name: "web", Body: map[string]any{
					"apiVersion": "apps/v1", "kind": "Deployment",
					"metadata": map[string]any{"name": "web", "namespace": "default", "labels": map[string]any{
						"app": "web", "app.kubernetes.io/managed-by": "runbook", "runbook/run-id": "<run id>"}},
					"spec": map[string]any{
						"replicas": int64(2),
						"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
						"template": map[string]any{
							"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
							"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx"}}},
						},
					},
				}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				{Verb: "create", Resource: "namespaces", Name: "scratch", Body: map[string]any{
					"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "scratch", "labels": planLabels}}, Note: "create, never update: an object that already exists fails the step and is left alone"},
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until deployment default/web is ready"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until deployment default/web is ready"},
			},
			Cleanup: []kube.ObjectRef{
				{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespace: "default", Name: "web"},
				{Version: "v1", Resource: "namespaces", Kind: "Namespace", Name: "scratch"}},
		}},
		{"apply a manifest known only at run time", &ApplyStep{Manifest: tpl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: ${{ vars.meta }}\n")}, &Planned{
			Target:  "the objects of the manifest",
			Kubectl: "kubectl create -f -",
			Calls: []Call{{Verb: "create", Resource: "<each object of the manifest>",
				Body: "apiVersion: v1\nkind: ConfigMap\nmetadata: <vars.meta>\n",
				Note: "the manifest can only be read once the run has evaluated it: manifest line 1: object has no metadata.name"}},
			Notes: []string{"every object is labelled with the run's labels and deleted at cleanup"},
		}},
		{"get by name", &GetStep{Kind: "Pod", Name: tpl(t, "${{ vars.name }}"), Namespace: tpl(t, "prod")}, &Planned{
			Target:  "pod prod/web",
			Kubectl: "kubectl get pod web -n prod -o json",
			Calls:   []Call{{Verb: "get", Resource: "pods", Namespace: "prod", Name: "web"}},
		}},
		{"get by selector", &GetStep{APIVersion: "apps/v1", Kind: "Deployment", Selector: tpl(t, "app=web")}, &Planned{
			Target:  "deployments in default",
			Kubectl: "kubectl get deployments.apps -n default -l app=web -o json",
			Calls:   []Call{{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "labelSelector=app=web"}},
		}},
		{"get a cluster-scoped object", &GetStep{Kind: "Node", Name: tpl(t, "vm"), Namespace: tpl(t, "ignored")}, &Planned{
			Target:  "node vm",
			Kubectl: "kubectl get node vm -o json",
			Calls:   []Call{{Verb: "get", Resource: "nodes", Name: "vm"}},
		}},
		{"get a custom resource", &GetStep{APIVersion: "example.com/v1", Kind: "Widget", Name: tpl(t, "w")}, &Planned{
			Target:  "widget default/w",
			Kubectl: "kubectl get widgets.example.com w -n default -o json",
			Calls:   []Call{{Verb: "get", Group: "example.com", Resource: "widgets", Namespace: "default", Name: "w"}},
			Notes:   []string{"Widget is not a built-in kind: its resource (widgets.example.com) and scope are found by discovery at run time"},
		}},
		{"wait for a pod", &WaitStep{Kind: "Pod", Name: tpl(t, "web"), For: cond(t, `object.status.phase == "Running"`)}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl wait pod/web -n default '--for=jsonpath={.status.phase}=Running'",
			Calls: []Call{podWatchCall(&Planner{}, "default", "web", `until object.status.phase == "Running"`),
				{Verb: "get", Resource: "pods", Namespace: "default", Name: "web", Note: "only when the watch's list does not have the pod: the list may lag behind"},
				{Verb: "list", Resource: "pods", Namespace: "default", Note: "field selector metadata.name=web, only when the pod is deleted while waiting and its StatefulSet creates it again under its name"},
				{Verb: "watch", Resource: "pods", Namespace: "default", Note: "field selector metadata.name=web, only when the pod is deleted while waiting and its StatefulSet creates it again under its name"}},
		}},
		{"wait for a deployment, waitForCreate", &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, `true`), WaitForCreate: true}, &Planned{
			Target:  "deployment default/web",
			Kubectl: "kubectl wait deployments.apps/web -n default --for=create && kubectl get deployments.apps web -n default --watch -o json  # until true",
			Calls: []Call{
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until true"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until true"},
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, only when there is none of that name (waitForCreate)"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, only when there is none of that name (waitForCreate)"},
			},
		}},
		{"wait for a deployment", &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, `object.status.readyReplicas >= 2`)}, &Planned{
			Target:  "deployment default/web",
			Kubectl: "kubectl get deployments.apps web -n default --watch -o json  # until object.status.readyReplicas >= 2",
			Calls: []Call{
				{Verb: "list", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until object.status.readyReplicas >= 2"},
				{Verb: "watch", Group: "apps", Resource: "deployments", Namespace: "default", Note: "field selector metadata.name=web, until object.status.readyReplicas >= 2"},
			},
		}},
		{"logs", &LogsStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Container: tpl(t, "app"), Previous: true, TailLines: i64(20), Since: &runbook.Duration{Duration: 90 * time.Second}}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl logs web -n default -c app --previous --tail=20 --since=1m30s",
			Calls: []Call{{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "default", Name: "web",
				Body: map[string]any{"container": "app", "previous": true, "tailLines": int64(20), "sinceSeconds": int64(90)},
				Note: "query parameters; the log is capped at the run's output limit"},
				{Verb: "get", Resource: "pods", Namespace: "default", Name: "web",
					Note: "when the kubelet cannot serve the previous log: is the container waiting to restart after a crash? Then its current log (the crashed instance) is read, and the pod again; else the previous log is asked again until the step's timeout"}},
		}},
		{"events of a pod", &EventsStep{For: &EventsFor{Kind: "Pod", Name: tpl(t, "web")}}, &Planned{
			Target:  "events of pod default/web",
			Kubectl: "kubectl events -n default --for pod/web",
			Calls:   []Call{{Verb: "list", Resource: "events", Namespace: "default", Note: "fieldSelector=involvedObject.kind=Pod,involvedObject.name=web"}},
		}},
		{"events of a namespace", &EventsStep{Namespace: tpl(t, "prod")}, &Planned{
			Target:  "events in prod",
			Kubectl: "kubectl events -n prod",
			Calls:   []Call{{Verb: "list", Resource: "events", Namespace: "prod"}},
		}},
		{"delete a pod the runbook did not create", &DeleteStep{Kind: "Pod", Name: tpl(t, "web"), GracePeriodSeconds: i64(0)}, &Planned{
			Target:  "pod default/web",
			Kubectl: "kubectl delete pod web -n default --grace-period=0",
			Calls: []Call{
				{Verb: "get", Resource: "pods", Namespace: "default", Name: "web", Note: "the object before deletion is `object` in assertions"},
				{Verb: "delete", Resource: "pods", Namespace: "default", Name: "web", Body: map[string]any{
					"propagationPolicy": "Background", "gracePeriodSeconds": int64(1), "preconditions": map[string]any{"uid": "<uid of the object read>"}}},
				podWatchCall(&Planner{}, "default", "web", "until pod default/web is gone"),
			},
			Notes: []string{"gracePeriodSeconds 0 is sent as 1, as kubectl does without --force: the object goes once its processes have stopped (force: true deletes at once)",
				"unless an earlier step of this runbook creates it, deleting pod default/web is a real change to the cluster: cleanup does not bring it back"},
		}},
		{"delete a namespace without waiting", &DeleteStep{Kind: "Namespace", Name: tpl(t, "scratch"), Wait: boolp(false), IgnoreNotFound: true}, &Planned{
			Target:  "namespace scratch",
			Kubectl: "kubectl delete namespace scratch --wait=false --ignore-not-found",
			Calls: []Call{
				{Verb: "get", Resource: "namespaces", Name: "scratch", Note: "the object before deletion is `object` in assertions"},
				{Verb: "delete", Resource: "namespaces", Name: "scratch", Body: map[string]any{
					"propagationPolicy": "Background", "preconditions": map[string]any{"uid": "<uid of the object read>"}}},
			},
			Notes: []string{"unless an earlier step of this runbook creates it, deleting namespace scratch is a real change to the cluster: cleanup does not bring it back"},
		}},
		{"local command", &LocalStep{Command: []expression.Template{tpl(t, "kubectl"), tpl(t, "get"), tpl(t, "pod/${{ vars.name }}")}, Env: []EnvVar{{Name: "TOKEN", Value: tpl(t, "s3cret"), Secret: true}}}, &Planned{
			Target: "local: kubectl get pod/web",
			Calls:  []Call{},
			Notes:  []string{"runs on the operator's machine, not in the cluster, with the operator's environment and credentials, in <dir>: kubectl get pod/web", "env TOKEN is set"},
		}},
		{"local shell", &LocalStep{Shell: tpl(t, "ps aux | grep kubelet"), Dir: tpl(t, "/tmp")}, &Planned{
			Target: "local: /bin/sh -c 'ps aux | grep kubelet'",
			Calls:  []Call{},
			Notes:  []string{"runs on the operator's machine, not in the cluster, with the operator's environment and credentials, in /tmp: /bin/sh -c 'ps aux | grep kubelet'"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlanner(t)
			got, err := tt.spec.Plan(p)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range got.Notes {
				got.Notes[i] = strings.ReplaceAll(n, p.Dir, "<dir>")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}
