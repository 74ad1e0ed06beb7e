package kube

import (
	"strconv"
	"strings"
	"testing"
)

func TestCheckImage(t *testing.T) {
	for _, image := range []string{
		"busybox",
		"busybox:1.36",
		"registry.k8s.io/pause:3.10.2",
		"runbook.local/runbook:dev",
		"localhost:5000/team/debug-tools:v1.2.3-rc.1",
		"nicolaka/netshoot@sha256:" + strings.Repeat("0", 64),
		"ghcr.io/org/img:tag@sha256:" + strings.Repeat("a", 64),
		"[::1]:5000/img",
	} {
		if err := CheckImage(image); err != nil {
			t.Errorf("CheckImage(%q) = %v, want nil", image, err)
		}
	}
	for _, image := range []string{
		"",
		" busybox",
		"busybox:1.36 ",
		"busybox\n",
		"BUSYBOX",
		"busybox:",
		"busybox::1",
		"-busybox",
		"busybox@sha256:abc",
		"busybox:" + strings.Repeat("t", 129),
		"busybox; rm -rf /",
	} {
		err := CheckImage(image)
		if err == nil {
			t.Errorf("CheckImage(%q) = nil, want an error", image)
			continue
		}
		if want := "invalid image name " + strconv.Quote(image) + ": invalid reference format"; err.Error() != want {
			t.Errorf("CheckImage(%q) = %q, want %q", image, err, want)
		}
	}
}

func TestDebugObjectsRefuseInvalidImages(t *testing.T) {
	pod := noshellPod()
	bad := DebugContainer{Image: "Busybox"}
	if _, err := EphemeralContainer(pod, EphemeralOptions{DebugContainer: bad}); err == nil || !strings.Contains(err.Error(), `invalid image name "Busybox"`) {
		t.Errorf("EphemeralContainer: %v, want the invalid image", err)
	}
	if _, err := NodePod(NodeOptions{DebugContainer: bad, NodeName: "n"}); err == nil || !strings.Contains(err.Error(), `invalid image name "Busybox"`) {
		t.Errorf("NodePod: %v, want the invalid image", err)
	}
	_, err := PodCopy(pod, CopyOptions{To: "c", SetImage: map[string]string{"*": "a b"}})
	if err == nil || !strings.Contains(err.Error(), `setImage: container "*": invalid image name "a b"`) {
		t.Errorf("PodCopy: %v, want the invalid setImage", err)
	}
	// A plan's placeholder is checked when the run knows the image.
	if _, err := NodePod(NodeOptions{DebugContainer: DebugContainer{Image: "<vars.image>"}, NodeName: "n"}); err != nil {
		t.Errorf("NodePod with a placeholder image: %v", err)
	}
}
