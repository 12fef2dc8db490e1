# shellcheck shell=bash
# The seed scenario around the tunnels: the AWS VPC, Azure's private link subnet with the
# storage account's private endpoint, Azure's DNS (the public view) and crossgate-dns on the
# appliance.
#
#   aws-vpc (client 10.10.1.10/32 on t1 and t2; resolv.conf -> the appliance's DNS)
#     ├─ t1 ── vpc 10.10.1.1/32  aws-t1 ──(tunnel 1)──┐
#     └─ t2 ── vpc 10.10.1.2/32  aws-t2 ──(tunnel 2)──┤
#        aws_vpc_router.sh routes the Azure network      ▼
#        via one of them, as AWS's gateway does     appliance (crossgated: routes to the VPC,
#                                                    SNAT, MSS clamp, firewall; crossgate-dns
#                                                    on the LAN address 10.20.0.4)
#   azure-nat (Azure's fabric: routes between the VNet's subnets and to Azure DNS)
#     ├─ lan 10.20.0.1/24 ── appliance eth1 10.20.0.4/24
#     ├─ pl  10.20.1.1/24 ── azure-pl eth0 10.20.1.5/24: the private endpoint, HTTPS for
#     │                      acct.dfs.core.windows.net (certificate from the lab's CA)
#     └─ dns 10.168.63.1/24 ── azure-dns eth0 10.168.63.16/24: Knot with the public view of
#                              core.windows.net (stands in for Azure DNS, 168.63.129.16)
#
# AWS clients reach the resolver through the tunnels: 10.20.0.4 is in the Azure network the
# AWS side routes into the VPN (in AWS, a Route 53 Resolver outbound endpoint forwards the
# storage zone there). The lab adds no route or nftables rule for the VPC on the appliance:
# that is crossgated's job. The appliance's only route the lab adds is its VNet route through
# the LAN (the route Azure's DHCP and a second NIC's configuration give a VM).

LAB_VPC_CLIENT_IP=10.10.1.10
LAB_PE_IP=10.20.1.5
LAB_PE_GW=10.20.1.1
LAB_PL_SUBNET=10.20.1.0/24
LAB_UPSTREAM_DNS_IP=10.168.63.16
LAB_UPSTREAM_DNS_GW=10.168.63.1
LAB_UPSTREAM_DNS_PUBLIC_IP=203.0.113.50
LAB_STORAGE_FQDN=acct.dfs.core.windows.net
LAB_STORAGE_PRIVATELINK=acct.privatelink.dfs.core.windows.net
LAB_STORAGE_PUBLIC_NAME=dfs.bn9prdstr01a.store.core.windows.net
LAB_PE_FILE=seed.bin
LAB_VPC_ROUTER_INTERVAL_MS=250

# lab_ip_to_int A.B.C.D
lab_ip_to_int() {
  local o
  IFS=. read -r -a o <<<"$1"
  printf '%s\n' "$(((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]))"
}

# lab_cidr_contains CIDR IP
lab_cidr_contains() {
  local net=${1%/*} len=${1#*/} mask
  mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  ((($(lab_ip_to_int "$2") & mask) == ($(lab_ip_to_int "$net") & mask)))
}

lab_scenario_check_networks() {
  local c
  for c in "$LAB_REMOTE_NETWORK" "$LAB_LOCAL_NETWORK"; do
    if ! [[ $c =~ ^[0-9.]+/([0-9]|[12][0-9]|3[0-2])$ ]] || ! lab_is_ipv4 "${c%/*}"; then
      lab_die "'$c' is not an IPv4 network (like 10.10.0.0/16)"
    fi
  done
  lab_cidr_contains "$LAB_REMOTE_NETWORK" "$LAB_VPC_CLIENT_IP" ||
    lab_die "--remote-network $LAB_REMOTE_NETWORK must hold the VPC client $LAB_VPC_CLIENT_IP"
  if ! lab_cidr_contains "$LAB_LOCAL_NETWORK" "$LAB_PE_IP" ||
    ! lab_cidr_contains "$LAB_LOCAL_NETWORK" "$LAB_APPLIANCE_LAN_IP"; then
    lab_die "--local-network $LAB_LOCAL_NETWORK must hold $LAB_APPLIANCE_LAN_IP and $LAB_PE_IP"
  fi
}

# ---- network ---------------------------------------------------------------------------------

lab_scenario_topology_up() {
  local n
  # Asymmetric paths are normal here (AWS picks its tunnel, the appliance its own).
  ip netns exec "$LAB_NS_AWS_VPC" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0
  for n in 1 2; do
    lab_link "$LAB_NS_AWS_VPC" "t$n" "$(lab_ns_aws "$n")" vpc
    ip -n "$LAB_NS_AWS_VPC" addr add "$LAB_VPC_CLIENT_IP/32" dev "t$n"
    ip -n "$LAB_NS_AWS_VPC" route add "10.10.1.$n/32" dev "t$n" scope link
    ip -n "$(lab_ns_aws "$n")" addr add "10.10.1.$n/32" dev vpc
    ip -n "$(lab_ns_aws "$n")" route add "$LAB_REMOTE_NETWORK" dev vpc scope link
    # Ahead of kernel-libipsec's table 220 (everything into the tunnel): the way back to the VPC.
    ip -n "$(lab_ns_aws "$n")" rule add to "$LAB_REMOTE_NETWORK" lookup main priority 100
    ip netns exec "$(lab_ns_aws "$n")" sysctl -qw net.ipv4.ip_forward=1
  done
  mkdir -p "/etc/netns/$LAB_NS_AWS_VPC"
  printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$LAB_APPLIANCE_LAN_IP" \
    >"/etc/netns/$LAB_NS_AWS_VPC/resolv.conf"

  lab_link "$LAB_NS_AZURE_NAT" pl "$LAB_NS_AZURE_PL" eth0
  ip -n "$LAB_NS_AZURE_NAT" addr add "$LAB_PE_GW/24" dev pl
  ip -n "$LAB_NS_AZURE_PL" addr add "$LAB_PE_IP/24" dev eth0
  ip -n "$LAB_NS_AZURE_PL" route add default via "$LAB_PE_GW" dev eth0

  lab_link "$LAB_NS_AZURE_NAT" dns "$LAB_NS_AZURE_DNS" eth0
  ip -n "$LAB_NS_AZURE_NAT" addr add "$LAB_UPSTREAM_DNS_GW/24" dev dns
  ip -n "$LAB_NS_AZURE_DNS" addr add "$LAB_UPSTREAM_DNS_IP/24" dev eth0
  ip -n "$LAB_NS_AZURE_DNS" route add default via "$LAB_UPSTREAM_DNS_GW" dev eth0

  ip -n "$LAB_NS_APPLIANCE" route add "$LAB_LOCAL_NETWORK" via "$LAB_APPLIANCE_LAN_GW" dev eth1
}

# lab_vpc_attach N: the AWS endpoint of tunnel N sends the Azure network into its tunnel
# interface (again after each restart of its charon, which re-creates kernel-libipsec's TUN).
lab_vpc_attach() {
  ip -n "$(lab_ns_aws "$1")" route replace "$LAB_LOCAL_NETWORK" dev ipsec0
}

# ---- the lab's CA and the private endpoint -----------------------------------------------------

lab_ca_create() {
  local dir=$LAB_DIR/ca
  mkdir -p "$dir"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/O=crossgate lab/CN=crossgate lab CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=$LAB_STORAGE_FQDN"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
      -CAcreateserial -days 7 -out "$dir/server.crt" -extfile <(
        printf 'subjectAltName=DNS:%s,DNS:*.dfs.core.windows.net,DNS:*.privatelink.dfs.core.windows.net\n' \
          "$LAB_STORAGE_FQDN"
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n'
        printf 'extendedKeyUsage=serverAuth\n'
      )
  ) >"$dir/openssl.log" 2>&1 || {
    cat "$dir/openssl.log" >&2
    lab_die "openssl could not create the lab's CA and certificate"
  }
  chmod 0644 "$dir/ca.crt" "$dir/server.crt"
  lab_env_set LAB_CA_CERT "$dir/ca.crt"
}

# lab_scenario_env: the scenario's addresses and names in lab.env (for tests and `lab env`).
lab_scenario_env() {
  local k
  for k in LAB_APPLIANCE_WAN_IP LAB_APPLIANCE_LAN_IP LAB_VPC_CLIENT_IP LAB_PE_IP LAB_PL_SUBNET \
    LAB_UPSTREAM_DNS_IP LAB_STORAGE_FQDN LAB_STORAGE_PRIVATELINK LAB_STORAGE_PUBLIC_NAME \
    LAB_UPSTREAM_DNS_PUBLIC_IP; do
    lab_env_set "$k" "${!k}"
  done
  for k in LAB_NS_APPLIANCE LAB_NS_AWS_T1 LAB_NS_AWS_T2 LAB_NS_AWS_VPC LAB_NS_AZURE_PL \
    LAB_NS_AZURE_DNS LAB_NS_AZURE_NAT LAB_NS_INTERNET; do
    lab_env_set "$k" "${!k}"
  done
}

lab_pe_prepare() {
  local dir=$LAB_DIR/azure-pl
  mkdir -p "$dir/www"
  head -c 262144 /dev/urandom >"$dir/www/$LAB_PE_FILE"
  lab_env_set LAB_PE_URL "https://$LAB_STORAGE_FQDN/$LAB_PE_FILE"
  lab_env_set LAB_PE_FILE_SHA256 "$(sha256sum "$dir/www/$LAB_PE_FILE" | awk '{print $1}')"
}

lab_pe_start() {
  local dir=$LAB_DIR/azure-pl
  lab_pid pe-https >/dev/null && return 0
  lab_launch pe-https "$LAB_NS_AZURE_PL" "" "$dir/pe-https.log" /usr/bin/python3 \
    "$LAB_ROOT/scripts/lab.d/pe_https.py" "$LAB_PE_IP" 443 "$LAB_DIR/ca/server.crt" \
    "$LAB_DIR/ca/server.key" "$dir/www"
  lab_wait_daemon pe-https 10 "the private endpoint's HTTPS server" lab_pe_listening ||
    lab_die_log "$dir/pe-https.log" "the private endpoint's HTTPS server did not start (see $dir/pe-https.log)"
}

lab_pe_listening() { ip netns exec "$LAB_NS_AZURE_PL" ss -Hltn "sport = :443" | grep -q .; }

# ---- DNS ---------------------------------------------------------------------------------------

# lab_upstream_dns_start: Knot in azure-dns, authoritative for the public view of
# core.windows.net: the storage FQDN is a CNAME to its privatelink name, which (outside the
# VNet) is a CNAME to the public front end.
lab_upstream_dns_start() {
  local dir=$LAB_DIR/azure-dns
  lab_pid upstream-dns >/dev/null && return 0
  mkdir -p "$dir/db"
  cat >"$dir/core.windows.net.zone" <<EOF
\$ORIGIN core.windows.net.
\$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 30
@ NS ns1
ns1 A $LAB_UPSTREAM_DNS_IP
${LAB_STORAGE_FQDN%.core.windows.net} CNAME ${LAB_STORAGE_PRIVATELINK}.
${LAB_STORAGE_PRIVATELINK%.core.windows.net} CNAME ${LAB_STORAGE_PUBLIC_NAME}.
${LAB_STORAGE_PUBLIC_NAME%.core.windows.net} A $LAB_UPSTREAM_DNS_PUBLIC_IP
EOF
  cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: $LAB_UPSTREAM_DNS_IP@53
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$dir"
zone:
  - domain: core.windows.net
    file: core.windows.net.zone
EOF
  lab_launch upstream-dns "$LAB_NS_AZURE_DNS" "" "$dir/knot.log" knotd -c "$dir/knot.conf"
  lab_wait_daemon upstream-dns 10 "Knot in $LAB_NS_AZURE_DNS" lab_upstream_dns_answers ||
    lab_die_log "$dir/knot.log" "the upstream DNS server did not start (see $dir/knot.log)"
}

lab_upstream_dns_answers() {
  ip netns exec "$LAB_NS_AZURE_DNS" kdig +short +time=1 +retry=0 "@$LAB_UPSTREAM_DNS_IP" \
    "$LAB_STORAGE_PUBLIC_NAME" A | grep -qx "$LAB_UPSTREAM_DNS_PUBLIC_IP"
}

# lab_app_dns_config: the [nat] and [dns] sections of the appliance's crossgate.toml.
lab_app_dns_config() {
  cat <<EOF

[nat]
snat = true
private_endpoint_subnets = ["$LAB_PL_SUBNET"]

[dns]
enabled = true
listen = ["$LAB_APPLIANCE_LAN_IP"]
upstreams = ["$LAB_UPSTREAM_DNS_IP"]
stats_socket = "/run/crossgate/dns.sock"

  [[dns.view]]
  name = "aws"
  clients = ["$LAB_REMOTE_NETWORK"]

    [[dns.view.private_endpoint]]
    name = "$LAB_STORAGE_PRIVATELINK"
    address = "$LAB_PE_IP"
EOF
}

lab_app_dns_start() {
  local dir
  dir=$(lab_app_dir)
  lab_pid dns >/dev/null && return 0
  lab_launch dns "$LAB_NS_APPLIANCE" "$dir/run" "$dir/crossgate-dns.log" \
    "$(lab_crossgate_bin crossgate-dns)" --config "$dir/etc/crossgate.toml" --threads 1 \
    --log-level info
  lab_wait_daemon dns 10 "crossgate-dns on $LAB_APPLIANCE_LAN_IP:53" lab_app_dns_listening ||
    lab_die_log "$dir/crossgate-dns.log" "crossgate-dns did not start (see $dir/crossgate-dns.log)"
}

lab_app_dns_listening() {
  ip netns exec "$LAB_NS_APPLIANCE" ss -Hlun "sport = :53" | grep -qF "$LAB_APPLIANCE_LAN_IP:53"
}

# ---- the AWS side's routing --------------------------------------------------------------------

lab_vpc_router_start() {
  lab_pid aws-vpc-router >/dev/null && return 0
  lab_launch aws-vpc-router "$LAB_NS_AWS_VPC" "" "$LAB_DIR/aws-vpc-router.log" \
    "$LAB_ROOT/scripts/lab.d/aws_vpc_router.sh" "$LAB_LOCAL_NETWORK" "$LAB_VPC_ROUTER_INTERVAL_MS" \
    "$(lab_aws_dir 1)/run/charon.vici" 10.10.1.1 t1 "$(lab_aws_dir 2)/run/charon.vici" 10.10.1.2 t2
  lab_wait_daemon aws-vpc-router 5 "the AWS VPC's route" \
    grep -q 'tunnel 1' "$LAB_DIR/aws-vpc-router.log" ||
    lab_die_log "$LAB_DIR/aws-vpc-router.log" "the AWS VPC router did not start (see $LAB_DIR/aws-vpc-router.log)"
}

# lab_scenario_start: everything of this file, after the tunnels' daemons.
lab_scenario_start() {
  lab_upstream_dns_start
  lab_app_dns_start
  lab_pe_start
  lab_vpc_router_start
}

# ---- scripts/lab test --------------------------------------------------------------------------

# lab_vpc_dig NAME: dig from the AWS VPC client with its resolv.conf (the appliance).
lab_vpc_dig() {
  ip netns exec "$LAB_NS_AWS_VPC" dig +time=2 +tries=1 "$1" A
}

# lab_test_dns OUT: resolves the storage FQDN from the VPC until it gets the private answer
# (routes appear shortly after the tunnels); OUT gets dig's last output.
lab_test_dns() {
  local out=$1 deadline=$(($(lab_now_ms) + 20000))
  while :; do
    lab_vpc_dig "$LAB_STORAGE_FQDN" >"$out" 2>&1 || true
    lab_test_dns_ok "$out" && return 0
    (($(lab_now_ms) < deadline)) || return 1
    sleep 0.5
  done
}

# lab_test_dns_ok DIG_OUTPUT: answered by the appliance, NOERROR, the CNAME chain to the
# privatelink name and its private A record, nothing else.
lab_test_dns_ok() {
  local f=$1
  grep -q "status: NOERROR" "$f" && grep -q "SERVER: $LAB_APPLIANCE_LAN_IP#53" "$f" &&
    grep -Eq "^$LAB_STORAGE_FQDN\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+$LAB_STORAGE_PRIVATELINK\.$" "$f" &&
    grep -Eq "^$LAB_STORAGE_PRIVATELINK\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$LAB_PE_IP$" "$f" &&
    [[ $(grep -Ec '^[a-z0-9.-]+\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]' "$f") == 1 ]]
}

# lab_test_https DIR: GET of the known file by name (resolved through the appliance), the
# certificate verified against the lab's CA; the content must be the file's.
lab_test_https() {
  local dir=$1 info got
  info=$(ip netns exec "$LAB_NS_AWS_VPC" curl -sS --fail --connect-timeout 5 --max-time 30 \
    --cacert "$LAB_CA_CERT" -o "$dir/seed.bin" -w '%{remote_ip} %{http_code} %{size_download}' \
    "$LAB_PE_URL" 2>"$dir/curl.err") || {
    LAB_TEST_WHY="curl: $(tr '\n' ' ' <"$dir/curl.err")"
    return 1
  }
  LAB_TEST_INFO=$info
  [[ ${info%% *} == "$LAB_PE_IP" ]] || {
    LAB_TEST_WHY="connected to ${info%% *}, not the private endpoint $LAB_PE_IP"
    return 1
  }
  got=$(sha256sum "$dir/seed.bin" | awk '{print $1}')
  [[ $got == "$LAB_PE_FILE_SHA256" ]] || {
    LAB_TEST_WHY="content differs (sha256 $got, expected $LAB_PE_FILE_SHA256)"
    return 1
  }
}

# lab_test [SECONDS]: the seed scenario's final check, from the AWS VPC client.
lab_test() {
  local wait_s=${1:-60} dir failed=() t0
  lab_require_root
  lab_env_load
  [[ $wait_s =~ ^[0-9]+$ ]] || lab_die "usage: scripts/lab test [SECONDS to wait for the tunnels]"
  t0=$(lab_now_ms)
  dir=$LAB_DIR/test
  rm -rf "$dir" && mkdir -p "$dir"
  lab_say "test: from $LAB_NS_AWS_VPC ($LAB_VPC_CLIENT_IP), resolver $LAB_APPLIANCE_LAN_IP via the tunnels"
  if lab_wait_for "$wait_s" "both tunnels up" lab_tunnels_up; then
    lab_say "ok: both tunnels up"
  else
    failed+=("tunnels: crossgate does not report both tunnels up after ${wait_s}s")
  fi
  if lab_test_dns "$dir/dig.out"; then
    lab_say "ok: $LAB_STORAGE_FQDN resolved through the appliance:"
    grep -E '[[:space:]]IN[[:space:]]+(CNAME|A)[[:space:]]' "$dir/dig.out" | sed 's/^/      /'
    if LAB_TEST_WHY="" lab_test_https "$dir"; then
      lab_say "ok: GET $LAB_PE_URL (certificate verified by the lab CA): HTTP ${LAB_TEST_INFO#* } bytes from ${LAB_TEST_INFO%% *}, content matches (sha256 ${LAB_PE_FILE_SHA256:0:16}...)"
    else
      failed+=("HTTPS GET $LAB_PE_URL from $LAB_NS_AWS_VPC: $LAB_TEST_WHY")
    fi
  else
    sed 's/^/      /' "$dir/dig.out"
    failed+=("DNS: $LAB_STORAGE_FQDN from $LAB_NS_AWS_VPC did not resolve to $LAB_PE_IP through $LAB_APPLIANCE_LAN_IP (CNAME $LAB_STORAGE_PRIVATELINK) within 20 s (dig output above)")
    failed+=("HTTPS: not tried (needs the name)")
  fi
  if ip netns exec "$LAB_NS_AWS_VPC" dig +short +time=2 +tries=2 "$LAB_STORAGE_PUBLIC_NAME" A |
    grep -qx "$LAB_UPSTREAM_DNS_PUBLIC_IP"; then
    lab_say "ok: other names are forwarded to the upstream ($LAB_STORAGE_PUBLIC_NAME -> $LAB_UPSTREAM_DNS_PUBLIC_IP)"
  else
    failed+=("DNS: $LAB_STORAGE_PUBLIC_NAME was not forwarded to the upstream $LAB_UPSTREAM_DNS_IP")
  fi
  echo "crossgate status:"
  lab_crossgate status 2>&1 | sed 's/^/  /' || failed+=("crossgate status failed")
  if ((${#failed[@]})); then
    local f
    for f in "${failed[@]}"; do printf 'lab: FAILED: %s\n' "$f" >&2; done
    lab_say "test FAILED ($(($(lab_now_ms) - t0)) ms; logs in $LAB_DIR)"
    return 1
  fi
  lab_say "test passed ($(($(lab_now_ms) - t0)) ms)"
}
