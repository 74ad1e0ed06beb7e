package kube

import (
	"testing"

	"k8s.io/client-go/rest"

	clientfeatures "k8s.io/client-go/features"
)

// TestClientsListThenWatch checks that building clients turns client-go's
// watch-list streams off and leaves its other gates as they were.
func TestClientsListThenWatch(t *testing.T) {
	before := clientfeatures.FeatureGates().Enabled(clientfeatures.InformerResourceVersion)
	if _, err := NewClientsForConfig(&rest.Config{Host: "https://127.0.0.1:1"}, "default", ""); err != nil {
		t.Fatal(err)
	}
	if clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Error("WatchListClient is still on after NewClientsForConfig")
	}
	if got := clientfeatures.FeatureGates().Enabled(clientfeatures.InformerResourceVersion); got != before {
		t.Errorf("InformerResourceVersion changed from %v to %v", before, got)
	}
}
