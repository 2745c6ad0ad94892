#!/usr/bin/env bash
# offlineimap3 two-way sync between a local Maildir and the server, the same scenario as
# mbsync_suite.sh: seed and pull; push a local flag change, deletions, a new message and a move;
# pull a server-side flag change, delete + expunge, append and MOVE; compare both sides each time.
#
#   offlineimap_suite.sh --host H --port P --user U --password PW [--tls none|starttls|implicit]
#                        [--cafile F] [--tls-name localhost]
# Environment fallbacks: IMAP_HOST IMAP_PORT IMAP_USER IMAP_PASSWORD IMAP_TLS IMAP_CAFILE;
# SEALBOX_TEST_PYTHON (default python3) runs the helper (offlineimap runs on the system python).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${SEALBOX_TEST_PYTHON:-python3}
HOST=${IMAP_HOST:-127.0.0.1}; PORT=${IMAP_PORT:-143}; USER_=${IMAP_USER:-testuser}; PASS=${IMAP_PASSWORD:-pass}
TLS=${IMAP_TLS:-none}; CAFILE=${IMAP_CAFILE:-}; TLS_NAME=${IMAP_TLS_NAME:-localhost}
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --user) USER_=$2; shift 2 ;;
    --password) PASS=$2; shift 2 ;; --tls) TLS=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;;
    --tls-name) TLS_NAME=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v offlineimap >/dev/null || { echo "offlineimap is not installed (offlineimap3)" >&2; exit 3; }

WORK=$(mktemp -d /tmp/offlineimap-suite.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PREFIX="Tof$(( $(date +%s) % 100000 ))$RANDOM"
mkdir -p "$WORK/mail" "$WORK/meta"
HELPER=("$PY" "$HERE/sync_helper.py" --host "$HOST" --port "$PORT" --user "$USER_" --password "$PASS" --tls "$TLS")
[ -n "$CAFILE" ] && HELPER+=(--cafile "$CAFILE")

case "$TLS" in
  none) TLSCONF=$'ssl = no\nstarttls = no' ; CONNECT_HOST=$HOST ;;
  starttls) TLSCONF=$'ssl = no\nstarttls = yes' ; CONNECT_HOST=$TLS_NAME ;;
  implicit) TLSCONF=$'ssl = yes\nstarttls = no' ; CONNECT_HOST=$TLS_NAME ;;
esac
if [ "$TLS" != none ]; then
  [ -n "$CAFILE" ] || { echo "offlineimap needs --cafile for TLS" >&2; exit 2; }
  TLSCONF+=$'\n'"sslcacertfile = $CAFILE"
fi
printf '%s' "$PASS" > "$WORK/pass"
cat > "$WORK/offlineimaprc" <<EOF
[general]
accounts = test
metadata = $WORK/meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = $WORK/mail
sep = /

[Repository remote]
type = IMAP
remotehost = $CONNECT_HOST
remoteport = $PORT
remoteuser = $USER_
remotepassfile = $WORK/pass
$TLSCONF
folderfilter = lambda f: f.startswith('$PREFIX/')
createfolders = True
expunge = yes
maxconnections = 1
holdconnectionopen = no
timeout = 30
EOF

FAILED=0
show_log() { echo "---- offlineimap transcript (last 60 lines):"; tail -60 "$WORK/offlineimap.log" | sed 's/^/   /'; }
sync_step() {  # NAME
  echo "== offlineimap -o ($1)" >> "$WORK/offlineimap.log"
  if timeout 180 offlineimap -c "$WORK/offlineimaprc" -o -u basic >> "$WORK/offlineimap.log" 2>&1 \
      && ! grep -q "^ERROR" "$WORK/offlineimap.log"; then
    echo "PASS offlineimap $1"
  else
    echo "FAIL offlineimap $1"; FAILED=$((FAILED + 1)); show_log
  fi
}
helper() {
  if ! "${HELPER[@]}" "$@" --prefix "$PREFIX" --root "$WORK/mail"; then
    FAILED=$((FAILED + 1)); [ "$1" = check ] && show_log
  fi
}

echo "offlineimap suite against $HOST:$PORT tls=$TLS, folders $PREFIX/{one,two,three}"
helper seed
sync_step "initial pull"
helper check initial
helper local-change
sync_step "push local changes"
# offlineimap propagates a Maildir T flag as \Deleted without expunging: m2 stays, marked, on both sides
helper check pushed --deleted-flag-kept
helper server-change
sync_step "pull server changes"
helper check final
sync_step "idempotent re-run"
helper check final

"$PY" - "$PREFIX" <<EOF >/dev/null 2>&1 || true
import sys; sys.path.insert(0, "$HERE")
from imapclient import common_args, connect
o = common_args("").parse_args(["--host", "$HOST", "--port", "$PORT", "--user", "$USER_", "--password", open("$WORK/pass").read(), "--tls", "$TLS"] + (["--cafile", "$CAFILE"] if "$CAFILE" else []))
m = connect(o, "cleanup")
for f in ("one", "two", "three"): m.delete(sys.argv[1] + "/" + f)
m.delete(sys.argv[1]); m.logout()
EOF
echo "offlineimap suite: $FAILED failure(s)"
[ "$FAILED" = 0 ]
