//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/report"
)

// nodesRunbook places node pods on the second node every way a node step
// can name a node (by name, by a pod on it, by a selector), copies a pod
// of each node with sameNode, and fans a node step out over every node.
// Each node pod reads /host/etc/hostname, which on every node of
// hack/cluster.sh holds that node's name, and asserts where it ran; the
// test checks the same from the JSON result.
const nodesRunbook = `apiVersion: runbook/v1alpha1
kind: Runbook
metadata: {name: e2e-nodes}
spec:
  timeout: 4m
  allowPrivileged: true
  vars: {node1: "", node2: ""}
  steps:
  - id: byName
    name: A node pod on the second node, by its name
    node: {name: "${{ vars.node2 }}", image: "busybox:1.36", command: [cat, /host/etc/hostname]}
    assert: ['pod.spec.nodeName == vars.node2', 'node.metadata.name == vars.node2', 'trim(stdout) == vars.node2']
  - id: byPod2
    name: A node pod on the node of a pod of the second node
    node: {pod: on-2, image: "busybox:1.36", command: [cat, /host/etc/hostname]}
    assert: ['pod.spec.nodeName == vars.node2', 'trim(stdout) == vars.node2']
  - id: byPod1
    name: A node pod on the node of a pod of the first node
    node: {pod: on-1, image: "busybox:1.36", command: [cat, /host/etc/hostname]}
    assert: ['pod.spec.nodeName == vars.node1', 'trim(stdout) == vars.node1']
  - id: bySelector
    name: A node pod on the node the selector matches
    node: {selector: "kubernetes.io/hostname=${{ vars.node2 }}", image: "busybox:1.36", command: [cat, /host/etc/hostname]}
    assert: ['pod.spec.nodeName == vars.node2', 'trim(stdout) == vars.node2']
  - id: same2
    name: A copy of the second node's pod on its node
    copy: {pod: on-2, to: on-2-copy, sameNode: true, container: app, command: [sleep, "3600"], waitFor: Running}
    assert: ['pod.spec.nodeName == vars.node2']
  - id: same1
    name: A copy of the first node's pod on its node
    copy: {pod: on-1, to: on-1-copy, sameNode: true, container: app, command: [sleep, "3600"], waitFor: Running}
    assert: ['pod.spec.nodeName == vars.node1']
  - id: fanout
    name: A node pod on every node
    forEach: {nodes: {selector: kubernetes.io/os=linux}, concurrency: 2}
    node: {name: "${{ item.metadata.name }}", image: "busybox:1.36", command: [cat, /host/etc/hostname]}
    assert: ['pod.spec.nodeName == item.metadata.name', 'trim(stdout) == item.metadata.name']
`

// pinnedPod is a busybox pod bound to node by spec.nodeName (the
// scheduler does not choose), which a copy keeps only with sameNode.
func pinnedPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers:                    []corev1.Container{{Name: "app", Image: busyboxImage, Command: []string{"sleep", "3600"}}},
		},
	}
}

// TestNodes needs a cluster of two nodes or more (NODES=2 make e2e): node
// steps by name, by pod and by selector land on the node they name, sameNode
// copies on their original's node, and a fan-out over nodes covers every
// node, each node pod reading its own node's /etc/hostname.
func TestNodes(t *testing.T) {
	c := connect(t)
	nodes := c.nodeNames(t)
	if len(nodes) < 2 {
		t.Fatalf("the cluster has %d node(s) %v; this test needs two: bring it up with NODES=2", len(nodes), nodes)
	}
	// hack/cluster.sh names node 1 after the host and node I NAME-I, which
	// sorts after it.
	node1, node2 := nodes[0], nodes[1]
	ns := c.newNamespace(t, "e2e-nodes-")
	createReadyPods(t, c, ns, pinnedPod("on-1", node1), pinnedPod("on-2", node2))

	file := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := os.WriteFile(file, []byte(nodesRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newReportPaths(t)
	run := runCLI(t, append([]string{"run", "-n", ns, "--var", "node1=" + node1, "--var", "node2=" + node2, file}, p.flags()...)...)
	res := readResult(t, p.json)
	defer c.assertNoneLeft(t, res.RunID)
	if run.code != 0 || res.Verdict != report.VerdictPassed {
		t.Fatalf("verdict %q:%s\n%s", res.Verdict, describeSteps(res), run)
	}

	want := map[string]string{"byName": node2, "byPod2": node2, "byPod1": node1, "bySelector": node2}
	for id, node := range want {
		s := stepByID(t, res, id)
		if got := strings.TrimSpace(s.Stdout); got != node {
			t.Errorf("step %s read /host/etc/hostname %q, want %q", id, got, node)
		}
		if s.Target != "node "+node {
			t.Errorf("step %s: target %q, want %q", id, s.Target, "node "+node)
		}
	}
	for id, orig := range map[string]string{"same1": "on-1", "same2": "on-2"} {
		s := stepByID(t, res, id)
		if !strings.Contains(s.Command, "--same-node") || !strings.Contains(s.Command, orig) {
			t.Errorf("step %s: kubectl line %q, want a --same-node copy of %s", id, s.Command, orig)
		}
	}

	fan := stepByID(t, res, "fanout")
	var covered []string
	for _, target := range fan.Targets {
		if target.Status != report.StatusPassed {
			t.Errorf("fan-out target %s: %s (%s)", target.Target, target.Status, target.Error)
		}
		covered = append(covered, strings.TrimSpace(target.Stdout))
	}
	slices.Sort(covered)
	if !slices.Equal(covered, nodes) {
		t.Errorf("the fan-out's node pods read the hostnames %v, want every node %v", covered, nodes)
	}
}
