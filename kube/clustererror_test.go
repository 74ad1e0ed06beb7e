package kube

import (
	"errors"
	"fmt"
	"net/url"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestIsClusterError(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("command exited with code 1"), false},
		{apierrors.NewNotFound(pods, "web"), false},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "web", nil), false},
		{apierrors.NewAlreadyExists(pods, "web"), false},
		{fmt.Errorf("getting pod web: %w", apierrors.NewForbidden(pods, "web", errors.New("no rights"))), true},
		{apierrors.NewUnauthorized("token expired"), true},
		{apierrors.NewInternalError(errors.New("etcd")), true},
		{apierrors.NewServiceUnavailable("overloaded"), true},
		{apierrors.NewTimeoutError("slow", 1), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewGenericServerResponse(502, "get", pods, "web", "bad gateway", 0, false), true},
		{fmt.Errorf("listing pods: %w", &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api/v1/pods", Err: errors.New("connection refused")}), true},
	}
	for _, tt := range tests {
		if got := IsClusterError(tt.err); got != tt.want {
			t.Errorf("IsClusterError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
