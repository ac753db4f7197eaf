# Source it (from the repository root): . scripts/node-lts.sh
# Puts Node.js >= 24 (the project's engines, the LTS the executables carry) first on PATH for
# this shell, so that `npm ci`, `npm start` and `npm test` run on it:
#  - node already >= 24: does nothing;
#  - an older node (Debian's, Node 20): scripts/node-lts.mjs fetches the pinned Node.js from the
#    npm registry (package node-linux-<arch>, sha512 checked) into ~/.cache/dualstack/node-runtime
#    (as root /var/cache/dualstack/node-runtime: the tests run it as other users too)
#    once, and this exports PATH with its bin/ first and npm_config_nodedir at it (so native
#    modules compile against its headers). Nothing is installed system-wide.
# POSIX sh; sourced, so it returns (never exits) and leaves the shell's options alone.
dualstack_node_lts_min=24
dualstack_node_lts_v=$(node -v 2>/dev/null) || dualstack_node_lts_v=
dualstack_node_lts_major=${dualstack_node_lts_v#v}
dualstack_node_lts_major=${dualstack_node_lts_major%%.*}
case $dualstack_node_lts_major in
  '' | *[!0-9]*)
    echo "node-lts: no usable node on PATH (node -v: '$dualstack_node_lts_v'); Node.js with npm (any version) is needed to fetch Node.js $dualstack_node_lts_min" >&2
    unset dualstack_node_lts_min dualstack_node_lts_v dualstack_node_lts_major
    return 1 ;;
esac
if [ "$dualstack_node_lts_major" -ge "$dualstack_node_lts_min" ]; then
  unset dualstack_node_lts_min dualstack_node_lts_v dualstack_node_lts_major
  return 0
fi
# bash names the sourced file; other shells are taken to run from the repository root.
dualstack_node_lts_dir=scripts
if [ -n "${BASH_SOURCE:-}" ]; then dualstack_node_lts_dir=$(dirname "$BASH_SOURCE"); fi
echo "node-lts: node is $dualstack_node_lts_v, the project needs >= $dualstack_node_lts_min" >&2
if dualstack_node_lts_env=$(node "$dualstack_node_lts_dir/node-lts.mjs"); then
  eval "$dualstack_node_lts_env"
  echo "node-lts: now $(node -v) ($(command -v node)), for this shell" >&2
  unset dualstack_node_lts_min dualstack_node_lts_v dualstack_node_lts_major dualstack_node_lts_dir dualstack_node_lts_env
else
  unset dualstack_node_lts_min dualstack_node_lts_v dualstack_node_lts_major dualstack_node_lts_dir dualstack_node_lts_env
  return 1
fi
