package kube

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// SecretUse is a Secret that a pod's containers see, and how: what a run
// must redact when it prints what the pod's processes, files or logs say.
type SecretUse struct {
	// Name of the Secret, in the pod's namespace.
	Name string
	// Env are the names of the environment variables set from keys of the
	// Secret (env[].valueFrom.secretKeyRef), sorted.
	Env []string
	// EnvFrom is true when a container takes every key of the Secret as
	// an environment variable (envFrom[].secretRef); EnvPrefixes are the
	// prefixes those variables get ("" for none), sorted.
	EnvFrom     bool
	EnvPrefixes []string
	// Volumes are the pod's volumes that mount keys of the Secret (secret
	// volumes, projected volumes with secret sources), sorted.
	Volumes []string
}

// SecretUses returns the Secrets a pod's containers (init, regular and
// ephemeral) and volumes reference, by name.
func SecretUses(pod *corev1.Pod) []SecretUse {
	if pod == nil {
		return nil
	}
	type use struct {
		env, prefixes, volumes sets.Set[string]
		envFrom                bool
	}
	uses := map[string]*use{}
	get := func(name string) *use {
		u, ok := uses[name]
		if !ok {
			u = &use{env: sets.New[string](), prefixes: sets.New[string](), volumes: sets.New[string]()}
			uses[name] = u
		}
		return u
	}
	containers := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "" {
				get(e.ValueFrom.SecretKeyRef.Name).env.Insert(e.Name)
			}
		}
		for _, f := range from {
			if f.SecretRef != nil && f.SecretRef.Name != "" {
				u := get(f.SecretRef.Name)
				u.envFrom = true
				u.prefixes.Insert(f.Prefix)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		containers(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		containers(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		containers(c.Env, c.EnvFrom)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName != "" {
			get(v.Secret.SecretName).volumes.Insert(v.Name)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil && src.Secret.Name != "" {
					get(src.Secret.Name).volumes.Insert(v.Name)
				}
			}
		}
	}
	out := make([]SecretUse, 0, len(uses))
	for name, u := range uses {
		out = append(out, SecretUse{Name: name, Env: sets.List(u.env), EnvFrom: u.envFrom,
			EnvPrefixes: sets.List(u.prefixes), Volumes: sets.List(u.volumes)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SecretValues returns the values of a Secret (data, decoded, and
// stringData), sorted, for redaction.
func SecretValues(s *corev1.Secret) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, v := range s.Data {
		if len(v) > 0 {
			out = append(out, string(v))
		}
	}
	for _, v := range s.StringData {
		if v != "" {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// ReadSecret reads a Secret, for its values (see SecretValues).
func ReadSecret(ctx context.Context, c *Clients, namespace, name string) (*corev1.Secret, error) {
	return c.Kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}
