package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// ErrWatcherStopped is returned by waits on a PodWatcher that was stopped.
var ErrWatcherStopped = errors.New("pod watcher stopped")

// PodWatcherOptions says how a PodWatcher watches.
type PodWatcherOptions struct {
	// LabelSelector limits the watch, e.g. "app.kubernetes.io/managed-by=runbook". With
	// it or FieldSelector, one watch with those selectors serves every pod.
	LabelSelector string
	// FieldSelector limits the watch, e.g. "metadata.name=web-0".
	FieldSelector string
	// RunID, when set, makes one watch of the pods that carry this run's labels (see
	// Labels) serve every pod the run created, however many.
	RunID string
	// NameWatches is how many other pods are watched one by one, each by its name (a
	// metadata.name field selector, as kubectl wait does), before one watch of the whole
	// namespace serves the rest: 0 means DefaultNameWatches, less than 0 none (the whole
	// namespace from the first pod).
	NameWatches int
	// UnschedulableGrace replaces UnschedulableGrace for the waits on this watcher when
	// more than 0.
	UnschedulableGrace time.Duration
}

// DefaultNameWatches is how many pods a PodWatcher watches by name, in one namespace,
// before it watches the whole namespace: enough for a runbook's own targets, few enough
// that a fan-out over hundreds of pods holds a handful of watches.
const DefaultNameWatches = 10

// PodWatcher lets any number of waits on the pods of one namespace share a few watches
// (each a list, then a watch, through a client-go Reflector): each wait costs no request
// while its pod is in a watch's cache. Which watch serves a pod is decided when it is
// first asked about, and holds for the watcher's life:
//
//   - a pod of this run (it carries the run's labels; see PodWatcherOptions.RunID): one
//     watch of the run's pods in the namespace, by label;
//   - the first NameWatches other pods: a watch of that one name each, as kubectl wait
//     makes, so that a run against a namespace of thousands of pods neither lists them nor
//     follows their changes, and a Role limited to the pod's name (resourceNames) is
//     enough;
//   - any pod after those: one watch of the whole namespace.
//
// Watches start when first needed and run until Stop. A PodWatcher is safe for concurrent
// use.
type PodWatcher struct {
	c         *Clients
	namespace string
	opts      PodWatcherOptions

	mu      sync.Mutex
	stopped bool
	by      map[string]*podSource // the source serving each name asked about
	run     *podSource            // the run's pods, by label
	all     *podSource            // the whole namespace
	names   int                   // sources of one name each
	sources []*podSource
}

// NewPodWatcher returns a watcher of the pods of namespace: each pod by its name, the whole
// namespace after DefaultNameWatches pods. Nothing is sent until the first wait.
func NewPodWatcher(c *Clients, namespace string) *PodWatcher {
	return NewPodWatcherWithOptions(c, namespace, PodWatcherOptions{})
}

// NewPodWatcherWithOptions returns a watcher of the pods in namespace, as opts says.
func NewPodWatcherWithOptions(c *Clients, namespace string, opts PodWatcherOptions) *PodWatcher {
	if opts.NameWatches == 0 {
		opts.NameWatches = DefaultNameWatches
	}
	return &PodWatcher{c: c, namespace: namespace, opts: opts, by: map[string]*podSource{}}
}

// source returns the watch that serves name, made (not started) the first time; known is
// the pod as the caller last got it from the API server, if at all.
func (p *PodWatcher) source(name string, known *corev1.Pod) *podSource {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.by[name]; ok {
		return s
	}
	var s *podSource
	switch {
	case p.opts.LabelSelector != "" || p.opts.FieldSelector != "":
		s = p.shared(&p.all, p.opts.LabelSelector, p.opts.FieldSelector)
	case p.opts.RunID != "" && known != nil && p.runPods().Matches(labels.Set(known.Labels)):
		s = p.shared(&p.run, p.runPods().String(), "")
	case p.names < p.opts.NameWatches:
		p.names++
		s = p.newSource("", fields.OneTermEqualSelector("metadata.name", name).String())
	default:
		s = p.shared(&p.all, "", "")
	}
	p.by[name] = s
	return s
}

// runPods selects the pods that carry this run's labels.
func (p *PodWatcher) runPods() labels.Selector {
	return labels.SelectorFromSet(Labels(p.opts.RunID))
}

// shared returns *slot, made with the selectors the first time; callers hold p.mu.
func (p *PodWatcher) shared(slot **podSource, label, field string) *podSource {
	if *slot == nil {
		*slot = p.newSource(label, field)
	}
	return *slot
}

// newSource makes a source with the selectors, stopped already if the watcher is; callers
// hold p.mu.
func (p *PodWatcher) newSource(label, field string) *podSource {
	s := newPodSource(p.c, p.namespace, label, field, p.opts.UnschedulableGrace)
	if p.stopped {
		s.Stop()
	}
	p.sources = append(p.sources, s)
	return s
}

// Stop ends every watch; waits in progress, and later ones, return ErrWatcherStopped. It is
// idempotent.
func (p *PodWatcher) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	for _, s := range p.sources {
		s.Stop()
	}
}

// Get returns a pod from the cache of the watch that serves it (for a pod not asked about
// yet, of the watch of the run's pods or of the namespace, if one runs), without a
// request, when that watch is running, has listed, and has the pod. Callers fall back to
// a GET.
func (p *PodWatcher) Get(name string) (*corev1.Pod, bool) {
	p.mu.Lock()
	s, ok := p.by[name]
	shared := []*podSource{p.run, p.all}
	p.mu.Unlock()
	if ok {
		return s.Get(name)
	}
	// Not asked about yet: a watch of the run's pods or of the namespace may have it.
	for _, s := range shared {
		if s == nil {
			continue
		}
		if pod, ok := s.Get(name); ok {
			return pod, true
		}
	}
	return nil, false
}

// Wait waits until cond is done for the named pod, or fails. The pod's state comes from the
// watch that serves it; a pod not (yet) in it is read once with a GET, and NotFound is a
// *PodGoneError, as is a deletion seen while waiting, and a deletion timestamp on a pod
// that does not meet cond yet (it never will). An error of cond that the scheduler may take
// back (IsUnschedulable) ends the wait only if the pod still has it UnschedulableGrace
// after the wait began. When ctx ends, the error wraps the context's cause and says what
// the pod last looked like. The last pod seen is returned with any error.
func (p *PodWatcher) Wait(ctx context.Context, name string, cond PodCondition) (*corev1.Pod, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	return p.source(name, nil).wait(ctx, name, nil, unlessDeleting(cond))
}

// WaitGone waits until the pod of that name and UID is gone: deleted, or replaced by
// another pod of the same name (as a StatefulSet does). A pod with a deletion timestamp is
// not gone yet: its containers may take their grace period to stop. It is no error if
// there is no such pod.
func (p *PodWatcher) WaitGone(ctx context.Context, name string, uid types.UID) error {
	_, err := p.source(name, nil).wait(ctx, name, nil, func(pod *corev1.Pod) (bool, error) {
		return uid != "" && pod.UID != uid, nil
	})
	var gone *PodGoneError
	if errors.As(err, &gone) {
		return nil
	}
	return err
}

// WaitFrom is Wait for a pod the caller has just received from the API server (the answer
// to a create or a patch): while the watch has not caught up with that object, the wait
// starts from it instead of sending a GET, so it costs no request at all. A pod of this run
// (see PodWatcherOptions.RunID) first asked about here is served by the watch of the run's
// pods.
func (p *PodWatcher) WaitFrom(ctx context.Context, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if known == nil {
		return nil, errors.New("no pod to wait for")
	}
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	return p.source(known.Name, known).wait(ctx, known.Name, known, unlessDeleting(cond))
}

// podSource is one watch (a list, then a watch, through a client-go Reflector) of the pods
// of a namespace that match its selectors, shared by the waits of every name it serves. It
// starts on the first wait and runs until Stop.
//
// The source keeps the pods without their managedFields, as kubectl get shows them: no wait
// reads them, and they are a fifth of a pod's heap. A source of the whole namespace grows
// with the number of pods in it: 49 MiB for 5000 pods like CoreDNS's, 63 MiB with
// managedFields (BenchmarkPodWatcherNamespace).
//
// The source is the Reflector's store (see podStore): it keeps the pods by name and hands
// each wait, in order, every change of the name it waits for, including a deletion that a
// later state no longer shows.
type podSource struct {
	c             *Clients
	namespace     string
	labelSelector string
	fieldSelector string
	grace         time.Duration // UnschedulableGrace, when more than 0

	startOnce sync.Once
	stopOnce  sync.Once
	stopCh    chan struct{}
	fatalOnce sync.Once
	fatalCh   chan struct{}

	mu      sync.Mutex
	synced  bool // a list has been stored
	pods    map[string]*corev1.Pod
	rv      uint64 // highest resource version seen; 0 if unknown or not numeric
	subs    map[string]map[*podSub]struct{}
	fatal   error // an error that retrying cannot fix (Forbidden, Unauthorized)
	lastErr error // the last list or watch error, for timeout messages
}

func newPodSource(c *Clients, namespace, label, field string, grace time.Duration) *podSource {
	return &podSource{
		c:             c,
		namespace:     namespace,
		labelSelector: label,
		fieldSelector: field,
		grace:         grace,
		stopCh:        make(chan struct{}),
		fatalCh:       make(chan struct{}),
		pods:          map[string]*corev1.Pod{},
		subs:          map[string]map[*podSub]struct{}{},
	}
}

// Start begins the list and watch. It is idempotent.
func (p *podSource) Start() {
	p.startOnce.Do(func() {
		// The reflector asks the client whether it supports watch-list semantics
		// (client-go's fakes do not).
		var client any
		if p.c != nil {
			client = p.c.Kube
		}
		lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				if p.c == nil || p.c.Kube == nil {
					return nil, p.noteErr(errors.New("no cluster client"))
				}
				o.LabelSelector, o.FieldSelector = p.labelSelector, p.fieldSelector
				list, err := p.c.Kube.CoreV1().Pods(p.namespace).List(ctx, o)
				return list, p.noteErr(err)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				if p.c == nil || p.c.Kube == nil {
					return nil, p.noteErr(errors.New("no cluster client"))
				}
				o.LabelSelector, o.FieldSelector = p.labelSelector, p.fieldSelector
				w, err := p.c.Kube.CoreV1().Pods(p.namespace).Watch(ctx, o)
				if err != nil && ctx.Err() != nil {
					// Stopped while connecting: a silent watch lets the reflector see its
					// stop instead of logging "Failed to watch: context canceled".
					return watch.NewFake(), nil
				}
				return w, p.noteErr(err)
			},
		}, client)
		r := cache.NewReflectorWithOptions(lw, &corev1.Pod{}, (*podStore)(p), cache.ReflectorOptions{
			Name:            "runbook pod watcher",
			TypeDescription: "pods",
		})
		go r.Run(p.stopCh)
	})
}

// Stop ends the watch; waits in progress return ErrWatcherStopped. It is idempotent.
func (p *podSource) Stop() {
	p.stopOnce.Do(func() { close(p.stopCh) })
}

// Get returns a pod from the cache, when the watch is running, has listed, and has it.
func (p *podSource) Get(name string) (*corev1.Pod, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pod, ok := p.pods[name]
	if !p.synced || !ok {
		return nil, false
	}
	return pod.DeepCopy(), true
}

// wait is Wait, WaitFrom and WaitGone: it follows the events of name until cond says done
// or fails, the pod is gone, ctx ends, the watch fails for good, or the watcher stops.
func (p *podSource) wait(ctx context.Context, name string, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if p.namespace == "" {
		return nil, errors.New("pod watcher has no namespace")
	}
	if ctx.Err() != nil {
		return known, p.timeoutErr(ctx, name, known)
	}
	select {
	case <-p.stopCh:
		return known, ErrWatcherStopped
	default:
	}
	sub := p.subscribe(name)
	defer p.unsubscribe(sub)
	p.Start()

	w := &podWait{p: p, name: name, known: known}
	last := func() *corev1.Pod {
		if w.current != nil {
			return w.current
		}
		return known
	}
	grace := newGraceHold(p.grace)
	var graceTimer *time.Timer
	var graceOver <-chan time.Time
	defer func() {
		if graceTimer != nil {
			graceTimer.Stop()
		}
	}()
	for {
		select {
		case <-sub.kick:
			for _, e := range sub.drain() {
				changed, gone, err := w.apply(ctx, e)
				switch {
				case err != nil:
					return last(), err
				case gone:
					return last(), &PodGoneError{Pod: p.namespace + "/" + name}
				case !changed:
					continue
				}
				done, err := cond(w.current)
				if hold := grace.see(err); hold > 0 {
					if graceTimer == nil {
						graceTimer = time.NewTimer(hold)
						graceOver = graceTimer.C
					}
					continue
				}
				if err != nil || done {
					return w.current, err
				}
			}
		case <-graceOver:
			if grace.held != nil {
				return last(), grace.held
			}
		case <-ctx.Done():
			return last(), p.timeoutErr(ctx, name, last())
		case <-p.fatalCh:
			p.mu.Lock()
			err := p.fatal
			p.mu.Unlock()
			return last(), err
		case <-p.stopCh:
			return last(), ErrWatcherStopped
		}
	}
}

// noteErr remembers a list or watch error; one that retrying cannot fix fails all waits.
// It returns err.
func (p *podSource) noteErr(err error) error {
	if err == nil {
		return nil
	}
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		p.fatalOnce.Do(func() {
			p.mu.Lock()
			p.fatal = fmt.Errorf("watching pods: %w", err)
			p.mu.Unlock()
			close(p.fatalCh)
		})
	}
	return err
}

// timeoutErr wraps the context's cause with the last state seen and the last watch error.
func (p *podSource) timeoutErr(ctx context.Context, name string, last *corev1.Pod) error {
	p.mu.Lock()
	lastErr := p.lastErr
	p.mu.Unlock()
	return timeoutErr(ctx, "pods", p.namespace+"/"+name, DescribePod(last), lastErr)
}

// podEvent is one change of one name, as a wait sees it: a state of the pod (from a list or
// a watch event), its deletion, or its absence from a list made at resource version rv.
type podEvent struct {
	pod     *corev1.Pod // nil: absent from a list
	deleted bool
	rv      uint64
}

// podSub is one wait's interest in one name: the queue of events since it was made,
// starting with the name's state at that time (or with the first list's answer). kick has
// room for one wake-up; the waiter then drains the whole queue, in order.
type podSub struct {
	name string
	kick chan struct{}

	mu     sync.Mutex
	events []podEvent
}

func (s *podSub) push(e podEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *podSub) drain() []podEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := s.events
	s.events = nil
	return events
}

// subscribe registers interest in name. When the watcher has synced, the queue starts with
// the name's current state; otherwise the first list will provide it.
func (p *podSource) subscribe(name string) *podSub {
	s := &podSub{name: name, kick: make(chan struct{}, 1)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subs[name] == nil {
		p.subs[name] = map[*podSub]struct{}{}
	}
	p.subs[name][s] = struct{}{}
	if p.synced {
		if pod, ok := p.pods[name]; ok {
			s.push(podEvent{pod: pod})
		} else {
			s.push(podEvent{rv: p.rv})
		}
	}
	return s
}

func (p *podSource) unsubscribe(s *podSub) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.subs[s.name], s)
	if len(p.subs[s.name]) == 0 {
		delete(p.subs, s.name)
	}
}

// podWait follows one pod through the events of its name.
type podWait struct {
	p       *podSource
	name    string
	known   *corev1.Pod // what the caller got from the API server, if anything
	current *corev1.Pod // the state the condition was last evaluated on
}

// apply moves the wait by one event. changed says whether the condition must be evaluated
// again; gone whether the pod the wait is about no longer exists.
func (w *podWait) apply(ctx context.Context, e podEvent) (changed, gone bool, err error) {
	ref := w.current
	if ref == nil {
		ref = w.known
	}
	switch {
	case e.pod == nil: // absent from a list
		if ref != nil {
			// Deletions come as events, so this is a pod known only from the caller (or a
			// GET): gone if the list is newer; else the watch has not caught up yet.
			if rv := rvOf(ref); rv != 0 && e.rv >= rv {
				return false, true, nil
			}
			changed = w.current == nil
			w.current = ref
			return changed, false, nil
		}
		// The list may come from the API server's watch cache and lag behind: ask once.
		got, err := w.p.c.Kube.CoreV1().Pods(w.p.namespace).Get(ctx, w.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false, true, nil
		case err != nil:
			return false, false, fmt.Errorf("get pods %s: %w", w.name, err)
		}
		w.current = got
		return true, false, nil

	case e.deleted:
		// The pod is gone, unless this is an earlier pod of the same name.
		return false, ref == nil || sameObject(e.pod, ref), nil
	}
	first := w.current == nil
	w.current = ref // start from what the caller knows; the event may be older or newer
	switch {
	case w.current == nil:
	case !sameObject(e.pod, w.current):
		if isOlder(e.pod, w.current) {
			return first, false, nil // an earlier pod of the same name
		}
		return false, true, nil // deleted and created again
	case isOlder(e.pod, w.current):
		return first, false, nil // stale: the watch has not caught up with the caller
	}
	w.current = e.pod
	return true, false, nil
}

// podOf returns the pod in a store call, also from a cache.DeletedFinalStateUnknown.
func podOf(obj interface{}) (*corev1.Pod, error) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod == nil {
		return nil, fmt.Errorf("unexpected object %T in the watch of pods", obj)
	}
	return pod, nil
}

// podStore is a podSource seen as its Reflector's store.
type podStore podSource

var (
	_ cache.ReflectorStore         = (*podStore)(nil)
	_ cache.ResourceVersionUpdater = (*podStore)(nil)
)

// bumpRV records a resource version; callers hold s.mu.
func (s *podStore) bumpRV(rv uint64) {
	if rv > s.rv {
		s.rv = rv
	}
}

// notify queues an event for the subscribers of name; callers hold s.mu.
func (s *podStore) notify(name string, e podEvent) {
	for sub := range s.subs[name] {
		sub.push(e)
	}
}

// Add implements cache.ReflectorStore.
func (s *podStore) Add(obj interface{}) error {
	return s.Update(obj)
}

// Update implements cache.ReflectorStore.
func (s *podStore) Update(obj interface{}) error {
	pod, err := podOf(obj)
	if err != nil {
		return err
	}
	pod.ManagedFields = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pods[pod.Name] = pod
	s.bumpRV(rvOf(pod))
	s.notify(pod.Name, podEvent{pod: pod})
	return nil
}

// Delete implements cache.ReflectorStore.
func (s *podStore) Delete(obj interface{}) error {
	pod, err := podOf(obj)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pods, pod.Name)
	s.bumpRV(rvOf(pod))
	s.notify(pod.Name, podEvent{pod: pod, deleted: true})
	return nil
}

// Replace implements cache.ReflectorStore: the result of a (re)list. Pods missing from the
// new list count as deleted; waits for names the list does not have learn it.
func (s *podStore) Replace(list []interface{}, rv string) error {
	fresh := make(map[string]*corev1.Pod, len(list))
	for _, item := range list {
		pod, err := podOf(item)
		if err != nil {
			return err
		}
		pod.ManagedFields = nil
		fresh[pod.Name] = pod
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pod := range fresh {
		s.bumpRV(rvOf(pod))
	}
	s.bumpRV(parseRV(rv))
	for name := range s.subs {
		pod, now := fresh[name]
		old, before := s.pods[name]
		switch {
		case now:
			s.notify(name, podEvent{pod: pod})
		case before:
			s.notify(name, podEvent{pod: old, deleted: true})
		default:
			s.notify(name, podEvent{rv: s.rv})
		}
	}
	s.pods = fresh
	s.synced = true
	return nil
}

// Resync implements cache.ReflectorStore; there is nothing to resync.
func (s *podStore) Resync() error {
	return nil
}

// UpdateResourceVersion implements cache.ResourceVersionUpdater (bookmarks included).
func (s *podStore) UpdateResourceVersion(rv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bumpRV(parseRV(rv))
}
