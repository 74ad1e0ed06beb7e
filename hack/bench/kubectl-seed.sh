#!/usr/bin/env bash
# kubectl-seed.sh NAMESPACE NODE LOG: the seed's three debug modes
# (examples/distroless.yaml) typed with kubectl as a user would: apply (the
# pod placed on NODE, so that it is the node the node pod debugs), wait,
# debug --target, wait, logs, debug --copy-to, wait, exec, debug node, wait,
# logs, delete. Every kubectl runs at -v=6 with its log appended to LOG, so
# the caller can count the API requests; the commands' own output goes to
# LOG too. After each command a line "# step NAME SECONDS" (epoch, from
# date +%s.%N) is appended, to split the wall time by phase. It is the B side
# of hack/bench/run.sh, which creates and deletes NAMESPACE around it.
set -euo pipefail

ns=$1 node=$2 log=$3
KUBECTL=${KUBECTL:-kubectl}
image=${BENCH_IMAGE:-busybox:1.36}

k() { "$KUBECTL" -v=6 -n "$ns" "$@" >>"$log" 2>&1; }
mark() { echo "# step $1 $(date +%s.%N)" >>"$log"; }

mark start
k apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: noshell}
spec:
  nodeName: $node
  containers: [{name: app, image: registry.k8s.io/pause:3.10.2}]
YAML
mark apply
k wait pod/noshell --for=condition=Ready --timeout=120s
mark wait-ready
k debug noshell --image="$image" --target=app --container=debugger -- ps -ef
mark debug
k wait pod/noshell --timeout=120s \
  --for=jsonpath='{.status.ephemeralContainerStatuses[0].state.terminated.reason}'=Completed
mark wait-ephemeral
k logs noshell -c debugger
mark logs-ephemeral
k debug noshell --copy-to=noshell-dbg --image="$image" --container=debugger --share-processes -- sleep 3600
mark copy
k wait pod/noshell-dbg --for=condition=Ready --timeout=120s
mark wait-copy
k exec noshell-dbg -c debugger -- ps -ef
mark exec
# kubectl prints "Creating debugging pod NAME with container debugger on node NODE."
out=$("$KUBECTL" -v=6 -n "$ns" debug "node/$node" --image="$image" -- cat /host/etc/hostname /host/etc/machine-id 2>&1)
printf '%s\n' "$out" >>"$log"
mark debug-node
nodepod=$(printf '%s\n' "$out" | sed -n 's/^Creating debugging pod \([^ ]*\) .*/\1/p' | head -n 1)
if [[ -z $nodepod ]]; then
	echo "kubectl-seed: no 'Creating debugging pod' line in kubectl debug node's output" >&2
	exit 1
fi
k wait "pod/$nodepod" --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s
mark wait-node
k logs "$nodepod"
mark logs-node
k delete pod noshell noshell-dbg "$nodepod" --now
mark delete
