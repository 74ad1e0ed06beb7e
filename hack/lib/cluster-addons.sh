# shellcheck shell=bash
# The add-ons of the local cluster, on by default (CLUSTER_ADDONS):
#
#   kube-proxy  one process per node, started and stopped by hack/cluster.sh
#               like the kubelet (not a DaemonSet), in iptables mode, in the
#               node's network namespace: its chains live there, and `down`
#               removes them by deleting the namespace (after stopping
#               kube-proxy); hack/cluster-down-check.sh checks that none is
#               in the host's. Identity: a client certificate for user
#               system:kube-proxy (bound to system:node-proxier by the
#               default RBAC).
#   coredns     as kubeadm installs it: Deployment kube-system/coredns (2
#               replicas, label k8s-app=kube-dns), ConfigMap coredns with the
#               kubeadm Corefile, ServiceAccount coredns, ClusterRole and
#               ClusterRoleBinding system:coredns, Service kube-system/kube-dns
#               at $CLUSTER_DNS_IP. The image is built here from the module
#               proxy (hack/coredns) and imported into each node's containerd.
#               The kubelets get clusterDNS/clusterDomain, so pods with the
#               default dnsPolicy resolve NAME.NS.svc.cluster.local.
#
# The objects are applied with server-side apply (field manager
# runbook-cluster, forced) by `up`, which also re-applies them when DNS does
# not answer on a reused cluster (e.g. a test scaled CoreDNS to zero).
# Sourced by hack/cluster.sh after cluster-common.sh and cluster-pki.sh.

# addons_parse prints the add-ons CLUSTER_ADDONS asks for, in start order,
# space-separated, or "none". Unset means all of them.
addons_parse() {
  local spec=${CLUSTER_ADDONS-kube-proxy,coredns} a out=()
  spec=${spec//,/ }
  for a in $spec; do
    case $a in
    none) ;;
    all) out+=(kube-proxy coredns) ;;
    kube-proxy | coredns) out+=("$a") ;;
    *) die "CLUSTER_ADDONS: unknown add-on '$a' (kube-proxy, coredns, all or none)" ;;
    esac
  done
  ((${#out[@]})) || {
    echo none
    return 0
  }
  if [[ " ${out[*]} " == *" coredns "* && " ${out[*]} " != *" kube-proxy "* ]]; then
    die "CLUSTER_ADDONS: coredns needs kube-proxy (it reaches the API server and is reached through Services)"
  fi
  # In start order, each once.
  for a in kube-proxy coredns; do
    if [[ " ${out[*]} " == *" $a "* ]]; then printf '%s\n' "$a"; fi
  done | paste -sd' '
}

# addons_state prints what $STATE/addons records for the wanted add-ons:
# their names and, for coredns, the cache key of its binary and image (a
# cluster made with another CoreDNS build is not reused).
addons_state() {
  local wanted=$1
  if [[ " $wanted " == *" coredns "* ]]; then
    echo "${wanted/coredns/coredns=$(basename "$COREDNS_DIR")}"
  else
    echo "$wanted"
  fi
}

# addons_include HAVE WANT reports whether the add-ons recorded as HAVE
# (addons_state's output, or "none") include every add-on of WANT, each of
# the same build (coredns=KEY).
addons_include() {
  local a
  for a in $2; do
    [[ $a == none ]] && continue
    [[ " $1 " == *" $a "* ]] || return 1
  done
}

# addon_wanted NAME reports whether add-on NAME is in $ADDONS (set by `up`
# from CLUSTER_ADDONS).
addon_wanted() { [[ " ${ADDONS:-} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- kube-proxy

# kube_proxy_config writes node $1's KubeProxyConfiguration.
# conntrack.maxPerCore 0 leaves the (host-wide) conntrack table size alone.
kube_proxy_config() {
  local i=$1
  cat >"$CONF/kube-proxy-$i.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $CONF/kube-proxy.kubeconfig
hostnameOverride: $(node_name "$i")
mode: iptables
clusterCIDR: $CLUSTER_CIDR
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
EOF
}

# start_kube_proxy starts node $1's kube-proxy in the node's cgroup tree
# (ROOT/kube-proxy), where `down` kills whatever it left.
start_kube_proxy() {
  start_component "kube-proxy-$1" "$(node_netns "$1")" "$(node_cgroup "$1")/kube-proxy" \
    "$KUBE_BIN_DIR/kube-proxy" --config="$CONF/kube-proxy-$1.yaml"
}

# kube_proxy_healthy reports whether node $1's kube-proxy has synced its
# rules (its /healthz answers 200 only then).
kube_proxy_healthy() {
  nsenter --net="/var/run/netns/$(node_netns "$1")" -- \
    curl -sS --fail --max-time 3 http://127.0.0.1:10256/healthz >/dev/null 2>&1
}

# ---------------------------------------------------------------- CoreDNS

# api_apply PATH applies the YAML object on stdin at API path PATH
# (server-side apply, forced); it prints the API server's answer on failure.
api_apply() {
  local out
  if ! out=$(curl -sS --fail-with-body --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" \
    --key "$PKI/admin.key" -X PATCH -H 'Content-Type: application/apply-patch+yaml' \
    --data-binary @- "$API_URL$1?fieldManager=runbook-cluster&force=true" 2>&1); then
    log "cluster: applying $1 failed: $out"
    return 1
  fi
}

# coredns_apply applies the CoreDNS objects (kubeadm's, with the image
# built here; readiness is probed every second instead of every 10 s so
# that `up` does not wait for it).
coredns_apply() {
  api_apply /api/v1/namespaces/kube-system/serviceaccounts/coredns <<EOF
apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
EOF
  api_apply /apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
EOF
  api_apply /apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
- kind: ServiceAccount
  name: coredns
  namespace: kube-system
EOF
  api_apply /api/v1/namespaces/kube-system/configmaps/coredns <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success $CLUSTER_DOMAIN
           disable denial $CLUSTER_DOMAIN
        }
        loop
        reload
        loadbalance
    }
EOF
  api_apply /api/v1/namespaces/kube-system/services/kube-dns <<EOF
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  clusterIP: $CLUSTER_DNS_IP
  selector:
    k8s-app: kube-dns
  ports:
  - name: dns
    port: 53
    protocol: UDP
    targetPort: 53
  - name: dns-tcp
    port: 53
    protocol: TCP
    targetPort: 53
  - name: metrics
    port: 9153
    protocol: TCP
    targetPort: 9153
EOF
  api_apply /apis/apps/v1/namespaces/kube-system/deployments/coredns <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchExpressions:
                - key: k8s-app
                  operator: In
                  values: ["kube-dns"]
              topologyKey: kubernetes.io/hostname
      tolerations:
      - key: CriticalAddonsOnly
        operator: Exists
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
      nodeSelector:
        kubernetes.io/os: linux
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 170Mi
          requests:
            cpu: 100m
            memory: 70Mi
        args: ["-conf", "/etc/coredns/Corefile"]
        volumeMounts:
        - name: config-volume
          mountPath: /etc/coredns
          readOnly: true
        ports:
        - containerPort: 53
          name: dns
          protocol: UDP
        - containerPort: 53
          name: dns-tcp
          protocol: TCP
        - containerPort: 9153
          name: metrics
          protocol: TCP
        livenessProbe:
          httpGet:
            path: /health
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 60
          timeoutSeconds: 5
          successThreshold: 1
          failureThreshold: 5
        readinessProbe:
          httpGet:
            path: /ready
            port: 8181
            scheme: HTTP
          periodSeconds: 1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add:
            - NET_BIND_SERVICE
            drop:
            - ALL
          readOnlyRootFilesystem: true
      dnsPolicy: Default
      volumes:
      - name: config-volume
        configMap:
          name: coredns
          items:
          - key: Corefile
            path: Corefile
EOF
}

# coredns_replicas prints "WANTED READY" for the CoreDNS Deployment.
coredns_replicas() {
  local d want ready=0
  d=$(api_get /apis/apps/v1/namespaces/kube-system/deployments/coredns) || return 1
  # The API server indents its JSON for curl.
  d=${d//[[:space:]]/}
  [[ $d =~ \"spec\":\{\"replicas\":([0-9]+) ]] || return 1
  want=${BASH_REMATCH[1]}
  if [[ $d =~ \"status\":\{.*\"readyReplicas\":([0-9]+) ]]; then ready=${BASH_REMATCH[1]}; fi
  echo "$want $ready"
}

# coredns_ready reports whether every replica of the CoreDNS Deployment
# wanted is ready.
coredns_ready() {
  local r
  r=$(coredns_replicas) || return 1
  ((${r% *} > 0 && ${r#* } >= ${r% *}))
}

# dns_answers reports whether the cluster DNS answers, through the kube-dns
# Service (so kube-proxy's rules are in place too), from node 1's network
# namespace: kubernetes.default.svc.<domain> must be the API's Service IP.
dns_answers() {
  local out
  out=$(nsenter --net="/var/run/netns/$(node_netns 1)" -- timeout 3 \
    busybox nslookup -type=a "kubernetes.default.svc.$CLUSTER_DOMAIN" "$CLUSTER_DNS_IP" 2>&1) || return 1
  [[ $out =~ Address:[[:space:]]*${SERVICE_IP//./\\.}($|[^0-9]) ]]
}

# coredns_summary prints one line on CoreDNS for `status`; it fails when
# DNS does not answer.
coredns_summary() {
  local r pods
  r=$(coredns_replicas) || r="no Deployment"
  [[ $r == *' '* ]] && pods="pods ${r#* }/${r% *} ready" || pods=$r
  if dns_answers; then
    printf '  %-24s %s, %s answers\n' coredns "$pods" "$CLUSTER_DNS_IP"
  else
    printf '  %-24s %s, %s NOT ANSWERING\n' coredns "$pods" "$CLUSTER_DNS_IP"
    return 1
  fi
}
