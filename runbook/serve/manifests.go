package serve

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/expression"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/steps"
)

// Names and paths of the receiver's deployment.
const (
	// Name is the name of its Deployment, Service, ServiceAccount, Role,
	// RoleBinding and routes ConfigMap.
	Name = "runbook-serve"
	// TokenSecret is the Secret holding the bearer token (key TokenKey);
	// it is created by the operator, never printed.
	TokenSecret = "runbook-serve-token"
	TokenKey    = "token"
	// RoutesDir is where the routes ConfigMap is mounted; the routes file
	// is RoutesDir/routes.yaml, its runbooks beside it.
	RoutesDir = "/etc/runbook-serve"
	// TokenDir is where the token Secret is mounted.
	TokenDir = "/etc/runbook-serve-token"
	// Port is the port the receiver listens on in the pod.
	Port = 8080
)

// ManifestOptions configure Manifests.
type ManifestOptions struct {
	// Namespace of everything (where the runbooks are installed).
	Namespace string
	// Image is the tool's image.
	Image string
	// Routes is the routes file's content and the routes loaded from it.
	RoutesSource []byte
	Routes       *Routes
	// Window, MaxActive and MaxBody are passed on as flags.
	Window    time.Duration
	MaxActive int
	MaxBody   int64
}

// objectLabels are the labels of the receiver's objects.
func objectLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/name": Name, incluster.LabelPartOf: "runbook"}
}

// Rules are all the receiver's ServiceAccount may do, in its namespace:
// create the runs' Jobs, and list them to count those still running (the
// cap). Nothing else: the installs (their ConfigMaps, accounts and rules)
// are applied by an operator with `runbook job --apply`, the routes and
// token come as volumes.
func Rules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"create", "list"}}}
}

// Manifests builds the receiver's ServiceAccount, Role, RoleBinding,
// routes ConfigMap (the routes file and each route's runbook, under its
// base name), Deployment (one replica: the dedup window is in memory) and
// Service. A route's runbook must be in the routes file's directory, so
// that the file reads the same from the ConfigMap.
func Manifests(o ManifestOptions) ([]runtime.Object, error) {
	data := map[string]string{"routes.yaml": string(o.RoutesSource)}
	for _, r := range o.Routes.list {
		base := filepath.Base(r.File)
		if filepath.Clean(r.File) != filepath.Join(filepath.Dir(r.File), base) || r.spec != base {
			return nil, fmt.Errorf("route %s: runbook %q: for --manifests, a route's runbook must be a file beside the routes file (runbook: %s), as it is in the ConfigMap", r.Name, r.spec, base)
		}
		if base == "routes.yaml" {
			return nil, fmt.Errorf("route %s: a runbook cannot be named routes.yaml", r.Name)
		}
		if err := noSecretDefault(r); err != nil {
			return nil, err
		}
		data[base] = string(r.Source)
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: objectLabels()}
	}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(Name)}
	role := &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta(Name), Rules: Rules()}
	binding := &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta(Name),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: o.Namespace}}}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(Name), Data: data}
	args := []string{"serve", "--routes", RoutesDir + "/routes.yaml", "--listen", ":" + strconv.Itoa(Port),
		"--token-file", TokenDir + "/" + TokenKey, "--image", o.Image,
		"--dedup-window", o.Window.String(), "--max-jobs", strconv.Itoa(o.MaxActive), "--max-body", strconv.FormatInt(o.MaxBody, 10)}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
		PeriodSeconds: 10}
	selector := map[string]string{"app.kubernetes.io/name": Name}
	deploy := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			// One receiver at a time: two would each start a Job for the
			// same alert.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: objectLabels()},
				Spec: corev1.PodSpec{
					ServiceAccountName:            Name,
					AutomountServiceAccountToken:  ptr.To(true),
					EnableServiceLinks:            ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To(int64(30)),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(incluster.ImageUser)), RunAsGroup: ptr.To(int64(incluster.ImageUser)),
						// The token file (mode 0440) belongs to this group.
						FSGroup:        ptr.To(int64(incluster.ImageUser)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "serve", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent, Args: args,
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: Port}},
						ReadinessProbe: probe, LivenessProbe: probe,
						VolumeMounts: []corev1.VolumeMount{
							{Name: "routes", MountPath: RoutesDir, ReadOnly: true},
							{Name: "token", MountPath: TokenDir, ReadOnly: true},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("20m"), corev1.ResourceMemory: mustQuantity("32Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: mustQuantity("256Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "routes", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}}}},
						{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: TokenSecret, DefaultMode: ptr.To(int32(0o440)),
							Items: []corev1.KeyToPath{{Key: TokenKey, Path: TokenKey}}}}},
					},
				},
			},
		}}
	svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Name: "http", Port: Port, TargetPort: intstr.FromString("http")}}}}
	return []runtime.Object{sa, role, binding, cm, deploy, svc}, nil
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// noSecretDefault refuses a route's runbook that writes a value for a var of
// spec.secretVars: the routes ConfigMap holds the runbook as written, and a
// ConfigMap is no place for a secret (a Job's run gets its secret values from
// a Secret, see incluster.New; the receiver has none to give it).
func noSecretDefault(r *Route) error {
	rb, err := runbook.Parse(r.File, r.Source, runbook.LoadOptions{Kinds: steps.Registry})
	if err != nil {
		return fmt.Errorf("route %s: %w", r.Name, err)
	}
	for _, name := range rb.Spec.SecretVars {
		if v, ok := rb.Vars[name]; ok && expression.Text(v) != "" {
			return fmt.Errorf("route %s: runbook %s: spec.vars.%s, a var of spec.secretVars, has a value in the file, which --manifests would put in the routes ConfigMap as written: leave it empty there (give it to the route's runs from the alert, or run the runbook with runbook job, whose Secret holds it)",
				r.Name, r.File, name)
		}
	}
	return nil
}
