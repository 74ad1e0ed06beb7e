package steps

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kube-runbook/runbook/runbook"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/rest"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/report"
	"github.com/kube-runbook/runbook/runbook/expression"
)

func TestCpCheck(t *testing.T) {
	tests := []struct {
		name string
		spec CpStep
		want []string // fields with an error
	}{
		{"complete", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/etc/hostname"), To: tpl(t, "node/hostname"), MaxBytes: 1024}, nil},
		{"nothing", CpStep{}, []string{"pod", "path"}},
		{"relative path", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "etc/hostname")}, []string{"path"}},
		{"path /", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/")}, []string{"path"}},
		{"to climbs", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/x"), To: tpl(t, "../x")}, []string{"to"}},
		{"to absolute", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/x"), To: tpl(t, "/tmp/x")}, []string{"to"}},
		{"negative cap", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/x"), MaxBytes: -1}, []string{"maxBytes"}},
		{"cap over 1 GiB", CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/x"), MaxBytes: MaxCpBytes + 1}, []string{"maxBytes"}},
		{"expressions are checked at run time", CpStep{PodTarget: PodTarget{Pod: tpl(t, "${{ vars.name }}")},
			Path: tpl(t, "${{ vars.name }}"), To: tpl(t, "${{ vars.name }}")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.spec.Check(&runbook.CheckContext{}) {
				got = append(got, e.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields with errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCpPlan(t *testing.T) {
	s := &CpStep{PodTarget: PodTarget{Pod: tpl(t, "node-${{ vars.name }}")}, Container: tpl(t, "debugger"), Path: tpl(t, "/host/etc/hostname")}
	got, err := s.Plan(testPlanner(t))
	if err != nil {
		t.Fatal(err)
	}
	want := &Planned{
		Target:  "pod default/node-web",
		Kubectl: "kubectl cp default/node-web:/host/etc/hostname '<artifacts>/hostname' -c debugger",
		Calls: []Call{
			{Verb: "get", Resource: "pods", Namespace: "default", Name: "node-web",
				Note: "read the pod to choose and check the container (from the run's pod watch when it has it)"},
			{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "default", Name: "node-web",
				Body: map[string]any{"container": "debugger", "command": []string{"tar", "cf", "-", "-C", "/host/etc", "--", "hostname"}, "stdout": true, "stderr": true},
				Note: "tar streamed over WebSocket (SPDY as the fallback) into <artifacts>/hostname; at most 10485760 bytes"},
		},
		Notes: []string{"writes <artifacts>/hostname in the run's artifact directory (--artifacts); symlinks, hard links, devices and FIFOs are not copied"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	var api []kube.Call
	for _, c := range got.Calls {
		api = append(api, c.API())
	}
	rules := kube.RulesFor(api)
	wantRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create", "get"}}}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("RBAC (-want +got):\n%s", diff)
	}
	// A path from an expression that the plan cannot resolve still plans.
	s = &CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "${{ vars.name }}"), To: tpl(t, "f")}
	got, err = s.Plan(testPlanner(t))
	if err != nil || got.Calls[1].Body.(map[string]any)["command"].([]string)[4] != "<dir of web>" {
		t.Errorf("Plan with an expression path: %v %+v", err, got)
	}
}

func TestCpContainer(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	pod := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: corev1.PodSpec{
				InitContainers:      []corev1.Container{{Name: "init"}},
				Containers:          []corev1.Container{{Name: "app"}, {Name: "sidecar"}},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger"}}},
			},
			Status: corev1.PodStatus{
				InitContainerStatuses:      []corev1.ContainerStatus{{Name: "init", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}},
				ContainerStatuses:          []corev1.ContainerStatus{{Name: "app", State: running}, {Name: "sidecar", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}},
				EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "debugger", State: running}},
			},
		}
	}
	annotated := pod()
	annotated.Annotations = map[string]string{defaultContainerAnnotation: "sidecar"}
	tests := []struct {
		name, container string
		pod             *corev1.Pod
		want, wantErr   string
	}{
		{"the first container by default", "", pod(), "app", ""},
		{"an ephemeral container by name", "debugger", pod(), "debugger", ""},
		{"the default-container annotation", "", annotated, "", `container "sidecar" of pod default/web is not running (waiting: CrashLoopBackOff)`},
		{"no such container", "nope", pod(), "", `container nope is not valid for pod web out of: app, sidecar, debugger (ephem), init (init)`},
		{"a terminated container", "init", pod(), "", `container "init" of pod default/web is not running (terminated with exit code 0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := cpContainer(tt.pod, tt.container)
			if got != tt.want || !strings.Contains(errString(err), tt.wantErr) || (err == nil) != (tt.wantErr == "") {
				t.Errorf("cpContainer = %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCpError(t *testing.T) {
	a := cpArgs{ns: "default", pod: "noshell", container: "app", src: "/etc/app.conf"}
	err := cpError(fmt.Errorf("%w: exec: \"tar\": executable file not found in $PATH", kube.ErrNoTar), a)
	for _, want := range []string{`container "app" of pod default/noshell has no tar`, "target: app", "path: /proc/1/root/etc/app.conf", "executable file not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	err = cpError(fmt.Errorf("%w: /etc/app.conf", kube.ErrNoSuchPath), a)
	if !strings.HasPrefix(err.Error(), `/etc/app.conf does not exist in container "app" of pod default/noshell`) {
		t.Errorf("missing path: %q", err)
	}
	if cpError(nil, a) != nil {
		t.Error("no error became one")
	}
}

// cpServer is an API server with one pod and a kubelet that answers exec
// over SPDY with stdout, stderr and a status (the client falls back to
// SPDY because the server refuses WebSocket).
func cpServer(t *testing.T, pod *corev1.Pod, stdout, stderr string, status metav1.Status) *kube.Clients {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/default/pods/"+pod.Name:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(pod)
			return
		case r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/exec"):
			http.Error(w, "not here", http.StatusBadRequest)
			return
		}
		if _, err := httpstream.Handshake(r, w, []string{remotecommand.StreamProtocolV4Name}); err != nil {
			t.Errorf("handshake: %v", err)
			return
		}
		streams := make(chan httpstream.Stream, 3)
		conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, reply <-chan struct{}) error {
			go func() { <-reply; streams <- s }()
			return nil
		})
		if conn == nil {
			t.Error("upgrade failed")
			return
		}
		defer conn.Close()
		byType := map[string]httpstream.Stream{}
		for range 3 {
			s := <-streams
			byType[s.Headers().Get(corev1.StreamType)] = s
		}
		_, _ = io.WriteString(byType[corev1.StreamTypeStdout], stdout)
		byType[corev1.StreamTypeStdout].Close()
		_, _ = io.WriteString(byType[corev1.StreamTypeStderr], stderr)
		byType[corev1.StreamTypeStderr].Close()
		if status.Status != metav1.StatusSuccess {
			data, _ := json.Marshal(status)
			_, _ = byType[corev1.StreamTypeError].Write(data)
		}
		byType[corev1.StreamTypeError].Close()
	}))
	t.Cleanup(srv.Close)
	c, err := kube.NewClientsForConfig(&rest.Config{Host: srv.URL}, "default", "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cpTarball(t *testing.T, files map[string]string, order ...string) string {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, name := range order {
		h := &tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(files[name]))}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if strings.HasPrefix(files[name], "->") {
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, strings.TrimPrefix(files[name], "->")
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = io.WriteString(w, files[name])
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCpRun copies a directory from a fake cluster and checks the
// artifacts, their sources, the notes on stderr and the equivalent command.
func TestCpRun(t *testing.T) {
	pod := readyPod("web")
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	stream := cpTarball(t, map[string]string{"app/": "", "app/a.conf": "a=1\n", "app/bin": "\x7fELF\x00", "app/current": "->/etc/app/v2"},
		"app/", "app/a.conf", "app/bin", "app/current")
	c := cpServer(t, pod, stream, "", metav1.Status{Status: metav1.StatusSuccess})
	env := &Env{Clients: c, Namespace: "default", Scope: &expression.Scope{}, ArtifactDir: filepath.Join(t.TempDir(), "artifacts")}
	s := &CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, "/etc/app"), To: tpl(t, "config")}
	log := &kube.CallLog{}
	out := s.Run(kube.WithCallLog(testCtx(t), log), env)
	if out.Err != nil {
		t.Fatal(out.Err)
	}
	sum := func(s string) string { b := sha256.Sum256([]byte(s)); return hex.EncodeToString(b[:]) }
	want := []report.Artifact{
		{Path: "config/a.conf", Source: "pod default/web container app:/etc/app/a.conf", Size: 4, SHA256: sum("a=1\n"), Text: true, Content: "a=1\n"},
		{Path: "config/bin", Source: "pod default/web container app:/etc/app/bin", Size: 5, SHA256: sum("\x7fELF\x00")},
	}
	if diff := cmp.Diff(want, out.Artifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(env.ArtifactDir, "config", "a.conf")); err != nil || string(b) != "a=1\n" {
		t.Errorf("config/a.conf = %q, %v", b, err)
	}
	if out.Stderr != "cp: skipped symlink /etc/app/current -> /etc/app/v2 (symlinks are not copied; copy the target's path)\n" {
		t.Errorf("stderr = %q", out.Stderr)
	}
	if want := "kubectl cp default/web:/etc/app " + filepath.Join(env.ArtifactDir, "config") + " -c app"; out.Kubectl != want {
		t.Errorf("kubectl = %q, want %q", out.Kubectl, want)
	}
	var calls []string
	logged, _ := log.Calls()
	for _, c := range logged {
		calls = append(calls, c.String())
	}
	// The WebSocket upgrade (GET) is refused by the test server; SPDY (CREATE) follows.
	if diff := cmp.Diff([]string{"GET pods default/web", "GET pods/exec default/web", "CREATE pods/exec default/web"}, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if out.Pod["metadata"].(map[string]any)["name"] != "web" {
		t.Errorf("pod = %v", out.Pod)
	}

	// The same copy again: the artifact exists, and is not overwritten.
	out = s.Run(testCtx(t), env)
	if !strings.Contains(errString(out.Err), "the artifact config exists already") {
		t.Errorf("a second copy to the same place: %v", out.Err)
	}
}

func TestCpRunFailures(t *testing.T) {
	pod := readyPod("web")
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	noTar := metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError,
		Message: `OCI runtime exec failed: exec failed: unable to start container process: exec: "tar": executable file not found in $PATH: unknown`}
	tests := []struct {
		name     string
		dir      string
		status   metav1.Status
		path     string
		wantErr  string
		wantDir  bool
		wantCall bool
	}{
		{"no artifact directory", "", noTar, "/etc/hostname", "the run has no artifact directory", false, false},
		{"no tar", "artifacts", noTar, "/etc/hostname", "path: /proc/1/root/etc/hostname", false, true},
		{"a relative path", "artifacts", noTar, "etc/hostname", "path: the path to copy must be absolute", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cpServer(t, pod, "", "", tt.status)
			env := &Env{Clients: c, Namespace: "default", Scope: &expression.Scope{}}
			if tt.dir != "" {
				env.ArtifactDir = filepath.Join(t.TempDir(), tt.dir)
			}
			log := &kube.CallLog{}
			out := (&CpStep{PodTarget: PodTarget{Pod: tpl(t, "web")}, Path: tpl(t, tt.path)}).Run(kube.WithCallLog(testCtx(t), log), env)
			if !strings.Contains(errString(out.Err), tt.wantErr) {
				t.Errorf("error %v, want %q", out.Err, tt.wantErr)
			}
			if _, err := os.Stat(env.ArtifactDir); env.ArtifactDir != "" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the artifact directory was created by a copy that copied nothing: %v", err)
			}
			if calls, _ := log.Calls(); (len(calls) > 1) != tt.wantCall {
				t.Errorf("calls %v", calls)
			}
		})
	}
}
