#!/usr/bin/env bash
# crossgated owns routing, in a lab instance of its own (namespaces cgtrd-*; needs root). The
# real binaries: stock charons with kernel-libipsec as the AWS endpoints, the appliance's charon
# with the crossgate plugin, crossgate-dataplane (which creates one TUN per tunnel) and
# crossgated. Checks, in order:
#  1. start-up: ip_forward=1, rp_filter=2 on both TUNs, table inet crossgate (MSS clamp, WAN
#     firewall), both tunnels healthy by probe with an RTT, the remote network routed through
#     tunnel 1 (proto static), `crossgate status` showing the path, probes and firewall;
#  2. tunnel 1's AWS WAN link cut: the route moves to tunnel 2 (prints route_switch_ms from the
#     cut), logged with the reason, counted; restored: failback only after the hold-down;
#  3. the table deleted by hand: put back within 2 s, counted; the route deleted by hand:
#     restored;
#  4. the dataplane restarted (both TUNs disappear and come back): crossgated keeps running,
#     probing resumes, the route comes back, no log spam;
#  5. an invalid reload (probe_misses = 0) changes nothing; a valid one applies;
#  6. SIGTERM: the table and the route are removed;
#  7. without CAP_NET_RAW (and no ping_group_range) crossgated refuses to start, says why, and
#     leaves no table behind.
set -euo pipefail
export CROSSGATE_LAB_PREFIX=${CROSSGATE_LAB_PREFIX:-cgtrd-}
# shellcheck disable=SC1091
source "$(cd "$(dirname "$0")/../lab" && pwd)/lib.sh"
export CROSSGATE_BIN=${CROSSGATE_BIN:-$T_ROOT/build/bin}
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }

t_say "lab $CROSSGATE_LAB_PREFIX up"
t_lab_start --wait 60
APP_LOG=$LAB_DIR/appliance/crossgated.log
FRAGMENT=$LAB_DIR/appliance/etc/vpn.d/$LAB_VPN_NAME.toml
NET=$LAB_REMOTE_NETWORK

app() { "$T_LAB" exec appliance "$@"; }
routing() { t_status_json | jq -c "$1"; }
route_dev() { app ip -4 route show "$NET" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1; }
route_via() { [[ $(route_dev) == "$1" ]]; }
active_is() { [[ $(routing '.routing.vpns[0].active_path') == "[\"$1\"]" ]]; }
both_healthy() {
  [[ $(routing '[.routing.vpns[0].tunnels[].healthy] | all') == true ]]
}
log_count() { grep -c -- "$1" "$APP_LOG" || true; }

# ---- 1. start-up ------------------------------------------------------------------------------
json=$(t_status_json) || t_fail "crossgate status --json"
t1=$(jq -r '.routing.vpns[0].tunnels[0].name' <<<"$json")
t2=$(jq -r '.routing.vpns[0].tunnels[1].name' <<<"$json")
if1=$(jq -r '.routing.vpns[0].tunnels[0].interface' <<<"$json")
if2=$(jq -r '.routing.vpns[0].tunnels[1].interface' <<<"$json")
[[ $t1 != null && $if2 != null ]] || t_fail "status has no routing section: $json"
t_expect_eq "ip_forward" 1 "$(app sysctl -n net.ipv4.ip_forward)"
t_wait 5 app test -e "/proc/sys/net/ipv4/conf/$if2" || t_fail "$if2 exists"
t_wait 3 bash -c "[[ \$('$T_LAB' exec appliance sysctl -n net.ipv4.conf.$if1.rp_filter) == 2 ]]" ||
  t_fail "rp_filter=2 on $if1"
t_wait 3 bash -c "[[ \$('$T_LAB' exec appliance sysctl -n net.ipv4.conf.$if2.rp_filter) == 2 ]]" ||
  t_fail "rp_filter=2 on $if2"
t_ok "rp_filter=2 on $if1 and $if2"
table=$(app nft list table inet crossgate) || t_fail "nft list table inet crossgate"
grep -q "maxseg size set" <<<"$table" || t_fail "MSS clamp rule in the table: $table"
grep -q "udp dport { 500, 4500 }\|udp dport 500\|4500" <<<"$table" || t_fail "IKE/NAT-T accept: $table"
t_ok "table inet crossgate applied (MSS clamp, WAN firewall)"
t_wait 15 both_healthy || t_fail "both tunnels healthy by probe: $(t_status_json | jq -c .routing)"
t_wait 5 active_is "$t1" || t_fail "active path $t1"
t_wait 3 route_via "$if1" || t_fail "$NET via $if1: $(app ip route show "$NET")"
app ip -4 route show "$NET" | grep -q "proto static" || t_fail "route proto static"
t_ok "$NET via $if1 (proto static), both tunnels healthy"
json=$(t_status_json)
t_expect_eq "rtt_last_ms of $t1 is a number" number "$(jq -r '.routing.vpns[0].tunnels[0].rtt_last_ms | type' <<<"$json")"
t_expect_eq "firewall applied" true "$(jq -r '.routing.firewall.applied' <<<"$json")"
text=$("$T_LAB" crossgate status) || true
grep -q "active $t1" <<<"$text" || t_fail "crossgate status shows the active path: $text"
grep -q "firewall: table inet crossgate applied" <<<"$text" || t_fail "status shows the firewall: $text"
t_ok "crossgate status shows path, probes and firewall"
printf '%s\n' "$text" | sed -n '/^firewall:/,$p'

# ---- 2. failover and failback -----------------------------------------------------------------
switches=$(routing '.routing.vpns[0].switches')
cut=$(t_now_ms)
"$T_LAB" wan aws-t1 down
cut_done=$(t_now_ms)
until route_via "$if2"; do
  (($(t_now_ms) - cut < 10000)) || t_fail "route moved to $if2 within 10 s of the cut"
  sleep 0.02
done
seen=$(t_now_ms)
# crossgated's own timestamp of the switch (its log line), against the start of the cut.
logged=$(grep "switch #$((switches + 1)):" "$APP_LOG" | tail -n1 | cut -c1-23)
logged_ms=$(date -d "${logged/T/ }" +%s%3N)
echo "route_switch_ms: $((logged_ms - cut)) (crossgated's log; the cut command took $((cut_done - cut)) ms; route seen by polling after $((seen - cut)) ms)"
t_expect_eq "switch counted" $((switches + 1)) "$(routing '.routing.vpns[0].switches')"
reason=$(routing '.routing.vpns[0].last_switch.reason')
[[ $reason == *"probes missed"* ]] || t_fail "switch reason names the probe misses: $reason"
grep -q "switch #$((switches + 1)): $t1 -> $t2 ($t1: 3 probes missed" "$APP_LOG" ||
  t_fail "switch logged at info with from/to and reason"
t_ok "failover logged: $(grep "switch #$((switches + 1)):" "$APP_LOG" | tail -n1)"

"$T_LAB" wan aws-t1 up
t_wait 30 bash -c "'$T_LAB' crossgate status --json | jq -e '.routing.vpns[0].tunnels[0].healthy' >/dev/null" ||
  t_fail "$t1 healthy again after its link returned"
healthy_at=$(t_now_ms)
t_wait 20 route_via "$if1" || t_fail "failback to $if1"
held=$(($(t_now_ms) - healthy_at))
((held >= 4000)) || t_fail "failback waited for the 5 s hold-down (took $held ms after healthy)"
[[ $(routing '.routing.vpns[0].last_switch.reason') == *hold-down* ]] || t_fail "failback reason"
t_ok "failback to $if1 $held ms after $t1 was healthy again (hold-down 5 s)"

# ---- 3. table and route deleted by hand -------------------------------------------------------
app nft delete table inet crossgate
t_wait 3 app nft list table inet crossgate || t_fail "table put back within 3 s"
t_expect_eq "reapplied counted" 1 "$(routing '.routing.firewall.reapplied')"
grep -q "was deleted outside crossgated; re-applying" "$APP_LOG" || t_fail "re-apply logged"
t_ok "deleted table put back and counted"
app ip route del "$NET"
t_wait 3 route_via "$if1" || t_fail "route restored after deletion"
t_ok "deleted route restored ($(routing '.routing.routes_restored') restored)"

# ---- 4. the TUNs disappear and come back --------------------------------------------------------
paused_before=$(log_count "probing paused")
"$T_LAB" restart dataplane
t_wait 60 route_via "$if1" || t_wait 1 route_via "$if2" || t_fail "route back after the dataplane restart"
t_wait 60 both_healthy || t_fail "both tunnels healthy after the dataplane restart"
t_wait 10 route_via "$if1" || t_fail "route via $if1 after the dataplane restart"
"$T_LAB" crossgate status >/dev/null || t_fail "crossgated still answering"
paused=$(($(log_count "probing paused") - paused_before))
((paused <= 4)) || t_fail "probe outage logged once per tunnel, not per probe ($paused lines)"
t_ok "TUNs re-created: probing resumed, route via $if1, $paused 'probing paused' line(s)"

# ---- 5. reloads -------------------------------------------------------------------------------
before=$(app nft -a list table inet crossgate)
cp "$FRAGMENT" "$FRAGMENT.orig"
sed -i '0,/^\[\[vpn\]\]/s//[[vpn]]\nprobe_misses = 0/' "$FRAGMENT"
"$T_LAB" reload
t_wait 5 grep -q "vpn\[0\].probe_misses: must be 1..100, found 0" "$APP_LOG" ||
  t_fail "invalid reload reported with the key"
sleep 1.5
[[ $(app nft -a list table inet crossgate) == "$before" ]] || t_fail "invalid reload left the table alone"
route_via "$if1" || t_fail "invalid reload left the route alone"
t_ok "invalid reload changed nothing"
cp "$FRAGMENT.orig" "$FRAGMENT"
sed -i '0,/^\[\[vpn\]\]/s//[[vpn]]\nprobe_interval_ms = 100/' "$FRAGMENT"
"$T_LAB" reload
t_wait 5 grep -q "routing settings changed: failover state rebuilt" "$APP_LOG" || t_fail "valid reload applied"
t_wait 5 route_via "$if1" || t_fail "route via $if1 after the reload"
t_ok "valid reload applied, route via $if1"

# ---- 6. SIGTERM -------------------------------------------------------------------------------
"$T_LAB" stop crossgated
t_wait 5 bash -c "! '$T_LAB' exec appliance nft list table inet crossgate" || t_fail "table removed on stop"
[[ -z $(app ip -4 route show "$NET") ]] || t_fail "route removed on stop: $(app ip route show "$NET")"
t_ok "SIGTERM removed the table and the route"

# ---- 7. privileges --------------------------------------------------------------------------
app sysctl -qw net.ipv4.ping_group_range="1 0"
set +e
out=$(timeout 20 "$T_LAB" exec appliance setpriv --bounding-set -net_raw --inh-caps -net_raw \
  "$CROSSGATE_BIN/crossgated" --config "$LAB_DIR/appliance/etc/crossgate.toml" --foreground 2>&1)
rc=$?
set -e
t_expect_eq "crossgated without CAP_NET_RAW exits" 1 "$rc"
grep -q "CAP_NET_RAW" <<<"$out" || t_fail "the error names CAP_NET_RAW: $out"
! app nft list table inet crossgate >/dev/null 2>&1 || t_fail "no table left behind"
t_ok "without CAP_NET_RAW: $(grep CAP_NET_RAW <<<"$out" | tail -n1)"
t_say "PASS"
