package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// namespacePods returns n copies of testdata/deployment-pod.json (a pod of
// CoreDNS's Deployment read from the local cluster with
// --show-managed-fields, in compact JSON as the API server sends it: an
// indented one would inflate managedFields, whose raw JSON is kept as it
// comes), each with its own name and UID.
func namespacePods(tb testing.TB, n int) []k8sruntime.Object {
	tb.Helper()
	raw, err := os.ReadFile("testdata/deployment-pod.json")
	if err != nil {
		tb.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(raw, &pod); err != nil {
		tb.Fatal(err)
	}
	pods := make([]k8sruntime.Object, n)
	for i := range pods {
		p := pod.DeepCopy()
		p.Namespace = "ns"
		p.Name = fmt.Sprintf("web-%05d", i)
		p.UID = types.UID(fmt.Sprintf("uid-%05d", i))
		pods[i] = p
	}
	return pods
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// watcherHeap is the heap a PodWatcher holds once it has listed pods, and
// the heap the same pods hold as listed (managedFields included).
func watcherHeap(tb testing.TB, pods []k8sruntime.Object) (watcher, listed uint64) {
	tb.Helper()
	c := NewClientsWith(watchedClientset(bufferedWatch(), pods...), nil, nil, "ns")
	before := heapInUse()
	copies := make([]*corev1.Pod, len(pods))
	for i, p := range pods {
		copies[i] = p.(*corev1.Pod).DeepCopy()
	}
	listed = heapInUse() - before
	runtime.KeepAlive(copies)
	copies = nil

	before = heapInUse()
	w := namespaceWatcher(c, "ns")
	defer w.Stop()
	if _, err := w.Wait(context.Background(), "web-00000", PodReady()); err != nil {
		tb.Fatal(err)
	}
	watcher = heapInUse() - before
	runtime.KeepAlive(w)
	return watcher, listed
}

// TestPodWatcherDropsManagedFields checks that the watcher keeps no
// managedFields, from the list and from the watch's events alike.
func TestPodWatcherDropsManagedFields(t *testing.T) {
	pods := namespacePods(t, 2)
	if len(pods[0].(*corev1.Pod).ManagedFields) == 0 {
		t.Fatal("testdata/deployment-pod.json has no managedFields: the test would prove nothing")
	}
	updated := pods[1].DeepCopyObject().(*corev1.Pod)
	updated.ResourceVersion = "999999999"
	updated.Labels = map[string]string{"updated": "yes"}
	c := NewClientsWith(watchedClientset(bufferedWatch(watch.Event{Type: watch.Modified, Object: updated}), pods...), nil, nil, "ns")
	w := namespaceWatcher(c, "ns")
	defer w.Stop()
	for _, name := range []string{"web-00000", "web-00001"} {
		pod, err := w.Wait(context.Background(), name, func(p *corev1.Pod) (bool, error) {
			return name == "web-00000" || p.Labels["updated"] == "yes", nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(pod.ManagedFields) != 0 {
			t.Errorf("%s: the watcher kept %d managedFields entries", name, len(pod.ManagedFields))
		}
	}
}

// BenchmarkPodWatcherNamespace reports the heap a run's pod watcher holds
// for a namespace of 5000 pods like testdata/deployment-pod.json, against
// the heap the same pods hold as the API server sends them.
func BenchmarkPodWatcherNamespace(b *testing.B) {
	pods := namespacePods(b, 5000)
	for range b.N {
		watcher, listed := watcherHeap(b, pods)
		b.ReportMetric(float64(watcher)/(1<<20), "watcher-MiB")
		b.ReportMetric(float64(listed)/(1<<20), "listed-MiB")
		b.ReportMetric(float64(watcher)/float64(listed), "watcher/listed")
	}
}
