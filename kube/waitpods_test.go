package kube

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestWaitForPods waits on a label selector: until the selected pod is
// deleted (an unselected one stays), and, when it never is, until ctx ends,
// returning the pods left with the context's error.
func TestWaitForPods(t *testing.T) {
	pod := func(name, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": app}}}
	}
	cs := fake.NewSimpleClientset(pod("web-1", "web"), pod("db-1", "db"))
	c := NewClientsWith(cs, nil, nil, "")
	none := func(pods []*corev1.Pod) bool { return len(pods) == 0 }

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	left, err := WaitForPods(ctx, c, "ns", "app=web", none)
	if err == nil {
		t.Error("no error, though the selected pod is still there")
	}
	if len(left) != 1 || left[0].Name != "web-1" {
		t.Errorf("left %v, want [web-1]", left)
	}

	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = cs.CoreV1().Pods("ns").Delete(context.Background(), "web-1", metav1.DeleteOptions{})
	}()
	left, err = WaitForPods(t.Context(), c, "ns", "app=web", none)
	if err != nil || len(left) != 0 {
		t.Errorf("after the delete: left %v, err %v; want none, nil", left, err)
	}
}
