#!/usr/bin/env bash
# The appliance-to-appliance mode (needs root): `scripts/lab up --peer crossgate` runs
# crossgate-dataplane + charon with the crossgate plugin on both ends (the appliance and the
# two AWS-side endpoints, responders with the same PSKs). Both tunnels come up; ping both AWS
# inside addresses through the TUNs; a 200 MiB TCP transfer through each tunnel with matching
# SHA-256; the AWS-side dataplanes counted the traffic.
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

t_say "lab up --peer crossgate (crossgate on both ends)"
t_lab_start --peer crossgate --wait 20
for n in 1 2; do
  t_check "aws-t$n's charon loaded the crossgate plugin, not kernel-libipsec" \
    bash -c "grep -q 'loaded plugins:.* crossgate ' '$LAB_DIR/aws-t$n/charon.log' && ! grep -q 'loaded plugins:.*kernel-libipsec' '$LAB_DIR/aws-t$n/charon.log'"
  t_check "aws-t$n's crossgate-dataplane runs" "$T_LAB" dp-stats "aws-t$n-dataplane"
  aws_ip=LAB_AWS_IP_$n
  t_say "tunnel $n ESP algorithms: $(t_esp_alg appliance "${!aws_ip}")"
  t_check "ping $(t_aws_inside "$n") through tunnel $n" t_ping "$n"
done
t_xfer_start 1 peer-t1 source "$MBYTES"
t_xfer_start 2 peer-t2 source "$MBYTES"
t_xfer_check peer-t1 "$MBYTES MiB through tunnel 1 (crossgate <-> crossgate)"
t_xfer_check peer-t2 "$MBYTES MiB through tunnel 2 (crossgate <-> crossgate)"
for n in 1 2; do
  bytes=$("$T_LAB" dp-stats "aws-t$n-dataplane" | jq '[.sas[] | select(.direction == "in") | .bytes] | add // 0')
  t_check "aws-t$n-dataplane decrypted at least $MBYTES MiB (counted $bytes bytes)" \
    test "$bytes" -ge $((MBYTES * 1048576))
done
t_say "PASS ($((($(t_now_ms) - test_start) / 1000)) s)"
