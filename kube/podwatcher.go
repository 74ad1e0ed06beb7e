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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// ErrWatcherStopped is returned by waits on a PodWatcher that was stopped.
var ErrWatcherStopped = errors.New("pod watcher stopped")

// PodWatcherOptions narrows what a PodWatcher watches.
type PodWatcherOptions struct {
	// LabelSelector limits the watch, e.g. "app.kubernetes.io/managed-by=runbook".
	LabelSelector string
	// FieldSelector limits the watch, e.g. "metadata.name=web-0".
	FieldSelector string
	// UnschedulableGrace replaces UnschedulableGrace for the waits on this watcher when
	// more than 0.
	UnschedulableGrace time.Duration
}

// PodWatcher runs one watch (a list, then a watch, through a client-go Reflector) on the
// pods of a namespace and lets any number of waits share it: each Wait costs no request
// while the pod is in the watcher's cache. It starts on the first Wait (or Start) and runs
// until Stop. It is safe for concurrent use.
//
// The watcher keeps the pods without their managedFields, as kubectl get shows them: no wait
// reads them, and they are a fifth of a pod's heap. Its memory grows with the number of
// pods in the namespace: 49 MiB for 5000 pods like CoreDNS's, 63 MiB with managedFields
// (BenchmarkPodWatcherNamespace).
//
// The watcher is the Reflector's store (see podStore): it keeps the pods by name and hands
// each wait, in order, every change of the name it waits for, including a deletion that a
// later state no longer shows.
type PodWatcher struct {
	c         *Clients
	namespace string
	opts      PodWatcherOptions

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

// NewPodWatcher returns a watcher of all pods in namespace. Nothing is sent until Start or
// the first Wait.
func NewPodWatcher(c *Clients, namespace string) *PodWatcher {
	return NewPodWatcherWithOptions(c, namespace, PodWatcherOptions{})
}

// NewPodWatcherWithOptions returns a watcher of the pods in namespace that match opts.
func NewPodWatcherWithOptions(c *Clients, namespace string, opts PodWatcherOptions) *PodWatcher {
	return &PodWatcher{
		c:         c,
		namespace: namespace,
		opts:      opts,
		stopCh:    make(chan struct{}),
		fatalCh:   make(chan struct{}),
		pods:      map[string]*corev1.Pod{},
		subs:      map[string]map[*podSub]struct{}{},
	}
}

// Start begins the list and watch now, so that it is established before the pods it will
// be asked about are created. Calling it is optional and idempotent.
func (p *PodWatcher) Start() {
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
				o.LabelSelector, o.FieldSelector = p.opts.LabelSelector, p.opts.FieldSelector
				list, err := p.c.Kube.CoreV1().Pods(p.namespace).List(ctx, o)
				return list, p.noteErr(err)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				if p.c == nil || p.c.Kube == nil {
					return nil, p.noteErr(errors.New("no cluster client"))
				}
				o.LabelSelector, o.FieldSelector = p.opts.LabelSelector, p.opts.FieldSelector
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
func (p *PodWatcher) Stop() {
	p.stopOnce.Do(func() { close(p.stopCh) })
}

// Get returns a pod from the watcher's cache without a request, when the watch is running,
// has listed, and has the pod. Callers fall back to a GET.
func (p *PodWatcher) Get(name string) (*corev1.Pod, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pod, ok := p.pods[name]
	if !p.synced || !ok {
		return nil, false
	}
	return pod.DeepCopy(), true
}

// Wait waits until cond is done for the named pod, or fails. The pod's state comes from the
// shared watch; a pod not (yet) in it is read once with a GET, and NotFound is a
// *PodGoneError, as is a deletion seen while waiting, and a deletion timestamp on a pod
// that does not meet cond yet (it never will). An error of cond that the scheduler may take
// back (IsUnschedulable) ends the wait only if the pod still has it UnschedulableGrace
// after the wait began. When ctx ends, the error wraps the context's cause and says what
// the pod last looked like. The last pod seen is returned with any error.
func (p *PodWatcher) Wait(ctx context.Context, name string, cond PodCondition) (*corev1.Pod, error) {
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	return p.wait(ctx, name, nil, unlessDeleting(cond))
}

// WaitGone waits until the pod of that name and UID is gone: deleted, or replaced by
// another pod of the same name (as a StatefulSet does). A pod with a deletion timestamp is
// not gone yet: its containers may take their grace period to stop. It is no error if
// there is no such pod.
func (p *PodWatcher) WaitGone(ctx context.Context, name string, uid types.UID) error {
	_, err := p.wait(ctx, name, nil, func(pod *corev1.Pod) (bool, error) {
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
// starts from it instead of sending a GET, so it costs no request at all. The pod must
// match the watcher's selectors.
func (p *PodWatcher) WaitFrom(ctx context.Context, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if known == nil {
		return nil, errors.New("no pod to wait for")
	}
	if cond == nil {
		return nil, errors.New("no condition to wait for")
	}
	return p.wait(ctx, known.Name, known, unlessDeleting(cond))
}

// wait is Wait, WaitFrom and WaitGone: it follows the events of name until cond says done
// or fails, the pod is gone, ctx ends, the watch fails for good, or the watcher stops.
func (p *PodWatcher) wait(ctx context.Context, name string, known *corev1.Pod, cond PodCondition) (*corev1.Pod, error) {
	if p.namespace == "" {
		return nil, errors.New("pod watcher has no namespace")
	}
	if ctx.Err() != nil {
		return known, p.timeoutErr(ctx, name, known)
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
	grace := newGraceHold(p.opts.UnschedulableGrace)
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
func (p *PodWatcher) noteErr(err error) error {
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
func (p *PodWatcher) timeoutErr(ctx context.Context, name string, last *corev1.Pod) error {
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
func (p *PodWatcher) subscribe(name string) *podSub {
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

func (p *PodWatcher) unsubscribe(s *podSub) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.subs[s.name], s)
	if len(p.subs[s.name]) == 0 {
		delete(p.subs, s.name)
	}
}

// podWait follows one pod through the events of its name.
type podWait struct {
	p       *PodWatcher
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

// podStore is the PodWatcher seen as its Reflector's store.
type podStore PodWatcher

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
