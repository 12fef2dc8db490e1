# Shared helpers of the dataplane scenarios and the benchmark (sourced, bash).
# Layout: two namespaces ${P}a and ${P}b joined by a veth pair (192.0.2.1 <-> 192.0.2.2),
# each side with its own crossgate-dataplane whose TUN carries 10.99.0.1/30 resp. 10.99.0.2/30.

: "${P:=cgt-dp-}"
: "${CROSSGATE_BIN:=${CROSSGATE_BINARY_DIR:-/work/main/build}/bin}"
: "${CROSSGATE_TESTS:=${CROSSGATE_BINARY_DIR:-/work/main/build}/tests}"
DP_PIDS=()
SACTL_PIDS=()
CHARON_PIDS=()

dp_log() { echo "[$(date +%H:%M:%S)] $*"; }

dp_netns_up() {
  WORK=$(mktemp -d /tmp/${P}XXXXXX)
  ip netns add ${P}a
  ip netns add ${P}b
  ip link add ${P}va netns ${P}a type veth peer name ${P}vb netns ${P}b
  ip -n ${P}a addr add 192.0.2.1/24 dev ${P}va
  ip -n ${P}b addr add 192.0.2.2/24 dev ${P}vb
  for s in a b; do
    ip -n ${P}$s link set lo up
    ip -n ${P}$s link set ${P}v$s up
  done
}

# stop_pids PID...: SIGTERM, up to 5 s to exit, then SIGKILL.
stop_pids() {
  local pid i
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "pid $pid ($(cat /proc/$pid/comm 2>/dev/null)) ignored SIGTERM for 5 s: SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

dp_netns_down() {
  # charon first (it still talks to its dataplane while shutting down), then the clients, then
  # the dataplanes
  stop_pids "${CHARON_PIDS[@]}"
  stop_pids "${SACTL_PIDS[@]}"
  stop_pids "${DP_PIDS[@]}"
  ip netns del ${P}a 2>/dev/null || true
  ip netns del ${P}b 2>/dev/null || true
  if [ -n "${WORK:-}" ]; then
    rm -rf "$WORK"
  fi
  return 0
}

# dp_start SIDE [extra dataplane flags...]: starts crossgate-dataplane in namespace SIDE.
dp_start() {
  local side=$1; shift
  local addr inside
  if [ "$side" = a ]; then addr=192.0.2.1; inside=10.99.0.1/30; else addr=192.0.2.2; inside=10.99.0.2/30; fi
  ip netns exec ${P}$side "$CROSSGATE_BIN/crossgate-dataplane" \
    --socket "$WORK/$side.sock" --stats-socket "$WORK/$side-stats.sock" \
    --listen $addr --tunnel cgt0:1:$inside:${DP_MTU:-1400} "$@" >>"$WORK/dp-$side.log" 2>&1 &
  DP_PIDS+=($!)
  eval "DP_PID_$side=$!"
  local i
  for i in $(seq 1 50); do
    [ -S "$WORK/$side.sock" ] && ip -n ${P}$side link show cgt0 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "crossgate-dataplane ($side) did not come up:"; cat "$WORK/dp-$side.log"; return 1
}

# dp_sa SIDE ALG [extra dp_sactl flags]: installs the static SA pair on SIDE.
dp_sa() {
  local side=$1 alg=$2; shift 2
  local local remote in out
  if [ "$side" = a ]; then local=192.0.2.1 remote=192.0.2.2 in=3221225729 out=3221225730
  else local=192.0.2.2 remote=192.0.2.1 in=3221225730 out=3221225729; fi
  "$CROSSGATE_TESTS/dp_sactl" --socket "$WORK/$side.sock" --local $local --remote $remote \
    --spi-in $in --spi-out $out --alg "$alg" --seed 7 "$@" >>"$WORK/sactl-$side.log" 2>&1 &
  SACTL_PIDS+=($!)
  eval "SACTL_PID_$side=$!"
  local i
  for i in $(seq 1 50); do
    grep -q installed "$WORK/sactl-$side.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "dp_sactl ($side) failed:"; cat "$WORK/sactl-$side.log"; return 1
}

# dp_stats SIDE: the JSON counters of SIDE's dataplane.
dp_stats() {
  "$CROSSGATE_BIN/crossgate" stats dataplane --socket "$WORK/$1-stats.sock" --json
}

# dp_total SIDE KEY: one number from the stats totals.
dp_total() {
  dp_stats "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['totals'].get('$2', 0))"
}

# ---- charon (stock Debian strongSwan) on either side ----------------------------------------
: "${CROSSGATE_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${CROSSGATE_PLUGIN:=${CROSSGATE_BINARY_DIR:-$CROSSGATE_SOURCE_DIR/build}/lib/ipsec/plugins/libstrongswan-crossgate.so}"
CHARON=/usr/lib/ipsec/charon
CHARON_PIDS=()

# charon_conf SIDE MODE: writes $WORK/charon-SIDE/strongswan.conf. MODE crossgate (our plugin
# talking to the side's crossgate-dataplane) or libipsec (stock kernel-libipsec).
charon_conf() {
  local side=$1 mode=$2 dir=$WORK/charon-$1
  mkdir -p "$dir/run" "$dir/plugins"
  local plugins load="load_modular = yes"
  if [ "$mode" = crossgate ]; then
    # the appliance's explicit plugin list: crossgate (kernel-ipsec + socket) before kernel-netlink
    # (kernel-net only), none of the stock plugins that watch every interface (farp, dhcp, ...)
    load="load_modular = no
    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints sha1 sha2 aes gcm hmac kdf curve25519 gmp vici counters crossgate kernel-netlink"
    cp /usr/lib/ipsec/plugins/*.so "$dir/plugins/"
    cp "$CROSSGATE_PLUGIN" "$dir/plugins/"
    plugins="include $CROSSGATE_SOURCE_DIR/ikev2/plugin/crossgate.conf
        crossgate {
            socket = $WORK/$side.sock
        }
        socket-default {
            load = no
        }
        kernel-libipsec {
            load = no
        }"
  else
    plugins="kernel-libipsec {
            load = 2
        }"
  fi
  cat >"$dir/strongswan.conf" <<EOC
charon {
    $load
    dlopen_use_rtld_now = yes
    install_routes = $([ "$mode" = libipsec ] && echo yes || echo no)
    install_virtual_ip = no
    retransmit_timeout = 1
    retransmit_base = 1.4
    retransmit_tries = 3
    plugins {
        include /etc/strongswan.d/charon/*.conf
        $plugins
        vici {
            socket = unix://$dir/charon.vici
        }
    }
    filelog {
        log {
            path = $dir/charon.log
            default = 1
            knl = 1
            flush_line = yes
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
}
EOC
}

# swanctl_conf SIDE MODE ESP_PROPOSAL: one IKE_SA + CHILD_SA between 192.0.2.1 and .2.
# crossgate: route-based (0.0.0.0/0 both ways, if_id 1 -> the TUN cgt0); libipsec: policy-based
# between 10.98.0.1/32 and 10.98.0.2/32 (addresses on lo; kernel-libipsec routes via its TUN).
swanctl_conf() {
  local side=$1 mode=$2 esp=$3 dir=$WORK/charon-$1
  local me peer lts rts start
  if [ "$side" = a ]; then me=192.0.2.1 peer=192.0.2.2 lts=10.98.0.1/32 rts=10.98.0.2/32 start=start
  else me=192.0.2.2 peer=192.0.2.1 lts=10.98.0.2/32 rts=10.98.0.1/32 start=none; fi
  local child_extra=""
  if [ "$mode" = crossgate ]; then
    lts=0.0.0.0/0 rts=0.0.0.0/0
    child_extra="if_id_in = 1
                if_id_out = 1"
  fi
  cat >"$dir/swanctl.conf" <<EOC
connections {
    bench {
        version = 2
        local_addrs = $me
        remote_addrs = $peer
        proposals = aes128-sha256-modp2048
        encap = yes
        unique = replace
        dpd_delay = 2s
        local {
            auth = psk
            id = $side.test
        }
        remote {
            auth = psk
            id = $([ "$side" = a ] && echo b || echo a).test
        }
        children {
            net {
                local_ts = $lts
                remote_ts = $rts
                esp_proposals = $esp
                start_action = $start
                dpd_action = restart
                close_action = $([ "$side" = a ] && echo start || echo none)
                rekey_time = ${CHILD_REKEY:-1h}
                $child_extra
            }
        }
    }
}
secrets {
    ike-bench {
        id-a = a.test
        id-b = b.test
        secret = "crossgate-test-psk-$$"
    }
}
EOC
  chmod 600 "$dir/swanctl.conf"
}

sw() { local side=$1; shift; swanctl "$@" --uri "unix://$WORK/charon-$side/charon.vici"; }

# charon_start SIDE MODE: charon in namespace SIDE with a private /run (and, for crossgate, a
# plugin directory that adds our plugin), then loads the side's swanctl.conf.
charon_start() {
  local side=$1 mode=$2 dir=$WORK/charon-$1 plugdir=""
  [ "$mode" = crossgate ] && plugdir=$dir/plugins
  STRONGSWAN_CONF=$dir/strongswan.conf ip netns exec ${P}$side unshare --mount --propagation private -- \
    /bin/sh -c 'mount --bind "$0" /run || exit 1
      if [ -n "$1" ]; then mount --bind "$1" /usr/lib/ipsec/plugins || exit 1; fi
      exec '"$CHARON" "$dir/run" "$plugdir" >/dev/null 2>&1 </dev/null &
  CHARON_PIDS+=($!)
  eval "CHARON_PID_$side=$!"
  local i
  for i in $(seq 1 100); do
    sw "$side" --stats >/dev/null 2>&1 && break
    sleep 0.1
  done
  sw "$side" --load-all --file "$dir/swanctl.conf" >"$dir/load.log" 2>&1 || {
    echo "swanctl --load-all ($side) failed"; cat "$dir/load.log"; tail -20 "$dir/charon.log"; return 1; }
}

# wait_ping SIDE DST SECONDS: until DST answers from SIDE.
wait_ping() {
  local t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$3" ]; do
    ip netns exec ${P}$1 ping -c 1 -W 1 "$2" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

charon_down() {
  stop_pids "${CHARON_PIDS[@]}"
  CHARON_PIDS=()
}
