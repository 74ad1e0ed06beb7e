package kube

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// WaitForPods waits until cond holds for the pods of namespace that the label
// selector selects (all of them for ""), with a list and a watch, until ctx
// ends. It returns the pods cond last held or failed on (nil before the first
// list), so that a caller can say what was left, with ctx's error when the
// wait ended without cond holding.
func WaitForPods(ctx context.Context, c *Clients, namespace, selector string, cond func([]*corev1.Pod) bool) ([]*corev1.Pod, error) {
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return c.Kube.CoreV1().Pods(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return c.Kube.CoreV1().Pods(namespace).Watch(ctx, o)
		},
	}, c.Kube)
	var store cache.Store
	pods := func() []*corev1.Pod {
		if store == nil {
			return nil
		}
		var out []*corev1.Pod
		for _, o := range store.List() {
			out = append(out, o.(*corev1.Pod))
		}
		return out
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, func(s cache.Store) (bool, error) {
		store = s
		return cond(pods()), nil
	}, func(watch.Event) (bool, error) { return cond(pods()), nil })
	return pods(), err
}
