#!/usr/bin/env bash
# curl as a POP3 client: LIST, RETR (exact bytes), UIDL and TOP with -X, DELE with -X -I, over
# pop3:// (plaintext, and STLS with --ssl-reqd and --cacert) and pop3s:// with --cacert; a wrong
# password must fail with curl's login-denied status (67). Exit 0 only if every step matched.
#
#   pop3_curl_suite.sh --host 127.0.0.1 --port 110 --pop3s-port 995 --user U --password P \
#                      --cafile cert.pem --expect DIR   (DIR: the maildrop's messages as 1.eml, 2.eml, …)
set -uo pipefail
HOST=127.0.0.1; PORT=; POP3S_PORT=; USER_=; PASS=; CAFILE=; EXPECT=; TLS_NAME=localhost
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --pop3s-port) POP3S_PORT=$2; shift 2 ;;
    --user) USER_=$2; shift 2 ;; --password) PASS=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;;
    --expect) EXPECT=$2; shift 2 ;; --tls) shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 3; }
WORK=$(mktemp -d /tmp/pop3-curl.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILED=0; PASSED=0; STEP=0
BASE=(--silent --show-error --max-time 30 --user "$USER_:$PASS")
STLS=("${BASE[@]}" --ssl-reqd --cacert "$CAFILE" --connect-to "$TLS_NAME:$PORT:$HOST:$PORT")
TLS=("${BASE[@]}" --cacert "$CAFILE" --connect-to "$TLS_NAME:$POP3S_PORT:$HOST:$POP3S_PORT")

run() {  # run NAME CURL-ARGS… : output in $OUT, status in $RC, -v log in $LOG
  CUR_NAME=$1; shift
  STEP=$((STEP + 1)); LOG="$WORK/step$STEP.log"; OUT="$WORK/step$STEP.out"
  echo "== $CUR_NAME: curl $*" > "$LOG"
  curl -v "$@" > "$OUT" 2>> "$LOG"; RC=$?
}
pass() { PASSED=$((PASSED + 1)); echo "ok   $CUR_NAME"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $CUR_NAME: $*"; sed 's/^/    /' "$LOG" | tail -40; }
expect_rc0() { if [ "$RC" -ne 0 ]; then fail "curl exited $RC"; return 1; fi; }

COUNT=$(ls "$EXPECT"/*.eml | wc -l)

run "LIST over pop3:// (plaintext)" "${BASE[@]}" "pop3://$HOST:$PORT/"
if expect_rc0; then
  want=$(for i in $(seq 1 "$COUNT"); do echo "$i $(stat -c %s "$EXPECT/$i.eml")"; done)
  if [ "$(tr -d '\r' < "$OUT")" = "$want" ]; then pass; else fail "listing $(cat "$OUT") != $want"; fi
fi

for i in $(seq 1 "$COUNT"); do
  run "RETR $i: identical bytes" "${BASE[@]}" "pop3://$HOST:$PORT/$i"
  if expect_rc0; then if cmp -s "$OUT" "$EXPECT/$i.eml"; then pass; else fail "bytes differ"; fi; fi
done

run "UIDL with -X" "${BASE[@]}" -X UIDL "pop3://$HOST:$PORT/"
if expect_rc0; then
  if [ "$(wc -l < "$OUT")" -eq "$COUNT" ] && grep -Eq '^1 [0-9]+\.[0-9]+' "$OUT"; then pass; else fail "$(cat "$OUT")"; fi
fi

run "TOP 1 0 with -X: the header only" "${BASE[@]}" -X "TOP 1 0" "pop3://$HOST:$PORT/"
if expect_rc0; then
  header=$(awk 'BEGIN{RS="\r\n\r\n"} NR==1{print; exit}' "$EXPECT/1.eml" | tr -d '\r')
  if [ "$(tr -d '\r' < "$OUT" | sed '/^$/d')" = "$header" ]; then pass; else fail "got $(cat "$OUT")"; fi
fi

run "LIST after STLS (--ssl-reqd, certificate verified)" "${STLS[@]}" "pop3://$TLS_NAME:$PORT/"
if expect_rc0; then if [ "$(wc -l < "$OUT")" -eq "$COUNT" ]; then pass; else fail "$(cat "$OUT")"; fi; fi

run "RETR 1 over pop3s:// (certificate verified)" "${TLS[@]}" "pop3s://$TLS_NAME:$POP3S_PORT/1"
if expect_rc0; then if cmp -s "$OUT" "$EXPECT/1.eml"; then pass; else fail "bytes differ"; fi; fi

run "a wrong password: login denied (67)" --silent --max-time 30 --user "$USER_:wrong" "pop3://$HOST:$PORT/"
if [ "$RC" -eq 67 ]; then pass; else fail "curl exited $RC, expected 67"; fi

run "DELE 1 with -X -I, committed at QUIT" "${BASE[@]}" -X DELE -I "pop3://$HOST:$PORT/1"
if expect_rc0; then
  run "LIST after DELE: one message fewer" "${BASE[@]}" "pop3://$HOST:$PORT/"
  if expect_rc0; then if [ "$(wc -l < "$OUT")" -eq $((COUNT - 1)) ]; then pass; else fail "$(cat "$OUT")"; fi; fi
fi

echo "pop3 curl suite: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
