#!/bin/bash
# crossgate-dataplane <-> crossgate-dataplane with static SAs (dp_sactl as the plugin-protocol
# client), for each of AES-128-GCM, AES-256-GCM, AES-128-CBC/HMAC-SHA1 and AES-256-CBC/
# HMAC-SHA2-256: ping through the tunnel, a 64 MiB TCP transfer with matching SHA-256; then
# forged ESP (unknown SPI, bad ICV) and replayed packets are dropped and counted by reason;
# lifetimes raise soft then hard EXPIRE exactly once; a DF packet above the tunnel MTU gets
# ICMP "fragmentation needed"; with MTU 1436 and AES-256-CBC/HMAC-SHA2-512 no outer datagram
# exceeds 1500 bytes. Offloads are exercised both on and off.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
P=cgt-dp-st-
source "$here/lib.sh"
trap dp_netns_down EXIT
fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

transfer() { # MBYTES: a TCP transfer a -> b with matching SHA-256
  ip netns exec ${P}b python3 "$here/dp_traffic.py" sink 5001 >"$WORK/sink.out" &
  local sink=$!
  for i in $(seq 1 50); do grep -q listening "$WORK/sink.out" && break; sleep 0.1; done
  local sent got
  sent=$(ip netns exec ${P}a timeout 120 python3 "$here/dp_traffic.py" source 10.99.0.2 5001 "$1")
  wait $sink || true
  got=$(grep sha256 "$WORK/sink.out" || true)
  [ -n "$got" ] && [ "$sent" = "$got" ] || fail "transfer: sent '$sent' received '$got'"
  dp_log "transfer of $1 MiB intact: ${sent#sha256 }"
}

restart_pair() { # ALG [dataplane flags]
  local alg=$1; shift
  for pid in "${SACTL_PIDS[@]}" "${DP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  SACTL_PIDS=(); DP_PIDS=()
  rm -f "$WORK"/*.log
  dp_start a "$@"
  dp_start b "$@"
  dp_sa a "$alg"
  dp_sa b "$alg"
}

dp_netns_up
for variant in "gcm128" "gcm256 --disable-offload=udp-gso,udp-gro" \
               "cbc128-sha1 --no-tun-offload --no-tun-gro" "cbc256-sha256 --workers 1"; do
  set -- $variant
  alg=$1; shift
  dp_log "== $alg $*"
  restart_pair "$alg" "$@"
  ip netns exec ${P}a ping -c 3 -i 0.2 -W 2 10.99.0.2 >/dev/null || fail "ping ($alg)"
  transfer 64
  dp_log "$alg: ping and transfer ok"
done

dp_log "== drops by reason"
before_unknown=$(dp_total a drop_unknown_spi)
ip netns exec ${P}b python3 "$here/dp_traffic.py" inject 192.0.2.1 unknown_spi 0 25 >/dev/null
spi=$(dp_stats a | python3 -c "import json,sys; print([s['spi'] for s in json.load(sys.stdin)['sas'] if s['direction']=='in'][0])")
ip netns exec ${P}b python3 "$here/dp_traffic.py" inject 192.0.2.1 bad_icv "$spi" 17 >/dev/null
ip netns exec ${P}a python3 "$here/dp_traffic.py" replay ${P}va 192.0.2.1 5 >"$WORK/replay.out" &
rp=$!
for i in $(seq 1 100); do grep -q capturing "$WORK/replay.out" && break; sleep 0.1; done
ip netns exec ${P}b ping -c 3 -i 0.2 10.99.0.1 >/dev/null
wait $rp || fail "replay capture"
sleep 0.5
unknown=$(( $(dp_total a drop_unknown_spi) - before_unknown ))
bad_icv=$(dp_total a drop_bad_icv)
replayed=$(dp_total a drop_replay)
dp_log "unknown_spi +$unknown, bad_icv $bad_icv, replay $replayed ($(tail -n 1 "$WORK/replay.out"))"
[ "$unknown" -ge 25 ] || fail "unknown SPI drops not counted ($unknown)"
[ "$bad_icv" -ge 17 ] || fail "bad ICV drops not counted ($bad_icv)"
[ "$replayed" -ge 5 ] || fail "replayed packets not counted ($replayed)"
ip netns exec ${P}a ping -c 2 -i 0.2 -W 2 10.99.0.2 >/dev/null || fail "tunnel broken by forged packets"

dp_log "== ICMP fragmentation needed for DF packets above the MTU"
ip -n ${P}a link set cgt0 mtu 1500   # the kernel now hands us 1472-byte pings; the tunnel says 1400
out=$(ip netns exec ${P}a ping -c 2 -M do -s 1450 -W 2 10.99.0.2 2>&1 || true)
grep -q -i "mtu = 1400\|frag needed\|message too long" <<<"$out" || fail "no ICMP frag-needed: $out"
[ "$(dp_total a drop_too_big_df)" -ge 1 ] || fail "too_big_df not counted"
dp_log "DF ping above the MTU answered: $(grep -i -m1 'mtu\|frag' <<<"$out")"
ip -n ${P}a link set cgt0 mtu 1400

dp_log "== outer MTU: tunnel MTU 1436, AES-256-CBC/HMAC-SHA2-512 in UDP, 1500-byte outer path"
# The largest overhead of the algorithms: a full 1436-byte inner packet would leave as a
# 1540-byte datagram. The dataplane holds the inner packets to 1406 bytes instead: TSO frames are
# cut smaller, a DF packet above it gets ICMP "fragmentation needed" with MTU 1406, and the kernel
# never fragments an outer datagram.
DP_MTU=1436 restart_pair cbc256-sha512
frags() { ip netns exec ${P}a nstat -az IpFragCreates | awk '/IpFragCreates/ {print $2}'; }
frag_before=$(frags)
transfer 32
out=$(ip netns exec ${P}a ping -c 2 -M do -s 1408 -W 2 10.99.0.2 2>&1 || true)
grep -q "1406" <<<"$out" || fail "no ICMP frag-needed with MTU 1406: $out"
ip netns exec ${P}a ping -c 2 -M do -s 1378 -W 2 10.99.0.2 >/dev/null || fail "1406-byte DF ping"
[ "$(frags)" = "$frag_before" ] || fail "outer datagrams were fragmented ($frag_before -> $(frags))"
[ "$(dp_total a tso_resegmented)" -ge 1 ] || fail "TSO frames were not cut to the outer MTU"
dp_log "outer MTU kept: $(dp_total a tso_resegmented) TSO frames cut, DF ping answered $(grep -o -m1 'mtu[ =]*1406' <<<"$out"), no outer fragments"

dp_log "== lifetimes: soft then hard EXPIRE exactly once"
kill "$SACTL_PID_a"; wait "$SACTL_PID_a" 2>/dev/null || true
dp_sa a gcm128 --soft-seconds 1 --hard-seconds 3
sleep 5
soft=$(grep -c "expire spi=c0000101 soft" "$WORK/sactl-a.log" || true)
hard=$(grep -c "expire spi=c0000101 hard" "$WORK/sactl-a.log" || true)
[ "$soft" = 1 ] && [ "$hard" = 1 ] || fail "expected one soft and one hard expire, got $soft/$hard"
dp_log "soft and hard EXPIRE raised once each (time)"
kill "$SACTL_PID_a"; wait "$SACTL_PID_a" 2>/dev/null || true
kill "$SACTL_PID_b"; wait "$SACTL_PID_b" 2>/dev/null || true
: >"$WORK/sactl-a.log"; : >"$WORK/sactl-b.log"
dp_sa a gcm128 --soft-bytes 2000000 --hard-bytes 6000000
dp_sa b gcm128
# 8 MiB through an SA with a 6 MB hard limit: the transfer stalls at the limit (ignored here)
ip netns exec ${P}b timeout 15 python3 "$here/dp_traffic.py" sink 5002 >/dev/null 2>&1 &
sleep 0.5
ip netns exec ${P}a timeout 10 python3 "$here/dp_traffic.py" source 10.99.0.2 5002 8 >/dev/null 2>&1 || true
sleep 1
soft=$(grep -c "expire spi=c0000102 soft" "$WORK/sactl-a.log" || true)
hard=$(grep -c "expire spi=c0000102 hard" "$WORK/sactl-a.log" || true)
[ "$soft" = 1 ] && [ "$hard" = 1 ] || fail "byte limits: expected one soft and one hard expire of the outbound SA, got $soft/$hard"
dp_log "soft and hard EXPIRE raised once each (bytes)"

dp_log "== MAPPING when the peer's NAT moves its port"
for side in a b; do
  eval "pid=\$SACTL_PID_$side"; kill "$pid"; wait "$pid" 2>/dev/null || true
  : >"$WORK/sactl-$side.log"
  dp_sa $side gcm128
done
ip netns exec ${P}a ping -c 1 -W 2 10.99.0.2 >/dev/null || fail "ping before the NAT change"
ip netns exec ${P}b nft -f - <<'NFT'
table ip cgtnat {
  chain post {
    type nat hook postrouting priority srcnat;
    udp sport 4500 snat to 192.0.2.2:4600
  }
}
NFT
ip netns exec ${P}b ping -c 2 -i 0.3 -W 2 10.99.0.1 >/dev/null || fail "ping through the NAT"
sleep 0.5
grep -q "mapping spi=c0000101 port=4600" "$WORK/sactl-a.log" || fail "no MAPPING event: $(cat "$WORK/sactl-a.log")"
[ "$(grep -c "mapping spi=c0000101 port=4600" "$WORK/sactl-a.log")" = 1 ] || fail "MAPPING repeated"
dp_log "MAPPING raised once for the new port 4600"
echo "PASS"
