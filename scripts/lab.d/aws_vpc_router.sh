#!/usr/bin/env bash
# The AWS side's routing of a Site-to-Site VPN in the lab (runs inside the aws-vpc namespace):
#
#   aws_vpc_router.sh NETWORK INTERVAL_MS VICI_1 GATEWAY_1 IF_1 VICI_2 GATEWAY_2 IF_2
#
# How this models AWS: the VPC's route table sends NETWORK (the Azure side) to the virtual
# private gateway, and the gateway forwards it into ONE of the connection's two tunnels at a
# time - a tunnel whose IPsec SA is up. AWS learns that a tunnel is down only from IKE: the SA
# is deleted (by the peer, or by AWS's DPD timeout action "clear" 30 s after the first
# unanswered DPD) or the endpoint itself fails. So this loop asks each AWS endpoint's charon
# (VICI_N, the endpoint of tunnel N) every INTERVAL_MS whether it has an INSTALLED CHILD_SA, and
# routes NETWORK via GATEWAY_N on IF_N for the first tunnel that has one: tunnel 1 whenever it
# is up (AWS documents no order between two healthy tunnels; a fixed one keeps tests
# deterministic and makes both failover and failback visible on the AWS side too). It never
# probes through the tunnels: the AWS direction fails over exactly as slowly as AWS's DPD.
# Each change of path is logged as "<epoch ms> tunnel N" (or "none") on stdout. When no tunnel
# is up the route stays where it was (AWS has nowhere else to send it either).
set -uo pipefail

if (($# != 8)); then
  echo "usage: aws_vpc_router.sh NETWORK INTERVAL_MS VICI_1 GATEWAY_1 IF_1 VICI_2 GATEWAY_2 IF_2" >&2
  exit 2
fi
network=$1 interval_ms=$2
vici=("" "$3" "$6") gateway=("" "$4" "$7") ifname=("" "$5" "$8")
sleep_s=$(printf '0.%03d' "$((interval_ms % 1000))")
((interval_ms >= 1000)) && sleep_s=$((interval_ms / 1000)).$(printf '%03d' "$((interval_ms % 1000))")

# tunnel_state N: "up" when tunnel N's AWS endpoint has an INSTALLED CHILD_SA, "down" when it
# has none or its charon is gone (no socket, connection refused), "unknown" when the query
# timed out (a loaded machine; the tunnel keeps its last state).
tunnel_state() {
  local out rc
  [[ -S ${vici[$1]} ]] || { echo "down (no VICI socket)"; return; }
  out=$(timeout 3 swanctl --list-sas --raw --uri "unix://${vici[$1]}" 2>&1)
  rc=$?
  if ((rc == 124)); then
    echo unknown
  elif ((rc == 0)) && [[ $out == *state=INSTALLED* ]]; then
    echo up
  elif ((rc == 0)); then
    echo "down (no INSTALLED CHILD_SA)"
  else
    echo "down (swanctl: ${out%%$'\n'*})"
  fi
}

route_via() {
  ip route replace "$network" via "${gateway[$1]}" dev "${ifname[$1]}" onlink
}

trap 'exit 0' TERM INT
current=1
last=("" up up)
route_via 1
printf '%s tunnel 1 (initial)\n' "$(date +%s%3N)"
while :; do
  want="" why=""
  for n in 1 2; do
    state=$(tunnel_state "$n")
    [[ $state == unknown ]] && state=${last[$n]}
    last[n]=$state
    if [[ $state == up ]]; then want=$n; break; fi
    why+="tunnel $n $state; "
  done
  if [[ -n $want && $want != "$current" ]]; then
    if route_via "$want"; then
      printf '%s tunnel %s (%s)\n' "$(date +%s%3N)" "$want" "${why:-tunnel 1 up}"
      current=$want
    fi
  elif [[ -z $want && $current != none ]]; then
    printf '%s none (%sroute stays on tunnel %s)\n' "$(date +%s%3N)" "$why" "$current"
    current=none
  fi
  sleep "$sleep_s"
done
