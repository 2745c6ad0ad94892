#!/usr/bin/env bash
# swaks (Debian) against the MX, imaplib checking what arrived.
#   swaks_suite.sh --host H --port SMTP --imap-port P --user U --password P [--cafile cert.pem]
# Plain, --pipeline, STARTTLS with the certificate verified (--tls-verify), an attachment, refused
# recipients (exit 24), and raw DATA with a bare-LF end-of-data form (--no-data-fixup): it must be
# one message, the smuggled text inside it.
set -euo pipefail
CAFILE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --imap-port) IMAP_PORT=$2; shift 2 ;;
    --user) USER_ADDR=$2; shift 2 ;; --password) PASSWORD=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
RUN=$(date +%s%N)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# count SUBJECT-TEXT: messages whose Subject contains the text
count() {
  HOST=$HOST IMAP_PORT=$IMAP_PORT USER_ADDR=$USER_ADDR PASSWORD=$PASSWORD python3 - "$1" <<'PY'
import imaplib, os, sys
m = imaplib.IMAP4(os.environ["HOST"], int(os.environ["IMAP_PORT"]), timeout=30)
m.login(os.environ["USER_ADDR"], os.environ["PASSWORD"]); m.select("INBOX", readonly=True)
typ, data = m.search(None, "SUBJECT", "\"" + sys.argv[1] + "\""); print(len(data[0].split())); m.logout()
PY
}
SW=(swaks --server "$HOST" --port "$PORT" --from sender@example.org --ehlo swaks.example --timeout 30 --hide-all)

"${SW[@]}" --to "$USER_ADDR" --header "Subject: swaks plain $RUN" --body "plain body" || fail "plain send exited $?"
[ "$(count "swaks plain $RUN")" = 1 ] || fail "plain message not in INBOX"
echo "ok   plain"

"${SW[@]}" --pipeline --to "$USER_ADDR" --header "Subject: swaks pipeline $RUN" --body "pipelined" || fail "pipelined send exited $?"
[ "$(count "swaks pipeline $RUN")" = 1 ] || fail "pipelined message not in INBOX"
echo "ok   pipeline"

if [ -n "$CAFILE" ]; then
  "${SW[@]}" --tls --tls-verify --tls-ca-path "$CAFILE" --to "$USER_ADDR" \
    --header "Subject: swaks tls $RUN" --body "over TLS" || fail "STARTTLS send exited $?"
  [ "$(count "swaks tls $RUN")" = 1 ] || fail "TLS message not in INBOX"
  echo "ok   starttls (verified)"
fi

head -c 20000 /dev/urandom > "$TMP/blob.bin"
"${SW[@]}" --to "$USER_ADDR" --header "Subject: swaks attach $RUN" --body "see attached" --attach "@$TMP/blob.bin" \
  || fail "attachment send exited $?"
[ "$(count "swaks attach $RUN")" = 1 ] || fail "attachment message not in INBOX"
echo "ok   attachment"

set +e
"${SW[@]}" --to "nobody-$RUN@example.com" --header "Subject: swaks refused $RUN" --body "x"
rc=$?
set -e
[ $rc = 24 ] || fail "an unknown recipient: swaks exit 24 (no RCPT accepted) expected, got $rc"
echo "ok   refused recipient (exit 24)"

printf 'Subject: swaks smuggle %s\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<%s>\r\nDATA\r\nSubject: swaks smuggled %s\r\n\r\nsmuggled\r\n.\r\n' \
  "$RUN" "$USER_ADDR" "$RUN" > "$TMP/smuggle.eml"
"${SW[@]}" --to "$USER_ADDR" --data "$TMP/smuggle.eml" --no-data-fixup || fail "raw bare-LF send exited $?"
[ "$(count "swaks smuggle $RUN")" = 1 ] || fail "the carrier message is not in INBOX once"
[ "$(count "swaks smuggled $RUN")" = 0 ] || fail "a smuggled message was accepted"
echo "ok   bare-LF smuggling attempt is one message"
echo "all swaks checks passed"
