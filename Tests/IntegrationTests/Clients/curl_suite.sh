#!/usr/bin/env bash
# curl as an IMAP client: LIST, CREATE, APPEND (-T), FETCH by MAILINDEX and by UID, a section,
# SEARCH and STORE with -X, EXAMINE, over imap:// (plaintext or STARTTLS with --ssl-reqd) and
# imaps:// with --cacert. Exit 0 only if every step matched; a failing step prints curl's -v log.
#
#   curl_suite.sh --host 127.0.0.1 --port 143 [--imaps-port 993] --user U --password P \
#                 [--tls none|starttls] [--cafile cert.pem] [--tls-name localhost]
# Environment fallbacks: IMAP_HOST IMAP_PORT IMAPS_PORT IMAP_USER IMAP_PASSWORD IMAP_TLS IMAP_CAFILE.
set -uo pipefail
HOST=${IMAP_HOST:-127.0.0.1}; PORT=${IMAP_PORT:-143}; IMAPS_PORT=${IMAPS_PORT:-}
USER_=${IMAP_USER:-testuser}; PASS=${IMAP_PASSWORD:-pass}; TLS=${IMAP_TLS:-none}; CAFILE=${IMAP_CAFILE:-}
TLS_NAME=${IMAP_TLS_NAME:-localhost}
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --imaps-port) IMAPS_PORT=$2; shift 2 ;;
    --user) USER_=$2; shift 2 ;; --password) PASS=$2; shift 2 ;; --tls) TLS=$2; shift 2 ;;
    --cafile) CAFILE=$2; shift 2 ;; --tls-name) TLS_NAME=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 3; }

WORK=$(mktemp -d /tmp/curl-suite.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RUN=$(( $(date +%s) % 100000 ))$RANDOM
BOX="Tcurl$RUN"
FAILED=0; PASSED=0; STEP=0

# curl's options for the plaintext port: --ssl-reqd upgrades with STARTTLS
BASE=(--silent --show-error --max-time 30 --user "$USER_:$PASS")
PLAIN=("${BASE[@]}")
if [ "$TLS" = starttls ]; then
  PLAIN+=(--ssl-reqd)
  if [ -n "$CAFILE" ]; then PLAIN+=(--cacert "$CAFILE" --connect-to "$TLS_NAME:$PORT:$HOST:$PORT"); else PLAIN+=(--insecure); fi
  URLHOST=$TLS_NAME
else
  URLHOST=$HOST
fi
URL="imap://$URLHOST:$PORT"

# run NAME CURL-ARGS… : runs curl with -v into a log; leaves stdout in $OUT
run() {
  local name=$1; shift
  STEP=$((STEP + 1))
  LOG="$WORK/step$STEP.log"; OUT="$WORK/step$STEP.out"
  echo "== $name: curl $*" > "$LOG"
  curl -v "$@" > "$OUT" 2>> "$LOG"
  RC=$?
  CUR_NAME=$name
  return 0
}

fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL $CUR_NAME — $1"
  echo "---- transcript (curl -v, credentials elided):"
  grep -v -i -e "AUTHENTICATE" -e "LOGIN " "$LOG" | sed 's/^/   /' | tail -60
  echo "---- output:"; head -c 2000 "$OUT" | sed 's/^/   /'; echo
}
pass() { PASSED=$((PASSED + 1)); echo "PASS $CUR_NAME"; }
expect_rc0() { [ "$RC" = 0 ] || { fail "curl exited $RC"; return 1; }; }

printf 'From: Curl Tester <curl@example.org>\r\nTo: %s\r\nSubject: curl test %s\r\nDate: Sun, 22 Nov 2026 09:00:00 +0000\r\nMessage-ID: <curl-%s@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello from curl.\r\nSecond line.\r\n' \
  "$USER_" "$RUN" "$RUN" > "$WORK/m1.eml"
printf 'From: Other <other@example.org>\r\nSubject: second %s\r\nMessage-ID: <curl2-%s@example.org>\r\n\r\nAnother body with giraffe.\r\n' "$RUN" "$RUN" > "$WORK/m2.eml"

echo "curl suite against $HOST:$PORT tls=$TLS${IMAPS_PORT:+ imaps=$IMAPS_PORT}"

run "LIST the mailboxes" "${PLAIN[@]}" "$URL/"
expect_rc0 && { grep -q '^\* LIST .*INBOX' "$OUT" && pass || fail "no INBOX in the LIST output"; }

run "CREATE a mailbox (-X)" "${PLAIN[@]}" "$URL/" -X "CREATE $BOX"
expect_rc0 && pass

run "APPEND with -T" "${PLAIN[@]}" "$URL/$BOX" -T "$WORK/m1.eml"
expect_rc0 && pass
run "APPEND a second message" "${PLAIN[@]}" "$URL/$BOX" -T "$WORK/m2.eml"
expect_rc0 && pass

run "EXAMINE (-X) shows 2 EXISTS" "${PLAIN[@]}" "$URL/" -X "EXAMINE $BOX"
expect_rc0 && { grep -q '^\* 2 EXISTS' "$OUT" && pass || fail "expected * 2 EXISTS"; }

run "FETCH by MAILINDEX=1 is byte-exact" "${PLAIN[@]}" "$URL/$BOX;MAILINDEX=1"
expect_rc0 && { cmp -s "$OUT" "$WORK/m1.eml" && pass || fail "fetched message differs from the appended one"; }

run "UID SEARCH for the second message (-X)" "${PLAIN[@]}" "$URL/$BOX" -X "UID SEARCH SUBJECT \"second $RUN\""
UID2=""
expect_rc0 && {
  UID2=$(sed -n 's/^\* SEARCH \([0-9]*\).*/\1/p' "$OUT" | tr -d '\r')
  [ -n "$UID2" ] && pass || fail "expected * SEARCH <uid>"
}

run "FETCH by UID" "${PLAIN[@]}" "$URL/$BOX;UID=${UID2:-0}"
expect_rc0 && { cmp -s "$OUT" "$WORK/m2.eml" && pass || fail "UID=$UID2 did not fetch the second message"; }

run "FETCH a SECTION (MAILINDEX=1;SECTION=TEXT)" "${PLAIN[@]}" "$URL/$BOX;MAILINDEX=1;SECTION=TEXT"
expect_rc0 && { [ "$(cat "$OUT")" = "$(printf 'Hello from curl.\r\nSecond line.\r\n')" ] && pass || fail "BODY[TEXT] content"; }

run "FETCH HEADER.FIELDS section" "${PLAIN[@]}" "$URL/$BOX;MAILINDEX=1;SECTION=HEADER.FIELDS%20(SUBJECT)"
expect_rc0 && { tr -d '\r' < "$OUT" | grep -qx "Subject: curl test $RUN" && pass || fail "Subject header"; }

run "SEARCH with several keys (-X)" "${PLAIN[@]}" "$URL/$BOX" -X "SEARCH FROM curl BODY \"Second line\" NOT DELETED"
expect_rc0 && { tr -d '\r' < "$OUT" | grep -qx '\* SEARCH 1' && pass || fail "expected * SEARCH 1"; }

run "SEARCH BODY giraffe (-X)" "${PLAIN[@]}" "$URL/$BOX" -X "SEARCH BODY giraffe"
expect_rc0 && { tr -d '\r' < "$OUT" | grep -qx '\* SEARCH 2' && pass || fail "expected * SEARCH 2"; }

run "STORE +FLAGS (-X)" "${PLAIN[@]}" "$URL/$BOX" -X 'STORE 1 +FLAGS (\Flagged)'
expect_rc0 && { grep -q '^\* 1 FETCH (.*\\Flagged' "$OUT" && pass || fail "expected * 1 FETCH (FLAGS (… \\Flagged …))"; }

run "FETCH FLAGS (-X) after STORE" "${PLAIN[@]}" "$URL/$BOX" -X 'FETCH 1:* (FLAGS)'
expect_rc0 && {
  grep -q '^\* 1 FETCH (.*\\Flagged' "$OUT" && ! grep -q '^\* 2 FETCH (.*\\Flagged' "$OUT" && pass \
    || fail "only message 1 is \\Flagged"
}

run "wrong password fails" --silent --show-error --max-time 30 --user "$USER_:wrong-$RUN" "${PLAIN[@]:6}" "$URL/"
[ "$RC" != 0 ] && { grep -qi 'AUTHENTICATIONFAILED\|Login denied\|NO ' "$LOG" && pass || fail "expected a NO reply"; } || fail "curl succeeded with a wrong password"

if [ -n "$IMAPS_PORT" ]; then
  TLSOPTS=("${BASE[@]}")
  if [ -n "$CAFILE" ]; then TLSOPTS+=(--cacert "$CAFILE" --connect-to "$TLS_NAME:$IMAPS_PORT:$HOST:$IMAPS_PORT"); else TLSOPTS+=(--insecure); fi
  SURL="imaps://$TLS_NAME:$IMAPS_PORT"
  run "imaps:// LIST with --cacert" "${TLSOPTS[@]}" "$SURL/"
  expect_rc0 && { grep -q '^\* LIST .*INBOX' "$OUT" && pass || fail "no INBOX over imaps"; }
  run "imaps:// FETCH MAILINDEX=1" "${TLSOPTS[@]}" "$SURL/$BOX;MAILINDEX=1"
  expect_rc0 && { cmp -s "$OUT" "$WORK/m1.eml" && pass || fail "imaps fetch differs"; }
  run "imaps:// APPEND with -T" "${TLSOPTS[@]}" "$SURL/$BOX" -T "$WORK/m2.eml"
  expect_rc0 && pass
  if [ -n "$CAFILE" ]; then
    run "imaps:// refuses an untrusted certificate" "${BASE[@]}" --connect-to "$TLS_NAME:$IMAPS_PORT:$HOST:$IMAPS_PORT" "$SURL/"
    [ "$RC" = 60 ] && pass || fail "expected curl exit 60 (certificate not trusted), got $RC"
  fi
fi

if [ "$TLS" = none ] && [ -n "$CAFILE" ]; then
  SOPTS=("${BASE[@]}" --ssl-reqd --cacert "$CAFILE" --connect-to "$TLS_NAME:$PORT:$HOST:$PORT")
  run "STARTTLS (--ssl-reqd) LIST" "${SOPTS[@]}" "imap://$TLS_NAME:$PORT/"
  expect_rc0 && { grep -q '^\* LIST .*INBOX' "$OUT" && pass || fail "no INBOX after STARTTLS"; }
fi

run "DELETE the test mailbox (-X)" "${PLAIN[@]}" "$URL/" -X "DELETE $BOX"
expect_rc0 && pass

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
