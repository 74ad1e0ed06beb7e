//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/runbook/serve"
)

// TestServeAlertmanager: a real Alertmanager (hack/alertmanager.sh, v0.26.0)
// notifies `runbook serve` (on the host, with the cluster's kubeconfig) of
// an alert for a crash-looping pod. Exactly one Job runs the crash-loop
// runbook against that pod, and its stored report names the cause; the
// alert repeated within the window starts no second Job; a request without
// the token gets 401; 100 malformed or oversized payloads get 4xx and the
// receiver keeps serving.
func TestServeAlertmanager(t *testing.T) {
	c := connect(t)
	amBin := alertmanagerBin(t)
	ops := c.newNamespace(t, "serve-ops-")
	app := c.newNamespace(t, "serve-app-")
	ctx := t.Context()

	// The crash-looping pod.
	d := deployment("crashy", corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: busyboxImage,
		Command: []string{"sh", "-c", `echo "fatal: cannot open /data/db.sqlite: no such file" >&2; exit 3`},
	}}})
	pod := c.deploymentPod(t, app, d, func(p *corev1.Pod) (bool, error) {
		s := containerStatus(p, "app")
		return s != nil && s.RestartCount >= 1 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff", nil
	})

	// The routes, the token, and the install the route names (its
	// account with the runbook's rules in APP, its ConfigMap).
	dir := t.TempDir()
	routes := filepath.Join(dir, "routes.yaml")
	crashloop, err := filepath.Abs(repoFile("examples/incidents/crashloop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, routes, fmt.Sprintf(`apiVersion: runbook/v1alpha1
kind: Routes
routes:
- name: crashloop
  alert: KubePodCrashLooping
  selector: severity=critical
  runbook: %s
  targetNamespaces: [%s]
  namespace: labels.namespace
  vars:
    pod: labels.pod
`, crashloop, app))
	const token = "e2e-0123456789abcdef"
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, token+"\n")
	image := os.Getenv("RUNBOOK_IMAGE")
	if image == "" {
		image = incluster.DefaultImage
	}
	if res := runCLI(t, "serve", "--routes", routes, "-n", ops, "--image", image, "--install"); res.code != 0 ||
		!strings.Contains(res.stdout, "configmap "+ops+"/runbook-incident-crashloop applied") {
		t.Fatalf("serve --install:\n%s", res)
	}

	// The receiver.
	srv := startCLI(t, "serve", "--routes", routes, "--token-file", tokenFile, "-n", ops, "--image", image,
		"--listen", "127.0.0.1:0", "--dedup-window", "10m", "--max-jobs", "3", "--max-body", "65536")
	line := srv.waitLine(regexp.MustCompile(`listening on 127\.0\.0\.1:\d+`))
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line)
	base := "http://" + addr

	// Alertmanager, notifying the receiver with the token, again every few
	// seconds while the alert fires (so that the receiver's window, not
	// Alertmanager's grouping, is what keeps a second Job from starting).
	amAddr := freeAddr(t)
	amConfig := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, amConfig, fmt.Sprintf(`route:
  receiver: runbook
  group_by: [alertname, namespace, pod]
  group_wait: 0s
  group_interval: 2s
  repeat_interval: 4s
receivers:
- name: runbook
  webhook_configs:
  - url: %s/webhook
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials_file: %s
`, base, tokenFile))
	startAlertmanager(t, amBin, amConfig, amAddr, filepath.Join(dir, "am-data"))

	// A request without the token, and with a wrong one.
	for _, auth := range []string{"", "Bearer wrong-token"} {
		if code, _ := postWebhook(t, base, auth, "application/json", []byte(`{}`)); code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: want 401, got %d", auth, code)
		}
	}

	// The alert.
	pushed := time.Now()
	pushAlert(t, amAddr, app, pod.Name)
	job := waitForJob(t, c, ops)
	runID := job.Labels[incluster.LabelRun]
	t.Logf("alert pushed to Alertmanager; Job %s created %s later", job.Name, time.Since(pushed).Round(time.Millisecond))
	if got := job.Annotations[serve.AnnotationAlert]; got != "KubePodCrashLooping" {
		t.Errorf("the Job's alert annotation: %q", got)
	}
	args := strings.Join(job.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"-n " + app, "--var pod=" + pod.Name} {
		if !strings.Contains(args, want) {
			t.Errorf("the Job's args lack %q: %s", want, args)
		}
	}

	res, md := waitForStoredReport(t, c, ops, runID, job.Name)
	total := time.Since(pushed)
	t.Logf("time from the alert push to the stored report: %s (verdict %s): the Job after %s, the run started %s after the Job and took %s",
		total.Round(100*time.Millisecond), res.Verdict, job.CreationTimestamp.Sub(pushed).Round(time.Second),
		res.StartedAt.Sub(job.CreationTimestamp.Time).Round(100*time.Millisecond), res.Duration)
	// The report names the cause: the exit code and reason of the last
	// run and its last log line. (Whether the container is waiting in
	// CrashLoopBackOff or running again at that moment depends on when the
	// run reads it.)
	wantInReport(t, md,
		"| Var `exitCode` | `3` |",
		"| Var `reason` | `Error` |",
		"fatal: cannot open /data/db.sqlite: no such file",
		"| Var `pod` | `"+pod.Name+"` |",
		"| Namespace | `"+app+"` |",
	)
	// Every step passed (the copy too: the install's account may create it
	// in the alert's namespace), and the last one, a note, states the cause.
	if res.Verdict != report.VerdictPassed {
		t.Errorf("the run in the cluster: verdict %s, want passed", res.Verdict)
	}
	for _, st := range res.Steps {
		if st.Status == report.StatusFailed {
			t.Errorf("step %s (%s) failed in the cluster: %s", st.ID, st.Name, st.Error)
		}
		if st.ID == "diagnosis" && !strings.Contains(st.Stdout, "is crash-looping") {
			t.Errorf("the Diagnosis note does not name the crash loop: %q", st.Stdout)
		}
	}

	// The same alert again, pushed and re-sent by Alertmanager: no second
	// Job. Wait until the receiver has deduplicated it twice (one
	// re-notification, one push), then count the Jobs.
	pushAlert(t, amAddr, app, pod.Name)
	waitForMetric(t, base, `runbook_serve_alerts_deduplicated_total{route="crashloop"}`, 2)
	jobs, err := c.client.BatchV1().Jobs(ops).List(ctx, metav1.ListOptions{LabelSelector: serve.LabelRoute})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 {
		t.Errorf("the alert repeated within the window: want 1 Job, got %d", len(jobs.Items))
	}

	// 100 hostile requests: each 4xx, and the receiver serves after.
	for i, p := range hostilePayloads(100) {
		code, body := postWebhook(t, base, "Bearer "+token, p.contentType, p.body)
		if code < 400 || code >= 500 {
			t.Errorf("hostile payload %d (%s): want 4xx, got %d %s", i, p.what, code, body)
		}
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("/healthz after the hostile payloads: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz after the hostile payloads: %d", resp.StatusCode)
	}
	metrics := scrapeMetrics(t, base)
	for _, want := range []string{
		`runbook_serve_jobs_started_total{route="crashloop"} 1`,
		`runbook_serve_rejected_total{reason="unauthorized"} 2`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	t.Logf("receiver metrics:\n%s", grepLines(metrics, "runbook_serve_"))

	// SIGTERM: a graceful stop, exit 0.
	srv.signal(syscall.SIGTERM)
	if res := srv.wait(); res.code != 0 || !strings.Contains(res.stderr, "runbook serve: stopped") {
		t.Errorf("after SIGTERM: want exit 0 and a stop line:\n%s", res)
	}
}

func alertmanagerBin(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(repoFile("hack/alertmanager.sh"), "build").Output()
	if err != nil {
		t.Fatalf("hack/alertmanager.sh build: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startAlertmanager runs Alertmanager alone (no cluster peers) until the
// test ends, and waits until it is ready.
func startAlertmanager(t *testing.T, bin, config, addr, data string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+config, "--storage.path="+data, "--web.listen-address="+addr,
		"--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Alertmanager: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("Alertmanager's log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(waitLimit)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager is not ready at %s after %s: %v\n%s", addr, waitLimit, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pushAlert posts the firing alert to Alertmanager's v2 API, as Prometheus
// does.
func pushAlert(t *testing.T, amAddr, ns, pod string) {
	t.Helper()
	body, _ := json.Marshal([]map[string]any{{
		"labels": map[string]string{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": ns, "pod": pod,
			"container": "app"},
		"annotations": map[string]string{"summary": "Pod " + ns + "/" + pod + " is crash looping"},
		"startsAt":    time.Now().UTC().Format(time.RFC3339),
	}})
	resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("pushing the alert: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("pushing the alert: %d %s", resp.StatusCode, b)
	}
}

func postWebhook(t *testing.T, base, auth, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting to the receiver: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitForJob waits for the first Job the receiver starts in ns.
func waitForJob(t *testing.T, c *cluster, ns string) *batchv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = serve.LabelRoute
			return c.client.BatchV1().Jobs(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = serve.LabelRoute
			return c.client.BatchV1().Jobs(ns).Watch(ctx, o)
		},
	}
	ev, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, nil, func(e watch.Event) (bool, error) {
		return e.Type == watch.Added, nil
	})
	if err != nil {
		t.Fatalf("no Job started in %s within %s: %v", ns, waitLimit, err)
	}
	return ev.Object.(*batchv1.Job)
}

// waitForStoredReport waits for the Job to finish and returns the
// Markdown report its run stored; on failure it shows the Job's pod and
// log.
func waitForStoredReport(t *testing.T, c *cluster, ns, runID, job string) (*report.Result, string) {
	t.Helper()
	clients, err := kube.NewClientsForConfig(c.config, ns, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = "metadata.name=" + job
			return c.client.BatchV1().Jobs(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = "metadata.name=" + job
			return c.client.BatchV1().Jobs(ns).Watch(ctx, o)
		},
	}
	ev, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, nil, func(e watch.Event) (bool, error) {
		j, ok := e.Object.(*batchv1.Job)
		return ok && (j.Status.Succeeded > 0 || j.Status.Failed > 0), nil
	})
	podLog := func() string {
		var b strings.Builder
		pods, _ := c.client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "job-name=" + job})
		for _, p := range pods.Items {
			log, _ := c.logs(t.Context(), ns, p.Name, "runbook")
			fmt.Fprintf(&b, "pod %s: %s\n%s\n", p.Name, describeStatuses(&p), log)
		}
		return b.String()
	}
	if err != nil {
		t.Fatalf("Job %s did not finish within %s: %v\n%s", job, waitLimit, err, podLog())
	}
	j := ev.Object.(*batchv1.Job)
	t.Logf("Job %s finished: %d succeeded, %d failed", job, j.Status.Succeeded, j.Status.Failed)
	_, res, md, err := incluster.GetResult(t.Context(), clients, ns, runID)
	if err != nil {
		t.Fatalf("reading the stored result of run %s: %v\n%s", runID, err, podLog())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stored Markdown report of run %s:\n%s\nthe Job's pod:\n%s", runID, md, podLog())
		}
	})
	return res, md
}

func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// waitForMetric waits until the metric's value reaches at least min.
func waitForMetric(t *testing.T, base, metric string, min float64) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var v float64
		for _, l := range strings.Split(scrapeMetrics(t, base), "\n") {
			if rest, ok := strings.CutPrefix(l, metric+" "); ok {
				fmt.Sscan(rest, &v)
			}
		}
		if v >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after %s, want at least %v", metric, v, waitLimit, min)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

type hostilePayload struct {
	what, contentType string
	body              []byte
}

// hostilePayloads returns n authorised requests that are not valid,
// bounded notifications: cut, oversized, deeply nested, of the wrong
// types, versions and media type, with labels that are not names.
func hostilePayloads(n int) []hostilePayload {
	valid := `{"version":"4","status":"firing","receiver":"runbook","groupKey":"k","truncatedAlerts":0,"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","severity":"critical","namespace":"NS","pod":"POD"},"annotations":{},"startsAt":"2026-12-01T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"FP"}]}`
	kinds := []func(i int) hostilePayload{
		func(i int) hostilePayload {
			return hostilePayload{"cut", "application/json", []byte(valid[:i%len(valid)])}
		},
		func(i int) hostilePayload {
			return hostilePayload{"oversized", "application/json", bytes.Repeat([]byte(`{"a":`), 20000+i)}
		},
		func(i int) hostilePayload {
			return hostilePayload{"big string", "application/json", []byte(`{"version":"4","receiver":"` + strings.Repeat("x", 70000+i) + `"}`)}
		},
		func(i int) hostilePayload {
			return hostilePayload{"nested", "application/json", []byte(strings.Repeat("[", 1000+i) + strings.Repeat("]", 1000+i))}
		},
		func(i int) hostilePayload {
			return hostilePayload{"version", "application/json", []byte(strings.Replace(valid, `"version":"4"`, fmt.Sprintf(`"version":"%d"`, 5+i), 1))}
		},
		func(i int) hostilePayload {
			return hostilePayload{"unknown field", "application/json", []byte(strings.Replace(valid, `"receiver"`, fmt.Sprintf(`"x%d":1,"receiver"`, i), 1))}
		},
		func(i int) hostilePayload {
			return hostilePayload{"pod not a name", "application/json", []byte(strings.Replace(strings.Replace(valid, "POD", fmt.Sprintf("../../%d;rm -rf /", i), 1), "NS", "default", 1))}
		},
		func(i int) hostilePayload {
			return hostilePayload{"namespace not a name", "application/json", []byte(strings.Replace(strings.Replace(valid, "NS", fmt.Sprintf("Kube System %d", i), 1), "POD", "p", 1))}
		},
		func(i int) hostilePayload {
			return hostilePayload{"wrong type", "application/json", []byte(strings.Replace(valid, `"labels":{`, fmt.Sprintf(`"labels":{"n":%d,`, i), 1))}
		},
		func(i int) hostilePayload { return hostilePayload{"media type", "text/plain", []byte(valid)} },
		func(i int) hostilePayload {
			return hostilePayload{"binary", "application/json", bytes.Repeat([]byte{0xff, 0x00, byte(i)}, 100)}
		},
		func(i int) hostilePayload {
			return hostilePayload{"trailing", "application/json", []byte(valid + fmt.Sprintf(" %d", i))}
		},
	}
	out := make([]hostilePayload, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)](i)
	}
	return out
}
