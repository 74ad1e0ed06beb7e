package main

// The subcommands that talk to the cluster, with plain client-go and none of
// runbook's code: they measure what the kubelet and the API server make the
// minimum, for runbook's figures to be read against.
//
//	bench kubelet-floor -n NS -mode sequential|parallel [-node NODE]
//	bench ceiling -n NS -l SELECTOR [-c CONCURRENCY] [-logs]
//	bench version
//
// Both build the same containers runbook's steps build (kubectl debug's
// general profile), watch the namespace's pods with one informer, and take
// the time at which the informer delivered the status each wait needs: the
// earliest any client can know it.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// liveTimeout bounds every wait of the live subcommands: a pod the node
// cannot run ends the measurement with an error instead of hanging it.
const liveTimeout = 3 * time.Minute

// newClient builds a clientset from KUBECONFIG (or ~/.kube/config) with a
// client-side rate limit high enough that the client never waits: the
// figures are the server's and the node's, not client-go's limiter's.
func newClient() (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.UserAgent = "runbook-bench"
	return kubernetes.NewForConfig(cfg)
}

// podWatch is one informer on a namespace's pods; waits read its store
// after every event and note when the informer delivered what they wait for.
type podWatch struct {
	store cache.Store
	mu    sync.Mutex
	tick  chan struct{} // closed and replaced on every event
	stop  chan struct{}
}

func watchPods(ctx context.Context, cs kubernetes.Interface, ns, selector string) (*podWatch, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := f.Core().V1().Pods().Informer()
	w := &podWatch{store: inf.GetStore(), tick: make(chan struct{}), stop: make(chan struct{})}
	notify := func(any) {
		w.mu.Lock()
		close(w.tick)
		w.tick = make(chan struct{})
		w.mu.Unlock()
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, n any) { notify(n) },
		DeleteFunc: notify,
	}); err != nil {
		return nil, err
	}
	f.Start(w.stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		close(w.stop)
		return nil, fmt.Errorf("pods of %s: the informer did not sync: %w", ns, ctx.Err())
	}
	return w, nil
}

func (w *podWatch) Stop() { close(w.stop) }

// until waits until cond holds for the pod ns/name and returns the moment
// the informer delivered that state. cond returns an error for a state that
// can no longer lead where it waits (a failed container).
func (w *podWatch) until(ctx context.Context, ns, name, what string, cond func(*corev1.Pod) (bool, error)) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	for {
		w.mu.Lock()
		tick := w.tick
		w.mu.Unlock()
		if obj, ok, _ := w.store.GetByKey(ns + "/" + name); ok {
			done, err := cond(obj.(*corev1.Pod))
			if err != nil {
				return time.Time{}, fmt.Errorf("pod %s: %w", name, err)
			}
			if done {
				return time.Now(), nil
			}
		}
		select {
		case <-tick:
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("pod %s: not %s after %s", name, what, liveTimeout)
		}
	}
}

func podReady(p *corev1.Pod) (bool, error) {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return false, fmt.Errorf("phase %s, it will never be Ready", p.Status.Phase)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}

// containerTerminated is the condition "the container name has terminated"
// (with any exit code: it is the time that is measured), of the pod's
// ephemeral containers when ephemeral. For a pod's own container, as the
// node pod's, the kubelet reports it at its first relist after the exit,
// a second before it marks the pod Succeeded: runbook's node step ends
// then, so the floor does too.
func containerTerminated(name string, ephemeral bool) func(*corev1.Pod) (bool, error) {
	return func(p *corev1.Pod) (bool, error) {
		statuses := p.Status.ContainerStatuses
		if ephemeral {
			statuses = p.Status.EphemeralContainerStatuses
		}
		for _, s := range statuses {
			if s.Name == name {
				if w := s.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
					return false, fmt.Errorf("container %s waiting: %s %s", name, w.Reason, w.Message)
				}
				return s.State.Terminated != nil, nil
			}
		}
		if p.Status.Phase == corev1.PodFailed {
			return false, errors.New("phase Failed")
		}
		return false, nil
	}
}

// debugContainer is the container kubectl debug adds (general profile):
// image, command, the termination message read from the file.
func debugContainer(name, image string, command ...string) corev1.Container {
	return corev1.Container{Name: name, Image: image, Command: command, TerminationMessagePolicy: corev1.TerminationMessageReadFile}
}

// addEphemeral adds an ephemeral container targeting the pod's first
// container, as kubectl debug --target does: a strategic merge patch of the
// ephemeralcontainers subresource.
func addEphemeral(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, ec corev1.EphemeralContainer) error {
	ec.TargetContainerName = pod.Spec.Containers[0].Name
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{ec}}})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	return err
}

// SeedFloor is what a client that does nothing but create the seed's
// objects and watch them sees: each wait from the request that started it
// to the informer delivering the status it waits for.
type SeedFloor struct {
	Mode      string
	Ready     time.Duration // create the pause pod until Ready
	Ephemeral time.Duration // add the ephemeral container until it terminated
	Copy      time.Duration // create the copy until Ready
	Node      time.Duration // create the node pod until its container terminated
	Wall      time.Duration // first create until the last wait ended
}

// kubeletFloor runs the seed's kubelet-bound work in namespace ns: create a
// pause pod and wait until Ready, then the ephemeral container (busybox
// ps -ef, --target), the copy with shared processes (busybox sleep, until
// Ready) and the node debug pod (cat /host/etc/hostname, until it ended),
// one after the other (sequential) or all three at once (parallel).
// node, when not empty, places the pod there (as the benchmark places the
// seed's pod on a cluster of several nodes).
func kubeletFloor(ctx context.Context, cs kubernetes.Interface, ns, mode, node, image string) (*SeedFloor, error) {
	if mode != "sequential" && mode != "parallel" {
		return nil, fmt.Errorf("kubelet-floor: mode %q: want sequential or parallel", mode)
	}
	w, err := watchPods(ctx, cs, ns, "")
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	pods := cs.CoreV1().Pods(ns)
	f := &SeedFloor{Mode: mode}

	start := time.Now()
	app, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "noshell"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10.2"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	at, err := w.until(ctx, ns, app.Name, "Ready", podReady)
	if err != nil {
		return nil, err
	}
	f.Ready = at.Sub(start)
	obj, _, _ := w.store.GetByKey(ns + "/" + app.Name)
	app = obj.(*corev1.Pod)

	ephemeral := func() (time.Duration, error) {
		t0 := time.Now()
		if err := addEphemeral(ctx, cs, app, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon(debugContainer("debugger", image, "ps", "-ef")),
		}); err != nil {
			return 0, err
		}
		at, err := w.until(ctx, ns, app.Name, "terminated", containerTerminated("debugger", true))
		return at.Sub(t0), err
	}
	copyPod := func() (time.Duration, error) {
		cp := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "noshell-dbg"},
			Spec:       *app.Spec.DeepCopy(),
		}
		cp.Spec.NodeName = "" // kubectl debug --copy-to lets the scheduler place the copy
		cp.Spec.ShareProcessNamespace = new(true)
		cp.Spec.EphemeralContainers = nil
		cp.Spec.Containers = append(cp.Spec.Containers, debugContainer("debugger", image, "sleep", "3600"))
		t0 := time.Now()
		if _, err := pods.Create(ctx, cp, metav1.CreateOptions{}); err != nil {
			return 0, err
		}
		at, err := w.until(ctx, ns, cp.Name, "Ready", podReady)
		return at.Sub(t0), err
	}
	nodePod := func() (time.Duration, error) {
		c := debugContainer("debugger", image, "cat", "/host/etc/hostname")
		c.VolumeMounts = []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "node-debugger"},
			Spec: corev1.PodSpec{
				Containers:    []corev1.Container{c},
				NodeName:      app.Spec.NodeName,
				RestartPolicy: corev1.RestartPolicyNever,
				Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				HostNetwork:   true,
				HostPID:       true,
				HostIPC:       true,
				Volumes: []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}},
			},
		}
		t0 := time.Now()
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return 0, err
		}
		at, err := w.until(ctx, ns, p.Name, "terminated", containerTerminated("debugger", false))
		return at.Sub(t0), err
	}

	work := []struct {
		run func() (time.Duration, error)
		out *time.Duration
	}{{ephemeral, &f.Ephemeral}, {copyPod, &f.Copy}, {nodePod, &f.Node}}
	errs := make([]error, len(work))
	if mode == "sequential" {
		for i, x := range work {
			if *x.out, errs[i] = x.run(); errs[i] != nil {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		for i, x := range work {
			wg.Go(func() { *x.out, errs[i] = x.run() })
		}
		wg.Wait()
	}
	f.Wall = time.Since(start)
	return f, errors.Join(errs...)
}

// Write prints the floor: one line for the script, "FLOOR mode wall ready
// ephemeral copy node" in seconds.
func (f *SeedFloor) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "FLOOR %s %.3f %.3f %.3f %.3f %.3f\n", f.Mode, f.Wall.Seconds(), f.Ready.Seconds(),
		f.Ephemeral.Seconds(), f.Copy.Seconds(), f.Node.Seconds())
	return err
}

// CeilingResult is the node's own fan-out ceiling: every target's
// ephemeral container added at once, until all have terminated.
type CeilingResult struct {
	Pods, Concurrency int
	// Patched is when the last PATCH was answered, from the start.
	Patched time.Duration
	// Wall is from the first PATCH sent until the informer delivered the
	// last container's termination.
	Wall time.Duration
	// PerTarget is the time from each pod's PATCH to its container's
	// termination being seen.
	PerTarget Summary
}

// ceiling adds an ephemeral container (busybox ps -ef, --target, as the
// fan-out example runs it) to every pod of ns matching selector and waits
// until every container has terminated. conc bounds how many targets are
// in flight, from the PATCH until the termination is seen, as a fanned-out
// step's concurrency does; 0 sends every PATCH at once.
// withLogs also reads each container's output once it has terminated, as a
// fanned-out debug step does (to tell the read's share of a target's time).
func ceiling(ctx context.Context, cs kubernetes.Interface, ns, selector, image string, conc int, withLogs bool) (*CeilingResult, error) {
	w, err := watchPods(ctx, cs, ns, selector)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var targets []*corev1.Pod
	for _, obj := range w.store.List() {
		targets = append(targets, obj.(*corev1.Pod))
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("ceiling: no pod in %s matches %q", ns, selector)
	}
	const name = "ceiling"
	uid := int64(65534)
	ec := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(debugContainer(name, image, "ps", "-ef"))}
	ec.SecurityContext = &corev1.SecurityContext{RunAsUser: &uid, RunAsGroup: &uid}

	if conc <= 0 {
		conc = len(targets)
	}
	sem := make(chan struct{}, conc)
	res := &CeilingResult{Pods: len(targets), Concurrency: conc}
	per := make([]float64, len(targets))
	errs := make([]error, len(targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i, p := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			if errs[i] = addEphemeral(ctx, cs, p, ec); errs[i] != nil {
				return
			}
			mu.Lock()
			res.Patched = max(res.Patched, time.Since(start))
			mu.Unlock()
			var at time.Time
			at, errs[i] = w.until(ctx, ns, p.Name, "terminated", containerTerminated(name, true))
			if errs[i] == nil && withLogs {
				if _, errs[i] = cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: name}).DoRaw(ctx); errs[i] == nil {
					at = time.Now()
				}
			}
			per[i] = at.Sub(t0).Seconds()
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res.PerTarget = Summarize(per)
	return res, nil
}

// Write prints the ceiling: one line for the script, "CEILING pods
// concurrency wall patched perTargetMedian perTargetMin perTargetMax", the
// times in seconds.
func (c *CeilingResult) Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "CEILING %d %d %.3f %.3f %.3f %.3f %.3f\n", c.Pods, c.Concurrency, c.Wall.Seconds(), c.Patched.Seconds(),
		c.PerTarget.Median, c.PerTarget.Min, c.PerTarget.Max)
	return err
}

// runLive runs the subcommands that talk to the cluster.
func runLive(cmd string, args []string, w io.Writer) error {
	if cmd == "version" {
		if len(args) > 0 {
			return errors.New(usage)
		}
		cs, err := newClient()
		if err != nil {
			return err
		}
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			return fmt.Errorf("server version: %w", err)
		}
		_, err = fmt.Fprintln(w, v.GitVersion)
		return err
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ns := fs.String("n", "", "namespace (required)")
	mode := fs.String("mode", "sequential", "kubelet-floor: sequential or parallel")
	node := fs.String("node", "", "kubelet-floor: the node of the pod (default: the scheduler's choice)")
	selector := fs.String("l", "", "ceiling: label selector of the target pods (required)")
	image := fs.String("image", "busybox:1.36", "the debugger image")
	conc := fs.Int("c", 0, "ceiling: targets in flight at once (0: all)")
	withLogs := fs.Bool("logs", false, "ceiling: read each container's output when it has terminated")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if *ns == "" || fs.NArg() > 0 || (cmd == "ceiling" && *selector == "") {
		return errors.New(usage)
	}
	cs, err := newClient()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if cmd == "kubelet-floor" {
		f, err := kubeletFloor(ctx, cs, *ns, *mode, *node, *image)
		if err != nil {
			return err
		}
		return f.Write(w)
	}
	c, err := ceiling(ctx, cs, *ns, *selector, *image, *conc, *withLogs)
	if err != nil {
		return err
	}
	return c.Write(w)
}
