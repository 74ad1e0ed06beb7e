package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestReadiness(t *testing.T) {
	obj := func(kind string, generation int64, status map[string]any, spec map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
		if spec != nil {
			u.Object["spec"] = spec
		}
		u.SetKind(kind)
		u.SetGeneration(generation)
		u.SetName("web")
		u.SetNamespace("default")
		return u
	}
	var (
		deployment  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
		statefulSet = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
		daemonSet   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
		job         = schema.GroupKind{Group: "batch", Kind: "Job"}
	)
	tests := []struct {
		name    string
		gk      schema.GroupKind
		u       *unstructured.Unstructured
		want    bool
		wantErr string
	}{
		{"deployment not observed", deployment, obj("Deployment", 2, map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}, nil), false, ""},
		{"deployment ready, default replicas", deployment, obj("Deployment", 1, map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1), "availableReplicas": int64(1)}, nil), true, ""},
		{"deployment old replica left", deployment, obj("Deployment", 1, map[string]any{"observedGeneration": int64(1), "replicas": int64(3), "updatedReplicas": int64(2), "availableReplicas": int64(2)}, map[string]any{"replicas": int64(2)}), false, ""},
		{"deployment not available", deployment, obj("Deployment", 1, map[string]any{"observedGeneration": int64(1), "replicas": int64(2), "updatedReplicas": int64(2), "availableReplicas": int64(1)}, map[string]any{"replicas": int64(2)}), false, ""},
		{"deployment scaled to zero", deployment, obj("Deployment", 1, map[string]any{"observedGeneration": int64(1)}, map[string]any{"replicas": int64(0)}), true, ""},
		{"deployment stuck", deployment, obj("Deployment", 1, map[string]any{"conditions": []any{map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": `ReplicaSet "web-1" has timed out progressing.`}}}, nil), false,
			`deployment default/web: rollout stopped: ReplicaSet "web-1" has timed out progressing.`},
		{"statefulset ready", statefulSet, obj("StatefulSet", 1, map[string]any{"observedGeneration": int64(1), "readyReplicas": int64(2), "updatedReplicas": int64(2)}, map[string]any{"replicas": int64(2)}), true, ""},
		{"statefulset not ready", statefulSet, obj("StatefulSet", 1, map[string]any{"observedGeneration": int64(1), "readyReplicas": int64(1), "updatedReplicas": int64(2)}, map[string]any{"replicas": int64(2)}), false, ""},
		{"daemonset not scheduled yet", daemonSet, obj("DaemonSet", 1, map[string]any{}, nil), false, ""},
		{"daemonset ready", daemonSet, obj("DaemonSet", 1, map[string]any{"observedGeneration": int64(1), "desiredNumberScheduled": int64(1), "numberReady": int64(1), "updatedNumberScheduled": int64(1)}, nil), true, ""},
		{"job running", job, obj("Job", 1, map[string]any{"active": int64(1)}, nil), false, ""},
		{"job with odd conditions", job, obj("Job", 1, map[string]any{"conditions": []any{"x", 3, nil}}, nil), false, ""},
		{"job complete", job, obj("Job", 1, map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}, nil), true, ""},
		{"job failed", job, obj("Job", 1, map[string]any{"conditions": []any{map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}}}, nil), false,
			"job default/web failed: BackoffLimitExceeded: Job has reached the specified backoff limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Readiness(tt.gk)(tt.u)
			if got != tt.want || errString(err) != tt.wantErr {
				t.Errorf("ready = %v, %q; want %v, %q", got, errString(err), tt.want, tt.wantErr)
			}
		})
	}
	for _, gk := range []schema.GroupKind{{Kind: "ConfigMap"}, {Kind: "Pod"}, {Group: "apps", Kind: "ReplicaSet"}, {Kind: "Deployment"}} {
		if Readiness(gk) != nil {
			t.Errorf("Readiness(%v) is not nil: the kind has no readiness", gk)
		}
	}
}
