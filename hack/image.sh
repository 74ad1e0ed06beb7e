#!/usr/bin/env bash
# hack/image.sh BINARY: the tool's image, runbook.local/runbook:dev (see
# RUNBOOK_IMAGE), made of the static binary BINARY alone (no base image),
# written as an OCI image-layout tar into $OUT (default out/) and imported
# into the containerd of every node of the local cluster, as
# hack/cluster.sh imports busybox and pause (hack/lib/cluster-images.sh).
#
# The image:
#   /runbook              the binary (entrypoint; `runbook run ...` as args)
#   /etc/passwd, /etc/group   user and group runbook, 65532 (the image's user)
#   /tmp                  1777 (the Job mounts an emptyDir there)
# In a pod, the binary finds no kubeconfig and uses the mounted
# ServiceAccount token and CA (client-go's in-cluster config).
#
# Cached by content: the tar is deterministic (sorted, owner 0, mtime 0),
# so the manifest digest changes only with the binary; a node that already
# has the image at that digest is not imported into again.
set -Eeuo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/lib/cluster-common.sh
source "$HACK_DIR/lib/cluster-common.sh"
# shellcheck source=hack/lib/cluster-images.sh
source "$HACK_DIR/lib/cluster-images.sh"

bin=${1:?usage: hack/image.sh BINARY}
ref=${RUNBOOK_IMAGE:-runbook.local/runbook:dev}
out=${OUT:-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)

root=$(mktemp -d "$out/runbook-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$bin" "$root/runbook"
chmod 0755 "$root/runbook"
printf 'runbook:x:65532:65532:runbook:/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'runbook:x:65532:\n' >"$root/etc/group"
oci_image "$ref" "$root" \
  '{"User":"65532:65532","Entrypoint":["/runbook"],"WorkingDir":"/tmp","Env":["HOME=/tmp"]}' \
  "$out/runbook-image.tar"
digest=$(tar -xOf "$out/runbook-image.tar" index.json | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p')
echo "image $ref $digest: $out/runbook-image.tar"

# Import into every node of a running local cluster.
nodes=$(state_nodes)
for ((i = 1; i <= nodes; i++)); do
  sock=$(node_sock "$i")
  if [[ ! -S $sock ]]; then
    echo "node $i: no containerd at $sock (is the cluster up? make cluster-up): not imported" >&2
    continue
  fi
  if ctr -a "$sock" -n k8s.io images ls "name==$ref" 2>/dev/null | grep -q "$digest"; then
    echo "node $i: $ref is already at $digest"
    continue
  fi
  images_import "$sock" "$out/runbook-image.tar"
  echo "node $i: imported $ref"
done
