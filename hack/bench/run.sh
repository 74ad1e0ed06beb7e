#!/usr/bin/env bash
# hack/bench/run.sh: the benchmark suite of runbook on the local cluster
# (make bench). It measures and prints figures and ratios; it never passes
# or fails on time. Sections (BENCH_SECTIONS, default "seed floor ceiling go"):
#
#   seed     examples/distroless.yaml (the parallel seed) and, when it exists,
#            examples/distroless-sequential.yaml (the sequential one) run by
#            runbook against the same work typed with kubectl
#            (hack/bench/kubectl-seed.sh), in rotating order, each run in its
#            own fresh namespace made before and deleted after the timed part:
#            wall time, CPU time, API requests, medians, ratios.
#   floor    the kubelet floor of each seed: its kubelet-bound work (the pod
#            until Ready; the ephemeral container until it terminated; the
#            copy until Ready; the node pod until its container terminated) done by plain
#            client-go (bench kubelet-floor), one after the other and side by
#            side: the least any client can take.
#   ceiling  the fan-out: examples/ci-debuggability.yaml over N fresh pods at
#            concurrency C beside the node's own ceiling for the same N
#            (bench ceiling: plain client-go adds all N ephemeral containers
#            at once and waits until all have terminated), beside the same
#            plain client doing runbook's work (and its log reads) at C, and
#            beside runbook at concurrency N, in rotating order.
#   go       the Go benchmarks of the loader, the planner and expressions.
#   fanout   (not by default) the fan-out's growth: N = BENCH_FANOUT pods at
#            each of BENCH_CONCURRENCY, wall time and peak RSS against N=1.
#   kept     (not by default) the sequential seed kept with --keep: from the
#            pods' status timestamps, when the kubelet ran each piece of work
#            and when it reported it (the relist lag).
#
# Environment: KUBECONFIG and RUNBOOK_BIN (required; make bench sets both),
# BENCH_RUNS (rounds of the seed comparison, default 5), BENCH_FLOOR_RUNS
# (default 3), BENCH_CEILING_PODS (default 60), BENCH_CEILING_CONCURRENCY
# (default 10), BENCH_CEILING_RUNS (pairs, default 3), BENCH_FANOUT_NODE (the
# node the fan-out pods are placed on; default the first node, "any" lets the
# scheduler spread them), BENCH_FANOUT (pod counts, default "1 10 30 60"),
# BENCH_SEED and BENCH_SEQ_SEED (the two seeds, default
# examples/distroless.yaml and examples/distroless-sequential.yaml),
# BENCH_CONCURRENCY (default "1 10"), BENCH_FANOUT_BASE_RUNS (repeats of the
# smallest N; default 3), BENCH_FANOUT_SETTLE (the least seconds between the
# pods being Ready and a timed fan-out; default 5: the kubelet takes about a
# second longer to run an ephemeral container in a pod that became Ready a
# moment ago), BENCH_SETTLE_BUSY and BENCH_SETTLE_MAX (then wait until the
# machine is under this % busy for 2 s, default 25, at most this many
# seconds in all, default 60), BENCH_SECTIONS, KUBECTL (the peer; default: a real kubectl binary of
# the server's version, see pick_kubectl), OUT (default out; the summary goes
# to $OUT/bench.txt, the whole output to $OUT/bench.log), GO (default go).
#
# Only namespaces named bench-<id>-... made by this run are created and
# deleted; pods are labelled debug-check=bench-<id> so that other users of
# the cluster (whose checks select debug-check=enabled) never see them.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${KUBECONFIG:?KUBECONFIG must name the kubeconfig of the cluster, as make bench sets it}"
: "${RUNBOOK_BIN:?RUNBOOK_BIN must name the runbook binary, as make bench sets it}"
export KUBECONFIG

RUNS=${BENCH_RUNS:-5}
FLOOR_RUNS=${BENCH_FLOOR_RUNS:-3}
FANOUT=${BENCH_FANOUT:-1 10 30 60}
CONCURRENCY=${BENCH_CONCURRENCY:-1 10}
BASE_RUNS=${BENCH_FANOUT_BASE_RUNS:-3}
SETTLE=${BENCH_FANOUT_SETTLE:-5}
SETTLE_MAX=${BENCH_SETTLE_MAX:-60}
SETTLE_BUSY=${BENCH_SETTLE_BUSY:-25}
SECTIONS=${BENCH_SECTIONS:-seed floor ceiling go}
CEIL_PODS=${BENCH_CEILING_PODS:-60}
CEIL_CONC=${BENCH_CEILING_CONCURRENCY:-10}
CEIL_RUNS=${BENCH_CEILING_RUNS:-3}
FANOUT_NODE=${BENCH_FANOUT_NODE:-}
OUT=${OUT:-out}
GO=${GO:-go}
SEED=${BENCH_SEED:-examples/distroless.yaml}
SEQ_SEED=${BENCH_SEQ_SEED:-examples/distroless-sequential.yaml}
FANOUT_EXAMPLE=examples/ci-debuggability.yaml
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
TIME=/usr/bin/time

# pick_kubectl prints the kubectl to compare against: $KUBECTL if set, else
# a real kubectl binary of the server's minor version: the one of the
# server's exact version in the cluster cache (kubectl-vX.Y.Z, or
# kube-vX.Y.Z/kubectl), else the Cloud SDK's kubectl.X.Y, else a kubectl on PATH of that version. On this
# machine kind /usr/bin/kubectl is the Google Cloud SDK's dispatcher: it asks
# the server for its version (one request that -v=6 does not show) and then
# execs kubectl.X.Y, adding about 40 ms to every command, so it is used only
# as the last resort, with a warning, as is a kubectl of another version.
pick_kubectl() {
	if [[ -n ${KUBECTL:-} ]]; then
		echo "$KUBECTL"
		return
	fi
	local server minor k real dir
	server=$("$work/bench" version) || { echo "run.sh: cannot read the server's version" >&2; exit 2; }
	minor=$(sed -n 's/^v\([0-9]*\.[0-9]*\).*/\1/p' <<<"$server")
	local cache=${RUNBOOK_CACHE:-/var/cache/runbook}
	for k in "$cache/kubectl-$server" "$cache/kube-$server/kubectl"; do
		[[ -x $k ]] && { echo "$k"; return; }
	done
	k=$(command -v kubectl) || { echo "run.sh: no kubectl found (set KUBECTL)" >&2; exit 2; }
	real=$(readlink -f "$k")
	dir=${real%/*}
	if [[ $real == */google-cloud-sdk/bin/kubectl ]]; then
		if [[ -x $dir/kubectl.$minor ]]; then
			echo "$dir/kubectl.$minor"
			return
		fi
		echo "run.sh: WARNING: no real kubectl $minor; using the Cloud SDK dispatcher $k" >&2
	fi
	echo "$k"
}

[[ -x $TIME ]] || { echo "run.sh: $TIME is missing: apt-get install -y time" >&2; exit 2; }
[[ -f $RUNBOOK_BIN && -x $RUNBOOK_BIN ]] || { echo "run.sh: RUNBOOK_BIN=$RUNBOOK_BIN is not executable" >&2; exit 2; }

mkdir -p "$OUT"
work=$(mktemp -d /tmp/runbook-bench.XXXXXX)
id=$(date +%H%M%S)$((RANDOM % 100))
label=debug-check=bench-$id
exec > >(tee "$OUT/bench.log") 2>&1

created_ns=()
cleanup() {
	local ns
	for ns in "${created_ns[@]}"; do
		"$KUBECTL" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
# load prints the load average and the number of pods running on the cluster
# outside this run: the noise the figures were taken under.
load() {
	printf 'load average %s; %s pods running in other namespaces; wall clock %+.2fs against the monotonic one since the bench began' \
		"$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$(k get pods -A --no-headers --field-selector=status.phase=Running 2>/dev/null | grep -vc "^bench-$id-" || true)" \
		"$(sub "$(skew)" "$skew0")"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$GO" build -o "$work/bench" ./hack/bench
KUBECTL=$(pick_kubectl)
export KUBECTL

k() { "$KUBECTL" "$@"; }
# now: seconds on the monotonic clock (/proc/uptime, to 10 ms), not the wall clock: a VM's
# host may step the wall clock during a run (on this project's machine, 2026-12-03: +1.47 s
# inside one 10 s fan-out run, seen as targets whose wall-clock span exceeded their duration).
now() {
	local up _
	read -r up _ </proc/uptime
	echo "$up"
}
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
# skew: the wall clock minus the monotonic one, in seconds; load() says how far it moved.
skew() { sub "$(date +%s.%N)" "$(now)"; }
skew0=$(skew)
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
median() { "$work/bench" stats "$@" | cut -d' ' -f1; }
section() { printf '\n=== %s ===\n' "$*"; }
summary=()
# note FORMAT ARGS...: a line of the summary.
# shellcheck disable=SC2059 # the format is the caller's first argument
note() { summary+=("$(printf "$@")"); }

# busy: the machine's busy share of its CPUs over the next second, in
# percent (from /proc/stat; iowait counts as idle).
busy() {
	local -a a b
	read -r -a a </proc/stat
	sleep 1
	read -r -a b </proc/stat
	awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 2; i <= n; i++) total += y[i] - x[i]
		idle = y[5] - x[5] + y[6] - x[6]
		printf "%d", (total > 0 ? 100 * (total - idle) / total : 0)
	}'
}

# settle: wait until the node has finished with the pods just made Ready:
# at least $SETTLE s, then until two seconds in a row are under
# $SETTLE_BUSY% busy, at most $SETTLE_MAX s in all. 60 pause pods keep two
# CPUs busy for about 9 s after they are Ready (their status, the CNI, the
# relists); a measurement started meanwhile measures that too. Prints the
# seconds waited, with a "+" when it gave up (the machine is busy with
# something else: the figures are then noisy).
settle() {
	local t0 quiet=0 b
	t0=$(now)
	sleep "$SETTLE"
	while awk -v t="$(sub "$(now)" "$t0")" -v m="$SETTLE_MAX" 'BEGIN { exit !(t < m) }'; do
		b=$(busy)
		if ((b < SETTLE_BUSY)); then
			((++quiet >= 2)) && break
		else
			quiet=0
		fi
	done
	printf '%.0f%s' "$(sub "$(now)" "$t0")" "$( ((quiet >= 2)) || echo +)"
}

# new_ns SUFFIX: create bench-ID-SUFFIX and wait (bounded) for its default
# ServiceAccount, without which pods are refused. Not timed.
new_ns() {
	local ns=bench-$id-$1 i
	k create namespace "$ns" >/dev/null
	created_ns+=("$ns")
	for ((i = 0; i < 100; i++)); do
		k get serviceaccount default -n "$ns" >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "$ns"
}

# drop_ns NS: delete the namespace and wait (bounded) until it is gone, so
# the kubelet is idle again before the next measurement. Not timed.
drop_ns() {
	k delete namespace "$1" --wait=false >/dev/null 2>&1 || true
	k wait --for=delete "namespace/$1" --timeout=300s >/dev/null 2>&1 || echo "  (namespace $1 still terminating after 300s)"
}

section "machine"
node=$(k get nodes -o jsonpath='{.items[0].metadata.name}')
nodes=$(k get nodes --no-headers | wc -l)
server=$("$work/bench" version)
client=$(k version --client 2>/dev/null | sed -n 's/^Client Version: //p')
machine=$(printf 'cpus %s, memory %s MiB, kernel %s; %s; kubectl %s (%s); server %s; node %s; containerd %s' \
	"$(nproc)" "$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)" "$(uname -r)" \
	"$("$RUNBOOK_BIN" version)" "$client" "$KUBECTL" "$server" "$node" \
	"$( (containerd --version 2>/dev/null || echo unknown) | awk '{ print $3 }')")
echo "$machine"
version_warning=
[[ $client == "${server%.*}".* ]] || version_warning="WARNING: kubectl $client is not of the server's version $server (set KUBECTL)"
[[ -z $version_warning ]] || echo "$version_warning"
start_load=$(load)
echo "at the start: $start_load"
echo "run id $id; pods labelled $label; namespaces bench-$id-*"
k api-resources >/dev/null # warm kubectl's discovery cache for every B run

# --- a. the seeds against the kubectl script --------------------------------
# Sides: P runbook on $SEED, S runbook on $SEQ_SEED (when it exists), K the
# kubectl script. seed_wall[SIDE] keeps each side's median for the floor.
declare -A seed_wall=()

# seed_mode FILE: parallel when the runbook has a parallel group, else
# sequential: which kubelet floor it is read against.
seed_mode() { if grep -q '^[[:space:]-]*parallel:' "$1"; then echo parallel; else echo sequential; fi; }

# run_runbook SIDE FILE RUN NS: one timed runbook run; prints its row and
# appends to the side's lists.
run_runbook() {
	local side=$1 file=$2 i=$3 ns=$4 t0 t1 wall cpu res req verdict busy
	t0=$(now)
	"$TIME" -f '%U %S' -o "$work/$side$i.time" "$RUNBOOK_BIN" run "$file" -n "$ns" -o none \
		--report json="$work/$side$i.json" >"$work/$side$i.log" 2>&1 || true
	t1=$(now)
	wall=$(sub "$t1" "$t0")
	cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$work/$side$i.time")
	if res=$("$work/bench" result "$work/$side$i.json" 2>/dev/null); then
		read -r _ req verdict _ _ <<<"$res"
	else
		req=0 verdict=error
	fi
	printf '%-4s %-10s %7.2fs %7.2fs %6s %8s\n' "$i" "${side_name[$side]}" "$wall" "$cpu" "$req" "$verdict"
	if [[ $verdict == passed ]]; then
		s_wall[$side]+=" $wall" s_cpu[$side]+=" $cpu" s_req[$side]+=" $req" last_json[$side]=$work/$side$i.json
		busy=$("$work/bench" busy "$work/$side$i.json")
		"$work/bench" steps "$work/$side$i.json" | awk -F'\t' -v s="$side" -v r="$i" -v w="$wall" -v b="$busy" '
			{ g = $2 == "apply" ? "ready" : $2 == "debug" ? "ephemeral" : $2; t[g] += $1 }
			END { for (g in t) print s, r, g, t[g]; print s, r, "rest", w - b }' >>"$work/groups.txt"
	else
		echo "  runbook run $i of $file did not pass; its log:"
		sed 's/^/    /' "$work/$side$i.log" | tail -20
	fi
}

# run_kubectl RUN NS: one timed run of the kubectl script.
run_kubectl() {
	local i=$1 ns=$2 t0 t1 wall cpu req verdict del
	: >"$work/k$i.log"
	t0=$(now)
	if "$TIME" -f '%U %S' -o "$work/k$i.time" bash hack/bench/kubectl-seed.sh "$ns" "$node" "$work/k$i.log"; then
		verdict=passed
	else
		verdict=failed
	fi
	t1=$(now)
	wall=$(sub "$t1" "$t0")
	cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$work/k$i.time")
	req=$("$work/bench" requests "$work/k$i.log")
	del=$(awk '$1 == "#" && $2 == "step" { t[$3] = $4 } END { if ("delete" in t) printf "%.3f", t["delete"] - t["logs-node"]; else print 0 }' "$work/k$i.log")
	printf '%-4s %-10s %7.2fs %7.2fs %6s %8s  delete phase %.2fs\n' "$i" kubectl "$wall" "$cpu" "$req" "$verdict" "$del"
	if [[ $verdict == passed ]]; then
		s_wall[K]+=" $wall" s_cpu[K]+=" $cpu" s_req[K]+=" $req" k_nodel+=("$(sub "$wall" "$del")")
		"$work/bench" phases "$work/k$i.log" | awk -F'\t' -v r="$i" -v w="$wall" '
			{ g = $2 ~ /^(apply|wait-ready)$/ ? "ready" : $2 ~ /ephemeral$|^debug$/ ? "ephemeral" : \
				$2 ~ /^(copy|wait-copy)$/ ? "copy" : $2 ~ /node$/ ? "node" : $2 == "exec" ? "exec" : "rest"
			  t[g] += $1; sum += $1 }
			END { t["rest"] += w - sum; for (g in t) print "K", r, g, t[g] }' >>"$work/groups.txt"
	else
		echo "  kubectl run $i failed; the end of its log:"
		grep -v -E 'round_trippers|reflector|envvar|loader' "$work/k$i.log" | tail -20 | sed 's/^/    /'
	fi
}

# pinned FILE: FILE, or on a cluster of several nodes a copy of it whose
# noshell pod is placed on $node (nodeName), as kubectl-seed.sh places it,
# so that every side waits on the same kubelet (the nodes of the local
# cluster share one host and its two cores).
pinned() {
	local out=$work/pinned-${1##*/}
	if ((nodes < 2)); then
		echo "$1"
		return
	fi
	sed "s/^\( *\)containers: \[{name: app, image: /\1nodeName: $node\n&/" "$1" >"$out"
	grep -q "nodeName: $node" "$out" || { echo "run.sh: cannot pin the pod of $1 to $node" >&2; return 1; }
	echo "$out"
}

seed() {
	local -a sides=(P)
	declare -gA side_name=([P]="$(seed_mode "$SEED")" [S]=sequential [K]=kubectl)
	declare -gA side_file=([P]="$(pinned "$SEED")")
	[[ -f $SEQ_SEED ]] && side_file[S]=$(pinned "$SEQ_SEED")
	declare -gA s_wall=() s_cpu=() s_req=() last_json=()
	k_nodel=()
	[[ -f $SEQ_SEED ]] && sides+=(S)
	sides+=(K)
	section "seed: runbook against the kubectl script, $RUNS rounds, order rotating"
	echo "${side_name[P]} = runbook $SEED"
	[[ -f $SEQ_SEED ]] && echo "sequential = runbook $SEQ_SEED" || echo "($SEQ_SEED does not exist: no sequential seed of its own)"
	[[ ${side_file[P]} == "$SEED" ]] || echo "(two nodes or more: the seeds' noshell pod is placed on $node in copies, as the kubectl script places it)"
	echo "kubectl = hack/bench/kubectl-seed.sh with $KUBECTL"
	local i side ns n=${#sides[@]} j
	: >"$work/groups.txt"
	printf '%-4s %-10s %8s %8s %6s %8s  %s\n' run side wall cpu reqs verdict note
	for ((i = 1; i <= RUNS; i++)); do
		# rotate the order: round 1 P S K, round 2 S K P, round 3 K P S, ...
		for ((j = 0; j < n; j++)); do
			side=${sides[(i - 1 + j) % n]}
			ns=$(new_ns "s$i${side,,}")
			if [[ $side == K ]]; then
				run_kubectl "$i" "$ns"
			else
				run_runbook "$side" "${side_file[$side]}" "$i" "$ns"
			fi
			drop_ns "$ns"
		done
	done
	echo "at the end: $(load)"
	for side in "${sides[@]}"; do
		if [[ -z ${s_wall[$side]:-} ]]; then
			echo "no passing run of ${side_name[$side]}: no medians"
			note 'seed: no passing run of %s' "${side_name[$side]}"
			return
		fi
	done
	local -A mw=() mc=() mr=()
	for side in "${sides[@]}"; do
		# shellcheck disable=SC2086 # one value a word
		mw[$side]=$(median ${s_wall[$side]}) mc[$side]=$(median ${s_cpu[$side]}) mr[$side]=$(median ${s_req[$side]})
		seed_wall[$side]=${mw[$side]}
	done
	local kn
	kn=$(median "${k_nodel[@]}")
	echo
	printf '%-36s' "median of passing runs"
	for side in "${sides[@]}"; do printf ' %11s' "${side_name[$side]}"; done
	echo
	printf '%-36s' "wall time"
	for side in "${sides[@]}"; do printf ' %10.2fs' "${mw[$side]}"; done
	echo
	printf '%-36s' "  ratio to kubectl"
	for side in "${sides[@]}"; do printf ' %11s' "$(div "${mw[$side]}" "${mw[K]}")"; done
	echo
	printf '%-36s' "  ratio to kubectl without its delete"
	for side in "${sides[@]}"; do printf ' %11s' "$(div "${mw[$side]}" "$kn")"; done
	printf '   (kubectl without delete: %.2fs)\n' "$kn"
	printf '%-36s' "CPU time (user+sys)"
	for side in "${sides[@]}"; do printf ' %10.2fs' "${mc[$side]}"; done
	echo
	printf '%-36s' "API requests"
	for side in "${sides[@]}"; do printf ' %11.0f' "${mr[$side]}"; done
	echo
	for side in "${sides[@]}"; do
		# shellcheck disable=SC2086
		printf '%s: %d/%d passed, wall %s\n' "${side_name[$side]}" "$(wc -w <<<"${s_wall[$side]}")" "$RUNS" \
			"$("$work/bench" stats ${s_wall[$side]} | awk '{ print "min " $2 " max " $3 }')"
	done
	for side in P S; do
		[[ -n ${last_json[$side]:-} ]] && echo "${side_name[$side]}'s requests by verb (its last passing run): $("$work/bench" verbs "${last_json[$side]}")"
	done
	echo
	echo "where the time goes (median per run; the same work grouped on every side; the steps of a"
	echo "parallel group overlap, so its rows add up to more than its wall time):"
	printf '  %-56s' group
	for side in "${sides[@]}"; do printf ' %11s' "${side_name[$side]}"; done
	echo
	local g what v
	for g in ready ephemeral copy exec node rest; do
		case $g in
		ready) what="create noshell, until Ready" ;;
		ephemeral) what="ephemeral container --target, until done, its output" ;;
		copy) what="copy with shared processes, until Ready" ;;
		exec) what="exec ps in the copy (runbook: + the failing exec)" ;;
		node) what="node debug pod, until its command ended, its output" ;;
		rest) what="outside the steps: start-up, cleanup (kubectl: delete)" ;;
		esac
		printf '  %-56s' "$what"
		for side in "${sides[@]}"; do
			v=$(awk -v s="$side" -v g="$g" '$1 == s && $3 == g { print $4 }' "$work/groups.txt")
			# shellcheck disable=SC2086 # one value a word
			printf ' %10.2fs' "$(median ${v:-0})"
		done
		echo
	done
	note '%-50s %9s %9s %7s' "seeds vs kubectl script (median of $RUNS rounds)" runbook kubectl ratio
	note '  %s: %s%s' "${side_name[P]}" "$SEED" "$([[ ${side_file[P]} != "$SEED" ]] && echo ", its pod placed on $node")"
	[[ -n ${side_file[S]:-} ]] && note '  sequential: %s' "$SEQ_SEED"
	for side in "${sides[@]}"; do
		[[ $side == K ]] && continue
		note '%-50s %8.2fs %8.2fs %7s%s' "  wall, ${side_name[$side]}" "${mw[$side]}" "${mw[K]}" \
			"$(div "${mw[$side]}" "${mw[K]}")" "$([[ $side == P ]] && echo '   (goal <= 0.50)')"
	done
	note '%-50s %8.2fs %8.2fs %7s' "  wall, ${side_name[P]}; kubectl without its delete" "${mw[P]}" "$kn" "$(div "${mw[P]}" "$kn")"
	for side in "${sides[@]}"; do
		[[ $side == K ]] && continue
		note '%-50s %9.0f %9.0f %7s%s' "  API requests, ${side_name[$side]}" "${mr[$side]}" "${mr[K]}" \
			"$(div "${mr[$side]}" "${mr[K]}")" "$([[ $side == P ]] && echo '   (goal: runbook <= 15)')"
	done
	note '%-50s %8.2fs %8.2fs %7s' "  CPU time (user+sys), ${side_name[P]}" "${mc[P]}" "${mc[K]}" "$(div "${mc[P]}" "${mc[K]}")"
}

# --- b. the kubelet floor ---------------------------------------------------
# floor: the seed's kubelet-bound work done by plain client-go (bench
# kubelet-floor), sequential and parallel alternating, each in a fresh
# namespace; medians, and each seed's wall time against its floor.
floor() {
	section "kubelet floor: the seed's kubelet-bound work with plain client-go, $FLOOR_RUNS runs per mode"
	echo "Each wait runs from the request that starts it (create, or the ephemeral-container PATCH) to"
	echo "the moment one informer on the namespace delivers the status it waits for: Ready (the pod,"
	echo "the copy), the ephemeral container terminated, the node pod's container terminated. No exec, no logs, no"
	echo "cleanup. sequential: the four waits one after the other; parallel: the pod, then the other"
	echo "three at once. What is left is the kubelet: it notices a container's start or exit only on"
	echo "its next relist of the runtime (once a second) and then writes the status."
	local i j mode ns line
	local -A f_wall=() f_ready=() f_eph=() f_copy=() f_node=()
	local -a modes=(sequential parallel)
	printf '%-4s %-10s %8s %8s %9s %8s %8s\n' run mode wall ready ephemeral copy node
	for ((i = 1; i <= FLOOR_RUNS; i++)); do
		for ((j = 0; j < 2; j++)); do
			mode=${modes[(i + j) % 2]}
			ns=$(new_ns "f$i-${mode:0:3}")
			if line=$("$work/bench" kubelet-floor -n "$ns" -mode "$mode" -node "$([[ $nodes -gt 1 ]] && echo "$node")" 2>&1) && [[ $line == FLOOR* ]]; then
				read -r _ _ w r e c nd <<<"$line"
				printf '%-4s %-10s %7.2fs %7.2fs %8.2fs %7.2fs %7.2fs\n' "$i" "$mode" "$w" "$r" "$e" "$c" "$nd"
				f_wall[$mode]+=" $w" f_ready[$mode]+=" $r" f_eph[$mode]+=" $e" f_copy[$mode]+=" $c" f_node[$mode]+=" $nd"
			else
				echo "$i $mode: $line"
			fi
			drop_ns "$ns"
		done
	done
	echo "at the end: $(load)"
	local -A fw=()
	echo
	printf '%-10s %8s %8s %9s %8s %8s   (medians)\n' mode wall ready ephemeral copy node
	for mode in "${modes[@]}"; do
		[[ -n ${f_wall[$mode]:-} ]] || continue
		# shellcheck disable=SC2086 # one value a word
		fw[$mode]=$(median ${f_wall[$mode]})
		# shellcheck disable=SC2086
		printf '%-10s %7.2fs %7.2fs %8.2fs %7.2fs %7.2fs\n' "$mode" "${fw[$mode]}" "$(median ${f_ready[$mode]})" \
			"$(median ${f_eph[$mode]})" "$(median ${f_copy[$mode]})" "$(median ${f_node[$mode]})"
	done
	note '%-50s %9s %9s %7s' "kubelet floor (median of $FLOOR_RUNS, plain client-go)" floor seed "above"
	local side m
	local -A shown=()
	for side in P S K; do
		case $side in
		P) m=$(seed_mode "$SEED") ;;
		S) [[ -f $SEQ_SEED ]] || continue; m=sequential ;;
		K) m=sequential ;;
		esac
		[[ -n ${fw[$m]:-} ]] || continue
		if [[ -n ${seed_wall[$side]:-} ]]; then
			local who
			case $side in P) who="runbook ${SEED##*/}" ;; S) who="runbook ${SEQ_SEED##*/}" ;; K) who="kubectl script" ;; esac
			printf '%s (%s): median wall %.2fs, its floor %.2fs, above the floor %.2fs\n' "$who" "$m" "${seed_wall[$side]}" "${fw[$m]}" \
				"$(sub "${seed_wall[$side]}" "${fw[$m]}")"
			note '%-50s %8.2fs %8.2fs %6.2fs' "  $m: ${who#runbook }" "${fw[$m]}" "${seed_wall[$side]}" "$(sub "${seed_wall[$side]}" "${fw[$m]}")"
			shown[$m]=1
		fi
	done
	for m in "${modes[@]}"; do
		[[ -n ${fw[$m]:-} && -z ${shown[$m]:-} ]] && note '%-50s %8.2fs' "  $m (no passing seed run of this mode)" "${fw[$m]}"
	done
	return 0
}

# kept: the sequential seed kept with --keep; from its pods' status
# timestamps and managedFields, when the kubelet ran each piece of work and
# when it reported it (bench floor).
kept() {
	local seed=$SEQ_SEED
	[[ -f $seed ]] || seed=$SEED
	section "kept: $seed with --keep, $FLOOR_RUNS runs: when the kubelet ran the work and when it reported it"
	echo "Pod status timestamps are truncated to the second, so each figure is a range: low end"
	echo "from the timestamps, high end capped by when the step saw the result. 'kubelet ran':"
	echo "until Ready or the container finished; 'reported': until the kubelet wrote that status"
	echo "(its managedFields time), the earliest any client can see it. Tool overhead ="
	echo "wall - reported; its low end is the time spent outside the steps that wait for the"
	echo "kubelet (start-up, exec steps, cleanup), measured exactly."
	local i ns t0 t1 line w rl rh pl ph
	local -a walls=() ran_lo=() ran_hi=() rep_lo=() rep_hi=() over_lo=() over_hi=()
	for ((i = 1; i <= FLOOR_RUNS; i++)); do
		ns=$(new_ns "k$i")
		t0=$(now)
		"$RUNBOOK_BIN" run "$seed" -n "$ns" -o none --keep --report json="$work/f$i.json" >"$work/f$i.log" 2>&1 || true
		t1=$(now)
		k get pods -n "$ns" -o json --show-managed-fields >"$work/f$i.pods.json"
		echo
		echo "run $i (namespace $ns, process wall $(sub "$t1" "$t0")s):"
		if "$work/bench" floor "$work/f$i.json" "$work/f$i.pods.json" >"$work/f$i.floor" 2>&1; then
			grep -v '^FLOOR ' "$work/f$i.floor"
			line=$(grep '^FLOOR ' "$work/f$i.floor")
			read -r _ w rl rh pl ph <<<"$line"
			walls+=("$w") ran_lo+=("$rl") ran_hi+=("$rh") rep_lo+=("$pl") rep_hi+=("$ph")
			over_lo+=("$(sub "$w" "$ph")") over_hi+=("$(sub "$w" "$pl")")
			printf '  tool overhead = wall - reported: %.2f-%.2fs\n' "$(sub "$w" "$ph")" "$(sub "$w" "$pl")"
		else
			sed 's/^/  /' "$work/f$i.floor"
			tail -5 "$work/f$i.log" | sed 's/^/  /'
		fi
		"$RUNBOOK_BIN" cleanup -n "$ns" >/dev/null 2>&1 || echo "  runbook cleanup -n $ns failed"
		drop_ns "$ns"
	done
	if ((${#walls[@]} == 0)); then
		note 'kubelet floor: no run could be measured'
		return
	fi
	local mw r1 r2 p1 p2 o1 o2
	mw=$(median "${walls[@]}")
	r1=$(median "${ran_lo[@]}") r2=$(median "${ran_hi[@]}")
	p1=$(median "${rep_lo[@]}") p2=$(median "${rep_hi[@]}")
	o1=$(median "${over_lo[@]}") o2=$(median "${over_hi[@]}")
	echo
	printf 'median over %d runs: wall %.2fs, kubelet ran %.2f-%.2fs, reported %.2f-%.2fs, tool overhead %.2f-%.2fs\n' \
		"${#walls[@]}" "$mw" "$r1" "$r2" "$p1" "$p2" "$o1" "$o2"
	note '%-46s %8.2fs' "kept runs of $seed (median of $FLOOR_RUNS): wall" "$mw"
	note '%-46s %5.2f-%.2fs' "  kubelet ran the work" "$r1" "$r2"
	note '%-46s %5.2f-%.2fs   (earliest any client can see it)' "  kubelet reported it" "$p1" "$p2"
	note '%-46s %5.2f-%.2fs   (%s-%s of wall)' "  tool overhead = wall - reported" "$o1" "$o2" "$(div "$o1" "$mw")" "$(div "$o2" "$mw")"
}

# --- c. the fan-out against the node's own ceiling --------------------------
# fanout_file C: a copy of the fan-out example that selects this bench run's
# pods at concurrency C; prints its path, or fails when the example has no
# "selector: debug-check=enabled" or "concurrency: N" to set.
fanout_file() {
	local c=$1 file=$work/fanout-c$1.yaml
	sed -e "s/selector: debug-check=enabled/selector: $label/" \
		-e "s/concurrency: [0-9][0-9]*/concurrency: $c/" "$FANOUT_EXAMPLE" >"$file"
	grep -q "selector: $label" "$file" && grep -q "concurrency: $c\$" "$file" || return 1
	echo "$file"
}

# fresh_pods N TAG: a fresh namespace with N pause pods, Ready and settled;
# prints the namespace and the seconds settle waited, or fails (after
# dropping it).
fresh_pods() {
	local n=$1 ns
	ns=$(new_ns "$2")
	pods_manifest "$n" | k apply -n "$ns" -f - >/dev/null
	# kubectl v1.37 logs a "Failed to watch ... context canceled" when its wait ends: shown only on failure.
	if ! k wait pod -n "$ns" -l "$label" --for=condition=Ready --timeout=600s >/dev/null 2>"$work/wait.err"; then
		cat "$work/wait.err" >&2
		echo "  $n pods not Ready within 600s" >&2
		drop_ns "$ns"
		return 1
	fi
	echo "$ns $(settle)"
}

ceiling() {
	section "fan-out: $FANOUT_EXAMPLE over $CEIL_PODS pods at concurrency $CEIL_CONC against the node's own ceiling, $CEIL_RUNS rounds"
	if [[ ! -f $FANOUT_EXAMPLE ]]; then
		note 'fan-out ceiling: skipped, %s does not exist' "$FANOUT_EXAMPLE"
		return
	fi
	local file file_all
	if ! file=$(fanout_file "$CEIL_CONC") || ! file_all=$(fanout_file "$CEIL_PODS"); then
		note 'fan-out ceiling: skipped, %s has no "selector: debug-check=enabled" or "concurrency: N" to set' "$FANOUT_EXAMPLE"
		return
	fi
	local rb=runbook rball=rb-c$CEIL_PODS
	local -A rbfile=([$rb]=$file [$rball]=$file_all)
	echo "all = the node's ceiling (bench ceiling): plain client-go, one informer, all $CEIL_PODS PATCHes of"
	echo "pods/ephemeralcontainers sent at once (no client-side limit), until every container is seen terminated."
	echo "c$CEIL_CONC = the same plain client doing runbook's work at runbook's bound: $CEIL_CONC targets in flight at a"
	echo "time, each container's output read once it has terminated. $rb = runbook run of the example at"
	echo "concurrency $CEIL_CONC (its ephemeral container, its log read, its assertions); $rball = the same at"
	echo "concurrency $CEIL_PODS, unbounded as the ceiling is. Each run gets $CEIL_PODS fresh pause pods on ${FANOUT_NODE:-$node},"
	echo "Ready, then settled: at least ${SETTLE}s and until the machine is under ${SETTLE_BUSY}% busy for 2 s (at most ${SETTLE_MAX}s;"
	echo "\"+\": it was not)."
	local r j side ns t0 wall line res req sent verdict tmed tmin tmax settled
	local -a sides=(all "c$CEIL_CONC" "$rb" "$rball") args
	local -A c_wall=() c_med=()
	printf '%-4s %-8s %7s %8s %7s %-28s %s\n' run side settled wall reqs "per target: median (min-max)" verdict
	for ((r = 1; r <= CEIL_RUNS; r++)); do
		for ((j = 0; j < ${#sides[@]}; j++)); do
			side=${sides[(r - 1 + j) % ${#sides[@]}]}
			line=$(fresh_pods "$CEIL_PODS" "c$r-$side") || continue
			read -r ns settled <<<"$line"
			t0=$(now)
			case $side in
			all | "c$CEIL_CONC")
				# all: the PATCHes only; c$CEIL_CONC: a PATCH and a log read a target.
				args=(-c 0) sent=$CEIL_PODS
				[[ $side == all ]] || args=(-c "$CEIL_CONC" -logs) sent=$((2 * CEIL_PODS))
				line=$("$work/bench" ceiling -n "$ns" -l "$label" "${args[@]}" 2>&1) || true
				wall=$(sub "$(now)" "$t0")
				if [[ $line == CEILING* ]]; then
					read -r _ _ _ _ _ tmed tmin tmax <<<"$line"
					req=$sent verdict=passed
				else
					echo "$r $side: $line"
					verdict=error
				fi
				;;
			*)
				"$RUNBOOK_BIN" run "${rbfile[$side]}" -n "$ns" -o none \
					--report json="$work/ceil-$r-$side.json" >"$work/ceil-$r-$side.log" 2>&1 || true
				wall=$(sub "$(now)" "$t0")
				if res=$("$work/bench" result "$work/ceil-$r-$side.json" 2>/dev/null); then
					read -r _ req verdict _ _ <<<"$res"
					read -r tmed tmin tmax _ < <("$work/bench" targets "$work/ceil-$r-$side.json")
				else
					verdict=error
				fi
				[[ $verdict == passed ]] || tail -20 "$work/ceil-$r-$side.log" | sed 's/^/    /'
				;;
			esac
			if [[ $verdict == passed ]]; then
				printf '%-4s %-8s %6ss %7.2fs %7s %5.2fs (%.2f-%.2fs) %11s\n' "$r" "$side" "$settled" "$wall" "$req" "$tmed" "$tmin" "$tmax" "$verdict"
				c_wall[$side]+=" $wall" c_med[$side]+=" $tmed"
			fi
			drop_ns "$ns"
		done
	done
	echo "at the end: $(load)"
	for side in "${sides[@]}"; do
		if [[ -z ${c_wall[$side]:-} ]]; then
			note 'fan-out ceiling: no passing run of %s' "$side"
			return
		fi
	done
	local -A mw=()
	echo
	for side in "${sides[@]}"; do
		# shellcheck disable=SC2086 # one value a word
		mw[$side]=$(median ${c_wall[$side]})
		# shellcheck disable=SC2086
		printf '%-8s median wall %6.2fs, per target %5.2fs\n' "$side" "${mw[$side]}" "$(median ${c_med[$side]})"
	done
	note '%-54s %9s %9s %7s' "fan-out, $CEIL_PODS pods (median of $CEIL_RUNS)" peer runbook ratio
	note '%-54s %8.2fs %8.2fs %7s   (goal <= 1.10)' "  node ceiling (all at once) vs runbook at $CEIL_CONC" "${mw[all]}" "${mw[$rb]}" "$(div "${mw[$rb]}" "${mw[all]}")"
	note '%-54s %8.2fs %8.2fs %7s' "  plain client, same work at $CEIL_CONC, vs runbook at $CEIL_CONC" "${mw[c$CEIL_CONC]}" "${mw[$rb]}" "$(div "${mw[$rb]}" "${mw[c$CEIL_CONC]}")"
	note '%-54s %8.2fs %8.2fs %7s' "  node ceiling vs plain client, same work at $CEIL_CONC" "${mw[all]}" "${mw[c$CEIL_CONC]}" "$(div "${mw[c$CEIL_CONC]}" "${mw[all]}")"
	note '%-54s %8.2fs %8.2fs %7s' "  node ceiling vs runbook at $CEIL_PODS (unbounded)" "${mw[all]}" "${mw[$rball]}" "$(div "${mw[$rball]}" "${mw[all]}")"
}

# --- e. the fan-out's growth (not by default) ----------------------------
# pods_manifest N: N pause pods labelled for this bench run.
pods_manifest() {
	local i pin="nodeName: ${FANOUT_NODE:-$node}, "
	[[ $FANOUT_NODE == any ]] && pin=""
	echo "apiVersion: v1"
	echo "kind: List"
	echo "items:"
	for ((i = 1; i <= $1; i++)); do
		printf -- '- apiVersion: v1\n  kind: Pod\n  metadata: {name: pause-%d, labels: {%s: %s}}\n' "$i" "${label%%=*}" "${label#*=}"
		printf '  spec: {%scontainers: [{name: app, image: %s}]}\n' "$pin" "$PAUSE_IMAGE"
	done
}

# fanout_once N C REP: one measurement over N fresh pods at concurrency C;
# prints a row and sets fo_w and fo_m (wall, peak RSS in MiB), empty when
# it could not measure.
fanout_once() {
	local n=$1 c=$2 rep=$3 file=$work/fanout-c$2.yaml tag=fo-$1-$2-$3
	local ns t0 t1 ready wall rss res req verdict passed total tmed tmin tmax
	fo_w='' fo_m=''
	ns=$(new_ns "n$n-c$c-$rep")
	t0=$(now)
	pods_manifest "$n" | k apply -n "$ns" -f - >/dev/null
	if ! k wait pod -n "$ns" -l "$label" --for=condition=Ready --timeout=600s >/dev/null 2>"$work/wait.err"; then
		cat "$work/wait.err"
		echo "$n pods not Ready within 600s: skipped"
		drop_ns "$ns"
		return
	fi
	ready=$(sub "$(now)" "$t0")
	settle >/dev/null
	t0=$(now)
	"$TIME" -v -o "$work/$tag.time" "$RUNBOOK_BIN" run "$file" -n "$ns" -o none \
		--report json="$work/$tag.json" >"$work/$tag.log" 2>&1 || true
	t1=$(now)
	wall=$(sub "$t1" "$t0")
	rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$work/$tag.time")
	if res=$("$work/bench" result "$work/$tag.json" 2>/dev/null); then
		read -r _ req verdict passed total <<<"$res"
		read -r tmed tmin tmax _ < <("$work/bench" targets "$work/$tag.json")
	else
		req=0 verdict=error passed=0 total=0 tmed=0 tmin=0 tmax=0
	fi
	printf '%5s %5s %8.2fs %8.2fs %6s MiB %7s %5.2fs (%.2f-%.2fs)   %s/%s %s\n' "$n" "$c" "$ready" "$wall" "$rss" "$req" \
		"$tmed" "$tmin" "$tmax" "$passed" "$total" "$verdict"
	if [[ $verdict == passed ]]; then
		fo_w=$wall fo_m=$rss
	else
		tail -20 "$work/$tag.log" | sed 's/^/    /'
	fi
	drop_ns "$ns"
}

fanout() {
	section "fan-out: $FANOUT_EXAMPLE over N fresh pause pods (N = $FANOUT; concurrency $CONCURRENCY)"
	if [[ ! -f $FANOUT_EXAMPLE ]]; then
		echo "$FANOUT_EXAMPLE does not exist: skipped"
		note 'fan-out: skipped, %s does not exist' "$FANOUT_EXAMPLE"
		return
	fi
	local n c r reps first last file
	local -a ws ms
	declare -A fo_wall=() fo_rss=()
	first=$(awk '{ print $1 }' <<<"$FANOUT")
	last=$(awk '{ print $NF }' <<<"$FANOUT")
	for c in $CONCURRENCY; do
		file=$work/fanout-c$c.yaml
		# Concurrency is a literal in the example: set it in a copy, and
		# select only this bench run's pods.
		sed -e "s/selector: debug-check=enabled/selector: $label/" \
			-e "s/concurrency: [0-9][0-9]*/concurrency: $c/" "$FANOUT_EXAMPLE" >"$file"
		if ! grep -q "selector: $label" "$file" || ! grep -q "concurrency: $c\$" "$file"; then
			echo "cannot set the selector or the concurrency in a copy of $FANOUT_EXAMPLE: skipped"
			note 'fan-out: skipped, %s has no "selector: debug-check=enabled" or "concurrency: N" to set' "$FANOUT_EXAMPLE"
			return
		fi
	done
	echo "one run per cell; the baseline ($first pod) is run $BASE_RUNS times and its median used,"
	echo "since the kubelet's 1 s status cadence makes a single small run jump by whole seconds."
	echo "Every run starts once its pods are Ready and settled (at least ${SETTLE}s; an ephemeral container in a pod that"
	echo "has just become Ready takes about 1 s longer, which would flatter the ratios)."
	printf '%5s %5s %9s %9s %9s %7s %-22s %s\n' pods conc ready wall "peak RSS" reqs "per target: median" checks
	for n in $FANOUT; do
		for c in $CONCURRENCY; do
			reps=1
			[[ $n == "$first" ]] && reps=$BASE_RUNS
			ws=() ms=()
			for ((r = 1; r <= reps; r++)); do
				fanout_once "$n" "$c" "$r"
				[[ -n $fo_w ]] && ws+=("$fo_w") ms+=("$fo_m")
			done
			if ((${#ws[@]} > 0)); then
				fo_wall[$n/$c]=$(median "${ws[@]}") fo_rss[$n/$c]=$(median "${ms[@]}")
			fi
		done
	done
	echo
	printf 'wall time and peak RSS against %s pod(s) at the same concurrency (medians where repeated)\n' "$first"
	printf '%5s %5s %9s %7s %11s %7s\n' pods conc wall ratio "peak RSS" ratio
	note '%-46s' "fan-out: $FANOUT_EXAMPLE (wall, peak RSS, ratio vs $first pod)"
	for c in $CONCURRENCY; do
		for n in $FANOUT; do
			[[ -n ${fo_wall[$n/$c]:-} ]] || continue
			printf '%5s %5s %8.2fs %7s %7.1f MiB %7s\n' "$n" "$c" "${fo_wall[$n/$c]}" "$(div "${fo_wall[$n/$c]}" "${fo_wall[$first/$c]:-0}")" \
				"${fo_rss[$n/$c]}" "$(div "${fo_rss[$n/$c]}" "${fo_rss[$first/$c]:-0}")"
			note '  %3s pods, concurrency %2s %18.2fs x%-5s %6.1f MiB x%s' "$n" "$c" "${fo_wall[$n/$c]}" \
				"$(div "${fo_wall[$n/$c]}" "${fo_wall[$first/$c]:-0}")" "${fo_rss[$n/$c]}" "$(div "${fo_rss[$n/$c]}" "${fo_rss[$first/$c]:-0}")"
		done
	done
	if [[ -n ${fo_wall[$last/10]:-} && -n ${fo_wall[$first/10]:-} ]]; then
		note '  %3s pods at concurrency 10 vs %s pod: x%s   (goal <= 4)' "$last" "$first" "$(div "${fo_wall[$last/10]}" "${fo_wall[$first/10]}")"
	fi
}

# --- d. Go benchmarks -------------------------------------------------------
gobench() {
	section "Go benchmarks"
	"$GO" test -run '^$' -bench . -benchmem ./runbook/ ./runbook/expression/ ./kube/ | tee "$work/go.txt"
	note '%-46s' "Go benchmarks (ns/op, B/op, allocs/op)"
	while read -r name _ nsop _ rest; do
		local bop allocs
		bop=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "B/op") print $i }' <<<"$rest")
		allocs=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "allocs/op") print $i }' <<<"$rest")
		note '  %-36s %16s ns/op %12s B/op %9s allocs/op' "${name%-*}" "$nsop" "$bop" "$allocs"
	done < <(grep '^Benchmark' "$work/go.txt")
	# The pod watcher's heap for a namespace of 5000 pods, against the pods as listed.
	local line
	while IFS= read -r line; do
		note '%s' "$line"
	done < <(awk '/^BenchmarkPodWatcherNamespace/ { for (i = 1; i < NF; i++) m[$(i + 1)] = $i }
		END { if (m["watcher-MiB"] != "") printf "  pod watcher, 5000 pods: %s MiB held, %s MiB as listed: x%s\n", m["watcher-MiB"], m["listed-MiB"], m["watcher/listed"] }' \
		"$work/go.txt")
}

start=$(now)
for s in $SECTIONS; do
	case $s in
	seed) seed ;;
	floor) floor ;;
	ceiling) ceiling ;;
	go) gobench ;;
	fanout) fanout ;;
	kept) kept ;;
	*) echo "run.sh: unknown section $s (seed, floor, ceiling, go, fanout, kept)" >&2 ;;
	esac
done

section "summary"
{
	echo "runbook benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "$machine"
	[[ -z $version_warning ]] || echo "$version_warning"
	echo "at the start: $start_load; at the end: $(load)"
	for line in "${summary[@]}"; do echo "$line"; done
	printf 'total bench time %.0fs\n' "$(sub "$(now)" "$start")"
} | tee "$OUT/bench.txt"
echo "summary written to $OUT/bench.txt, full output to $OUT/bench.log"
