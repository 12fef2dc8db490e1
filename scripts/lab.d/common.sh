# shellcheck shell=bash
# Shared helpers of scripts/lab: messages, state, namespaces, processes.
#
# State lives in LAB_STATE (/run/crossgate-lab): the work directory's path, one pid file per
# process the lab started, and lab.env (the variables `up` computed). The work directory
# (LAB_DIR, under /tmp) holds every generated file: configs, logs and one runtime directory per
# daemon instance, which is bind-mounted over /run inside that instance's mount namespace so
# that charon's compiled-in pid file and default VICI socket are private to the instance and
# still reachable from outside at $LAB_DIR/<instance>/run/.

#
# Several labs can run side by side: CROSSGATE_LAB_PREFIX (default cg-) prefixes every namespace
# name, and each instance has its own state directory (LAB_STATE, default /run/crossgate-lab for
# the prefix cg-, /run/crossgate-lab-<prefix> otherwise) and work directory
# (/tmp/crossgate-lab.<prefix>XXXXXX). Links are created inside the namespaces, so their names
# never meet those of another instance. Namespace names below are written without the prefix
# (appliance, aws-t1, ...); lab_ns adds it.

LAB_PREFIX=${CROSSGATE_LAB_PREFIX:-cg-}
if [[ ! $LAB_PREFIX =~ ^[a-z][a-z0-9]{0,7}-$ ]]; then
  printf 'lab: error: CROSSGATE_LAB_PREFIX must be 1-8 lower-case letters or digits (starting with a letter) followed by "-" (got "%s")\n' "$LAB_PREFIX" >&2
  exit 1
fi
if [[ $LAB_PREFIX == cg- ]]; then
  LAB_STATE=${LAB_STATE:-/run/crossgate-lab}
else
  LAB_STATE=${LAB_STATE:-/run/crossgate-lab-${LAB_PREFIX%-}}
fi
# The work directory's name pattern: /tmp/crossgate-lab.<prefix>XXXXXX.
# shellcheck disable=SC2034
LAB_DIR_PATTERN=/tmp/crossgate-lab.$LAB_PREFIX
# Every namespace the lab may create (down removes all of them, and any other <prefix>* too).
LAB_NS_INTERNET=${LAB_PREFIX}internet
LAB_NS_AWS_T1=${LAB_PREFIX}aws-t1
LAB_NS_AWS_T2=${LAB_PREFIX}aws-t2
LAB_NS_AZURE_NAT=${LAB_PREFIX}azure-nat
LAB_NS_APPLIANCE=${LAB_PREFIX}appliance
LAB_NS_AWS_VPC=${LAB_PREFIX}aws-vpc
LAB_NS_AZURE_PL=${LAB_PREFIX}azure-pl
LAB_NS_AZURE_DNS=${LAB_PREFIX}azure-dns
# shellcheck disable=SC2034
LAB_NAMESPACES=("$LAB_NS_INTERNET" "$LAB_NS_AWS_T1" "$LAB_NS_AWS_T2" "$LAB_NS_AZURE_NAT"
  "$LAB_NS_APPLIANCE" "$LAB_NS_AWS_VPC" "$LAB_NS_AZURE_PL" "$LAB_NS_AZURE_DNS")

# lab_ns_aws N: the namespace of tunnel N's AWS endpoint.
lab_ns_aws() { printf '%saws-t%s\n' "$LAB_PREFIX" "$1"; }

lab_say() { printf 'lab: %s\n' "$*"; }
lab_warn() { printf 'lab: warning: %s\n' "$*" >&2; }
lab_die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}

# lab_die_log LOG MESSAGE: lab_die, after the last lines of a daemon's LOG (a failed start
# outside `up` leaves the lab and its logs in place, but a test's exit removes them).
lab_die_log() {
  if [[ -s $1 ]]; then
    printf -- '--- %s (last lines)\n' "$1" >&2
    tail -n 20 "$1" >&2
  fi
  lab_die "$2"
}

# lab_now_ms: wall-clock milliseconds.
lab_now_ms() { date +%s%3N; }

lab_require_root() {
  [[ $(id -u) -eq 0 ]] || lab_die "needs root (network namespaces, mounts)"
}

lab_require_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || lab_die "missing program '$t' (see scripts/deps)"
  done
}

# lab_env_set KEY VALUE: records a variable in lab.env (values must not contain newlines).
lab_env_set() {
  local key=$1 value=$2
  [[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] || lab_die "bad state key '$key'"
  printf '%s=%q\n' "$key" "$value" >>"$LAB_STATE/lab.env"
  printf -v "$key" '%s' "$value"
}

# lab_env_load: loads lab.env; fails when no lab is up.
lab_env_load() {
  [[ -f $LAB_STATE/lab.env ]] || lab_die "no lab is up (run: scripts/lab up)"
  # shellcheck disable=SC1091
  source "$LAB_STATE/lab.env"
}

lab_is_up() { [[ -f $LAB_STATE/lab.env ]]; }

# lab_ns NAME: accepts "appliance" or "<prefix>appliance", prints the namespace name.
lab_ns() {
  local n=$1
  [[ $n == "$LAB_PREFIX"* ]] || n="$LAB_PREFIX$n"
  printf '%s\n' "$n"
}

lab_ns_exists() { [[ -e /run/netns/$1 ]]; }

# lab_nsrun NS RUNDIR CMD...: runs CMD in namespace NS with RUNDIR bind-mounted over /run in a
# private mount namespace (RUNDIR empty: no bind). With LAB_NSRUN_PLUGINS set, that directory
# is also bind-mounted over charon's plugin directory (see dataplane.sh). Execs all the way
# down, so the PID of this call is the PID of CMD.
lab_nsrun() {
  local ns=$1 rundir=$2
  shift 2
  if [[ -z $rundir ]]; then
    exec ip netns exec "$ns" "$@"
  fi
  # shellcheck disable=SC2016
  exec ip netns exec "$ns" unshare --mount --propagation private -- \
    /bin/sh -c 'mount --bind "$0" /run || exit 1
      if [ -n "$1" ]; then mount --bind "$1" /usr/lib/ipsec/plugins || exit 1; fi
      shift
      exec "$@"' "$rundir" "${LAB_NSRUN_PLUGINS:-}" "$@"
}

# lab_launch NAME NS RUNDIR LOG CMD...: starts a daemon in the background, detached from the
# terminal, and records its PID in $LAB_STATE/pids/NAME.pid (with its program name beside it,
# so a stale PID that was reused by another program is never signalled).
lab_launch() {
  local name=$1 ns=$2 rundir=$3 log=$4
  shift 4
  mkdir -p "$LAB_STATE/pids"
  (lab_close_fds && lab_nsrun "$ns" "$rundir" "$@") </dev/null >>"$log" 2>&1 &
  local pid=$!
  printf '%s %s\n' "$pid" "$(basename "$1")" >"$LAB_STATE/pids/$name.pid"
}

# lab_close_fds: closes every descriptor above 2, so that a daemon does not keep what its
# caller holds open (a test's lock file, a pipe a caller waits on).
lab_close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)) && { eval "exec $fd>&-" 2>/dev/null || true; }
  done
  return 0
}

# lab_pid NAME: prints the PID of a running lab process, or fails.
lab_pid() {
  local f=$LAB_STATE/pids/$1.pid pid prog
  [[ -f $f ]] || return 1
  read -r pid prog <"$f"
  lab_pid_is "$pid" "$prog" || return 1
  printf '%s\n' "$pid"
}

# lab_pid_is PID PROG: true when PID is alive and runs PROG (not a zombie).
lab_pid_is() {
  local pid=$1 prog=$2
  lab_pid_alive "$pid" || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */"$prog" ]] ||
    [[ $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) == *"$prog"* ]]
}

# lab_pid_alive PID: true when PID exists and is not a zombie.
lab_pid_alive() {
  local state
  state=$({ awk '{print $3}' <"/proc/$1/stat"; } 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# lab_stop_pid NAME [SIGNAL]: signals a lab process (default TERM) and waits until it is gone
# (TERM escalates to KILL after 3 s). Removes the pid file.
lab_stop_pid() {
  local name=$1 sig=${2:-TERM} f=$LAB_STATE/pids/$1.pid pid prog i
  [[ -f $f ]] || return 0
  read -r pid prog <"$f"
  if lab_pid_is "$pid" "$prog"; then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      lab_pid_is "$pid" "$prog" || break
      sleep 0.05
    done
    if lab_pid_is "$pid" "$prog"; then
      kill -s KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 40; i++)); do
        lab_pid_is "$pid" "$prog" || break
        sleep 0.05
      done
    fi
  fi
  rm -f "$f"
}

# lab_wait_for SECONDS DESCRIPTION CMD...: polls CMD every 50 ms until it succeeds.
lab_wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$(($(lab_now_ms) + timeout * 1000))
  until "$@" >/dev/null 2>&1; do
    if (($(lab_now_ms) > deadline)); then
      lab_warn "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.05
  done
}

# lab_wait_daemon NAME SECONDS DESCRIPTION CMD...: like lab_wait_for, but gives up at once when
# the lab process NAME has exited.
lab_wait_daemon() {
  local name=$1 timeout=$2 what=$3
  shift 3
  local deadline=$(($(lab_now_ms) + timeout * 1000))
  local pid _
  read -r pid _ <"$LAB_STATE/pids/$name.pid" 2>/dev/null || pid=
  until "$@" >/dev/null 2>&1; do
    # Alive is enough here: until the launcher's subshell has exec'd, the PID does not run the
    # program yet, and the PID was written just now, so it cannot have been reused.
    if [[ -z $pid ]] || ! lab_pid_alive "$pid"; then
      lab_warn "$name exited while waiting for $what"
      return 1
    fi
    if (($(lab_now_ms) > deadline)); then
      lab_warn "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.05
  done
}

lab_is_doc_ip() {
  [[ $1 =~ ^(192\.0\.2|198\.51\.100|203\.0\.113)\.([0-9]+)$ ]]
}

lab_is_ipv4() {
  local ip=$1 o
  [[ $ip =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  IFS=. read -r -a o <<<"$ip"
  for ip in "${o[@]}"; do ((10#$ip <= 255)) || return 1; done
}
