package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/report"
)

var (
	podsGVR       = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	namespacesGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	secretsGVR    = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// testResources are what the fake discovery serves: every resource that
// lists and deletes, as a real server's discovery says it.
var testResources = []*metav1.APIResourceList{
	{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"list", "delete", "get"}},
		{Name: "pods/log", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get"}},
		{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: metav1.Verbs{"list", "delete"}},
		{Name: "secrets", Kind: "Secret", Namespaced: true, Verbs: metav1.Verbs{"list", "delete"}},
		{Name: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true, Verbs: metav1.Verbs{"list", "delete"}},
		{Name: "namespaces", Kind: "Namespace", Verbs: metav1.Verbs{"list", "delete"}},
		{Name: "bindings", Kind: "Binding", Namespaced: true, Verbs: metav1.Verbs{"create"}},
	}},
	{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
		{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: metav1.Verbs{"list", "delete"}},
	}},
	{GroupVersion: "batch/v1", APIResources: []metav1.APIResource{
		{Name: "cronjobs", Kind: "CronJob", Namespaced: true, Verbs: metav1.Verbs{"list", "delete"}},
	}},
	{GroupVersion: "rbac.authorization.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "clusterroles", Kind: "ClusterRole", Verbs: metav1.Verbs{"list", "delete"}},
	}},
}

// leftoverListKinds registers a list kind for every resource the dynamic fake may list.
func leftoverListKinds() map[schema.GroupVersionResource]string {
	kinds := map[schema.GroupVersionResource]string{}
	for _, l := range testResources {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			kinds[gv.WithResource(r.Name)] = r.Kind + "List"
		}
	}
	return kinds
}

// object returns an unstructured object with labels and a creation time (seconds after a
// fixed instant).
func object(apiVersion, kind, namespace, name string, labels map[string]string, createdSec int) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetLabels(labels)
	u.SetCreationTimestamp(metav1.NewTime(time.Date(2025, 1, 2, 3, 4, createdSec, 0, time.UTC)))
	return u
}

func fakeClients(objs ...runtime.Object) (*Clients, *dynamicfake.FakeDynamicClient) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), leftoverListKinds(), objs...)
	k := fake.NewSimpleClientset()
	k.Discovery().(*fakediscovery.FakeDiscovery).Resources = testResources
	return NewClientsWith(k, dyn, nil, "ns"), dyn
}

// deleteActions lists the delete calls made, as "resource ns/name".
func deleteActions(dyn *dynamicfake.FakeDynamicClient) []string {
	var out []string
	for _, a := range dyn.Actions() {
		if d, ok := a.(clienttesting.DeleteActionImpl); ok {
			out = append(out, fmt.Sprintf("%s %s/%s", d.GetResource().Resource, d.GetNamespace(), d.GetName()))
		}
	}
	return out
}

func TestDeleteOptions(t *testing.T) {
	zero := int64(0)
	background, foreground := metav1.DeletePropagationBackground, metav1.DeletePropagationForeground
	tests := []struct {
		name string
		gvr  schema.GroupVersionResource
		wait bool
		want metav1.DeleteOptions
	}{
		{"pod", podsGVR, false, metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &background}},
		{"pod, wait", podsGVR, true, metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &foreground}},
		{"deployment", deploymentsGVR, false, metav1.DeleteOptions{PropagationPolicy: &background}},
		{"namespace, wait", namespacesGVR, true, metav1.DeleteOptions{PropagationPolicy: &foreground}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, deleteOptions(tt.gvr, tt.wait)); diff != "" {
				t.Errorf("deleteOptions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	want := map[string]string{"app.kubernetes.io/managed-by": "runbook", "runbook/run-id": "r-1"}
	if diff := cmp.Diff(want, Labels("r-1")); diff != "" {
		t.Errorf("Labels (-want +got):\n%s", diff)
	}
	if LabelManagedBy != "app.kubernetes.io/managed-by" || LabelRunID != "runbook/run-id" || ManagedByValue != "runbook" {
		t.Errorf("label constants changed: %q %q %q", LabelManagedBy, LabelRunID, ManagedByValue)
	}
	for runID, want := range map[string]string{
		"":    "app.kubernetes.io/managed-by=runbook",
		"r-1": "app.kubernetes.io/managed-by=runbook,runbook/run-id=r-1",
	} {
		if got := LeftoverSelector(runID); got != want {
			t.Errorf("LeftoverSelector(%q) = %q, want %q", runID, got, want)
		}
	}
}

func TestTrackerRecord(t *testing.T) {
	tr := NewTracker(nil)
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tr.now = func() time.Time { return fixed }

	i := tr.Record(TrackedObject{GVR: namespacesGVR, Kind: "Namespace", Name: "run-x"})
	j := tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "run-x", Name: "web", CreatedAt: fixed.Add(time.Second)})
	tr.MarkCreated(i)
	tr.MarkCreated(99) // out of range: ignored
	tr.MarkCreated(-1)

	want := []TrackedObject{
		{GVR: namespacesGVR, Kind: "Namespace", Name: "run-x", CreatedAt: fixed, Created: true},
		{GVR: podsGVR, Kind: "Pod", Namespace: "run-x", Name: "web", CreatedAt: fixed.Add(time.Second)},
	}
	if diff := cmp.Diff(want, tr.Objects()); diff != "" {
		t.Errorf("Objects (-want +got):\n%s", diff)
	}
	if i != 0 || j != 1 {
		t.Errorf("indexes %d, %d", i, j)
	}
	// Objects returns a copy.
	tr.Objects()[0].Name = "changed"
	if tr.Objects()[0].Name != "run-x" {
		t.Error("Objects shares its slice")
	}
	if got := fmt.Sprint(want[0], ", ", want[1]); got != "Namespace run-x, Pod run-x/web" {
		t.Errorf("String = %q", got)
	}
}

func TestTrackerConcurrentRecord(t *testing.T) {
	tr := NewTracker(nil)
	var wg sync.WaitGroup
	for n := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.MarkCreated(tr.Record(TrackedObject{GVR: podsGVR, Namespace: "ns", Name: fmt.Sprint("p", n)}))
		}()
	}
	wg.Wait()
	objs := tr.Objects()
	if len(objs) != 50 {
		t.Fatalf("%d objects, want 50", len(objs))
	}
	for _, o := range objs {
		if !o.Created {
			t.Errorf("%s not marked created", o.Name)
		}
	}
}

func TestTrackerCleanup(t *testing.T) {
	labels := Labels("r-1")
	c, dyn := fakeClients(
		object("v1", "Namespace", "", "run-x", labels, 0),
		object("v1", "ConfigMap", "run-x", "settings", labels, 1),
		object("v1", "Pod", "run-x", "web", labels, 2),
		object("v1", "Pod", "run-x", "web-copy", labels, 3),
	)
	dyn.PrependReactor("delete", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "settings", errors.New("RBAC says no"))
	})
	tr := NewTracker(c)
	for _, o := range []TrackedObject{
		{GVR: namespacesGVR, Kind: "Namespace", Name: "run-x"},
		{GVR: configMapsGVR, Kind: "ConfigMap", Namespace: "run-x", Name: "settings"},
		{GVR: podsGVR, Kind: "Pod", Namespace: "run-x", Name: "web"},
		{GVR: secretsGVR, Kind: "Secret", Namespace: "run-x", Name: "never-created"},
		{GVR: podsGVR, Kind: "Pod", Namespace: "run-x", Name: "web-copy"},
	} {
		i := tr.Record(o)
		if o.Name != "never-created" {
			tr.MarkCreated(i)
		}
	}

	got := tr.Cleanup(context.Background(), false)
	type outcome struct{ Object, Outcome, Error, Reason string }
	var gotOutcomes []outcome
	for _, d := range got {
		gotOutcomes = append(gotOutcomes, outcome{d.Object.String(), d.Outcome, d.Error, d.Reason})
	}
	want := []outcome{
		{"Pod run-x/web-copy", "deleted", "", ""},
		{"Secret run-x/never-created", "not found", "", ""},
		{"Pod run-x/web", "deleted", "", ""},
		{"ConfigMap run-x/settings", "failed", `configmaps "settings" is forbidden: RBAC says no`, ""},
		{"Namespace run-x", "deleted", "", ""},
	}
	if diff := cmp.Diff(want, gotOutcomes); diff != "" {
		t.Errorf("deletions (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"pods run-x/web-copy",
		"secrets run-x/never-created",
		"pods run-x/web",
		"configmaps run-x/settings",
		"namespaces /run-x",
	}
	if diff := cmp.Diff(wantCalls, deleteActions(dyn)); diff != "" {
		t.Errorf("delete calls (-want +got):\n%s", diff)
	}

	// A second cleanup only handles what was recorded since.
	dyn.ClearActions()
	if again := tr.Cleanup(context.Background(), false); len(again) != 0 {
		t.Errorf("second cleanup redid %d deletions", len(again))
	}
	tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "run-x", Name: "late"})
	late := tr.Cleanup(context.Background(), false)
	if len(late) != 1 || late[0].Object.Name != "late" || late[0].Outcome != report.OutcomeNotFound {
		t.Errorf("late cleanup = %+v", late)
	}
}

func TestTrackerCleanupWait(t *testing.T) {
	labels := Labels("r-1")
	c, dyn := fakeClients(object("v1", "Pod", "ns", "web", labels, 0), object("apps/v1", "Deployment", "ns", "api", labels, 1))
	tr := NewTracker(c)
	tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "web"})
	tr.Record(TrackedObject{GVR: deploymentsGVR, Kind: "Deployment", Namespace: "ns", Name: "api"})
	got := tr.Cleanup(context.Background(), true)
	var outcomes []string
	for _, d := range got {
		outcomes = append(outcomes, d.Object.String()+": "+d.Outcome+d.Error)
	}
	if diff := cmp.Diff([]string{"Deployment ns/api: deleted", "Pod ns/web: deleted"}, outcomes); diff != "" {
		t.Errorf("deletions (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"deployments ns/api",
		"pods ns/web",
	}
	if diff := cmp.Diff(wantCalls, deleteActions(dyn)); diff != "" {
		t.Errorf("delete calls (-want +got):\n%s", diff)
	}
	// Waiting for each to be gone used a watch per object, limited by name.
	watches := map[string]bool{}
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "watch" || a.GetVerb() == "list" {
			watches[a.GetVerb()+" "+a.GetResource().Resource] = true
		}
	}
	if diff := cmp.Diff(map[string]bool{"list deployments": true, "list pods": true, "watch deployments": true, "watch pods": true}, watches); diff != "" {
		t.Errorf("wait calls (-want +got):\n%s", diff)
	}
}

func TestTrackerKept(t *testing.T) {
	tr := NewTracker(nil)
	tr.Record(TrackedObject{Kind: "Pod", Namespace: "ns", Name: "a"})
	tr.Record(TrackedObject{Kind: "ConfigMap", Namespace: "ns", Name: "b"})
	var got []string
	for _, d := range tr.Kept("--keep") {
		got = append(got, d.Object.String()+": "+d.Outcome+": "+d.Reason)
	}
	want := []string{"ConfigMap ns/b: kept: --keep", "Pod ns/a: kept: --keep"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Kept (-want +got):\n%s", diff)
	}
}

func TestTrackerWithoutClient(t *testing.T) {
	tr := NewTracker(nil)
	tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "a"})
	got := tr.Cleanup(context.Background(), true)
	if len(got) != 1 || got[0].Outcome != report.OutcomeFailed || got[0].Error != "no cluster client" {
		t.Errorf("Cleanup = %+v", got)
	}
}

func TestFindAndDeleteLeftovers(t *testing.T) {
	run1, run2 := Labels("r-1"), Labels("r-2")
	other := map[string]string{"app": "web"}
	c, dyn := fakeClients(
		object("v1", "Namespace", "", "runbook-r-1", run1, 0),
		object("v1", "Namespace", "", "prod", other, 0),
		object("v1", "Pod", "runbook-r-1", "noshell", run1, 1),
		object("v1", "Pod", "runbook-r-1", "noshell-dbg", run1, 2),
		object("v1", "Pod", "default", "node-debugger-vm-abcde", run2, 3),
		object("v1", "Pod", "default", "web", other, 4),
		object("v1", "ConfigMap", "default", "settings", run2, 5),
		object("apps/v1", "Deployment", "runbook-r-1", "api", run1, 6),
		object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader", run1, 7),
	)
	names := func(objs []TrackedObject) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.String()+" ("+o.Note+")")
		}
		return out
	}
	tests := []struct {
		name, namespace, runID string
		want                   []string
	}{
		{"all namespaces, all runs", "", "", []string{
			"Deployment runbook-r-1/api (run r-1)",
			"ConfigMap default/settings (run r-2)",
			"Pod default/node-debugger-vm-abcde (run r-2)",
			"Pod runbook-r-1/noshell-dbg (run r-1)",
			"Pod runbook-r-1/noshell (run r-1)",
			"ClusterRole reader (run r-1)",
			"Namespace runbook-r-1 (run r-1)",
		}},
		{"one run", "", "r-2", []string{
			"ConfigMap default/settings (run r-2)",
			"Pod default/node-debugger-vm-abcde (run r-2)",
		}},
		{"one namespace: cluster-scoped objects are not listed", "runbook-r-1", "", []string{
			"Deployment runbook-r-1/api (run r-1)",
			"Pod runbook-r-1/noshell-dbg (run r-1)",
			"Pod runbook-r-1/noshell (run r-1)",
		}},
		{"one namespace and one run: the run's cluster-scoped objects too", "runbook-r-1", "r-1", []string{
			"Deployment runbook-r-1/api (run r-1)",
			"Pod runbook-r-1/noshell-dbg (run r-1)",
			"Pod runbook-r-1/noshell (run r-1)",
			"ClusterRole reader (run r-1)",
			"Namespace runbook-r-1 (run r-1)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := FindLeftovers(context.Background(), c, tt.namespace, tt.runID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(found)); diff != "" {
				t.Errorf("FindLeftovers (-want +got):\n%s", diff)
			}
		})
	}

	found, err := FindLeftovers(context.Background(), c, "", "r-1")
	if err != nil {
		t.Fatal(err)
	}
	dyn.ClearActions()
	deletions := DeleteLeftovers(context.Background(), c, found, false)
	var got []string
	for _, d := range deletions {
		got = append(got, d.Object.String()+": "+d.Outcome)
	}
	want := []string{
		"Deployment runbook-r-1/api: deleted",
		"Pod runbook-r-1/noshell-dbg: deleted",
		"Pod runbook-r-1/noshell: deleted",
		"ClusterRole reader: deleted",
		"Namespace runbook-r-1: deleted",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DeleteLeftovers (-want +got):\n%s", diff)
	}
	after, err := FindLeftovers(context.Background(), c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ConfigMap default/settings (run r-2)", "Pod default/node-debugger-vm-abcde (run r-2)"}, names(after)); diff != "" {
		t.Errorf("left after deletion (-want +got):\n%s", diff)
	}
}

func TestFindLeftoversPartialFailure(t *testing.T) {
	c, dyn := fakeClients(object("v1", "Pod", "ns", "p", Labels("r-1"), 0))
	dyn.PrependReactor("list", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("no"))
	})
	found, err := FindLeftovers(context.Background(), c, "", "")
	if err == nil || err.Error() != "list secrets: secrets is forbidden: no" {
		t.Errorf("error = %v", err)
	}
	if len(found) != 1 || found[0].Name != "p" {
		t.Errorf("found = %+v", found)
	}
	// Every resource kind was still looked at.
	var listed []string
	for _, a := range dyn.Actions() {
		listed = append(listed, a.GetResource().Resource)
	}
	sort.Strings(listed)
	want := []string{"clusterroles", "configmaps", "cronjobs", "deployments", "namespaces", "persistentvolumeclaims", "pods", "secrets"}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if _, err := FindLeftovers(context.Background(), nil, "", ""); err == nil {
		t.Error("FindLeftovers without a client succeeded")
	}
}

// TestTrackerForgetKeepsIndexes: a refused create is forgotten, and the
// indexes that Record gave to other (concurrent) creators still name
// their own objects.
func TestTrackerForgetKeepsIndexes(t *testing.T) {
	tr := NewTracker(nil)
	fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tr.now = func() time.Time { return fixed }
	a := tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "a"})
	b := tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "b"})
	c := tr.Record(TrackedObject{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "c"})
	tr.Forget(a, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "pods"}, "a"))
	tr.MarkCreated(b)
	tr.Forget(c, errors.New("connection reset")) // may have reached the server: kept
	want := []TrackedObject{
		{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "b", CreatedAt: fixed, Created: true},
		{GVR: podsGVR, Kind: "Pod", Namespace: "ns", Name: "c", CreatedAt: fixed},
	}
	if diff := cmp.Diff(want, tr.Objects()); diff != "" {
		t.Errorf("Objects (-want +got):\n%s", diff)
	}
	var kept []string
	for _, d := range tr.Kept("kept") {
		kept = append(kept, d.Object.Name)
	}
	if diff := cmp.Diff([]string{"c", "b"}, kept); diff != "" {
		t.Errorf("Kept (-want +got):\n%s", diff)
	}
}
