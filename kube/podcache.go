package kube

import corev1 "k8s.io/api/core/v1"

// Get returns a pod from the watcher's cache without a request, when the
// watch is running, has listed, and has the pod. Callers fall back to a GET.
func (p *PodWatcher) Get(name string) (*corev1.Pod, bool) {
	w := p.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.synced {
		return nil, false
	}
	pod, ok := w.objects[name].(*corev1.Pod)
	if !ok || pod == nil {
		return nil, false
	}
	return pod.DeepCopy(), true
}
