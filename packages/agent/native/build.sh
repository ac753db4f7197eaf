#!/bin/sh
# Builds the native sock_diag reader (issue 14) as a Node-API module: one gcc command, no
# node-gyp (it would download Node's headers; node-api-headers, a devDependency, has them).
#   packages/agent/native/build.sh OUT.node [CC]      e.g. build.sh dist/sockdiag.node aarch64-linux-gnu-gcc
# Extra flags through CFLAGS (the sanitizer build: CFLAGS='-fsanitize=address,undefined').
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT.node [CC]}
cc=${2:-${CC:-gcc}}
headers=$(cd "$here" && node -p 'require("node-api-headers").include_dir')
mkdir -p "$(dirname "$out")"
# shellcheck disable=SC2086 # CFLAGS is a list of flags
"$cc" -std=gnu11 -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden ${CFLAGS:-} \
  -DNAPI_VERSION=8 -I"$headers" \
  "$here/sockdiag.c" "$here/sockdiag-walk.c" "$here/sockdiag-netns.c" "$here/fd-sockets.c" -o "$out"
