# shellcheck shell=bash
# The AWS side of the lab: one stock strongSwan charon per tunnel (cg-aws-t1, cg-aws-t2),
# configured the way AWS configures a Site-to-Site VPN tunnel endpoint:
# - responder only (AWS's default startup action "add"; --aws-startup-action start makes it
#   initiate, as AWS does with "start"), accepts IKE only from the customer gateway's IP;
# - IKEv2, PSK, its own id = its outside IP, the customer's id must be the customer public IP;
# - proposals: the file's first (AWS picks the lowest configured value, whatever the customer
#   offers), then everything else AWS accepts by default (AES-CBC/GCM 128/256, SHA1/SHA2,
#   DH 2, 14-24; 5 too for phase 2), PFS on CHILD rekeys;
# - lifetimes from the file (28800/3600) as hard limits, AWS's default rekey margin (270 s)
#   and fuzz (100 %);
# - DPD every 10 s, peer declared dead 30 s after the first unanswered DPD (AWS's timeout), then
#   AWS's DPD timeout action (default clear);
# - one SA pair per tunnel (a new IKE_SA from the customer replaces the old one);
# - ESP through kernel-libipsec (this kernel has no XFRM): its TUN ipsec0 carries AWS's inside
#   address .1/30 and keeps the MTU kernel-libipsec gives it, 1400 (see LAB_LIBIPSEC_MTU).
# The appliance-to-appliance mode (LAB_PEER=crossgate, `up --peer crossgate`) keeps all of this
# but carries ESP with crossgate-dataplane and the crossgate plugin instead (see dataplane.sh):
# the dataplane's TUN ipsec0 (if_id 1) carries the inside .1/30.
# --aws-esp-lifetime S (LAB_AWS_ESP_LIFETIME) replaces the file's CHILD_SA lifetime; below
# 3 x 270 s the rekey margin shrinks to a third of it (30 s: rekey after 20-25 s).

LAB_AWS_REKEY_MARGIN_S=270
LAB_AWS_DPD_DELAY_S=10
# AWS's DPD timeout: IKEv2 DPD gives up after retransmit_tries retransmissions spaced
# retransmit_timeout apart (retransmit_base 1): 6 x 5 s = 30 s after the first DPD.
LAB_AWS_RETRANSMIT_TIMEOUT_S=5
LAB_AWS_RETRANSMIT_TRIES=5

LAB_AWS_IKE_DH="modp1024-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384-ecp521"
LAB_AWS_IKE_DH+="-modp1024s160-modp2048s224-modp2048s256"
LAB_AWS_ESP_DH="modp1024-modp1536-modp2048-modp3072-modp4096-modp6144-modp8192-ecp256-ecp384"
LAB_AWS_ESP_DH+="-ecp521-modp1024s160-modp2048s224-modp2048s256"
LAB_AWS_IKE_ALL="aes128-aes256-sha1-sha256-sha384-sha512-$LAB_AWS_IKE_DH"
LAB_AWS_IKE_ALL+=", aes128gcm16-aes256gcm16-prfsha1-prfsha256-prfsha384-prfsha512-$LAB_AWS_IKE_DH"
LAB_AWS_ESP_ALL="aes128-aes256-sha1-sha256-sha384-sha512-$LAB_AWS_ESP_DH"
LAB_AWS_ESP_ALL+=", aes128gcm16-aes256gcm16-$LAB_AWS_ESP_DH"

# The tunnel MTU of a kernel-libipsec AWS endpoint. strongSwan 5.9.8 creates ipsec0 with MTU
# 1400 (TUN_DEFAULT_MTU in kernel_libipsec_plugin.c; no setting changes it), and tun_device.c
# reads every packet with a buffer of the size set_mtu() cached then (read_packet():
# chunk_alloca(get_mtu())), not the interface's current MTU. Raised with `ip link` to AWS's 1436,
# the kernel hands libipsec packets of up to 1436 bytes, read() keeps the first 1400, and
# ip_packet_create() only trims to the IP total length, never checks that the data holds it:
# libipsec encrypts a truncated packet whose header still says 1401-1436, and the peer drops it
# (crossgate-dataplane counts it as malformed). So ipsec0 stays at 1400: the endpoint's kernel
# fragments a larger packet before encryption (as AWS's configuration files ask of a gateway) or
# answers a DF one with ICMP "fragmentation needed" (MTU 1400). Inbound, libipsec writes decrypted packets of any
# size (up to the appliance's 1436) to the TUN: the MTU limits only what it reads.
#
# TCP retransmissions against this stand-in (e.g. ~10,000-25,000 in 5 s of `iperf3 -R` from the
# AWS VPC client) are its own, not the appliance's: kernel-libipsec moves every packet through
# one thread per step (charon's receiver: one recvmsg() per ESP datagram; libipsec's processor:
# one decryption and one TUN write per packet; its router: one read() per packet from ipsec0),
# a few hundred Mbit/s here. TCP's congestion control raises its rate until packets are lost,
# and they are lost in front of those threads: Azure -> AWS in charon's UDP 4500 socket (the
# kernel's default 208 KiB receive buffer; socket-default has no setting for it, and
# net.core.rmem_default cannot be changed per namespace): UdpRcvbufErrors in aws-tN equals the
# sender's TcpRetransSegs; AWS -> Azure in ipsec0's 500-packet queue (its TX dropped counter
# equals the VPC client's retransmissions). Against `--peer crossgate` the same transfers
# retransmit next to nothing.
LAB_LIBIPSEC_MTU=1400

# The plugins stock charon needs here (kernel-libipsec before kernel-netlink so that it
# provides kernel-ipsec; kernel-netlink still provides kernel-net).
LAB_CHARON_PLUGINS="random nonce openssl aes sha1 sha2 hmac gmp curve25519 kdf"
LAB_CHARON_PLUGINS+=" kernel-libipsec kernel-netlink socket-default vici"

# kernel-libipsec routes all traffic (remote traffic selector 0.0.0.0/0) into its TUN through
# routing table 220 and relies on an exclude route for the peer, which a second SA to the same
# TUN can remove: charon's own packets (IKE and ESP-in-UDP) are then encapsulated again, in an
# endless loop. Marking charon's packets and keeping them out of table 220 prevents that.
LAB_CHARON_FWMARK_PLUGINS="    socket-default {
      fwmark = 0x42
    }
    kernel-netlink {
      fwmark = !0x42
    }"

# lab_aws_dir N: the instance directory of tunnel N's AWS endpoint.
lab_aws_dir() { printf '%s/aws-t%s\n' "$LAB_DIR" "$1"; }

# lab_swanctl_dir DIR: a swanctl directory (swanctl.conf plus the credential folders it scans).
lab_swanctl_dir() {
  local d
  for d in x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
    mkdir -p "$1/swanctl/$d"
  done
}

# lab_aws_write_strongswan_conf N
lab_aws_write_strongswan_conf() {
  local dir load=$LAB_CHARON_PLUGINS plugins=$LAB_CHARON_FWMARK_PLUGINS extra=""
  dir=$(lab_aws_dir "$1")
  if [[ $LAB_PEER == crossgate ]]; then
    load=$(lab_crossgate_load_list "$LAB_CHARON_PLUGINS")
    # as on the appliance: a missing plugin symbol fails at start, not mid-operation
    extra="
  dlopen_use_rtld_now = yes"
    plugins="    crossgate {
      socket = /run/crossgate/dataplane.sock
    }"
  fi
  cat >"$dir/strongswan.conf" <<EOF
# AWS tunnel endpoint $1 of the crossgate lab (generated by scripts/lab).
charon {
  load_modular = no
  load = $load$extra
  install_routes = no
  install_virtual_ip = no
  retransmit_timeout = $LAB_AWS_RETRANSMIT_TIMEOUT_S
  retransmit_base = 1
  retransmit_tries = $LAB_AWS_RETRANSMIT_TRIES
  plugins {
    vici {
      socket = unix:///run/charon.vici
    }
$plugins
  }
  filelog {
    stderr {
      default = 1
      flush_line = yes
      time_format = %H:%M:%S
      ike_name = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
}
EOF
}

# lab_aws_write_swanctl_conf N: from LAB_T<N>_* (see lab_tunnels_load) and the PSK file.
lab_aws_write_swanctl_conf() {
  local n=$1 dir aws_ip ike esp ike_life esp_life esp_margin esp_rand psk start_action=none dpd_action
  local if_ids=""
  dir=$(lab_aws_dir "$n")
  aws_ip=$(lab_tvar "$n" AWS_IP)
  ike=$(lab_tvar "$n" IKE_PROPOSAL)
  esp=$(lab_tvar "$n" ESP_PROPOSAL)
  ike="${ike:+$ike, }$LAB_AWS_IKE_ALL"
  esp="${esp:+$esp, }$LAB_AWS_ESP_ALL"
  # Restricted tunnel options replace the defaults (the file's algorithms included).
  [[ -z ${LAB_AWS_IKE_PROPOSALS:-} ]] || ike=$LAB_AWS_IKE_PROPOSALS
  [[ -z ${LAB_AWS_ESP_PROPOSALS:-} ]] || esp=$LAB_AWS_ESP_PROPOSALS
  ike_life=$(lab_tvar "$n" IKE_LIFETIME)
  esp_life=$(lab_tvar "$n" ESP_LIFETIME)
  [[ -z ${LAB_AWS_ESP_LIFETIME:-} ]] || esp_life=$LAB_AWS_ESP_LIFETIME
  esp_margin=$LAB_AWS_REKEY_MARGIN_S esp_rand=$LAB_AWS_REKEY_MARGIN_S
  if ((esp_life < 3 * esp_margin)); then
    esp_margin=$((esp_life / 3)) esp_rand=$((esp_life / 6))
  fi
  [[ $LAB_PEER == crossgate ]] && if_ids="
        if_id_in = 1
        if_id_out = 1"
  dpd_action=$LAB_AWS_DPD_ACTION
  [[ $LAB_AWS_STARTUP_ACTION == start ]] && start_action=start
  psk=$(<"$dir/psk")
  (
    umask 077
    cat >"$dir/swanctl/swanctl.conf" <<EOF
# AWS tunnel endpoint $n of the crossgate lab (generated by scripts/lab).
connections {
  aws-t$n {
    version = 0  # AWS accepts IKEv1 and IKEv2 unless the tunnel options limit it
    local_addrs = $aws_ip
    remote_addrs = $LAB_CUSTOMER_IP
    proposals = $ike
    rekey_time = $((ike_life - LAB_AWS_REKEY_MARGIN_S))s
    rand_time = ${LAB_AWS_REKEY_MARGIN_S}s
    over_time = ${LAB_AWS_REKEY_MARGIN_S}s
    dpd_delay = ${LAB_AWS_DPD_DELAY_S}s
    unique = replace
    mobike = no
    fragmentation = yes
    local {
      auth = psk
      id = $aws_ip
    }
    remote {
      auth = psk
      id = $LAB_CUSTOMER_IP
    }
    children {
      aws-t$n {
        mode = tunnel
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = $esp
        rekey_time = $((esp_life - esp_margin))s
        rand_time = ${esp_rand}s
        life_time = ${esp_life}s
        replay_window = 1024
        dpd_action = $dpd_action
        start_action = $start_action$if_ids
      }
    }
  }
}
secrets {
  ike-aws-t$n {
    id-aws = $aws_ip
    id-customer = $LAB_CUSTOMER_IP
    secret = "$psk"
  }
}
EOF
  )
}

lab_aws_vici() { printf 'unix://%s/run/charon.vici\n' "$(lab_aws_dir "$1")"; }

# lab_aws_swanctl N ARGS...: swanctl against tunnel N's AWS endpoint.
lab_aws_swanctl() {
  local n=$1 dir
  shift
  dir=$(lab_aws_dir "$n")
  STRONGSWAN_CONF=$dir/strongswan.conf swanctl "$@" --uri "$(lab_aws_vici "$n")"
}

lab_aws_prepare() {
  local n=$1 dir
  dir=$(lab_aws_dir "$n")
  mkdir -p "$dir/run"
  lab_swanctl_dir "$dir"
  if [[ $LAB_PEER == crossgate ]]; then lab_plugin_dir_prepare; fi
  lab_aws_write_strongswan_conf "$n"
  lab_aws_write_swanctl_conf "$n"
}

# lab_aws_start N: starts tunnel N's AWS endpoint, loads its config and puts AWS's inside
# address on the TUN.
lab_aws_start() {
  local n=$1 dir ns inside
  dir=$(lab_aws_dir "$n")
  ns=$(lab_ns_aws "$n")
  inside=$(lab_tvar "$n" AWS_INSIDE)
  if lab_pid "aws-t$n" >/dev/null; then
    lab_say "aws-t$n is already running"
    return 0
  fi
  rm -f "$dir/run/charon.pid" "$dir/run/charon.vici"
  local plugins=""
  if [[ $LAB_PEER == crossgate ]]; then
    lab_pid "aws-t$n-dataplane" >/dev/null || lab_aws_dataplane_start "$n"
    plugins=$LAB_DIR/plugins
  fi
  LAB_NSRUN_PLUGINS=$plugins STRONGSWAN_CONF=$dir/strongswan.conf lab_launch "aws-t$n" "$ns" \
    "$dir/run" "$dir/charon.log" /usr/lib/ipsec/charon
  lab_wait_daemon "aws-t$n" 20 "charon in $ns" lab_aws_swanctl "$n" --stats ||
    lab_die_log "$dir/charon.log" "charon did not start in $ns (see $dir/charon.log)"
  lab_aws_swanctl "$n" --load-all --file "$dir/swanctl/swanctl.conf" >>"$dir/swanctl.out" 2>&1 ||
    lab_die "swanctl could not load $dir/swanctl/swanctl.conf (see $dir/swanctl.out)"
  if [[ $LAB_PEER != crossgate ]]; then
    lab_wait_for 5 "ipsec0 in $ns" ip -n "$ns" link show ipsec0 ||
      lab_die "kernel-libipsec created no ipsec0 in $ns"
    ip -n "$ns" addr replace "$inside" dev ipsec0
    lab_aws_check_mtu "$ns"
    ip -n "$ns" link set ipsec0 up
  fi
  lab_vpc_attach "$n"
}

# lab_aws_check_mtu NS: ipsec0 must have the MTU libipsec reads (see LAB_LIBIPSEC_MTU).
lab_aws_check_mtu() {
  local mtu
  mtu=$(ip -n "$1" -o link show ipsec0 | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
  [[ $mtu == "$LAB_LIBIPSEC_MTU" ]] ||
    lab_die "ipsec0 in $1 has MTU $mtu; kernel-libipsec reads $LAB_LIBIPSEC_MTU-byte packets"
}

lab_aws_stop() { lab_stop_pid "aws-t$1" "${2:-TERM}"; }

# lab_aws_set_psk N: replaces tunnel N's PSK on the AWS side with the one read from stdin and
# loads it (like AWS, the established SAs stay until they are renegotiated).
lab_aws_set_psk() {
  local n=$1 dir psk
  dir=$(lab_aws_dir "$n")
  IFS= read -r psk || true
  lab_check_psk "$psk"
  (umask 077 && printf '%s' "$psk" >"$dir/psk")
  lab_aws_write_swanctl_conf "$n"
  if lab_pid "aws-t$n" >/dev/null; then
    lab_aws_swanctl "$n" --load-creds --file "$dir/swanctl/swanctl.conf" >>"$dir/swanctl.out" 2>&1 ||
      lab_die "swanctl could not load the new secret of aws-t$n"
  fi
}

# lab_check_psk PSK: AWS's rules (8-64 characters of [A-Za-z0-9._], not starting with 0).
lab_check_psk() {
  [[ $1 =~ ^[A-Za-z0-9._]{8,64}$ && $1 != 0* ]] ||
    lab_die "a pre-shared key must be 8-64 characters of A-Z a-z 0-9 . _ and not start with 0"
}
