# shellcheck shell=bash
# Local images of the cluster, built without any registry into OCI
# image-layout tars and imported into each node's containerd (namespace
# k8s.io, the one the kubelet's CRI uses).
#
#   registry.k8s.io/pause:3.10.2  hack/images/pause.c compiled with gcc -static;
#                                 user 65535:65535, entrypoint /pause.
#   docker.io/library/busybox:1.36
#                                 Debian's /bin/busybox (package busybox-static,
#                                 which is BusyBox 1.35) with its applet links.
#                                 It is tagged 1.36 only so that the seed's
#                                 runbook (image busybox:1.36) runs unchanged:
#                                 the binary inside is 1.35.
#   registry.k8s.io/coredns/coredns:VERSION
#                                 the CoreDNS binary built by hack/cluster.sh
#                                 (hack/coredns: upstream's coremain with the
#                                 plugins of kubeadm's Corefile and a few more),
#                                 static, entrypoint /coredns. Unlike upstream's
#                                 image it runs as root (no file capabilities
#                                 here); the Deployment drops every capability
#                                 but NET_BIND_SERVICE, as kubeadm's does.
#
# Pods reference all of them by tag, so the kubelet's default pull policy is
# IfNotPresent and nothing is ever pulled.

HACK_DIR=${HACK_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# oci_arch prints the machine's architecture in OCI's words.
oci_arch() {
  case $(uname -m) in
  x86_64) echo amd64 ;;
  aarch64) echo arm64 ;;
  *) uname -m ;;
  esac
}

# blob_put FILE DIR moves FILE into DIR/blobs/sha256/DIGEST and prints
# "DIGEST SIZE".
blob_put() {
  local file=$1 dir=$2 digest size
  digest=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  mv "$file" "$dir/blobs/sha256/$digest"
  echo "$digest $size"
}

# oci_image REF ROOTFS CONFIG OUT writes OUT, an OCI image-layout tar of
# one uncompressed layer made of directory ROOTFS. CONFIG is the JSON
# object of the image config's "config" field (User, Entrypoint, ...).
oci_image() {
  local ref=$1 rootfs=$2 config=$3 out=$4 work layer_digest layer_size cfg_digest cfg_size man_digest man_size
  work=$(mktemp -d "${out}.XXXXXX")
  mkdir -p "$work/blobs/sha256"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$rootfs" -cf "$work/layer.tar" .
  read -r layer_digest layer_size < <(blob_put "$work/layer.tar" "$work")
  printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"runbook hack/cluster.sh"}]}' \
    "$(oci_arch)" "$config" "$layer_digest" >"$work/config.json"
  read -r cfg_digest cfg_size < <(blob_put "$work/config.json" "$work")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg_digest" "$cfg_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
  read -r man_digest man_size < <(blob_put "$work/manifest.json" "$work")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_digest" "$man_size" "$ref" "${ref##*:}" >"$work/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  tar -C "$work" -cf "$out" oci-layout index.json blobs
  rm -rf "$work"
}

# images_build writes pause.tar and busybox.tar into directory $1.
images_build() {
  local dir=$1 root app
  mkdir -p "$dir"
  local env='["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'

  root=$dir/pause-rootfs
  rm -rf "$root"
  mkdir -p "$root"
  gcc -static -O2 -s -o "$root/pause" "$HACK_DIR/images/pause.c"
  oci_image "$PAUSE_IMAGE" "$root" \
    "{\"User\":\"65535:65535\",\"Env\":$env,\"Entrypoint\":[\"/pause\"],\"WorkingDir\":\"/\"}" \
    "$dir/pause.tar"
  rm -rf "$root"

  root=$dir/busybox-rootfs
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,var,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  while read -r app; do
    [[ -z $app || $app == bin/busybox ]] && continue
    mkdir -p "$root/$(dirname "$app")"
    ln -sf /bin/busybox "$root/$app"
  done < <(/bin/busybox --list-full)
  # Like the upstream image: root and nobody, so ps shows "root" for uid 0
  # and the plain number for the pause image's 65535.
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  oci_image "$BUSYBOX_IMAGE" "$root" \
    "{\"Env\":$env,\"Cmd\":[\"sh\"]}" "$dir/busybox.tar"
  rm -rf "$root"
}

# image_coredns writes coredns.tar in directory $1 from the binary
# $1/coredns.
image_coredns() {
  local dir=$1 root=$1/coredns-rootfs
  rm -rf "$root"
  mkdir -p "$root"/{etc,tmp}
  chmod 1777 "$root/tmp"
  cp "$dir/coredns" "$root/coredns"
  oci_image "$COREDNS_IMAGE" "$root" \
    '{"Entrypoint":["/coredns"],"WorkingDir":"/","ExposedPorts":{"53/tcp":{},"53/udp":{}}}' \
    "$dir/coredns.tar"
  rm -rf "$root"
}

# images_import imports the image tars $2... into the containerd whose
# socket is $1.
images_import() {
  local sock=$1 t
  shift
  for t in "$@"; do
    ctr -a "$sock" -n k8s.io images import "$t" >/dev/null
  done
}
