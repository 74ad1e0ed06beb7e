# hack/cluster.mk: the local Kubernetes cluster of hack/cluster.sh, included
# by the project's Makefile.
#
#   make cluster-up          bring the cluster up (idempotent; NODES=2 for two nodes,
#                            KUBE_VERSION=v1.33.13 for the oldest supported version)
#   make cluster-down        stop it and remove all its state
#   make cluster-status      show its processes, API and nodes
#   make cluster-test-down   down, then check that nothing is left
#   make e2e-smoke           bring it up and run the smoke test (client-go)
#
# RUNBOOK_CLUSTER_DIR (state dir) and RUNBOOK_CACHE (Kubernetes and CoreDNS
# binaries, images) may be overridden; the user kubeconfig is
# CLUSTER_KUBECONFIG. CLUSTER_ADDONS=none brings the cluster up without
# kube-proxy and CoreDNS (default: both; see hack/cluster.sh).
#
# KUBE_VERSION picks the Kubernetes version (default: the one hack/kubebin/go.mod
# pins, KUBE_DEFAULT_VERSION; the others have a VERSION.mod there, the
# oldest is KUBE_OLDEST_VERSION); each is built once into the cache. A running
# cluster of another version, or of another NODES, is brought down first.
# Without NODES, cluster-up reuses a healthy cluster of any size and
# otherwise brings up one node.

RUNBOOK_CLUSTER_DIR ?= /var/lib/runbook-cluster
export RUNBOOK_CLUSTER_DIR
CLUSTER_KUBECONFIG := $(RUNBOOK_CLUSTER_DIR)/kubeconfig
CLUSTER_SH := hack/cluster.sh
GO ?= go
KUBE_DEFAULT_VERSION := $(shell sed -En 's/^(require)?[[:space:]]*k8s\.io\/kubernetes (v[^ ]*)$$/\2/p' hack/kubebin/go.mod)
KUBE_OLDEST_VERSION  := $(firstword $(sort $(basename $(notdir $(wildcard hack/kubebin/v*.mod)))))
ifdef KUBE_VERSION
export KUBE_VERSION
endif
ifdef NODES
export NODES
endif

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
