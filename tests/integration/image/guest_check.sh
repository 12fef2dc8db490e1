#!/bin/bash
# Runs inside the booted crossgate image (injected through QEMU fw_cfg by boot_test.sh; output goes
# to the virtio-serial port crossgate.selftest). Checks that the first boot imported the AWS file
# from the NoCloud seed, that both tunnels are configured and known to crossgated, that the
# daemons are active and charon runs on the crossgate plugin (kernel-ipsec + socket, no
# kernel-libipsec, no socket-default). Then replays the first boot with bad custom data: the
# services must stay down, the reason must be on the console and in `crossgate status`, and
# /etc/crossgate must not change. Never prints a pre-shared key.
set -u
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

echo "kernel $(uname -r), crossgate $(dpkg-query -W -f='${Version}' crossgate 2>/dev/null)"
check "first boot applied the custom data" test -f /var/lib/crossgate/firstboot.done
check "no first-boot failure recorded" test ! -e /var/lib/crossgate/firstboot.failed
for unit in crossgate-nftables.service crossgate-dataplane.service crossgated.service crossgate-dns.service; do
  check "$unit is active" systemctl is-active --quiet "$unit"
done
check "base firewall table inet crossgate_base is loaded" sh -c 'nft list table inet crossgate_base >/dev/null'
check "strongswan.service (charon) is active" systemctl is-active --quiet strongswan.service
stats=""
for _ in $(seq 1 30); do
  stats=$(swanctl --stats 2>&1) && break
  sleep 1
done
plugins=$(printf '%s\n' "$stats" | sed -n 's/^loaded plugins: //p')
echo "charon's plugins: $plugins"
check "charon loaded the crossgate plugin" grep -qw crossgate <<<"$plugins"
check "charon loaded kernel-netlink (kernel-net)" grep -qw kernel-netlink <<<"$plugins"
check "charon did not load kernel-libipsec" bash -c '! grep -qw kernel-libipsec <<<"$1"' _ "$plugins"
check "charon did not load socket-default" bash -c '! grep -qw socket-default <<<"$1"' _ "$plugins"
dp_pid=$(systemctl show -p MainPID --value crossgate-dataplane.service)
check "crossgate-dataplane (pid $dp_pid) holds UDP 500 and 4500" \
  bash -c 'ss -Hulpn | grep -Eq ":500 .*pid=$1," && ss -Hulpn | grep -Eq ":4500 .*pid=$1,"' _ "$dp_pid"
check "charon has no UDP 500/4500 socket of its own" bash -c '! ss -Hulpn | grep -Eq ":(500|4500) .*charon"'

conf=/etc/crossgate/crossgate.toml
frag=/etc/crossgate/vpn.d/aws-test.toml
check "$frag was imported" test -f "$frag"
check "crossgate config check passes" crossgate config check "$conf"
for t in 1 2; do
  psk=/etc/crossgate/vpn.d/secrets/aws-test-t$t.psk
  mode=$(stat -c '%a %U' "$psk" 2>/dev/null || echo missing)
  if [[ $mode == "600 root" ]]; then pass "$psk is 0600 root"; else fail "$psk: $mode (want 600 root)"; fi
done
check "config: public_ip is the customer gateway from the AWS file" grep -q '^public_ip = "203.0.113.10"' "$conf"

show=$(crossgate config show "$conf" --json 2>&1) || fail "crossgate config show --json: $show"
status=""
for _ in $(seq 1 60); do
  if status=$(crossgate status --json 2>&1); then break; fi
  sleep 1
done
echo "crossgate status --json:"
printf '%s\n' "$status" | sed 's/^/  /'
python3 - "$show" "$status" <<'PY'
import json, sys
ok = True
def check(what, cond):
    global ok
    print(("PASS: " if cond else "FAIL: ") + what)
    ok = ok and cond
try:
    show = json.loads(sys.argv[1])
except ValueError as e:
    check("config show --json parses (%s)" % e, False); sys.exit(1)
vpns = show.get("vpn") or show.get("vpns") or []
vpn = next((v for v in vpns if v.get("name") == "aws-test"), None)
check("config has VPN aws-test", vpn is not None)
if vpn:
    check("aws-test: vpn_connection_id vpn-0a1b2c3d4e5f60718",
          vpn.get("vpn_connection_id") == "vpn-0a1b2c3d4e5f60718")
    check("aws-test: remote_networks 10.10.0.0/16", vpn.get("remote_networks") == ["10.10.0.0/16"])
    check("aws-test: local_networks 10.20.0.0/16", vpn.get("local_networks") == ["10.20.0.0/16"])
    ips = sorted(t.get("aws_outside_ip") for t in vpn.get("tunnel", vpn.get("tunnels", [])))
    check("aws-test: two tunnels to 198.51.100.17 and 198.51.100.201",
          ips == ["198.51.100.17", "198.51.100.201"])
try:
    status = json.loads(sys.argv[2])
except ValueError:
    check("crossgate status --json answered", False); sys.exit(1)
check("crossgate status --json answered", True)
tunnels = {t.get("name"): t for t in status.get("tunnels", [])}
check("crossgated knows tunnel aws-test-t1", "aws-test-t1" in tunnels)
check("crossgated knows tunnel aws-test-t2", "aws-test-t2" in tunnels)
check("tunnel endpoints as imported",
      sorted(t.get("aws_outside_ip") for t in tunnels.values()) == ["198.51.100.17", "198.51.100.201"])
sys.exit(0 if ok else 1)
PY
[[ $? -eq 0 ]] || failures=$((failures + 1))

echo "--- journal (crossgate units, last lines)"
journalctl -b --no-pager -o short-monotonic -n 40 -u crossgate-firstboot -u crossgate-dataplane \
  -u crossgated -u crossgate-dns -u strongswan 2>&1 | grep -v -i 'psk\|secret' | sed 's/^/  /'
failed_units=$(systemctl --failed --no-legend --plain | awk '{print $1}')
echo "systemd: $(systemctl is-system-running 2>&1); failed units: $(echo $failed_units)"
for unit in $failed_units; do
  echo "--- $unit"
  journalctl -b --no-pager -o short-monotonic -n 15 -u "$unit" 2>&1 | grep -v -i 'psk\|secret' | sed 's/^/  /'
done
echo "--- boot: $(systemd-analyze 2>/dev/null | head -n 1)"

# --- a first boot with bad custom data --------------------------------------------------------
echo "--- first boot again, with bad custom data"
before=$(cd /etc/crossgate && find . -type f -print0 | sort -z | xargs -0 sha256sum)
systemctl stop crossgated.service crossgate-dns.service strongswan.service crossgate-dataplane.service
rm -f /var/lib/crossgate/firstboot.done
user_data=/var/lib/cloud/instance/user-data.txt
printf '#crossgate\nremote_network = 10.10.0.0/16\nbogus_key = 1\n' > "$user_data"
systemctl restart crossgate-firstboot.service 2>/dev/null
check "crossgate-firstboot.service failed" bash -c '[[ $(systemctl is-active crossgate-firstboot.service) == failed ]]'
failed=/var/lib/crossgate/firstboot.failed
check "$failed exists, mode 0644" bash -c "[[ \$(stat -c %a $failed 2>/dev/null) == 644 ]]"
check "$failed is one line naming the bad key" \
  bash -c "[[ \$(wc -l < $failed) == 1 ]] && grep -q \"unknown key 'bogus_key'\" $failed"
echo "firstboot.failed: $(cat "$failed" 2>/dev/null)"
systemctl start crossgate-dataplane.service crossgated.service crossgate-dns.service strongswan.service
for unit in crossgate-dataplane.service crossgated.service crossgate-dns.service strongswan.service; do
  check "$unit stays down" bash -c "! systemctl is-active --quiet $unit"
done
after=$(cd /etc/crossgate && find . -type f -print0 | sort -z | xargs -0 sha256sum)
check "/etc/crossgate unchanged" test "$before" == "$after"
ready=$(/usr/lib/crossgate/image-ready 2>&1)
echo "console: $ready"
check "the console marker says CROSSGATE-NOT-READY with the reason" \
  bash -c 'grep -q "CROSSGATE-NOT-READY.*unknown key .bogus_key." <<<"$1"' _ "$ready"
status_out=$(crossgate status 2>&1)
echo "crossgate status:"
printf '%s\n' "$status_out" | sed 's/^/  /'
check "crossgate status shows the first-boot error" \
  bash -c 'grep -qi "first.\?boot" <<<"$1" && grep -q "bogus_key" <<<"$1"' _ "$status_out"
if ((failures)); then
  echo "RESULT: $failures check(s) failed"
  exit 1
fi
echo "RESULT: ALL-PASS"
