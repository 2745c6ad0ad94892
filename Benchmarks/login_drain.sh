#!/usr/bin/env bash
# First login after a long absence (issue 15, item 4): N messages are sent with Postfix's
# smtp-source into a locked mailbox (they wait sealed in the queue), then imaplib logs in and
# polls STATUS until all are in INBOX. Prints how long the login took to be answered, how many
# messages were in INBOX then, and when all were.
#
#   Benchmarks/login_drain.sh [BINARY] [N]     (default .build/release/sealbox, 8000)
#
# Compare two builds by running it with each binary. Fresh data directory each run; loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$ROOT/.build/release/sealbox}; N=${2:-8000}
command -v smtp-source >/dev/null || { echo "needs smtp-source (Debian postfix)" >&2; exit 2; }
D=$(mktemp -d /tmp/login-drain.XXXXXX); export SEALBOX_DATA_DIR=$D SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP=0
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$D"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IMAP=$(free_port); SMTP=$(free_port)
"$B" domain add example.org >/dev/null; "$B" alias add u@example.org >/dev/null
PW=$("$B" password generate u@example.org 2>&1 | tr -d '\n')
"$B" serve --imap-port "$IMAP" --imaps-port off --pop3-port off --pop3s-port off --smtp-port "$SMTP" --managesieve-port off --allow-insecure-auth > "$D/serve.log" 2>&1 & SPID=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$SMTP") 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s.%N)
smtp-source -s 10 -m "$N" -l 2000 -f sender@example.net -t u@example.org 127.0.0.1:"$SMTP"
echo "smtp-source: $N messages of 2 KB in $(python3 -c "import time; print(round(time.time() - $t0, 2))") s (10 sessions)"
python3 - "$PW" "$N" "$IMAP" <<'EOF'
import imaplib, sys, time
pw, n, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter()
m = imaplib.IMAP4("127.0.0.1", port); m.login("u@example.org", pw)
login = time.perf_counter() - t
first = int(m.select("INBOX")[1][0])
count = first
while count < n and time.perf_counter() - t < 600:
    count = int(m.status("INBOX", "(MESSAGES)")[1][0].split(b"MESSAGES ")[1].rstrip(b")"))
    time.sleep(0.05)
print(f"login answered in {login:.2f} s with {first} of {n} in INBOX; {count} after {time.perf_counter() - t:.2f} s")
m.logout()
EOF
