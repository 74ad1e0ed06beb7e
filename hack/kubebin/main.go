// Command kubebin is one multi-call binary holding the five Kubernetes
// components that hack/cluster.sh runs: kube-apiserver,
// kube-controller-manager, kube-scheduler, kubelet and kube-proxy, and the
// etcd of the version's own module graph (Debian's etcd 3.4.23 lacks the
// watch progress requests that the API server needs to serve watch-list
// streams, which client-go asks for from v0.35 on). Linking
// them once, instead of five times, is most of what makes the local
// cluster's cold build shorter (as hyperkube did until Kubernetes v1.17).
//
// The component is the name the binary is called by (hack/cluster.sh makes
// a symlink for each), or its first argument:
//
//	kube-apiserver --etcd-servers=...
//	kubebin kubelet --config=...
//
// The module's go.mod pins the default Kubernetes version; v*.mod files
// beside it pin the other supported ones (go build -modfile=v1.33.13.mod).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	_ "time/tzdata" // CronJob time zones (kube-apiserver, kube-controller-manager)
)

// commands are the components, each as its own main would build it.
var commands = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 kubeletCommand,
	"kube-proxy":              proxy.NewProxyCommand,
}

// kubeletCommand builds the kubelet's command, whose constructor takes a
// context from Kubernetes v1.34 on and none before.
func kubeletCommand() *cobra.Command {
	switch f := any(kubelet.NewKubeletCommand).(type) {
	case func(context.Context) *cobra.Command:
		return f(context.Background())
	case func() *cobra.Command:
		return f()
	default:
		panic(fmt.Sprintf("kubebin: unexpected kubelet constructor %T", f))
	}
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := commands[name]; !ok && name != "etcd" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if name == "etcd" {
		etcdmain.Main(append([]string{"etcd"}, args...))
		return
	}
	newCommand, ok := commands[name]
	if !ok {
		names := []string{"etcd"}
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: kubebin COMPONENT [FLAGS] (or call it by a component's name)\ncomponents: %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	command := newCommand()
	command.SetArgs(args)
	os.Exit(cli.Run(command))
}
