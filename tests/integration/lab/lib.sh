# shellcheck shell=bash
# Helpers for the lab-based integration tests (sourced). Every check prints what it checks and
# its result; t_fail ends the test with a non-zero status (the EXIT trap takes the lab down).

T_ROOT=${CROSSGATE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
T_LAB=$T_ROOT/scripts/lab
# The lab instance (see scripts/lab.d/common.sh): CROSSGATE_LAB_PREFIX and LAB_STATE as there.
T_PREFIX=${CROSSGATE_LAB_PREFIX:-cg-}
if [[ $T_PREFIX == cg- ]]; then
  T_STATE=${LAB_STATE:-/run/crossgate-lab}
else
  T_STATE=${LAB_STATE:-/run/crossgate-lab-${T_PREFIX%-}}
fi
export CROSSGATE_LAB_PREFIX=$T_PREFIX LAB_STATE=$T_STATE

t_now_ms() { date +%s%3N; }
t_say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
t_fail() {
  printf '[%s] FAIL: %s\n' "$(date +%T)" "$*"
  t_diagnostics
  exit 1
}
t_ok() { printf '[%s] ok: %s\n' "$(date +%T)" "$*"; }

# t_check DESCRIPTION CMD...: runs CMD; prints ok, or CMD's output and fails the test.
t_check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then
    t_ok "$what"
  else
    [[ -z $out ]] || printf '%s\n' "$out"
    t_fail "$what"
  fi
}

# t_expect_eq DESCRIPTION EXPECTED ACTUAL
t_expect_eq() {
  if [[ $2 == "$3" ]]; then t_ok "$1: $3"; else t_fail "$1: expected '$2', got '$3'"; fi
}

# On failure: what the lab and the daemons saw.
t_diagnostics() {
  [[ -f $T_STATE/lab.env ]] || return 0
  echo "---- scripts/lab status"
  "$T_LAB" status 2>&1 || true
  local dir f
  dir=$(sed -n 's/^LAB_DIR=//p' "$T_STATE/lab.env")
  for f in "$dir"/appliance/crossgated.log "$dir"/appliance/charon.log "$dir"/aws-t1/charon.log \
    "$dir"/aws-t2/charon.log; do
    [[ -f $f ]] || continue
    echo "---- ${f#"$dir"/} (last 40 lines)"
    tail -n 40 "$f"
  done
}

# t_lab_lock: one user of a lab instance (prefix) at a time on this machine. CTest's
# RESOURCE_LOCK only orders the tests of one ctest run, not runs in other build trees.
T_LOCK_FILE=/run/lock/crossgate-lab.${T_PREFIX%-}.lock
T_LOCK_WAIT_S=${T_LOCK_WAIT_S:-400}
t_lab_lock() {
  [[ -n ${T_LOCK_FD:-} ]] && return 0
  mkdir -p "$(dirname "$T_LOCK_FILE")"
  exec {T_LOCK_FD}>>"$T_LOCK_FILE"
  if ! flock -n "$T_LOCK_FD"; then
    t_say "waiting for another lab test to finish (lock $T_LOCK_FILE)"
    flock -w "$T_LOCK_WAIT_S" "$T_LOCK_FD" || t_fail "the lab stayed busy for ${T_LOCK_WAIT_S} s"
  fi
}

# t_lab_start ARGS...: a fresh lab (anything left over is removed first); down on exit.
t_lab_start() {
  t_lab_lock
  "$T_LAB" down >/dev/null 2>&1 || true
  trap 't_lab_stop' EXIT
  "$T_LAB" up "$@" || t_fail "scripts/lab up $*"
  # shellcheck disable=SC1091
  source "$T_STATE/lab.env"
}

# Also removes $T_SCRATCH (a test's temporary directory) when set.
t_lab_stop() {
  local status=$?
  trap - EXIT
  "$T_LAB" down >/dev/null 2>&1 || echo "scripts/lab down failed"
  [[ -z ${T_SCRATCH:-} ]] || rm -rf -- "$T_SCRATCH"
  exit "$status"
}

# t_wait SECONDS CMD...: polls CMD every 100 ms until it succeeds; prints nothing.
t_wait() {
  local deadline=$(($(t_now_ms) + $1 * 1000))
  shift
  until "$@" >/dev/null 2>&1; do
    (($(t_now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

# ---- IKE state from swanctl -----------------------------------------------------------------

# t_sas NODE: one line per IKE_SA of NODE's charon (appliance, aws-t1, aws-t2):
#   ike=<conn> uniqueid=<n> state=<s> remote-host=<ip> ... child-state=<s> child-encap=<yes|no> ...
# (IKE fields as swanctl names them; fields of the IKE_SA's first CHILD_SA prefixed "child-").
t_sas() {
  "$T_LAB" exec "$1" swanctl --list-sas --pretty 2>/dev/null | awk '
    /^list-sa event \{/ { depth = 1; next }
    /\{$/ {
      depth++
      if (depth == 2) { rec = "ike=" $1; child = 0 }
      if (depth == 4) child++
      next
    }
    /^ *\}$/ {
      if (depth == 2 && rec != "") { print rec; rec = "" }
      depth--
      next
    }
    / = \[$/ { inlist = 1; next }
    inlist && /\]$/ { inlist = 0; next }
    inlist { next }
    / = / {
      key = $1; value = $3
      if (depth == 2) rec = rec " " key "=" value
      else if (depth == 4 && child == 1) rec = rec " child-" key "=" value
    }'
}

# t_field RECORD KEY: the value of KEY in a t_sas line.
t_field() {
  local kv
  for kv in $1; do
    [[ $kv == "$2="* ]] && { printf '%s\n' "${kv#*=}"; return 0; }
  done
  return 1
}

# t_sa_up NODE [REMOTE_HOST]: prints the ESTABLISHED IKE_SA (with an INSTALLED CHILD_SA) of
# NODE, optionally the one whose remote host is REMOTE_HOST; fails if there is none.
t_sa_up() {
  local line
  while IFS= read -r line; do
    [[ $(t_field "$line" state) == ESTABLISHED ]] || continue
    [[ $(t_field "$line" child-state) == INSTALLED ]] || continue
    if [[ -n ${2:-} ]]; then [[ $(t_field "$line" remote-host) == "$2" ]] || continue; fi
    printf '%s\n' "$line"
    return 0
  done < <(t_sas "$1")
  return 1
}

# ---- crossgate status ------------------------------------------------------------------------

t_status_json() { "$T_LAB" crossgate status --json; }

# t_tunnel_field NAME JQ_EXPR: a field of tunnel NAME in crossgate status --json.
t_tunnel_field() {
  t_status_json | jq -er --arg n "$1" ".tunnels[] | select(.name == \$n) | $2"
}

t_tunnel_is_up() { [[ $(t_tunnel_field "$1" .up) == true ]]; }
t_tunnel_is_down() { [[ $(t_tunnel_field "$1" .up) == false ]]; }
t_both_up() {
  t_status_json | jq -e '(.tunnels | length) == 2 and all(.tunnels[]; .up == true)' >/dev/null
}
