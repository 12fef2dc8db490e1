#!/usr/bin/env bash
# crossgate-dataplane on the appliance against the stock-strongSwan AWS endpoints (needs root):
# 1. AES-128-CBC/HMAC-SHA1 (AWS's default): ping both AWS inside addresses through the TUNs,
#    a 200 MiB TCP transfer through each tunnel with matching SHA-256;
# 2. AES-256-GCM, AWS CHILD_SA lifetime 30 s: the same; then a 120 s transfer through each
#    tunnel while the AWS side rekeys every 20-25 s: no reset, data intact, SPIs changed;
# 3. kill -9 of the appliance's crossgate-dataplane during a transfer, restarted by hand (as
#    systemd would): both tunnels carry traffic again within 10 s of the restart, the transfer
#    completes intact;
# 4. the same for the appliance's charon.
# Every check prints what it checks and the measured times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
source "$here/lib.sh"
# shellcheck disable=SC1091
source "$here/traffic_lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }
test_start=$(t_now_ms)
T_SCRATCH=$(mktemp -d)
export T_SCRATCH
trap 'rm -rf "$T_SCRATCH"' EXIT
MBYTES=${T_MBYTES:-200}
RECOVER_S=10

# t_basic ALG_EXPECTED: pings and a transfer through both tunnels at once.
t_basic() {
  local n sa
  for n in 1 2; do
    sa=LAB_AWS_IP_$n
    t_expect_eq "tunnel $n ESP algorithms (appliance side)" "$1" "$(t_esp_alg appliance "${!sa}")"
    t_check "ping $(t_aws_inside "$n") through tunnel $n" t_ping "$n"
  done
  t_xfer_start 1 basic-t1 source "$MBYTES"
  t_xfer_start 2 basic-t2 source "$MBYTES"
  t_xfer_check basic-t1 "$MBYTES MiB through tunnel 1 ($1)"
  t_xfer_check basic-t2 "$MBYTES MiB through tunnel 2 ($1)"
}

t_dp_spis() {
  "$T_LAB" dp-stats dataplane | jq -r '[.sas[] | select(.direction == "in") | .spi] | sort | join(",")'
}

# ---- 1. AES-128-CBC/HMAC-SHA1 ---------------------------------------------------------------
t_say "lab up: appliance crossgate-dataplane, AWS endpoints stock strongSwan, ESP aes128-sha1"
t_lab_start --aws-esp-proposals aes128-sha1-modp1024 --wait 20
t_check "kernel-libipsec is not loaded by the appliance's charon" \
  bash -c "! grep -q 'loaded plugins:.*kernel-libipsec' '$LAB_DIR/appliance/charon.log' && grep -q 'loaded plugins:.* crossgate ' '$LAB_DIR/appliance/charon.log'"
t_basic AES_CBC-128/HMAC_SHA1_96
"$T_LAB" down >/dev/null

# ---- 2. AES-256-GCM, rekeying under load ---------------------------------------------------
t_say "lab up: ESP aes256gcm16, AWS CHILD_SA lifetime 30 s"
t_lab_start --aws-esp-proposals aes256gcm16-ecp384 --aws-esp-lifetime 30 --wait 20
t_basic AES_GCM_16-256/none
# t_installs N: inbound SAs the appliance's dataplane installed for tunnel N (if_id N) so far.
t_installs() {
  grep -c "if_id=$1 .*inbound SA installed" "$LAB_DIR/appliance/dataplane.log" || true
}
spis0=$(t_dp_spis)
installs0_1=$(t_installs 1) installs0_2=$(t_installs 2)
t_say "120 s transfers through both tunnels while the AWS side rekeys (lifetime 30 s)"
t_xfer_start 1 rekey-t1 paced 120 64
t_xfer_start 2 rekey-t2 paced 120 64
t_xfer_check rekey-t1 "120 s through tunnel 1 across rekeys"
t_xfer_check rekey-t2 "120 s through tunnel 2 across rekeys"
spis1=$(t_dp_spis)
t_say "dataplane inbound SPIs before: $spis0, after: $spis1"
t_check "the inbound SAs were replaced" test "$spis0" != "$spis1"
# The AWS side rekeys every 20 s minus up to 5 s: at least 6 times in 120 s.
rekeys1=$(($(t_installs 1) - installs0_1)) rekeys2=$(($(t_installs 2) - installs0_2))
t_check "at least 5 CHILD_SA rekeys per tunnel during the transfers (tunnel 1: $rekeys1, tunnel 2: $rekeys2)" \
  test "$rekeys1" -ge 5 -a "$rekeys2" -ge 5

# t_crash SERVICE: kill -9 SERVICE during transfers through both tunnels, restart it by hand;
# both tunnels must carry traffic within RECOVER_S of the restart and the transfers complete.
t_crash() {
  local svc=$1 n ms restarted
  t_say "kill -9 of the appliance's $svc during transfers"
  t_xfer_start 1 "crash-$svc-t1" paced 30 64
  t_xfer_start 2 "crash-$svc-t2" paced 30 64
  sleep 5
  "$T_LAB" stop "$svc" KILL
  t_ok "$svc killed (SIGKILL)"
  sleep 1
  restarted=$(t_now_ms)
  "$T_LAB" start "$svc"
  t_ok "$svc restarted in $(($(t_now_ms) - restarted)) ms"
  # Measured from the moment the restart was issued (the daemon's own start-up included).
  for n in 1 2; do
    t_wait_flow "$n" "$RECOVER_S" >/dev/null ||
      t_fail "tunnel $n carries no traffic ${RECOVER_S} s after $svc restarted"
    ms=$(($(t_now_ms) - restarted))
    ((ms <= RECOVER_S * 1000)) || t_fail "tunnel $n carried traffic only $ms ms after $svc restarted"
    t_ok "tunnel $n carries traffic again $ms ms after $svc restarted (limit ${RECOVER_S} s)"
  done
  t_xfer_check "crash-$svc-t1" "transfer through tunnel 1 across the $svc crash"
  t_xfer_check "crash-$svc-t2" "transfer through tunnel 2 across the $svc crash"
}

# ---- 3. and 4. crashes ------------------------------------------------------------------------
t_crash dataplane
t_crash charon

t_say "PASS ($((($(t_now_ms) - test_start) / 1000)) s)"
