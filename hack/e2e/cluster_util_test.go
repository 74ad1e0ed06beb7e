//go:build e2e

// Package e2e holds the end-to-end tests that run against the local cluster
// of hack/cluster.sh (make cluster-up). They need KUBECONFIG to point to a
// reachable cluster and fail, never skip, when it does not.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/streaming/pkg/httpstream"
)

// waitLimit bounds every wait of the e2e tests so that a broken cluster
// ends the test with the object's last state instead of hanging; it is a
// safety net, not a timing assertion.
const waitLimit = 3 * time.Minute

// cluster is a connection to the cluster named by KUBECONFIG.
type cluster struct {
	config *rest.Config
	client kubernetes.Interface
}

// connect returns a connection to the cluster that KUBECONFIG names, after
// checking that its API server answers /readyz. It fails the test when
// KUBECONFIG is unset or the cluster is unreachable: the e2e tests never
// skip.
func connect(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run `make cluster-up` and `eval $(hack/cluster.sh env)`")
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{})
	config, err := loader.ClientConfig()
	if err != nil {
		t.Fatalf("loading KUBECONFIG=%s: %v", os.Getenv("KUBECONFIG"), err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("client for %s: %v", config.Host, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		t.Fatalf("cluster %s is unreachable: %v", config.Host, err)
	}
	if got := strings.TrimSpace(string(body)); got != "ok" {
		t.Fatalf("cluster %s /readyz = %q, want ok", config.Host, got)
	}
	return &cluster{config: config, client: client}
}

// newNamespace creates a fresh namespace for one test, deleted when the
// test ends, and waits until its default ServiceAccount exists (pods cannot
// be created before).
func (c *cluster) newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns, err := c.client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", "default").String()
			return c.client.CoreV1().ServiceAccounts(ns.Name).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", "default").String()
			return c.client.CoreV1().ServiceAccounts(ns.Name).Watch(ctx, o)
		},
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &corev1.ServiceAccount{}, nil, func(e watch.Event) (bool, error) {
		return e.Type == watch.Added || e.Type == watch.Modified, nil
	})
	if err != nil {
		t.Fatalf("waiting for the default ServiceAccount of %s: %v", ns.Name, err)
	}
	return ns.Name
}

// podCondition decides from a pod's state whether a wait is over (true),
// goes on (false), or can never succeed (error).
type podCondition func(*corev1.Pod) (bool, error)

// waitForPod watches pod ns/name until cond holds and returns the pod in
// that state. The error names the condition's failure or, at the limit,
// the pod's last phase.
func (c *cluster) waitForPod(ctx context.Context, ns, name string, cond podCondition) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return c.client.CoreV1().Pods(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return c.client.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}
	var last *corev1.Pod
	ev, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		if e.Type == watch.Deleted {
			return false, fmt.Errorf("pod %s/%s was deleted", ns, name)
		}
		pod, ok := e.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		last = pod
		return cond(pod)
	})
	if err != nil {
		if last != nil {
			return nil, fmt.Errorf("pod %s/%s: %w (last phase %s, statuses %s)", ns, name, err, last.Status.Phase, describeStatuses(last))
		}
		return nil, fmt.Errorf("pod %s/%s: %w", ns, name, err)
	}
	return ev.Object.(*corev1.Pod), nil
}

// stuckReasons are container waiting reasons from which a pod does not
// recover by itself within a test.
var stuckReasons = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerError":       true,
	"CreateContainerConfigError": true,
	"RunContainerError":          true,
	"CrashLoopBackOff":           true,
}

// stuck returns an error when a container of the pod waits for a reason
// in stuckReasons.
func stuck(pod *corev1.Pod) error {
	all := append(append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...),
		pod.Status.ContainerStatuses...), pod.Status.EphemeralContainerStatuses...)
	for _, s := range all {
		if w := s.State.Waiting; w != nil && stuckReasons[w.Reason] {
			return fmt.Errorf("container %s is stuck: %s: %s", s.Name, w.Reason, w.Message)
		}
	}
	return nil
}

// podReady holds when the pod's Ready condition is true; it fails when
// the pod ended or a container is stuck.
func podReady(pod *corev1.Pod) (bool, error) {
	if err := stuck(pod); err != nil {
		return false, err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false, fmt.Errorf("pod ended (%s) before it was Ready", pod.Status.Phase)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}

// podSucceeded holds when the pod's phase is Succeeded; it fails when the
// phase is Failed or a container is stuck.
func podSucceeded(pod *corev1.Pod) (bool, error) {
	if err := stuck(pod); err != nil {
		return false, err
	}
	if pod.Status.Phase == corev1.PodFailed {
		return false, fmt.Errorf("pod failed: %s %s", pod.Status.Reason, describeStatuses(pod))
	}
	return pod.Status.Phase == corev1.PodSucceeded, nil
}

// ephemeralTerminated returns a condition that holds when the pod's
// ephemeral container name has terminated.
func ephemeralTerminated(name string) podCondition {
	return func(pod *corev1.Pod) (bool, error) {
		if err := stuck(pod); err != nil {
			return false, err
		}
		for _, s := range pod.Status.EphemeralContainerStatuses {
			if s.Name == name {
				return s.State.Terminated != nil, nil
			}
		}
		return false, nil
	}
}

// describeStatuses summarizes every container's state, for messages.
func describeStatuses(pod *corev1.Pod) string {
	var b strings.Builder
	all := append(append([]corev1.ContainerStatus{}, pod.Status.ContainerStatuses...), pod.Status.EphemeralContainerStatuses...)
	for _, s := range all {
		switch {
		case s.State.Waiting != nil:
			fmt.Fprintf(&b, "[%s waiting %s] ", s.Name, s.State.Waiting.Reason)
		case s.State.Running != nil:
			fmt.Fprintf(&b, "[%s running] ", s.Name)
		case s.State.Terminated != nil:
			fmt.Fprintf(&b, "[%s terminated %s exit %d] ", s.Name, s.State.Terminated.Reason, s.State.Terminated.ExitCode)
		}
	}
	return strings.TrimSpace(b.String())
}

// logs returns the whole log of container in pod ns/name.
func (c *cluster) logs(ctx context.Context, ns, name, container string) (string, error) {
	body, err := c.client.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of %s/%s container %s: %w", ns, name, container, err)
	}
	return string(body), nil
}

// exec runs command in container of pod ns/name, as kubectl exec does
// (WebSocket, falling back to SPDY), and returns its stdout and stderr.
func (c *cluster) exec(ctx context.Context, ns, name, container string, command []string) (string, string, error) {
	req := c.client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(ns).Name(name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   command,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.config, "GET", req.URL().String())
	if err != nil {
		return "", "", fmt.Errorf("websocket executor: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.config, "POST", req.URL())
	if err != nil {
		return "", "", fmt.Errorf("spdy executor: %w", err)
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return "", "", fmt.Errorf("fallback executor: %w", err)
	}
	var stdout, stderr bytes.Buffer
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		return stdout.String(), stderr.String(), fmt.Errorf("exec %v in %s/%s container %s: %w", command, ns, name, container, err)
	}
	return stdout.String(), stderr.String(), nil
}
