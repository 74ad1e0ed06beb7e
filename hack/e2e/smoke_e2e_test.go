//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The images of the local cluster (hack/cluster.sh). busybox:1.36 is
// Debian's BusyBox 1.35 tagged 1.36 so the seed's commands run unchanged.
const (
	pauseImage   = "registry.k8s.io/pause:3.10.2"
	busyboxImage = "busybox:1.36"
)

// psLine is one process of `ps -ef` as BusyBox prints it (PID USER
// [TIME] COMMAND): the columns the seed's checks read.
type psLine struct {
	PID     string
	User    string
	Command string
}

// parsePS reads the output of BusyBox's `ps -ef`, skipping the header.
// BusyBox 1.35 prints PID USER COMMAND; 1.36 adds TIME, which is dropped.
func parsePS(out string) []psLine {
	var lines []psLine
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[0] == "PID" {
			continue
		}
		cmd := f[2:]
		if len(f) > 3 && strings.Count(f[2], ":") == 1 && strings.Trim(f[2], "0123456789:") == "" {
			cmd = f[3:]
		}
		lines = append(lines, psLine{PID: f[0], User: f[1], Command: strings.Join(cmd, " ")})
	}
	return lines
}

// byCommand returns the processes whose command is cmd.
func byCommand(lines []psLine, cmd string) []psLine {
	var out []psLine
	for _, l := range lines {
		if l.Command == cmd {
			out = append(out, l)
		}
	}
	return out
}

func TestSmokeParsePS(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []psLine
	}{
		{
			name: "busybox 1.35 without TIME",
			out:  "PID   USER     COMMAND\n    1 65535    /pause\n    7 root     ps -ef\n",
			want: []psLine{{"1", "65535", "/pause"}, {"7", "root", "ps -ef"}},
		},
		{
			name: "busybox 1.36 with TIME, as in the seed",
			out:  "PID USER TIME COMMAND\n1 65535 0:00 /pause\n13 root 0:00 sleep 3600\n",
			want: []psLine{{"1", "65535", "/pause"}, {"13", "root", "sleep 3600"}},
		},
		{name: "empty", out: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parsePS(tt.out)); diff != "" {
				t.Errorf("parsePS() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSmokeSeedModes reproduces the seed's three modes of kubectl debug by
// hand with client-go on the local cluster and checks the outputs the seed
// shows: the ephemeral container with --target sees `1 65535 /pause`, the
// copy with shared processes sees two /pause processes and its sleep, and
// the node debug pod reads the node's name from /host/etc/hostname.
func TestSmokeSeedModes(t *testing.T) {
	c := connect(t)
	ns := c.newNamespace(t, "runbook-smoke-")
	ctx := t.Context()

	_, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "noshell"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: pauseImage}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod noshell: %v", err)
	}
	if _, err := c.waitForPod(ctx, ns, "noshell", podReady); err != nil {
		t.Fatalf("waiting for noshell to be Ready: %v", err)
	}

	t.Run("ephemeral container with target", func(t *testing.T) {
		patch, err := json.Marshal(map[string]any{
			"spec": map[string]any{
				"ephemeralContainers": []map[string]any{{
					"name":                "debugger",
					"image":               busyboxImage,
					"targetContainerName": "app",
					"command":             []string{"ps", "-ef"},
				}},
			},
		})
		if err != nil {
			t.Fatalf("encoding the patch: %v", err)
		}
		_, err = c.client.CoreV1().Pods(ns).Patch(ctx, "noshell", types.StrategicMergePatchType, patch,
			metav1.PatchOptions{}, "ephemeralcontainers")
		if err != nil {
			t.Fatalf("patching ephemeralcontainers: %v", err)
		}
		pod, err := c.waitForPod(ctx, ns, "noshell", ephemeralTerminated("debugger"))
		if err != nil {
			t.Fatalf("waiting for the debugger to terminate: %v", err)
		}
		out, err := c.logs(ctx, ns, "noshell", "debugger")
		if err != nil {
			t.Fatal(err)
		}
		pauses := byCommand(parsePS(out), "/pause")
		if diff := cmp.Diff([]psLine{{"1", "65535", "/pause"}}, pauses); diff != "" {
			t.Errorf("/pause processes seen by the debugger (-want +got):\n%s\nps -ef:\n%s", diff, out)
		}
		var spec []string
		for _, e := range pod.Spec.EphemeralContainers {
			spec = append(spec, "name="+e.Name+" image="+e.Image+" target="+e.TargetContainerName)
		}
		if diff := cmp.Diff([]string{"name=debugger image=busybox:1.36 target=app"}, spec); diff != "" {
			t.Errorf("spec.ephemeralContainers (-want +got):\n%s", diff)
		}
		for _, s := range pod.Status.EphemeralContainerStatuses {
			if s.Name == "debugger" && (s.State.Terminated.ExitCode != 0 || s.State.Terminated.Reason != "Completed") {
				t.Errorf("debugger terminated with %s exit %d, want Completed exit 0",
					s.State.Terminated.Reason, s.State.Terminated.ExitCode)
			}
		}
		if len(pod.Status.ContainerStatuses) != 1 || pod.Status.ContainerStatuses[0].RestartCount != 0 ||
			pod.Status.Phase != corev1.PodRunning {
			t.Errorf("app disturbed: phase %s, statuses %s", pod.Status.Phase, describeStatuses(pod))
		}
	})

	t.Run("copy with shared processes", func(t *testing.T) {
		share := true
		_, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "noshell-dbg"},
			Spec: corev1.PodSpec{
				ShareProcessNamespace: &share,
				Containers: []corev1.Container{
					{Name: "app", Image: pauseImage},
					{Name: "debugger", Image: busyboxImage, Command: []string{"sleep", "3600"}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating the copy: %v", err)
		}
		if _, err := c.waitForPod(ctx, ns, "noshell-dbg", podReady); err != nil {
			t.Fatalf("waiting for the copy to be Ready: %v", err)
		}
		out, stderr, err := c.exec(ctx, ns, "noshell-dbg", "debugger", []string{"ps", "-ef"})
		if err != nil {
			t.Fatalf("%v (stderr %q)", err, stderr)
		}
		lines := parsePS(out)
		var pauses []string
		for _, l := range byCommand(lines, "/pause") {
			pauses = append(pauses, l.User+" "+l.Command)
		}
		if diff := cmp.Diff([]string{"65535 /pause", "65535 /pause"}, pauses); diff != "" {
			t.Errorf("/pause processes in the copy (-want +got):\n%s\nps -ef:\n%s", diff, out)
		}
		if !slices.ContainsFunc(lines, func(l psLine) bool { return l.PID == "1" && l.Command == "/pause" }) {
			t.Errorf("PID 1 is not the sandbox's /pause:\n%s", out)
		}
		if len(byCommand(lines, "sleep 3600")) != 1 {
			t.Errorf("want one `sleep 3600`:\n%s", out)
		}
	})

	t.Run("node debug pod reads /host/etc/hostname", func(t *testing.T) {
		nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing nodes: %v", err)
		}
		if len(nodes.Items) == 0 {
			t.Fatal("the cluster has no node")
		}
		// Node 1 of hack/cluster.sh is named after this host's /etc/hostname;
		// further nodes ("NAME-2", ...) sort after it.
		names := make([]string, 0, len(nodes.Items))
		for _, n := range nodes.Items {
			names = append(names, n.Name)
		}
		slices.Sort(names)
		node := names[0]

		pod, err := c.client.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "node-debugger-" + node + "-"},
			Spec: corev1.PodSpec{
				NodeName:      node,
				HostPID:       true,
				HostNetwork:   true,
				HostIPC:       true,
				RestartPolicy: corev1.RestartPolicyNever,
				Tolerations:   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{
					Name:         "nodedbg",
					Image:        busyboxImage,
					Command:      []string{"cat", "/host/etc/hostname"},
					VolumeMounts: []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}},
				}},
				Volumes: []corev1.Volume{{
					Name:         "host-root",
					VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
				}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating the node debug pod: %v", err)
		}
		if _, err := c.waitForPod(ctx, ns, pod.Name, podSucceeded); err != nil {
			t.Fatalf("waiting for the node debug pod to succeed: %v", err)
		}
		out, err := c.logs(ctx, ns, pod.Name, "nodedbg")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out); got != node {
			t.Errorf("/host/etc/hostname = %q, want the node's name %q", got, node)
		}
	})
}
