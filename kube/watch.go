package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// PodStuckError says that a pod or one of its containers cannot make progress, so waiting
// longer is pointless: an image that cannot be pulled, a container that cannot be created,
// a pod that failed or completed when it was expected to run.
type PodStuckError struct {
	// Pod is "namespace/name".
	Pod string
	// Container is the container at fault; "" when the pod as a whole is.
	Container string
	// Reason is the kubelet's reason (ImagePullBackOff, CreateContainerError, ...) or the
	// pod phase (Failed, Succeeded).
	Reason string
	// Message is the kubelet's message, or a description of the exit.
	Message string
}

// Error reads like `pod ns/name: container "c": ImagePullBackOff: Back-off pulling image "x"`.
func (e *PodStuckError) Error() string {
	var b strings.Builder
	b.WriteString("pod ")
	b.WriteString(e.Pod)
	if e.Container != "" {
		fmt.Fprintf(&b, ": container %q", e.Container)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// PodGoneError says that the pod being waited for is being deleted, was deleted (or
// replaced by another pod of the same name), or never existed.
type PodGoneError struct {
	// Pod is "namespace/name".
	Pod string
	// Deleting is true when the pod still exists but has a deletion timestamp: it will not
	// reach the state waited for, and its containers may take their grace period to stop.
	Deleting bool
}

// Error implements error.
func (e *PodGoneError) Error() string {
	if e.Deleting {
		return "pod " + e.Pod + " is being deleted"
	}
	return "pod " + e.Pod + " was deleted or does not exist"
}

// ObjectGoneError says that the object being waited for by WaitFor was deleted or never
// existed.
type ObjectGoneError struct {
	// Resource is the resource, e.g. "deployments.apps".
	Resource string
	// Object is "namespace/name", or "name" for cluster-scoped objects.
	Object string
}

// Error implements error.
func (e *ObjectGoneError) Error() string {
	return e.Resource + " " + e.Object + " was deleted or does not exist"
}

// ErrWatcherStopped is returned by waits on a PodWatcher that was stopped.
var ErrWatcherStopped = errors.New("pod watcher stopped")

// terminalReasons are the waiting reasons of a container that will not go away by waiting.
var terminalReasons = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"ErrImageNeverPull":          true,
}

// IsTerminalReason reports whether a container waiting for this reason cannot start
// without someone changing something (image, config), so a wait must fail at once.
func IsTerminalReason(reason string) bool {
	return terminalReasons[reason]
}

// PodCondition decides from a pod's state whether a wait is over (done) or can never be
// (err, typically a *PodStuckError).
type PodCondition func(*corev1.Pod) (done bool, err error)

// podKey returns "namespace/name".
func podKey(pod *corev1.Pod) string {
	return pod.Namespace + "/" + pod.Name
}

// stuckContainer returns a PodStuckError for the first status waiting for a terminal reason.
func stuckContainer(pod *corev1.Pod, statuses []corev1.ContainerStatus) error {
	for _, s := range statuses {
		if w := s.State.Waiting; w != nil && IsTerminalReason(w.Reason) {
			return &PodStuckError{Pod: podKey(pod), Container: s.Name, Reason: w.Reason, Message: w.Message}
		}
	}
	return nil
}

// stuckPod checks the pod's init and app containers for terminal waiting reasons.
func stuckPod(pod *corev1.Pod) error {
	if err := stuckContainer(pod, pod.Status.InitContainerStatuses); err != nil {
		return err
	}
	return stuckContainer(pod, pod.Status.ContainerStatuses)
}

// podFailed describes a Failed pod: the first container that exited non-zero, else the
// pod's own reason (e.g. Evicted).
func podFailed(pod *corev1.Pod) error {
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, s := range all {
		t := s.State.Terminated
		if t == nil {
			t = s.LastTerminationState.Terminated
		}
		if t != nil && t.ExitCode != 0 {
			return &PodStuckError{Pod: podKey(pod), Container: s.Name, Reason: string(corev1.PodFailed), Message: exitMessage(t)}
		}
	}
	msg := pod.Status.Message
	if pod.Status.Reason != "" {
		msg = strings.TrimSuffix(pod.Status.Reason+": "+msg, ": ")
	}
	if msg == "" {
		msg = "pod failed"
	}
	return &PodStuckError{Pod: podKey(pod), Reason: string(corev1.PodFailed), Message: msg}
}

// exitMessage reads like "exit code 1 (Error): message".
func exitMessage(t *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Reason != "" {
		msg += " (" + t.Reason + ")"
	}
	if m := strings.TrimSpace(t.Message); m != "" {
		msg += ": " + m
	}
	return msg
}

// PodReady is done when the pod's Ready condition is true. It fails on a container stuck
// for a terminal reason, on phase Failed, and on phase Succeeded (a completed pod never
// becomes ready).
func PodReady() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodFailed:
			return false, podFailed(pod)
		case corev1.PodSucceeded:
			return false, &PodStuckError{Pod: podKey(pod), Reason: string(corev1.PodSucceeded), Message: "pod completed before it became ready"}
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, stuckPod(pod)
	}
}

// PodRunning is done when the pod has started: phase Running, or already Succeeded (a short
// command may finish before the watch sees it run). It fails on a container stuck for a
// terminal reason and on phase Failed.
func PodRunning() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodRunning, corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, podFailed(pod)
		}
		return false, stuckPod(pod)
	}
}

// PodSucceeded is done when the pod's phase is Succeeded. Phase Failed is an error carrying
// the exit code and reason of the container that failed; a container stuck for a terminal
// reason is an error too.
func PodSucceeded() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return true, nil
		case corev1.PodFailed:
			return false, podFailed(pod)
		}
		return false, stuckPod(pod)
	}
}

// PodCompleted is done when the pod's phase is Succeeded or Failed; the caller reads the
// exit codes from the returned pod. It fails only on a container stuck for a terminal reason.
func PodCompleted() PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		switch pod.Status.Phase {
		case corev1.PodSucceeded, corev1.PodFailed:
			return true, nil
		}
		return false, stuckPod(pod)
	}
}

// ephemeralStatus returns the status of the named ephemeral container, or nil.
func ephemeralStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.EphemeralContainerStatuses {
		if pod.Status.EphemeralContainerStatuses[i].Name == name {
			return &pod.Status.EphemeralContainerStatuses[i]
		}
	}
	return nil
}

// ephemeralWait is the shared part of the ephemeral container conditions: a terminal
// waiting reason, or a pod that stopped before the container started, is an error.
func ephemeralWait(pod *corev1.Pod, name string, s *corev1.ContainerStatus) error {
	if s != nil {
		if w := s.State.Waiting; w != nil && IsTerminalReason(w.Reason) {
			return &PodStuckError{Pod: podKey(pod), Container: name, Reason: w.Reason, Message: w.Message}
		}
	}
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return &PodStuckError{Pod: podKey(pod), Container: name, Reason: string(pod.Status.Phase),
			Message: "pod stopped before the ephemeral container could run"}
	}
	return nil
}

// EphemeralContainerRunning is done when the named ephemeral container has started: it is
// running, or already terminated (a short command may finish before the watch sees it run).
// It fails on a terminal waiting reason and when the pod stops first.
func EphemeralContainerRunning(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		s := ephemeralStatus(pod, name)
		if s != nil && (s.State.Running != nil || s.State.Terminated != nil) {
			return true, nil
		}
		return false, ephemeralWait(pod, name, s)
	}
}

// EphemeralContainerTerminated is done when the named ephemeral container has terminated,
// whatever its exit code (the caller reads it from the returned pod). It fails on a terminal
// waiting reason and when the pod stops first.
func EphemeralContainerTerminated(name string) PodCondition {
	return func(pod *corev1.Pod) (bool, error) {
		s := ephemeralStatus(pod, name)
		if s != nil && s.State.Terminated != nil {
			return true, nil
		}
		return false, ephemeralWait(pod, name, s)
	}
}

// DescribePod summarises a pod's state in one line, for timeout messages: "phase Pending;
// container app waiting: ContainerCreating".
func DescribePod(pod *corev1.Pod) string {
	if pod == nil {
		return "not seen"
	}
	parts := []string{"phase " + string(pod.Status.Phase)}
	if pod.Status.Phase == "" {
		parts[0] = "phase unknown"
	}
	describe := func(kind string, statuses []corev1.ContainerStatus) {
		for _, s := range statuses {
			switch {
			case s.State.Waiting != nil:
				parts = append(parts, fmt.Sprintf("%s %s waiting: %s", kind, s.Name, strings.TrimSuffix(s.State.Waiting.Reason+": "+s.State.Waiting.Message, ": ")))
			case s.State.Terminated != nil:
				parts = append(parts, fmt.Sprintf("%s %s terminated: %s", kind, s.Name, exitMessage(s.State.Terminated)))
			case s.State.Running != nil:
				parts = append(parts, fmt.Sprintf("%s %s running", kind, s.Name))
			}
		}
	}
	describe("init container", pod.Status.InitContainerStatuses)
	describe("container", pod.Status.ContainerStatuses)
	describe("ephemeral container", pod.Status.EphemeralContainerStatuses)
	return strings.Join(parts, "; ")
}

// PodWatcherOptions narrows what a PodWatcher watches.
type PodWatcherOptions struct {
	// LabelSelector limits the watch, e.g. "app.kubernetes.io/managed-by=runbook".
	LabelSelector string
	// FieldSelector limits the watch, e.g. "metadata.name=web-0".
	FieldSelector string
}

// PodWatcher runs one watch (a list, then a watch, through a client-go Reflector) on the
// pods of a namespace and lets any number of waits share it: each Wait costs no request
// while the pod is in the watcher's cache. It starts on the first Wait (or Start) and runs
// until Stop. It is safe for concurrent use.
type PodWatcher struct {
	c *Clients
	w *objectWatcher
}

// NewPodWatcher returns a watcher of all pods in namespace. Nothing is sent until Start or
// the first Wait.
func NewPodWatcher(c *Clients, namespace string) *PodWatcher {
	return NewPodWatcherWithOptions(c, namespace, PodWatcherOptions{})
}

// NewPodWatcherWithOptions returns a watcher of the pods in namespace that match opts.
func NewPodWatcherWithOptions(c *Clients, namespace string, opts PodWatcherOptions) *PodWatcher {
	p := &PodWatcher{c: c}
	p.w = newObjectWatcher(watcherConfig{
		namespace: namespace,
		resource:  "pods",
		expected:  &corev1.Pod{},
		list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			if c == nil || c.Kube == nil {
				return nil, errors.New("no cluster client")
			}
			o.LabelSelector, o.FieldSelector = opts.LabelSelector, opts.FieldSelector
			return c.Kube.CoreV1().Pods(namespace).List(ctx, o)
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			if c == nil || c.Kube == nil {
				return nil, errors.New("no cluster client")
			}
			o.LabelSelector, o.FieldSelector = opts.LabelSelector, opts.FieldSelector
			return c.Kube.CoreV1().Pods(namespace).Watch(ctx, o)
		},
		get: func(ctx context.Context, name string) (runtime.Object, error) {
			if c == nil || c.Kube == nil {
				return nil, errors.New("no cluster client")
			}
			return c.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		gone: func(name string) error {
			return &PodGoneError{Pod: namespace + "/" + name}
		},
		describe: func(obj runtime.Object) string {
			pod, _ := obj.(*corev1.Pod)
			return DescribePod(pod)
		},
	})
	return p
}

// Start begins the list and watch now, so that it is established before the pods it will
// be asked about are created. Calling it is optional and idempotent.
func (p *PodWatcher) Start() {
	p.w.start()
}

// Stop ends the watch; waits in progress return ErrWatcherStopped. It is idempotent.
func (p *PodWatcher) Stop() {
	p.w.stop()
}

// Wait waits until cond is done for the named pod, or fails. The pod's state comes from the
// shared watch; a pod not (yet) in it is read once with a GET, and NotFound is a
// *PodGoneError, as is a deletion seen while waiting, and a deletion timestamp on a pod
// that does not meet cond yet (it never will). When ctx ends, the error wraps the
// context's cause and says what the pod last looked like. The last pod seen is returned
// with any error.
func (p *PodWatcher) Wait(ctx context.Context, name string, cond PodCondition) (*corev1.Pod, error) {
	return p.wait(ctx, name, nil, cond)
}

// WaitFrom is Wait for a pod the caller has just received from the API server (the answer
// to a create or a patch): while the watch has not caught up with that object, the wait
// starts from it instead of sending a GET, so it costs no request at all. The pod must
// match the watcher's selectors.
func (p *PodWatcher) WaitFrom(ctx context.Context, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if known == nil {
		return nil, errors.New("no pod to wait for")
	}
	return p.wait(ctx, known.Name, known, cond)
}

func (p *PodWatcher) wait(ctx context.Context, name string, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	if p.w.cfg.namespace == "" {
		return nil, errors.New("pod watcher has no namespace")
	}
	var knownObj runtime.Object
	if known != nil {
		knownObj = known
	}
	obj, err := p.w.wait(ctx, name, knownObj, func(obj runtime.Object) (bool, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return false, fmt.Errorf("watch of pods returned %T", obj)
		}
		done, err := cond(pod)
		if !done && err == nil && pod.DeletionTimestamp != nil {
			return false, &PodGoneError{Pod: podKey(pod), Deleting: true}
		}
		return done, err
	})
	pod, _ := obj.(*corev1.Pod)
	return pod, err
}

// WaitForPod waits with a watch limited to the one pod (field selector metadata.name), for
// a single wait outside a shared PodWatcher. It costs a list and a watch request.
func WaitForPod(ctx context.Context, c *Clients, namespace, name string, cond PodCondition) (*corev1.Pod, error) {
	w := NewPodWatcherWithOptions(c, namespace, PodWatcherOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	defer w.Stop()
	return w.Wait(ctx, name, cond)
}

// WaitFor waits until cond is done for one object of any resource, driven by a watch on
// that object (dynamic client, field selector metadata.name). namespace is "" for
// cluster-scoped resources. An object that does not exist, or is deleted while waiting, is
// an *ObjectGoneError; use WaitForDelete to wait for a deletion.
func WaitFor(ctx context.Context, c *Clients, gvr schema.GroupVersionResource, namespace, name string,
	cond func(*unstructured.Unstructured) (bool, error)) (*unstructured.Unstructured, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	w, err := newDynamicWatcher(c, gvr, namespace, name)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	obj, err := w.wait(ctx, name, nil, func(obj runtime.Object) (bool, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return false, fmt.Errorf("watch of %s returned %T", gvr.Resource, obj)
		}
		return cond(u)
	})
	u, _ := obj.(*unstructured.Unstructured)
	return u, err
}

// WaitForDelete waits until the object is gone (it is no error if it never existed),
// driven by a watch on that object.
func WaitForDelete(ctx context.Context, c *Clients, gvr schema.GroupVersionResource, namespace, name string) error {
	w, err := newDynamicWatcher(c, gvr, namespace, name)
	if err != nil {
		return err
	}
	defer w.stop()
	_, err = w.wait(ctx, name, nil, func(runtime.Object) (bool, error) { return false, nil })
	var gone *ObjectGoneError
	if errors.As(err, &gone) {
		return nil
	}
	return err
}

// newDynamicWatcher returns a watcher of one object through the dynamic client.
func newDynamicWatcher(c *Clients, gvr schema.GroupVersionResource, namespace, name string) (*objectWatcher, error) {
	if c == nil || c.Dynamic() == nil {
		return nil, errors.New("no cluster client")
	}
	ri := c.Dynamic().Resource(gvr)
	var client interface {
		List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
		Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
		Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
	} = ri
	if namespace != "" {
		client = ri.Namespace(namespace)
	}
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	resource := gvr.Resource
	if gvr.Group != "" {
		resource += "." + gvr.Group
	}
	object := name
	if namespace != "" {
		object = namespace + "/" + name
	}
	return newObjectWatcher(watcherConfig{
		namespace: namespace,
		resource:  resource,
		expected:  &unstructured.Unstructured{},
		list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.List(ctx, o)
		},
		watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.Watch(ctx, o)
		},
		get: func(ctx context.Context, name string) (runtime.Object, error) {
			return client.Get(ctx, name, metav1.GetOptions{})
		},
		gone: func(string) error {
			return &ObjectGoneError{Resource: resource, Object: object}
		},
		describe: func(obj runtime.Object) string {
			if obj == nil {
				return "not seen"
			}
			u, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return fmt.Sprintf("%T", obj)
			}
			if conds, ok, _ := unstructured.NestedSlice(u.Object, "status", "conditions"); ok {
				return fmt.Sprintf("resourceVersion %s, conditions %v", u.GetResourceVersion(), conds)
			}
			return "resourceVersion " + u.GetResourceVersion()
		},
	}), nil
}

// watcherConfig is what an objectWatcher needs to know about its resource.
type watcherConfig struct {
	namespace string
	resource  string
	expected  runtime.Object
	list      func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch     func(context.Context, metav1.ListOptions) (watch.Interface, error)
	get       func(context.Context, string) (runtime.Object, error)
	gone      func(name string) error
	describe  func(runtime.Object) string
}

// objectWatcher keeps the objects of one list+watch in memory (fed by a cache.Reflector,
// for which it is the store) and tells each wait, in order, every change of the name it
// waits for. Keys are object names: one watcher covers one namespace, or cluster-scoped
// objects.
type objectWatcher struct {
	cfg watcherConfig

	startOnce sync.Once
	stopOnce  sync.Once
	stopCh    chan struct{}
	fatalOnce sync.Once
	fatalCh   chan struct{}

	mu      sync.Mutex
	synced  bool // a list has been stored
	objects map[string]runtime.Object
	rv      uint64 // highest resource version seen; 0 if unknown or not numeric
	subs    map[string]map[*subscription]struct{}
	fatal   error // an error that retrying cannot fix (Forbidden, Unauthorized)
	lastErr error // the last list or watch error, for timeout messages
}

func newObjectWatcher(cfg watcherConfig) *objectWatcher {
	return &objectWatcher{
		cfg:     cfg,
		stopCh:  make(chan struct{}),
		fatalCh: make(chan struct{}),
		objects: map[string]runtime.Object{},
		subs:    map[string]map[*subscription]struct{}{},
	}
}

// start runs the reflector once.
func (w *objectWatcher) start() {
	w.startOnce.Do(func() {
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				obj, err := w.cfg.list(ctx, o)
				w.noteErr(err)
				return obj, err
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				wi, err := w.cfg.watch(ctx, o)
				if err != nil && ctx.Err() != nil {
					// Stopped while connecting: a silent watch lets the reflector see its
					// stop instead of logging "Failed to watch: context canceled".
					return watch.NewFake(), nil
				}
				w.noteErr(err)
				return wi, err
			},
		}
		r := cache.NewReflectorWithOptions(lw, w.cfg.expected, (*watcherStore)(w), cache.ReflectorOptions{
			Name:            "runbook " + w.cfg.resource + " watcher",
			TypeDescription: w.cfg.resource,
		})
		go r.Run(w.stopCh)
	})
}

// stop ends the reflector.
func (w *objectWatcher) stop() {
	w.stopOnce.Do(func() { close(w.stopCh) })
}

// noteErr remembers a list/watch error; one that retrying cannot fix fails all waits.
func (w *objectWatcher) noteErr(err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		w.fatalOnce.Do(func() {
			w.mu.Lock()
			w.fatal = fmt.Errorf("watching %s: %w", w.cfg.resource, err)
			w.mu.Unlock()
			close(w.fatalCh)
		})
	}
}

// eventKind is what happened to a name.
type eventKind int

const (
	evPresent eventKind = iota // the object exists in this state (list or watch event)
	evDeleted                  // the object was deleted (watch event, or gone from a relist)
	evAbsent                   // a list did not have the name
)

// nameEvent is one change of one name, as a wait sees it.
type nameEvent struct {
	kind eventKind
	obj  runtime.Object // evPresent, evDeleted
	rv   uint64         // evAbsent: the resource version the list was at
}

// subscription is one wait's interest in one name: the queue of events since it was made,
// starting with the name's state at that time (or with the first list's answer). kick has
// room for one wake-up; the waiter then drains the whole queue, in order.
type subscription struct {
	name string
	kick chan struct{}

	mu     sync.Mutex
	events []nameEvent
}

func (s *subscription) push(e nameEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *subscription) drain() []nameEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.events
	s.events = nil
	return events
}

// subscribe registers interest in name. When the watcher has synced, the queue starts with
// the name's current state; otherwise the first list will provide it.
func (w *objectWatcher) subscribe(name string) *subscription {
	s := &subscription{name: name, kick: make(chan struct{}, 1)}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs[name] == nil {
		w.subs[name] = map[*subscription]struct{}{}
	}
	w.subs[name][s] = struct{}{}
	if w.synced {
		if obj, ok := w.objects[name]; ok {
			s.push(nameEvent{kind: evPresent, obj: obj})
		} else {
			s.push(nameEvent{kind: evAbsent, rv: w.rv})
		}
	}
	return s
}

func (w *objectWatcher) unsubscribe(s *subscription) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs[s.name], s)
	if len(w.subs[s.name]) == 0 {
		delete(w.subs, s.name)
	}
}

// waitState follows one object through the events of its name.
type waitState struct {
	w       *objectWatcher
	name    string
	known   runtime.Object // what the caller got from the API server, if anything
	current runtime.Object // the state the condition was last evaluated on
}

// apply moves the state by one event. changed says whether the condition must be
// evaluated again; gone whether the object the wait is about no longer exists.
func (s *waitState) apply(ctx context.Context, e nameEvent) (changed, gone bool, err error) {
	switch e.kind {
	case evAbsent:
		if s.current != nil {
			// A relist without the object; deletions come as evDeleted, so this is an
			// object we only know from the caller. It is gone if the list is newer.
			krv := rvOf(s.current)
			return false, krv != 0 && e.rv >= krv, nil
		}
		if s.known != nil {
			if krv := rvOf(s.known); krv != 0 && e.rv >= krv {
				return false, true, nil // the watch has seen past the known object
			}
			s.current = s.known // the watch has not caught up yet
			return true, false, nil
		}
		// The list may come from the API server's watch cache and lag behind: ask once.
		got, err := s.w.cfg.get(ctx, s.name)
		switch {
		case apierrors.IsNotFound(err):
			return false, true, nil
		case err != nil:
			return false, false, fmt.Errorf("get %s %s: %w", s.w.cfg.resource, s.name, err)
		}
		s.current = got
		return true, false, nil

	case evDeleted:
		if s.current == nil && s.known == nil {
			return false, true, nil
		}
		ref := s.current
		if ref == nil {
			ref = s.known
		}
		if sameObject(e.obj, ref) {
			return false, true, nil
		}
		return false, false, nil // an earlier object of the same name

	default: // evPresent
		first := s.current == nil
		if first && s.known != nil {
			// Start from what the caller knows; the event may be older or newer.
			s.current = s.known
		}
		switch {
		case s.current == nil:
			s.current = e.obj
			return true, false, nil
		case !sameObject(e.obj, s.current):
			if isOlder(e.obj, s.current) {
				return first, false, nil // an earlier object of the same name
			}
			return false, true, nil // deleted and created again
		case isOlder(e.obj, s.current):
			return first, false, nil // stale: the watch has not caught up with the caller
		}
		s.current = e.obj
		return true, false, nil
	}
}

// sameObject reports whether a and b are versions of one object (same UID, or no UID to
// tell them apart).
func sameObject(a, b runtime.Object) bool {
	ua, ub := uidOf(a), uidOf(b)
	return ua == "" || ub == "" || ua == ub
}

// isOlder reports whether a's resource version is known to be below b's (both numeric).
func isOlder(a, b runtime.Object) bool {
	ra, rb := rvOf(a), rvOf(b)
	return ra != 0 && rb != 0 && ra < rb
}

// wait is the heart of every wait: see PodWatcher.Wait and WaitFrom.
func (w *objectWatcher) wait(ctx context.Context, name string, known runtime.Object, cond func(runtime.Object) (bool, error)) (runtime.Object, error) {
	if err := ctx.Err(); err != nil {
		return known, w.timeoutErr(ctx, name, known)
	}
	sub := w.subscribe(name)
	defer w.unsubscribe(sub)
	w.start()

	st := &waitState{w: w, name: name, known: known}
	last := func() runtime.Object {
		if st.current != nil {
			return st.current
		}
		return known
	}
	for {
		select {
		case <-sub.kick:
			for _, e := range sub.drain() {
				changed, gone, err := st.apply(ctx, e)
				switch {
				case err != nil:
					return last(), err
				case gone:
					return last(), w.cfg.gone(name)
				case !changed:
					continue
				}
				done, err := cond(st.current)
				if err != nil || done {
					return st.current, err
				}
			}
		case <-ctx.Done():
			return last(), w.timeoutErr(ctx, name, last())
		case <-w.fatalCh:
			return last(), w.fatalErr()
		case <-w.stopCh:
			return last(), ErrWatcherStopped
		}
	}
}

func (w *objectWatcher) fatalErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// timeoutErr wraps the context's cause with the last state seen and the last watch error.
func (w *objectWatcher) timeoutErr(ctx context.Context, name string, last runtime.Object) error {
	w.mu.Lock()
	lastErr := w.lastErr
	w.mu.Unlock()
	object := name
	if w.cfg.namespace != "" {
		object = w.cfg.namespace + "/" + name
	}
	var suffix string
	if lastErr != nil {
		suffix = "; watch error: " + lastErr.Error()
	}
	return fmt.Errorf("waiting for %s %s: %w (last seen: %s)%s", w.cfg.resource, object, context.Cause(ctx), w.cfg.describe(last), suffix)
}

// uidOf returns an object's UID, "" if it has none.
func uidOf(obj runtime.Object) types.UID {
	if obj == nil {
		return ""
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetUID()
}

// rvOf returns an object's resource version as a number; 0 if unknown.
func rvOf(obj runtime.Object) uint64 {
	if obj == nil {
		return 0
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	return parseRV(m.GetResourceVersion())
}

// parseRV reads a resource version; they are opaque strings by contract but decimal
// numbers in practice (etcd revisions). 0 means "cannot compare".
func parseRV(s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// nameOf returns an object's name, also for a cache.DeletedFinalStateUnknown.
func nameOf(obj interface{}) (string, runtime.Object, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	ro, ok := obj.(runtime.Object)
	if !ok {
		return "", nil, false
	}
	m, err := meta.Accessor(ro)
	if err != nil {
		return "", nil, false
	}
	return m.GetName(), ro, true
}

// watcherStore is the objectWatcher seen as the Reflector's store.
type watcherStore objectWatcher

var (
	_ cache.ReflectorStore         = (*watcherStore)(nil)
	_ cache.ResourceVersionUpdater = (*watcherStore)(nil)
)

// bumpRV records a resource version; callers hold s.mu.
func (s *watcherStore) bumpRV(rv uint64) {
	if rv > s.rv {
		s.rv = rv
	}
}

// notify queues an event for the subscribers of name; callers hold s.mu.
func (s *watcherStore) notify(name string, e nameEvent) {
	for sub := range s.subs[name] {
		sub.push(e)
	}
}

// Add implements cache.ReflectorStore.
func (s *watcherStore) Add(obj interface{}) error {
	return s.Update(obj)
}

// Update implements cache.ReflectorStore.
func (s *watcherStore) Update(obj interface{}) error {
	name, ro, ok := nameOf(obj)
	if !ok {
		return fmt.Errorf("unexpected object %T in watch", obj)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[name] = ro
	s.bumpRV(rvOf(ro))
	s.notify(name, nameEvent{kind: evPresent, obj: ro})
	return nil
}

// Delete implements cache.ReflectorStore.
func (s *watcherStore) Delete(obj interface{}) error {
	name, ro, ok := nameOf(obj)
	if !ok {
		return fmt.Errorf("unexpected object %T in watch", obj)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, name)
	s.bumpRV(rvOf(ro))
	s.notify(name, nameEvent{kind: evDeleted, obj: ro})
	return nil
}

// Replace implements cache.ReflectorStore: the result of a (re)list. Objects missing from
// the new list count as deleted; waits for names the list does not have learn it.
func (s *watcherStore) Replace(list []interface{}, rv string) error {
	fresh := make(map[string]runtime.Object, len(list))
	for _, item := range list {
		name, ro, ok := nameOf(item)
		if !ok {
			return fmt.Errorf("unexpected object %T in list", item)
		}
		fresh[name] = ro
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, obj := range fresh {
		s.bumpRV(rvOf(obj))
	}
	s.bumpRV(parseRV(rv))
	for name := range s.subs {
		obj, now := fresh[name]
		old, before := s.objects[name]
		switch {
		case now:
			s.notify(name, nameEvent{kind: evPresent, obj: obj})
		case before:
			s.notify(name, nameEvent{kind: evDeleted, obj: old})
		default:
			s.notify(name, nameEvent{kind: evAbsent, rv: s.rv})
		}
	}
	s.objects = fresh
	s.synced = true
	return nil
}

// Resync implements cache.ReflectorStore; there is nothing to resync.
func (s *watcherStore) Resync() error {
	return nil
}

// UpdateResourceVersion implements cache.ResourceVersionUpdater (bookmarks included).
func (s *watcherStore) UpdateResourceVersion(rv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpRV(parseRV(rv))
}
