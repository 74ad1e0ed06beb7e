#!/usr/bin/env bash
# hack/cluster-down-check.sh: proves that `hack/cluster.sh down` leaves
# nothing behind. It records every process of the running cluster
# (`cluster.sh pids`: components, shims, containers, everything in the
# kubelets' cgroups), runs `cluster.sh down`, then checks that
#   - none of those processes is alive, and no process names the state dir;
#   - no runbook-node* network namespace and no rb-veth* link is left;
#   - nothing is mounted at or under the state dir, which is gone;
#   - no runbook-node* cgroup and no /var/log/containers link into it is left;
#   - the host directories `up` created, the shims' sockets and the pods'
#     CNI result cache files are gone;
#   - no kube-proxy rule (KUBE-* chain, kube-proxy nftables table) is in the
#     host's network namespace (kube-proxy's live in the node namespaces,
#     which `down` cleans and deletes).
# It exits non-zero and lists what is left otherwise.
#
#   hack/cluster-down-check.sh          down, then check
#   hack/cluster-down-check.sh check    check only (e.g. after a manual down)
set -Eeuo pipefail
shopt -s inherit_errexit

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/lib/cluster-common.sh
source "$HACK_DIR/lib/cluster-common.sh"

snapshot=""
if [[ ${1:-} != check ]]; then
  snapshot=$(mktemp)
  paths=$(mktemp)
  trap 'rm -f "$snapshot" "$paths"' EXIT
  "$HACK_DIR/cluster.sh" pids >"$snapshot"
  # Paths outside the state dir: host directories `up` created, and the
  # shims' sockets in /run/containerd/s.
  cat "$STATE/host-paths" 2>/dev/null >"$paths" || true
  for f in "$STATE"/node-*/containerd/state/io.containerd.runtime.v2.task/*/*/address; do
    [[ -f $f ]] && sed -n 's|^unix://||p' "$f" >>"$paths"
  done
  # The CNI result cache of the pods' sandboxes.
  for d in "$STATE"/node-*/containerd/{root,state}/io.containerd.grpc.v1.cri/sandboxes/*/; do
    [[ -d $d ]] || continue
    id=$(basename "$d")
    printf '%s\n' "/var/lib/cni/results/runbook-$id-eth0" "/var/lib/cni/results/cni-loopback-$id-lo" >>"$paths"
  done
  log "check: $(wc -l <"$snapshot") cluster processes recorded; running hack/cluster.sh down"
  "$HACK_DIR/cluster.sh" down
fi

left=()
if [[ -n $snapshot ]]; then
  while read -r pid start what; do
    [[ $start == - ]] && start=""
    if proc_alive "$pid" "$start"; then
      left+=("process $pid ($what) is alive: $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-120)")
    fi
  done <"$snapshot"
fi
if [[ -n $snapshot ]]; then
  while read -r p; do
    [[ -n $p && -e $p ]] && left+=("path $p")
  done < <(sort -u "$paths")
fi
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
  cmd=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null || true)
  if [[ $cmd == *"$STATE/"* || $cmd == *"$STATE "* ]]; then
    left+=("process $pid names $STATE: $(echo "$cmd" | cut -c1-120)")
  fi
done
while read -r ns _; do
  [[ $ns =~ ^runbook-node[0-9]*$ ]] && left+=("network namespace $ns")
done < <(ip netns list 2>/dev/null)
while read -r link; do
  left+=("link $link")
done < <(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^rb-veth[0-9]+$' || true)
while read -r m; do
  left+=("mount $m")
done < <(awk -v d="$STATE" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts)
[[ -e $STATE ]] && left+=("state dir $STATE")
while read -r m; do
  for cg in "$m"/runbook-node*; do
    [[ -d $cg ]] && left+=("cgroup $cg")
  done
done < <(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts)
if [[ -d /var/log/containers ]]; then
  while read -r l; do
    left+=("log link $l")
  done < <(find /var/log/containers -maxdepth 1 -type l -lname "$STATE/*")
fi
for save in iptables-save ip6tables-save; do
  command -v "$save" >/dev/null || continue
  while read -r chain; do
    left+=("$save: chain $chain")
  done < <({ "$save" 2>/dev/null || true; } | sed -n 's/^:\(KUBE-[^ ]*\).*/\1/p' | sort -u)
done
if command -v nft >/dev/null && nft list tables 2>/dev/null | grep -qw kube-proxy; then
  left+=("nftables table kube-proxy")
fi

if ((${#left[@]})); then
  log "check: FAILED, left behind after down:"
  printf '  %s\n' "${left[@]}" >&2
  exit 1
fi
log "check: ok, nothing of the cluster is left (processes, netns, veth, mounts, cgroups, kube-proxy rules, $STATE)"
