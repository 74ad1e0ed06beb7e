package kube

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ConfigFlags are kubectl's kubeconfig flags, bound by clientcmd's own
// binders as kubectl binds them: --kubeconfig, --context, --cluster,
// --user, -n/--namespace, -s/--server, --token, --as, --as-group,
// --as-uid, --certificate-authority, --client-certificate, --client-key,
// --insecure-skip-tls-verify, --tls-server-name, --proxy-url,
// --request-timeout and --disable-compression. Basic auth (--username,
// --password) is left out: Kubernetes no longer supports it.
type ConfigFlags struct {
	// Kubeconfig is the --kubeconfig flag: one file that replaces the KUBECONFIG list.
	Kubeconfig string
	// Overrides are the other flags, over the selected context, cluster and user.
	Overrides clientcmd.ConfigOverrides
}

// AddFlags registers the flags on fs, with nsUsage as the help of -n.
func (f *ConfigFlags) AddFlags(fs *pflag.FlagSet, nsUsage string) {
	fs.StringVar(&f.Kubeconfig, clientcmd.RecommendedConfigPathFlag, "",
		"path to the kubeconfig file (default: the $KUBECONFIG list, merged, then ~/.kube/config, then in-cluster config)")
	names := clientcmd.RecommendedConfigOverrideFlags("")
	names.AuthOverrideFlags.Username.LongName = ""
	names.AuthOverrideFlags.Password.LongName = ""
	names.ClusterOverrideFlags.APIServer.ShortName = "s" // as kubectl's
	// The help in runbook's words; the names, parsing and meaning are clientcmd's.
	names.CurrentContext.Description = "kubeconfig context to use (default: its current-context)"
	names.Timeout.Description = "deadline of each single API request, e.g. 30s, as kubectl's (0: none; --timeout bounds the whole run)"
	names.ContextOverrideFlags.Namespace.Description = nsUsage
	names.ContextOverrideFlags.ClusterName.Description = "kubeconfig cluster to use instead of the context's"
	names.ContextOverrideFlags.AuthInfoName.Description = "kubeconfig user to use instead of the context's"
	names.ClusterOverrideFlags.APIServer.Description = "API server URL, instead of the cluster's"
	names.ClusterOverrideFlags.CertificateAuthority.Description = "CA certificate file to check the API server with"
	names.ClusterOverrideFlags.InsecureSkipTLSVerify.Description = "do not check the API server's certificate (insecure)"
	names.ClusterOverrideFlags.TLSServerName.Description = "server name to check the API server's certificate against (default: the URL's host)"
	names.ClusterOverrideFlags.ProxyURL.Description = "proxy URL for the API server"
	names.ClusterOverrideFlags.DisableCompression.Description = "ask the API server for uncompressed responses"
	names.AuthOverrideFlags.ClientCertificate.Description = "client certificate file for TLS"
	names.AuthOverrideFlags.ClientKey.Description = "client key file for TLS"
	names.AuthOverrideFlags.Token.Description = "bearer token for the API server (never printed: redacted from output and reports)"
	names.AuthOverrideFlags.Impersonate.Description = "user to impersonate, e.g. system:serviceaccount:NS:NAME (break-glass, or to try a runbook with an account's rights)"
	names.AuthOverrideFlags.ImpersonateUID.Description = "UID to impersonate"
	names.AuthOverrideFlags.ImpersonateGroups.Description = "group to impersonate (repeatable)"
	clientcmd.BindOverrideFlags(&f.Overrides, fs, names)
}

// Namespace is the -n flag ("" when not given).
func (f *ConfigFlags) Namespace() string { return f.Overrides.Context.Namespace }

// Secrets are the secret values given on the command line (--token), for
// a Redactor: no output may hold them.
func (f *ConfigFlags) Secrets() []string {
	var out []string
	if f.Overrides.AuthInfo.Token != "" {
		out = append(out, f.Overrides.AuthInfo.Token)
	}
	return out
}

// clientConfig is the kubeconfig that o selects, as kubectl loads it: the
// loading rules (--kubeconfig, else the $KUBECONFIG list merged, else
// ~/.kube/config, else in-cluster config) and the overrides of the flags.
// Unlike kubectl it has no localhost:8080 default: no kubeconfig and no
// --server outside a pod is an error. Reading it sends no request.
func clientConfig(f ConfigFlags) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.Kubeconfig
	overrides := f.Overrides
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &overrides)
}

// configError says which flag or file a kubeconfig error is about. Its
// text is clientcmd's (kubectl's) after that.
func configError(f ConfigFlags, err error) error {
	var pathErr *os.PathError
	if f.Kubeconfig != "" && errors.As(err, &pathErr) {
		return fmt.Errorf("--kubeconfig %s: %w", f.Kubeconfig, pathErr.Err)
	}
	if name := f.Overrides.CurrentContext; name != "" {
		if raw, rerr := clientConfig(f).RawConfig(); rerr == nil && raw.Contexts[name] == nil {
			names := make([]string, 0, len(raw.Contexts))
			for n := range raw.Contexts {
				names = append(names, n)
			}
			sort.Strings(names)
			has := "it has no context"
			if len(names) > 0 {
				has = "it has " + strings.Join(names, ", ")
			}
			return fmt.Errorf("--context %q: no such context in %s; %s", name, kubeconfigSource(f), has)
		}
	}
	switch {
	case f.Overrides.Timeout != "" && strings.HasPrefix(err.Error(), "Invalid timeout value"):
		return fmt.Errorf("--request-timeout %q: %w", f.Overrides.Timeout, err)
	case clientcmd.IsEmptyConfig(err):
		return fmt.Errorf("no kubeconfig in %s and not in a pod: give --kubeconfig, or --server: %w", kubeconfigSource(f), err)
	}
	return fmt.Errorf("kubeconfig %s: %w", kubeconfigSource(f), err)
}

// kubeconfigSource names where the kubeconfig is read from.
func kubeconfigSource(f ConfigFlags) string {
	if f.Kubeconfig != "" {
		return f.Kubeconfig
	}
	if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
		return "$KUBECONFIG (" + env + ")"
	}
	return clientcmd.RecommendedHomeFile
}

// loadConfig is the REST config of loader, its errors said as configError does.
func loadConfig(f ConfigFlags, loader clientcmd.ClientConfig) (*rest.Config, error) {
	config, err := loader.ClientConfig()
	if err != nil {
		return nil, configError(f, err)
	}
	return config, nil
}

// ContextNamespace is the namespace of the kubeconfig context that f
// selects (-n aside), read from the kubeconfig alone (no request is sent):
// what kubectl uses when -n is not given; "default" when the context names
// none. It is "" with no error only when there is no kubeconfig at all and
// nothing names one (no --kubeconfig, --context, --cluster or --user; a
// $KUBECONFIG of missing files is no kubeconfig, as for kubectl), for
// commands that work without a cluster. A kubeconfig that
// was named, or that exists, and cannot be read or lacks the context is an
// error said as configError does (as run says it): a plan in the wrong
// namespace would be worse than none.
func ContextNamespace(f ConfigFlags) (string, error) {
	f.Overrides.Context.Namespace = ""
	ns, _, err := clientConfig(f).Namespace()
	if err == nil {
		return ns, nil
	}
	if clientcmd.IsEmptyConfig(err) && !namesKubeconfig(f) {
		return "", nil
	}
	return "", configError(f, err)
}

// namesKubeconfig says whether the flags name a kubeconfig, or a part of
// one, that must then be there. $KUBECONFIG naming files that do not exist
// is an empty kubeconfig, as kubectl reads it (KUBECONFIG=/nonexistent is
// how a script keeps a plan away from any cluster).
func namesKubeconfig(f ConfigFlags) bool {
	return f.Kubeconfig != "" || f.Overrides.CurrentContext != "" ||
		f.Overrides.Context.Cluster != "" || f.Overrides.Context.AuthInfo != ""
}
