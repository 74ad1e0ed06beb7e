package kube

import "k8s.io/client-go/tools/clientcmd"

// ContextNamespace is the namespace of the kubeconfig context that o
// selects, read from the kubeconfig alone (no request is sent): what
// kubectl uses when -n is not given. It is "" when no kubeconfig can be
// read, and "default" when the context names no namespace.
func ContextNamespace(o ConfigOptions) string {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).Namespace()
	if err != nil {
		return ""
	}
	return ns
}
