package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-runbook/runbook/runbook"
)

// NamespaceSource says where a run's namespace comes from, as kubectl
// picks it: flag is -n (empty when not given).
func NamespaceSource(rb *runbook.Runbook, flag string) string {
	switch {
	case flag != "":
		return "from -n"
	case rb.Spec.Namespace != "":
		return "from spec.namespace at " + rb.NamespaceAt
	}
	return "from the kubeconfig context, default when it names none"
}

// MissingNamespace is the message of a namespace that does not exist.
func MissingNamespace(ns, source string) string {
	return fmt.Sprintf("namespace %q not found (%s)", ns, source)
}

// namespaceNotFound reports whether err is the API server's NotFound of
// the namespace ns itself (what a create in a missing namespace returns).
func namespaceNotFound(err error, ns string) bool {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	s := status.Status()
	return s.Reason == metav1.StatusReasonNotFound && s.Details != nil && s.Details.Kind == "namespaces" && s.Details.Name == ns
}

// namespaceCheck finds out, once per run and only after a step failed on
// something not found, whether the run's namespace exists: a read of a
// pod in a missing namespace says only that the pod is not found, and a
// normal run makes no request for it.
type namespaceCheck struct {
	once    sync.Once
	missing bool
}

// explainFailure prefixes the error of a failed step with what the step
// could not say: that the run's namespace does not exist, and where it
// was named. It makes at most one request per run, a read of the
// namespace (recorded in ctx's call log, the step's), and only when the
// error is that something was not found and does not already say it was
// the namespace.
func (r *runner) explainFailure(ctx context.Context, err error, msg string) string {
	if r.res.TemporaryNamespace || r.ns == "" || err == nil {
		return msg
	}
	missing := namespaceNotFound(err, r.ns)
	if !missing && (apierrors.IsNotFound(err) || strings.Contains(msg, " not found")) && ctx.Err() == nil {
		r.nsCheck.once.Do(func() {
			c := r.o.Clients
			if c == nil || c.Kube == nil {
				return
			}
			_, err := c.Kube.CoreV1().Namespaces().Get(ctx, r.ns, metav1.GetOptions{})
			r.nsCheck.missing = apierrors.IsNotFound(err)
		})
		missing = r.nsCheck.missing
	}
	if !missing {
		return msg
	}
	return MissingNamespace(r.ns, NamespaceSource(r.rb, r.o.Namespace)) + ": " + msg
}
