package steps

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kube-runbook/runbook/runbook/expression"
)

// fakeWatch makes a fake client answer watches of resource with a watcher
// the test drives; started is closed when the first watch begins.
func fakeWatch(f interface {
	PrependWatchReactor(string, k8stesting.WatchReactionFunc)
}, resource string) (*watch.FakeWatcher, <-chan struct{}) {
	w := watch.NewFake()
	started := make(chan struct{})
	var once sync.Once
	f.PrependWatchReactor(resource, func(k8stesting.Action) (bool, watch.Interface, error) {
		once.Do(func() { close(started) })
		return true, w, nil
	})
	return w, started
}

func TestWaitRunPodByWatch(t *testing.T) {
	pending := readyPod("web")
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	env := newTestEnv(t, []runtime.Object{pending})
	w, started := fakeWatch(env.kube, "pods")
	// Until the pod has container statuses the expression fails to
	// evaluate: that must count as false, not end the wait.
	s := &WaitStep{Kind: "Pod", Name: tpl(t, "${{ vars.name }}"), For: cond(t, `object.status.containerStatuses[0].ready == true`)}
	done := make(chan *Outcome)
	go func() { done <- s.Run(testCtx(t), env.Env) }()
	<-started
	running := readyPod("web")
	running.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true}}
	w.Modify(running)
	out := <-done
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	want := &Outcome{Target: "pod default/web", Kubectl: "kubectl wait pod/web -n default '--for=jsonpath={.status.containerStatuses[0].ready}=true'",
		Touched: []ObjectRef{{Kind: "Pod", Namespace: "default", Name: "web", Action: "read"}}}
	if out.Object["status"].(map[string]any)["phase"] != "Running" {
		t.Errorf("object is not the pod the watch saw last: %v", out.Object["status"])
	}
	got := *out
	got.Object = nil
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
}

func TestWaitRunObject(t *testing.T) {
	dep := unstr(t, &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Status: appsv1.DeploymentStatus{ReadyReplicas: 2}})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		spec    *WaitStep
		wantErr string
	}{
		{"holds", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, "object.status.readyReplicas == 2")}, ""},
		{"missing", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "nope"), For: cond(t, "true")},
			"deployments.apps default/nope was deleted or does not exist"},
		{"ended", cancelled, &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, "false")},
			"waiting for deployments.apps default/web: context canceled"},
		{"there, waitForCreate", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: cond(t, "object.status.readyReplicas == 2"), WaitForCreate: true}, ""},
		{"not compiled", context.Background(), &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "web"), For: expression.NewExpr("true")},
			`for "true" was not compiled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil, dep.DeepCopy())
			ctx, cancel := context.WithTimeout(tt.ctx, time.Minute)
			defer cancel()
			out := tt.spec.Run(ctx, env.Env)
			if tt.wantErr != "" {
				if out.Err == nil || !strings.HasPrefix(out.Err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %s...", out.Err, tt.wantErr)
				}
				return
			}
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			if out.Object["metadata"].(map[string]any)["name"] != "web" {
				t.Errorf("object = %v", out.Object)
			}
		})
	}
}

// TestWaitRunPodEnded checks that a wait on a pod that has ended (Failed,
// Succeeded) and does not meet `for` fails at once with how it ended
// (OOMKilled and its exit code), rather than at the step's timeout: an ended
// pod's status never changes again. A `for` that the ended pod meets holds.
func TestWaitRunPodEnded(t *testing.T) {
	oom := readyPod("oom")
	oom.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}}
	done := readyPod("done")
	done.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}}
	tests := []struct {
		pod, for_, wantErr string
	}{
		{"oom", `object.status.phase == "Running"`, `pod default/oom: container "app": Failed: exit code 137 (OOMKilled)`},
		{"oom", `object.status.phase == "Failed"`, ""},
		{"done", `object.status.phase == "Running"`, "pod default/done: Succeeded: pod completed; its status no longer changes"},
		{"done", `object.status.phase == "Succeeded"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.pod+" "+tt.for_, func(t *testing.T) {
			env := newTestEnv(t, []runtime.Object{oom, done})
			s := &WaitStep{Kind: "Pod", Name: tpl(t, tt.pod), For: cond(t, tt.for_)}
			out := s.Run(testCtx(t), env.Env)
			got := ""
			if out.Err != nil {
				got = out.Err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestWaitRunPodRecreated checks that a wait on a pod that is deleted while
// waiting goes on with the pod created again under its name when its
// StatefulSet does that, or when waitForCreate says so, and says so in a
// warning; that a pod whose replacement gets another name still fails at
// once; and that waitForCreate waits for a pod missing at the start.
func TestWaitRunPodRecreated(t *testing.T) {
	deleting := func(name string, controller *metav1.OwnerReference) *corev1.Pod {
		p := readyPod(name)
		p.UID, p.ResourceVersion = "old", "10"
		p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		if controller != nil {
			p.OwnerReferences = []metav1.OwnerReference{*controller}
		}
		return p
	}
	yes := true
	sts := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web", UID: "sts", Controller: &yes}
	rs := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d4f8", UID: "rs", Controller: &yes}
	mirror := &metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: "vm", UID: "node", Controller: &yes}
	again := func(name string) *corev1.Pod {
		p := readyPod(name)
		p.UID, p.ResourceVersion = "new", "20"
		p.OwnerReferences = []metav1.OwnerReference{*sts}
		return p
	}
	ready := `object.status.conditions[0].status == "True"`
	tests := []struct {
		name          string
		typed         []runtime.Object // what the shared pod watch sees
		dynamic       []runtime.Object // what the wait for the new pod sees
		waitForCreate bool
		wantErr       string
		wantWarning   string
	}{
		{
			name: "StatefulSet", typed: []runtime.Object{deleting("web-0", sts)}, dynamic: []runtime.Object{again("web-0")},
			wantWarning: "pod default/web-0 (UID old) was deleted while waiting; the wait went on with the pod created again under its name by StatefulSet web (UID new)",
		},
		{
			name: "static pod's mirror", typed: []runtime.Object{deleting("web-0", mirror)}, dynamic: []runtime.Object{again("web-0")},
			wantWarning: "pod default/web-0 (UID old) was deleted while waiting; the wait went on with the pod created again under its name by the kubelet of node vm (a static pod's mirror) (UID new)",
		},
		{
			name: "ReplicaSet", typed: []runtime.Object{deleting("web-0", rs)}, dynamic: []runtime.Object{again("web-0")},
			wantErr: "pod default/web-0 is being deleted (its controller: ReplicaSet web-5d4f8)",
		},
		{
			name: "ReplicaSet with waitForCreate", typed: []runtime.Object{deleting("web-0", rs)}, dynamic: []runtime.Object{again("web-0")}, waitForCreate: true,
			wantWarning: "pod default/web-0 (UID old) was deleted while waiting; the wait went on with the pod created again under its name (UID new)",
		},
		{name: "missing", dynamic: []runtime.Object{again("web-0")}, wantErr: "pod default/web-0 was deleted or does not exist"},
		{name: "missing with waitForCreate", dynamic: []runtime.Object{again("web-0")}, waitForCreate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.typed, tt.dynamic...)
			s := &WaitStep{Kind: "Pod", Name: tpl(t, "web-0"), For: cond(t, ready), WaitForCreate: tt.waitForCreate}
			out := s.Run(testCtx(t), env.Env)
			if got := errString(out.Err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if tt.wantErr != "" {
				return
			}
			if uid := out.Object["metadata"].(map[string]any)["uid"]; uid != "new" {
				t.Errorf("object's UID = %v, want the new pod's", uid)
			}
			var want []string
			if tt.wantWarning != "" {
				want = []string{tt.wantWarning}
			}
			if diff := cmp.Diff(want, out.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWaitRunObjectWaitForCreate checks that waitForCreate waits for an
// object that does not exist, until the step's time is up, and that the
// error then says both what was missing and what the wait last saw.
func TestWaitRunObjectWaitForCreate(t *testing.T) {
	env := newTestEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s := &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "nope"), For: cond(t, "true"), WaitForCreate: true}
	out := s.Run(ctx, env.Env)
	want := "deployments.apps default/nope was deleted or does not exist; waiting for deployments.apps default/nope: context deadline exceeded (last seen: no object of that name)"
	if got := errString(out.Err); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if want := "kubectl wait deployments.apps/nope -n default --for=create && kubectl get deployments.apps nope -n default --watch -o json  # until true"; out.Kubectl != want {
		t.Errorf("kubectl = %q, want %q", out.Kubectl, want)
	}
}

// TestWaitDeleted checks deleted: true, kubectl wait --for=delete: it waits
// while the pod is being deleted, ends when the watch sees it deleted, and
// is no error for an object that does not exist; it excludes for and
// waitForCreate.
func TestWaitDeleted(t *testing.T) {
	t.Run("pod", func(t *testing.T) {
		pod := readyPod("web")
		pod.ResourceVersion = "10"
		pod.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		env := newTestEnv(t, []runtime.Object{pod})
		w, started := fakeWatch(env.kube, "pods")
		s := &WaitStep{Kind: "Pod", Name: tpl(t, "web"), Deleted: true}
		done := make(chan *Outcome)
		go func() { done <- s.Run(testCtx(t), env.Env) }()
		<-started
		stopping := pod.DeepCopy()
		stopping.ResourceVersion = "11"
		w.Modify(stopping)
		select {
		case out := <-done:
			t.Fatalf("the wait ended while the pod was being deleted: %+v", out)
		case <-time.After(200 * time.Millisecond):
		}
		gone := stopping.DeepCopy()
		gone.ResourceVersion = "12"
		w.Delete(gone)
		out := <-done
		if out.Err != nil {
			t.Fatal(out.Err)
		}
		if want := "kubectl wait pod/web -n default --for=delete"; out.Kubectl != want {
			t.Errorf("kubectl = %q, want %q", out.Kubectl, want)
		}
	})
	t.Run("no such deployment", func(t *testing.T) {
		env := newTestEnv(t, nil)
		s := &WaitStep{APIVersion: "apps/v1", Kind: "Deployment", Name: tpl(t, "nope"), Deleted: true}
		if out := s.Run(testCtx(t), env.Env); out.Err != nil {
			t.Fatal(out.Err)
		}
	})
	t.Run("check", func(t *testing.T) {
		for _, tt := range []struct {
			step *WaitStep
			want string
		}{
			{&WaitStep{Kind: "Pod", Name: tpl(t, "web"), Deleted: true, For: cond(t, "true")}, "deleted and for exclude each other"},
			{&WaitStep{Kind: "Pod", Name: tpl(t, "web"), Deleted: true, WaitForCreate: true}, "deleted and waitForCreate exclude each other"},
			{&WaitStep{Kind: "Pod", Name: tpl(t, "web")}, "for is required"},
			{&WaitStep{Kind: "Pod", Name: tpl(t, "web"), Deleted: true}, ""},
		} {
			var got string
			if errs := tt.step.Check(nil); len(errs) > 0 {
				got = errs[0].Field + ": " + errs[0].Message
			}
			if !strings.Contains(got, tt.want) || (tt.want == "") != (got == "") {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
		}
	})
}

// kubectlReadsJSONPath reads the value of --for=jsonpath=INPUT as kubectl
// v0.37 does (pkg/cmd/wait processJSONPathInput and splitJSONPathInput, not
// importable here: they are unexported): split on each single "=" ("=="
// is kept), a value that is empty or a third part refused, quotes trimmed
// off the value's ends; compareResults then trims spaces.
func kubectlReadsJSONPath(input string) (string, error) {
	var parts []string
	var part strings.Builder
	for i := 0; i < len(input); i++ {
		if input[i] == '=' {
			if i < len(input)-1 && input[i+1] == '=' {
				part.WriteString("==")
				i++
				continue
			}
			parts = append(parts, part.String())
			part.Reset()
			continue
		}
		part.WriteByte(input[i])
	}
	parts = append(parts, part.String())
	switch {
	case len(parts) > 2:
		return "", errors.New("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3")
	case len(parts) < 2:
		return "", errors.New("no value: kubectl would wait for any")
	}
	value := strings.Trim(parts[1], `'"`)
	if value == "" {
		return "", errors.New("jsonpath wait has to have a value after equal sign")
	}
	return strings.TrimSpace(value), nil
}

// TestWaitKubectlJSONPath checks the kubectl line of a wait: an equality
// with a literal becomes --for=jsonpath only when kubectl reads the value
// back as the expression has it; an empty value, or one with "=", or one
// kubectl would trim, falls back to the watch line (kubectl refuses or
// changes them).
func TestWaitKubectlJSONPath(t *testing.T) {
	const watch = "kubectl get pod web -n default --watch -o json  # until "
	tests := []struct {
		expr, path, value string // value "": the watch line
	}{
		{`object.status.phase == "Running"`, ".status.phase", "Running"},
		{`object.status.phase == 'Running'`, ".status.phase", "Running"},
		{`object.status.phase == "Run ning"`, ".status.phase", "Run ning"},
		{`object.status.containerStatuses[0].restartCount == 0`, ".status.containerStatuses[0].restartCount", "0"},
		{`object.status.containerStatuses[0].ready == true`, ".status.containerStatuses[0].ready", "true"},
		{`object.status.phase == "a}b"`, ".status.phase", "a}b"},
		{`object.status.podIP == ""`, "", ""},
		{`object.status.phase == ''`, "", ""},
		{`object.status.phase == "a=b"`, "", ""},
		{`object.status.phase == "a==b"`, "", ""},
		{`object.status.phase == "="`, "", ""},
		{`object.status.phase == "'a'"`, "", ""},
		{`object.status.phase == '"a"'`, "", ""},
		{`object.status.phase == " a"`, "", ""},
		{`object.status.phase == "a "`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s := &WaitStep{Kind: "Pod", Name: tpl(t, "web"), For: cond(t, tt.expr)}
			pl, err := s.Plan(testPlanner(t))
			if err != nil {
				t.Fatal(err)
			}
			if tt.value == "" {
				if pl.Kubectl != watch+tt.expr {
					t.Errorf("line %q, want %q: kubectl wait cannot say it", pl.Kubectl, watch+tt.expr)
				}
				return
			}
			flag := "--for=jsonpath={" + tt.path + "}=" + tt.value
			if want := "kubectl wait pod/web -n default " + shellQuote(flag); pl.Kubectl != want {
				t.Errorf("line %q, want %q", pl.Kubectl, want)
			}
			got, err := kubectlReadsJSONPath(strings.TrimPrefix(flag, "--for=jsonpath="))
			if err != nil || got != tt.value {
				t.Errorf("kubectl reads %q as %q, %v; want %q", flag, got, err, tt.value)
			}
		})
	}
}
