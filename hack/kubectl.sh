#!/usr/bin/env bash
# hack/kubectl.sh VERSION: build kubectl VERSION (e.g. v1.33.13) from the Go
# module proxy (k8s.io/kubectl v0.MINOR.PATCH, hack/kubectl/main.go), cache it
# as ${RUNBOOK_CACHE:-/var/cache/runbook}/kubectl-VERSION and print its path.
#
# A test-only peer: the e2e tests run the kubectl lines runbook prints with
# the kubectl of the cluster's own version (hack/e2e/kubectl_line_e2e_test.go).
# runbook needs no kubectl. A cached build is reused; a lock keeps two builds
# of one version from running at once, and the binary is renamed into place
# only when built, so a half build is never used.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${RUNBOOK_CACHE:-/var/cache/runbook}
CACHE=${CACHE%/}

die() { echo "kubectl.sh: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: hack/kubectl.sh VERSION (e.g. v1.33.13)"
version=$1
# A release or pre-release of Kubernetes 1.x: v1.33.13, v1.37.0-rc.1.
[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.]+)?$ ]] ||
  die "version $version is not a Kubernetes release like v1.33.13"
minor=${BASH_REMATCH[1]}
module_version=v0.${minor}.${BASH_REMATCH[2]}${BASH_REMATCH[3]}
bin=$CACHE/kubectl-$version

if [[ ! -x $bin ]]; then
  go=go
  command -v go >/dev/null || go=/usr/local/go/bin/go
  command -v "$go" >/dev/null || die "go is needed to build kubectl $version"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.kubectl-$version.lock"
  flock 9
  if [[ ! -x $bin ]]; then
    echo "kubectl.sh: building kubectl $version (k8s.io/kubectl $module_version) into $bin" >&2
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # The copy is a module of its own: drop the constraint that keeps the
    # file out of runbook's module.
    sed '/^\/\/go:build ignore$/d' "$HACK_DIR/kubectl/main.go" >"$work/main.go"
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
    (
      cd "$work"
      # The compiler flags of hack/cluster.sh's build (no DWARF), so that the
      # packages of the same version are shared with it in the build cache.
      export GOWORK=off GOFLAGS="-mod=mod -gcflags=all=-dwarf=false"
      "$go" mod init runbook.local/kubectl >/dev/null 2>&1
      "$go" get "k8s.io/kubectl@$module_version" >&2
      "$go" mod tidy >&2
      # Built as hack/cluster.sh builds Kubernetes (-trimpath, cgo as the
      # toolchain defaults): the packages of the same version are compiled
      # once into the Go build cache for both.
      # GOGC and GOMEMLIMIT of the compiler and linker as hack/cluster.sh's.
      GOGC=${BUILD_GOGC:-400} GOMEMLIMIT=${BUILD_GOMEMLIMIT:-6GiB} \
        "$go" build -trimpath -ldflags "$ldflags" -o "$work/kubectl" .
    )
    mv -f "$work/kubectl" "$bin.tmp"
    mv -f "$bin.tmp" "$bin"
  fi
  exec 9>&-
fi
echo "$bin"
