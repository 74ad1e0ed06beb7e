# shellcheck shell=bash
# Certificates (openssl, one CA) and kubeconfig files of the local cluster.
# Sourced by hack/cluster.sh after cluster-common.sh.

# Certificate keys are ECDSA P-256 (an RSA key costs most of a second here);
# the service-account key pair is RSA 2048.
EC_KEY=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)

# pki_cert NAME CN O SANS USAGE signs $PKI/NAME.crt with the CA.
# O may be empty; SANS is a subjectAltName value or empty; USAGE is the
# extendedKeyUsage value (clientAuth, serverAuth or both).
pki_cert() {
  local name=$1 cn=$2 o=$3 sans=$4 usage=$5 subj ext
  subj="/CN=${cn}"
  [[ -n $o ]] && subj="/O=${o}${subj}"
  ext=$PKI/$name.ext
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=${usage}"
    [[ -n $sans ]] && echo "subjectAltName=${sans}"
  } >"$ext"
  openssl req -new "${EC_KEY[@]}" -nodes -keyout "$PKI/$name.key" \
    -out "$PKI/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
    -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# pki_all writes the CA, every component certificate and the service
# account key pair for a cluster with $1 nodes.
pki_all() {
  local nodes=$1 i name ip
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl req -x509 -new "${EC_KEY[@]}" -nodes -keyout "$PKI/ca.key" \
    -out "$PKI/ca.crt" -days 3650 -subj /CN=runbook-local-ca \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature 2>/dev/null
  pki_cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:${API_IP},IP:${SERVICE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
    serverAuth
  pki_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" clientAuth
  pki_cert admin runbook-admin system:masters "" clientAuth
  pki_cert scheduler system:kube-scheduler "" "" clientAuth
  pki_cert controller-manager system:kube-controller-manager "" "" clientAuth
  # User system:kube-proxy: bound to ClusterRole system:node-proxier by the
  # API server's default RBAC. One identity for every node's kube-proxy.
  if addon_wanted kube-proxy; then pki_cert kube-proxy system:kube-proxy "" "" clientAuth; fi
  for ((i = 1; i <= nodes; i++)); do
    name=$(node_name "$i")
    ip=$(node_ip "$i")
    pki_cert "kubelet-$i" "system:node:${name}" system:nodes \
      "IP:${ip},DNS:${name}" "serverAuth,clientAuth"
  done
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}

# kubeconfig_write FILE USER CERTNAME writes a kubeconfig with the CA and
# the client certificate $PKI/CERTNAME.{crt,key} embedded, so the file
# keeps working when copied elsewhere.
kubeconfig_write() {
  local file=$1 user=$2 cert=$3
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: runbook-local
  cluster:
    server: ${API_URL}
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI/$cert.key")
contexts:
- name: runbook-local
  context:
    cluster: runbook-local
    user: ${user}
current-context: runbook-local
EOF
  chmod 600 "$file"
}

# kubeconfig_all writes the user's and each component's kubeconfig.
kubeconfig_all() {
  local nodes=$1 i
  mkdir -p "$CONF"
  kubeconfig_write "$USER_KUBECONFIG" runbook-admin admin
  kubeconfig_write "$CONF/scheduler.kubeconfig" system:kube-scheduler scheduler
  kubeconfig_write "$CONF/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  if addon_wanted kube-proxy; then
    kubeconfig_write "$CONF/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  fi
  for ((i = 1; i <= nodes; i++)); do
    kubeconfig_write "$CONF/kubelet-$i.kubeconfig" "system:node:$(node_name "$i")" "kubelet-$i"
  done
}
