#!/usr/bin/env python3
"""Inbound SMTP throughput: Postfix's smtp-source against Sealbox's MX, against Dovecot's LMTP
service (the delivery a Postfix + Dovecot server does for each inbound message) and against
Postfix's smtp-sink (which accepts and discards: the ceiling of this machine and tool), in one run.

    swift build -c release --product sealbox
    python3 Benchmarks/smtp_load.py [--sessions 1,10,50] [--sizes 10,100] [--messages 2000]
                                    [--sealbox .build/release/sealbox] [--unlocked]
                                    [--only sealbox,dovecot,sink]

For each message size (KB) and concurrency (parallel sessions), smtp-source sends the same number
of messages (one per connection, as MX traffic arrives) to each server in turn (smtp-sink, Dovecot,
Sealbox); the figure is messages accepted per second, wall clock.

- Sealbox runs its release binary on a fresh data directory; the recipient is user@example.com.
  Each message is sealed to the mailbox's X-Wing key and committed to the queue (SQLite WAL,
  synchronous = FULL: the WAL is fsynced at each commit) before the 250. Commits are fsynced since
  553c9df (before it, GRDB's DatabasePool had reset the setting to NORMAL when it set WAL up, and
  a 250 survived a crash of the process, not of the machine); since fec4e0c, messages committed
  at the same time by several sessions share one transaction and its fsync (group commit: at most
  256 messages or 32 MiB to one). With --unlocked an IMAP session holds the mailbox open, so
  every message is also moved into INBOX (decrypted with the mailbox's key, parsed, indexed) as
  it arrives, after the 250; the script then also reports the rate until the last one was in INBOX.
- Dovecot 2.3 (Debian, scripts/dovecot-test.sh with LMTP_PORT: Maildir, its default
  mail_fsync=optimized) receives the same messages over LMTP (smtp-source -L), each run for a user
  of its own (testuser1@example.com, testuser2@…) so that each starts on an empty Maildir; its 250
  comes after the message is in INBOX: the file fsynced and renamed into new/, the new/ directory
  and dovecot-uidlist fdatasynced, the index updated. The script checks that every message sent is
  in the Maildir.
- smtp-sink accepts and discards.

The load generator runs on the same cores as the servers, and Dovecot's figure follows the disk's
fsync latency, which other work on the machine moves: compare the ratios of one run (and of more
than one run), not the absolute figures.
"""
import argparse, asyncio, os, re, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Client, Dovecot, Sealbox, free_port  # noqa: E402


def tool(name):
    for d in ("/usr/sbin", "/usr/bin", "/usr/lib/postfix/sbin"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit(f"{name} not found: apt-get install postfix (scripts/setup-test-deps.sh does)")


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def source(port, sessions, size_kb, messages, settled=None, lmtp=False, to="user@example.com"):
    """Runs smtp-source (with `lmtp`, speaking LMTP); returns messages per second accepted and, with
    `settled` (a function that waits until the server has finished the work), per second until it had."""
    cmd = [tool("smtp-source")] + (["-L"] if lmtp else []) + [
        "-s", str(sessions), "-l", str(size_kb * 1024), "-m", str(messages),
        "-f", "sender@example.org", "-t", to, "-M", "bench.example", f"127.0.0.1:{port}"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0 or "error" in r.stderr.lower() or "fatal" in r.stderr.lower():
        raise RuntimeError(f"smtp-source failed: {r.stderr.strip()[:500]}")
    if settled is None:
        return messages / elapsed, None
    settled()
    return messages / elapsed, messages / (time.perf_counter() - t0)


class Sink:
    def __init__(self):
        self.port = free_port()
        args = [tool("smtp-sink"), "-c"] + (["-u", "nobody"] if os.geteuid() == 0 else []) + [f"127.0.0.1:{self.port}", "1024"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class DovecotLMTP:
    """Dovecot with its LMTP listener. Each run delivers to a user of its own (testuser1, 2, ...), so
    every run starts on an empty Maildir whatever ran before it: Dovecot's deliveries slow down as
    new/ fills (its directory is re-read when others changed it), which would otherwise favour
    Sealbox in every run but the first."""

    def __init__(self, runs):
        self.server = Dovecot(lmtp=True, users=max(2, runs))
        self.port = self.server.lmtp_port
        self.runs = 0

    def next_user(self):
        self.runs += 1
        return f"testuser{self.runs}"

    def delivered(self, user):
        """Messages in the user's INBOX (new/ and cur/)."""
        maildir = os.path.join(self.server.store_dir(), user, "Maildir")
        return sum(len(os.listdir(os.path.join(maildir, d))) for d in ("new", "cur") if os.path.isdir(os.path.join(maildir, d)))

    def stop(self):
        self.server.stop()


async def hold_unlocked(server):
    c = await Client.connect(server.port)
    await c.login(server.user, server.password)
    await c.cmd("SELECT INBOX")
    return c


async def inbox_count(client):
    for line in await client.cmd("STATUS INBOX (MESSAGES)"):
        m = re.search(rb"MESSAGES (\d+)", line)
        if m:
            return int(m.group(1))
    return 0


PEERS = ("sealbox", "dovecot", "sink")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", default="1,10,50")
    p.add_argument("--sizes", default="10,100")
    p.add_argument("--messages", type=int, default=2000, help="messages per 10 KB run (scaled down for bigger sizes)")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--unlocked", action="store_true")
    p.add_argument("--only", default=",".join(PEERS),
                   help="comma-separated servers to measure, of sealbox, dovecot, sink (default: all three)")
    args = p.parse_args()
    sessions = [int(x) for x in args.sessions.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    if not only or any(x not in PEERS for x in only):
        p.error(f"--only takes a comma-separated subset of {', '.join(PEERS)}")
    load_before = os.getloadavg()[0]
    sink = dovecot = server = holder = None
    loop = asyncio.new_event_loop()
    rows = []
    stored = [0]

    def settled():
        # Waits (bounded) until every message sent so far is in INBOX: the mailbox is unlocked,
        # so the server moves each one in as it arrives, in the background after the 250.
        deadline = time.time() + 600
        while time.time() < deadline:
            if loop.run_until_complete(inbox_count(holder)) >= stored[0]:
                return
            time.sleep(0.01)
        raise RuntimeError("the messages did not reach INBOX")

    def fmt(x, spec=",.0f"):
        return "-" if x is None else format(x, spec)

    def ratio(a, b):
        return None if a is None or b is None else a / b

    try:
        sink = Sink() if "sink" in only else None
        dovecot = DovecotLMTP(len(sizes) * len(sessions)) if "dovecot" in only else None
        if "sealbox" in only:
            server = Sealbox(args.sealbox)
            print(f"sealbox serve pid {server.proc.pid}", flush=True)
            holder = loop.run_until_complete(hold_unlocked(server)) if args.unlocked else None
        for size in sizes:
            count = max(200, args.messages * 10 // size)
            for n in sessions:
                ceiling = lmtp = sealbox = inbox = None
                if sink:
                    ceiling, _ = source(sink.port, n, size, count)
                if dovecot:
                    user = dovecot.next_user()
                    lmtp, _ = source(dovecot.port, n, size, count, lmtp=True, to=f"{user}@example.com")
                    if dovecot.delivered(user) != count:
                        raise RuntimeError(f"Dovecot has {dovecot.delivered(user)} of the {count} messages sent")
                if server:
                    stored[0] += count
                    sealbox, inbox = source(server.smtp_port, n, size, count, settled if holder else None)
                rows.append((size, n, count, sealbox, inbox, lmtp, ceiling))
                print(f"{size:>4} KB  {n:>3} sessions  {count:>5} msgs  sealbox {fmt(sealbox, '9.1f')}/s"
                      + (f" (all in INBOX {inbox:9.1f}/s)" if inbox else "")
                      + f"  dovecot lmtp {fmt(lmtp, '9.1f')}/s  smtp-sink {fmt(ceiling, '9.1f')}/s"
                      f"  sealbox/dovecot {fmt(ratio(sealbox, lmtp), '5.2f')}", flush=True)
    finally:
        if holder:
            loop.run_until_complete(holder.close())
        for s in (server, dovecot, sink):
            if s:
                s.stop()
    mode = "unlocked (moved into INBOX as it arrives)" if args.unlocked else "locked (sealed queue)"
    print(f"\nSealbox mailbox {mode}; {os.cpu_count()} cores shared with the load generator; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    extra = " Sealbox, all in INBOX, msg/s | in INBOX / Dovecot |" if args.unlocked else ""
    print("| size | sessions | messages | Sealbox msg/s | Dovecot LMTP msg/s | smtp-sink msg/s | Sealbox / Dovecot "
          "| Sealbox / smtp-sink |" + extra)
    print("|---|---|---|---|---|---|---|---|" + ("---|---|" if args.unlocked else ""))
    for size, n, count, sealbox, inbox, lmtp, ceiling in rows:
        print(f"| {size} KB | {n} | {count} | {fmt(sealbox)} | {fmt(lmtp)} | {fmt(ceiling)} "
              f"| {fmt(ratio(sealbox, lmtp), '.2f')} | {fmt(ratio(sealbox, ceiling), '.2f')} |"
              + (f" {fmt(inbox)} | {fmt(ratio(inbox, lmtp), '.2f')} |" if args.unlocked else ""))


if __name__ == "__main__":
    main()
