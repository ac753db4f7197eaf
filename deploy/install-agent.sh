#!/usr/bin/env bash
# Installs (or, with --uninstall, removes) the dualstack agent on this host:
#   user and group   dualstack (system account, no login, no home)
#   artifact         /usr/local/lib/dualstack/dualstack-agent.mjs   (npm run package:agent)
#   config           /etc/dualstack/agent.json                        (root:dualstack 0640)
#   token            /etc/dualstack/token                             (dualstack:dualstack 0600)
#   enroll secret    /etc/dualstack/enroll-secret                     (dualstack:dualstack 0600)
#                    with --secret-file: the agent enrolls with it at its first delivery and
#                    keeps the host key it gets in /var/lib/dualstack/host.key
#   unit             /etc/systemd/system/dualstack-agent.service      (deploy/systemd/)
#   with --firewall  /etc/systemd/system/dualstack-agent.service.d/firewall.conf
#                    (deploy/systemd/dualstack-agent.service.d/: CAP_NET_ADMIN and CAP_NET_RAW,
#                    to read the host firewall; docs/firewall.md)
#   with --namespaces /etc/systemd/system/dualstack-agent.service.d/namespaces.conf
#                    (CAP_SYS_ADMIN, to enter containers' network namespaces; docs/operations.md)
# then `systemctl daemon-reload` and `systemctl enable --now dualstack-agent`.
#
# Idempotent: run it again with the same options and nothing changes (every file is compared
# first; the service is restarted only when its artifact, config, unit or drop-in changed).
# Options left out on a re-run keep what is installed (the collector URL, the token, the enroll
# secret), except
# --firewall and --namespaces: a run without one removes the drop-in a run with it installed
# (it carries a first line saying so; a drop-in put there by hand is kept), so the capabilities
# the agent holds are always the ones the last run asked for.
#
#   install-agent.sh --artifact dualstack-agent.mjs --collector https://collector.example \
#                    --token-file /path/to/token
#   echo "$TOKEN" | install-agent.sh --artifact dualstack-agent.mjs --collector URL --token-stdin
#   install-agent.sh --artifact dualstack-agent.mjs --collector URL --secret-file /path/to/enroll-secret
#   install-agent.sh --uninstall
#
# --root DIR installs into DIR as if it were / (tests, image builds): the user is created with
# `useradd --root DIR` in DIR/etc/passwd, and systemctl is not run.
# Exit codes: 0 done; 1 could not (the reason on stderr); 2 usage.
set -euo pipefail
umask 022

PROG=install-agent.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
USER_NAME=dualstack
UNIT_NAME=dualstack-agent.service
LIB_DIR=/usr/local/lib/dualstack
ARTIFACT_PATH=$LIB_DIR/dualstack-agent.mjs
CONF_DIR=/etc/dualstack
CONFIG_PATH=$CONF_DIR/agent.json
TOKEN_PATH=$CONF_DIR/token
SECRET_PATH=$CONF_DIR/enroll-secret
UNIT_PATH=/etc/systemd/system/$UNIT_NAME
DROPIN_DIR=/etc/systemd/system/$UNIT_NAME.d
# The opt-in drop-ins, each installed by the option of its name (--firewall, --namespaces).
OPT_INS=(firewall namespaces)
dropin_mark() { echo "# Installed by install-agent.sh --$1: a run without --$1 removes it."; }
STATE_DIR=/var/lib/dualstack
DEFAULT_NODE=/usr/bin/node

usage() {
  cat <<EOF
Usage: $PROG [--artifact FILE] [--collector URL] [--token-file FILE | --token-stdin]
                         [--secret-file FILE] [--interval DURATION] [--node PATH] [--unit FILE] [--firewall]
                         [--namespaces] [--root DIR] [--no-start]
       $PROG --uninstall [--keep-spool] [--root DIR]

  --artifact FILE     the single-file agent (dist-artifacts/dualstack-agent.mjs); required on
                      the first install, optional later (the installed one stays)
  --collector URL     the collector, e.g. https://collector.example (required the first time)
  --token-file FILE   this agent's bearer token (dualstack-collector token create --role agent)
  --token-stdin       read the token from standard input instead (keeps it out of argv)
  --secret-file FILE  an enroll secret (dualstack-collector token create --role enroll),
                      installed as $SECRET_PATH (0600, owner $USER_NAME)
                      and named in agent.json: with no token, the agent enrolls with it at
                      its first delivery and keeps its host key in $STATE_DIR/host.key;
                      beside a token, it enrolls when the token is refused (401). It enrolls
                      again when its host key is revoked. A token or a secret is required on
                      the first install
  --interval DURATION scan interval written to agent.json (default 5m, or what is installed)
  --node PATH         Node.js >= 20.18.1 the unit runs (default: $DEFAULT_NODE, else \`command -v node\`)
  --unit FILE         the unit to install (default: systemd/$UNIT_NAME beside this script)
  --firewall          also install the drop-in $DROPIN_DIR/firewall.conf
                      (CAP_NET_ADMIN and CAP_NET_RAW: the agent reads the host firewall, and
                      could also change it; docs/firewall.md). Without it, a drop-in an
                      earlier --firewall run installed is removed
  --namespaces        also install the drop-in $DROPIN_DIR/namespaces.conf
                      (CAP_SYS_ADMIN: the agent enters containers' network namespaces to read
                      their IPv6 sysctls and V6ONLY flags, and could also act inside them;
                      docs/operations.md). Without it, a drop-in an earlier --namespaces run
                      installed is removed
  --root DIR          install under DIR instead of / (no systemctl; for tests and images)
  --no-start          install and enable, but do not start or restart the service
  --uninstall         stop and remove everything this script installs, the spool and the user
  --keep-spool        with --uninstall: keep $STATE_DIR (undelivered reports)
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*"; }

ROOT=/
ARTIFACT='' COLLECTOR='' TOKEN_FILE='' TOKEN_STDIN=0 SECRET_FILE='' INTERVAL='' NODE='' UNIT_SRC='' UNINSTALL=0 KEEP_SPOOL=0 NO_START=0
declare -A WANT=([firewall]=0 [namespaces]=0)
while [ $# -gt 0 ]; do
  case "$1" in
    --artifact) ARTIFACT=${2:?--artifact needs a file}; shift 2 ;;
    --collector) COLLECTOR=${2:?--collector needs a URL}; shift 2 ;;
    --token-file) TOKEN_FILE=${2:?--token-file needs a file}; shift 2 ;;
    --token-stdin) TOKEN_STDIN=1; shift ;;
    --secret-file) SECRET_FILE=${2:?--secret-file needs a file}; shift 2 ;;
    --interval) INTERVAL=${2:?--interval needs a duration}; shift 2 ;;
    --node) NODE=${2:?--node needs a path}; shift 2 ;;
    --unit) UNIT_SRC=${2:?--unit needs a file}; shift 2 ;;
    --firewall) WANT[firewall]=1; shift ;;
    --namespaces) WANT[namespaces]=1; shift ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --no-start) NO_START=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --keep-spool) KEEP_SPOOL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "$PROG: unknown option '$1'" >&2; exit 2 ;;
  esac
done

for o in "${OPT_INS[@]}"; do [ "$UNINSTALL" = 0 ] || [ "${WANT[$o]}" = 0 ] || die "give --$o or --uninstall, not both"; done
[ "$(id -u)" = 0 ] || die "must run as root (it creates a system user and writes under /etc and /usr/local)"
[ -d "$ROOT" ] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd)
LIVE=0
[ "$ROOT" = / ] && LIVE=1
# $R is prefixed to every path; empty for the live system.
R=${ROOT%/}

SYSTEMD=0
if [ "$LIVE" = 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then SYSTEMD=1; fi

user_field() { # user_field NAME FIELD: a field of NAME's line in the target's /etc/passwd
  awk -F: -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$R/etc/passwd" 2>/dev/null || true
}
group_exists() { awk -F: -v n="$1" '$1 == n { found = 1 } END { exit !found }' "$R/etc/group" 2>/dev/null; }

root_args=()
[ "$LIVE" = 1 ] || root_args=(--root "$ROOT")

# ------------------------------------------------------------------------------- uninstall
if [ "$UNINSTALL" = 1 ]; then
  if [ "$SYSTEMD" = 1 ]; then
    systemctl disable --now "$UNIT_NAME" >/dev/null 2>&1 || true
  fi
  removed=0
  # The opt-in drop-ins whoever put them there: they belong to the unit removed here.
  for f in "$UNIT_PATH" "$DROPIN_DIR/firewall.conf" "$DROPIN_DIR/namespaces.conf" "$ARTIFACT_PATH" "$CONFIG_PATH" "$TOKEN_PATH" "$SECRET_PATH"; do
    if [ -e "$R$f" ] || [ -L "$R$f" ]; then rm -f -- "$R$f"; say "removed $f"; removed=1; fi
  done
  # Directories only when empty: /etc/dualstack may also hold the collector's config, the
  # drop-in directory an operator's own overrides (systemctl edit).
  for d in "$DROPIN_DIR" "$LIB_DIR" "$CONF_DIR"; do
    if [ -d "$R$d" ] && rmdir -- "$R$d" 2>/dev/null; then say "removed $d/"; fi
  done
  if [ -d "$R$STATE_DIR" ]; then
    if [ "$KEEP_SPOOL" = 1 ]; then say "kept $STATE_DIR (--keep-spool)"
    else rm -rf -- "${R:?}$STATE_DIR"; say "removed $STATE_DIR (the spool)"; removed=1; fi
  fi
  if [ "$SYSTEMD" = 1 ] && [ "$removed" = 1 ]; then systemctl daemon-reload; fi
  if [ -n "$(user_field "$USER_NAME" 1)" ]; then
    userdel "${root_args[@]}" "$USER_NAME"; say "removed user $USER_NAME"
  fi
  if group_exists "$USER_NAME"; then groupdel "${root_args[@]}" "$USER_NAME"; say "removed group $USER_NAME"; fi
  say "uninstalled"
  exit 0
fi

# --------------------------------------------------------------------------------- install
[ -z "$TOKEN_FILE" ] || [ "$TOKEN_STDIN" = 0 ] || die "give --token-file or --token-stdin, not both"
[ -n "$UNIT_SRC" ] || UNIT_SRC=$HERE/systemd/$UNIT_NAME
[ -f "$UNIT_SRC" ] || die "unit $UNIT_SRC not found (give --unit FILE)"
for o in "${OPT_INS[@]}"; do
  [ "${WANT[$o]}" = 0 ] || [ -f "$HERE/systemd/$UNIT_NAME.d/$o.conf" ] || die "--$o: the drop-in $HERE/systemd/$UNIT_NAME.d/$o.conf is not there"
done
if [ -n "$ARTIFACT" ]; then
  [ -f "$ARTIFACT" ] || die "--artifact $ARTIFACT does not exist"
  { head -n 1 -- "$ARTIFACT" | grep -qx '#!/usr/bin/env node' &&
    head -n 2 -- "$ARTIFACT" | tail -n 1 | grep -q '^// dualstack-agent, a single-file bundle'; } || die "--artifact $ARTIFACT is not the dualstack-agent bundle (npm run package:agent)"
elif [ ! -f "$R$ARTIFACT_PATH" ]; then
  die "--artifact FILE is required: no agent is installed at $ARTIFACT_PATH yet"
fi

if [ -z "$NODE" ]; then
  NODE=$DEFAULT_NODE
  if [ "$LIVE" = 1 ] && [ ! -x "$NODE" ]; then NODE=$(command -v node || true); fi
fi
[ -n "$NODE" ] || die "Node.js not found: install Node.js 20.18.1 or newer, or give --node PATH"
case "$NODE" in /*) ;; *) die "--node must be an absolute path, not '$NODE'" ;; esac
if [ "$LIVE" = 1 ]; then
  [ -x "$NODE" ] || die "$NODE is not executable: install Node.js 20.18.1 or newer, or give --node PATH"
  # 20.18.1: what undici 7, bundled in the agent, requires.
  "$NODE" -e 'const [a, b, c] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && (b > 18 || (b === 18 && c >= 1))) ? 0 : 1)' ||
    die "$NODE is Node.js $("$NODE" --version); the agent needs 20.18.1 or newer"
fi

# The token: from --token-file / --token-stdin, else the installed one.
TOKEN=''
if [ "$TOKEN_STDIN" = 1 ]; then
  IFS= read -r TOKEN || true
elif [ -n "$TOKEN_FILE" ]; then
  [ -r "$TOKEN_FILE" ] || die "--token-file $TOKEN_FILE is not readable"
  TOKEN=$(head -n 1 -- "$TOKEN_FILE")
fi
TOKEN=$(printf '%s' "$TOKEN" | tr -d '[:space:]')
if [ -z "$TOKEN" ] && { [ -n "$TOKEN_FILE" ] || [ "$TOKEN_STDIN" = 1 ]; }; then die "the token given is empty"; fi

# The enroll secret: from --secret-file, else the installed one.
SECRET=''
if [ -n "$SECRET_FILE" ]; then
  [ -r "$SECRET_FILE" ] || die "--secret-file $SECRET_FILE is not readable"
  SECRET=$(head -n 1 -- "$SECRET_FILE" | tr -d '[:space:]')
  [ -n "$SECRET" ] || die "the enroll secret in --secret-file $SECRET_FILE is empty"
fi
HAS_TOKEN=0 HAS_SECRET=0
if [ -n "$TOKEN" ] || [ -s "$R$TOKEN_PATH" ]; then HAS_TOKEN=1; fi
if [ -n "$SECRET" ] || [ -s "$R$SECRET_PATH" ]; then HAS_SECRET=1; fi
if [ "$HAS_TOKEN" = 0 ] && [ "$HAS_SECRET" = 0 ]; then
  die "a token or an enroll secret is required on the first install (--token-file FILE, --token-stdin or --secret-file FILE)"
fi

# The config: --collector/--interval, else what is installed.
installed_value() { # installed_value KEY: a string value of the installed agent.json
  [ -f "$R$CONFIG_PATH" ] || return 0
  sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$R$CONFIG_PATH" | head -n 1
}
[ -n "$COLLECTOR" ] || COLLECTOR=$(installed_value collector)
[ -n "$COLLECTOR" ] || die "--collector URL is required on the first install"
case "$COLLECTOR" in http://*|https://*) ;; *) die "--collector must be an http:// or https:// URL, not '$COLLECTOR'" ;; esac
case "$COLLECTOR" in *'"'*|*'\'*|*' '*) die "--collector '$COLLECTOR' holds a character a URL cannot" ;; esac
[ -n "$INTERVAL" ] || INTERVAL=$(installed_value interval)
[ -n "$INTERVAL" ] || INTERVAL=5m
case "$INTERVAL" in *[!0-9a-z]*|'') die "--interval '$INTERVAL' is not a duration like 30s, 5m or 1h" ;; esac

# --- user and group
if [ -z "$(user_field "$USER_NAME" 1)" ]; then
  mkdir -p "$R/etc"
  for f in passwd group shadow gshadow; do [ -e "$R/etc/$f" ] || : > "$R/etc/$f"; done
  useradd "${root_args[@]}" --system --user-group --no-create-home --home-dir "$STATE_DIR" \
    --shell /usr/sbin/nologin --comment 'dualstack agent' "$USER_NAME"
  say "created system user $USER_NAME (uid $(user_field "$USER_NAME" 3))"
fi
AGENT_UID=$(user_field "$USER_NAME" 3)
AGENT_GID=$(user_field "$USER_NAME" 4)
[ -n "$AGENT_UID" ] && [ -n "$AGENT_GID" ] || die "user $USER_NAME has no uid/gid in $R/etc/passwd"

# --- files: each written only when its content, mode or owner differ
CHANGED=0          # anything at all
RESTART=0          # something the running agent reads only at start
TMP=$(mktemp -d)
trap 'rm -rf -- "$TMP"' EXIT

# put SRC DEST MODE UID GID [restart]: installs SRC as $R/DEST atomically, when it differs.
put() {
  local src=$1 dest=$R$2 mode=$3 uid=$4 gid=$5 restart=${6:-}
  if [ -f "$dest" ] && cmp -s -- "$src" "$dest" &&
     [ "$(stat -c '%a %u %g' -- "$dest")" = "$(printf '%o %s %s' "0$mode" "$uid" "$gid")" ]; then
    say "unchanged $2"
    return 0
  fi
  mkdir -p -- "$(dirname -- "$dest")"
  local new
  new=$(mktemp "$(dirname -- "$dest")/.$(basename -- "$dest").XXXXXX")
  cat -- "$src" > "$new"
  chown "$uid:$gid" -- "$new"
  chmod "$mode" -- "$new"
  mv -f -- "$new" "$dest"
  say "installed $2"
  CHANGED=1
  [ -z "$restart" ] || RESTART=1
}

# Directories: /usr/local/lib/dualstack and /etc/dualstack, root-owned, 0755.
for d in "$LIB_DIR" "$CONF_DIR"; do
  if [ ! -d "$R$d" ]; then mkdir -p -- "$R$d"; chmod 0755 -- "$R$d"; CHANGED=1; fi
done

if [ -n "$ARTIFACT" ]; then put "$ARTIFACT" "$ARTIFACT_PATH" 0755 0 0 restart; fi

# Only the credentials installed are named: the agent refuses to start on a missing file.
{
  echo '{'
  echo "  \"collector\": \"$COLLECTOR\","
  [ "$HAS_TOKEN" = 0 ] || echo "  \"token-file\": \"$TOKEN_PATH\","
  [ "$HAS_SECRET" = 0 ] || echo "  \"secret-file\": \"$SECRET_PATH\","
  echo "  \"spool\": \"$STATE_DIR/spool\","
  echo "  \"interval\": \"$INTERVAL\""
  echo '}'
} > "$TMP/agent.json"
put "$TMP/agent.json" "$CONFIG_PATH" 0640 0 "$AGENT_GID" restart

# The agent re-reads its token before each delivery: a new token needs no restart.
if [ -n "$TOKEN" ]; then
  (umask 077; printf '%s\n' "$TOKEN" > "$TMP/token")
  put "$TMP/token" "$TOKEN_PATH" 0600 "$AGENT_UID" "$AGENT_GID"
fi
# Read when the agent enrolls (no host key yet, or its key revoked): a new secret needs no restart.
if [ -n "$SECRET" ]; then
  (umask 077; printf '%s\n' "$SECRET" > "$TMP/enroll-secret")
  put "$TMP/enroll-secret" "$SECRET_PATH" 0600 "$AGENT_UID" "$AGENT_GID"
fi

sed "s#^ExecStart=$DEFAULT_NODE #ExecStart=$NODE #" -- "$UNIT_SRC" > "$TMP/unit"
grep -q "^ExecStart=$NODE $ARTIFACT_PATH run --config $CONFIG_PATH" "$TMP/unit" ||
  die "$UNIT_SRC does not run $ARTIFACT_PATH with --config $CONFIG_PATH: not the agent's unit"
UNIT_BEFORE=$( [ -f "$R$UNIT_PATH" ] && cksum < "$R$UNIT_PATH" || echo none)
put "$TMP/unit" "$UNIT_PATH" 0644 0 0 restart
UNIT_AFTER=$(cksum < "$R$UNIT_PATH")

# The opt-in drop-ins: each installed with its option (marked as this script's), else removed
# when a run with that option installed it.
dropins_sum() { local o; for o in "${OPT_INS[@]}"; do [ -f "$R$DROPIN_DIR/$o.conf" ] && cksum < "$R$DROPIN_DIR/$o.conf" || echo none; done; }
DROPIN_BEFORE=$(dropins_sum)
for o in "${OPT_INS[@]}"; do
  path=$DROPIN_DIR/$o.conf
  if [ "${WANT[$o]}" = 1 ]; then
    { dropin_mark "$o"; cat -- "$HERE/systemd/$UNIT_NAME.d/$o.conf"; } > "$TMP/$o.conf"
    put "$TMP/$o.conf" "$path" 0644 0 0 restart
  elif [ -f "$R$path" ]; then
    if [ "$(head -n 1 -- "$R$path")" = "$(dropin_mark "$o")" ]; then
      rm -f -- "$R$path"
      rmdir -- "$R$DROPIN_DIR" 2>/dev/null || true
      case $o in
        firewall) say "removed $path (no --firewall: the agent no longer reads the firewall)" ;;
        *) say "removed $path (no --$o: the agent no longer enters other network namespaces)" ;;
      esac
      CHANGED=1
      RESTART=1
    else
      say "kept $path: not installed by $PROG --$o"
    fi
  fi
done
DROPIN_AFTER=$(dropins_sum)

# --- systemd
if [ "$LIVE" = 0 ]; then
  say "installed under $ROOT: systemctl not run (--root)"
elif [ "$SYSTEMD" = 0 ]; then
  say "systemd is not running here: start the agent yourself ($NODE $ARTIFACT_PATH run --config $CONFIG_PATH)"
else
  [ "$UNIT_BEFORE" = "$UNIT_AFTER" ] && [ "$DROPIN_BEFORE" = "$DROPIN_AFTER" ] || systemctl daemon-reload
  systemctl enable --quiet "$UNIT_NAME"
  if [ "$NO_START" = 1 ]; then
    say "enabled $UNIT_NAME (not started: --no-start)"
  elif ! systemctl is-active --quiet "$UNIT_NAME"; then
    systemctl start "$UNIT_NAME"; CHANGED=1; say "started $UNIT_NAME"
  elif [ "$RESTART" = 1 ]; then
    systemctl restart "$UNIT_NAME"; say "restarted $UNIT_NAME"
  fi
fi

if [ "$CHANGED" = 1 ]; then say "changed"; else say "unchanged: already installed as asked"; fi
