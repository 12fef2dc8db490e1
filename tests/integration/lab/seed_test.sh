#!/usr/bin/env bash
# The seed scenario end to end (needs root): `scripts/lab up`, then `scripts/lab test` - from
# the AWS VPC client, acct.dfs.core.windows.net resolves through the appliance's crossgate-dns
# (via a tunnel) to the private endpoint 10.20.1.5, and an HTTPS GET verified against the lab's
# CA returns the endpoint's file - then `scripts/lab down`.
set -euo pipefail
# shellcheck disable=SC1091
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 1; }
test_start=$(t_now_ms)

t_say "lab up"
up_start=$(t_now_ms)
t_lab_start
t_say "up took $(($(t_now_ms) - up_start)) ms"
test_run=$(t_now_ms)
"$T_LAB" test 60 || t_fail "scripts/lab test"
t_ok "scripts/lab test passed $(($(t_now_ms) - test_run)) ms after up"
t_say "PASS ($((($(t_now_ms) - test_start) / 1000)) s)"
