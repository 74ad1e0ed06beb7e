// Package incluster runs runbooks inside the cluster, on Kubernetes' own
// engine: Jobs and CronJobs.
//
// An Install is everything one runbook needs to run in a namespace: a
// ConfigMap holding the runbook file and its non-secret --vars, a Secret
// holding the values of the vars the runbook marks secret, given or
// written as defaults in the file (never the ConfigMap, whose file has
// those defaults replaced in place by placeholders, never a Job's
// arguments), a ServiceAccount with exactly the rules `runbook rbac`
// derives from the runbook's plan (the same function, RBACObjects), plus a
// Role to store its results, and the bindings. New builds it, without a
// cluster; Install.Objects lists it in the order to apply; Apply applies
// objects with server-side apply; Delete removes an install and everything
// it labelled.
//
// One run is a Job (Install.Job), or a CronJob for runs on a schedule
// (Install.CronJob). A Job's pod runs `runbook run` from the tool's image
// with in-cluster config, stores its result in the cluster (StoreResult:
// one ConfigMap per run, the last N per install kept) and exits with the
// run's exit code, which becomes the Job's status. ListResults and
// GetResult read the stored results back.
//
// Values that come from outside (an alert's labels, in `runbook serve`)
// are passed to Install.Job as RunOptions: each var is validated (declared
// by the runbook, not secret, bounded, printable) and becomes one argument
// of its own (`--var NAME=VALUE`); nothing goes through a shell.
//
// Labels: every object carries LabelPartOf=runbook, LabelManagedBy with
// the value ManagedByJob (not kube.ManagedByValue, so that `runbook
// cleanup`, which deletes what runs left, never touches an install or its
// results), LabelRunbook (the runbook's name as a label value) and
// LabelInstall (the install's name). Delete and `runbook job --delete`
// find them by LabelInstall.
package incluster
