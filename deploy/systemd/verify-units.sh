#!/usr/bin/env bash
# Checks the unit files with `systemd-analyze verify` and fails on ANY output: verify exits 0
# on unknown or misspelled settings and only warns, which would let a typo in a hardening
# option pass silently. Used by .ci/run and test/deploy/systemd-units.test.ts.
#
# verify also checks that each ExecStart binary exists. The units run /usr/bin/node (where
# Debian's and NodeSource's packages put it); on a machine whose Node.js lives elsewhere (nvm,
# /usr/local/bin), copies with this machine's node in ExecStart are verified instead.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
units=("$here"/*.service)
if [ ! -x /usr/bin/node ]; then
  node=$(command -v node) || { echo "verify-units.sh: no node on PATH to stand in for /usr/bin/node" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf -- "$tmp"' EXIT
  for unit in "${units[@]}"; do sed "s#^ExecStart=/usr/bin/node #ExecStart=$node #" -- "$unit" > "$tmp/$(basename -- "$unit")"; done
  units=("$tmp"/*.service)
fi
if ! out=$(systemd-analyze verify "${units[@]}" 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
if [ -n "$out" ]; then
  printf '%s\n' "$out" >&2
  echo "verify-units.sh: systemd-analyze verify printed the warnings above" >&2
  exit 1
fi
echo "systemd-analyze verify: ${#units[@]} units OK ($(basename -a "${units[@]}" | tr '\n' ' '| sed 's/ $//'))"
