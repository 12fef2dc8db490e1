#!/usr/bin/env bash
# Failover between the two AWS tunnels under traffic (needs root). From the AWS VPC client to
# the private endpoint run, through the appliance, (1) a probe stream in each direction, one UDP
# datagram every 10 ms, logged with arrival time and, at the client, the interface it came in
# on (t1 / t2 = the link from AWS endpoint 1 / 2) and (2) an HTTPS download that lasts through
# the cut. Then tunnel 1 is cut:
#   case A: its AWS endpoint's WAN link goes down (ip link set eth0 down in aws-t1);
#   case B: its AWS endpoint's charon is killed (kill -9).
# Each case prints failover_outage_ms: the time from the cut to the first datagram the
# appliance sent through tunnel 2 (the appliance's direction, endpoint -> VPC; the target is
# < 1000 ms, the test asserts only < 10 s), and the AWS direction's outage (the lab's AWS
# side moves to tunnel 2 when AWS would: at once when its endpoint dies, after DPD's 30-40 s
# when the link is cut). The download must complete intact; after tunnel 1 is back, crossgate
# must move the active path back to it (crossgate status --json) and the datagrams must come
# through tunnel 1 again.
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
PROBE_PORT=7000
OUTAGE_LIMIT_MS=10000    # generous: the figure is printed, the target is < 1000 ms
AWS_RECOVERY_S=90        # AWS's DPD: 10 s + 30 s after the first unanswered DPD, plus margin
FAILBACK_S=150           # the appliance's DPD/retransmits, re-keying, hold-down
STREAM_S=40
STREAM_KIB=64

# t_active_path: the active path of the VPN (tunnel names, comma-separated).
t_active_path() {
  t_status_json | jq -r '[.. | objects | select(has("active_path")) | .active_path] | flatten |
    map(tostring) | join(",")'
}

t_active_is() { [[ $(t_active_path) == "$1" ]]; }

# t_log_has_if_after LOG IFNAME MS: the client's log has a datagram on IFNAME after MS.
t_log_has_if_after() {
  awk -v i="$2" -v t="$3" '$1 == "r" && $4 == i && $3 > t { found = 1; exit } END { exit !found }' "$1"
}

# t_log_has_after LOG MS: the log has a datagram received after MS.
t_log_has_after() {
  awk -v t="$2" '$1 == "r" && $3 > t { found = 1; exit } END { exit !found }' "$1"
}

# t_probes_start TAG: the probe streams (server at the endpoint, client in the VPC).
t_probes_start() {
  local tag=$1
  "$T_LAB" exec azure-pl /usr/bin/python3 "$PROBE" server "$LAB_PE_IP" "$PROBE_PORT" 400 \
    "$T_SCRATCH/$tag.server" >"$T_SCRATCH/$tag.server.out" 2>&1 &
  probe_server_pid=$!
  t_wait 5 grep -q listening "$T_SCRATCH/$tag.server.out" || t_fail "the probe server did not start"
  "$T_LAB" exec aws-vpc /usr/bin/python3 "$PROBE" client "$LAB_PE_IP" "$PROBE_PORT" 400 \
    "$T_SCRATCH/$tag.client" >"$T_SCRATCH/$tag.client.out" 2>&1 &
  probe_client_pid=$!
  local since
  since=$(t_now_ms)
  t_wait 10 t_log_has_if_after "$T_SCRATCH/$tag.client" t1 "$since" ||
    t_fail "no probe datagrams from the endpoint through tunnel 1 before the cut"
  t_ok "probe streams flow (endpoint -> VPC through tunnel 1)"
}

t_probes_stop() {
  kill "$probe_client_pid" "$probe_server_pid" 2>/dev/null || true
  wait "$probe_client_pid" "$probe_server_pid" 2>/dev/null || true
}

# t_stream_start TAG: an HTTPS download from the endpoint lasting STREAM_S seconds.
t_stream_start() {
  "$T_LAB" exec aws-vpc curl -sS --fail --cacert "$LAB_CA_CERT" --connect-timeout 5 \
    --max-time 300 -o "$T_SCRATCH/$1.bin" \
    "https://$LAB_STORAGE_FQDN/stream?seconds=$STREAM_S&kib=$STREAM_KIB" \
    >"$T_SCRATCH/$1.curl" 2>&1 &
  stream_pid=$!
}

t_stream_check() {
  local bytes=$((STREAM_KIB * 1024 / 100 / 16 * 16 * STREAM_S * 100)) started
  started=$(t_now_ms)
  if ! wait "$stream_pid"; then
    cat "$T_SCRATCH/$1.curl"
    t_fail "$2: the HTTPS download failed"
  fi
  t_check "$2: the HTTPS download ($((bytes / 1024)) KiB) survived, complete and in order" \
    /usr/bin/python3 "$PROBE" check-stream "$T_SCRATCH/$1.bin" "$bytes"
  t_say "(the download ended $(($(t_now_ms) - started)) ms after the failback checks)"
}

# t_lab_args "VERB ARGS": scripts/lab with the words of one string.
t_lab_args() {
  local args
  read -r -a args <<<"$1"
  "$T_LAB" "${args[@]}"
}

# The cuts: each sets cut_ms right before the action itself, so the outage is measured from
# the moment the link goes down or the process dies (no script start-up in between).
t_cut_link() {
  cut_ms=$(t_now_ms)
  ip -n "$LAB_NS_AWS_T1" link set eth0 down
}
t_cut_charon() {
  local pid
  read -r pid _ <"$T_STATE/pids/aws-t1.pid"
  cut_ms=$(t_now_ms)
  kill -s KILL "$pid"
}

# t_case TAG DESCRIPTION CUT_FUNCTION RESTORE (RESTORE: scripts/lab arguments)
t_case() {
  local tag=$1 what=$2 cut_fn=$3 restore_cmd=$4 cut restored t values outage aws_ms
  t_say "---- case $tag: $what"
  t_wait 30 t_active_is "$LAB_TUNNEL_1" || t_fail "active path is '$(t_active_path)', expected $LAB_TUNNEL_1"
  t_ok "active path: $LAB_TUNNEL_1"
  t_probes_start "$tag"
  t_stream_start "$tag"
  sleep 2
  "$cut_fn"
  cut=$cut_ms
  t_say "cut: $what"
  t_wait $((OUTAGE_LIMIT_MS / 1000)) t_log_has_if_after "$T_SCRATCH/$tag.client" t2 "$cut" ||
    t_fail "$tag: no datagram from the endpoint through tunnel 2 within $((OUTAGE_LIMIT_MS / 1000)) s of the cut"
  t_wait 10 t_active_is "$LAB_TUNNEL_2" ||
    t_fail "$tag: crossgate's active path is '$(t_active_path)', expected $LAB_TUNNEL_2"
  t_ok "$tag: crossgate's active path: $LAB_TUNNEL_2"
  t_wait "$AWS_RECOVERY_S" t_log_has_after "$T_SCRATCH/$tag.server" "$(t_now_ms)" ||
    t_fail "$tag: the AWS side sent nothing through tunnel 2 within $AWS_RECOVERY_S s"
  sleep 1
  values=$(/usr/bin/python3 "$PROBE" analyze "$cut" "$T_SCRATCH/$tag.client" \
    "$T_SCRATCH/$tag.server" t1 t2)
  printf '%s\n' "$values" | sed 's/^/    /'
  outage=$(sed -n 's/^appliance_first_new_ms: //p' <<<"$values")
  aws_ms=$(sed -n 's/^aws_gap_ms: //p' <<<"$values")
  t_expect_eq "$tag: the last datagram before the cut came through" t1 \
    "$(sed -n 's/^appliance_last_if_before_cut: //p' <<<"$values")"
  echo "failover_outage_ms: $outage case=$tag"
  echo "aws_direction_outage_ms: $aws_ms case=$tag"
  t_check "$tag: failover_outage_ms $outage < $OUTAGE_LIMIT_MS" test "$outage" -ge 0 -a "$outage" -lt "$OUTAGE_LIMIT_MS"
  t_expect_eq "$tag: datagrams through tunnel 1 after the switch" 0 \
    "$(sed -n 's/^appliance_old_if_after_switch: //p' <<<"$values")"

  restored=$(t_now_ms)
  t_lab_args "$restore_cmd" >/dev/null
  t_say "restored: scripts/lab $restore_cmd"
  t_wait "$FAILBACK_S" t_active_is "$LAB_TUNNEL_1" ||
    t_fail "$tag: no failback to $LAB_TUNNEL_1 within $FAILBACK_S s (active path '$(t_active_path)')"
  t=$(t_now_ms)
  t_ok "$tag: failback: active path $LAB_TUNNEL_1 again $((t - restored)) ms after the restore"
  t_wait 10 t_log_has_if_after "$T_SCRATCH/$tag.client" t1 "$t" ||
    t_fail "$tag: the endpoint's datagrams do not come through tunnel 1 again"
  t_ok "$tag: datagrams come through tunnel 1 again"
  t_probes_stop
  t_stream_check "$tag" "$tag"
}

t_say "lab up"
t_lab_start --wait 30
t_wait 20 t_active_is "$LAB_TUNNEL_1" || t_fail "active path '$(t_active_path)', expected $LAB_TUNNEL_1"
"$T_LAB" test 30 >"$T_SCRATCH/seed.out" 2>&1 || { cat "$T_SCRATCH/seed.out"; t_fail "scripts/lab test before the cuts"; }
t_ok "the seed path works (scripts/lab test)"

t_case A "aws-t1's WAN link down" t_cut_link "wan aws-t1 up"
t_case B "aws-t1's charon killed (kill -9)" t_cut_charon "start aws-t1"
t_say "PASS ($((($(t_now_ms) - test_start) / 1000)) s)"
