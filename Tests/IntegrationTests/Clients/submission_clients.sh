#!/usr/bin/env bash
# Real submission clients against the submission ports (the Swift test checks what reached the
# smarthost): swaks --auth (PLAIN and LOGIN over STARTTLS, PLAIN over implicit TLS), curl smtp://
# with --ssl-reqd and smtps://, msmtp with STARTTLS and with implicit TLS. Each sends one message
# to <client>@remote.test; a wrong password must fail.
#   submission_clients.sh --host H --port P --tls-port P --user U --password P --cafile cert.pem --run ID
set -euo pipefail
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --tls-port) TLS_PORT=$2; shift 2 ;;
    --user) USER_ADDR=$2; shift 2 ;; --password) PASSWORD=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;;
    --run) RUN=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
msg() { printf 'From: %s\r\nTo: %s\r\nSubject: %s %s\r\nDate: Sun, 06 Dec 2026 09:00:00 +0000\r\nMessage-ID: <%s.%s@client.test>\r\n\r\nSent by %s.\r\n' \
  "$USER_ADDR" "$1" "$2" "$RUN" "$2" "$RUN" "$2"; }

SW=(swaks --server "$HOST" --from "$USER_ADDR" --ehlo swaks.test --timeout 30 --hide-all --tls-verify --tls-ca-path "$CAFILE"
    --auth-user "$USER_ADDR" --auth-password "$PASSWORD")
"${SW[@]}" --port "$PORT" --tls --auth PLAIN --to swaks-plain@remote.test --header "Subject: swaks-plain $RUN" || fail "swaks PLAIN exited $?"
echo "ok   swaks STARTTLS AUTH PLAIN"
"${SW[@]}" --port "$PORT" --tls --auth LOGIN --to swaks-login@remote.test --header "Subject: swaks-login $RUN" || fail "swaks LOGIN exited $?"
echo "ok   swaks STARTTLS AUTH LOGIN"
"${SW[@]}" --port "$TLS_PORT" --tlsc --auth PLAIN --to swaks-tlsc@remote.test --header "Subject: swaks-tlsc $RUN" || fail "swaks implicit TLS exited $?"
echo "ok   swaks implicit TLS AUTH PLAIN"
set +e
swaks --server "$HOST" --port "$PORT" --from "$USER_ADDR" --to nobody@remote.test --ehlo swaks.test --timeout 30 --hide-all \
  --tls --tls-verify --tls-ca-path "$CAFILE" --auth PLAIN --auth-user "$USER_ADDR" --auth-password "not-the-password"
status=$?
set -e
[ "$status" = 28 ] || fail "swaks with a wrong password exited $status, not 28 (authentication failed)"
echo "ok   swaks wrong password refused"

msg curl@remote.test curl-starttls > "$TMP/curl1.eml"
curl --silent --show-error --max-time 30 --ssl-reqd --cacert "$CAFILE" "smtp://$HOST:$PORT" --mail-from "$USER_ADDR" \
  --mail-rcpt curl@remote.test -u "$USER_ADDR:$PASSWORD" --upload-file "$TMP/curl1.eml" || fail "curl smtp:// --ssl-reqd exited $?"
echo "ok   curl smtp:// --ssl-reqd"
msg curl-smtps@remote.test curl-smtps > "$TMP/curl2.eml"
curl --silent --show-error --max-time 30 --cacert "$CAFILE" "smtps://$HOST:$TLS_PORT" --mail-from "$USER_ADDR" \
  --mail-rcpt curl-smtps@remote.test -u "$USER_ADDR:$PASSWORD" --upload-file "$TMP/curl2.eml" || fail "curl smtps:// exited $?"
echo "ok   curl smtps://"
if curl --silent --max-time 30 "smtp://$HOST:$PORT" --mail-from "$USER_ADDR" --mail-rcpt curl@remote.test -u "$USER_ADDR:$PASSWORD" \
     --upload-file "$TMP/curl1.eml" 2>/dev/null; then
  fail "curl without TLS sent a message"
fi
echo "ok   curl without TLS refused"

printf '%s' "$PASSWORD" > "$TMP/password"; chmod 600 "$TMP/password"
MS=(msmtp --host="$HOST" --auth=on --user="$USER_ADDR" --passwordeval="cat $TMP/password" --tls=on --tls-trust-file="$CAFILE"
    --from="$USER_ADDR" --domain=msmtp.test --timeout=30)
msg msmtp@remote.test msmtp-starttls | "${MS[@]}" --port="$PORT" --tls-starttls=on msmtp@remote.test || fail "msmtp STARTTLS exited $?"
echo "ok   msmtp STARTTLS"
msg msmtp-tls@remote.test msmtp-tls | "${MS[@]}" --port="$TLS_PORT" --tls-starttls=off msmtp-tls@remote.test || fail "msmtp implicit TLS exited $?"
echo "ok   msmtp implicit TLS"
