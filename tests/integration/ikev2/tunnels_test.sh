#!/usr/bin/env bash
# Both AWS tunnels through Azure's 1:1 NAT, in the lab (needs root):
#   tunnels_test.sh AWS_FILE
# 1. both tunnels ESTABLISHED with INSTALLED CHILD_SAs within 15 s of crossgated starting;
#    NAT-T in use and the appliance's IKE id is the public IP (seen from the AWS endpoints);
#    `crossgate status --json` shows both up;
# 2. AWS endpoint 1's charon killed: tunnel 1 down within 40 s, tunnel 2 untouched;
# 3. that charon restarted: tunnel 1 back without operator action;
# 4. the appliance's charon restarted: both tunnels back;
# 5. tunnel 2's PSK changed on both sides: tunnel 2 re-established, tunnel 1 untouched;
# 6. a wrong PSK on the appliance for tunnel 2: down, authentication error in last_error.
# Every check prints what it checks; the first failure ends the test (exit 1) after printing the
# lab's state and logs. The lab is always taken down.
set -euo pipefail
# shellcheck disable=SC1091
source "$(cd "$(dirname "$0")/../lab" && pwd)/lib.sh"

file=${1:?usage: tunnels_test.sh AWS_FILE}
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }
test_start=$(t_now_ms)

# ---- 1. establishment through the NAT -------------------------------------------------------
t_say "lab up with $(basename "$file")"
t_lab_start --aws-file "$file"
t1=$LAB_TUNNEL_1 t2=$LAB_TUNNEL_2
started=$(<"/run/crossgate-lab/crossgated.started_ms")

both_established() {
  t_sa_up aws-t1 "$LAB_CUSTOMER_IP" && t_sa_up aws-t2 "$LAB_CUSTOMER_IP" && t_both_up
}
t_wait 15 both_established || t_fail "both tunnels ESTABLISHED/INSTALLED within 15 s of crossgated starting"
t_ok "both tunnels ESTABLISHED with INSTALLED CHILD_SAs $(($(t_now_ms) - started)) ms after crossgated started"

for n in 1 2; do
  sa=$(t_sa_up "aws-t$n" "$LAB_CUSTOMER_IP")
  aws_ip_var=LAB_AWS_IP_$n
  aws_ip=${!aws_ip_var}
  t_expect_eq "aws-t$n: IKE_SA remote host (the NAT's public address)" "$LAB_CUSTOMER_IP" "$(t_field "$sa" remote-host)"
  t_expect_eq "aws-t$n: IKE_SA remote port (NAT-T)" 4500 "$(t_field "$sa" remote-port)"
  t_expect_eq "aws-t$n: remote IKE id (the customer public IP, not 10.0.0.4)" "$LAB_CUSTOMER_IP" "$(t_field "$sa" remote-id)"
  t_expect_eq "aws-t$n: NAT detected on the customer side" yes "$(t_field "$sa" nat-remote)"
  t_expect_eq "aws-t$n: CHILD_SA UDP-encapsulated" yes "$(t_field "$sa" child-encap)"
  app_sa=$(t_sa_up appliance "$aws_ip") || t_fail "appliance: no ESTABLISHED IKE_SA with $aws_ip"
  t_expect_eq "appliance -> $aws_ip: local host (private WAN address)" 10.0.0.4 "$(t_field "$app_sa" local-host)"
  t_expect_eq "appliance -> $aws_ip: local id" "$LAB_CUSTOMER_IP" "$(t_field "$app_sa" local-id)"
  t_expect_eq "appliance -> $aws_ip: NAT detected locally" yes "$(t_field "$app_sa" nat-local)"
done

json=$(t_status_json) || t_fail "crossgate status --json"
for t in "$t1" "$t2"; do
  t_expect_eq "status $t up" true "$(jq -r --arg n "$t" '.tunnels[] | select(.name == $n) | .up' <<<"$json")"
  t_expect_eq "status $t ike_state" ESTABLISHED "$(jq -r --arg n "$t" '.tunnels[] | select(.name == $n) | .ike_state' <<<"$json")"
  t_expect_eq "status $t child_state" INSTALLED "$(jq -r --arg n "$t" '.tunnels[] | select(.name == $n) | .child_state' <<<"$json")"
done
t_expect_eq "status aws_outside_ip of $t1" "$LAB_AWS_IP_1" "$(jq -r --arg n "$t1" '.tunnels[] | select(.name == $n) | .aws_outside_ip' <<<"$json")"
t_expect_eq "status aws_outside_ip of $t2" "$LAB_AWS_IP_2" "$(jq -r --arg n "$t2" '.tunnels[] | select(.name == $n) | .aws_outside_ip' <<<"$json")"

# ---- 2. AWS endpoint 1 dies -------------------------------------------------------------------
t2_aws_id=$(t_field "$(t_sa_up aws-t2 "$LAB_CUSTOMER_IP")" uniqueid)
t2_app_id=$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_2")" uniqueid)
t_say "killing aws-t1's charon (SIGKILL)"
cut=$(t_now_ms)
"$T_LAB" stop aws-t1 KILL
# Down means: crossgate says so and the appliance's charon really gave up the IKE_SA (DPD), not
# a momentary gap in what crossgate sees.
t1_down_or_t2_lost() {
  t_tunnel_is_up "$t2" || return 0
  t_tunnel_is_down "$t1" && ! t_sa_up appliance "$LAB_AWS_IP_1"
}
t_wait 40 t1_down_or_t2_lost || t_fail "$t1 marked down within 40 s of its AWS endpoint dying"
t_check "$t2 stayed up while $t1 went down" t_tunnel_is_up "$t2"
t_ok "$t1 marked down $(($(t_now_ms) - cut)) ms after its AWS endpoint died"

# ---- 3. it comes back -------------------------------------------------------------------------
t_say "restarting aws-t1's charon"
back=$(t_now_ms)
"$T_LAB" start aws-t1
t1_back() { t_sa_up aws-t1 "$LAB_CUSTOMER_IP" && t_sa_up appliance "$LAB_AWS_IP_1" && t_tunnel_is_up "$t1"; }
t_wait 60 t1_back || t_fail "$t1 back up within 60 s of its AWS endpoint restarting"
t_ok "$t1 up again $(($(t_now_ms) - back)) ms after its AWS endpoint restarted (no operator action)"
t_expect_eq "aws-t2 IKE_SA unchanged (unique id)" "$t2_aws_id" "$(t_field "$(t_sa_up aws-t2 "$LAB_CUSTOMER_IP")" uniqueid)"
t_expect_eq "appliance IKE_SA of $t2 unchanged (unique id)" "$t2_app_id" "$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_2")" uniqueid)"

# ---- 4. the appliance's charon restarts -------------------------------------------------------
t_say "restarting the appliance's charon"
back=$(t_now_ms)
"$T_LAB" restart charon
both_back() { t_sa_up appliance "$LAB_AWS_IP_1" && t_sa_up appliance "$LAB_AWS_IP_2" && t_both_up; }
t_wait 45 both_back || t_fail "both tunnels back within 45 s of the appliance's charon restarting"
t_ok "both tunnels up again $(($(t_now_ms) - back)) ms after the appliance's charon restarted"

# ---- 5. tunnel 2's PSK changes on both sides --------------------------------------------------
t1_app_id=$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_1")" uniqueid)
t1_aws_id=$(t_field "$(t_sa_up aws-t1 "$LAB_CUSTOMER_IP")" uniqueid)
t2_app_id=$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_2")" uniqueid)
t_say "changing $t2's pre-shared key on both sides"
changed=$(t_now_ms)
"$T_LAB" psk 2 --both <<<"newKey.$(date +%s)_AbCdEfGhIjKlMnOpQr"
t2_renewed() {
  local sa
  sa=$(t_sa_up appliance "$LAB_AWS_IP_2") || return 1
  [[ $(t_field "$sa" uniqueid) != "$t2_app_id" ]] && t_tunnel_is_up "$t2"
}
t_wait 30 t2_renewed || t_fail "$t2 re-established with the new key within 30 s"
t_ok "$t2 re-established with the new key $(($(t_now_ms) - changed)) ms after the change"
t_expect_eq "appliance IKE_SA of $t1 unchanged (unique id)" "$t1_app_id" "$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_1")" uniqueid)"
t_expect_eq "aws-t1 IKE_SA unchanged (unique id)" "$t1_aws_id" "$(t_field "$(t_sa_up aws-t1 "$LAB_CUSTOMER_IP")" uniqueid)"
t_check "$t1 still up" t_tunnel_is_up "$t1"

# ---- 6. a wrong PSK on the appliance ---------------------------------------------------------
t_say "setting a wrong pre-shared key for $t2 on the appliance"
"$T_LAB" psk 2 --appliance <<<"wrongKey_$(date +%s)_ZyXwVuTsRqPo"
t2_auth_failed() {
  t_tunnel_is_down "$t2" && ! t_sa_up appliance "$LAB_AWS_IP_2" || return 1
  t_tunnel_field "$t2" '.last_error // ""' | grep -qi 'auth'
}
t_wait 30 t2_auth_failed || t_fail "$t2 down with an authentication error in last_error within 30 s"
t_ok "$t2 down, last_error: $(t_tunnel_field "$t2" .last_error)"
t_expect_eq "appliance IKE_SA of $t1 still unchanged (unique id)" "$t1_app_id" "$(t_field "$(t_sa_up appliance "$LAB_AWS_IP_1")" uniqueid)"
t_check "$t1 still up" t_tunnel_is_up "$t1"

t_say "PASS ($(basename "$file"), $((($(t_now_ms) - test_start) / 1000)) s)"
