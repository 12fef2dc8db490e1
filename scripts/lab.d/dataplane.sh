# shellcheck shell=bash
# crossgate's own dataplane in the lab: crossgate-dataplane plus stock charon loading
# libstrongswan-crossgate.so (kernel-ipsec and socket over the dataplane's protocol socket).
#
# - The appliance (LAB_APP_DATAPLANE=crossgate, the default): crossgate-dataplane owns UDP 500
#   and 4500 on the WAN address and creates one TUN per tunnel of the appliance's config
#   (--config, the same file crossgated reads). charon loads the plugin instead of
#   kernel-libipsec and socket-default. LAB_APP_DATAPLANE=libipsec keeps kernel-libipsec.
# - The AWS side in the appliance-to-appliance mode (LAB_PEER=crossgate): the same pair in
#   cg-aws-t1/t2, responders with AWS's settings, the TUN ipsec0 carrying AWS's inside .1/30.
#
# strongSwan 5.9.8 loads plugins only from its compiled-in directory (/usr/lib/ipsec/plugins;
# there is no plugindir setting, only the test-only add_path()). Every charon that loads the
# plugin therefore runs with $LAB_DIR/plugins (Debian's plugins plus ours) bind-mounted over
# that directory, inside the private mount namespace it already has for /run (lab_nsrun).
# Each dataplane's sockets are the defaults under /run, i.e. $LAB_DIR/<instance>/run/crossgate.

LAB_SYSTEM_PLUGIN_DIR=/usr/lib/ipsec/plugins
LAB_PLUGIN_NAME=libstrongswan-crossgate.so

# lab_plugin_file: the plugin (CROSSGATE_PLUGIN, or <build>/lib/ipsec/plugins next to the
# binaries' <build>/bin).
lab_plugin_file() {
  local f=${CROSSGATE_PLUGIN:-$(dirname "$CROSSGATE_BIN")/lib/ipsec/plugins/$LAB_PLUGIN_NAME}
  [[ -f $f ]] || lab_die "$f not found (build the strongswan_crossgate target, or set CROSSGATE_PLUGIN)"
  printf '%s\n' "$f"
}

# lab_plugin_dir_prepare: $LAB_DIR/plugins = Debian's charon plugins plus ours (copies: the
# directory replaces /usr/lib/ipsec/plugins, so links into it would point at themselves).
lab_plugin_dir_prepare() {
  local dir=$LAB_DIR/plugins
  [[ -f $dir/$LAB_PLUGIN_NAME ]] && return 0
  mkdir -p "$dir"
  cp -p "$LAB_SYSTEM_PLUGIN_DIR"/*.so "$dir/"
  cp -p "$(lab_plugin_file)" "$dir/$LAB_PLUGIN_NAME"
}

# lab_crossgate_load_list LIST: a charon plugin list with crossgate providing kernel-ipsec and
# socket: kernel-libipsec and socket-default removed, crossgate placed before kernel-netlink
# (which then only provides kernel-net).
lab_crossgate_load_list() {
  local p out=()
  for p in $1; do
    case $p in
      kernel-libipsec | socket-default | crossgate) ;;
      kernel-netlink) out+=(crossgate kernel-netlink) ;;
      *) out+=("$p") ;;
    esac
  done
  [[ " ${out[*]} " == *" crossgate "* ]] || out+=(crossgate)
  printf '%s\n' "${out[*]}"
}

# lab_crossgate_charon_lines LIST: the strongswan.conf lines (inside charon { }) that make a
# charon use crossgate-dataplane; LIST is the plugin list it would load otherwise.
# lab_libipsec_load_list LIST: the reverse of lab_crossgate_load_list, for an appliance without
# crossgate-dataplane (--appliance-dataplane libipsec): kernel-libipsec and socket-default in place
# of the crossgate plugin.
lab_libipsec_load_list() {
  local p out=()
  for p in $1; do
    case $p in
      crossgate | kernel-libipsec | socket-default) ;;
      kernel-netlink) out+=(kernel-libipsec kernel-netlink socket-default) ;;
      *) out+=("$p") ;;
    esac
  done
  printf '%s\n' "${out[*]}"
}

lab_crossgate_charon_lines() {
  cat <<EOF
  load_modular = no
  load = $(lab_crossgate_load_list "$1")
  plugins {
    crossgate {
      socket = /run/crossgate/dataplane.sock
    }
  }
EOF
}

# lab_product_load_list: the plugin list of the product's strongswan.conf fragment(s)
# (ikev2/conf/*.conf), or the stand-in's list.
lab_product_load_list() {
  local f list=""
  for f in "$LAB_ROOT"/ikev2/conf/*.conf; do
    [[ -f $f ]] || continue
    list=$(sed -n 's/^[[:space:]]*load[[:space:]]*=[[:space:]]*\([a-z].*\)$/\1/p' "$f" | tail -n 1)
    [[ -n $list ]] && break
  done
  printf '%s\n' "${list:-$LAB_CHARON_PLUGINS}"
}

# lab_dp_start NAME NS INSTANCE_DIR ARGS...: starts crossgate-dataplane as lab process NAME
# with INSTANCE_DIR/run as /run, waits for its protocol socket.
lab_dp_start() {
  local name=$1 ns=$2 dir=$3
  shift 3
  if lab_pid "$name" >/dev/null; then
    lab_say "$name is already running"
    return 0
  fi
  mkdir -p "$dir/run/crossgate"
  rm -f "$dir/run/crossgate/dataplane.sock" "$dir/run/crossgate/dataplane-stats.sock"
  lab_launch "$name" "$ns" "$dir/run" "$dir/dataplane.log" \
    "$(lab_crossgate_bin crossgate-dataplane)" --log-level info "$@"
  lab_wait_daemon "$name" 20 "crossgate-dataplane's socket in $ns" \
    test -S "$dir/run/crossgate/dataplane.sock" ||
    lab_die_log "$dir/dataplane.log" "crossgate-dataplane did not start in $ns (see $dir/dataplane.log)"
}

# lab_dp_wait_tun NS IFNAME CIDR: waits until the dataplane's TUN carries its address.
lab_dp_wait_tun() {
  lab_wait_for 10 "$2 with $3 in $1" lab_dp_has_addr "$1" "$2" "$3" ||
    lab_die "crossgate-dataplane created no $2 with $3 in $1"
}

lab_dp_has_addr() {
  ip -n "$1" -4 -o addr show dev "$2" 2>/dev/null | awk '{print $4}' | grep -qx "$3"
}

# ---- the appliance ---------------------------------------------------------------------------

lab_app_dataplane_start() {
  local dir n
  dir=$(lab_app_dir)
  lab_dp_start dataplane "$LAB_NS_APPLIANCE" "$dir" --listen "$LAB_APPLIANCE_WAN_IP" \
    --config "$dir/etc/crossgate.toml"
  for n in 1 2; do
    lab_dp_wait_tun "$LAB_NS_APPLIANCE" "$(lab_app_tun "$n")" "$(lab_tvar "$n" CUSTOMER_INSIDE)"
  done
}

lab_app_dataplane_stop() { lab_stop_pid dataplane "${1:-TERM}"; }

# ---- the AWS side in the appliance-to-appliance mode ------------------------------------------

lab_aws_dataplane_start() {
  local n=$1 dir
  dir=$(lab_aws_dir "$n")
  lab_dp_start "aws-t$n-dataplane" "$(lab_ns_aws "$n")" "$dir" --listen "$(lab_tvar "$n" AWS_IP)" \
    --tunnel "ipsec0:1:$(lab_tvar "$n" AWS_INSIDE):$(lab_tvar "$n" MTU)"
  lab_dp_wait_tun "$(lab_ns_aws "$n")" ipsec0 "$(lab_tvar "$n" AWS_INSIDE)"
}

lab_aws_dataplane_stop() { lab_stop_pid "aws-t$1-dataplane" "${2:-TERM}"; }

# lab_dp_stats NAME: the JSON counters of a lab dataplane (dataplane | aws-t1-dataplane | ...).
lab_dp_stats() {
  local dir sock
  case $1 in
    dataplane) dir=$(lab_app_dir) ;;
    aws-t[12]-dataplane) dir=$(lab_aws_dir "${1:5:1}") ;;
    *) lab_die "no dataplane named '$1' (dataplane, aws-t1-dataplane, aws-t2-dataplane)" ;;
  esac
  sock=$dir/run/crossgate/dataplane-stats.sock
  [[ -S $sock ]] || lab_die "$1 is not running (no $sock)"
  "$(lab_crossgate_bin crossgate)" stats dataplane --socket "$sock" --json
}
