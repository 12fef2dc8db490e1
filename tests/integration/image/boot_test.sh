#!/usr/bin/env bash
# Boot test of the crossgate VM image: builds it (scripts/image --if-changed: the package is
# remade only when older than the programs, the image only when older than the package or the
# image sources; the Debian base system and the package cache are kept in
# $CROSSGATE_BINARY_DIR/image-cache), boots it under qemu-system-x86_64 -accel tcg + OVMF with
# `-nic user,restrict=on` (nothing leaves the VM) and a NoCloud seed whose user data is a
# #crossgate bundle carrying AWS sample 05; waits for CROSSGATE-READY on the serial console; the
# guest then runs guest_check.sh (injected through fw_cfg, results on a virtio-serial port; it
# ends with a first boot replayed on bad custom data) and powers off. The boot is bounded to
# BOOT_TIMEOUT seconds (default 600); prints build and boot times and the host's load. QEMU runs
# at nice BOOT_NICE (default -10).
#
# Environment: CROSSGATE_SOURCE_DIR, CROSSGATE_BINARY_DIR (set by CTest); IMAGE_REBUILD=1 builds
# the image even if it is up to date, IMAGE_REUSE=1 boots whatever image is there,
# CROSSGATE_IMAGE_BASE_MAX_AGE (hours, default 168) how long the cached base system is reused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${CROSSGATE_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
bin=${CROSSGATE_BINARY_DIR:-$src/build}
work=$bin/image-test
img_dir=$work/image
boot_timeout=${BOOT_TIMEOUT:-600}

say() { printf '[boot-test %5ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'boot_test: FAIL: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (mmdebstrap --mode=root)"
mkdir -p "$work"
qemu_pid=""
cleanup() {
  if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# --- build -----------------------------------------------------------------------------------
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
say "host: $(nproc) CPUs, load average $(loadavg)"
build_start=$SECONDS
if [[ ${IMAGE_REUSE:-0} == 1 && -f $img_dir/crossgate.raw ]]; then
  say "IMAGE_REUSE=1: booting $img_dir/crossgate.raw as it is"
else
  args=(build --cloud none --out "$img_dir" --build-dir "$bin" --cache "$bin/image-cache"
    --base-max-age "${CROSSGATE_IMAGE_BASE_MAX_AGE:-168}")
  [[ ${IMAGE_REBUILD:-0} == 1 ]] || args+=(--if-changed)
  "$src/scripts/image" "${args[@]}" || die "scripts/image build failed"
fi
build_s=$((SECONDS - build_start))
[[ -f $img_dir/crossgate.raw && -f $img_dir/crossgate-azure.vhd ]] || die "image outputs missing"
vhd_size=$(stat -c %s "$img_dir/crossgate-azure.vhd")
raw_size=$(stat -c %s "$img_dir/crossgate.raw")
((vhd_size == raw_size + 512 && raw_size % 1048576 == 0)) ||
  die "VHD size $vhd_size is not the raw size $raw_size (whole MiB) + 512-byte footer"
footer=$(tail -c 512 "$img_dir/crossgate-azure.vhd" | head -c 8)
[[ $footer == conectix ]] || die "the VHD has no 'conectix' footer"
say "image built in ${build_s}s; VHD fixed, $((raw_size / 1048576)) MiB"

# --- NoCloud seed (vfat CIDATA, made with mtools: no mounts) ---------------------------------
run=$work/run
rm -rf "$run"
mkdir -p "$run"
{
  printf '#crossgate\n'
  printf '# test bundle: header, then AWS sample 05 (IKEv2, static routing)\n'
  printf 'name = crossgate-test\nvpn_name = aws-test\n'
  printf 'remote_network = 10.10.0.0/16\nlocal_network = 10.20.0.0/16\n'
  printf 'dns_listen = 127.0.0.1\ndns_upstream = 10.0.2.3\n'
  printf -- '--- aws-vpn\n'
  cat "$here/data/aws-vpn-05.txt"
} >"$run/user-data"
printf 'instance-id: crossgate-test-%s\nlocal-hostname: crossgate-test\n' "$RANDOM" >"$run/meta-data"
export MTOOLS_SKIP_CHECK=1
mkfs.fat -n CIDATA -C "$run/seed.img" 2048 >/dev/null
mcopy -i "$run/seed.img" "$run/user-data" "$run/meta-data" ::/

# --- boot ------------------------------------------------------------------------------------
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$run/vars.fd"
qemu-img create -q -f qcow2 -F raw -b "$img_dir/crossgate.raw" "$run/overlay.qcow2"
cp "$here/guest_check.sh" "$run/guest_check.sh"
: >"$run/serial.log"
: >"$run/selftest.log"
boot_start=$SECONDS
# TCG (KVM is not usable here): multi-threaded, two vCPUs, all CPU features. The boot has a
# deadline and emulation is CPU-bound, so QEMU runs at a higher priority (BOOT_NICE, default -10)
# than builds or tests that may share the host.
nice -n "${BOOT_NICE:--10}" \
  qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
  -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive if=pflash,format=raw,unit=1,file="$run/vars.fd" \
  -drive file="$run/overlay.qcow2",format=qcow2,if=virtio \
  -drive file="$run/seed.img",format=raw,if=virtio,readonly=on \
  -nic user,restrict=on,model=virtio-net-pci \
  -nic user,restrict=on,model=virtio-net-pci \
  -fw_cfg name=opt/crossgate/selftest,file="$run/guest_check.sh" \
  -device virtio-serial-pci -chardev file,id=st,path="$run/selftest.log" \
  -device virtserialport,chardev=st,name=crossgate.selftest \
  -display none -monitor none -no-reboot -serial file:"$run/serial.log" &
qemu_pid=$!
say "QEMU started (pid $qemu_pid), waiting for CROSSGATE-READY (logs: $run)"

deadline=$((boot_start + boot_timeout))
ready_s=""
while ((SECONDS < deadline)); do
  if grep -aq 'CROSSGATE-NOT-READY' "$run/serial.log"; then
    grep -a -A12 'CROSSGATE-NOT-READY' "$run/serial.log" | head -n 20 >&2
    die "the appliance reported CROSSGATE-NOT-READY"
  fi
  if grep -aq 'CROSSGATE-READY' "$run/serial.log"; then
    ready_s=$((SECONDS - boot_start))
    say "CROSSGATE-READY after ${ready_s}s ($(grep -a -o 'CROSSGATE-READY[^(]*' "$run/serial.log" | head -n 1))"
    break
  fi
  kill -0 "$qemu_pid" 2>/dev/null || { tail -n 40 "$run/serial.log" >&2; die "QEMU exited before the marker"; }
  sleep 0.5
done
if [[ -z $ready_s ]]; then
  tail -n 60 "$run/serial.log" | tr -d '\r' >&2
  die "no CROSSGATE-READY within ${boot_timeout}s"
fi

done_s=""
while ((SECONDS < deadline)); do
  if grep -aq 'SELFTEST-DONE' "$run/selftest.log"; then
    done_s=$((SECONDS - boot_start))
    break
  fi
  kill -0 "$qemu_pid" 2>/dev/null || break
  sleep 0.5
done
tr -d '\r' <"$run/selftest.log"
[[ -n $done_s ]] || die "the guest check did not finish within ${boot_timeout}s (serial: $run/serial.log)"
while ((SECONDS < deadline)) && kill -0 "$qemu_pid" 2>/dev/null; do sleep 0.5; done
if kill -0 "$qemu_pid" 2>/dev/null; then
  die "the guest did not power off"
fi
wait "$qemu_pid" || true
qemu_pid=""
exit_s=$((SECONDS - boot_start))
say "times: build ${build_s}s, boot to CROSSGATE-READY ${ready_s}s, guest check done ${done_s}s, powered off ${exit_s}s (load average $(loadavg))"
grep -aq 'SELFTEST-DONE rc=0' "$run/selftest.log" || die "guest check failed (see above)"
grep -aq 'RESULT: ALL-PASS' "$run/selftest.log" || die "guest check did not report ALL-PASS"
# The replayed first boot on bad custom data reported its reason on the serial console.
grep -aq "crossgate-firstboot: rejected the custom data: .*unknown key 'bogus_key'" "$run/serial.log" ||
  die "the serial console does not show crossgate-firstboot's reason for rejecting the custom data"
grep -aq "CROSSGATE-NOT-READY.*unknown key 'bogus_key'" "$run/serial.log" ||
  die "the serial console does not show CROSSGATE-NOT-READY with the reason"
say "serial console: the bad custom data's reason and CROSSGATE-NOT-READY are there"
say "PASS"
