package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/report"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"none", nil, Summary{}},
		{"one", []float64{2.5}, Summary{Median: 2.5, Min: 2.5, Max: 2.5, N: 1}},
		{"odd, unsorted", []float64{9, 1, 5}, Summary{Median: 5, Min: 1, Max: 9, N: 3}},
		{"even: mean of the middle two", []float64{4, 1, 3, 10}, Summary{Median: 3.5, Min: 1, Max: 10, N: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if diff := cmp.Diff(tt.want, Summarize(in)); diff != "" {
				t.Errorf("Summarize(%v) (-want +got):\n%s", tt.in, diff)
			}
			if diff := cmp.Diff(tt.in, in); diff != "" {
				t.Errorf("Summarize changed its input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerbs(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]int64
		want string
	}{
		{"none", nil, ""},
		{"sorted by verb and resource", map[string]int64{"POST pods": 3, "GET /version": 1, "GET pods": 2}, "GET /version=1 GET pods=2 POST pods=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verbs(tt.in); got != tt.want {
				t.Errorf("Verbs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCountRequests(t *testing.T) {
	tests := []struct {
		name, log string
		want      int
	}{
		{"kubectl v1.32", `I1124 23:11:36.055384    3794 round_trippers.go:560] GET https://10.199.0.2:6443/api/v1/namespaces/b/pods/noshell 404 Not Found in 2 milliseconds
I1124 23:11:36.064583    3794 round_trippers.go:560] POST https://10.199.0.2:6443/api/v1/namespaces/b/pods?fieldManager=kubectl-client-side-apply 201 Created in 7 milliseconds
pod/noshell created
I1124 23:11:36.064789    3794 apply.go:548] Running apply post-processor function
`, 2},
		{"kubectl v1.33", `I1124 23:10:54.199514    1581 loader.go:402] Config loaded from file:  /k
I1124 23:10:54.209506    1581 round_trippers.go:632] "Response" verb="GET" url="https://10.199.0.2:6443/api/v1/namespaces?limit=500" status="200 OK" milliseconds=4
`, 1},
		{"watch and exec upgrade count once each", `I1124 23:11:36.137596    3800 round_trippers.go:560] GET https://h/api/v1/namespaces/b/pods?watch=true 200 OK in 0 milliseconds
I1124 23:11:36.647329    3800 reflector.go:319] Stopping reflector *unstructured.Unstructured (0s) from k8s.io/client-go/tools/watch/informerwatcher.go:146
I1124 23:11:39.727389    4152 round_trippers.go:560] GET https://h/api/v1/namespaces/b/pods/x/exec?command=ps 101 Switching Protocols in 2 milliseconds
I1124 23:11:39.727410    4152 websocket.go:133] The subprotocol is v5.channel.k8s.io
`, 2},
		{"command output only", "PID   USER     COMMAND\n    1 65535    /pause\n# step exec 1795561899.776135170\n", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CountRequests(strings.NewReader(tt.log))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("CountRequests = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPhases(t *testing.T) {
	tests := []struct {
		name, log string
		want      []Phase
	}{
		{"marks between output", "# step start 100.000\nI... round_trippers.go:560] GET https://h/x 200 OK\n# step apply 100.250\npod/noshell created\n# step wait-ready 101.000\n",
			[]Phase{{"apply", 250 * time.Millisecond}, {"wait-ready", 750 * time.Millisecond}}},
		{"start only", "# step start 100.0\n", nil},
		{"no marks", "nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Phases(strings.NewReader(tt.log))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Phases (-want +got):\n%s", diff)
			}
		})
	}
}

// at returns 2026-01-02T03:04:SEC UTC plus ms milliseconds.
func at(sec, ms int) time.Time {
	return time.Date(2026, 1, 2, 3, 4, sec, ms*int(time.Millisecond), time.UTC)
}

func mt(sec int) metav1.Time { return metav1.NewTime(at(sec, 0)) }

func kubeletWrote(sec int) []metav1.ManagedFieldsEntry {
	t := mt(sec)
	return []metav1.ManagedFieldsEntry{{Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: &t}}
}

func TestFloor(t *testing.T) {
	app := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "noshell", ManagedFields: kubeletWrote(13)},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: mt(11)}},
			EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "debugger", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{StartedAt: mt(12), FinishedAt: mt(12)}}}},
		},
	}
	nodePod := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "node-debugger-vm-x", ManagedFields: kubeletWrote(17)},
		Status: corev1.PodStatus{
			Phase: corev1.PodSucceeded,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "debugger", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{StartedAt: mt(15), FinishedAt: mt(15)}}}},
		},
	}
	pod := func(name, action string) []report.ObjectRef {
		return []report.ObjectRef{{Kind: "Pod", Namespace: "ns", Name: name, Action: action}}
	}
	res := &report.Result{
		Duration: report.Seconds(8 * time.Second),
		Steps: []report.StepResult{
			{Name: "create", Kind: "apply", StartedAt: at(10, 500), FinishedAt: at(11, 800), Duration: report.Seconds(1300 * time.Millisecond), Objects: pod("noshell", report.ActionCreated)},
			{Name: "exec", Kind: "exec", StartedAt: at(11, 800), FinishedAt: at(11, 850), Objects: pod("noshell", "exec")},
			{Name: "debug", Kind: "debug", StartedAt: at(11, 850), FinishedAt: at(13, 900), Duration: report.Seconds(2050 * time.Millisecond), Objects: pod("noshell", report.ActionPatched)},
			{Name: "skipped", Kind: "node", Status: report.StatusSkipped},
			{Name: "node", Kind: "node", StartedAt: at(14, 0), FinishedAt: at(17, 400), Duration: report.Seconds(3400 * time.Millisecond),
				Objects: append([]report.ObjectRef{{Kind: "Node", Name: "vm", Action: report.ActionRead}}, pod("node-debugger-vm-x", report.ActionCreated)...)},
		},
	}
	got, err := Floor(res, []corev1.Pod{app, nodePod})
	if err != nil {
		t.Fatal(err)
	}
	want := &FloorResult{
		Segments: []Segment{
			{Step: "create", Pod: "noshell", What: "pod Ready", Start: at(10, 500), Ran: at(11, 0), Reported: at(11, 0), Seen: at(11, 800), StepDuration: 1300 * time.Millisecond},
			{Step: "debug", Pod: "noshell", What: "ephemeral container finished", Start: at(11, 850), Ran: at(12, 0), Reported: at(13, 0), Seen: at(13, 900), StepDuration: 2050 * time.Millisecond},
			{Step: "node", Pod: "node-debugger-vm-x", What: "pod Succeeded", Start: at(14, 0), Ran: at(15, 0), Reported: at(17, 0), Seen: at(17, 400), StepDuration: 3400 * time.Millisecond},
		},
		Wall: 8 * time.Second,
		// ran: [0.5, 1.3] + [0.15, 1.15] + [1, 2]
		Ran: Bounds{Low: 1650 * time.Millisecond, High: 4450 * time.Millisecond},
		// reported: [0.5, 1.3] + [1.15, 2.05] + [3, 3.4]
		Reported: Bounds{Low: 4650 * time.Millisecond, High: 6750 * time.Millisecond},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Floor (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := got.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if line := "FLOOR 8.000 1.650 4.450 4.650 6.750\n"; !strings.HasSuffix(buf.String(), line) {
		t.Errorf("Write ends with %q, want %q", buf.String()[strings.LastIndex(strings.TrimSuffix(buf.String(), "\n"), "\n")+1:], line)
	}
}

func TestFloorWithoutPods(t *testing.T) {
	res := &report.Result{Steps: []report.StepResult{{Name: "create", Kind: "apply", StartedAt: at(10, 0),
		Objects: []report.ObjectRef{{Kind: "Pod", Namespace: "ns", Name: "gone", Action: report.ActionCreated}}}}}
	_, err := Floor(res, nil)
	want := "floor: no pod of the result waited for the kubelet (was the run kept with --keep?)"
	if err == nil || err.Error() != want {
		t.Errorf("Floor error = %v, want %q", err, want)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, usage},
		{"unknown command", []string{"plot"}, usage},
		{"stats without values", []string{"stats"}, usage},
		{"stats of a word", []string{"stats", "1", "x"}, `stats: "x" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, &bytes.Buffer{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("run(%q) error = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	if err := run([]string{"stats", "3", "1", "2"}, &buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "2.000 1.000 3.000 3\n"; got != want {
		t.Errorf("stats printed %q, want %q", got, want)
	}
}
