# shellcheck shell=bash
# shellcheck disable=SC2034 # settings for the scripts that source this file, unused here
# Shared settings and helpers of hack/cluster.sh and hack/cluster-down-check.sh.
# Sourced, never run. Everything the harness creates is named here, so that
# `down` and the check remove exactly what `up` made and nothing else.

# The Kubernetes version: KUBE_VERSION, or the default that the nested
# module hack/kubebin pins in its go.mod. Each supported version has its
# module file there: go.mod (the default) or VERSION.mod and VERSION.sum
# (kube_versions lists them).
KUBE_DEFAULT_VERSION=$(sed -En 's/^(require)?[[:space:]]*k8s\.io\/kubernetes (v[^ ]*)$/\2/p' "$HACK_DIR/kubebin/go.mod" 2>/dev/null || true)
KUBE_DEFAULT_VERSION=${KUBE_DEFAULT_VERSION:-unknown}
KUBE_VERSION=${KUBE_VERSION:-$KUBE_DEFAULT_VERSION}
RUNBOOK_CACHE=${RUNBOOK_CACHE:-/var/cache/runbook}
KUBE_BIN_DIR=${RUNBOOK_CACHE%/}/kube-${KUBE_VERSION}
# The five components and etcd, one multi-call binary (hack/kubebin) with a
# symlink for each name; kube-proxy is used only with the kube-proxy add-on
# (CLUSTER_ADDONS).
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd)

# kube_versions prints the Kubernetes versions hack/kubebin can build, the
# default first.
kube_versions() {
  local f
  echo "$KUBE_DEFAULT_VERSION"
  for f in "$HACK_DIR"/kubebin/v*.mod; do
    [[ -f $f ]] && basename "$f" .mod
  done
  return 0
}

# kube_minor prints the minor version of $1 (v1.37.2: 37).
kube_minor() {
  local v=${1#v}
  v=${v#*.}
  echo "${v%%.*}"
}

# CoreDNS, built by the nested module hack/coredns (its go.mod names the
# version) into ${RUNBOOK_CACHE}/coredns-VERSION-KEY with its image.
COREDNS_VERSION=$(sed -n 's|^require github.com/coredns/coredns \(v[^ ]*\)$|\1|p' "$HACK_DIR/coredns/go.mod" 2>/dev/null || true)
COREDNS_VERSION=${COREDNS_VERSION:-unknown}
COREDNS_IMAGE=registry.k8s.io/coredns/coredns:${COREDNS_VERSION}

STATE=${RUNBOOK_CLUSTER_DIR:-/var/lib/runbook-cluster}
STATE=${STATE%/}
PKI=$STATE/pki
CONF=$STATE/conf
RUN=$STATE/run
LOGS=$STATE/logs
USER_KUBECONFIG=$STATE/kubeconfig

# The API server runs in node 1's network namespace.
API_IP=10.199.0.2
API_PORT=6443
API_URL=https://${API_IP}:${API_PORT}
SERVICE_CIDR=10.96.0.0/24
SERVICE_IP=10.96.0.1
# The kube-dns Service (CoreDNS) and the kubelets' clusterDNS.
CLUSTER_DNS_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
# Every node's pod range (node_pod_cidr) is in it; kube-proxy's clusterCIDR.
CLUSTER_CIDR=10.244.0.0/16

PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
BUSYBOX_IMAGE=docker.io/library/busybox:1.36

# Cgroups the kubelets own live under one root per node (cgroup v1), so
# `down` removes exactly the kubelet's cgroups.
CGROUP_FS=/sys/fs/cgroup

# node_* give the names and addresses of node I (1-based). Node I lives in
# network namespace runbook-node (I=1) or runbook-nodeI, joined to the host
# by a veth pair on its own /30: 10.199.0.(4I-3) on the host side and
# 10.199.0.(4I-2) inside.
node_netns() { if [[ $1 == 1 ]]; then echo runbook-node; else echo "runbook-node$1"; fi; }
node_veth() { echo "rb-veth$1"; }
node_host_ip() { echo "10.199.0.$((4 * $1 - 3))"; }
node_ip() { echo "10.199.0.$((4 * $1 - 2))"; }
node_pod_cidr() { echo "10.244.$(($1 - 1)).0/24"; }
node_dir() { echo "$STATE/node-$1"; }
node_cgroup() { echo "runbook-node$1"; }
node_sock() { echo "$(node_dir "$1")/containerd/containerd.sock"; }
# node_mntns is node I's mount namespace file, from the second node on
# (node 1 uses the host's; see node_mntns_up in cluster.sh).
node_mntns() { if [[ $1 != 1 ]]; then echo "$STATE/mntns/node-$1"; fi; }

# host_node_name is the name of node 1: the content of /etc/hostname,
# trimmed and lower-cased, because the node debug pod reads that file and
# the seed compares it with the node's name.
host_node_name() {
  local n
  n=$(tr -d '[:space:]' </etc/hostname 2>/dev/null || true)
  [[ -n $n ]] || n=$(hostname)
  echo "${n,,}"
}

# node_name of node 1 is the host's name; further nodes add -I.
node_name() {
  if [[ $1 == 1 ]]; then host_node_name; else echo "$(host_node_name)-$1"; fi
}

# state_nodes prints how many nodes the running (or half-built) cluster has.
state_nodes() {
  local n
  n=$(cat "$STATE/nodes" 2>/dev/null || true)
  [[ $n =~ ^[1-9]$ ]] && echo "$n" || echo 1
}

# state_version prints the Kubernetes version of the running (or
# half-built) cluster as `up` recorded it, or v1.33.13 for a cluster made
# before versions were recorded.
state_version() {
  local v
  v=$(cat "$STATE/version" 2>/dev/null || true)
  echo "${v:-v1.33.13}"
}

# state_addons prints the add-ons of the running (or half-built) cluster as
# `up` recorded them ("kube-proxy coredns=coredns-v1.15.0-KEY"), or "none"
# (also for a cluster made before add-ons existed).
state_addons() {
  local a
  a=$(cat "$STATE/addons" 2>/dev/null || true)
  echo "${a:-none}"
}

# components prints the process names of a cluster with $1 nodes, in start
# order; kube-proxy-I when the cluster has the kube-proxy add-on.
components() {
  local i
  for ((i = 1; i <= $1; i++)); do echo "containerd-$i"; done
  echo etcd kube-apiserver kube-controller-manager kube-scheduler | tr ' ' '\n'
  for ((i = 1; i <= $1; i++)); do echo "kubelet-$i"; done
  if [[ " $(state_addons) " == *" kube-proxy "* ]]; then
    for ((i = 1; i <= $1; i++)); do echo "kube-proxy-$i"; done
  fi
}

now_ms() { date +%s%3N; }
log() { printf '%s\n' "$*" >&2; }
die() { log "cluster: error: $*"; exit 1; }

# proc_start prints the start time (clock ticks since boot) of pid $1, which
# with the pid identifies a process across pid reuse.
proc_start() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # Fields after "comm": state is field 3, starttime field 22.
  local -a fields
  read -r -a fields <<<"$stat"
  echo "${fields[19]}"
}

# proc_alive reports whether pid $1, started at $2 (when given), still runs
# and is not a zombie.
proc_alive() {
  local pid=$1 start=${2:-} stat state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  state=${stat%% *}
  [[ $state != Z && $state != X ]] || return 1
  if [[ -n $start ]]; then
    [[ $(proc_start "$pid") == "$start" ]] || return 1
  fi
}

# pidfile_read prints "pid start" from pid file $1 (start may be empty).
pidfile_read() {
  local f=$1 pid start=""
  [[ -f $f ]] || return 1
  pid=$(cat "$f")
  [[ -f ${f%.pid}.start ]] && start=$(cat "${f%.pid}.start")
  echo "$pid $start"
}

# component_alive reports whether the process recorded for component $1 runs.
component_alive() {
  local rec
  rec=$(pidfile_read "$RUN/$1.pid") || return 1
  # shellcheck disable=SC2086 # "pid start": split into two arguments
  proc_alive $rec
}
