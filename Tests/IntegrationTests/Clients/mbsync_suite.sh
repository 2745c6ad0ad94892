#!/usr/bin/env bash
# mbsync (isync 1.4) syncing both ways between a local Maildir and the server:
#  1. the server is seeded (3 folders, flags) and mbsync pulls everything;
#  2. local flag change, a message marked deleted, a file removed, a new local message and a
#     message moved between folders are pushed;
#  3. server-side changes (flag, delete + expunge, append, MOVE through imaplib) are pulled;
# after each sync both sides are compared with the expected state (count, flags, Message-IDs).
#
#   mbsync_suite.sh --host H --port P --user U --password PW [--tls none|starttls|implicit] [--cafile F]
#                   [--tls-name localhost]  (with TLS mbsync connects to this name, which must be in the certificate)
# Environment fallbacks: IMAP_HOST IMAP_PORT IMAP_USER IMAP_PASSWORD IMAP_TLS IMAP_CAFILE;
# SEALBOX_TEST_PYTHON (default python3).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=${SEALBOX_TEST_PYTHON:-python3}
HOST=${IMAP_HOST:-127.0.0.1}; PORT=${IMAP_PORT:-143}; USER_=${IMAP_USER:-testuser}; PASS=${IMAP_PASSWORD:-pass}
TLS=${IMAP_TLS:-none}; CAFILE=${IMAP_CAFILE:-}; TLS_NAME=${IMAP_TLS_NAME:-localhost}
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --user) USER_=$2; shift 2 ;;
    --password) PASS=$2; shift 2 ;; --tls) TLS=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;; --tls-name) TLS_NAME=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v mbsync >/dev/null || { echo "mbsync is not installed (isync)" >&2; exit 3; }

WORK=$(mktemp -d /tmp/mbsync-suite.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PREFIX="Tmb$(( $(date +%s) % 100000 ))$RANDOM"
mkdir -p "$WORK/mail"
HELPER=("$PY" "$HERE/sync_helper.py" --host "$HOST" --port "$PORT" --user "$USER_" --password "$PASS" --tls "$TLS")
[ -n "$CAFILE" ] && HELPER+=(--cafile "$CAFILE")

case "$TLS" in
  none) TLSCONF="SSLType None" ;;
  starttls) TLSCONF="SSLType STARTTLS" ;;
  implicit) TLSCONF="SSLType IMAPS" ;;
esac
CONNECT_HOST=$HOST
if [ "$TLS" != none ]; then
  # mbsync 1.4 checks the certificate's DNS names only (not IP addresses): connect by name
  CONNECT_HOST=$TLS_NAME
  if [ -n "$CAFILE" ]; then TLSCONF+=$'\n'"CertificateFile $CAFILE"; else echo "mbsync needs --cafile for TLS" >&2; exit 2; fi
fi
printf '%s' "$PASS" > "$WORK/pass"
# isync 1.4: SSLType (not TLSType), blank lines between sections
cat > "$WORK/mbsyncrc" <<EOF
IMAPAccount remote
Host $CONNECT_HOST
Port $PORT
User $USER_
PassCmd "cat $WORK/pass"
$TLSCONF
AuthMechs LOGIN
Timeout 30

IMAPStore remote
Account remote

MaildirStore local
Path $WORK/mail/
Inbox $WORK/mail/INBOX
SubFolders Verbatim

Channel test
Far :remote:
Near :local:
Patterns "$PREFIX/*"
Create Both
Expunge Both
SyncState *
CopyArrivalDate yes
EOF

FAILED=0
sync_step() {  # NAME
  echo "== mbsync -a ($1)" >> "$WORK/mbsync.log"
  if timeout 120 mbsync -V -c "$WORK/mbsyncrc" -a >> "$WORK/mbsync.log" 2>&1; then
    echo "PASS mbsync $1"
  else
    echo "FAIL mbsync $1 (exit $?)"; FAILED=$((FAILED + 1)); show_log
  fi
}
show_log() { echo "---- mbsync transcript (last 60 lines):"; tail -60 "$WORK/mbsync.log" | sed 's/^/   /'; }
helper() {  # ACTION [STAGE]
  if ! "${HELPER[@]}" "$@" --prefix "$PREFIX" --root "$WORK/mail"; then
    FAILED=$((FAILED + 1)); [ "$1" = check ] && show_log
  fi
}

echo "mbsync suite against $HOST:$PORT tls=$TLS, folders $PREFIX/{one,two,three}"
helper seed
sync_step "initial pull"
helper check initial
helper local-change
sync_step "push local changes"
helper check pushed
helper server-change
sync_step "pull server changes"
helper check final
sync_step "idempotent re-run"
helper check final

# clean up the server side
"$PY" - "$PREFIX" <<EOF >/dev/null 2>&1 || true
import sys; sys.path.insert(0, "$HERE")
from imapclient import common_args, connect
o = common_args("").parse_args(["--host", "$HOST", "--port", "$PORT", "--user", "$USER_", "--password", open("$WORK/pass").read(), "--tls", "$TLS"] + (["--cafile", "$CAFILE"] if "$CAFILE" else []))
m = connect(o, "cleanup")
for f in ("one", "two", "three"): m.delete(sys.argv[1] + "/" + f)
m.delete(sys.argv[1]); m.logout()
EOF
echo "mbsync suite: $FAILED failure(s)"
[ "$FAILED" = 0 ]
