package incluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kube-runbook/runbook/runbook/engine"
)

// Timing of a run's Job, from the runbook's timeout T and the engine's
// CleanupTimeout C (after an interrupt, the onFailure and finally steps
// get up to C, then cleanup up to C):
//
//   - terminationGracePeriodSeconds = 2C + 30s: a deleted pod (or one the
//     active deadline stops) gets SIGTERM and that long to clean up;
//   - activeDeadlineSeconds = T + 2C + 60s: the run's own timeout ends it
//     first; the deadline is the backstop (the 60s cover the pod's start).
const (
	gracePadding    = 30 * time.Second
	deadlinePadding = 60 * time.Second
)

// JobTTL is ttlSecondsAfterFinished of a Job built by Install.Job: the
// Job and its pod (its log) go a day after it finished. The result stays
// (StoreResult). A CronJob's Jobs are kept by its history limits instead.
const JobTTL = 24 * time.Hour

// History limits of a CronJob built by Install.CronJob.
const (
	SuccessfulJobsHistory = 3
	FailedJobsHistory     = 3
)

// GracePeriod is terminationGracePeriodSeconds of a run's pod.
func GracePeriod() time.Duration { return 2*engine.CleanupTimeout + gracePadding }

// ActiveDeadline is activeDeadlineSeconds of a run's Job for a runbook
// whose timeout is timeout.
func ActiveDeadline(timeout time.Duration) time.Duration {
	return timeout + 2*engine.CleanupTimeout + deadlinePadding
}

// RunOptions are what one run (one Job) adds to its install. Every field
// may come from an untrusted source (an alert): Job validates them all.
type RunOptions struct {
	// Vars are extra --var values for this run (NAME to VALUE). Each name
	// must be declared in the runbook's spec.vars and not be secret; each
	// value at most MaxVarBytes of printable UTF-8 (no control
	// characters). Each becomes one argument of its own; Kubernetes'
	// $(VAR) references in them are escaped.
	Vars map[string]string
	// Namespace is the run's -n: "" for the install's RunNamespace, else
	// the install's namespace, RunNamespace, one of its TargetNamespaces,
	// or any namespace if those held "*".
	Namespace string
	// RunID is the run's id (runbook run --run-id) and the Job's name's
	// suffix: "" for a new random one. At most 22 characters of a DNS
	// label, so that the Job's name fits a label value.
	RunID string
	// Labels and Annotations are added to the Job and its pod (e.g. the
	// alert's fingerprint); they must be valid, and may not use the
	// runbook/ prefix or override the standard labels.
	Labels, Annotations map[string]string
}

// Job builds the Job of one run: named INSTALL-RUNID in the install's
// namespace, running as the install's ServiceAccount. It returns an error,
// and builds nothing, when an option is not valid.
func (in *Install) Job(o RunOptions) (*batchv1.Job, error) {
	runID := o.RunID
	if runID == "" {
		runID = engine.NewRunID()
	}
	if errs := validation.IsDNS1123Label(runID); len(errs) > 0 || len(runID) > 22 {
		return nil, fmt.Errorf("run id %q: must be at most 22 lowercase letters, digits and '-', starting and ending with a letter or digit", runID)
	}
	args, err := in.runArgs(o.Vars, o.Namespace)
	if err != nil {
		return nil, err
	}
	args = append(args, "--run-id", runID)
	labels := in.labels(ComponentRun)
	labels[LabelRun] = runID
	if err := mergeUser(labels, o.Labels, true); err != nil {
		return nil, err
	}
	annotations := map[string]string{}
	if err := mergeUser(annotations, o.Annotations, false); err != nil {
		return nil, err
	}
	spec := in.jobSpec(args, labels, annotations)
	spec.TTLSecondsAfterFinished = ptr.To(int32(JobTTL / time.Second))
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name + "-" + runID, Namespace: in.Namespace, Labels: labels,
			Annotations: nilIfEmpty(annotations)},
		Spec: spec,
	}, nil
}

// CronJob builds the CronJob that runs the install on schedule (standard
// five-field cron syntax, as the CronJob controller reads it, or a macro
// such as @hourly): concurrencyPolicy Forbid, history limits, each Job as
// Install.Job builds it but with a run id of its own chosen by the run.
func (in *Install) CronJob(schedule string) (*batchv1.CronJob, error) {
	if _, err := cron.ParseStandard(schedule); err != nil {
		return nil, fmt.Errorf("--schedule %q: %v", schedule, err)
	}
	if strings.Contains(schedule, "TZ=") {
		return nil, fmt.Errorf("--schedule %q: CRON_TZ and TZ are not allowed (the CronJob's time zone is the controller's)", schedule)
	}
	args, err := in.runArgs(nil, "")
	if err != nil {
		return nil, err
	}
	labels := in.labels(ComponentRun)
	spec := in.jobSpec(args, labels, nil)
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: labels},
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			SuccessfulJobsHistoryLimit: ptr.To(int32(SuccessfulJobsHistory)),
			FailedJobsHistoryLimit:     ptr.To(int32(FailedJobsHistory)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       spec,
			},
		},
	}, nil
}

// runArgs are the arguments of `runbook run` in the pod.
func (in *Install) runArgs(vars map[string]string, namespace string) ([]string, error) {
	args := []string{"run", RunbookPath, "--vars-file", VarsPath}
	if in.Secret != nil {
		args = append(args, "--vars-file", SecretVarsPath)
	}
	args = append(args, "--store-result", in.Namespace,
		"--result-install", in.Name,
		"--keep-results", strconv.Itoa(in.KeepResults),
		"--artifacts", ArtifactsPath, "-o", "table")
	if in.allowPrivileged {
		args = append(args, "--allow-privileged")
	}
	ns := in.RunNamespace
	if namespace != "" {
		if !in.mayTarget(namespace) {
			return nil, fmt.Errorf("namespace %q: the install %s/%s has no rules there (its target namespaces: %s)",
				namespace, in.Namespace, in.Name, in.targetList())
		}
		ns = namespace
	}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	for _, k := range sortedKeys(vars) {
		v := vars[k]
		switch {
		case !in.declared[k]:
			return nil, fmt.Errorf("var %q: the runbook declares no such variable in spec.vars", k)
		case in.secret[k]:
			return nil, fmt.Errorf("var %q is secret: a secret var cannot be passed to one run (it would be in the Job's arguments); give it to the install", k)
		case len(v) > MaxVarBytes:
			return nil, fmt.Errorf("var %q: value of %d bytes, more than %d", k, len(v), MaxVarBytes)
		case !utf8.ValidString(v):
			return nil, fmt.Errorf("var %q: value is not UTF-8", k)
		case strings.ContainsFunc(v, unicode.IsControl):
			return nil, fmt.Errorf("var %q: value has a control character", k)
		}
		// Kubernetes expands $(NAME) in args; $$ is a literal $.
		args = append(args, "--var", k+"="+strings.ReplaceAll(v, "$", "$$"))
	}
	return args, nil
}

// mayTarget reports whether the install's rules cover runs in ns.
func (in *Install) mayTarget(ns string) bool {
	if len(validation.IsDNS1123Label(ns)) > 0 {
		return false
	}
	return in.anyNamespace || ns == in.Namespace || ns == in.RunNamespace || in.targets[ns]
}

func (in *Install) targetList() string {
	list := []string{in.Namespace}
	if in.RunNamespace != "" && in.RunNamespace != in.Namespace {
		list = append(list, in.RunNamespace)
	}
	list = append(list, sortedKeys(in.targets)...)
	if in.anyNamespace {
		list = append(list, "*")
	}
	return strings.Join(list, ", ")
}

// jobSpec is the spec shared by Jobs and CronJobs' templates.
func (in *Install) jobSpec(args []string, labels, annotations map[string]string) batchv1.JobSpec {
	volumes := []corev1.Volume{
		{Name: "runbook", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: in.ConfigMap.Name}}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("256Mi"))}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "runbook", MountPath: "/etc/runbook", ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	if in.Secret != nil {
		volumes = append(volumes, corev1.Volume{Name: "secret-vars", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: in.Secret.Name, DefaultMode: ptr.To(int32(0o440))}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "secret-vars", MountPath: "/etc/runbook-secret", ReadOnly: true})
	}
	podLabels := map[string]string{}
	for k, v := range labels {
		podLabels[k] = v
	}
	return batchv1.JobSpec{
		BackoffLimit:          ptr.To(int32(0)),
		ActiveDeadlineSeconds: ptr.To(int64(ActiveDeadline(in.Timeout) / time.Second)),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: nilIfEmpty(annotations)},
			Spec: corev1.PodSpec{
				ServiceAccountName:            in.ServiceAccount.Name,
				AutomountServiceAccountToken:  ptr.To(true),
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: ptr.To(int64(GracePeriod() / time.Second)),
				EnableServiceLinks:            ptr.To(false),
				SecurityContext: &corev1.PodSecurityContext{
					RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(ImageUser)), RunAsGroup: ptr.To(int64(ImageUser)),
					// The Secret's files are root's; the group can read them.
					FSGroup:        ptr.To(int64(ImageUser)),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
				Containers: []corev1.Container{{
					Name:            "runbook",
					Image:           in.Image,
					ImagePullPolicy: in.PullPolicy,
					Args:            args,
					Env: []corev1.EnvVar{
						{Name: "RUNBOOK_JOB_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
							FieldPath: "metadata.labels['" + batchv1.JobNameLabel + "']"}}},
						{Name: "HOME", Value: "/tmp"},
					},
					VolumeMounts: mounts,
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
						Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
					},
					SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptr.To(false),
						ReadOnlyRootFilesystem:   ptr.To(true),
						Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					},
					TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				}},
				Volumes: volumes,
			},
		},
	}
}

// mergeUser adds user-given labels or annotations to dst, refusing what
// is not valid or would override the package's own.
func mergeUser(dst, src map[string]string, label bool) error {
	for _, k := range sortedKeys(src) {
		v := src[k]
		what := "annotation"
		if label {
			what = "label"
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("%s %q: %s", what, k, strings.Join(errs, "; "))
		}
		if strings.HasPrefix(k, "runbook/") || strings.HasPrefix(k, "app.kubernetes.io/") || strings.HasPrefix(k, "batch.kubernetes.io/") {
			return fmt.Errorf("%s %q: the prefix is reserved", what, k)
		}
		if label {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
			}
		} else if len(v) > 4096 {
			return fmt.Errorf("annotation %q: value longer than 4096 bytes", k)
		}
		dst[k] = v
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
