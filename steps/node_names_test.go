package steps

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kube-runbook/runbook/report"
)

// nodePodName runs a node step on node vm in env as a target of a fan-out
// for item (none when nil) and step stepID, and returns the pod it created.
func nodePodName(t *testing.T, env *testEnv, stepID string, item any) string {
	t.Helper()
	e := *env.Env
	sc := *env.Scope
	sc.Item = item
	e.Scope, e.StepID = &sc, stepID
	out := (&NodeStep{Name: tpl(t, "vm"), WaitFor: "Running", DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}).Run(testCtx(t), &e)
	if out.Err != nil {
		t.Fatalf("step %s, item %.40v: %v", stepID, item, out.Err)
	}
	for _, o := range out.Touched {
		if o.Kind == "Pod" && o.Action == report.ActionCreated {
			return o.Name
		}
	}
	t.Fatalf("step %s, item %.40v: no pod created (touched %v)", stepID, item, out.Touched)
	return ""
}

func nodeNamesEnv(t *testing.T) *testEnv {
	env := newTestEnv(t, []runtime.Object{node(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")})
	env.AllowPrivileged = true
	markPodsReady(env.kube)
	return env
}

// TestNodePodNamePerTarget: the targets of a forEach whose pods share a
// node (two replicas on one node, several commands on one node) each get a
// node pod of their own, named the same way in every run with that id.
func TestNodePodNamePerTarget(t *testing.T) {
	pod := func(name string) any {
		return ObjectMap(readyPod(name))
	}
	for _, items := range [][]any{
		{pod("db-0"), pod("slowdb-0")},
		{"df -h /host", "uptime", "cat /host/etc/hostname"},
		{1, 2, 3},
	} {
		env := nodeNamesEnv(t)
		seen := map[string]bool{}
		var names []string
		for _, item := range items {
			name := nodePodName(t, env, "s-1", item)
			if seen[name] {
				t.Errorf("items %.80v: two targets named node pod %s", items, name)
			}
			seen[name] = true
			names = append(names, name)
		}
		// The same run, step and targets name the same pods.
		again := nodeNamesEnv(t)
		for i, item := range items {
			if name := nodePodName(t, again, "s-1", item); name != names[i] {
				t.Errorf("item %.40v: node pod %s, then %s in a run with the same id", item, names[i], name)
			}
		}
	}
}

// TestNodePodNameSameItemTwice: two targets that are the same item derive
// the same name; the later one takes the next derived name.
func TestNodePodNameSameItemTwice(t *testing.T) {
	env := nodeNamesEnv(t)
	a := nodePodName(t, env, "s-1", "uptime")
	b := nodePodName(t, env, "s-1", "uptime")
	if a == b {
		t.Fatalf("both targets named node pod %s", a)
	}
	// The refused name is not the run's to delete.
	var tracked []string
	for _, o := range env.Tracker.Objects() {
		tracked = append(tracked, o.Name)
	}
	if len(tracked) != 2 || tracked[0] != a || tracked[1] != b {
		t.Errorf("tracked %v, want [%s %s]", tracked, a, b)
	}
}

// TestNodePodNameTwoSteps: two node steps of a run on one node name two
// pods, and a step that is no fan-out is named as its plan says.
func TestNodePodNameTwoSteps(t *testing.T) {
	env := nodeNamesEnv(t)
	a := nodePodName(t, env, "host-1", nil)
	b := nodePodName(t, env, "host-2", nil)
	if a == b {
		t.Fatalf("both steps named node pod %s", a)
	}
	p := testPlanner(t)
	p.RunID, p.StepID = env.RunID, "host-1"
	pl, err := (&NodeStep{Name: tpl(t, "vm"), WaitFor: "Running", DebugContainer: DebugContainer{Image: tpl(t, "busybox:1.36")}}).Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.Cleanup[0].Name; got != a {
		t.Errorf("plan --run-id names node pod %s, the run %s", got, a)
	}
}
