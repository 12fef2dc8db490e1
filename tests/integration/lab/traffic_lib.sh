# shellcheck shell=bash
# Traffic through the lab's tunnels for the dataplane tests (sourced after lib.sh): pings of the
# AWS inside addresses and SHA-256-checked TCP transfers (lab_traffic.py), the sink on the AWS
# endpoint's inside address, the source on the appliance.

T_TRAFFIC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab_traffic.py

# t_aws_inside N: AWS's inside address of tunnel N (no prefix).
t_aws_inside() {
  local v="LAB_T$1_AWS_INSIDE"
  printf '%s\n' "${!v%/*}"
}

# t_ping N [COUNT]: the appliance pings AWS's inside address of tunnel N through its TUN.
t_ping() {
  "$T_LAB" exec appliance ping -q -n -c "${2:-3}" -i 0.2 -W 1 "$(t_aws_inside "$1")"
}

t_ping_once() { "$T_LAB" exec appliance ping -q -n -c 1 -W 1 "$(t_aws_inside "$1")"; }

# t_xfer_start N TAG MODE ARGS...: starts a transfer through tunnel N (sink first); MODE source
# MBYTES | paced SECONDS KIB_PER_TICK. Outputs go to $T_SCRATCH/TAG.{sink,src}.
t_xfer_start() {
  local n=$1 tag=$2 addr port
  shift 2
  addr=$(t_aws_inside "$n")
  port=$((5000 + n))
  "$T_LAB" exec "aws-t$n" python3 "$T_TRAFFIC" sink "$addr" "$port" 300 >"$T_SCRATCH/$tag.sink" 2>&1 &
  printf '%s\n' "$!" >"$T_SCRATCH/$tag.sinkpid"
  t_wait 10 grep -q listening "$T_SCRATCH/$tag.sink" || {
    cat "$T_SCRATCH/$tag.sink"
    t_fail "the sink in aws-t$n did not start"
  }
  "$T_LAB" exec appliance python3 "$T_TRAFFIC" "$1" "$addr" "$port" "${@:2}" \
    >"$T_SCRATCH/$tag.src" 2>&1 &
  printf '%s\n' "$!" >"$T_SCRATCH/$tag.srcpid"
}

# t_xfer_check TAG DESCRIPTION: waits for both ends; the digests must match. Prints the size,
# the duration and the rate.
t_xfer_check() {
  local tag=$1 what=$2 sent got secs bytes
  wait "$(<"$T_SCRATCH/$tag.srcpid")" || true
  wait "$(<"$T_SCRATCH/$tag.sinkpid")" || true
  sent=$(grep '^sha256' "$T_SCRATCH/$tag.src" || true)
  got=$(grep '^sha256' "$T_SCRATCH/$tag.sink" || true)
  if [[ -z $sent || $sent != "$got" ]]; then
    echo "source: $(tr '\n' ' ' <"$T_SCRATCH/$tag.src")"
    echo "sink:   $(tr '\n' ' ' <"$T_SCRATCH/$tag.sink")"
    t_fail "$what: sent and received data differ"
  fi
  bytes=$(awk '{print $2}' <<<"$sent")
  secs=$(sed -n 's/^seconds //p' "$T_SCRATCH/$tag.sink")
  t_ok "$what: $((bytes / 1048576)) MiB intact (sha256 $(awk '{print substr($3, 1, 16)}' <<<"$sent")...) in ${secs} s, $(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? b * 8 / s / 1e6 : 0) }') Mbit/s"
}

# t_transfer N MBYTES DESCRIPTION: one full-speed transfer through tunnel N.
t_transfer() {
  t_xfer_start "$1" "xfer-t$1" source "$2"
  t_xfer_check "xfer-t$1" "$3"
}

# t_wait_flow N SECONDS: polls a ping through tunnel N until it answers; prints the ms waited.
t_wait_flow() {
  local start deadline
  start=$(t_now_ms)
  deadline=$((start + $2 * 1000))
  until t_ping_once "$1" >/dev/null 2>&1; do
    (($(t_now_ms) < deadline)) || return 1
    sleep 0.1
  done
  printf '%s\n' "$(($(t_now_ms) - start))"
}

# t_esp_alg NODE REMOTE: "<encr-alg>-<keysize>/<integ-alg>" of NODE's CHILD_SA with REMOTE.
t_esp_alg() {
  local sa
  sa=$(t_sa_up "$1" "$2") || return 1
  printf '%s-%s/%s\n' "$(t_field "$sa" child-encr-alg)" "$(t_field "$sa" child-encr-keysize)" \
    "$(t_field "$sa" child-integ-alg || echo none)"
}
