//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/runbook/serve"
)

// TestServeInCluster: the documented deployment. `runbook serve --install`
// and `--manifests` applied in a namespace run the receiver from the
// tool's image as its own account (jobs create and list only); a pod of
// the cluster posting an alert to its Service without the token gets 401,
// with it starts one Job of the installed runbook.
func TestServeInCluster(t *testing.T) {
	c := connect(t)
	ops := c.newNamespace(t, "serve-incluster-")
	ctx := t.Context()
	image := os.Getenv("RUNBOOK_IMAGE")
	if image == "" {
		image = incluster.DefaultImage
	}

	dir := t.TempDir()
	crash, err := os.ReadFile(repoFile("examples/incidents/crashloop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "crashloop.yaml"), string(crash))
	routes := filepath.Join(dir, "routes.yaml")
	writeFile(t, routes, `apiVersion: runbook/v1alpha1
kind: Routes
routes:
- name: crashloop
  alert: KubePodCrashLooping
  runbook: crashloop.yaml
  vars:
    pod: labels.pod
`)
	if res := runCLI(t, "serve", "--routes", routes, "-n", ops, "--image", image, "--install"); res.code != 0 {
		t.Fatalf("serve --install:\n%s", res)
	}
	res := runCLI(t, "serve", "--routes", routes, "-n", ops, "--image", image, "--manifests")
	if res.code != 0 {
		t.Fatalf("serve --manifests:\n%s", res)
	}
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(res.stdout, "\n---\n")[1:] {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("a document of --manifests: %v\n%s", err, doc)
		}
		objs = append(objs, u)
	}
	clients, err := kube.NewClientsForConfig(c.config, ops, "")
	if err != nil {
		t.Fatal(err)
	}
	const token = "in-cluster-e2e-token"
	if _, err := c.client.CoreV1().Secrets(ops).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: serve.TokenSecret},
		StringData: map[string]string{serve.TokenKey: token}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := incluster.Apply(ctx, clients, objs); err != nil {
		t.Fatalf("applying --manifests: %v", err)
	}

	// The receiver's pod becomes Ready: its probes answer /healthz.
	wctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	sel := "app.kubernetes.io/name=" + serve.Name
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return c.client.CoreV1().Pods(ops).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return c.client.CoreV1().Pods(ops).Watch(ctx, o)
		},
	}
	ev, err := watchtools.UntilWithSync(wctx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		return e.Type == watch.Added, nil
	})
	if err != nil {
		t.Fatalf("the Deployment made no pod within %s: %v", waitLimit, err)
	}
	podName := ev.Object.(*corev1.Pod).Name
	if _, err := c.waitForPod(ctx, ops, podName, podReady); err != nil {
		log, _ := c.logs(context.Background(), ops, podName, "serve")
		t.Fatalf("the receiver's pod: %v\n%s", err, log)
	}

	// A client in the cluster: without the token, then with it.
	alert := `{"version":"4","status":"firing","receiver":"runbook","groupKey":"k","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","pod":"web-1"},"annotations":{},"startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"f1"}]}`
	url := fmt.Sprintf("http://%s.%s.svc:%d/webhook", serve.Name, ops, serve.Port)
	script := `wget -q -O - --header 'Content-Type: application/json' --post-data "$ALERT" "$URL" 2>&1 && echo "no token: accepted" || echo "no token: refused"
wget -q -O - --header "Authorization: Bearer $TOKEN" --header 'Content-Type: application/json' --post-data "$ALERT" "$URL"`
	client := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "alert-client"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "client", Image: busyboxImage, Command: []string{"sh", "-c", script},
			Env: []corev1.EnvVar{{Name: "ALERT", Value: alert}, {Name: "URL", Value: url}, {Name: "TOKEN", Value: token}}}},
	}}
	if _, err := c.client.CoreV1().Pods(ops).Create(ctx, client, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, waitErr := c.waitForPod(ctx, ops, client.Name, podSucceeded)
	out, _ := c.logs(context.Background(), ops, client.Name, "client")
	serveLog, _ := c.logs(context.Background(), ops, podName, "serve")
	if waitErr != nil {
		t.Fatalf("the client pod: %v\n%s\nthe receiver's log:\n%s", waitErr, out, serveLog)
	}
	if !strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, "no token: refused") {
		t.Errorf("without the token: want 401:\n%s", out)
	}
	if !strings.Contains(out, "KubePodCrashLooping f1: started job/runbook-incident-crashloop-") {
		t.Errorf("with the token: want a started Job:\n%s\nthe receiver's log:\n%s", out, serveLog)
	}
	jobs, err := c.client.BatchV1().Jobs(ops).List(ctx, metav1.ListOptions{LabelSelector: serve.LabelRoute + "=crashloop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Errorf("want the one Job the alert started, found %d", len(jobs.Items))
	} else if sa := jobs.Items[0].Spec.Template.Spec.ServiceAccountName; sa != "runbook-incident-crashloop" {
		t.Errorf("the Job runs as %q, want the install's account", sa)
	}
	t.Logf("the receiver's log:\n%s", serveLog)
}
