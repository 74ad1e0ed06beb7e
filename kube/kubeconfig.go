package kube

import "k8s.io/client-go/tools/clientcmd"

// clientConfig is the kubeconfig that o selects, as kubectl loads it:
// --kubeconfig, else $KUBECONFIG, else ~/.kube/config; --context; -n.
// Reading it sends no request.
func clientConfig(o ConfigOptions) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	if o.Namespace != "" {
		overrides.Context.Namespace = o.Namespace
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// ContextNamespace is the namespace of the kubeconfig context that o
// selects (o.Namespace aside), read from the kubeconfig alone (no request
// is sent): what kubectl uses when -n is not given. It is "" when no
// kubeconfig can be read, and "default" when the context names none.
func ContextNamespace(o ConfigOptions) string {
	o.Namespace = ""
	ns, _, err := clientConfig(o).Namespace()
	if err != nil {
		return ""
	}
	return ns
}
