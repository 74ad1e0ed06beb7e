//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// retryLimit bounds the retries of a check that depends on kube-proxy and
// CoreDNS catching up with a new Service (about a second on this cluster).
const retryLimit = 30 * time.Second

// TestSmokeServiceDNS checks the add-ons of the local cluster: a pod behind
// a ClusterIP Service answers from another pod through the Service's IP
// (kube-proxy), its name SVC.NS.svc.cluster.local and its short name
// (CoreDNS and the kubelet's resolv.conf), and kubernetes.default resolves
// to the API server's Service, which answers.
func TestSmokeServiceDNS(t *testing.T) {
	c := connect(t)
	ctx := t.Context()

	dnsSvc, err := c.client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the cluster DNS Service: %v (is the coredns add-on off? see hack/cluster.sh)", err)
	}
	apiSvc, err := c.client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the kubernetes Service: %v", err)
	}
	dnsPods, err := c.client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		t.Fatalf("listing the CoreDNS pods: %v", err)
	}
	ready := 0
	for i := range dnsPods.Items {
		if ok, _ := podReady(&dnsPods.Items[i]); ok {
			ready++
		}
	}
	if ready == 0 {
		t.Fatalf("no CoreDNS pod (kube-system, k8s-app=kube-dns) is Ready among %d", len(dnsPods.Items))
	}

	ns := c.newNamespace(t, "runbook-dns-")
	web := webPod()
	client := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "sh", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	}
	for _, p := range []*corev1.Pod{web, client} {
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
	svc, err := c.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Service web: %v", err)
	}
	for _, name := range []string{"web", "client"} {
		if _, err := c.waitForPod(ctx, ns, name, podReady); err != nil {
			t.Fatalf("waiting for %s to be Ready: %v", name, err)
		}
	}
	fqdn := "web." + ns + ".svc.cluster.local"

	t.Run("resolv.conf points at the cluster DNS", func(t *testing.T) {
		out, stderr, err := c.exec(ctx, ns, "client", "sh", []string{"cat", "/etc/resolv.conf"})
		if err != nil {
			t.Fatalf("%v (stderr %q)", err, stderr)
		}
		wantNS := "nameserver " + dnsSvc.Spec.ClusterIP
		wantSearch := "search " + ns + ".svc.cluster.local svc.cluster.local cluster.local"
		if !strings.Contains(out, wantNS) || !strings.Contains(out, wantSearch) {
			t.Errorf("/etc/resolv.conf lacks %q or %q:\n%s", wantNS, wantSearch, out)
		}
	})

	// Each check runs `timeout 5 wget ...`: Debian's static BusyBox 1.35
	// crashes on `wget -T`.
	t.Run("the Service's ClusterIP routes to the pod", func(t *testing.T) {
		c.eventually(t, ns, "client", []string{"timeout", "5", "wget", "-qO-", "http://" + svc.Spec.ClusterIP + ":80/"},
			regexp.MustCompile(`^hello from web\n$`))
	})

	t.Run("the Service's DNS name resolves to its ClusterIP", func(t *testing.T) {
		c.eventually(t, ns, "client", []string{"nslookup", "-type=a", fqdn},
			regexp.MustCompile(`(?m)^Address:\s*`+regexp.QuoteMeta(svc.Spec.ClusterIP)+`$`))
	})

	t.Run("the Service answers by its DNS name", func(t *testing.T) {
		c.eventually(t, ns, "client", []string{"timeout", "5", "wget", "-qO-", "http://" + fqdn + ":80/"},
			regexp.MustCompile(`^hello from web\n$`))
	})

	t.Run("the Service answers by its short name (search path)", func(t *testing.T) {
		c.eventually(t, ns, "client", []string{"timeout", "5", "wget", "-qO-", "http://web/"},
			regexp.MustCompile(`^hello from web\n$`))
	})

	t.Run("kubernetes.default resolves and answers", func(t *testing.T) {
		c.eventually(t, ns, "client", []string{"nslookup", "-type=a", "kubernetes.default.svc.cluster.local"},
			regexp.MustCompile(`(?m)^Address:\s*`+regexp.QuoteMeta(apiSvc.Spec.ClusterIP)+`$`))
		// Plain HTTP to the API server's TLS port: the answer is its "400 Bad
		// Request", which shows the name resolved through the search path
		// and the Service routed to the API server.
		c.eventually(t, ns, "client", []string{"sh", "-c", "timeout 5 wget -O- http://kubernetes.default:443/ 2>&1; true"},
			regexp.MustCompile(`Connecting to kubernetes\.default:443 \(`+regexp.QuoteMeta(apiSvc.Spec.ClusterIP)+
				`:443\)(?s:.*)400 Bad Request`))
	})
}

// eventually runs command in the first container of pod ns/name until its
// stdout matches want, for up to retryLimit; it fails with the last output.
func (c *cluster) eventually(t *testing.T, ns, name string, command []string, want *regexp.Regexp) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), retryLimit)
	defer cancel()
	var last string
	for {
		out, stderr, err := c.exec(ctx, ns, name, "", command)
		if err == nil && want.MatchString(out) {
			return
		}
		last = fmt.Sprintf("stdout %q, stderr %q, err %v", out, stderr, err)
		select {
		case <-ctx.Done():
			t.Fatalf("%v in %s/%s: no output matching %s within %s; last: %s", command, ns, name, want, retryLimit, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
