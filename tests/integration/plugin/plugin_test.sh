#!/bin/bash
# Integration test of libstrongswan-crossgate.so (needs root).
#
# Two network namespaces: cgt-plg-a runs stock charon with the crossgate plugin (Debian's modular
# plugin loading plus ikev2/plugin/crossgate.conf; socket-default and kernel-libipsec not loaded)
# and dp_test_peer.py, the dataplane side of dp_proto.h, which relays IKE over real UDP sockets
# 500/4500. cgt-plg-b runs stock charon with socket-default and kernel-libipsec. Shown:
#  1. IKE_SA + CHILD_SA establish through the relay; ADD_SA carries the SPIs the peer lists and
#     the keys the peer derived (compared inside the test, never printed), UDP-encapsulated;
#  2. a soft EXPIRE from the dataplane makes charon rekey the CHILD_SA;
#  3. dropping the dataplane connection makes charon re-create the CHILD_SA after the reconnect;
#  4.-5. dataplane restart, NAT and MAPPING (UPDATE_SA);
#  6.-7. SIGTERM ends charon A within 5 s without spinning, with the dataplane up and gone.
set -euo pipefail

# Usage: plugin_test.sh [modular|explicit]: how charon A selects plugins (Debian's modular
# loading with the strongswan.d fragment, or the appliance's explicit load list).
load_mode=${1:-modular}
[[ $load_mode == modular || $load_mode == explicit ]] || { echo "usage: $0 [modular|explicit]" >&2; exit 2; }
NS_A=cgt-plg-a
NS_B=cgt-plg-b
IP_A=192.0.2.1
IP_B=192.0.2.2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${CROSSGATE_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
plugin=${CROSSGATE_BINARY_DIR:-$src/build}/lib/ipsec/plugins/libstrongswan-crossgate.so
charon=/usr/lib/ipsec/charon

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
say() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces, UDP 500/4500)"
[[ -f $plugin ]] || fail "plugin not built: $plugin"
for tool in ip unshare swanctl python3 "$charon"; do
	command -v "$tool" >/dev/null || fail "missing $tool"
done

T=$(mktemp -d /tmp/cgt-plg.XXXXXX)
chmod 700 "$T"
pids=()
cleanup() {
	local rc=$?
	local pid i
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	if [[ $rc -ne 0 ]]; then
		for f in peer.log a/charon.log b/charon.log; do
			[[ -f $T/$f ]] || continue
			echo "---- last lines of $f" >&2
			# b/charon.log holds key material (chd 4): print only lines without key dumps
			grep -v -E '^\s+[0-9]+: |key =>|secret|seed|nonce' "$T/$f" | tail -n 40 >&2
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

# wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out waiting for $what"
		sleep 0.2
	done
}

# --- namespaces -----------------------------------------------------------------------------
for ns in "$NS_A" "$NS_B"; do
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip -n "$NS_A" link add eth0 type veth peer name eth0 netns "$NS_B"
ip -n "$NS_A" addr add "$IP_A/24" dev eth0
ip -n "$NS_B" addr add "$IP_B/24" dev eth0
ip -n "$NS_A" link set eth0 up
ip -n "$NS_B" link set eth0 up
# kernel-libipsec routes the remote subnet through its TUN from an address of the local subnet
ip -n "$NS_B" addr add 10.2.0.1/32 dev lo

# --- configuration --------------------------------------------------------------------------
mkdir -p "$T/a/run" "$T/a/plugins" "$T/b/run"
cp /usr/lib/ipsec/plugins/*.so "$T/a/plugins/"
cp "$plugin" "$T/a/plugins/"

if [[ $load_mode == modular ]]; then
	load_lines="load_modular = yes"
else
	# the appliance's style: an explicit list, crossgate before kernel-netlink
	load_lines="load_modular = no
    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints sha1 sha2 aes gcm hmac kdf curve25519 gmp vici counters crossgate kernel-netlink"
fi
cat >"$T/a/strongswan.conf" <<EOF
charon {
    $load_lines
    dlopen_use_rtld_now = yes
    install_routes = no
    install_virtual_ip = no
    plugins {
        include /etc/strongswan.d/charon/*.conf
        include $src/ikev2/plugin/crossgate.conf
        crossgate {
            socket = $T/dp.sock
        }
        socket-default {
            load = no
        }
        kernel-libipsec {
            load = no
        }
        vici {
            socket = unix://$T/a/charon.vici
        }
    }
    filelog {
        log {
            path = $T/a/charon.log
            default = 1
            knl = 2
            flush_line = yes
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
}
EOF

# The stock peer logs CHILD_SA key material (chd 4) so that the test can compare it with what
# the plugin handed to the dataplane; the log stays in the private test directory.
cat >"$T/b/strongswan.conf" <<EOF
charon {
    load_modular = yes
    dlopen_use_rtld_now = yes
    install_routes = no
    install_virtual_ip = no
    plugins {
        include /etc/strongswan.d/charon/*.conf
        kernel-libipsec {
            load = 2
        }
        vici {
            socket = unix://$T/b/charon.vici
        }
    }
    filelog {
        log {
            path = $T/b/charon.log
            default = 1
            chd = 4
            flush_line = yes
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
}
EOF

psk=$(head -c 24 /dev/urandom | base64)
swanctl_conf() { # local_ip remote_ip local_id remote_id local_ts remote_ts
	cat <<EOF
connections {
    plg {
        version = 2
        local_addrs = $1
        remote_addrs = $2
        proposals = aes128-sha256-modp2048
        local {
            auth = psk
            id = $3
        }
        remote {
            auth = psk
            id = $4
        }
        children {
            net {
                local_ts = $5
                remote_ts = $6
                esp_proposals = aes128-sha1-modp2048
                rekey_time = 1h
            }
        }
    }
}
secrets {
    ike-plg {
        id-a = a.test
        id-b = b.test
        secret = "$psk"
    }
}
EOF
}
swanctl_conf "$IP_A" "$IP_B" a.test b.test 10.1.0.0/24 10.2.0.0/24 >"$T/a/swanctl.conf"
swanctl_conf "$IP_B" "$IP_A" b.test a.test 10.2.0.0/24 10.1.0.0/24 >"$T/b/swanctl.conf"
chmod 600 "$T"/*/swanctl.conf

sw_a() { swanctl "$@" --uri "unix://$T/a/charon.vici"; }
sw_b() { swanctl "$@" --uri "unix://$T/b/charon.vici"; }

# run_in NS RUNDIR PLUGINDIR CMD...: CMD in NS with RUNDIR as /run (charon.pid) and, if given,
# PLUGINDIR as /usr/lib/ipsec/plugins, in a private mount namespace.
run_in() {
	local ns=$1 rundir=$2 plugdir=$3
	shift 3
	# exec: the PID recorded by the caller is the daemon's own
	# shellcheck disable=SC2016
	exec ip netns exec "$ns" unshare --mount --propagation private -- /bin/sh -c '
		mount --bind "$0" /run || exit 1
		if [ -n "$1" ]; then mount --bind "$1" /usr/lib/ipsec/plugins || exit 1; fi
		shift
		exec "$@"' "$rundir" "$plugdir" "$@"
}

# --- start ----------------------------------------------------------------------------------
say "starting the test dataplane peer and both charons"
start_peer() {
	rm -f "$T/ctl.sock"
	ip netns exec "$NS_A" python3 "$here/dp_test_peer.py" serve "$T/dp.sock" "$T/ctl.sock" \
		"$T/state.json" "$IP_A" 2>>"$T/peer.log" &
	peer_pid=$!
	pids+=("$peer_pid")
	wait_for 10 "the test peer" test -S "$T/ctl.sock"
}
start_peer

start_charon_a() {
	STRONGSWAN_CONF=$T/a/strongswan.conf run_in "$NS_A" "$T/a/run" "$T/a/plugins" "$charon" \
		>/dev/null 2>&1 </dev/null &
	charon_a_pid=$!
	pids+=("$charon_a_pid")
}
start_charon_a
STRONGSWAN_CONF=$T/b/strongswan.conf run_in "$NS_B" "$T/b/run" "" "$charon" \
	>/dev/null 2>&1 </dev/null &
pids+=($!)
wait_for 20 "charon A" sw_a --stats
wait_for 20 "charon B" sw_b --stats

plugins_a=$(sw_a --stats | sed -n '/loaded plugins/,$p')
grep -qw crossgate <<<"$plugins_a" || fail "charon A did not load the crossgate plugin"
grep -qw socket-default <<<"$plugins_a" && fail "charon A loaded socket-default"
grep -qw kernel-libipsec <<<"$plugins_a" && fail "charon A loaded kernel-libipsec"
grep -qw kernel-netlink <<<"$plugins_a" || fail "charon A did not load kernel-netlink"
wait_for 10 "the plugin's connection to the test peer" \
	grep -q '"connected": true' "$T/state.json"
echo "charon A loaded: $(tr '\n' ' ' <<<"$plugins_a" | sed 's/.*loaded plugins: //')"

sw_a --load-all --file "$T/a/swanctl.conf" >/dev/null 2>&1 || fail "loading A's swanctl.conf"
sw_b --load-all --file "$T/b/swanctl.conf" >/dev/null 2>&1 || fail "loading B's swanctl.conf"

# --- checks ---------------------------------------------------------------------------------
# check_sas [ROLE [REMOTE_PORT]]: the peer's CHILD_SA and the plugin's ADD_SAs agree (SPIs,
# keys, UDP encapsulation with the remote port); ROLE is charon A's: initiator (default) or
# responder. Prints "<inbound spi> <outbound spi>" of the plugin side.
check_sas() {
	sw_b --list-sas --raw >"$T/b-sas.raw"
	python3 - "$T/state.json" "$T/b-sas.raw" "$T/b/charon.log" "${1:-initiator}" \
		"${2:-4500}" <<'PY'
import json, re, sys
state = json.load(open(sys.argv[1]))
raw = open(sys.argv[2]).read()
log = open(sys.argv[3]).read().splitlines()
mine, theirs = ("initiator", "responder") if sys.argv[4] == "initiator" else ("responder", "initiator")
rport = ":" + sys.argv[5]

def die(msg):
    print("check failed: " + msg, file=sys.stderr)
    sys.exit(1)

installed = re.findall(r"state=INSTALLED[^{}]*?spi-in=([0-9a-f]+) spi-out=([0-9a-f]+)", raw)
if not installed:
    installed = [(i, o) for i, o in re.findall(r"spi-in=([0-9a-f]+) spi-out=([0-9a-f]+)", raw)]
if len(installed) != 1:
    die("peer lists %d installed CHILD_SAs: %s" % (len(installed), raw))
b_in, b_out = installed[0]
sas = state["sas"]
inbound = [s for s, v in sas.items() if v["inbound"]]
outbound = [s for s, v in sas.items() if not v["inbound"]]
if inbound != [b_out] or outbound != [b_in]:
    die("dataplane SAs in=%s out=%s, peer lists in=%s out=%s" % (inbound, outbound, b_in, b_out))

# key dumps of the peer: "<name> key => N bytes @ ..." followed by hex lines "   0: XX XX ..."
keys, i = [], 0
while i < len(log):
    m = re.search(r"(encryption|integrity) (initiator|responder) key => (\d+) bytes", log[i])
    if m:
        n, data, i = int(m.group(3)), "", i + 1
        while len(data) < 2 * n and i < len(log):
            h = re.match(r".*?\s+\d+: ((?:[0-9A-F]{2} ?)+)", log[i])
            if not h:
                break
            data += h.group(1).replace(" ", "").lower()
            i += 1
        keys.append((m.group(1), m.group(2), data[:2 * n]))
        continue
    i += 1
sets = [keys[j:j + 4] for j in range(0, len(keys) - 3) if keys[j][:2] == ("encryption", "initiator")]
def kmap(s):
    return {(k[0], k[1]): k[2] for k in s}
ok = False
for s in map(kmap, sets):
    # the outbound SA uses the keys of the plugin side's role
    o, n = sas[b_in], sas[b_out]
    if (o["enc_key"] == s.get(("encryption", mine)) and
            o["int_key"] == s.get(("integrity", mine)) and
            n["enc_key"] == s.get(("encryption", theirs)) and
            n["int_key"] == s.get(("integrity", theirs))):
        ok = True
if not ok:
    die("the keys in ADD_SA do not match any key set the peer derived (%d sets)" % len(sets))
for spi, remote, local in ((b_in, "dst", "src"), (b_out, "src", "dst")):
    v = sas[spi]
    if not v["encap"] or not v[local].endswith(":4500") or not v[remote].endswith(rport):
        die("SA %s is not UDP-encapsulated on 4500 / %s: %s -> %s" % (spi, rport, v["src"], v["dst"]))
    if v["enc_alg"] != 12 or v["int_alg"] != 2 or len(v["enc_key"]) != 32 or len(v["int_key"]) != 40:
        die("SA %s: unexpected algorithms %d/%d" % (spi, v["enc_alg"], v["int_alg"]))
    if v["mode"] != 1 or v["src_ts"] == [] or v["dst_ts"] == []:
        die("SA %s: mode or traffic selectors missing" % spi)
if not any(p["type"] == 0 for p in state["policies"]):
    die("no IPsec policy installed")
print(b_out, b_in)
PY
}

child_installed() {
	sw_a --list-sas --raw | grep -q 'state=INSTALLED' &&
		sw_b --list-sas --raw | grep -q 'state=INSTALLED'
}

# child_replaced OLD_IN: one CHILD_SA on both sides, its inbound SPI is not OLD_IN, SAs agree
child_replaced() {
	local old=$1 now
	child_installed || return 1
	[[ $(sw_b --list-sas --raw | grep -o 'spi-in=' | wc -l) -eq 1 ]] || return 1
	now=$(check_sas 2>/dev/null) || return 1
	[[ ${now%% *} != "$old" ]]
}

say "1. establishing IKE_SA and CHILD_SA through the relay"
sw_a --initiate --child net --timeout 30 >"$T/initiate.log" 2>&1 ||
	{ cat "$T/initiate.log" >&2; fail "initiate failed"; }
wait_for 10 "CHILD_SA installed on both sides" child_installed
spis=$(check_sas) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in1 out1 <<<"$spis"
echo "CHILD_SA up: plugin inbound SPI $in1, outbound $out1; SPIs and keys match the peer's"
ike_a=$(sw_a --list-sas --raw | grep -o 'uniqueid=[0-9]*' | head -n1)

say "2. soft EXPIRE from the dataplane rekeys the CHILD_SA"
python3 "$here/dp_test_peer.py" ctl "$T/ctl.sock" expire soft "$in1" >/dev/null ||
	fail "test peer could not raise the expire"
wait_for 20 "the rekeyed CHILD_SA" child_replaced "$in1"
spis=$(check_sas) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in2 out2 <<<"$spis"
[[ $in2 != "$in1" && $out2 != "$out1" ]] || fail "SPIs did not change on rekey"
grep -q "soft expire for SA with SPI $in1" "$T/a/charon.log" || fail "plugin did not log the soft expire"
echo "rekeyed: inbound SPI $in1 -> $in2, outbound $out1 -> $out2; keys match the peer's"

say "3. dataplane disconnect: the plugin reconnects, charon re-creates the CHILD_SA"
python3 "$here/dp_test_peer.py" ctl "$T/ctl.sock" disconnect >/dev/null ||
	fail "test peer could not drop the connection"
wait_for 20 "the plugin's reconnect" python3 -c \
	'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["connected"] and s["history"]["connections"] >= 2 else 1)' \
	"$T/state.json"
wait_for 30 "the re-created CHILD_SA" child_replaced "$in2"
spis=$(check_sas) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in3 out3 <<<"$spis"
grep -q "raising hard expire for SA with SPI $in2" "$T/a/charon.log" ||
	fail "plugin did not raise the hard expire after the reconnect"
[[ $(sw_a --list-sas --raw | grep -o 'uniqueid=[0-9]*' | head -n1) == "$ike_a" ]] ||
	fail "the IKE_SA was replaced (expected only the CHILD_SA to be re-created)"
echo "re-created: inbound SPI $in2 -> $in3, outbound $out2 -> $out3; IKE_SA kept; keys match"

say "4. dataplane killed (-9) and restarted 3 s later: the CHILD_SA is re-created"
kill -9 "$peer_pid"
wait "$peer_pid" 2>/dev/null || true
sleep 3
# requests during the outage fail fast instead of hanging charon's threads
start=$SECONDS
sw_a --list-sas >/dev/null || fail "swanctl --list-sas failed during the outage"
((SECONDS - start < 3)) || fail "list-sas (query_sa/query_policy) blocked during the outage"
start_peer
wait_for 30 "the re-created CHILD_SA" child_replaced "$in3"
spis=$(check_sas) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in4 out4 <<<"$spis"
echo "re-created: inbound SPI $in3 -> $in4, outbound $out3 -> $out4; keys match"

say "5. NAT in front of the peer, peer initiates; a MAPPING event moves the CHILD_SA (UPDATE_SA)"
sw_a --terminate --ike plg --timeout 20 >/dev/null 2>&1 || fail "terminating the IKE_SA failed"
wait_for 10 "no SAs in the dataplane" python3 -c \
	'import json,sys; sys.exit(0 if not json.load(open(sys.argv[1]))["sas"] else 1)' "$T/state.json"
python3 "$here/dp_test_peer.py" ctl "$T/ctl.sock" nat on >/dev/null || fail "nat on"
sw_b --initiate --child net --timeout 30 >"$T/initiate.log" 2>&1 ||
	{ cat "$T/initiate.log" >&2; fail "initiate from the peer failed"; }
wait_for 10 "CHILD_SA installed on both sides" child_installed
spis=$(check_sas responder 34500) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in5 out5 <<<"$spis"
echo "CHILD_SA up with the peer at NAT port 34500: inbound SPI $in5, outbound $out5; keys match"
python3 "$here/dp_test_peer.py" ctl "$T/ctl.sock" nat remap >/dev/null || fail "nat remap"
wait_for 20 "UPDATE_SA to the new NAT port" check_sas responder 44500
python3 -c 'import json,sys
sas = json.load(open(sys.argv[1]))["sas"]
sys.exit(0 if sas and all(v.get("updates", 0) >= 1 for v in sas.values()) else 1)' \
	"$T/state.json" || fail "the SAs were not moved with UPDATE_SA"
spis=$(check_sas responder 44500) || fail "dataplane SAs and the peer's CHILD_SA disagree"
read -r in6 out6 <<<"$spis"
[[ $in6 == "$in5" && $out6 == "$out5" ]] || fail "the CHILD_SA was replaced instead of updated"
echo "MAPPING -> UPDATE_SA: same SPIs $in6/$out6, peer now at port 44500"

# cpu_ticks PID: user + system CPU time of PID in clock ticks
# (fails once PID has exited: reaped or a zombie)
cpu_ticks() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# after the command: state (field 3 of the line), ..., utime (14), stime (15)
	read -r -a f <<<"$stat"
	[[ ${f[0]} != Z ]] || return 1
	echo $((f[11] + f[12]))
}

# stop_charon_a WHAT: SIGTERM charon A; it must be gone within 5 s and not spin meanwhile
stop_charon_a() {
	local what=$1 hz start_ticks ticks last i rc=0 lines
	hz=$(getconf CLK_TCK)
	lines=$(wc -l <"$T/a/charon.log")
	start_ticks=$(cpu_ticks "$charon_a_pid") || fail "charon A is not running ($what)"
	last=$start_ticks
	kill -TERM "$charon_a_pid"
	for ((i = 0; i < 50; i++)); do
		ticks=$(cpu_ticks "$charon_a_pid") || break
		last=$ticks
		sleep 0.1
	done
	if cpu_ticks "$charon_a_pid" >/dev/null; then
		fail "charon A still running 5 s after SIGTERM ($what), $((last - start_ticks)) CPU ticks used"
	fi
	wait "$charon_a_pid" 2>/dev/null || rc=$?
	((rc == 0)) || fail "charon A exited with status $rc after SIGTERM ($what)"
	tail -n +"$((lines + 1))" "$T/a/charon.log" >"$T/shutdown.log"
	grep -q "SIGTERM received, shutting down" "$T/shutdown.log" ||
		fail "charon A did not shut down on its own ($what)"
	# shutting down is a few requests and thread joins: far below 1 s of CPU
	((last - start_ticks < hz / 2)) ||
		fail "charon A used $((last - start_ticks)) CPU ticks (${hz}/s) after SIGTERM ($what)"
	echo "charon A stopped $what after $((i / 10)).$((i % 10)) s, $((last - start_ticks)) CPU ticks"
}

say "6. SIGTERM of charon A with the dataplane connected and an IKE_SA up"
child_installed || fail "no CHILD_SA before the shutdown check"
stop_charon_a "with the dataplane connected"
grep -q "sending DELETE for IKE_SA" "$T/shutdown.log" || fail "charon A did not delete its IKE_SA"

say "7. SIGTERM of charon A after the dataplane is gone"
# a fresh test peer without the NAT of step 5
kill "$peer_pid"
wait "$peer_pid" 2>/dev/null || true
start_peer
start_charon_a
wait_for 20 "charon A" sw_a --stats
wait_for 10 "the plugin's connection to the test peer" \
	grep -q '"connected": true' "$T/state.json"
sw_a --load-all --file "$T/a/swanctl.conf" >/dev/null 2>&1 || fail "loading A's swanctl.conf"
sw_a --initiate --child net --timeout 30 >"$T/initiate.log" 2>&1 ||
	{ cat "$T/initiate.log" >&2; fail "initiate failed"; }
wait_for 10 "CHILD_SA installed on both sides" child_installed
kill -9 "$peer_pid"
wait "$peer_pid" 2>/dev/null || true
wait_for 10 "the plugin to notice the lost dataplane" grep -q "connection to the dataplane lost" \
	"$T/a/charon.log"
sleep 1
stop_charon_a "with the dataplane gone"
grep -q "sending DELETE for IKE_SA" "$T/shutdown.log" || fail "charon A did not delete its IKE_SA"

echo "plugin log: $(grep -c 'reconnected to the dataplane' "$T/a/charon.log") reconnects," \
	"$(grep -c 'dataplane not connected, request' "$T/a/charon.log") requests failed fast during outages"
say "PASS"
