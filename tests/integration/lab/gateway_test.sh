#!/usr/bin/env bash
# The appliance as the seed scenario's gateway (needs root), all of it programmed by crossgated:
# 1. a TCP connection from the AWS VPC client to the private endpoint: the SYN that reaches the
#    endpoint carries the configured MSS (the tunnel's tcp_mss) and the appliance's LAN address
#    as source (SNAT toward the private-endpoint subnet);
# 2. the WAN exposes only IKE/NAT-T: with a TCP and UDP listener on the appliance, a probe from
#    the internet to the public IP on that port gets nothing (no answer, no RST), while the same
#    listener answers on the LAN address (so it really listens);
# 3. `nft delete table inet crossgate` by hand: crossgated puts the table back.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
source "$here/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }
test_start=$(t_now_ms)
T_SCRATCH=$(mktemp -d)
export T_SCRATCH
trap 'rm -rf "$T_SCRATCH"' EXIT
PROBE=$here/lab_probe.py
PORT=8080

t_say "lab up"
t_lab_start --wait 30
"$T_LAB" test 30 >"$T_SCRATCH/seed.out" 2>&1 || { cat "$T_SCRATCH/seed.out"; t_fail "scripts/lab test"; }
t_ok "the seed path works (scripts/lab test)"

# ---- 1. MSS clamp and SNAT, seen at the endpoint ------------------------------------------------
mss=$(awk '$1 == "tcp_mss" && $2 == "=" { print $3; exit }' "$LAB_DIR/appliance/etc/vpn.d/$LAB_VPN_NAME.toml")
mss=${mss:-1379}
# The client's own SYN offers its link's MTU - 40; the check means something only if that differs.
client_mtu=$("$T_LAB" exec aws-vpc cat /sys/class/net/t1/mtu)
t_check "the VPC client offers MSS $((client_mtu - 40)), not $mss" test $((client_mtu - 40)) -ne "$mss"
"$T_LAB" exec azure-pl timeout 20 tcpdump -i eth0 -n -v -l -c 1 \
  'tcp dst port 443 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' >"$T_SCRATCH/syn.txt" 2>"$T_SCRATCH/tcpdump.err" &
dump_pid=$!
t_wait 10 grep -q 'listening on' "$T_SCRATCH/tcpdump.err" || t_fail "tcpdump did not start in azure-pl"
"$T_LAB" exec aws-vpc curl -sS --fail --cacert "$LAB_CA_CERT" --max-time 20 -o /dev/null \
  "$LAB_PE_URL" || t_fail "HTTPS GET from the VPC"
wait "$dump_pid" || true
cat "$T_SCRATCH/syn.txt"
syn=$(tr '\n' ' ' <"$T_SCRATCH/syn.txt")
[[ $syn =~ ([0-9.]+)\.[0-9]+\ \>\ $LAB_PE_IP\.443 ]] || t_fail "no SYN to $LAB_PE_IP:443 captured"
t_expect_eq "source address of the VPC client's SYN at the endpoint (SNAT)" "$LAB_APPLIANCE_LAN_IP" "${BASH_REMATCH[1]}"
[[ $syn =~ mss\ ([0-9]+) ]] || t_fail "the captured SYN has no MSS option"
t_expect_eq "MSS of the forwarded SYN (tunnel tcp_mss)" "$mss" "${BASH_REMATCH[1]}"

# ---- 2. only IKE/NAT-T on the WAN ---------------------------------------------------------------
"$T_LAB" exec appliance /usr/bin/python3 "$PROBE" listen "$PORT" 120 >"$T_SCRATCH/listen.out" 2>&1 &
listen_pid=$!
t_wait 10 grep -q listening "$T_SCRATCH/listen.out" || t_fail "the listener in the appliance did not start"
probe() { "$T_LAB" exec "$1" /usr/bin/python3 "$PROBE" "$2" "$3" "$PORT" 2; }
t_expect_eq "TCP $PORT on the LAN address from azure-nat (the listener works)" connected \
  "$(probe azure-nat tcp-connect "$LAB_APPLIANCE_LAN_IP")"
t_expect_eq "UDP $PORT on the LAN address from azure-nat (the listener works)" answered \
  "$(probe azure-nat udp-ask "$LAB_APPLIANCE_LAN_IP")"
t_expect_eq "TCP $PORT on the public IP $LAB_CUSTOMER_IP from the internet: dropped" timeout \
  "$(probe internet tcp-connect "$LAB_CUSTOMER_IP")"
t_expect_eq "UDP $PORT on the public IP $LAB_CUSTOMER_IP from the internet: dropped" timeout \
  "$(probe internet udp-ask "$LAB_CUSTOMER_IP")"
kill "$listen_pid" 2>/dev/null || true
wait "$listen_pid" 2>/dev/null || true
t_check "both tunnels still up (IKE/NAT-T passes the WAN firewall)" t_both_up

# ---- 3. the nft table comes back ----------------------------------------------------------------
t_check "the nft table inet crossgate exists" "$T_LAB" exec appliance nft list table inet crossgate
"$T_LAB" exec appliance nft delete table inet crossgate
deleted=$(t_now_ms)
t_wait 10 "$T_LAB" exec appliance nft list table inet crossgate ||
  t_fail "crossgated did not put the table back within 10 s"
t_ok "crossgated put the table back $(($(t_now_ms) - deleted)) ms after it was deleted"
t_expect_eq "TCP $PORT on the public IP after the re-apply: still dropped" timeout \
  "$("$T_LAB" exec internet /usr/bin/python3 "$PROBE" tcp-connect "$LAB_CUSTOMER_IP" "$PORT" 2)"
"$T_LAB" test 30 >"$T_SCRATCH/seed2.out" 2>&1 || { cat "$T_SCRATCH/seed2.out"; t_fail "scripts/lab test after the re-apply"; }
t_ok "the seed path works after the re-apply"
t_say "PASS ($((($(t_now_ms) - test_start) / 1000)) s)"
