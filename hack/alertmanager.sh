#!/usr/bin/env bash
# hack/alertmanager.sh: a real Alertmanager for the end-to-end test of
# `runbook serve`, built once from the Go module proxy into the cache the
# way hack/cluster.sh builds Kubernetes.
#
#   hack/alertmanager.sh build   build (or find) the binary; print its path
#   hack/alertmanager.sh path    print the binary's path; exit 1 when not built
#
# v0.26.0 is the newest release whose main package builds from the module
# alone (later ones embed UI assets that are not in the module); it sends the
# same version-4 webhook payload. The binary lands in
# ${RUNBOOK_CACHE:-/var/cache/runbook}/alertmanager-v0.26.0/alertmanager; the
# build goes to a .tmp directory renamed into place when done, under a lock,
# so a half build is never used and two builds never run at once (about a
# minute on 2 cores).
set -Eeuo pipefail

AM_VERSION=v0.26.0
RUNBOOK_CACHE=${RUNBOOK_CACHE:-/var/cache/runbook}
AM_DIR=${RUNBOOK_CACHE%/}/alertmanager-$AM_VERSION
AM_BIN=$AM_DIR/alertmanager

die() {
  echo "alertmanager.sh: $*" >&2
  exit 1
}

build() {
  local go=go tmp
  [[ -x $AM_BIN ]] && { echo "$AM_BIN"; return 0; }
  command -v go >/dev/null || go=/usr/local/go/bin/go
  [[ -x $go ]] || command -v "$go" >/dev/null || die "go is needed to build Alertmanager $AM_VERSION"
  mkdir -p "$RUNBOOK_CACHE"
  exec 9>"$RUNBOOK_CACHE/.alertmanager-$AM_VERSION.lock"
  flock 9
  if [[ ! -x $AM_BIN ]]; then
    echo "alertmanager.sh: building Alertmanager $AM_VERSION into $AM_DIR (about a minute on 2 cores)" >&2
    tmp=$AM_DIR.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # Outside any module (GOWORK=off, an empty directory): `go install
    # MODULE@VERSION` resolves Alertmanager's own go.mod, as its release does.
    (cd "$tmp" && CGO_ENABLED=0 GOWORK=off GOFLAGS='' GOBIN="$tmp" \
      "$go" install -trimpath -ldflags "-s -w" \
      "github.com/prometheus/alertmanager/cmd/alertmanager@$AM_VERSION")
    [[ -x $tmp/alertmanager ]] || die "the build left no binary in $tmp"
    rm -rf "$AM_DIR"
    mv -T "$tmp" "$AM_DIR"
  fi
  exec 9>&-
  echo "$AM_BIN"
}

case "${1:-}" in
  build) build ;;
  path)
    [[ -x $AM_BIN ]] || die "not built: run hack/alertmanager.sh build"
    echo "$AM_BIN"
    ;;
  *) die "usage: hack/alertmanager.sh build|path" ;;
esac
