package kube

import (
	"errors"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// IsClusterError reports whether err is the cluster refusing or failing a
// request rather than an answer about the objects asked for: forbidden or
// unauthorized, a server error (5xx), a server-side timeout, throttling,
// or no answer at all (the connection failed). A step that fails so could
// not check what it was meant to check; a step told "not found" or
// "invalid" did.
func IsClusterError(err error) bool {
	if err == nil {
		return false
	}
	switch {
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsInternalError(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Code >= 500
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}
