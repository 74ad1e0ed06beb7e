package kube

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// WaitDefaultServiceAccount waits, with a list and a watch, until the
// default service account of a new namespace exists: pods cannot be
// created before it. (WaitFor treats an object that is not there as gone,
// which is right for every other wait.)
func WaitDefaultServiceAccount(ctx context.Context, c *Clients, ns string) error {
	sel := fields.OneTermEqualSelector("metadata.name", "default").String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return c.Kube.CoreV1().ServiceAccounts(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return c.Kube.CoreV1().ServiceAccounts(ns).Watch(ctx, o)
		},
	}, c.Kube)
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.ServiceAccount{}, nil, func(e watch.Event) (bool, error) {
		return e.Type == watch.Added || e.Type == watch.Modified, nil
	})
	return err
}
