#!/usr/bin/env bash
# check-imports.sh: fail when a package of the project imports one above it.
# The layers, bottom to top: expression and report (leaves); kube (which
# names the outcomes of its deletions with report's); the format (runbook);
# the step kinds (steps); the engine (runbook/engine) and, on it, running
# in the cluster (runbook/incluster) and, on that, the alert receiver
# (runbook/serve); the command.
# Each package may import only the project packages listed for it here.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=$(go list -m)

allowed() {
	case "$1" in
	runbook/expression | report | schemas) echo "" ;;
	kube) echo "report" ;;
	runbook) echo "runbook/expression" ;;
	steps) echo "runbook runbook/expression kube report" ;;
	runbook/engine) echo "runbook runbook/expression steps kube report" ;;
	runbook/incluster) echo "runbook runbook/expression runbook/engine steps kube report" ;;
	runbook/serve) echo "runbook runbook/expression runbook/engine runbook/incluster steps kube report" ;;
	cmd/runbook) echo "runbook runbook/expression runbook/engine runbook/incluster runbook/serve steps kube report schemas" ;;
	hack/*) echo "*" ;;
	*) echo "unknown" ;;
	esac
}

status=0
while read -r pkg imports; do
	rel=${pkg#"$mod"/}
	ok=$(allowed "$rel")
	if [ "$ok" = unknown ]; then
		echo "check-imports: package $rel has no layer: add it to hack/check-imports.sh" >&2
		status=1
		continue
	fi
	[ "$ok" = "*" ] && continue
	for imp in $imports; do
		case "$imp" in "$mod"/*) ;; *) continue ;; esac
		dep=${imp#"$mod"/}
		if ! [[ " $ok " == *" $dep "* ]]; then
			echo "check-imports: $rel imports $dep, which is not below it (allowed: ${ok:-nothing of the project})" >&2
			status=1
		fi
	done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
[ $status -eq 0 ] && echo "imports follow the layers"
exit $status
