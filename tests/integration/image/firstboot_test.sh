#!/usr/bin/env bash
# Host-side test of image/firstboot/crossgate-firstboot in a scratch root: a good #crossgate bundle
# is applied (config, fragment, 0600 secrets); bad custom data is rejected with the reason in
# var/lib/crossgate/firstboot.failed and nothing under etc/crossgate changes; foreign user data
# (#cloud-config) and no user data leave the config alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${CROSSGATE_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
cli=${CROSSGATE_BIN:-$src/build/bin}/crossgate
script=$src/image/firstboot/crossgate-firstboot
[[ -x $cli ]] || { echo "firstboot_test: $cli not built" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
psk_sample=Xk2p9QwErTy7uIoP4aSdFgH1jKlZxCvB   # tunnel 1's key in data/aws-vpn-05.txt
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

fresh_root() {
  rm -rf "$tmp/r"
  mkdir -p "$tmp/r/etc/crossgate/vpn.d" "$tmp/r/var/lib"
  cp "$src/image/files/crossgate.toml" "$tmp/r/etc/crossgate/"
}
run_firstboot() {  # USER_DATA_FILE -> exit status; output in $tmp/out
  local rc=0
  CROSSGATE_FIRSTBOOT_ROOT=$tmp/r CROSSGATE_USER_DATA=$1 CROSSGATE_CLI=$cli "$script" >"$tmp/out" 2>&1 || rc=$?
  return $rc
}
unchanged() {
  cmp -s "$src/image/files/crossgate.toml" "$tmp/r/etc/crossgate/crossgate.toml" &&
    [[ -z $(ls -A "$tmp/r/etc/crossgate/vpn.d") ]] &&
    [[ -z $(find "$tmp/r/etc/crossgate" -maxdepth 1 -name '.firstboot.*') ]]
}
bundle() {  # HEADER_LINES... -> a #crossgate bundle with AWS sample 05
  printf '#crossgate\n'
  printf '%s\n' "$@"
  printf -- '--- aws-vpn\n'
  cat "$here/data/aws-vpn-05.txt"
}

# 1. good bundle
fresh_root
bundle 'vpn_name = aws-test' 'remote_network = 10.10.0.0/16' 'local_network = 10.20.0.0/16' >"$tmp/good"
if run_firstboot "$tmp/good"; then pass "good bundle applied"; else fail "good bundle: $(cat "$tmp/out")"; fi
[[ -f $tmp/r/var/lib/crossgate/firstboot.done && ! -e $tmp/r/var/lib/crossgate/firstboot.failed ]] &&
  pass "done marker, no failure marker" || fail "markers after a good bundle"
[[ -f $tmp/r/etc/crossgate/vpn.d/aws-test.toml ]] && pass "fragment written" || fail "no fragment"
for t in 1 2; do
  m=$(stat -c %a "$tmp/r/etc/crossgate/vpn.d/secrets/aws-test-t$t.psk" 2>/dev/null || echo missing)
  [[ $m == 600 ]] && pass "PSK t$t is 0600" || fail "PSK t$t mode $m"
done
grep -q '^public_ip = "203.0.113.10"' "$tmp/r/etc/crossgate/crossgate.toml" &&
  pass "public_ip from the AWS file" || fail "public_ip not taken from the AWS file"
"$cli" config check "$tmp/r/etc/crossgate/crossgate.toml" >/dev/null && pass "result passes config check" ||
  fail "result fails config check"
if grep -rq "$psk_sample" "$tmp/out" "$tmp/r/etc/crossgate/crossgate.toml" "$tmp/r/etc/crossgate/vpn.d/aws-test.toml"; then
  fail "a PSK leaked into output or TOML"
else
  pass "no PSK in output or TOML files"
fi

# 2. bad custom data: rejected, reason recorded, nothing applied
expect_reject() {  # NAME FILE PATTERN
  fresh_root
  if run_firstboot "$2"; then fail "$1: accepted"; return; fi
  if [[ -f $tmp/r/var/lib/crossgate/firstboot.failed ]] && grep -q -- "$3" "$tmp/r/var/lib/crossgate/firstboot.failed" &&
    grep -q 'CROSSGATE-FIRSTBOOT-FAILED' "$tmp/out"; then
    pass "$1: rejected ($3)"
  else
    fail "$1: reason missing (want '$3'): $(cat "$tmp/out")"
  fi
  local failed=$tmp/r/var/lib/crossgate/firstboot.failed
  [[ $(stat -c %a "$failed" 2>/dev/null) == 644 ]] || fail "$1: firstboot.failed is not mode 0644"
  [[ $(wc -l <"$failed") == 1 && -n $(head -c 1 "$failed") ]] ||
    fail "$1: firstboot.failed is not one line: $(cat "$failed")"
  ! grep -q "$psk_sample" "$failed" "$tmp/out" || fail "$1: a PSK leaked into the reason"
  unchanged && pass "$1: /etc/crossgate unchanged" || fail "$1: /etc/crossgate changed"
  [[ ! -e $tmp/r/var/lib/crossgate/firstboot.done ]] || fail "$1: done marker written"
}
bundle 'remote_network = 10.10.0.0/16' >"$tmp/bad-nets"
expect_reject "missing local_network" "$tmp/bad-nets" "needs the networks"
bundle 'remote_network = 10.10.0.0/16' 'local_network = 10.10.0.0/24' >"$tmp/bad-overlap"
expect_reject "overlapping networks" "$tmp/bad-overlap" "invalid"
{ printf '#crossgate\nremote_network = 10.10.0.0/16\nlocal_network = 10.20.0.0/16\n--- aws-vpn\n'
  head -n 40 "$here/data/aws-vpn-05.txt"; } >"$tmp/bad-trunc"
expect_reject "truncated AWS file" "$tmp/bad-trunc" "import aws failed"
printf '#crossgate\nname = "x"; rm -rf /\n--- aws-vpn\n' >"$tmp/bad-inject"
expect_reject "header injection" "$tmp/bad-inject" "line 2"
printf '#crossgate\nfoo = bar\n' >"$tmp/bad-key"
expect_reject "unknown key" "$tmp/bad-key" "unknown key 'foo'"
printf '[appliance]\nname = "x"\nwan_interface = "eth0"\nlan_interface = "eth0"\npublic_ip = "203.0.113.10"\n' >"$tmp/bad-toml"
expect_reject "invalid bare TOML" "$tmp/bad-toml" "already used"
printf '#crossgate\nname = a\n' >"$tmp/bad-empty"
expect_reject "bundle without sections" "$tmp/bad-empty" "neither"

# 3. a rejected first boot, then corrected custom data: the failure record goes away
fresh_root
run_firstboot "$tmp/bad-key" || true
if [[ -f $tmp/r/var/lib/crossgate/firstboot.failed ]] && run_firstboot "$tmp/good" &&
  [[ ! -e $tmp/r/var/lib/crossgate/firstboot.failed && -f $tmp/r/var/lib/crossgate/firstboot.done ]]; then
  pass "corrected custom data after a rejection: applied, firstboot.failed removed"
else
  fail "corrected custom data after a rejection: $(cat "$tmp/out")"
fi

# 4. not for crossgate / nothing at all
for case in cloud-config empty; do
  fresh_root
  if [[ $case == cloud-config ]]; then printf '#cloud-config\nssh_pwauth: false\n' >"$tmp/ud"; else : >"$tmp/ud"; fi
  if run_firstboot "$tmp/ud" && unchanged && [[ -f $tmp/r/var/lib/crossgate/firstboot.done ]]; then
    pass "$case user data: config left alone"
  else
    fail "$case user data: $(cat "$tmp/out")"
  fi
done

if ((failures)); then
  echo "firstboot_test: $failures failure(s)"
  exit 1
fi
echo "firstboot_test: ALL-PASS"
