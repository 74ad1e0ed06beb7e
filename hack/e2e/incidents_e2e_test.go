//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The catalog of incident runbooks (examples/incidents): each test breaks a
// workload on purpose in a fresh namespace, waits until it is broken in the
// intended way, runs the runbook against it and checks that the Markdown
// report names the cause, not just the exit code.

// runIncident runs examples/incidents/FILE in namespace ns with the vars
// given as NAME=VALUE, and returns how it ended and its Markdown report.
// It logs the run's wall time.
func runIncident(t *testing.T, file, ns string, vars ...string) (cliResult, string) {
	t.Helper()
	paths := newReportPaths(t)
	args := []string{"run", repoFile("examples/incidents/" + file), "-n", ns,
		"--report", "md=" + paths.md, "--report", "json=" + paths.json}
	for _, v := range vars {
		args = append(args, "--var", v)
	}
	res := runCLI(t, args...)
	t.Logf("%s took %s (exit %d)", file, res.wall.Round(time.Millisecond), res.code)
	md := string(readFile(t, paths.md))
	if dir := os.Getenv("INCIDENT_REPORTS"); dir != "" {
		// Keep the reports to read them after the test.
		name := filepath.Join(dir, strings.TrimSuffix(file, ".yaml")+".md")
		if err := os.WriteFile(name, []byte(md), 0o644); err != nil {
			t.Errorf("keeping the report: %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Markdown report of %s:\n%s", file, md)
		}
	})
	return res, md
}

// wantInReport fails the test for each text the report lacks.
func wantInReport(t *testing.T, md string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !strings.Contains(md, s) {
			t.Errorf("the report does not say %q", s)
		}
	}
}

// deploymentPod creates the Deployment and returns the name of its pod
// once cond holds for it.
func (c *cluster) deploymentPod(t *testing.T, ns string, d *appsv1.Deployment, cond podCondition) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	if _, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Deployment %s: %v", d.Name, err)
	}
	selector := metav1.FormatLabelSelector(d.Spec.Selector)
	deadline := time.Now().Add(waitLimit)
	for {
		pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatalf("listing the pods of %s: %v", d.Name, err)
		}
		if len(pods.Items) > 0 {
			pod, err := c.waitForPod(ctx, ns, pods.Items[0].Name, cond)
			if err != nil {
				t.Fatalf("waiting for the pod of Deployment %s: %v", d.Name, err)
			}
			return pod
		}
		if time.Now().After(deadline) {
			t.Fatalf("Deployment %s made no pod within %s", d.Name, waitLimit)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// deployment returns a one-replica Deployment of the pod spec, labelled
// app=name.
func deployment(name string, spec corev1.PodSpec) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       spec,
			},
		},
	}
}

// containerStatus returns the status of the pod's container name.
func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// TestIncidentCrashLoop: a Deployment whose app exits 1 because its
// configuration file lacks a key. The runbook reads the exit code, the
// previous log and the events, copies the pod with the command changed to
// sleep and reads the environment and the configuration file in the copy.
func TestIncidentCrashLoop(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-crashloop-")
	ctx := t.Context()
	_, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-config"},
		Data:       map[string]string{"config.yaml": "listen: :8080\nlog_level: debug\n"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the ConfigMap: %v", err)
	}
	d := deployment("crashy", corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "app",
			Image: busyboxImage,
			Command: []string{"sh", "-c", `echo "loading /etc/app/config.yaml"
grep -q '^database_url:' /etc/app/config.yaml || { echo "fatal: database_url is missing from /etc/app/config.yaml" >&2; exit 1; }
exec sleep 3600`},
			Env:          []corev1.EnvVar{{Name: "APP_MODE", Value: "production"}},
			VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}},
		}},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}},
		}}},
	})
	pod := c.deploymentPod(t, ns, d, func(p *corev1.Pod) (bool, error) {
		s := containerStatus(p, "app")
		return s != nil && s.RestartCount >= 1 && s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff", nil
	})

	res, md := runIncident(t, "crashloop.yaml", ns, "pod="+pod.Name, "config=/etc/app/config.yaml")
	if res.code != 0 {
		t.Errorf("the runbook did not pass on a crash-looping pod:\n%s", res)
	}
	wantInReport(t, md,
		"is crash-looping (CrashLoopBackOff",
		"its last run exited with code 1 (Error)",
		"fatal: database_url is missing from /etc/app/config.yaml", // the previous log
		"APP_MODE=production",                                      // the environment, read in the copy
		"log_level: debug",                                         // the configuration file, read in the copy
		"kubectl debug "+pod.Name,                                  // the copy's kubectl line
	)
	if _, err := c.client.CoreV1().Pods(ns).Get(ctx, pod.Name+"-still", metav1.GetOptions{}); err == nil {
		t.Errorf("the copy %s-still is left after the run", pod.Name)
	}
}

// TestIncidentImagePull: a Deployment whose image is in a registry the
// cluster cannot reach, with a pull secret that does not exist. The
// runbook names the image, the pull error and the pull secret.
func TestIncidentImagePull(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-imagepull-")
	const image = "registry.invalid/team/app:1.4.2"
	d := deployment("web", corev1.PodSpec{
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		Containers:       []corev1.Container{{Name: "app", Image: image}},
	})
	pod := c.deploymentPod(t, ns, d, func(p *corev1.Pod) (bool, error) {
		s := containerStatus(p, "app")
		return s != nil && s.State.Waiting != nil &&
			(s.State.Waiting.Reason == "ErrImagePull" || s.State.Waiting.Reason == "ImagePullBackOff"), nil
	})

	res, md := runIncident(t, "imagepull.yaml", ns, "pod="+pod.Name)
	if res.code != 0 {
		t.Errorf("the runbook did not pass on a pod whose image does not pull:\n%s", res)
	}
	wantInReport(t, md,
		"Container app of pod "+pod.Name+" cannot pull its image "+image,
		"Pull secrets: regcred;",
		"from ServiceAccount default: none",
	)
	if !strings.Contains(md, "(ErrImagePull") && !strings.Contains(md, "(ImagePullBackOff") {
		t.Errorf("the report does not name the waiting reason (ErrImagePull or ImagePullBackOff)")
	}
}

// TestIncidentPending: a Deployment that requests more CPU than any node
// has. The runbook reads the scheduler's message and the nodes'
// allocatable resources.
func TestIncidentPending(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-pending-")
	d := deployment("big", corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:    "app",
			Image:   busyboxImage,
			Command: []string{"sleep", "3600"},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("500"),
			}},
		}},
	})
	pod := c.deploymentPod(t, ns, d, func(p *corev1.Pod) (bool, error) {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == "Unschedulable" {
				return true, nil
			}
		}
		if p.Spec.NodeName != "" {
			return false, fmt.Errorf("the pod was scheduled on %s", p.Spec.NodeName)
		}
		return false, nil
	})

	res, md := runIncident(t, "pending.yaml", ns, "pod="+pod.Name)
	if res.code != 0 {
		t.Errorf("the runbook did not pass on an unschedulable pod:\n%s", res)
	}
	wantInReport(t, md,
		"Pod "+pod.Name+" is Pending: Unschedulable: ",
		"Insufficient cpu",
		"The pod asks for: app requests cpu 500",
		"allocatable cpu ",
	)
}

// TestIncidentService: a Service whose selector (app=web-v2) matches no
// pod, in front of a working web pod (app=web). The runbook passes, having
// named the cause (the Service has no endpoints and does not answer) and
// that the pods answer directly.
func TestIncidentService(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-service-")
	ctx := t.Context()
	web := webPod()
	client := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "client"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: busyboxImage, Command: []string{"sleep", "3600"},
		}}},
	}
	for _, p := range []*corev1.Pod{web, client} {
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", p.Name, err)
		}
	}
	_, err := c.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web-v2"}, // the pods are app=web
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

	res, md := runIncident(t, "service.yaml", ns, "service=web", "client=client", "pods=app=web")
	if res.code != 0 {
		t.Errorf("the runbook should pass, having named the cause, on a Service without endpoints:\n%s", res)
	}
	wantInReport(t, md,
		"Service web has no endpoints: its selector app=web-v2 matches no ready pod.",
		"does not answer; the pods answer directly on 1 of 1 addresses.",
		"The pods work: the Service's selector does not match their labels.",
	)

	t.Run("fixed", func(t *testing.T) {
		// The selector put right, the same run passes. kube-proxy takes
		// about a second to program a new endpoint: a few tries.
		patch := []byte(`{"spec":{"selector":{"app":"web"}}}`)
		if _, err := c.client.CoreV1().Services(ns).Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("fixing the Service's selector: %v", err)
		}
		var res cliResult
		var md string
		for try := 0; try < 5; try++ {
			time.Sleep(2 * time.Second)
			if res, md = runIncident(t, "service.yaml", ns, "service=web", "client=client"); res.code == 0 {
				break
			}
		}
		if res.code != 0 {
			t.Fatalf("the runbook does not pass on a working Service:\n%s", res)
		}
		wantInReport(t, md, "Service web has endpoints ", " port 80 answers; the pods answer directly on 1 of 1 addresses.")
	})
}

// TestIncidentDNS: a shell-less pod whose dnsConfig sends its queries to an
// address where no DNS server is (dnsPolicy None), which is safe for the
// tests that run at the same time (CoreDNS is left alone). The runbook
// passes, having named the cause (the bad nameserver) and that the cluster
// DNS itself answers.
func TestIncidentDNS(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-dns-")
	ctx := t.Context()
	const badNameserver = "192.0.2.53" // TEST-NET-1: nothing answers there
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "noshell"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: pauseImage}},
			DNSPolicy:  corev1.DNSNone,
			DNSConfig: &corev1.PodDNSConfig{
				Nameservers: []string{badNameserver},
				Searches:    []string{ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local"},
			},
		},
	}
	if _, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating pod %s: %v", pod.Name, err)
	}
	if _, err := c.waitForPod(ctx, ns, pod.Name, podReady); err != nil {
		t.Fatalf("waiting for %s to be Ready: %v", pod.Name, err)
	}
	dnsSvc, err := c.client.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the cluster DNS Service: %v (is the coredns add-on off? see hack/cluster.sh)", err)
	}

	res, md := runIncident(t, "dns.yaml", ns, "pod="+pod.Name)
	if res.code != 0 {
		t.Errorf("the runbook should pass, having named the cause, on a pod that cannot resolve:\n%s", res)
	}
	wantInReport(t, md,
		"Pod noshell cannot resolve kubernetes.default.svc.cluster.local",
		"Its resolv.conf sends queries to "+badNameserver+", not to the cluster DNS Service kube-dns ("+dnsSvc.Spec.ClusterIP+
			"): its dnsPolicy is None with dnsConfig nameservers "+badNameserver+".",
		"The cluster DNS itself answers",
		"nameserver "+badNameserver, // the pod's resolv.conf, as the debugger read it
	)

	t.Run("healthy", func(t *testing.T) {
		// A shell-less pod with the default DNS policy resolves: the run passes.
		ok := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "healthy"},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pauseImage}}},
		}
		if _, err := c.client.CoreV1().Pods(ns).Create(ctx, ok, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod %s: %v", ok.Name, err)
		}
		if _, err := c.waitForPod(ctx, ns, ok.Name, podReady); err != nil {
			t.Fatalf("waiting for %s to be Ready: %v", ok.Name, err)
		}
		res, md := runIncident(t, "dns.yaml", ns, "pod="+ok.Name)
		if res.code != 0 {
			t.Errorf("the runbook does not pass on a pod that resolves:\n%s", res)
		}
		wantInReport(t, md, "Pod healthy resolves kubernetes.default.svc.cluster.local.")
	})
}

// TestIncidentOOM: a Deployment whose app allocates 256 MiB under a limit
// of 32 MiB. The runbook finds the OOM kill and names the limit.
func TestIncidentOOM(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-oom-")
	d := deployment("hungry", corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:    "app",
			Image:   busyboxImage,
			Command: []string{"sh", "-c", "echo allocating 256 MiB; exec dd if=/dev/zero of=/dev/null bs=256M count=1"},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
			},
		}},
	})
	pod := c.deploymentPod(t, ns, d, func(p *corev1.Pod) (bool, error) {
		s := containerStatus(p, "app")
		if s == nil || s.LastTerminationState.Terminated == nil {
			return false, nil
		}
		if r := s.LastTerminationState.Terminated.Reason; r != "OOMKilled" {
			return false, fmt.Errorf("the container ended with %s, not OOMKilled", r)
		}
		// In back-off, the previous log is readable (right after the
		// restart the kubelet answers with an error text instead).
		return s.State.Waiting != nil && s.State.Waiting.Reason == "CrashLoopBackOff", nil
	})

	res, md := runIncident(t, "oom.yaml", ns, "pod="+pod.Name)
	if res.code != 0 {
		t.Errorf("the runbook did not pass on an OOMKilled container:\n%s", res)
	}
	wantInReport(t, md,
		"Container app of pod "+pod.Name+" was OOMKilled: its last run ended OOMKilled with exit code 137",
		"Its memory limit is 32Mi (request 16Mi, QoS Burstable)",
		"allocating 256 MiB", // the previous log
	)
}

// TestIncidentOOMNotRestarted: a pod that is never restarted (restartPolicy
// Never, as a Job's) OOMKilled. Its killed run is the container's current
// state and has no previous instance: the runbook reads the current log
// (kubectl logs --previous would fail at once) and passes.
func TestIncidentOOMNotRestarted(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-oom-once-")
	ctx := t.Context()
	_, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "batch"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name:    "app",
				Image:   busyboxImage,
				Command: []string{"sh", "-c", "echo allocating 256 MiB; exec dd if=/dev/zero of=/dev/null bs=256M count=1"},
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
				},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the pod: %v", err)
	}
	if _, err := c.waitForPod(ctx, ns, "batch", func(p *corev1.Pod) (bool, error) {
		s := containerStatus(p, "app")
		if s == nil || s.State.Terminated == nil {
			return false, nil
		}
		if r := s.State.Terminated.Reason; r != "OOMKilled" {
			return false, fmt.Errorf("the container ended with %s, not OOMKilled", r)
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}

	res, md := runIncident(t, "oom.yaml", ns, "pod=batch")
	if res.code != 0 {
		t.Errorf("the runbook did not pass on an OOMKilled container that was not restarted:\n%s", res)
	}
	wantInReport(t, md,
		"Container app of pod batch was OOMKilled: its last run ended OOMKilled with exit code 137",
		"(0 restarts, now terminated, not restarted yet)",
		"allocating 256 MiB", // the log of the killed run, its current one
	)
}

// TestIncidentNode: the runbook reads the local cluster's node through
// /host (nothing is broken: it must find the kubelet, the runtime, the
// kubelet's config and log, and pass), and its plan flags the node pod as
// privileged.
func TestIncidentNode(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "incident-node-")
	node := c.nodeNames(t)[0]

	plan := runCLI(t, "plan", repoFile("examples/incidents/node.yaml"), "-n", ns, "--var", "node="+node)
	if plan.code != 0 {
		t.Fatalf("runbook plan failed:\n%s", plan)
	}
	for _, s := range []string{"!! PRIVILEGED", "!! privileged: hostPID", "!! privileged: hostPath volume host-root (/)"} {
		if !strings.Contains(plan.stdout, s) {
			t.Errorf("the plan does not say %q:\n%s", s, plan.stdout)
		}
	}

	res, md := runIncident(t, "node.yaml", ns, "node="+node)
	if res.code != 0 {
		t.Errorf("the runbook did not pass on a healthy node:\n%s", res)
	}
	wantInReport(t, md,
		"Node "+node+" is Ready, with no pressure condition. Kubelet v",
		" is running (pid ",
		"=== df -h /host",
		"=== kubelet config /host/",
		"kind: KubeletConfiguration",
		"=== kubelet log (/",
	)
}

// TestIncidentRunbooksPlan: validate, plan and rbac accept every incident
// runbook as written, before any var is given (plan and rbac need no
// cluster). Copies of a pod the run did not create and node steps on a
// node named by a var are shown with their run-time parts marked.
func TestIncidentRunbooksPlan(t *testing.T) {
	files, err := filepath.Glob(repoFile("examples/incidents/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no incident runbooks in examples/incidents (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, args := range [][]string{{"validate", f}, {"plan", f, "-n", "incidents"}, {"rbac", f, "-n", "incidents"}} {
				if res := runCLI(t, args...); res.code != 0 {
					t.Errorf("runbook %s failed:\n%s", args[0], res)
				}
			}
		})
	}
}

// webPod is a pod "web" (label app=web) serving "hello from NAME" over HTTP
// on port 8080 (named http), Ready once the port answers: the backend of the
// Service and DNS tests.
func webPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "httpd",
			Image: busyboxImage,
			Command: []string{"sh", "-c",
				`mkdir -p /www && echo "hello from $HOSTNAME" > /www/index.html && exec httpd -f -p 8080 -h /www`},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 1,
			},
		}}},
	}
}
