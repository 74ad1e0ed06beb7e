# hack/cluster.mk: the local Kubernetes cluster of hack/cluster.sh, included
# by the project's Makefile.
#
#   make cluster-up          bring the cluster up (idempotent; NODES=2 for two nodes)
#   make cluster-down        stop it and remove all its state
#   make cluster-status      show its processes, API and nodes
#   make cluster-test-down   down, then check that nothing is left
#   make e2e-smoke           bring it up and run the smoke test (client-go)
#
# RUNBOOK_CLUSTER_DIR (state dir) and RUNBOOK_CACHE (Kubernetes and CoreDNS
# binaries, images) may be overridden; the user kubeconfig is
# CLUSTER_KUBECONFIG. CLUSTER_ADDONS=none brings the cluster up without
# kube-proxy and CoreDNS (default: both; see hack/cluster.sh).

RUNBOOK_CLUSTER_DIR ?= /var/lib/runbook-cluster
export RUNBOOK_CLUSTER_DIR
CLUSTER_KUBECONFIG := $(RUNBOOK_CLUSTER_DIR)/kubeconfig
CLUSTER_SH := hack/cluster.sh
GO ?= go

.PHONY: cluster-up cluster-down cluster-status cluster-test-down e2e-smoke

cluster-up:
	$(CLUSTER_SH) up

cluster-down:
	$(CLUSTER_SH) down

cluster-status:
	$(CLUSTER_SH) status

cluster-test-down:
	hack/cluster-down-check.sh

e2e-smoke: export KUBECONFIG := $(CLUSTER_KUBECONFIG)
e2e-smoke: cluster-up
	$(GO) test -tags e2e -run Smoke -count=1 -v ./hack/e2e/
