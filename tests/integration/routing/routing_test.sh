#!/bin/bash
# Routing layer against the real kernel in cgt-rt-* namespaces:
#   gw  = the appliance: wan0 (203.0.113.2) to ns wan, lan0 (10.20.0.4/16) to ns lan,
#         cgt1 / cgt2 ("tunnels", veth) to ns a1 / a2 (AWS inside addresses .1)
# 1. netlink: links, addresses, routes (single, multipath, table), rules, kernel errors
# 2. nftables: the table in one batch, every rule listed by nft; SNAT seen by the endpoint,
#    WAN ports other than 500/4500 dropped, MSS of a forwarded SYN clamped (tcpdump);
#    deleted by hand and re-applied; removed cleanly
# 3. failover: the 10.10.0.0/16 route follows the healthy tunnel when a1's link goes down,
#    replaced in place (no delete in `ip monitor`), failback after the hold-down; ecmp
set -euo pipefail
TOOL=${1:?usage: routing_test.sh ROUTING_TOOL}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
P=cgt-rt-$$
NS=("$P-gw" "$P-wan" "$P-lan" "$P-a1" "$P-a2")
GW=${NS[0]} WAN=${NS[1]} LAN=${NS[2]} A1=${NS[3]} A2=${NS[4]}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
step() { echo "== $*"; }
die() { echo "FAIL: $*"; exit 1; }
gw() { ip netns exec "$GW" "$@"; }

for n in "${NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add wan0 netns "$GW" type veth peer name eth0 netns "$WAN"
ip link add lan0 netns "$GW" type veth peer name eth0 netns "$LAN"
ip link add cgt1 netns "$GW" type veth peer name eth0 netns "$A1"
ip link add cgt2 netns "$GW" type veth peer name eth0 netns "$A2"
ip -n "$GW" addr add 203.0.113.2/24 dev wan0
ip -n "$WAN" addr add 203.0.113.1/24 dev eth0
ip -n "$GW" addr add 10.20.0.4/16 dev lan0
ip -n "$LAN" addr add 10.20.1.5/16 dev eth0
ip -n "$GW" addr add 169.254.44.2/30 dev cgt1
ip -n "$A1" addr add 169.254.44.1/30 dev eth0
ip -n "$GW" addr add 169.254.45.2/30 dev cgt2
ip -n "$A2" addr add 169.254.45.1/30 dev eth0
for n in "${NS[@]}"; do
  for l in $(ip -n "$n" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip -n "$n" link set "$l" up
  done
done
ip -n "$A1" addr add 10.10.1.10/32 dev lo
ip -n "$A1" route add default via 169.254.44.2
ip -n "$A2" route add default via 169.254.45.2
ip -n "$LAN" route add default via 10.20.0.4
ip -n "$WAN" route add default via 203.0.113.2

umask 077
echo "secret-t1" > "$TMP/t1.psk"; echo "secret-t2" > "$TMP/t2.psk"
write_config() {  # mode
  cat > "$TMP/crossgate.toml" <<TOML
[appliance]
name = "cg-test"
wan_interface = "wan0"
lan_interface = "lan0"
public_ip = "203.0.113.2"
lan_address = "10.20.0.4"

[[vpn]]
name = "prod"
mode = "$1"
remote_networks = ["10.10.0.0/16", "10.11.0.0/16"]
local_networks = ["10.20.0.0/16"]

[[vpn.tunnel]]
name = "t1"
aws_outside_ip = "198.51.100.17"
inside_cidr = "169.254.44.0/30"
psk_file = "t1.psk"
if_id = 1
interface = "cgt1"
tcp_mss = 1379

[[vpn.tunnel]]
name = "t2"
aws_outside_ip = "198.51.100.18"
inside_cidr = "169.254.45.0/30"
psk_file = "t2.psk"
if_id = 2
interface = "cgt2"
tcp_mss = 1379

[nat]
snat = true
private_endpoint_subnets = ["10.20.1.0/24"]
TOML
}
write_config active-standby
CFG=$TMP/crossgate.toml

step "netlink"
ip -n "$GW" link add cgt-rt-d1 type veth peer name cgt-rt-p1
ip -n "$GW" link add cgt-rt-d2 type veth peer name cgt-rt-p2
ip -n "$GW" link set cgt-rt-p1 up
ip -n "$GW" link set cgt-rt-p2 up
ip -n "$GW" link set cgt-rt-d2 up
ip -n "$GW" addr add 192.0.2.129/25 dev cgt-rt-d2
gw "$TOOL" netlink-check cgt-rt-d1 cgt-rt-d2

step "sysctl"
gw "$TOOL" sysctl "$CFG"
[ "$(gw cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || die "ip_forward"
[ "$(gw cat /proc/sys/net/ipv4/conf/cgt1/rp_filter)" = 2 ] || die "rp_filter cgt1"
[ "$(gw cat /proc/sys/net/ipv4/conf/cgt2/rp_filter)" = 2 ] || die "rp_filter cgt2"

step "nftables: apply and list"
gw "$TOOL" nft-apply "$CFG"
gw nft list table inet crossgate > "$TMP/nft.txt"
cat "$TMP/nft.txt"
expect_rule() { grep -qF -- "$1" "$TMP/nft.txt" || die "nft rule missing: $1"; }
expect_rule 'iifname "cgt1" tcp flags syn tcp option maxseg size > 1379 tcp option maxseg size set 1379'
expect_rule 'oifname "cgt2" tcp flags syn tcp option maxseg size > 1379 tcp option maxseg size set 1379'
expect_rule 'iifname "wan0" udp dport 500 accept'
expect_rule 'iifname "wan0" udp dport 4500 accept'
expect_rule 'iifname "wan0" meta l4proto icmp accept'
expect_rule 'ct state established,related accept'
expect_rule 'iifname "cgt1" udp dport 53 accept'
expect_rule 'iifname "cgt2" tcp dport 53 accept'
expect_rule 'iifname "cgt1" meta l4proto icmp accept'
expect_rule 'iifname "cgt1" ip daddr 10.20.0.0/16 accept'
expect_rule 'iifname "cgt2" ip daddr 10.20.0.0/16 accept'
expect_rule 'iifname "cgt1" ip daddr 10.20.1.0/24 snat ip to 10.20.0.4'
grep -qE 'iifname "wan0" counter packets [0-9]+ bytes [0-9]+ drop' "$TMP/nft.txt" || die "wan drop"
grep -qE 'iifname "cgt1" counter packets [0-9]+ bytes [0-9]+ drop' "$TMP/nft.txt" || die "tunnel drop"
grep -q 'hook forward priority mangle' "$TMP/nft.txt" || die "mss chain"
grep -q 'type nat hook postrouting priority srcnat' "$TMP/nft.txt" || die "nat chain"

step "nftables: re-apply replaces in one batch (no duplicate rules)"
gw "$TOOL" nft-apply "$CFG"
n=$(gw nft list table inet crossgate | grep -c 'udp dport 500 accept')
[ "$n" = 1 ] || die "rules duplicated after re-apply ($n)"

step "traffic: SNAT, MSS clamp"
ip -n "$GW" route add 10.10.1.10/32 dev cgt1
cat > "$TMP/server.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(5)
open(sys.argv[3], "w").write("listening\n")
while True:
    c, peer = s.accept()
    with open(sys.argv[3], "a") as f: f.write("peer %s\n" % peer[0])
    c.sendall(b"hello\n"); c.close()
PY
ip netns exec "$LAN" python3 "$TMP/server.py" 10.20.1.5 8080 "$TMP/lan.log" & PIDS+=($!)
ip netns exec "$LAN" tcpdump -nvv -i eth0 -c 1 'tcp[tcpflags] & tcp-syn != 0 and dst port 8080' \
  > "$TMP/tcpdump.txt" 2>"$TMP/tcpdump.err" & TCPDUMP=$!; PIDS+=($TCPDUMP)
for i in $(seq 50); do grep -q listening "$TMP/lan.log" 2>/dev/null && grep -q listening "$TMP/tcpdump.err" && break; sleep 0.1; done
ip netns exec "$A1" python3 -c '
import socket; s = socket.create_connection(("10.20.1.5", 8080), timeout=3, source_address=("10.10.1.10", 0))
print(s.recv(10))' || die "tunnel to endpoint connection"
wait "$TCPDUMP" || true
cat "$TMP/tcpdump.txt"
grep -q "peer 10.20.0.4" "$TMP/lan.log" || die "endpoint did not see the LAN address: $(cat "$TMP/lan.log")"
grep -q "mss 1379" "$TMP/tcpdump.txt" || die "MSS not clamped to 1379"
echo "endpoint saw source 10.20.0.4; forwarded SYN mss 1379"

step "traffic: WAN firewall"
ip netns exec "$GW" python3 "$TMP/server.py" 0.0.0.0 2222 "$TMP/gw.log" & PIDS+=($!)
cat > "$TMP/udp.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(3)
try:
    s.recvfrom(100); print("udp received"); sys.exit(0)
except socket.timeout:
    print("udp timeout"); sys.exit(1)
PY
ip netns exec "$GW" python3 "$TMP/udp.py" 4500 > "$TMP/udp4500.txt" & U1=$!
ip netns exec "$GW" python3 "$TMP/udp.py" 5000 > "$TMP/udp5000.txt" & U2=$!
sleep 0.5
ip netns exec "$WAN" python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (4500, 5000): s.sendto(b"x", ("203.0.113.2", p))'
wait $U1 || die "udp 4500 from the WAN was dropped"
if wait $U2; then die "udp 5000 from the WAN reached the appliance"; fi
if ip netns exec "$WAN" python3 -c '
import socket; socket.create_connection(("203.0.113.2", 2222), timeout=2)' 2>/dev/null; then
  die "tcp 2222 from the WAN was accepted"
fi
ip netns exec "$LAN" python3 -c '
import socket; socket.create_connection(("10.20.0.4", 2222), timeout=2)' || die "LAN to appliance blocked"
ip netns exec "$WAN" ping -c1 -W2 203.0.113.2 >/dev/null || die "ICMP from WAN dropped"
if ip netns exec "$A1" python3 -c '
import socket; socket.create_connection(("169.254.44.2", 2222), timeout=2)' 2>/dev/null; then
  die "tcp 2222 from a tunnel was accepted"
fi
echo "WAN: udp 4500 + icmp accepted, udp 5000 and tcp 2222 dropped; tunnel: tcp 2222 dropped"

ip -n "$GW" route del 10.10.1.10/32 dev cgt1

step "nftables: deleted by hand, re-applied"
gw nft delete table inet crossgate
gw "$TOOL" nft-remove
ip netns exec "$GW" "$TOOL" nft-watch "$CFG" 3 > "$TMP/watch.txt" 2>&1 & W=$!
for i in $(seq 50); do grep -q applied "$TMP/watch.txt" && break; sleep 0.1; done
gw nft list table inet crossgate >/dev/null || die "table not applied by nft-watch"
gw nft delete table inet crossgate
sleep 1
gw nft list table inet crossgate >/dev/null || die "table not re-applied"
wait $W || die "nft-watch failed: $(cat "$TMP/watch.txt")"
cat "$TMP/watch.txt"
grep -q "^reapplied" "$TMP/watch.txt" || die "no re-apply reported"
if gw nft list table inet crossgate >/dev/null 2>&1; then die "table left after remove"; fi

step "failover: active-standby"
ip netns exec "$GW" ip monitor route > "$TMP/monitor.txt" & PIDS+=($!)
ip netns exec "$GW" "$TOOL" failover "$CFG" 9 2000 > "$TMP/failover.txt" 2>&1 & F=$!
route_dev() { gw ip route show 10.10.0.0/16 | grep -o 'dev [a-z0-9]*' | tr '\n' ' '; }
wait_dev() {  # expected, seconds
  for i in $(seq $(( $2 * 20 ))); do [ "$(route_dev)" = "$1" ] && return 0; sleep 0.05; done
  return 1
}
wait_dev "dev cgt1 " 3 || die "initial route not via cgt1: $(route_dev)"
ip -n "$A1" link set eth0 down
t0=$(date +%s%N)
wait_dev "dev cgt2 " 3 || die "no failover to cgt2: $(route_dev)"
echo "failover after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ip -n "$A1" link set eth0 up
t1=$(date +%s%N)
sleep 1
[ "$(route_dev)" = "dev cgt2 " ] || die "failback before the hold-down"
wait_dev "dev cgt1 " 4 || die "no failback to cgt1: $(route_dev)"
echo "failback after $(( ($(date +%s%N) - t1) / 1000000 )) ms (hold-down 2000 ms)"
wait $F || die "failover tool: $(cat "$TMP/failover.txt")"
cat "$TMP/failover.txt"
grep -q "path switch: t1 -> t2" "$TMP/failover.txt" || die "switch not logged"
grep -q "switches=3" "$TMP/failover.txt" || die "expected 3 switches"
if grep -E '^Deleted .*10\.10\.0\.0/16' "$TMP/monitor.txt"; then die "route was deleted, not replaced"; fi
grep -c '10.10.0.0/16' "$TMP/monitor.txt" | xargs echo "route events for 10.10.0.0/16:"

step "failover: ecmp"
write_config ecmp
gw "$TOOL" failover "$CFG" 2 2000 > "$TMP/ecmp.txt" 2>&1
gw ip route show 10.11.0.0/16 | tee "$TMP/ecmp-route.txt"
grep -q 'nexthop dev cgt1' "$TMP/ecmp-route.txt" && grep -q 'nexthop dev cgt2' "$TMP/ecmp-route.txt" \
  || die "ecmp route lacks a nexthop"
echo "PASS"
