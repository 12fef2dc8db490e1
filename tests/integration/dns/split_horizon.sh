#!/usr/bin/env bash
# crossgate-dns end to end: a Knot server plays the public DNS (acct.dfs.core.windows.net is a
# CNAME chain to a public address), clients with dig/kdig query from three source networks.
#   aws view (10.10.0.0/16)     -> private chain to 10.20.1.5
#   azure view (192.0.2.0/24)   -> the public answer
#   198.51.100.10               -> REFUSED
# Then TCP, truncation, case echo, stats socket, SIGUSR1, SIGHUP (good and bad configs, no lost
# queries), the privilege drop, cached answers after the upstream stops, and SERVFAIL in time.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "needs root (network namespaces)" >&2
  exit 1
fi
BIN=${CROSSGATE_BIN:-$(cd "$(dirname "$0")/../../.." && pwd)/build/bin}
DNS_BIN=$BIN/crossgate-dns
[[ -x $DNS_BIN ]] || { echo "missing $DNS_BIN" >&2; exit 1; }
for tool in knotd kdig dig dnsperf python3; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done

ID=$$
NS_SRV=cgt-dns-$ID-srv
NS_UP=cgt-dns-$ID-up
NS_CLI=cgt-dns-$ID-cli
WORK=$(mktemp -d /tmp/cgt-dns-it.XXXXXX)
chmod 755 "$WORK"
PIDS=()
FAILURES=0

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.2
  for ns in "$NS_SRV" "$NS_UP" "$NS_CLI"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  if [[ $FAILURES -ne 0 || -n ${KEEP_LOGS:-} ]]; then
    echo "--- crossgate-dns log"; cat "$WORK/dns.log" 2>/dev/null || true
    echo "--- knot log"; tail -20 "$WORK/knot.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILURES=$((FAILURES + 1)); }
check() {  # check "description" actual expected
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi
}
contains() {  # contains "description" haystack needle
  if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: [$3] not in [$2]"; fi
}

# --- topology: cli (10.10.1.10, 192.0.2.10, 198.51.100.10) -- srv 10.53.0.1 -- up 10.54.0.2
for ns in "$NS_SRV" "$NS_UP" "$NS_CLI"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip link add cgd${ID}c netns "$NS_CLI" type veth peer name cgd${ID}s netns "$NS_SRV"
ip link add cgd${ID}u netns "$NS_UP" type veth peer name cgd${ID}t netns "$NS_SRV"
ip -n "$NS_CLI" addr add 10.10.1.10/16 dev cgd${ID}c
ip -n "$NS_CLI" addr add 10.10.1.11/16 dev cgd${ID}c
ip -n "$NS_CLI" addr add 192.0.2.10/24 dev cgd${ID}c
ip -n "$NS_CLI" addr add 198.51.100.10/24 dev cgd${ID}c
ip -n "$NS_CLI" link set cgd${ID}c up
ip -n "$NS_CLI" route add 10.53.0.0/24 dev cgd${ID}c
ip -n "$NS_SRV" addr add 10.53.0.1/24 dev cgd${ID}s
ip -n "$NS_SRV" link set cgd${ID}s up
ip -n "$NS_SRV" addr add 2001:db8:53::1/64 dev cgd${ID}s nodad
ip -n "$NS_SRV" route add 2001:db8:10::/64 dev cgd${ID}s
ip -n "$NS_CLI" addr add 2001:db8:10::10/64 dev cgd${ID}c nodad
ip -n "$NS_CLI" route add 2001:db8:53::/64 dev cgd${ID}c
for net in 10.10.0.0/16 192.0.2.0/24 198.51.100.0/24; do
  ip -n "$NS_SRV" route add "$net" dev cgd${ID}s
done
ip -n "$NS_SRV" addr add 10.54.0.1/24 dev cgd${ID}t
ip -n "$NS_SRV" link set cgd${ID}t up
ip -n "$NS_UP" addr add 10.54.0.2/24 dev cgd${ID}u
ip -n "$NS_UP" link set cgd${ID}u up

# --- the "public" DNS: Knot, authoritative for core.windows.net and example.org
BIG_TXT=$(python3 -c 'print(" ".join("\"" + "y" * 200 + "\"" for _ in range(8)))')
cat >"$WORK/core.windows.net.zone" <<ZONE
\$ORIGIN core.windows.net.
\$TTL 300
@ SOA ns.core.windows.net. hostmaster.core.windows.net. 1 3600 600 86400 60
@ NS ns
ns A 10.54.0.2
acct.dfs CNAME acct.privatelink.dfs
acct.privatelink.dfs CNAME dfs.prd01.store
other.dfs CNAME other.privatelink.dfs
other.privatelink.dfs CNAME dfs.prd01.store
dfs.prd01.store A 203.0.113.50
ZONE
cat >"$WORK/example.org.zone" <<ZONE
\$ORIGIN example.org.
\$TTL 300
@ SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 30
@ NS ns
ns A 10.54.0.2
www A 203.0.113.80
cached A 203.0.113.81
big TXT $BIG_TXT
ZONE
mkdir -p "$WORK/knot-db"
cat >"$WORK/knot.conf" <<CONF
server:
    rundir: "$WORK"
    listen: 10.54.0.2@53
database:
    storage: "$WORK/knot-db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$WORK"
    semantic-checks: off
zone:
  - domain: core.windows.net
    file: core.windows.net.zone
  - domain: example.org
    file: example.org.zone
CONF
ip netns exec "$NS_UP" knotd -c "$WORK/knot.conf" >"$WORK/knot.log" 2>&1 &
KNOT_PID=$!
PIDS+=("$KNOT_PID")

# --- crossgate-dns
write_config() {  # write_config <private endpoint address> [extra toml]
  cat >"$WORK/crossgate.toml.new" <<TOML
[appliance]
name = "cg-test"
wan_interface = "eth0"
lan_interface = "eth1"
public_ip = "203.0.113.10"

[dns]
listen = ["10.53.0.1", "2001:db8:53::1"]
upstreams = ["10.54.0.2"]
timeout_ms = 800
retries = 1
stats_socket = "$WORK/dns.sock"
user = "nobody"

[[dns.view]]
name = "aws"
clients = ["10.10.0.0/16", "2001:db8:10::/64"]
  [[dns.view.private_endpoint]]
  name = "acct.privatelink.dfs.core.windows.net"
  address = "$1"
$(for i in 1 2 3 4 5 6; do printf '  [[dns.view.record]]\n  name = "big.corp.example"\n  type = "TXT"\n  value = "%s"\n' "$(printf "$i%.0s" $(seq 250))"; done)
  [[dns.view.record]]
  name = "www.corp.example"
  type = "A"
  value = "10.20.0.10"
  [[dns.view.private_zone]]
  zone = "corp.example"

[[dns.view]]
name = "azure"
clients = ["192.0.2.0/24"]
${2:-}
TOML
  chmod 644 "$WORK/crossgate.toml.new"
  mv "$WORK/crossgate.toml.new" "$WORK/crossgate.toml"
}
write_config 10.20.1.5
"$DNS_BIN" --check-config "$WORK/crossgate.toml" >/dev/null || { fail "--check-config"; exit 1; }
ip netns exec "$NS_SRV" "$DNS_BIN" --threads 2 --config "$WORK/crossgate.toml" >"$WORK/dns.log" 2>&1 &
DNS_PID=$!
PIDS+=("$DNS_PID")

q() {  # q <source> <dig args...>: dig from the client namespace
  local src=$1
  shift
  ip netns exec "$NS_CLI" dig -b "$src" @10.53.0.1 +time=2 +tries=1 "$@" 2>&1 || true
}
for _ in $(seq 50); do
  if [[ -S $WORK/dns.sock ]] && q 10.10.1.10 +short www.corp.example | grep -q 10.20.0.10 &&
     ip netns exec "$NS_UP" kdig @10.54.0.2 +short www.example.org | grep -q 203.0.113.80; then
    break
  fi
  sleep 0.1
done

# --- split horizon
check "aws view: private CNAME chain" \
  "$(q 10.10.1.10 +noall +answer acct.dfs.core.windows.net A | awk '{print $1, $4, $5}' | tr '\n' ';')" \
  "acct.dfs.core.windows.net. CNAME acct.privatelink.dfs.core.windows.net.;acct.privatelink.dfs.core.windows.net. A 10.20.1.5;"
contains "aws view: authoritative, recursion available" "$(q 10.10.1.10 acct.dfs.core.windows.net A)" "flags: qr aa rd ra"
check "aws view: privatelink name" "$(q 10.10.1.10 +short acct.privatelink.dfs.core.windows.net A)" "10.20.1.5"
AAAA=$(q 10.10.1.10 acct.privatelink.dfs.core.windows.net AAAA)
contains "aws view: AAAA of a v4 endpoint is NODATA" "$AAAA" "status: NOERROR"
contains "aws view: NODATA carries the SOA" "$AAAA" "privatelink.dfs.core.windows.net. 300 IN SOA"
check "azure view: public chain" \
  "$(q 192.0.2.10 +short acct.dfs.core.windows.net A | tr '\n' ';')" \
  "acct.privatelink.dfs.core.windows.net.;dfs.prd01.store.core.windows.net.;203.0.113.50;"
check "aws view: another tenant's account resolves publicly (implicit fallback)" \
  "$(q 10.10.1.10 +short other.dfs.core.windows.net A | tail -1)" "203.0.113.50"
contains "aws view: private zone NXDOMAIN" "$(q 10.10.1.10 nope.corp.example A)" "status: NXDOMAIN"
contains "unknown client: REFUSED" "$(q 198.51.100.10 acct.dfs.core.windows.net A)" "status: REFUSED"
contains "case echoed" "$(q 10.10.1.10 +noall +question AcCt.DfS.CoRe.WiNdOwS.NeT A)" ";AcCt.DfS.CoRe.WiNdOwS.NeT."
contains "NOTIMP for opcode NOTIFY" "$(q 10.10.1.10 +opcode=notify www.corp.example SOA)" "status: NOTIMP"

# --- TCP and truncation
check "TCP: private chain" "$(q 10.10.1.10 +tcp +short acct.dfs.core.windows.net A | tail -1)" "10.20.1.5"
contains "local large TXT over UDP: TC" "$(q 10.10.1.10 +ignore +bufsize=1232 big.corp.example TXT)" "flags: qr aa tc rd ra"
check "local large TXT over TCP: complete" "$(q 10.10.1.10 +tcp +short big.corp.example TXT | wc -l)" "6"
contains "forwarded large TXT over UDP: TC" "$(q 192.0.2.10 +ignore +bufsize=1232 big.example.org TXT)" "flags: qr tc rd ra"
check "forwarded large TXT over TCP: complete" "$(q 192.0.2.10 +tcp +short big.example.org TXT | tr ' ' '\n' | wc -l)" "8"
contains "no EDNS: 512-byte limit" "$(q 192.0.2.10 +ignore +noedns big.example.org TXT)" "flags: qr tc rd ra"

# --- segmented UDP sends: answers queued for one client leave as one UDP_SEGMENT train; the
# client still gets one intact datagram per answer. The server is stopped while the queries
# queue up, so that one receive batch holds them all.
burst() {  # burst [client server]: 40 queries from one socket while the server is stopped;
  # prints the number of intact answers
  rm -f "$WORK/burst" "$WORK/burst.sent"
  kill -STOP "$DNS_PID"
  ip netns exec "$NS_CLI" python3 - "$WORK/burst" "${1:-10.10.1.10}" "${2:-10.53.0.1}" <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[2], 0))
s.settimeout(5)
name = b"".join(bytes([len(l)]) + l for l in b"acct.privatelink.dfs.core.windows.net".split(b".")) + b"\0"
ids = set(range(1000, 1040))
for i in sorted(ids):
    s.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1),
             (sys.argv[3], 53))
open(sys.argv[1] + ".sent", "w").close()
good = 0
try:
    while ids:
        d = s.recv(4096)
        qid, flags, qd, an = struct.unpack("!HHHH", d[:8])
        if qid in ids and flags & 0x800F == 0x8000 and an == 1 and d[-4:] == bytes([10, 20, 1, 5]):
            ids.discard(qid)
            good += 1
except socket.timeout:
    pass
open(sys.argv[1], "w").write(str(good))
PY
  BURST_PID=$!
  for _ in $(seq 50); do [[ -e $WORK/burst.sent ]] && break; sleep 0.1; done
  kill -CONT "$DNS_PID"
  wait "$BURST_PID" || true
  cat "$WORK/burst" 2>/dev/null
}
check "segmented sends: 40 queued queries, 40 intact answers" "$(burst)" "40"
SEGMENTED=$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock" --json)
check "segmented sends: counted" "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])["udp_segmented"]
print(d["sends"] >= 1, d["answers"] >= 32)' "$SEGMENTED")" "True True"
SEGMENTED_V4=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["udp_segmented"]["sends"])' "$SEGMENTED")
check "IPv6: private chain" "$(ip netns exec "$NS_CLI" dig @2001:db8:53::1 +time=2 +tries=1 +short acct.dfs.core.windows.net A | tail -1)" "10.20.1.5"
check "segmented sends over IPv6: 40 intact answers" "$(burst 2001:db8:10::10 2001:db8:53::1)" "40"
check "segmented sends over IPv6: counted" "$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock" --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["udp_segmented"]["sends"] > int(sys.argv[1]))' "$SEGMENTED_V4")" "True"
# A train the route's MTU cannot carry (EINVAL) goes out datagram by datagram (fragmented here).
BEFORE=$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock" --json)
ip -n "$NS_SRV" route replace 10.10.0.0/16 dev cgd${ID}s mtu lock 80
check "segmented send over a too-small MTU: 40 intact answers" "$(burst)" "40"
ip -n "$NS_SRV" route replace 10.10.0.0/16 dev cgd${ID}s
AFTER=$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock" --json)
check "segmented send over a too-small MTU: not counted as segmented" "$(python3 -c '
import json, sys
print(json.loads(sys.argv[1])["udp_segmented"] == json.loads(sys.argv[2])["udp_segmented"])' "$BEFORE" "$AFTER")" "True"
contains "--disable-offload: an unknown offload is named" \
  "$("$DNS_BIN" --disable-offload udp-tso --check-config "$WORK/crossgate.toml" 2>&1; echo "exit $?")" "udp-tso"

# --- stats socket and SIGUSR1
STATS=$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock" --json)
contains "crossgate stats dns: one line per counter" \
  "$(ip netns exec "$NS_SRV" "$BIN/crossgate" stats dns --socket "$WORK/dns.sock")" "global.rcodes.REFUSED "
MISSING=$("$BIN/crossgate" stats dns --socket "$WORK/none.sock" 2>&1; echo "exit $?")
contains "crossgate stats: a missing socket is named" "$MISSING" \
  "cannot connect to $WORK/none.sock: No such file or directory (is the daemon running?)"
contains "crossgate stats: a missing socket exits 1" "$MISSING" "exit 1"
check "stats: valid JSON with views" "$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["global"]["queries"] > 10, d["views"]["aws"]["queries"] > 0, d["global"]["rcodes"]["REFUSED"] >= 1,
      d["global"]["upstream"]["queries"] > 0, "latency_histogram" in d["global"]["upstream"])' "$STATS")" "True True True True True"
kill -USR1 "$DNS_PID"
sleep 0.3
contains "SIGUSR1 logs the counters" "$(cat "$WORK/dns.log")" '"global":'

# --- privileges
NOBODY_UID=$(id -u nobody)
check "privileges dropped" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$DNS_PID/status)" \
  "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
check "no supplementary groups" "$(awk '/^Groups:/ {print $2}' /proc/$DNS_PID/status)" ""

# --- SIGHUP: new answers, no lost queries; a bad file keeps the running config
printf 'www.corp.example A\n' >"$WORK/queries.txt"
ip netns exec "$NS_CLI" dnsperf -s 10.53.0.1 -a 10.10.1.10 -d "$WORK/queries.txt" -l 3 -Q 2000 \
  -t 1 >"$WORK/dnsperf.out" 2>&1 &
PERF_PID=$!
sleep 0.5
write_config 10.20.1.6
for _ in 1 2 3 4 5; do
  kill -HUP "$DNS_PID"
  sleep 0.3
done
wait "$PERF_PID" || true
check "SIGHUP: new answer" "$(q 10.10.1.10 +short acct.dfs.core.windows.net A | tail -1)" "10.20.1.6"
contains "SIGHUP under load: no query lost" "$(cat "$WORK/dnsperf.out")" "Queries lost:         0 (0.00%)"
write_config "10.20.1.7" '  [[dns.view.record]]
  name = "bad.example"
  type = "A"
  value = "not-an-address"'
kill -HUP "$DNS_PID"
sleep 0.5
check "bad config on SIGHUP: old answers kept" "$(q 10.10.1.10 +short acct.dfs.core.windows.net A | tail -1)" "10.20.1.6"
contains "bad config on SIGHUP: diagnostic names file and key" "$(cat "$WORK/dns.log")" "crossgate.toml:"
contains "bad config on SIGHUP: rejected" "$(cat "$WORK/dns.log")" "reload rejected"

# --- upstream down: cached answers live on, the rest is SERVFAIL within timeout_ms
check "warm the cache" "$(q 192.0.2.10 +short cached.example.org A)" "203.0.113.81"
kill "$KNOT_PID"
wait "$KNOT_PID" 2>/dev/null || true
check "upstream down: cached answer still served" "$(q 192.0.2.10 +short cached.example.org A)" "203.0.113.81"
servfail_in_time() {  # servfail_in_time <name> <what>: dig's own query time, not process start-up
  local sf elapsed
  sf=$(q 192.0.2.10 +time=5 "$1" A)
  elapsed=$(awk '/Query time:/ {print $4}' <<<"$sf")
  contains "$2: SERVFAIL" "$sf" "status: SERVFAIL"
  if [[ -n $elapsed ]] && (( elapsed <= 800 + 50 )); then
    pass "$2: SERVFAIL within timeout_ms = 800 (${elapsed} ms)"
  else
    fail "$2: SERVFAIL took ${elapsed:-?} ms"
  fi
}
servfail_in_time uncached.example.org "upstream refuses (ICMP)"
# A silent upstream: its address is gone, packets vanish without an ICMP error.
ip -n "$NS_UP" addr del 10.54.0.2/24 dev cgd${ID}u
servfail_in_time silent.example.org "upstream silent"
check "upstream silent: cached answer still served" "$(q 192.0.2.10 +short cached.example.org A)" "203.0.113.81"
check "local answers unaffected" "$(q 10.10.1.10 +short acct.privatelink.dfs.core.windows.net A)" "10.20.1.6"

# --- per-client rate limit: over the limit, UDP queries are dropped; other clients unaffected
write_config 10.20.1.6
sed -i 's/^retries = 1$/retries = 1\nrate_limit_qps = 50/' "$WORK/crossgate.toml"
kill -HUP "$DNS_PID"
sleep 0.5
ip netns exec "$NS_CLI" dnsperf -s 10.53.0.1 -a 10.10.1.10 -d "$WORK/queries.txt" -l 2 -Q 500 \
  -t 1 >"$WORK/dnsperf-rl.out" 2>&1 || true
COMPLETED=$(awk '/Queries completed:/ {print $3}' "$WORK/dnsperf-rl.out")
if (( COMPLETED > 50 && COMPLETED < 250 )); then
  pass "rate limit: $COMPLETED of ~1000 queries answered in 2 s at 50 qps"
else
  fail "rate limit: $COMPLETED queries answered (want about 150)"
fi
check "rate limit: another client still served" "$(q 10.10.1.11 +short www.corp.example A)" "10.20.0.10"

kill -TERM "$DNS_PID"
wait "$DNS_PID" && pass "clean exit on SIGTERM" || fail "exit status $?"

echo "$FAILURES failure(s)"
[[ $FAILURES -eq 0 ]]
