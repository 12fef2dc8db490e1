# shellcheck shell=bash
# The lab's network: namespaces, veth links, addresses, routes and the Azure 1:1 NAT.
#
#   cg-aws-t1 (eth0: AWS outside IP 1/32) ──┐
#                                           ├── cg-internet (router; one /32 route per leaf)
#   cg-aws-t2 (eth0: AWS outside IP 2/32) ──┤
#                                           │
#   cg-azure-nat (eth0: customer public IP/32; the Azure fabric: 1:1 NAT public IP <-> 10.0.0.4,
#        │        VNet router for the appliance's subnets)
#        ├─ wan 10.0.0.1/24  ── cg-appliance eth0 10.0.0.4/24 (WAN, default route)
#        └─ lan 10.20.0.1/24 ── cg-appliance eth1 10.20.0.4/24 (LAN)
#
# Every leaf of cg-internet holds /32 addresses and reaches the router's address (LAB_ROUTER_IP,
# a documentation address the AWS file does not use) on-link, so any mix of outside addresses
# works. Links are created directly inside the namespaces: nothing touches the host's own
# namespace, and deleting the namespaces deletes the links.
# The seed scenario's namespaces (<prefix>aws-vpc, <prefix>azure-pl, <prefix>azure-dns) and
# their links are in scenario.sh; the appliance-to-appliance mode (`up --peer crossgate`)
# replaces the strongSwan AWS endpoints by crossgate ones (LAB_PEER in lab.env; dataplane.sh).
# Namespace names are written here with the default prefix cg- (see common.sh).

LAB_APPLIANCE_WAN_IP=10.0.0.4
LAB_APPLIANCE_WAN_GW=10.0.0.1
LAB_APPLIANCE_LAN_IP=10.20.0.4
LAB_APPLIANCE_LAN_GW=10.20.0.1

lab_ns_create() {
  local ns=$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# lab_link NS_A IF_A NS_B IF_B: a veth pair between two namespaces, both ends up.
lab_link() {
  ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

# lab_internet_leaf NS IF ADDRESS...: connects NS to the internet namespace; NS holds ADDRESSes as /32s on
# IF with a default route through the router.
lab_internet_leaf() {
  local ns=$1 ifname=$2 rif a
  shift 2
  rif="to-${ns#"$LAB_PREFIX"}"
  lab_link "$ns" "$ifname" "$LAB_NS_INTERNET" "$rif"
  ip -n "$LAB_NS_INTERNET" addr add "$LAB_ROUTER_IP/32" dev "$rif"
  for a in "$@"; do
    ip -n "$ns" addr add "$a/32" dev "$ifname"
    ip -n "$LAB_NS_INTERNET" route add "$a/32" dev "$rif"
  done
  ip -n "$ns" route add "$LAB_ROUTER_IP/32" dev "$ifname" scope link
  ip -n "$ns" route add default via "$LAB_ROUTER_IP" dev "$ifname"
}

# lab_nat_rules PUBLIC_IP PRIVATE_IP: Azure's 1:1 NAT of a public IP (all protocols and ports,
# ports preserved) to a private address.
lab_nat_rules() {
  ip netns exec "$LAB_NS_AZURE_NAT" nft -f - <<EOF
table ip lab_azure_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "eth0" ip daddr $1 dnat to $2
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" ip saddr $2 snat to $1
  }
}
EOF
}

# lab_topology_up: builds every namespace and link from LAB_AWS_IP_1/2 and LAB_CUSTOMER_IP.
lab_topology_up() {
  local ns
  for ns in "${LAB_NAMESPACES[@]}"; do lab_ns_create "$ns"; done
  ip netns exec "$LAB_NS_INTERNET" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$LAB_NS_AZURE_NAT" sysctl -qw net.ipv4.ip_forward=1

  lab_internet_leaf "$LAB_NS_AWS_T1" eth0 "$LAB_AWS_IP_1"
  lab_internet_leaf "$LAB_NS_AWS_T2" eth0 "$LAB_AWS_IP_2"
  lab_internet_leaf "$LAB_NS_AZURE_NAT" eth0 "$LAB_CUSTOMER_IP"

  lab_link "$LAB_NS_AZURE_NAT" wan "$LAB_NS_APPLIANCE" eth0
  ip -n "$LAB_NS_AZURE_NAT" addr add "$LAB_APPLIANCE_WAN_GW/24" dev wan
  ip -n "$LAB_NS_APPLIANCE" addr add "$LAB_APPLIANCE_WAN_IP/24" dev eth0
  ip -n "$LAB_NS_APPLIANCE" route add default via "$LAB_APPLIANCE_WAN_GW" dev eth0

  lab_link "$LAB_NS_AZURE_NAT" lan "$LAB_NS_APPLIANCE" eth1
  ip -n "$LAB_NS_AZURE_NAT" addr add "$LAB_APPLIANCE_LAN_GW/24" dev lan
  ip -n "$LAB_NS_APPLIANCE" addr add "$LAB_APPLIANCE_LAN_IP/24" dev eth1

  lab_nat_rules "$LAB_CUSTOMER_IP" "$LAB_APPLIANCE_WAN_IP"
}

# lab_topology_check: the appliance reaches both AWS outside addresses through the NAT.
lab_topology_check() {
  local a
  for a in "$LAB_AWS_IP_1" "$LAB_AWS_IP_2"; do
    ip netns exec "$LAB_NS_APPLIANCE" ping -q -c1 -W1 "$a" >/dev/null ||
      lab_die "$LAB_NS_APPLIANCE cannot reach $a through $LAB_NS_AZURE_NAT and $LAB_NS_INTERNET"
  done
}

# lab_wan NODE up|down: cuts or restores the WAN link of an AWS endpoint (aws-t1 | aws-t2), as
# an outage of that endpoint's connectivity; up puts its routes back (the kernel drops them
# with the link).
lab_wan() {
  local node=${1:-} state=${2:-} ns
  [[ $node =~ ^aws-t[12]$ && $state =~ ^(up|down)$ ]] ||
    lab_die "usage: scripts/lab wan aws-t1|aws-t2 up|down"
  ns=$(lab_ns "$node")
  ip -n "$ns" link set eth0 "$state"
  if [[ $state == up ]]; then
    ip -n "$ns" route replace "$LAB_ROUTER_IP/32" dev eth0 scope link
    ip -n "$ns" route replace default via "$LAB_ROUTER_IP" dev eth0
  fi
}

# lab_topology_down: deletes every <prefix>* namespace (and with it every link and the processes'
# network), after killing any process still inside one of them.
lab_topology_down() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns == "$LAB_PREFIX"* ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -s KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || lab_warn "could not delete namespace $ns"
    # per-namespace files of `ip netns exec` (resolv.conf, hosts)
    [[ -d /etc/netns/$ns ]] && rm -rf -- "/etc/netns/$ns"
  done
  # Links are created inside the namespaces; this only catches leftovers of an older lab.
  for ns in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ $ns == "$LAB_PREFIX"* ]] && ip link del "$ns" 2>/dev/null
  done
  return 0
}
