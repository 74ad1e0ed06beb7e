#!/usr/bin/env bash
# hack/bench/run.sh: the benchmark suite of runbook on the local cluster
# (make bench). It measures and prints figures and ratios; it never passes
# or fails on time. Sections (BENCH_SECTIONS, default all four):
#
#   seed    examples/distroless.yaml run by runbook (A) against the same work
#           typed with kubectl (B, hack/bench/kubectl-seed.sh), alternating,
#           each run in its own fresh namespace made before and deleted after
#           the timed part: wall time, CPU time, API requests, medians, ratio.
#   floor   runbook runs kept with --keep; from the pods' status timestamps,
#           how much of the run the kubelet itself needed, and the rest.
#   fanout  examples/ci-debuggability.yaml over N fresh pause pods at
#           concurrency 1 and 10: wall time, peak RSS, growth against N=1.
#   go      the Go benchmarks of the loader, the planner and expressions.
#
# Environment: KUBECONFIG and RUNBOOK_BIN (required; make bench sets both),
# BENCH_RUNS (A/B pairs, default 5), BENCH_FLOOR_RUNS (default 3),
# BENCH_FANOUT (pod counts, default "1 10 30 60"), BENCH_CONCURRENCY
# (default "1 10"), BENCH_FANOUT_BASE_RUNS (repeats of the smallest N, whose
# median is the baseline of the ratios; default 3), BENCH_FANOUT_SETTLE
# (seconds between the pods being Ready and the timed run; default 5: the
# kubelet takes about a second longer to run an ephemeral container in a pod
# that became Ready a moment ago, which would favour large N, whose first
# pods settle while the last ones start), BENCH_SECTIONS, KUBECTL (the peer; default: the kubectl
# v1.32 binary itself, see pick_kubectl), OUT (default out; the summary goes
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
SECTIONS=${BENCH_SECTIONS:-seed floor fanout go}
OUT=${OUT:-out}
GO=${GO:-go}
SEED=examples/distroless.yaml
FANOUT_EXAMPLE=examples/ci-debuggability.yaml
PAUSE_IMAGE=registry.k8s.io/pause:3.10.2
TIME=/usr/bin/time

# pick_kubectl prints the kubectl to compare against. On this machine kind
# /usr/bin/kubectl is the Google Cloud SDK's dispatcher: it asks the server
# for its version (one request that -v=6 does not show) and then execs
# kubectl.1.NN, adding about 40 ms to every command. The comparison uses the
# kubectl v1.32 binary itself, which is fairer to kubectl.
pick_kubectl() {
	if [[ -n ${KUBECTL:-} ]]; then
		echo "$KUBECTL"
		return
	fi
	local k real
	k=$(command -v kubectl) || { echo "run.sh: kubectl not found (set KUBECTL)" >&2; exit 2; }
	real=$(readlink -f "$k")
	if [[ $real == */google-cloud-sdk/bin/kubectl && -x ${real%/*}/kubectl.1.32 ]]; then
		echo "${real%/*}/kubectl.1.32"
	else
		echo "$k"
	fi
}
KUBECTL=$(pick_kubectl)
export KUBECTL

[[ -x $TIME ]] || { echo "run.sh: $TIME is missing: apt-get install -y time" >&2; exit 2; }
[[ -x $RUNBOOK_BIN ]] || { echo "run.sh: RUNBOOK_BIN=$RUNBOOK_BIN is not executable" >&2; exit 2; }

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
trap cleanup EXIT
trap 'exit 130' INT TERM

k() { "$KUBECTL" "$@"; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
median() { "$work/bench" stats "$@" | cut -d' ' -f1; }
section() { printf '\n=== %s ===\n' "$*"; }
summary=()
# note FORMAT ARGS...: a line of the summary.
# shellcheck disable=SC2059 # the format is the caller's first argument
note() { summary+=("$(printf "$@")"); }

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

"$GO" build -o "$work/bench" ./hack/bench

section "machine"
node=$(k get nodes -o jsonpath='{.items[0].metadata.name}')
server=$(k get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
client=$(k version --client 2>/dev/null | sed -n 's/^Client Version: //p')
machine=$(printf 'cpus %s, memory %s MiB, kernel %s; %s; kubectl %s (%s); server %s; node %s; containerd %s' \
	"$(nproc)" "$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)" "$(uname -r)" \
	"$("$RUNBOOK_BIN" version)" "$client" "$KUBECTL" "$server" "$node" \
	"$( (containerd --version 2>/dev/null || echo unknown) | awk '{ print $3 }')")
echo "$machine"
echo "run id $id; pods labelled $label; namespaces bench-$id-*"
k api-resources >/dev/null # warm kubectl's discovery cache for every B run

# --- a. the seed runbook against the kubectl script ------------------------
seed() {
	section "seed: $SEED, runbook (A) vs kubectl script (B), $RUNS runs each, alternating"
	local i ns t0 t1 wall cpu req res verdict order side b_del last_a
	local -a a_wall=() a_cpu=() a_req=() b_wall=() b_cpu=() b_req=() b_nodel=()
	: >"$work/groups.txt"
	printf '%-4s %-4s %8s %8s %6s %8s  %s\n' run side wall cpu reqs verdict note
	for ((i = 1; i <= RUNS; i++)); do
		order="A B"
		((i % 2 == 0)) && order="B A"
		for side in $order; do
			ns=$(new_ns "s$i${side,,}")
			t0=$(now)
			if [[ $side == A ]]; then
				"$TIME" -f '%U %S' -o "$work/a$i.time" "$RUNBOOK_BIN" run "$SEED" -n "$ns" -o none \
					--report json="$work/a$i.json" >"$work/a$i.log" 2>&1 || true
				t1=$(now)
				wall=$(sub "$t1" "$t0")
				cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$work/a$i.time")
				if res=$("$work/bench" result "$work/a$i.json" 2>/dev/null); then
					read -r _ req verdict _ _ <<<"$res"
				else
					req=0 verdict=error
				fi
				printf '%-4s %-4s %7.2fs %7.2fs %6s %8s\n' "$i" A "$wall" "$cpu" "$req" "$verdict"
				if [[ $verdict == passed ]]; then
					a_wall+=("$wall") a_cpu+=("$cpu") a_req+=("$req") last_a=$work/a$i.json
					"$work/bench" steps "$work/a$i.json" | awk -F'\t' -v r="$i" -v w="$wall" '
						{ g = $2 == "apply" ? "ready" : $2 == "debug" ? "ephemeral" : $2; t[g] += $1; sum += $1 }
						END { for (g in t) print "A", r, g, t[g]; print "A", r, "rest", w - sum }' >>"$work/groups.txt"
				else
					echo "  runbook run $i did not pass; its log:"
					sed 's/^/    /' "$work/a$i.log" | tail -20
				fi
			else
				: >"$work/b$i.log"
				if "$TIME" -f '%U %S' -o "$work/b$i.time" bash hack/bench/kubectl-seed.sh "$ns" "$node" "$work/b$i.log"; then
					verdict=passed
				else
					verdict=failed
				fi
				t1=$(now)
				wall=$(sub "$t1" "$t0")
				cpu=$(awk 'END { printf "%.2f", $1 + $2 }' "$work/b$i.time")
				req=$("$work/bench" requests "$work/b$i.log")
				b_del=$(awk '$1 == "#" && $2 == "step" { t[$3] = $4 } END { if ("delete" in t) printf "%.3f", t["delete"] - t["logs-node"]; else print 0 }' "$work/b$i.log")
				printf '%-4s %-4s %7.2fs %7.2fs %6s %8s  delete phase %.2fs\n' "$i" B "$wall" "$cpu" "$req" "$verdict" "$b_del"
				if [[ $verdict == passed ]]; then
					b_wall+=("$wall") b_cpu+=("$cpu") b_req+=("$req") b_nodel+=("$(sub "$wall" "$b_del")")
					"$work/bench" phases "$work/b$i.log" | awk -F'\t' -v r="$i" -v w="$wall" '
						{ g = $2 ~ /^(apply|wait-ready)$/ ? "ready" : $2 ~ /ephemeral$|^debug$/ ? "ephemeral" : \
							$2 ~ /^(copy|wait-copy)$/ ? "copy" : $2 ~ /node$/ ? "node" : $2 == "exec" ? "exec" : "rest"
						  t[g] += $1; sum += $1 }
						END { t["rest"] += w - sum; for (g in t) print "B", r, g, t[g] }' >>"$work/groups.txt"
				else
					echo "  kubectl run $i failed; the end of its log:"
					grep -v -E 'round_trippers|reflector|envvar|loader' "$work/b$i.log" | tail -20 | sed 's/^/    /'
				fi
			fi
			drop_ns "$ns"
		done
	done
	if ((${#a_wall[@]} == 0 || ${#b_wall[@]} == 0)); then
		echo "no passing run on one side: no medians"
		note 'seed: no passing run on one side (runbook %d, kubectl %d passed)' "${#a_wall[@]}" "${#b_wall[@]}"
		return
	fi
	local aw bw ac bc ar br bn
	aw=$(median "${a_wall[@]}") bw=$(median "${b_wall[@]}") bn=$(median "${b_nodel[@]}")
	ac=$(median "${a_cpu[@]}") bc=$(median "${b_cpu[@]}")
	ar=$(median "${a_req[@]}") br=$(median "${b_req[@]}")
	echo
	printf '%-34s %10s %10s %8s\n' "median of passing runs" runbook kubectl ratio
	printf '%-34s %9.2fs %9.2fs %8s\n' "wall time" "$aw" "$bw" "$(div "$aw" "$bw")"
	printf '%-34s %9.2fs %9.2fs %8s\n' "wall time, kubectl without delete" "$aw" "$bn" "$(div "$aw" "$bn")"
	printf '%-34s %9.2fs %9.2fs %8s\n' "CPU time (user+sys)" "$ac" "$bc" "$(div "$ac" "$bc")"
	printf '%-34s %10.0f %10.0f %8s\n' "API requests" "$ar" "$br" "$(div "$ar" "$br")"
	printf 'runs: runbook %d/%d passed, kubectl %d/%d passed; runbook wall %s s, kubectl wall %s s\n' \
		"${#a_wall[@]}" "$RUNS" "${#b_wall[@]}" "$RUNS" "$("$work/bench" stats "${a_wall[@]}" | awk '{ print "min " $2 " max " $3 }')" \
		"$("$work/bench" stats "${b_wall[@]}" | awk '{ print "min " $2 " max " $3 }')"
	echo "runbook's requests by verb (its last passing run): $("$work/bench" verbs "$last_a")"
	echo
	echo "where the time goes (median per run; the same work grouped on both sides):"
	printf '  %-58s %9s %9s\n' group runbook kubectl
	local g what va vb
	for g in ready ephemeral copy exec node rest; do
		case $g in
		ready) what="create noshell, until Ready" ;;
		ephemeral) what="ephemeral container --target, until done, its output" ;;
		copy) what="copy with shared processes, until Ready" ;;
		exec) what="exec ps in the copy (runbook: + the failing exec)" ;;
		node) what="node debug pod, until Succeeded, its output" ;;
		rest) what="the rest: start-up, cleanup (kubectl: delete --now waits)" ;;
		esac
		va=$(awk -v g="$g" '$1 == "A" && $3 == g { print $4 }' "$work/groups.txt")
		vb=$(awk -v g="$g" '$1 == "B" && $3 == g { print $4 }' "$work/groups.txt")
		# shellcheck disable=SC2086 # one value a word
		printf '  %-58s %8.2fs %8.2fs\n' "$what" "$(median ${va:-0})" "$(median ${vb:-0})"
	done
	note '%-46s %9s %9s %7s' "seed runbook vs kubectl script (median of $RUNS)" runbook kubectl ratio
	note '%-46s %8.2fs %8.2fs %7s   (goal <= 0.50)' "  wall time" "$aw" "$bw" "$(div "$aw" "$bw")"
	note '%-46s %8.2fs %8.2fs %7s' "  wall time, kubectl without its delete wait" "$aw" "$bn" "$(div "$aw" "$bn")"
	note '%-46s %8.2fs %8.2fs %7s' "  CPU time (user+sys)" "$ac" "$bc" "$(div "$ac" "$bc")"
	note '%-46s %9.0f %9.0f %7s   (goal: runbook <= 15)' "  API requests" "$ar" "$br" "$(div "$ar" "$br")"
}

# --- b. the kubelet floor ---------------------------------------------------
floor() {
	section "kubelet floor: $SEED with --keep, $FLOOR_RUNS runs"
	echo "Pod status timestamps are truncated to the second, so each figure is a range: low end"
	echo "from the timestamps, high end capped by when the step saw the result. 'kubelet ran':"
	echo "until Ready or the container finished; 'reported': until the kubelet wrote that status"
	echo "(its managedFields time), the earliest any client can see it. Tool overhead ="
	echo "wall - reported; its low end is the time spent outside the steps that wait for the"
	echo "kubelet (start-up, exec steps, cleanup), measured exactly."
	local i ns t0 t1 line w rl rh pl ph
	local -a walls=() ran_lo=() ran_hi=() rep_lo=() rep_hi=() over_lo=() over_hi=()
	for ((i = 1; i <= FLOOR_RUNS; i++)); do
		ns=$(new_ns "f$i")
		t0=$(now)
		"$RUNBOOK_BIN" run "$SEED" -n "$ns" -o none --keep --report json="$work/f$i.json" >"$work/f$i.log" 2>&1 || true
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
	note '%-46s %8.2fs' "kubelet floor (median of $FLOOR_RUNS kept runs): wall" "$mw"
	note '%-46s %5.2f-%.2fs' "  kubelet ran the work" "$r1" "$r2"
	note '%-46s %5.2f-%.2fs   (earliest any client can see it)' "  kubelet reported it" "$p1" "$p2"
	note '%-46s %5.2f-%.2fs   (%s-%s of wall)' "  tool overhead = wall - reported" "$o1" "$o2" "$(div "$o1" "$mw")" "$(div "$o2" "$mw")"
}

# --- c. fan-out -------------------------------------------------------------
# pods_manifest N: N pause pods labelled for this bench run.
pods_manifest() {
	local i
	echo "apiVersion: v1"
	echo "kind: List"
	echo "items:"
	for ((i = 1; i <= $1; i++)); do
		printf -- '- apiVersion: v1\n  kind: Pod\n  metadata: {name: pause-%d, labels: {%s: %s}}\n' "$i" "${label%%=*}" "${label#*=}"
		printf '  spec: {containers: [{name: app, image: %s}]}\n' "$PAUSE_IMAGE"
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
	if ! k wait pod -n "$ns" -l "$label" --for=condition=Ready --timeout=600s >/dev/null; then
		echo "$n pods not Ready within 600s: skipped"
		drop_ns "$ns"
		return
	fi
	ready=$(sub "$(now)" "$t0")
	sleep "$SETTLE"
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
	echo "Every run starts ${SETTLE}s after its pods are Ready (an ephemeral container in a pod that"
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
	"$GO" test -run '^$' -bench . -benchmem ./runbook/ ./runbook/expression/ | tee "$work/go.txt"
	note '%-46s' "Go benchmarks (ns/op, B/op, allocs/op)"
	while read -r name _ nsop _ rest; do
		local bop allocs
		bop=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "B/op") print $i }' <<<"$rest")
		allocs=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "allocs/op") print $i }' <<<"$rest")
		note '  %-36s %16s ns/op %12s B/op %9s allocs/op' "${name%-*}" "$nsop" "$bop" "$allocs"
	done < <(grep '^Benchmark' "$work/go.txt")
}

start=$(now)
for s in $SECTIONS; do
	case $s in
	seed) seed ;;
	floor) floor ;;
	fanout) fanout ;;
	go) gobench ;;
	*) echo "run.sh: unknown section $s (seed, floor, fanout, go)" >&2 ;;
	esac
done

section "summary"
{
	echo "runbook benchmarks, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "$machine"
	for line in "${summary[@]}"; do echo "$line"; done
	printf 'total bench time %.0fs\n' "$(sub "$(now)" "$start")"
} | tee "$OUT/bench.txt"
echo "summary written to $OUT/bench.txt, full output to $OUT/bench.log"
