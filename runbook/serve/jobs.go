package serve

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kube-runbook/runbook/runbook/incluster"
)

// Labels and annotations of the Jobs the receiver starts (on top of the
// install's own, incluster's).
const (
	// LabelRoute is the route that started the Job: Active counts the
	// unfinished Jobs carrying it.
	LabelRoute = "runbook-serve/route"
	// AnnotationAlert and AnnotationFingerprint name the alert.
	AnnotationAlert       = "runbook-serve/alert"
	AnnotationFingerprint = "runbook-serve/fingerprint"
)

// FieldManager is the field manager of the Jobs the receiver creates.
const FieldManager = "runbook-serve"

// JobStarter starts runs as Jobs of the routes' installs, in the
// receiver's namespace, where `runbook job FILE --apply` installed them.
type JobStarter struct {
	kube      kubernetes.Interface
	namespace string
	installs  map[string]*incluster.Install
}

// NewJobStarter builds, without a cluster, each route's install as
// `runbook job ROUTE.RUNBOOK -n NAMESPACE --name ROUTE.INSTALL
// --target-namespace ...` builds it, so that its Jobs are the ones
// `runbook job` would make; image is the tool's image ("" for
// incluster.DefaultImage).
func NewJobStarter(kube kubernetes.Interface, namespace, image string, routes *Routes) (*JobStarter, error) {
	s := &JobStarter{kube: kube, namespace: namespace, installs: map[string]*incluster.Install{}}
	byName := map[string]*Route{}
	for _, r := range routes.list {
		in, err := incluster.New(r.Runbook, incluster.Options{Source: r.Source, Namespace: namespace,
			TargetNamespaces: r.TargetNamespaces, Name: r.Install, Image: image})
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Name, err)
		}
		if other := byName[in.Name]; other != nil && (!bytes.Equal(other.Source, r.Source) || !slices.Equal(other.TargetNamespaces, r.TargetNamespaces)) {
			return nil, fmt.Errorf("routes %s and %s make two different installs named %s: give one an install: name of its own", other.Name, r.Name, in.Name)
		}
		if byName[in.Name] == nil {
			byName[in.Name] = r
		}
		s.installs[r.Name] = in
		// A fixed namespace outside the install's rules would refuse
		// every run: say so now.
		if r.namespace.source == "" && r.namespace.key != "" {
			if _, err := in.Job(incluster.RunOptions{Namespace: r.namespace.key}); err != nil {
				return nil, fmt.Errorf("route %s: %w", r.Name, err)
			}
		}
	}
	return s, nil
}

// Install returns the install of a route, or nil.
func (s *JobStarter) Install(route string) *incluster.Install { return s.installs[route] }

// Installs returns the routes' installs, each once, in the routes' order.
func (s *JobStarter) Installs(routes *Routes) []*incluster.Install {
	var out []*incluster.Install
	seen := map[string]bool{}
	for _, r := range routes.list {
		if in := s.installs[r.Name]; in != nil && !seen[in.Name] {
			seen[in.Name] = true
			out = append(out, in)
		}
	}
	return out
}

// Job builds the Job of a run, without sending it.
func (s *JobStarter) Job(run Run) (*batchv1.Job, error) {
	in := s.installs[run.Route]
	if in == nil {
		return nil, fmt.Errorf("no install for route %q", run.Route)
	}
	return in.Job(incluster.RunOptions{Vars: run.Vars, Namespace: run.Namespace,
		Labels:      map[string]string{LabelRoute: run.Route},
		Annotations: map[string]string{AnnotationAlert: run.Alert, AnnotationFingerprint: run.Fingerprint}})
}

// Start creates the run's Job. A run the install refuses (a namespace it
// has no rules in, a value it does not accept) is an ErrInvalidRun.
func (s *JobStarter) Start(ctx context.Context, run Run) (string, error) {
	job, err := s.Job(run)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidRun, err)
	}
	created, err := s.kube.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{FieldManager: FieldManager})
	if err != nil {
		return "", err
	}
	return "job/" + created.Name, nil
}

// Active counts the receiver's Jobs in its namespace that have not
// finished (no Complete or Failed condition).
func (s *JobStarter) Active(ctx context.Context) (int, error) {
	list, err := s.kube.BatchV1().Jobs(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelRoute})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if !finished(&list.Items[i]) {
			n++
		}
	}
	return n, nil
}

func finished(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
