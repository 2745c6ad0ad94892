#!/bin/sh
# Pigeonhole's sieve-test (Debian dovecot-sieve) as a reference for Sealbox's Sieve interpreter:
# prints the action list it computes for SCRIPT over MESSAGE (exit 89 when the script does not compile).
#   scripts/sieve-oracle.sh SCRIPT MESSAGE [ENVELOPE_FROM] [ENVELOPE_TO]
# sieve-test will not run as root without a mail user: as root it runs as the unprivileged user
# `sealbox-sievetest` (made on first use). The work directory is temporary and removed.
set -eu
script=$(readlink -f "$1"); message=$(readlink -f "$2")
from=${3:-sender@example.net}; to=${4:-rcpt@example.org}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$script" "$work/script.sieve"; cp "$message" "$work/message.eml"
cat > "$work/sieve-test.conf" <<CONF
mail_location = maildir:$work/Maildir
postmaster_address = postmaster@example.org
plugin {
  sieve_extensions = +vacation-seconds +editheader +spamtest +spamtestplus +virustest +special-use
}
CONF
chmod 755 "$work"
run="cd '$work' && sieve-test -C -c sieve-test.conf -f '$from' -r '$to' script.sieve message.eml"
if [ "$(id -u)" = 0 ]; then
  id sealbox-sievetest >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin sealbox-sievetest
  chown -R sealbox-sievetest "$work"
  set +e; su -s /bin/sh sealbox-sievetest -c "$run"; status=$?; set -e
else
  set +e; sh -c "$run"; status=$?; set -e
fi
exit $status
