#!/usr/bin/env bash
# Checks the unit files with `systemd-analyze verify` and fails on ANY output: verify exits 0
# on unknown or misspelled settings and only warns, which would let a typo in a hardening
# option pass silently. Used by .ci/run and test/deploy/systemd-units.test.ts.
#
# Each unit is verified twice: alone, as installed by default, and with its drop-ins
# (<unit>.d/*.conf beside it: the agent's opt-in firewall.conf and namespaces.conf), as installed with
# `install-agent.sh --firewall --namespaces`. systemd-analyze reads a unit's drop-ins from a <unit>.d
# directory beside the unit file (it puts the unit's directory in the unit search path); a
# canary drop-in with an unknown key proves that this systemd does, so a drop-in is never
# reported verified without having been read. Capability names are checked against
# `systemd-analyze capability`: verify ignores an unknown one without a word.
#
# verify also checks that each ExecStart binary exists. The units run /usr/bin/node (where
# Debian's and NodeSource's packages put it); on a machine whose Node.js lives elsewhere (nvm,
# /usr/local/bin), the copies verified have this machine's node in ExecStart instead.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node=/usr/bin/node
if [ ! -x "$node" ]; then
  node=$(command -v node) || { echo "verify-units.sh: no node on PATH to stand in for /usr/bin/node" >&2; exit 1; }
fi
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

copy_unit() { # copy_unit UNIT DIR: UNIT into DIR, with this machine's node
  mkdir -p -- "$2"
  sed "s#^ExecStart=/usr/bin/node #ExecStart=$node #" -- "$1" > "$2/$(basename -- "$1")"
}

failed=0
verify() { # verify FILE...: fails (and prints) on an error or on any output at all
  local out
  if ! out=$(systemd-analyze verify "$@" 2>&1) || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    failed=1
  fi
}

# 1. Every unit alone (no drop-in directory beside the copies).
units=()
for unit in "$here"/*.service; do
  copy_unit "$unit" "$tmp/alone"
  units+=("$(basename -- "$unit")")
done
verify "${units[@]/#/$tmp/alone/}"

# 2. Each unit that has drop-ins, with all of them applied.
with=()
for unit in "$here"/*.service; do
  name=$(basename -- "$unit")
  dropins=("$here/$name.d"/*.conf)
  [ -e "${dropins[0]}" ] || continue
  dir="$tmp/with-$name"
  copy_unit "$unit" "$dir"
  mkdir -p -- "$dir/$name.d"
  cp -- "${dropins[@]}" "$dir/$name.d/"
  verify "$dir/$name"
  # The canary: the same unit and drop-ins plus one with an unknown key, which verify must name.
  canary="$tmp/canary-$name"
  cp -r -- "$dir" "$canary"
  printf '[Service]\nDualstackVerifyCanary=1\n' > "$canary/$name.d/zz-canary.conf"
  out=$(systemd-analyze verify "$canary/$name" 2>&1 || true)
  if ! grep -q "zz-canary.conf:2: Unknown key 'DualstackVerifyCanary'" <<< "$out"; then
    printf '%s\n' "$out" >&2
    echo "verify-units.sh: systemd-analyze verify did not read a drop-in beside $name: its drop-ins cannot be verified this way" >&2
    failed=1
  fi
  with+=("$name + $(cd "$here" && printf '%s ' "${dropins[@]#"$here/"}" | sed 's/ $//')")
done

# 3. Capability names in every unit and drop-in.
while IFS=: read -r file line text; do
  for cap in ${text#*=}; do
    cap=${cap#\~}
    if ! systemd-analyze capability "$cap" > /dev/null 2>&1; then
      echo "${file#"$here/"}:$line: unknown capability $cap (systemd ignores it silently)" >&2
      failed=1
    fi
  done
done < <(grep -nE '^(AmbientCapabilities|CapabilityBoundingSet)=' -- "$here"/*.service "$here"/*.service.d/*.conf 2>/dev/null || true)

if [ "$failed" = 1 ]; then
  echo "verify-units.sh: systemd-analyze verify printed the problems above" >&2
  exit 1
fi
echo "systemd-analyze verify: ${#units[@]} units OK (${units[*]}); with drop-ins: $(IFS=';'; printf '%s' "${with[*]:-none}" | sed 's/;/; /g') OK"
