#!/bin/sh
# Vacation oracle: Pigeonhole's dovecot-lda (Debian dovecot-sieve) delivers a sequence of messages
# to one user with SCRIPT active and a fake sendmail that records what it is asked to send.
# usage: lda_vacation_oracle.sh SCRIPT RCPT CASES_DIR
#   CASES_DIR holds 1.eml 1.from 2.eml 2.from …, delivered in order (N.from: the envelope sender,
#   empty for <>). Prints one line per case: "send <recipient>" or "none".
# As root it runs dovecot-lda as an unprivileged user (sievetest), as sieve-oracle.sh does.
set -e
SCRIPT=$(readlink -f "$1"); RCPT=$2; CASES=$(readlink -f "$3")
LDA=/usr/lib/dovecot/dovecot-lda
W=$(mktemp -d); chmod 755 "$W"; mkdir -p "$W/out"
cp "$SCRIPT" "$W/active.sieve"
cp -R "$CASES" "$W/cases"; CASES="$W/cases"
cat > "$W/sendmail.sh" <<EOF
#!/bin/sh
n=\$(ls "$W/out" | wc -l)
{ echo "ARGS: \$*"; cat; } > "$W/out/\$n.eml"
EOF
chmod 755 "$W/sendmail.sh"
cat > "$W/lda.conf" <<EOF
mail_location = maildir:$W/Maildir
postmaster_address = postmaster@example.com
sendmail_path = $W/sendmail.sh
log_path = $W/lda.log
protocol lda {
  mail_plugins = sieve
}
plugin {
  sieve = file:$W/sieve;active=$W/active.sieve
  sieve_extensions = +vacation-seconds +editheader
}
EOF
run() {
  if [ "$(id -u)" = 0 ]; then
    id sievetest >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin sievetest
    chown -R sievetest "$W"
    su -s /bin/sh sievetest -c "HOME='$W' $LDA -c '$W/lda.conf' -f '$1' -a '$RCPT' < '$2'"
  else
    HOME="$W" $LDA -c "$W/lda.conf" -f "$1" -a "$RCPT" < "$2"
  fi
}
i=1
while [ -f "$CASES/$i.eml" ]; do
  before=$(ls "$W/out" | wc -l)
  from=$(cat "$CASES/$i.from")
  run "${from:-<>}" "$CASES/$i.eml"
  after=$(ls "$W/out" | wc -l)
  if [ "$after" -gt "$before" ]; then
    echo "send $(sed -n 's/^ARGS: .* -- //p' "$W/out/$before.eml")"
  else
    echo "none"
  fi
  i=$((i + 1))
done
rm -rf "$W"
