#!/usr/bin/env bash
# One ManageSieve scenario through Debian's sieve-connect (Perl, 0.90), against Sealbox or Dovecot's
# managesieved alike: upload, list, activate, check a valid and an invalid script (refused with a
# line-numbered error), download (byte-exact), deactivate, delete. sieve-connect logs in with
# AUTHENTICATE "PLAIN" and a non-synchronising literal ({n+}).
#   --tls starttls: STARTTLS, the certificate verified against --cafile, no login without it
#   --tls noverify: --notlsverify --clearchan (TLS when offered, unverified; cleartext otherwise:
#                   only where the server allows plaintext logins)
set -euo pipefail
HOST=127.0.0.1 PORT= USER_= PASSWORD= TLS=starttls CAFILE=
while [ $# -gt 0 ]; do
  case "$1" in
    --host) HOST=$2; shift 2 ;; --port) PORT=$2; shift 2 ;; --user) USER_=$2; shift 2 ;;
    --password) PASSWORD=$2; shift 2 ;; --tls) TLS=$2; shift 2 ;; --cafile) CAFILE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
printf 'require ["fileinto", "vacation"];\nif header :contains "subject" "[list]" {\n  fileinto "Lists";\n}\nvacation :days 7 "Away until Monday.";\n' > "$WORK/good.sieve"
printf 'fileinto "x"' > "$WORK/bad.sieve"
if [ "$TLS" = noverify ]; then MODE=(--notlsverify --clearchan); else MODE=(--noclearauth --tlscafile "$CAFILE"); fi

sc() {  # sieve-connect with the password on fd 3, bounded
  timeout 60 sieve-connect --server "$HOST" --port "$PORT" --user "$USER_" --passwordfd 3 "${MODE[@]}" "$@" 3<<<"$PASSWORD"
}
step() { echo "== $*"; }
fail() { echo "FAILED: $*"; exit 1; }

step upload; sc --upload --localsieve "$WORK/good.sieve" --remotesieve sealbox-test || fail upload
step list; out=$(sc --list) || fail list; echo "$out"; [ "$out" = '"sealbox-test"' ] || fail "list: $out"
step activate; sc --activate --remotesieve sealbox-test || fail activate
step list; out=$(sc --list) || fail list; echo "$out"; [ "$out" = '"sealbox-test" ACTIVE' ] || fail "list after activate: $out"
step "check valid"; sc --checkscript --localsieve "$WORK/good.sieve" || fail "checkscript valid"
step "check invalid"
if out=$(sc --checkscript --localsieve "$WORK/bad.sieve" 2>&1); then fail "invalid script accepted: $out"; fi
echo "$out"
grep -q "error" <<<"$out" || fail "no error reported: $out"
step "upload invalid"
if out=$(sc --upload --localsieve "$WORK/bad.sieve" --remotesieve bad 2>&1); then fail "invalid script stored: $out"; fi
echo "$out"
step download; sc --download --remotesieve sealbox-test --localsieve "$WORK/down.sieve" || fail download
cmp "$WORK/good.sieve" "$WORK/down.sieve" || fail "downloaded script differs"
step deactivate; sc --deactivate || fail deactivate
step delete; sc --delete --remotesieve sealbox-test || fail delete
step list; out=$(sc --list) || fail list; [ -z "$out" ] || fail "scripts left: $out"
echo "PASSED sieve-connect ($TLS)"
