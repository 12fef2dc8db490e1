#!/usr/bin/env bash
# The lab itself (needs root):
# 1. an AWS file with public outside addresses: the lab maps them onto documentation addresses,
#    says so, places no other addresses in its namespaces, and both tunnels come up on the
#    mapped addresses; `status` and `exec` work;
# 2. `down` removes every namespace, process and file;
# 3. an `up` that fails half-way (crossgated exits at once) removes everything it built.
set -euo pipefail
# shellcheck disable=SC1091
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
data=$(cd "$(dirname "$0")" && pwd)/data
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }
bin=${CROSSGATE_BIN:-$T_ROOT/build/bin}
scratch=$(mktemp -d)
T_SCRATCH=$scratch  # removed by t_lab_stop
export T_SCRATCH
trap 'rm -rf "$scratch"' EXIT
workdir_pattern=/tmp/crossgate-lab.$T_PREFIX

# t_nothing_left WORK_DIR: nothing of a lab remains: namespaces, state, its work directory,
# charon/crossgated processes started with the lab's files.
t_nothing_left() {
  local ns pid
  ns=$(ip netns list | awk '{print $1}' | grep "^$T_PREFIX" || true)
  [[ -z $ns ]] || { echo "namespaces left: $ns"; return 1; }
  [[ ! -e $T_STATE ]] || { echo "$T_STATE left"; return 1; }
  [[ $1 == "$workdir_pattern"* ]] || { echo "unexpected work directory '$1'"; return 1; }
  [[ ! -e $1 ]] || { echo "work directory $1 left"; return 1; }
  for ns in /etc/netns/"$T_PREFIX"*; do
    [[ ! -e $ns ]] || { echo "$ns left"; return 1; }
  done
  for pid in $(pgrep -x charon; pgrep -x crossgated; pgrep -x crossgate-dns; pgrep -x unbound); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qF "STRONGSWAN_CONF=$workdir_pattern" ||
      tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$workdir_pattern"; then
      echo "lab process left: $pid"
      return 1
    fi
  done
}

# ---- 1. address mapping -------------------------------------------------------------------
t_lab_lock
t_say "lab up with public outside addresses"
"$T_LAB" down >/dev/null 2>&1 || true
trap 't_lab_stop' EXIT
"$T_LAB" up --aws-file "$data/public-addresses.txt" --wait 15 >"$scratch/up.out" 2>&1 || {
  cat "$scratch/up.out"
  t_fail "scripts/lab up with public-addresses.txt"
}
cat "$scratch/up.out"
for mapping in "54.255.135.113 -> 203.0.113." "13.209.231.134 -> 198.51.100." "52.79.10.20 -> 198.51.100."; do
  t_check "up printed the mapping '$mapping...'" grep -qF "$mapping" "$scratch/up.out"
done
# shellcheck disable=SC1091
source "$T_STATE/lab.env"
is_doc() { [[ $1 =~ ^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$ ]]; }
for a in "$LAB_CUSTOMER_IP" "$LAB_AWS_IP_1" "$LAB_AWS_IP_2"; do
  t_check "lab address $a is a documentation address" is_doc "$a"
done
only_private_addresses() {
  local ns a bad=""
  for ns in $(ip netns list | awk '{print $1}' | grep "^$T_PREFIX"); do
    for a in $(ip -n "$ns" -4 -o addr show | awk '{print $4}' | cut -d/ -f1); do
      [[ $a =~ ^(10\.|127\.|169\.254\.|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.) ]] || bad+=" $ns:$a"
    done
  done
  [[ -z $bad ]] || { echo "addresses outside 10/8, link-local and documentation ranges:$bad"; return 1; }
}
t_check "namespaces hold only 10.x, 169.254.x and documentation addresses" only_private_addresses
t_check "the tunnels run on the mapped AWS addresses" t_sa_up appliance "$LAB_AWS_IP_1"
t_check "... both of them" t_sa_up appliance "$LAB_AWS_IP_2"
t_expect_eq "aws-t1 sees the mapped customer address as IKE id" "$LAB_CUSTOMER_IP" \
  "$(t_field "$(t_sa_up aws-t1 "$LAB_CUSTOMER_IP")" remote-id)"
"$T_LAB" status >"$scratch/status.out" 2>&1 || { cat "$scratch/status.out"; t_fail "scripts/lab status"; }
t_check "status lists the AWS endpoints' SAs" grep -q 'ESTABLISHED' "$scratch/status.out"
t_check "status names the mapping" grep -qF "13.209.231.134 ->" "$scratch/status.out"
t_expect_eq "exec runs in the namespace" "10.0.0.4/24" \
  "$("$T_LAB" exec appliance ip -4 -o addr show dev eth0 | awk '{print $4}')"

# ---- 2. down ----------------------------------------------------------------------------------
t_say "lab down"
"$T_LAB" down
trap 'rm -rf "$scratch"' EXIT
t_check "down left nothing behind" t_nothing_left "$LAB_DIR"

# ---- 3. a failed up -------------------------------------------------------------------------
t_say "lab up with a crossgated that exits at once"
mkdir -p "$scratch/bin"
ln -s "$bin/crossgate" "$scratch/bin/crossgate"
ln -s "$bin/crossgate-dataplane" "$scratch/bin/crossgate-dataplane"
ln -s "$bin/crossgate-dns" "$scratch/bin/crossgate-dns"
export CROSSGATE_PLUGIN=${CROSSGATE_PLUGIN:-$(dirname "$bin")/lib/ipsec/plugins/libstrongswan-crossgate.so}
printf '#!/bin/sh\necho "crossgated: refusing to start (test)" >&2\nexit 1\n' >"$scratch/bin/crossgated"
chmod +x "$scratch/bin/crossgated"
if CROSSGATE_BIN=$scratch/bin "$T_LAB" up >"$scratch/up2.out" 2>&1; then
  "$T_LAB" down >/dev/null 2>&1 || true
  t_fail "up succeeded although crossgated could not start"
fi
t_check "the failed up said why" grep -q 'crossgated did not start' "$scratch/up2.out"
failed_dir=$(grep -o "${workdir_pattern}[A-Za-z0-9]*" "$scratch/up2.out" | head -n 1)
t_check "the failed up left nothing behind" t_nothing_left "$failed_dir"

t_say "PASS"
