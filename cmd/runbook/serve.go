package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/kube-runbook/runbook/kube"
	"github.com/kube-runbook/runbook/runbook"
	"github.com/kube-runbook/runbook/runbook/incluster"
	"github.com/kube-runbook/runbook/runbook/serve"
)

// serveOptions are the flags of `runbook serve`.
type serveOptions struct {
	kube      kubeFlags
	routes    string
	listen    string
	tokenFile string
	image     string
	window    time.Duration
	maxJobs   int
	maxBody   int64
	manifests bool
	install   bool
}

// AddFlags registers the command's flags on its own FlagSet.
func (o *serveOptions) AddFlags(fs *pflag.FlagSet) {
	o.kube.addNS(fs, "namespace of the installs, where Jobs are started (default: the context's, in a pod its own)")
	fs.StringVar(&o.routes, "routes", "", "the routes file: which alerts start which installed runbook (required)")
	fs.StringVar(&o.listen, "listen", ":8080", "address to listen on (the webhook at /webhook, /healthz, /metrics)")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the bearer token Alertmanager sends (http_config.authorization); required")
	fs.StringVar(&o.image, "image", incluster.DefaultImage, "the tool's image, for the Jobs and (with --manifests) the Deployment")
	fs.DurationVar(&o.window, "dedup-window", 10*time.Minute, "an alert (by fingerprint) that started a run starts no other within this window")
	fs.IntVar(&o.maxJobs, "max-jobs", 5, "the most runs at once; over it, notifications are answered 503 and Alertmanager retries")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "the largest notification body in bytes (413 above)")
	fs.BoolVar(&o.install, "install", false, "apply each route's install (account, RBAC, runbook ConfigMap; as runbook job --apply, without starting a run) in -n, and exit")
	fs.BoolVar(&o.manifests, "manifests", false, "print the receiver's Deployment, Service, ServiceAccount, Role, RoleBinding and routes ConfigMap, and exit")
}

func (o *serveOptions) validate() error {
	switch {
	case o.routes == "":
		return exitf(exitInvalid, "runbook serve: --routes is required")
	case o.window <= 0:
		return exitf(exitInvalid, "runbook serve: --dedup-window must be positive")
	case o.maxJobs < 1:
		return exitf(exitInvalid, "runbook serve: --max-jobs must be at least 1")
	case o.maxBody < 1024:
		return exitf(exitInvalid, "runbook serve: --max-body must be at least 1024 bytes")
	case o.install && o.manifests:
		return exitf(exitInvalid, "runbook serve: --install and --manifests are two steps: run them one after the other")
	case !o.manifests && !o.install && o.tokenFile == "":
		return exitf(exitInvalid, "runbook serve: --token-file is required (a file with the bearer token Alertmanager sends)")
	}
	if err := kube.CheckImage(o.image); err != nil {
		return exitf(exitInvalid, "runbook serve: --image: %v", err)
	}
	return nil
}

// Run serves until SIGTERM or SIGINT, or prints the manifests.
func (o *serveOptions) Run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return exitf(exitInvalid, "runbook serve: no arguments expected, found %q (the routes file is --routes)", args[0])
	}
	if err := o.validate(); err != nil {
		return err
	}
	source, err := os.ReadFile(o.routes)
	if err != nil {
		return exitf(exitInvalid, "%v", err)
	}
	routes, err := serve.ParseRoutes(o.routes, source)
	if err != nil {
		var list runbook.ErrorList
		if errors.As(err, &list) {
			return exitf(exitInvalid, "%s", strings.TrimRight(list.Format(true), "\n"))
		}
		return exitf(exitInvalid, "%v", err)
	}
	if o.manifests {
		return o.printManifests(source, routes, stdout)
	}
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)
	var token *serve.TokenFile
	if !o.install {
		if token, err = serve.NewTokenFile(o.tokenFile, logger.Printf); err != nil {
			return exitf(exitInvalid, "runbook serve: --token-file: %v", err)
		}
	}
	c, err := o.kube.clients()
	if err != nil {
		return err
	}
	starter, err := serve.NewJobStarter(c.Kube, c.Namespace, o.image, routes)
	if err != nil {
		return exitf(exitInvalid, "runbook serve: %v", err)
	}
	if o.install {
		return installRoutes(c, starter, routes, stdout)
	}
	rc, err := serve.NewReceiver(serve.Options{Routes: routes, Starter: starter, TokenFile: token, Window: o.window,
		MaxActive: o.maxJobs, MaxBody: o.maxBody, Log: logger})
	if err != nil {
		return exitf(exitInvalid, "%v", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return exitf(exitInvalid, "runbook serve: --listen: %v", err)
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: serve.StartTimeout + 30*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: logger}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger.Printf("runbook serve: listening on %s (routes %s: %s; Jobs in namespace %s)", ln.Addr(), o.routes,
		strings.Join(routes.Names(), ", "), c.Namespace)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return exitf(exitFailed, "runbook serve: %v", err)
	case <-ctx.Done():
	}
	logger.Printf("runbook serve: shutting down (in-flight notifications get up to %s)", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return exitf(exitFailed, "runbook serve: shutdown: %v", err)
	}
	logger.Printf("runbook serve: stopped")
	return nil
}

// installRoutes applies each route's install, as `runbook job FILE
// --apply` would but without its run.
func installRoutes(c *kube.Clients, starter *serve.JobStarter, routes *serve.Routes, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	for _, in := range starter.Installs(routes) {
		objs, err := in.Objects()
		if err != nil {
			return err
		}
		if err := incluster.Apply(ctx, c, objs); err != nil {
			return exitf(exitCluster, "runbook serve --install: %v", err)
		}
		for _, u := range objs {
			ns := u.GetNamespace()
			if ns != "" {
				ns += "/"
			}
			fmt.Fprintf(stdout, "%s %s%s applied\n", strings.ToLower(u.GetKind()), ns, u.GetName())
		}
		if err := prune(ctx, c, in, objs, stdout); err != nil {
			return exitf(exitCluster, "runbook serve --install: %v", err)
		}
	}
	return nil
}

// shutdownGrace bounds a graceful shutdown: under the pod's 30s grace.
const shutdownGrace = 20 * time.Second

func (o *serveOptions) printManifests(source []byte, routes *serve.Routes, stdout io.Writer) error {
	ns := o.kube.namespace()
	if ns == "" {
		ns = "default"
	}
	objs, err := serve.Manifests(serve.ManifestOptions{Namespace: ns, Image: o.image, RoutesSource: source, Routes: routes,
		Window: o.window, MaxActive: o.maxJobs, MaxBody: o.maxBody})
	if err != nil {
		return exitf(exitInvalid, "runbook serve --manifests: %v", err)
	}
	fmt.Fprintf(stdout, "# runbook serve in namespace %s. The token Secret is not printed: create it with\n#   kubectl -n %s create secret generic %s --from-file=%s=TOKEN-FILE\n", ns, ns, serve.TokenSecret, serve.TokenKey)
	fmt.Fprintf(stdout, "# and install the routes' runbooks first: runbook serve --routes FILE -n %s --install\n", ns)
	for _, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "---\n%s", stripCreationTimestamp(b))
	}
	return nil
}

// stripCreationTimestamp drops the null creationTimestamp lines that
// marshalling an unsent object writes.
func stripCreationTimestamp(b []byte) string {
	lines := strings.Split(string(b), "\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.TrimSpace(l) == "creationTimestamp: null" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
