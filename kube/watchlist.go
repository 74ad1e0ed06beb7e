package kube

import (
	"sync"

	clientfeatures "k8s.io/client-go/features"
)

// listThenWatch makes client-go's reflectors (the run's pod watch, every
// UntilWithSync wait) list, then watch, on every server, as the plan and the
// rbac command say, rather than open watch-list streams (WatchListClient,
// on by default from client-go v0.35). A watch-list stream saves the list
// only where the server serves it (Kubernetes v1.34 on, etcd 3.4.31 or
// 3.5.13 on); elsewhere (v1.33, whose WatchList gate is off by default) the
// server refuses the first watch and the reflector lists after all: a
// request more, and a run's request count that depends on the server. The
// watches here select a few pods by name or label, where a stream saves
// nothing worth that.
var listThenWatch = sync.OnceFunc(func() {
	clientfeatures.ReplaceFeatureGates(withoutWatchList{clientfeatures.FeatureGates()})
})

// withoutWatchList is client-go's feature gates with WatchListClient off.
type withoutWatchList struct{ clientfeatures.Gates }

// Enabled implements clientfeatures.Gates.
func (g withoutWatchList) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return false
	}
	return g.Gates.Enabled(f)
}
