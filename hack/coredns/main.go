// Command coredns is CoreDNS as the local cluster of hack/cluster.sh runs
// it: upstream's coremain with the plugins of a kubeadm cluster's Corefile
// (errors, health, ready, kubernetes, prometheus, forward, cache, loop,
// reload, loadbalance) and a few that incident runbooks may switch on (log,
// debug, hosts, rewrite, template, whoami, chaos, bind). Leaving out the
// cloud plugins (route53, azure, clouddns, ...) keeps the build short; a
// Corefile naming one of them fails with "unknown directive".
//
// It is a nested module, built by hack/cluster.sh into the cache
// (${RUNBOOK_CACHE}/coredns-VERSION-KEY) and never imported.
package main

import (
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/chaos"
	_ "github.com/coredns/coredns/plugin/debug"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/rewrite"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"

	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
