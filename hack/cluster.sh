#!/usr/bin/env bash
# hack/cluster.sh: the project's own local Kubernetes cluster, for the
# end-to-end tests: by default the Kubernetes version that hack/kubebin/go.mod
# pins (v1.37), or KUBE_VERSION, one of those hack/kubebin has a VERSION.mod
# for (v1.33.13, the oldest supported). See ../../shared/design/local-cluster.md for the
# facts it is built on.
#
#   hack/cluster.sh up           bring the cluster up (reuse a healthy one,
#                                rebuild a broken one); NODES=2 for two nodes
#                                (without NODES: the running cluster's count,
#                                or one), KUBE_VERSION=v1.33.13 for that version
#   hack/cluster.sh down         stop what `up` started and remove all its state
#   hack/cluster.sh status       show processes, API and nodes; exit 1 if unhealthy
#   hack/cluster.sh env          print `export KUBECONFIG=...`
#   hack/cluster.sh logs [NAME]  tail the component logs (or one, e.g. kubelet-1)
#   hack/cluster.sh pids         list every process of the cluster ("pid start what")
#   hack/cluster.sh build        only build (or find) the binaries and images in the cache
#
# Add-ons, on unless CLUSTER_ADDONS says otherwise (CLUSTER_ADDONS=none for a
# bare cluster, =kube-proxy for Services without DNS): kube-proxy (iptables
# mode, one process per node) and CoreDNS (Deployment kube-system/coredns,
# Service kube-dns at 10.96.0.10; pods resolve NAME.NS.svc.cluster.local).
# CLUSTER_ADDONS is the least a reused cluster must have: a healthy cluster
# with more add-ons is reused as it is (`make demo` asks for kube-proxy only,
# so that a fresh machine does not build CoreDNS for a seed that needs no
# DNS). See hack/lib/cluster-addons.sh.
#
# Layout: binaries are built once into ${RUNBOOK_CACHE:-/var/cache/runbook}/kube-VERSION
# (one multi-call binary, kubebin, and a symlink per component) and
# coredns-VERSION-KEY; everything else (certificates, configs, pid files, logs, etcd and
# containerd data) lives in ${RUNBOOK_CLUSTER_DIR:-/var/lib/runbook-cluster}.
# The user kubeconfig is $RUNBOOK_CLUSTER_DIR/kubeconfig (API at
# https://10.199.0.2:6443).
#
# Each node lives in its own network namespace (runbook-node, runbook-node2),
# joined to the host by a veth pair; every cluster process is started inside
# it with `nsenter --net` (not `ip netns exec`, which remounts /sys and hides
# the cgroup mounts from the kubelet), in its own session, with a pid file
# and a log.
#
# Images come from no registry: registry.k8s.io/pause:3.10.2 is compiled here,
# docker.io/library/busybox:1.36 is Debian's busybox-static, which is
# BusyBox 1.35, tagged 1.36 so that the seed's runbook runs unchanged, and
# registry.k8s.io/coredns/coredns:VERSION is the CoreDNS built here.
set -Eeuo pipefail
shopt -s inherit_errexit

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/lib/cluster-common.sh
source "$HACK_DIR/lib/cluster-common.sh"
# shellcheck source=hack/lib/cluster-pki.sh
source "$HACK_DIR/lib/cluster-pki.sh"
# shellcheck source=hack/lib/cluster-images.sh
source "$HACK_DIR/lib/cluster-images.sh"
# shellcheck source=hack/lib/cluster-addons.sh
source "$HACK_DIR/lib/cluster-addons.sh"

T0=$(now_ms)
PHASE_T0=$T0

# secs prints the seconds between two millisecond stamps, e.g. 3.2.
secs() { printf '%d.%d' $((($2 - $1) / 1000)) $(((($2 - $1) % 1000) / 100)); }

# phase prints the start of a phase with the time elapsed since the start.
phase() {
  PHASE_T0=$(now_ms)
  log "[$(secs "$T0" "$PHASE_T0")s] $*"
}

# phase_done prints how long the current phase took.
phase_done() { log "         done in $(secs "$PHASE_T0" "$(now_ms)")s${1:+ ($1)}"; }

# ---------------------------------------------------------------- packages

# NEEDS maps what the harness runs (a command, or an absolute path) to the
# Debian package that provides it. Only what is missing is installed, so a
# machine with another containerd package (e.g. Docker's containerd.io)
# keeps it.
NEEDS=(
  containerd:containerd ctr:containerd runc:runc
  /usr/lib/cni/bridge:containernetworking-plugins /usr/lib/cni/host-local:containernetworking-plugins
  /usr/lib/cni/loopback:containernetworking-plugins
  busybox-static:busybox-static
  openssl:openssl ip:iproute2 nsenter:util-linux setsid:util-linux flock:util-linux
  curl:curl gcc:gcc libc.a:libc6-dev tar:tar sha256sum:coreutils
)
# kube-proxy's (iptables mode; it also runs nft once to remove the rules of
# its nftables mode).
NEEDS_KUBE_PROXY=(iptables:iptables iptables-restore:iptables iptables-save:iptables nft:nftables)

# present reports whether a NEEDS entry is there.
present() {
  case $1 in
  /*) [[ -x $1 ]] ;;
  # The image needs a static busybox; Debian's "busybox" package is dynamic.
  busybox-static) [[ $(dpkg-query -W -f='${db:Status-Abbrev}' busybox-static 2>/dev/null) == ii* ]] ;;
  libc.a) compgen -G '/usr/lib/*/libc.a' >/dev/null || [[ -f /usr/lib/libc.a ]] ;;
  *) command -v "$1" >/dev/null ;;
  esac
}

# packages_missing prints the Debian packages of whatever is missing, one a
# line.
packages_missing() {
  local missing=() e needs=("${NEEDS[@]}")
  if addon_wanted kube-proxy; then needs+=("${NEEDS_KUBE_PROXY[@]}"); fi
  for e in "${needs[@]}"; do
    present "${e%%:*}" || missing+=("${e#*:}")
  done
  ((${#missing[@]})) || return 0
  printf '%s\n' "${missing[@]}" | sort -u
}

# ensure_packages installs the Debian packages of whatever is missing, with
# one apt-get update.
ensure_packages() {
  local missing
  mapfile -t missing < <(packages_missing)
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  log "         installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- binaries

# binaries_missing prints the Kubernetes binaries this cluster needs that
# the cache does not have (kube-proxy only with the kube-proxy add-on).
binaries_missing() {
  local b
  for b in "${KUBE_BINARIES[@]}"; do
    [[ $b == kube-proxy ]] && ! addon_wanted kube-proxy && continue
    [[ -x $KUBE_BIN_DIR/$b ]] || echo "$b"
  done
  return 0
}

# Kubernetes, CoreDNS and kubectl are compiled without DWARF (the linker's
# -w drops it anyway): client-go's typed clients from empty caches took
# 82.5 s instead of 90.9 s, into a build cache 425 MB instead of 543 MB,
# which the link then reads. runbook's Makefile compiles with the same
# flags, so that the packages both use are compiled once.
BUILD_GCFLAGS=-gcflags=all=-dwarf=false

# The Go toolchain's own processes (compiler, linker) build Kubernetes,
# CoreDNS and kubectl with GOGC=400 (BUILD_GOGC), bounded by a soft
# GOMEMLIMIT of 6 GiB each (BUILD_GOMEMLIMIT): fewer collections for some
# more memory, 12% less build time on 2 cores (client-go's typed clients
# from empty caches, two pairs: 124.7 s and 128.2 s at the default GOGC,
# 113.7 s and 108.4 s at 400). The built binaries are the same; only the
# compiler runs differently. The Makefile builds runbook the same way.
BUILD_GOGC=${BUILD_GOGC:-400}
BUILD_GOMEMLIMIT=${BUILD_GOMEMLIMIT:-6GiB}

# go_cmd prints the go command to build with.
go_cmd() {
  local go=go
  command -v go >/dev/null || go=/usr/local/go/bin/go
  [[ -x $go ]] || command -v "$go" >/dev/null || die "go is needed to build $1"
  echo "$go"
}

# kube_modfile prints the module file of hack/kubebin that pins
# $KUBE_VERSION (go.mod for the default version, VERSION.mod for the
# others), or fails for a version it does not pin.
kube_modfile() {
  if [[ $KUBE_VERSION == "$KUBE_DEFAULT_VERSION" ]]; then
    echo go.mod
  elif [[ -f $HACK_DIR/kubebin/$KUBE_VERSION.mod ]]; then
    echo "$KUBE_VERSION.mod"
  else
    die "KUBE_VERSION=$KUBE_VERSION is not supported; supported: $(kube_versions | tr '\n' ' ')(hack/kubebin)"
  fi
}

# KUBE_BUILD_MINUTES is roughly how long building Kubernetes takes with
# empty Go caches on 2 idle cores (measured for v1.37.2: see
# docs/architecture.md); more on a busy machine.
KUBE_BUILD_MINUTES=7

# kube_progress reads `go build -v` output (one package path a line, as
# each is compiled) and says about once a minute how many of $1 packages
# are done and roughly how long is left; every other line (compiler
# errors) is passed through.
kube_progress() {
  local total=$1 n=0 t0 last now line left
  t0=$(now_ms)
  last=$t0
  while IFS= read -r line; do
    if [[ ! $line =~ ^[A-Za-z0-9._~/-]+$ ]]; then
      printf '%s\n' "$line" >&2
      continue
    fi
    n=$((n + 1))
    if [[ $line == runbook.local/hack/kubebin ]]; then
      log "         $n packages compiled in $(secs "$t0" "$(now_ms)")s; linking the binary (about a minute)"
      continue
    fi
    now=$(now_ms)
    if ((now - last >= 60000 && n < total)); then
      last=$now
      left=$(((now - t0) * (total - n) / n / 60000 + 1))
      log "         $n of about $total packages compiled in $(secs "$t0" "$now")s; roughly $left more minute(s), then the link"
    fi
  done
}

# ensure_binaries builds the Kubernetes components into the cache when any
# is missing: one multi-call binary, kubebin (the nested module
# hack/kubebin, from the module proxy, without debug information), linked
# once, with a symlink for each component's name. The build goes to a .tmp
# directory renamed into place when done, so a half build is never used; a
# lock keeps two builds from running at once.
ensure_binaries() {
  local go modfile ldflags tmp total b t0
  [[ -z $(binaries_missing) ]] && return 0
  modfile=$(kube_modfile)
  go=$(go_cmd "Kubernetes $KUBE_VERSION")
  mkdir -p "$RUNBOOK_CACHE"
  exec 9>"$RUNBOOK_CACHE/.kube-$KUBE_VERSION.lock"
  flock 9
  if [[ -n $(binaries_missing) ]]; then
    t0=$(now_ms)
    log "         building Kubernetes $KUBE_VERSION into $KUBE_BIN_DIR: one binary for ${KUBE_BINARIES[*]},"
    log "         from the Go module proxy (hack/kubebin/$modfile); about $KUBE_BUILD_MINUTES minutes on 2 idle cores with empty Go caches, once per version"
    ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(kube_minor "$KUBE_VERSION")"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
    tmp=$KUBE_BIN_DIR.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    log "         downloading its modules"
    (cd "$HACK_DIR/kubebin" && GOWORK=off GOFLAGS="${GOFLAGS:-} $BUILD_GCFLAGS -modfile=$modfile -buildvcs=false" "$go" mod download)
    total=$(cd "$HACK_DIR/kubebin" && GOWORK=off GOFLAGS="${GOFLAGS:-} $BUILD_GCFLAGS -modfile=$modfile -buildvcs=false" "$go" list -deps . | wc -l)
    log "         modules in $(secs "$t0" "$(now_ms)")s; compiling about $total packages"
    if ! (cd "$HACK_DIR/kubebin" && GOWORK=off GOFLAGS="${GOFLAGS:-} $BUILD_GCFLAGS -modfile=$modfile -buildvcs=false" \
      GOGC=$BUILD_GOGC GOMEMLIMIT=$BUILD_GOMEMLIMIT "$go" build -v \
      -trimpath -ldflags "$ldflags" -o "$tmp/kubebin" .) 2>&1 | kube_progress "$total"; then
      die "building Kubernetes $KUBE_VERSION failed"
    fi
    for b in "${KUBE_BINARIES[@]}"; do ln -s kubebin "$tmp/$b"; done
    rm -rf "$KUBE_BIN_DIR"
    mv -T "$tmp" "$KUBE_BIN_DIR"
    log "         Kubernetes $KUBE_VERSION built in $(secs "$t0" "$(now_ms)")s"
  fi
  exec 9>&-
}

# coredns_key identifies a CoreDNS build: the nested module hack/coredns
# (version, plugins) and the image recipe.
coredns_key() {
  cat "$HACK_DIR"/coredns/{go.mod,go.sum,main.go} "$HACK_DIR/lib/cluster-images.sh" | sha256sum | cut -c1-12
}
COREDNS_DIR=$RUNBOOK_CACHE/coredns-$COREDNS_VERSION-$(coredns_key)

# ensure_coredns builds CoreDNS (static) from the module proxy and its image
# into $COREDNS_DIR when they are missing, the same way as ensure_binaries.
ensure_coredns() {
  local go tmp
  [[ -x $COREDNS_DIR/coredns && -f $COREDNS_DIR/coredns.tar ]] && return 0
  go=$(go_cmd "CoreDNS $COREDNS_VERSION")
  mkdir -p "$RUNBOOK_CACHE"
  exec 9>"$RUNBOOK_CACHE/.coredns-$COREDNS_VERSION.lock"
  flock 9
  if [[ ! -x $COREDNS_DIR/coredns || ! -f $COREDNS_DIR/coredns.tar ]]; then
    log "         building CoreDNS $COREDNS_VERSION and its image into $COREDNS_DIR (about a minute and a half on 2 cores, module downloads included)"
    tmp=$COREDNS_DIR.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (cd "$HACK_DIR/coredns" && CGO_ENABLED=0 GOWORK=off GOFLAGS="$BUILD_GCFLAGS" GOGC=$BUILD_GOGC GOMEMLIMIT=$BUILD_GOMEMLIMIT \
      "$go" build -trimpath \
      -ldflags "-s -w" -o "$tmp/coredns" .)
    image_coredns "$tmp" >&2
    rm -rf "$COREDNS_DIR"
    mv -T "$tmp" "$COREDNS_DIR"
  fi
  exec 9>&-
}

# ---------------------------------------------------------------- processes

# start_component NAME NETNS CGROUP CMD... starts CMD inside network
# namespace NETNS, in a new session (so its pid is its process group), with
# every inherited descriptor but 0-2 closed, and records its pid and start
# time. When CGROUP is not empty, CMD starts in that cgroup (all
# hierarchies), and so do the processes it forks. When MNTNS names a mount
# namespace file (node_mntns), CMD runs in that mount namespace too.
start_component() {
  local name=$1 netns=$2 cg=$3 pid mnt=()
  shift 3
  if [[ -n ${MNTNS:-} ]]; then mnt=(--mount="$MNTNS"); fi
  mkdir -p "$RUN" "$LOGS"
  (
    cd /
    me=$BASHPID
    for fd in "/proc/$me/fd"/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-"; fi
    done
    if [[ -n $cg ]]; then
      for m in $(cgroup_mounts); do echo "$me" >"$m/$cg/cgroup.procs"; done
    fi
    exec setsid nsenter --net="/var/run/netns/$netns" "${mnt[@]}" -- "$@" </dev/null >>"$LOGS/$name.log" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  proc_start "$pid" >"$RUN/$name.start" || true
}

# stop_process PID START NAME stops a process and its process group: TERM,
# up to 15 seconds, then KILL. It does nothing when the pid now belongs to
# another process (different start time).
stop_process() {
  local pid=$1 start=$2 name=$3 i
  proc_alive "$pid" "$start" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 75; i++)); do
    proc_alive "$pid" "$start" || return 0
    sleep 0.2
  done
  log "         $name (pid $pid) ignored SIGTERM, sending SIGKILL"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    proc_alive "$pid" "$start" || return 0
    sleep 0.1
  done
  log "         $name (pid $pid) is still alive"
}

# stop_component NAME stops the process recorded in NAME's pid file.
stop_component() {
  local rec
  rec=$(pidfile_read "$RUN/$1.pid") || return 0
  # shellcheck disable=SC2086 # "pid start": split into two arguments
  set -- "$1" $rec
  stop_process "$2" "${3:-}" "$1"
}

# ---------------------------------------------------------------- checks

# api_get PATH prints the API server's answer to GET PATH as the admin.
api_get() {
  curl -sS --fail --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" \
    --key "$PKI/admin.key" "$API_URL$1" 2>/dev/null
}

api_ready() { [[ $(api_get /readyz) == ok ]]; }

node_registered() { api_get "/api/v1/nodes/$1" >/dev/null; }

# node_ready reports whether node $1's Ready condition is the kubelet's
# own "KubeletReady" (Ready=True).
node_ready() {
  local node
  node=$(api_get "/api/v1/nodes/$1") || return 1
  [[ $node =~ \"reason\":\ *\"KubeletReady\" ]]
}

kubelet_healthy() {
  nsenter --net="/var/run/netns/$(node_netns "$1")" -- \
    curl -sS --fail --max-time 3 http://127.0.0.1:10248/healthz >/dev/null 2>&1
}

# cluster_healthy reports whether a cluster of $1 nodes with at least the
# add-ons recorded as $2 runs: every process alive, API ready, each kubelet
# healthy and each node Ready, each kube-proxy synced. A cluster with more
# add-ons than asked for is reused (make demo asks only for kube-proxy, and
# takes a cluster that has CoreDNS too); one with fewer is not.
cluster_healthy() {
  local nodes=$1 c i
  [[ -f $USER_KUBECONFIG && $(state_nodes) == "$nodes" ]] || return 1
  addons_include "$(state_addons)" "$2" || return 1
  [[ $(state_version) == "$KUBE_VERSION" ]] || return 1
  for c in $(components "$nodes"); do component_alive "$c" || return 1; done
  api_ready || return 1
  for ((i = 1; i <= nodes; i++)); do
    kubelet_healthy "$i" && node_ready "$(node_name "$i")" || return 1
    if addon_wanted kube-proxy; then kube_proxy_healthy "$i" || return 1; fi
  done
}

# print_logs prints the end of every component's log and of the kube-system
# pods' container logs (CoreDNS).
print_logs() {
  local n=${1:-25} f
  for f in "$LOGS"/*.log "$STATE"/node-*/pod-logs/kube-system_*/*/*.log; do
    [[ -f $f ]] || continue
    log "----- $(basename "$f" .log): last $n lines of $f"
    tail -n "$n" "$f" >&2 || true
  done
}

# wait_for DESC SECONDS COMPONENT CMD... runs CMD every half second until it
# succeeds; it prints the logs and fails after SECONDS, or as soon as the
# process of COMPONENT ("-" for none) has exited.
wait_for() {
  local desc=$1 timeout=$2 comp=$3 deadline
  shift 3
  deadline=$(($(now_ms) + timeout * 1000))
  until "$@"; do
    if [[ $comp != - ]] && ! component_alive "$comp"; then
      log "cluster: $comp exited while waiting for $desc"
      print_logs 40
      exit 1
    fi
    if (($(now_ms) > deadline)); then
      log "cluster: timed out after ${timeout}s waiting for $desc"
      print_logs 40
      exit 1
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------- bring-up

# netns_up creates node $1's network namespace and veth pair. The node gets
# routes through the host to the cluster's ranges only (nodes, pods,
# Services), no default route: nothing a node or a pod sends to another
# address (CoreDNS forwarding a name outside the cluster, an image pull)
# leaves the machine, even when the host forwards (two nodes or more); it
# fails at once as unreachable.
netns_up() {
  local i=$1 ns veth r
  ns=$(node_netns "$i")
  veth=$(node_veth "$i")
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip addr add "$(node_host_ip "$i")/30" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(node_ip "$i")/30" dev eth0
  ip -n "$ns" link set eth0 up
  for r in 10.199.0.0/24 "$CLUSTER_CIDR" "$SERVICE_CIDR"; do
    ip -n "$ns" route add "$r" via "$(node_host_ip "$i")"
  done
}

# cgroup_v1 reports whether the host mounts cgroup v1 hierarchies (the
# unified cgroup v2 hierarchy is a cgroup2 file system at /sys/fs/cgroup).
cgroup_v1() { [[ $(stat -fc %T "$CGROUP_FS" 2>/dev/null) != cgroup2fs ]]; }

# cgroup_v1_note says on the console that the kubelets run on cgroup v1,
# which Kubernetes deprecated (from v1.35 the kubelet needs failCgroupV1:
# false in its config to start at all).
cgroup_v1_note() {
  if cgroup_v1 && (($(kube_minor "$KUBE_VERSION") >= 35)); then
    log "         note: this host has cgroup v1, which Kubernetes $KUBE_VERSION has deprecated: the kubelets run with failCgroupV1: false"
  fi
  return 0
}

# cgroup_mounts prints the cgroup hierarchies' mount points.
cgroup_mounts() { awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts; }

# cgroup_create PATH makes cgroup PATH (relative to the hierarchies' roots)
# in every hierarchy, cpuset values copied from the parent at each level.
cgroup_create() {
  local m d parent part
  for m in $(cgroup_mounts); do
    d=$m
    for part in ${1//\// }; do
      parent=$d
      d=$d/$part
      mkdir -p "$d"
      if [[ -f $d/cpuset.cpus ]]; then
        [[ -n $(cat "$d/cpuset.cpus") ]] || cat "$parent/cpuset.cpus" >"$d/cpuset.cpus"
        [[ -n $(cat "$d/cpuset.mems") ]] || cat "$parent/cpuset.mems" >"$d/cpuset.mems"
      fi
    done
  done
}

# node_cgroups_create makes node $1's cgroup tree: its root, the kubelet's
# --cgroup-root (pods go to ROOT/kubepods), ROOT/runtime for containerd
# and the shims it starts, and ROOT/kube-proxy. Every process of the node's
# pods, runtime and proxy is then in that tree, which is how `down` finds
# them all.
node_cgroups_create() {
  cgroup_create "$(node_cgroup "$1")/runtime"
  if addon_wanted kube-proxy; then cgroup_create "$(node_cgroup "$1")/kube-proxy"; fi
}

# node_mntns_up gives node $1 (from the second on) a mount namespace of its
# own, where /etc/hostname holds the node's name; its containerd and
# kubelet run in it (node_mntns), and so do its pods. Every node shares the
# host's file system, but a real node's /etc/hostname names the node, and
# node debug pods read it through /host (the seed compares it with the
# node's name). The namespace files live in $STATE/mntns, a private bind
# mount (a mount namespace can only be pinned on a private mount); the
# namespace, and the mounts the kubelet and containerd made in it, go away
# when `down` unmounts the file after their processes ended.
node_mntns_up() {
  local i=$1 f nd
  f=$(node_mntns "$i")
  [[ -n $f ]] || return 0
  nd=$(node_dir "$i")
  mkdir -p "$nd" "$STATE/mntns"
  if ! mountpoint -q "$STATE/mntns"; then
    mount --bind "$STATE/mntns" "$STATE/mntns"
    mount --make-private "$STATE/mntns"
  fi
  node_name "$i" >"$nd/hostname"
  touch "$f"
  unshare --mount="$f" --propagation private mount --bind "$nd/hostname" /etc/hostname
}

# node_configs writes node $1's containerd config, CNI config, kubelet
# config and, with the add-on, kube-proxy config.
node_configs() {
  local i=$1 nd sock
  nd=$(node_dir "$i")
  sock=$(node_sock "$i")
  mkdir -p "$nd/containerd" "$nd/cni/net.d" "$nd/cni/networks" "$nd/kubelet" "$nd/pod-logs" "$nd/runc"
  # restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and sandboxes
  # at -998 make runc fail. Pod network namespaces are mounted under the
  # state dir, runc keeps its state under it too.
  cat >"$CONF/containerd-$i.toml" <<EOF
version = 2
root = "$nd/containerd/root"
state = "$nd/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$nd/containerd/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "$nd/runc"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$nd/cni/net.d"
      max_conf_num = 1
EOF
  # One bridge network per node; containerd's CRI adds the loopback
  # interface itself with /usr/lib/cni/loopback.
  cat >"$nd/cni/net.d/10-runbook.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "runbook",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$nd/cni/networks",
        "ranges": [[{"subnet": "$(node_pod_cidr "$i")"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  cat >"$CONF/kubelet-$i.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $(node_ip "$i")
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: AlwaysAllow
tlsCertFile: $PKI/kubelet-$i.crt
tlsPrivateKeyFile: $PKI/kubelet-$i.key
cgroupDriver: cgroupfs
cgroupRoot: /$(node_cgroup "$i")
failSwapOn: false
containerRuntimeEndpoint: unix://$sock
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
localStorageCapacityIsolation: false
podLogsDir: $nd/pod-logs
volumePluginDir: $nd/volume-plugins
podCIDR: $(node_pod_cidr "$i")
serializeImagePulls: false
EOF
  # Kubelets from v1.35 on refuse to start on cgroup v1 unless told to
  # (failCgroupV1, a field since v1.31); cgroup_v1_note says so on the console.
  if cgroup_v1; then echo "failCgroupV1: false" >>"$CONF/kubelet-$i.yaml"; fi
  if addon_wanted coredns; then
    cat >>"$CONF/kubelet-$i.yaml" <<EOF
clusterDNS:
- $CLUSTER_DNS_IP
clusterDomain: $CLUSTER_DOMAIN
resolvConf: $(host_resolv_conf)
EOF
  fi
  if addon_wanted kube-proxy; then kube_proxy_config "$i"; fi
}

# host_resolv_conf prints the resolv.conf the kubelet gives pods with
# dnsPolicy Default (CoreDNS forwards to its nameservers): /etc/resolv.conf,
# or systemd-resolved's upstream file when /etc/resolv.conf names only
# loopback nameservers (CoreDNS would forward to itself), as kubeadm does.
host_resolv_conf() {
  local f=/run/systemd/resolve/resolv.conf
  if [[ -f $f ]] && ! grep -Eqv '^nameserver[[:space:]]+127\.' <(grep '^nameserver' /etc/resolv.conf); then
    echo "$f"
  else
    echo /etc/resolv.conf
  fi
}

start_containerd() {
  MNTNS=$(node_mntns "$1") start_component "containerd-$1" "$(node_netns "$1")" "$(node_cgroup "$1")/runtime" containerd --config "$CONF/containerd-$1.toml"
}

containerd_ready() { ctr -a "$(node_sock "$1")" version >/dev/null 2>&1; }

start_etcd() {
  mkdir -p "$STATE/etcd"
  chmod 700 "$STATE/etcd"
  start_component etcd "$(node_netns 1)" "" "$KUBE_BIN_DIR/etcd" --name runbook --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster runbook=http://127.0.0.1:2380 --initial-cluster-state new
}

etcd_ready() {
  local health
  health=$(nsenter --net="/var/run/netns/$(node_netns 1)" -- \
    curl -sS --fail --max-time 3 http://127.0.0.1:2379/health 2>/dev/null) || return 1
  [[ $health == *'"health":"true"'* ]]
}

start_apiserver() {
  mkdir -p "$STATE/apiserver"
  start_component kube-apiserver "$(node_netns 1)" "" "$KUBE_BIN_DIR/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=0.0.0.0 --advertise-address="$API_IP" --secure-port="$API_PORT" \
    --cert-dir="$STATE/apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --allow-privileged=true \
    --enable-admission-plugins=NodeRestriction
}

start_controller_manager() {
  local kc=$CONF/controller-manager.kubeconfig controllers='*,-nodeipam'
  # v1.33 still has the cloud-node-lifecycle controller (of no use without
  # a cloud provider); by v1.37 it is gone, and naming it is an error.
  if (($(kube_minor "$KUBE_VERSION") <= 33)); then controllers+=',-cloud-node-lifecycle'; fi
  start_component kube-controller-manager "$(node_netns 1)" "" "$KUBE_BIN_DIR/kube-controller-manager" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 \
    --use-service-account-credentials \
    --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --controllers="$controllers" \
    --flex-volume-plugin-dir="$STATE/controller-manager/volume-plugins" \
    --leader-elect=false
}

start_scheduler() {
  local kc=$CONF/scheduler.kubeconfig
  start_component kube-scheduler "$(node_netns 1)" "" "$KUBE_BIN_DIR/kube-scheduler" \
    --kubeconfig="$kc" --authentication-kubeconfig="$kc" --authorization-kubeconfig="$kc" \
    --bind-address=127.0.0.1 --leader-elect=false
}

start_kubelet() {
  local i=$1
  MNTNS=$(node_mntns "$i") start_component "kubelet-$i" "$(node_netns "$i")" "" "$KUBE_BIN_DIR/kubelet" \
    --config="$CONF/kubelet-$i.yaml" --kubeconfig="$CONF/kubelet-$i.kubeconfig" \
    --root-dir="$(node_dir "$i")/kubelet" \
    --hostname-override="$(node_name "$i")" --node-ip="$(node_ip "$i")"
}

default_sa_exists() { api_get /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }

# foreign_check fails when a node network namespace exists without this
# state dir and processes still run in it: another cluster (another
# RUNBOOK_CLUSTER_DIR) owns it, and tearing it down from here would leave
# its processes behind.
foreign_check() {
  local i ns pids
  [[ -d $STATE ]] && return 0
  for ((i = 1; i <= 9; i++)); do
    ns=$(node_netns "$i")
    [[ -e /var/run/netns/$ns ]] || continue
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [[ -z $pids ]] || die "network namespace $ns is used by processes ($pids) of a cluster with another state dir; run its \`hack/cluster.sh down\` first"
  done
}

# state_present reports whether anything of a cluster exists: state dir,
# namespace or veth.
state_present() {
  local i
  [[ -e $STATE ]] && return 0
  for ((i = 1; i <= 9; i++)); do
    [[ -e /var/run/netns/$(node_netns "$i") ]] && return 0
    ip link show "$(node_veth "$i")" >/dev/null 2>&1 && return 0
  done
  return 1
}

# ensure_images prints the directory holding the image tars, built once
# into the cache and keyed by what they are made of.
ensure_images() {
  local key dir tmp
  key=$(cat "$HACK_DIR/images/pause.c" /bin/busybox "$HACK_DIR/lib/cluster-images.sh" | sha256sum | cut -c1-16)
  dir=$RUNBOOK_CACHE/images-$key
  if [[ ! -f $dir/pause.tar || ! -f $dir/busybox.tar ]]; then
    tmp=$dir.tmp.$$
    rm -rf "$tmp"
    images_build "$tmp" >&2
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
  fi
  echo "$dir"
}

# HOST_PATHS are the fixed host directories the cluster writes outside its
# state dir: the kubelet's device plugin socket and container log links,
# containerd's shim sockets (/run/containerd/s), the CNI result cache
# (/var/lib/cni/results). `up` records those it creates so that `down`
# removes them.
HOST_PATHS=(/var/lib/kubelet /var/log/containers /run/containerd /var/lib/cni)

# ensure_all installs the packages and builds (or finds) the binaries of
# the cluster and its add-ons ($ADDONS).
# On a fresh machine the packages are installed while Kubernetes builds
# (apt waits on the network and dpkg, the build on the CPU), unless the
# build itself needs one of them (gcc and the C library for cgo).
ensure_all() {
  local apt_log='' apt_pid='' missing
  phase "packages: containerd runc containernetworking-plugins busybox-static openssl gcc ..."
  missing=$(packages_missing | paste -sd' ')
  if [[ -n $missing && -n $(binaries_missing) ]] && present gcc && present libc.a; then
    apt_log=$(mktemp /tmp/runbook-cluster-apt.XXXXXX)
    ensure_packages >"$apt_log" 2>&1 &
    apt_pid=$!
    phase_done "installing $missing in the background while Kubernetes builds"
  else
    ensure_packages
    phase_done
  fi
  phase "binaries: Kubernetes $KUBE_VERSION in $KUBE_BIN_DIR$(addon_wanted coredns && echo ", CoreDNS $COREDNS_VERSION in $COREDNS_DIR")"
  ensure_binaries
  if addon_wanted coredns; then ensure_coredns; fi
  phase_done
  if [[ -n $apt_pid ]]; then
    phase "packages: waiting for the installation"
    if ! wait "$apt_pid"; then
      tail -20 "$apt_log" >&2
      rm -f "$apt_log"
      die "installing the Debian packages failed"
    fi
    rm -f "$apt_log"
    phase_done
  fi
}

# coredns_up applies the CoreDNS objects unless DNS already answers ($1 is
# "check") and waits until every replica is ready and the cluster DNS
# answers through its Service.
coredns_up() {
  if [[ ${1:-} == check ]] && dns_answers; then return 0; fi
  if [[ ${1:-} == check ]]; then
    phase "CoreDNS does not answer at $CLUSTER_DNS_IP: applying its objects again"
    coredns_apply
  fi
  wait_for "the CoreDNS pods (kube-system/coredns) Ready" 120 - coredns_ready
  wait_for "DNS answers at $CLUSTER_DNS_IP" 30 - dns_answers
  phase_done
}

cmd_up() {
  local nodes=${NODES:-1} i name images p addons_rec tars import_pids
  [[ $nodes =~ ^[1-9]$ ]] || die "NODES must be 1 to 9, not '$nodes'"
  # Without NODES, a healthy cluster of any size is reused.
  if [[ -z ${NODES:-} && -f $STATE/nodes ]]; then nodes=$(state_nodes); fi
  [[ $(id -u) == 0 ]] || die "up needs root (network namespaces, mounts, cgroups)"
  ADDONS=$(addons_parse)
  lock
  foreign_check

  ensure_all
  addons_rec=$(addons_state "$ADDONS")

  if state_present; then
    phase "existing cluster in $STATE"
    if cluster_healthy "$nodes" "$addons_rec"; then
      phase_done "healthy, reused"
      # DNS is workload state a test may have broken (CoreDNS scaled to
      # zero, its ConfigMap changed): put the objects back if it does not answer.
      if addon_wanted coredns; then coredns_up check; fi
      log "cluster: up (Kubernetes $KUBE_VERSION, $nodes node(s), add-ons: $(state_addons | sed 's/=[^ ]*//g')) in $(secs "$T0" "$(now_ms)")s total; $(cmd_env)"
      return 0
    fi
    phase_done "not healthy (or not $nodes node(s), or without add-ons '$ADDONS', or not Kubernetes $KUBE_VERSION but $(state_version)): tearing it down"
    teardown
  fi

  name=$(host_node_name)
  if [[ $name != "$(hostname)" ]]; then
    log "cluster: note: node name '$name' (from /etc/hostname) differs from \`hostname\` ('$(hostname)')"
  fi
  trap 'log "cluster: up failed (line $LINENO)"; print_logs 40' ERR

  phase "network: namespaces and veth pairs for $nodes node(s), API at $API_URL"
  mkdir -p "$STATE" "$CONF" "$RUN" "$LOGS"
  echo "$nodes" >"$STATE/nodes"
  echo "$addons_rec" >"$STATE/addons"
  echo "$KUBE_VERSION" >"$STATE/version"
  for ((i = 1; i <= nodes; i++)); do netns_up "$i"; done
  if ((nodes > 1)); then
    # Nodes reach each other (and the API server) through the host, and so
    # do pods on different nodes: a route per node's pod range (removed with
    # the veth).
    cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.orig"
    echo 1 >/proc/sys/net/ipv4/ip_forward
    for ((i = 1; i <= nodes; i++)); do
      ip route add "$(node_pod_cidr "$i")" via "$(node_ip "$i")" dev "$(node_veth "$i")"
    done
  fi
  phase_done

  cgroup_v1_note
  phase "certificates and kubeconfigs (node name $(node_name 1))"
  pki_all "$nodes"
  kubeconfig_all "$nodes"
  phase_done

  phase "containerd and etcd"
  for p in "${HOST_PATHS[@]}"; do [[ -e $p ]] || echo "$p" >>"$STATE/host-paths"; done
  for ((i = 1; i <= nodes; i++)); do
    node_cgroups_create "$i"
    node_mntns_up "$i"
    node_configs "$i"
    start_containerd "$i"
  done
  start_etcd
  phase_done

  phase "images: $PAUSE_IMAGE, $BUSYBOX_IMAGE (Debian's BusyBox 1.35, tagged 1.36 for the seed)$(addon_wanted coredns && echo ", $COREDNS_IMAGE")"
  images=$(ensure_images)
  tars=("$images/pause.tar" "$images/busybox.tar")
  if addon_wanted coredns; then tars+=("$COREDNS_DIR/coredns.tar"); fi
  # The imports (about a second for CoreDNS's) overlap the API server's
  # start; the kubelets start once they are done.
  import_pids=()
  for ((i = 1; i <= nodes; i++)); do
    wait_for "containerd-$i" 30 "containerd-$i" containerd_ready "$i"
    images_import "$(node_sock "$i")" "${tars[@]}" &
    import_pids+=("$!")
  done
  phase_done "importing in the background"

  phase "kube-apiserver"
  wait_for etcd 30 etcd etcd_ready
  start_apiserver
  wait_for "kube-apiserver /readyz" 90 kube-apiserver api_ready
  phase_done

  phase "controller-manager, scheduler, kubelet(s)$(addon_wanted kube-proxy && echo ", kube-proxy")$(addon_wanted coredns && echo ", CoreDNS objects")"
  start_controller_manager
  start_scheduler
  for p in "${import_pids[@]}"; do wait "$p" || die "importing the images into containerd failed"; done
  for ((i = 1; i <= nodes; i++)); do start_kubelet "$i"; done
  # The CoreDNS pods wait for a Ready node; kube-proxy starts once its node
  # is registered (it reads the node's addresses).
  if addon_wanted coredns; then coredns_apply; fi
  if addon_wanted kube-proxy; then
    for ((i = 1; i <= nodes; i++)); do
      wait_for "node $(node_name "$i") registered" 60 "kubelet-$i" node_registered "$(node_name "$i")"
      start_kube_proxy "$i"
    done
  fi
  for ((i = 1; i <= nodes; i++)); do
    wait_for "node $(node_name "$i") Ready" 120 "kubelet-$i" node_ready "$(node_name "$i")"
  done
  if addon_wanted kube-proxy; then
    for ((i = 1; i <= nodes; i++)); do
      wait_for "kube-proxy-$i synced" 60 "kube-proxy-$i" kube_proxy_healthy "$i"
    done
  fi
  wait_for "the default ServiceAccount" 60 kube-controller-manager default_sa_exists
  phase_done

  if addon_wanted coredns; then
    phase "CoreDNS: pods Ready, $CLUSTER_DNS_IP answering"
    coredns_up
  fi

  trap - ERR
  log "cluster: up (Kubernetes $KUBE_VERSION, $nodes node(s), add-ons: $ADDONS) in $(secs "$T0" "$(now_ms)")s total; $(cmd_env)"
}

cmd_build() {
  ADDONS=$(addons_parse)
  ensure_all
  phase "images: $PAUSE_IMAGE, $BUSYBOX_IMAGE"
  ensure_images >/dev/null
  phase_done
  log "cluster: binaries and images are in $RUNBOOK_CACHE"
}

# ---------------------------------------------------------------- tear-down

# bundles prints node $1's containerd task bundle directories (one per
# running container or sandbox), each holding the shim's shim.pid,
# the container's init.pid and the shim's socket address.
bundles() {
  local d
  for d in "$(node_dir "$1")"/containerd/state/io.containerd.runtime.v2.task/*/*/; do
    [[ -d $d ]] && echo "${d%/}"
  done
  return 0
}

# sandboxes prints the ids of node $1's pod sandboxes that containerd's CRI
# still knows.
sandboxes() {
  local d
  for d in "$(node_dir "$1")"/containerd/{root,state}/io.containerd.grpc.v1.cri/sandboxes/*/; do
    [[ -d $d ]] && basename "$d"
  done | sort -u
  return 0
}

# cni_cache_files prints the CNI result cache files of node $1's sandboxes:
# libcni keeps them in the fixed /var/lib/cni/results until the network is
# deleted, which does not happen for the pods `down` kills.
cni_cache_files() {
  local id
  for id in $(sandboxes "$1"); do
    echo "/var/lib/cni/results/runbook-$id-eth0"
    echo "/var/lib/cni/results/cni-loopback-$id-lo"
  done
}

# cgroup_procs prints the pids in node $1's cgroup tree.
cgroup_procs() {
  local cg m
  cg=$(node_cgroup "$1")
  for m in $(cgroup_mounts); do
    [[ -d $m/$cg ]] && find "$m/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
  return 0
}

# kill_cgroup_procs SIGKILLs every process in node $1's cgroups (the pod
# containers, ephemeral containers and exec sessions) until none is left.
kill_cgroup_procs() {
  local i=$1 try pids
  for ((try = 0; try < 50; try++)); do
    pids=$(cgroup_procs "$i")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086 # one pid a word
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  log "         processes left in cgroup $(node_cgroup "$i"): ${pids//$'\n'/ }"
}

# kill_containers asks node $1's containerd to kill every task, while it
# still runs.
kill_containers() {
  local sock id
  sock=$(node_sock "$1")
  component_alive "containerd-$1" || return 0
  for id in $(timeout 20 ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 10 ctr -a "$sock" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
}

# mounts_under prints the mount points at or under directory $1, deepest
# first.
mounts_under() {
  awk -v d="$1" '{ if ($2 == d || index($2, d "/") == 1) print length($2), $2 }' /proc/self/mounts |
    sort -rn | cut -d' ' -f2- | uniq
}

# unmount_all lazily unmounts everything under the state dir, deepest
# first, until nothing is left.
unmount_all() {
  local try m left
  for ((try = 0; try < 5; try++)); do
    left=$(mounts_under "$STATE")
    [[ -z $left ]] && return 0
    while read -r m; do umount -l "$m" 2>/dev/null || true; done <<<"$left"
  done
  left=$(mounts_under "$STATE")
  [[ -z $left ]] || log "         mounts left under $STATE: ${left//$'\n'/ }"
}

# teardown stops and removes everything `up` made. It is safe to run on a
# half-built or already removed cluster.
teardown() {
  local nodes i c shim_socks=() cni_files=() b a cg m p
  nodes=$(state_nodes)
  for ((i = nodes + 1; i <= 9; i++)); do
    [[ -e /var/run/netns/$(node_netns "$i") || -d $(node_dir "$i") ]] && nodes=$i
  done

  phase "stopping kube-proxy, kubelet(s) and pod containers"
  # kube-proxy's rules (and the kubelet's KUBE-KUBELET-CANARY chains) are
  # in the node's network namespace: they go when it is deleted below.
  for ((i = 1; i <= nodes; i++)); do
    stop_component "kube-proxy-$i"
    stop_component "kubelet-$i"
  done
  for ((i = 1; i <= nodes; i++)); do
    for b in $(bundles "$i"); do
      a=$(cat "$b/address" 2>/dev/null || true)
      [[ $a == unix://* ]] && shim_socks+=("${a#unix://}")
    done
    mapfile -t -O "${#cni_files[@]}" cni_files < <(cni_cache_files "$i")
    kill_containers "$i"
  done
  phase_done

  phase "stopping control plane, containerd and its shims"
  for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_component "$c"; done
  for ((i = 1; i <= nodes; i++)); do
    stop_component "containerd-$i"
    # The shims and whatever is left of the containers are in the node's
    # cgroup tree (ROOT/runtime and ROOT/kubepods).
    kill_cgroup_procs "$i"
  done
  phase_done

  phase "removing mounts, network namespaces, cgroups and $STATE"
  unmount_all
  for a in ${shim_socks[@]+"${shim_socks[@]}"}; do
    # Shim sockets live in containerd's fixed /run/containerd/s; remove
    # only those of this cluster's shims, which are now gone.
    [[ -S $a ]] && rm -f "$a"
  done
  for a in ${cni_files[@]+"${cni_files[@]}"}; do rm -f "$a"; done
  for ((i = 1; i <= nodes; i++)); do
    ip netns del "$(node_netns "$i")" 2>/dev/null || true
    ip link del "$(node_veth "$i")" 2>/dev/null || true
    cg=$(node_cgroup "$i")
    for m in $(cgroup_mounts); do
      if [[ -d $m/$cg ]]; then
        find "$m/$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      fi
    done
  done
  # The kubelet links container logs from the fixed /var/log/containers.
  if [[ -d /var/log/containers ]]; then
    find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*" -delete 2>/dev/null || true
  fi
  if [[ -f $STATE/host-paths ]]; then
    while read -r p; do
      for a in "${HOST_PATHS[@]}"; do
        [[ $p == "$a" && -d $p ]] && rm -rf --one-file-system "$p"
      done
    done <"$STATE/host-paths"
  fi
  if [[ -f $STATE/ip_forward.orig ]]; then
    cat "$STATE/ip_forward.orig" >/proc/sys/net/ipv4/ip_forward || true
  fi
  if [[ -z $(mounts_under "$STATE") ]]; then
    rm -rf --one-file-system "$STATE"
  else
    log "         $STATE kept: mounts are left under it"
  fi
  phase_done
}

cmd_down() {
  [[ $(id -u) == 0 ]] || die "down needs root"
  lock
  foreign_check
  if ! state_present; then
    log "cluster: nothing to remove"
    return 0
  fi
  teardown
  log "cluster: down in $(secs "$T0" "$(now_ms)")s"
}

# ---------------------------------------------------------------- other verbs

# lock serializes up and down: there is one cluster per machine (its
# namespaces, addresses and cgroups have fixed names).
lock() {
  local dir=/run/lock
  [[ -d $dir ]] || dir=/tmp
  exec 8>"$dir/runbook-cluster.lock"
  flock -w 900 8 || die "another hack/cluster.sh holds the lock"
}

cmd_env() { echo "export KUBECONFIG=$USER_KUBECONFIG"; }

cmd_status() {
  local nodes c rec i rc=0 name
  if [[ ! -d $STATE ]]; then
    echo "cluster: not running (no $STATE)"
    return 1
  fi
  nodes=$(state_nodes)
  echo "state dir:  $STATE (Kubernetes $(state_version), $nodes node(s))"
  echo "kubeconfig: $USER_KUBECONFIG"
  for c in $(components "$nodes"); do
    rec=$(pidfile_read "$RUN/$c.pid" || echo "-")
    if component_alive "$c"; then
      printf '  %-24s running  pid %s\n' "$c" "${rec%% *}"
    else
      printf '  %-24s STOPPED  pid %s\n' "$c" "${rec%% *}"
      rc=1
    fi
  done
  if api_ready; then echo "  api $API_URL  ready"; else
    echo "  api $API_URL  NOT READY"
    rc=1
  fi
  for ((i = 1; i <= nodes; i++)); do
    name=$(node_name "$i")
    if node_ready "$name"; then echo "  node $name  Ready ($(node_ip "$i"))"; else
      echo "  node $name  NOT READY"
      rc=1
    fi
  done
  echo "  add-ons: $(state_addons)"
  if [[ " $(state_addons) " == *" coredns="* ]]; then coredns_summary || rc=1; fi
  return "$rc"
}

cmd_logs() {
  if [[ -n ${1:-} ]]; then
    [[ -f $LOGS/$1.log ]] || die "no log $LOGS/$1.log"
    tail -n "${LINES_N:-200}" "$LOGS/$1.log"
  else
    print_logs "${LINES_N:-20}" 2>&1
  fi
}

# cmd_pids prints "pid start what" for every process of the cluster: the
# components, the containers' init and exec processes (containerd's pid
# files) and everything in the nodes' cgroup trees (containerd, its shims,
# the pods). hack/cluster-down-check.sh uses it.
cmd_pids() {
  local nodes c rec i b pid
  [[ -d $STATE ]] || return 0
  nodes=$(state_nodes)
  for c in $(components "$nodes"); do
    rec=$(pidfile_read "$RUN/$c.pid") || continue
    echo "$rec $c" | awk '{ if (NF == 2) print $1, "-", $2; else print }'
  done
  for ((i = 1; i <= nodes; i++)); do
    for b in $(bundles "$i"); do
      for f in "$b"/*.pid; do
        pid=$(cat "$f" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]]; then
          echo "$pid $(proc_start "$pid" || echo -) $(basename "$f" .pid):$(basename "$b")"
        fi
      done
    done
    for pid in $(cgroup_procs "$i"); do
      echo "$pid $(proc_start "$pid" || echo -) cgroup:$(node_cgroup "$i")"
    done
  done
  return 0
}

usage() {
  sed -n '2,/^set -E/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
logs) cmd_logs "${2:-}" ;;
pids) cmd_pids ;;
build) cmd_build ;;
*) usage ;;
esac
