#!/usr/bin/env bash
# fetchmail as a POP3 client: retrieves the maildrop (keep, UIDL), checks each message against the
# expected bytes, polls again and must find nothing new (UIDL stable across sessions), then
# retrieves with deletion and finds the maildrop empty. Over STLS (sslcertck with the server's
# certificate) or pop3s (--ssl). Exit 0 only if every step matched.
#
#   fetchmail_suite.sh --host 127.0.0.1 --port 110 --user U --password P --tls starttls|implicit \
#                      --cafile cert.pem --expect DIR   (DIR: the maildrop's messages as 1.eml, 2.eml, …)
set -uo pipefail
HOST=127.0.0.1; PORT=; USER_=; PASS=; CAFILE=; EXPECT=; TLS=starttls
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --user) USER_=$2; shift 2 ;;
    --password) PASS=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;; --expect) EXPECT=$2; shift 2 ;;
    --tls) TLS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v fetchmail >/dev/null || { echo "fetchmail is not installed" >&2; exit 3; }
WORK=$(mktemp -d /tmp/fetchmail-suite.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/out"
FAILED=0; PASSED=0
COUNT=$(ls "$EXPECT"/*.eml | wc -l)
SSL="sslproto 'tls1.2+' sslcertck sslcertfile \"$CAFILE\" sslcommonname localhost"
[ "$TLS" = implicit ] && SSL="ssl $SSL"

rcfile() {  # rcfile keep|nokeep
  cat > "$WORK/rc" <<RC
set no syslog
poll $HOST port $PORT protocol POP3 uidl timeout 30
  user "$USER_" there with password "$PASS" is "$(id -un)" here
  $SSL
  mda "/bin/sh -c 'cat > $WORK/out/msg.\$\$'"
  no rewrite $1
RC
  chmod 600 "$WORK/rc"
}
poll() {  # poll NAME: runs fetchmail once, status in $RC, log in $WORK/log
  NAME=$1; shift
  FETCHMAILHOME="$WORK" timeout 120 fetchmail -f "$WORK/rc" --nodetach --invisible -v "$@" > "$WORK/log" 2>&1; RC=$?
}
pass() { PASSED=$((PASSED + 1)); echo "ok   $NAME"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $NAME: $*"; sed 's/^/    /' "$WORK/log" | grep -v 'PASS ' | tail -40; }

# fetchmail hands the MDA LF line endings; the comparison is on the text with CR removed.
compare() {
  local got=0
  for f in "$WORK"/out/msg.*; do
    [ -e "$f" ] || continue
    local match=""
    for i in $(seq 1 "$COUNT"); do
      if cmp -s <(tr -d '\r' < "$EXPECT/$i.eml") "$f"; then match=$i; fi
    done
    [ -n "$match" ] || { echo "no expected message matches $(head -c 300 "$f")"; return 1; }
    got=$((got + 1))
  done
  [ "$got" -eq "$COUNT" ] || { echo "$got messages delivered, expected $COUNT"; return 1; }
}

rcfile keep
poll "retrieve all ($TLS), keep"
if [ "$RC" -eq 0 ] && grep -q "$COUNT messages for" "$WORK/log"; then
  if out=$(compare); then pass; else fail "$out"; fi
else fail "fetchmail exited $RC"; fi

rm -f "$WORK"/out/*
poll "poll again: nothing new (UIDLs remembered)"
if [ "$RC" -eq 1 ] && [ -z "$(ls "$WORK/out")" ]; then pass; else fail "exit $RC, $(ls "$WORK/out" | wc -l) messages"; fi

rcfile nokeep
poll "retrieve all again and delete (fetchall nokeep)" --all
if [ "$RC" -eq 0 ]; then if out=$(compare); then pass; else fail "$out"; fi; else fail "fetchmail exited $RC"; fi

rm -f "$WORK"/out/*
poll "the maildrop is empty" --all
if [ "$RC" -eq 1 ] && grep -q "No mail for" "$WORK/log"; then pass; else fail "exit $RC"; fi

echo "fetchmail suite: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
