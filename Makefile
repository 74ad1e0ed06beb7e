# runbook: build, test and demo. `make demo` and `make test` are the two
# set-up commands of the README; both bring up the local cluster themselves.
SHELL     := /bin/bash
GO        ?= go
BIN       := bin
PKGS      := ./...
FUZZTIME  ?= 20s
export RUNBOOK_CLUSTER_DIR ?= /var/lib/runbook-cluster
CLUSTER_KUBECONFIG := $(RUNBOOK_CLUSTER_DIR)/kubeconfig
OUT       ?= out
# Every build and test is -trimpath and compiled without DWARF (the
# compiler's -dwarf=false: 9% less compile time, archives a fifth smaller
# for the link to read; stack traces keep their files and lines), as the
# Kubernetes build of hack/cluster.sh is: the packages both use (client-go,
# apimachinery, api) are then compiled once into the Go build cache, not
# once per set of flags.
export GOFLAGS := $(strip $(GOFLAGS) -trimpath -gcflags=all=-dwarf=false)
# staticcheck is pinned in hack/tools/tools.mod (go get -modfile=hack/tools/tools.mod
# -tool honnef.co/go/tools/cmd/staticcheck@VERSION), so that it does not move the
# versions of the module's own dependencies.
STATICCHECK := $(GO) tool -modfile=hack/tools/tools.mod staticcheck
SHELL_SCRIPTS = $(shell git ls-files 'hack/*.sh') .ci/run

.PHONY: all build image schema schema-check schema-lsp lint unit fuzz e2e e2e-versions test cluster-lifecycle demo bench clean

all: build

include hack/cluster.mk

# The compiler and linker of a build run with GOGC=400 under a soft 6 GiB
# GOMEMLIMIT, as hack/cluster.sh's builds of Kubernetes do (12% less build
# time on 2 cores): only the toolchain's processes, never a test or the
# tool itself, which run with Go's defaults.
BUILD_GOGC       ?= 400
BUILD_GOMEMLIMIT ?= 6GiB
BUILD_ENV        := GOGC=$(BUILD_GOGC) GOMEMLIMIT=$(BUILD_GOMEMLIMIT)

build:
	$(BUILD_ENV) $(GO) build -o $(BIN)/runbook ./cmd/runbook
	ln -sf runbook $(BIN)/kubectl-runbook

## image: the tool's image, runbook.local/runbook:dev: the static binary
## (CGO_ENABLED=0, -trimpath) and nothing else, as an OCI tar in $(OUT)/,
## imported into every node of the local cluster (skipped on a node that
## has it at the same digest). runbook job uses it (imagePullPolicy
## IfNotPresent: nothing is pulled).
image:
	CGO_ENABLED=0 $(BUILD_ENV) $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/image/runbook ./cmd/runbook
	OUT=$(OUT) hack/image.sh $(BIN)/image/runbook

## schema: regenerate schemas/*.json from the Go types and their comments
schema:
	$(GO) run ./hack/schemagen schemas

## schema-check: fail when the checked-in schemas are stale
schema-check:
	@tmp=$$(mktemp -d) && $(GO) run ./hack/schemagen $$tmp && \
	  for f in runbook.schema.json result.schema.json; do \
	    if ! cmp -s $$tmp/$$f schemas/$$f; then echo "schemas/$$f is stale: run make schema" >&2; diff -u schemas/$$f $$tmp/$$f | head -20; rm -rf $$tmp; exit 1; fi; \
	  done; rm -rf $$tmp; echo "schemas are up to date"

## schema-lsp: drive a real yaml-language-server with the schema, as an
## editor does: the examples get no diagnostics, each typo of
## hack/yamlls/testdata/typos.yaml gets one, completion offers the enums.
## The server is pinned in hack/yamlls/package-lock.json and installed from
## the npm registry into hack/yamlls/node_modules when missing (node and npm
## from Debian when missing); the product needs none of it.
YAMLLS_DIR   := hack/yamlls
YAMLLS_STAMP := $(YAMLLS_DIR)/node_modules/.installed

$(YAMLLS_STAMP): $(YAMLLS_DIR)/package.json $(YAMLLS_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "installing node and npm"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	cd $(YAMLLS_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

schema-lsp: $(YAMLLS_STAMP)
	$(GO) test -tags yamlls -count=1 ./hack/yamlls/

## lint: gofmt, go vet, staticcheck (a tool of hack/tools/tools.mod, kept out
## of the module's own dependencies), the import layers, and shellcheck over
## every shell script (installed from Debian when missing)
lint: schema-check
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^hack/kubebin/')); if [ -n "$$out" ]; then echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./hack/e2e/
	$(GO) vet -tags yamlls ./hack/yamlls/
	$(STATICCHECK) -tags e2e,yamlls $(PKGS)
	hack/check-imports.sh
	@command -v shellcheck >/dev/null || { echo "installing shellcheck"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }
	shellcheck -x $(SHELL_SCRIPTS)

unit:
	@command -v xmllint >/dev/null || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null; }
	$(GO) test -count=1 $(PKGS)

## fuzz: a short, bounded fuzz run of the loader and of runbook serve's webhook (longer: make fuzz FUZZTIME=10m)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./runbook
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./runbook/serve

## e2e: bring the local cluster up (KUBE_VERSION, NODES: see hack/cluster.mk),
## then run the end-to-end tests against it; the log goes to $(OUT)/e2e.log
## (tmux, which the terminal tests drive, is installed from Debian when missing)
E2E_LOG ?= $(OUT)/e2e.log
e2e: build cluster-up
	@command -v tmux >/dev/null || { echo "installing tmux (the terminal tests drive it)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux >/dev/null; }
	@mkdir -p $(OUT)
	$(MAKE) --no-print-directory image
	set -o pipefail; KUBECONFIG=$(CLUSTER_KUBECONFIG) RUNBOOK_BIN=$(CURDIR)/$(BIN)/runbook \
	  $(GO) test -tags e2e -count=1 -timeout 40m -v ./hack/e2e/ 2>&1 | tee $(E2E_LOG)

## e2e-versions: the end-to-end tests on each Kubernetes version of
## E2E_VERSIONS with E2E_NODES nodes, the oldest first, so that the cluster
## is left at the default version; cluster-up brings a cluster of another
## version down before it brings this one up. Logs: $(OUT)/e2e-VERSION.log.
E2E_VERSIONS ?= $(KUBE_OLDEST_VERSION) $(KUBE_DEFAULT_VERSION)
E2E_NODES    ?= 2
e2e-versions: build
	@for v in $(E2E_VERSIONS); do \
	  echo "=== e2e: Kubernetes $$v, $(E2E_NODES) nodes"; \
	  $(MAKE) --no-print-directory e2e KUBE_VERSION=$$v NODES=$(E2E_NODES) E2E_LOG=$(OUT)/e2e-$$v.log || exit 1; \
	done

## test: everything CI runs: lint, schema check, unit tests, the schema in a
## real yaml-language-server, a short fuzz run, the end-to-end tests on the
## oldest supported and the default Kubernetes version with two nodes, then
## cluster-down must leave nothing behind and a second cluster-up must start
## clean (smoke test again)
test: lint unit schema-lsp fuzz e2e-versions cluster-lifecycle

cluster-lifecycle:
	hack/cluster-down-check.sh
	$(MAKE) --no-print-directory e2e-smoke

## demo: the local cluster, the seed's runbook against it, the report. The
## seed needs no DNS, so a cluster is brought up without CoreDNS (one with
## it is reused as it is): a fresh machine builds Kubernetes and nothing else.
demo: export CLUSTER_ADDONS ?= kube-proxy
demo: build cluster-up
	@mkdir -p $(OUT)
	$(BIN)/runbook run --kubeconfig $(CLUSTER_KUBECONFIG) examples/distroless.yaml -o md \
	  --report table=$(OUT)/distroless.txt --report md=$(OUT)/distroless.md --report json=$(OUT)/distroless.json \
	  --report junit=$(OUT)/distroless.xml; \
	  code=$$?; echo; echo "Reports: $(OUT)/distroless.md (above), $(OUT)/distroless.txt (table)  JSON: $(OUT)/distroless.json  JUnit: $(OUT)/distroless.xml"; exit $$code

bench: build cluster-up
	KUBECONFIG=$(CLUSTER_KUBECONFIG) RUNBOOK_BIN=$(CURDIR)/$(BIN)/runbook hack/bench/run.sh

clean:
	rm -rf $(BIN) $(OUT)
