#!/bin/bash
# Two namespaces, each with crossgate-dataplane + stock charon loading libstrongswan-crossgate.so:
# charon negotiates, the plugin installs the SAs, the dataplanes carry the traffic. For
# AES-128-GCM and AES-128-CBC/HMAC-SHA1: the CHILD_SA comes up, ping through the tunnel, a
# 64 MiB TCP transfer with matching SHA-256, charon's counters (query_sa) move, and with a
# 6 s CHILD_SA rekey time a transfer spanning several rekeys stays intact (expiry events drive
# the rekeying).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
P=cgt-dp-ch-
source "$here/lib.sh"
trap dp_netns_down EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/dp-*.log "$WORK"/charon-*/charon.log; do echo "--- $f"; tail -25 "$f"; done
  exit 1
}
[ -f "$CROSSGATE_PLUGIN" ] || fail "plugin not built: $CROSSGATE_PLUGIN"

transfer() { # MBYTES
  ip netns exec ${P}b python3 "$here/dp_traffic.py" sink 5001 >"$WORK/sink.out" &
  local sink=$!
  for i in $(seq 1 50); do grep -q listening "$WORK/sink.out" && break; sleep 0.1; done
  local sent got
  sent=$(ip netns exec ${P}a timeout 300 python3 "$here/dp_traffic.py" source 10.99.0.2 5001 "$1")
  wait $sink || true
  got=$(grep sha256 "$WORK/sink.out" || true)
  [ -n "$got" ] && [ "$sent" = "$got" ] || fail "transfer: sent '$sent' received '$got'"
  dp_log "transfer of $1 MiB intact: ${sent#sha256 }"
}

run_pair() { # ESP_PROPOSAL
  dp_netns_up
  dp_start a
  dp_start b
  for s in a b; do charon_conf $s crossgate; swanctl_conf $s crossgate "$1"; done
  charon_start b crossgate
  charon_start a crossgate
  wait_ping a 10.99.0.2 20 || fail "no traffic through the tunnel ($1)"
  dp_log "$1: CHILD_SA up, ping ok"
}

stop_pair() {
  dp_netns_down
  DP_PIDS=(); SACTL_PIDS=(); CHARON_PIDS=()
}

for esp in aes128gcm16-modp2048 aes128-sha1-modp2048; do
  run_pair $esp
  transfer 64
  sas=$(sw a --list-sas)
  grep -q "INSTALLED" <<<"$sas" || fail "no installed CHILD_SA in: $sas"
  grep -Eq "in +[0-9a-f]{8}.*, +[1-9][0-9]* bytes" <<<"$sas" || fail "charon sees no inbound bytes: $sas"
  grep -Eq "out +[0-9a-f]{8}.*, +[1-9][0-9]* bytes" <<<"$sas" || fail "charon sees no outbound bytes: $sas"
  dp_log "$esp: charon's counters: $(grep -E ' (in|out) ' <<<"$sas" | tr -s ' ' | tr '\n' ';')"
  stop_pair
done

dp_log "== rekeying under load (CHILD_SA rekey_time 6s)"
CHILD_REKEY=6s run_pair aes128gcm16-modp2048
spi0=$(dp_stats a | python3 -c "import json,sys; print(sorted(s['spi'] for s in json.load(sys.stdin)['sas']))")
ip netns exec ${P}b python3 "$here/dp_traffic.py" sink 5001 >"$WORK/sink.out" &
sink=$!
for i in $(seq 1 50); do grep -q listening "$WORK/sink.out" && break; sleep 0.1; done
# a slow sender (about 20 s) so that the transfer spans several rekeys
sent=$(ip netns exec ${P}a python3 - "$here" <<'PY'
import hashlib, os, socket, struct, sys, time
c = socket.create_connection(("10.99.0.2", 5001), timeout=60)
h = hashlib.sha256(); n = 0; block = os.urandom(1 << 20)
t0 = time.time()
i = 0
while time.time() - t0 < 20:
    data = struct.pack("!I", i) + block[4:]; i += 1
    c.sendall(data); h.update(data); n += len(data); time.sleep(0.05)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print("sha256", n, h.hexdigest())
PY
)
wait $sink || true
got=$(grep sha256 "$WORK/sink.out" || true)
[ "$sent" = "$got" ] || fail "transfer across rekeys: sent '$sent' received '$got'"
installs=$(grep -c "inbound SA installed" "$WORK/dp-a.log" || true)
expires=$(grep -c "soft expire" "$WORK/dp-a.log" "$WORK/dp-b.log" | awk -F: '{s+=$2} END {print s}' || true)
spi1=$(dp_stats a | python3 -c "import json,sys; print(sorted(s['spi'] for s in json.load(sys.stdin)['sas']))")
[ "$spi0" != "$spi1" ] || fail "SPIs did not change across 20 s with a 6 s rekey time"
[ "$installs" -ge 3 ] || fail "expected at least 2 rekeys in 20 s, saw $((installs - 1))"
dp_log "transfer across rekeys intact (${sent#sha256 }); $((installs - 1)) rekeys driven by $expires soft expires; SPIs $spi0 -> $spi1"
echo "PASS"
