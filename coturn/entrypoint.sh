#!/bin/sh
# Starts coturn with Parley's configuration:
#   1. turnserver.conf (static, no secrets) is copied as is;
#   2. turnserver.conf.template gets every ${NAME} replaced by the environment variable NAME
#      (TURN_SECRET, TURN_REALM) and is appended;
#   3. TURN_EXTERNAL_IP, when set, adds "external-ip=..." (public[/private], for 1:1 NAT);
# into a file only the current user can read, then execs turnserver on it. Extra arguments
# are passed to turnserver (command-line options override the file).
#
# Environment: TURN_SECRET (required, the same value as the API's), TURN_REALM (required),
# TURN_EXTERNAL_IP (optional), COTURN_RENDERED_CONF (default /tmp/turnserver.conf),
# TURNSERVER_BIN (default turnserver).
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
out=${COTURN_RENDERED_CONF:-/tmp/turnserver.conf}

: "${TURN_SECRET:?TURN_SECRET must be set (the same secret as the Parley API)}"
: "${TURN_REALM:?TURN_REALM must be set (e.g. turn.example.com)}"

umask 077
rm -f "$out"
trap 'rm -f "$out"' EXIT
{
  cat "$here/turnserver.conf"
  printf '\n# ---- rendered from turnserver.conf.template by entrypoint.sh ----\n'
  # A literal substitution (no regex or '&' surprises, whatever the secret contains).
  awk '
    /^[ \t]*#/ { print; next }
    {
      line = $0; res = ""
      while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        if (!(name in ENVIRON) || ENVIRON[name] == "") {
          print "entrypoint.sh: " name " is not set" > "/dev/stderr"; failed = 1; exit 1
        }
        res = res substr(line, 1, RSTART - 1) ENVIRON[name]
        line = substr(line, RSTART + RLENGTH)
      }
      print res line
    }
    END { if (failed) exit 1 }
  ' "$here/turnserver.conf.template"
  if [ -n "${TURN_EXTERNAL_IP:-}" ]; then
    printf 'external-ip=%s\n' "$TURN_EXTERNAL_IP"
  fi
} > "$out"
trap - EXIT

exec "${TURNSERVER_BIN:-turnserver}" -c "$out" "$@"
