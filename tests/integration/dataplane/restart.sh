#!/bin/bash
# Restart recovery (DESIGN.md): crossgate-dataplane + charon with the crossgate plugin on both
# sides. During a TCP transfer, kill -9 side a's dataplane and start it again: the plugin
# reconnects and raises hard expires, charon re-creates the CHILD_SA, and traffic flows again
# within 10 s of the restart; the transfer completes intact. Then the same for charon: kill -9,
# the dataplane drops that client's SAs, the restarted charon re-establishes within 10 s.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
P=cgt-dp-rs-
source "$here/lib.sh"
trap dp_netns_down EXIT
fail() {
  echo "FAIL: $*"
  for f in "$WORK"/dp-*.log "$WORK"/charon-*/charon.log; do echo "--- $f"; tail -25 "$f"; done
  exit 1
}
[ -f "$CROSSGATE_PLUGIN" ] || fail "plugin not built: $CROSSGATE_PLUGIN"

dp_netns_up
dp_start a
dp_start b
for s in a b; do charon_conf $s crossgate; swanctl_conf $s crossgate aes128gcm16-modp2048; done
charon_start b crossgate
charon_start a crossgate
wait_ping a 10.99.0.2 20 || fail "tunnel did not come up"
dp_log "tunnel up"

# A paced transfer (about 30 s) that must survive both restarts.
ip netns exec ${P}b python3 "$here/dp_traffic.py" sink 5001 >"$WORK/sink.out" &
sink=$!
for i in $(seq 1 50); do grep -q listening "$WORK/sink.out" && break; sleep 0.1; done
ip netns exec ${P}a python3 - >"$WORK/source.out" 2>&1 <<'PY' &
import hashlib, os, socket, struct, time
c = socket.create_connection(("10.99.0.2", 5001), timeout=120)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 120000)
h = hashlib.sha256(); n = 0; block = os.urandom(1 << 18)
t0 = time.time(); i = 0
while time.time() - t0 < 30:
    data = struct.pack("!I", i) + block[4:]; i += 1
    c.sendall(data); h.update(data); n += len(data); time.sleep(0.02)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print("sha256", n, h.hexdigest())
PY
source_pid=$!
sleep 3

recover() { # WHAT: waits until traffic flows again, fails after 10 s
  local t0=$SECONDS
  wait_ping a 10.99.0.2 10 || fail "$1: no traffic 10 s after the restart"
  dp_log "$1: traffic flows again $((SECONDS - t0)) s after the restart"
}

dp_log "== kill -9 crossgate-dataplane (a)"
kill -9 "$DP_PID_a"; wait "$DP_PID_a" 2>/dev/null || true
sleep 1
dp_start a
recover "dataplane restart"
sleep 3

dp_log "== kill -9 charon (a)"
kill -9 "$CHARON_PID_a"; wait "$CHARON_PID_a" 2>/dev/null || true
sleep 1
left=$(dp_stats a | python3 -c "import json,sys; print(len(json.load(sys.stdin)['sas']))")
[ "$left" = 0 ] || fail "the dataplane kept $left SAs of the dead charon"
dp_log "dataplane dropped the dead client's SAs"
charon_start a crossgate
recover "charon restart"

wait $source_pid || fail "sender failed: $(cat "$WORK/source.out")"
wait $sink || true
sent=$(grep sha256 "$WORK/source.out" || true)
got=$(grep sha256 "$WORK/sink.out" || true)
[ -n "$sent" ] && [ "$sent" = "$got" ] || fail "transfer across restarts: sent '$sent' received '$got'"
dp_log "transfer across both restarts intact: ${sent#sha256 }"
echo "PASS"
