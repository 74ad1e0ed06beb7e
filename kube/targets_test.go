package kube

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/kubectl/pkg/util/podutils"
)

func TestParsePodTarget(t *testing.T) {
	tests := []struct {
		in, want, kind, err string
	}{
		{in: "web-0", want: "web-0", kind: "pod"},
		{in: "pod/web-0", want: "web-0", kind: "pod"},
		{in: "po/web-0", want: "web-0", kind: "pod"},
		{in: "pods/web-0", want: "web-0", kind: "pod"},
		{in: "deployment/web", want: "deployment/web", kind: "deployment"},
		{in: "deploy/web", want: "deployment/web", kind: "deployment"},
		{in: "Deployment/web", want: "deployment/web", kind: "deployment"},
		{in: "deployments.apps/web", want: "deployment/web", kind: "deployment"},
		{in: "sts/db", want: "statefulset/db", kind: "statefulset"},
		{in: "statefulset/db", want: "statefulset/db", kind: "statefulset"},
		{in: "ds/agent", want: "daemonset/agent", kind: "daemonset"},
		{in: "rs/web-5d4f8", want: "replicaset/web-5d4f8", kind: "replicaset"},
		{in: "job/migrate", want: "job/migrate", kind: "job"},
		{in: "jobs.batch/migrate", want: "job/migrate", kind: "job"},
		{in: "deployment/<vars.x>", want: "deployment/<vars.x>", kind: "deployment"},
		{in: "<vars.target>", want: "<vars.target>", kind: "pod"},
		{in: "service/web", err: `"service/web": unknown kind "service"`},
		{in: "deployments.batch/web", err: `unknown kind "deployments.batch"`},
		{in: "deployment/", err: `"deployment/": no name after deployment/`},
		{in: "deployment/web/x", err: `"web/x" is not a valid deployment name`},
		{in: "Web_0", err: `"Web_0" is not a valid pod name`},
		{in: "", err: "the pod is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePodTarget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.String() != tc.want || got.Kind.Name != tc.kind {
				t.Errorf("got %q (kind %q), %v; want %q (kind %q)", got, got.Kind.Name, err, tc.want, tc.kind)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	for _, ok := range []string{"app=web", "app=web,tier!=cache", "app in (a, b)", "!canary", "env"} {
		if _, err := ParseSelector(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " ", "app in (a", "a b", "app=we b"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// targetPod is a pod of app=web in prod.
func targetPod(name string, mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(time.Date(2025, 1, 1, 0, 1, 0, 0, time.UTC))}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app"}}},
	}
	if mod != nil {
		mod(p)
	}
	return p
}

func restarts(n int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Status.ContainerStatuses[0].RestartCount = n }
}

// TestChoosePod checks the choice against kubectl's rules: the same pods,
// sorted by podutils as kubectl's polymorphichelpers sort them, in every
// order they may be listed in.
func TestChoosePod(t *testing.T) {
	pending := func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = nil
	}
	notReady := func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
	tests := []struct {
		name      string
		pods      []*corev1.Pod
		exec, log string
	}{
		{"running before pending", []*corev1.Pod{targetPod("a", pending), targetPod("b", nil)}, "b", "b"},
		{"ready before not ready", []*corev1.Pod{targetPod("a", notReady), targetPod("b", nil)}, "b", "b"},
		// Among ready pods alike, exec takes the fewest restarts and logs the most.
		{"restarts", []*corev1.Pod{targetPod("a", restarts(5)), targetPod("b", restarts(0))}, "b", "a"},
		{"ready longest", []*corev1.Pod{targetPod("a", func(p *corev1.Pod) {
			p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 30, 0, time.UTC))
		}), targetPod("b", nil)}, "a", "a"},
		{"not deleting first (exec)", []*corev1.Pod{targetPod("a", func(p *corev1.Pod) {
			now := metav1.Now()
			p.DeletionTimestamp = &now
			p.Status.ContainerStatuses[0].RestartCount = 0
		}), targetPod("b", restarts(1))}, "b", "b"},
		{"only one", []*corev1.Pod{targetPod("a", pending)}, "a", "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range [][]int{{0, 1}, {1, 0}} {
				list := func() []*corev1.Pod {
					var out []*corev1.Pod
					for _, i := range order {
						if i < len(tc.pods) {
							out = append(out, tc.pods[i].DeepCopy())
						}
					}
					return out
				}
				if got := ChoosePod(list(), ChooseAttach); got.Name != tc.exec {
					t.Errorf("order %v: exec chose %s, want %s", order, got.Name, tc.exec)
				}
				if got := ChoosePod(list(), ChooseLogs); got.Name != tc.log {
					t.Errorf("order %v: logs chose %s, want %s", order, got.Name, tc.log)
				}
				// kubectl's own sorts, as attachablePodForObject and logsForObject call them.
				k := list()
				sort.Sort(sort.Reverse(podutils.ActivePods(k)))
				if k[0].Name != tc.exec {
					t.Errorf("order %v: kubectl exec would choose %s, the test says %s", order, k[0].Name, tc.exec)
				}
				k = list()
				sort.Sort(podutils.ByLogging(k))
				if k[0].Name != tc.log {
					t.Errorf("order %v: kubectl logs would choose %s, the test says %s", order, k[0].Name, tc.log)
				}
			}
		})
	}
	if ChoosePod(nil, ChooseLogs) != nil {
		t.Error("a pod chosen among none")
	}
}

func TestResolvePod(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	objs := []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: appsv1.DeploymentSpec{Selector: sel}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "idle", Namespace: "prod"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "idle"}}}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: appsv1.StatefulSetSpec{Selector: sel}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: appsv1.DaemonSetSpec{Selector: sel}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: appsv1.ReplicaSetSpec{Selector: sel}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: batchv1.JobSpec{Selector: sel}},
		targetPod("web-a", restarts(3)),
		targetPod("web-b", nil),
		targetPod("other", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "other"} }),
	}
	cs := NewClientsWith(fake.NewSimpleClientset(objs...), nil, nil, "prod")
	ctx := context.Background()
	tests := []struct {
		target   string
		selector string
		choice   PodChoice
		want     string
		err      string
	}{
		{target: "web-a", want: "web-a"},
		{target: "deployment/web", want: "web-b"},
		{target: "deploy/web", choice: ChooseLogs, want: "web-a"},
		{target: "sts/web", want: "web-b"},
		{target: "ds/web", want: "web-b"},
		{target: "rs/web", want: "web-b"},
		{target: "job/web", choice: ChooseLogs, want: "web-a"},
		{selector: "app=web", want: "web-b"},
		{selector: "app in (other)", want: "other"},
		{target: "deployment/idle", err: "deployment/idle in prod has no pods (selector app=idle)"},
		{target: "deployment/gone", err: `reading deployment/gone in prod: deployments.apps "gone" not found`},
		{selector: "app=none", err: "no pods in prod match selector app=none"},
	}
	for _, tc := range tests {
		t.Run(tc.target+tc.selector, func(t *testing.T) {
			pt := PodTarget{Selector: tc.selector}
			if tc.target != "" {
				var err error
				if pt, err = ParsePodTarget(tc.target); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ResolvePod(ctx, cs, "prod", pt, tc.choice)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("got %+v, %v; want %s", got, err, tc.want)
			}
			if pt.IsPod() != (got.Pod == nil) || pt.IsPod() != (got.From == "") {
				t.Errorf("pod %v and from %q for %s", got.Pod != nil, got.From, pt)
			}
			if !pt.IsPod() && pt.Selector == "" && (got.Workload == nil || got.Workload.Name != pt.Name || got.Selector != "app=web") {
				t.Errorf("workload %+v, selector %q", got.Workload, got.Selector)
			}
		})
	}
	_, err := ResolvePod(ctx, cs, "prod", PodTarget{Selector: "app=none"}, ChooseAttach)
	if !errors.Is(err, ErrNoPods) {
		t.Errorf("%v is not ErrNoPods", err)
	}
}

func TestPlaceholderPod(t *testing.T) {
	p := PlaceholderPod("prod", "web-0", "app", "", "*", "app", "side")
	var names []string
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	want := "app side <other containers of web-0, if any, read at run time>"
	if strings.Join(names, " ") != want || p.Spec.Containers[0].Image != "<image of app in web-0, read at run time>" {
		t.Errorf("containers %q, image %q", names, p.Spec.Containers[0].Image)
	}
	if got := PlaceholderPod("prod", "web-0").Spec.Containers[0].Name; got != "<containers of web-0, read at run time>" {
		t.Errorf("alone: %q", got)
	}
}
