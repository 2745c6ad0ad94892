#!/usr/bin/env python3
"""Inbound SMTP throughput: Postfix's smtp-source against Sealbox's MX and against Postfix's
smtp-sink (which accepts and discards: the ceiling of this machine and tool), in one run.

    swift build -c release --product sealbox
    python3 Benchmarks/smtp_load.py [--sessions 1,10,50] [--sizes 10,100] [--messages 2000]
                                    [--sealbox .build/release/sealbox] [--unlocked]

For each message size (KB) and concurrency (parallel SMTP sessions), smtp-source sends the same
number of messages (one per connection, as MX traffic arrives) to user@example.com; the figure is
messages accepted per second, wall clock. Sealbox runs its release binary on a fresh data
directory: each message is sealed to the mailbox's X-Wing key and committed (fsync) to the queue
before the 250. With --unlocked an IMAP session holds the mailbox open, so every message is also
moved into INBOX (decrypted with the mailbox's key, parsed, indexed) as it arrives. The load
generator runs on the same cores as the servers: compare the ratios, not the absolute figures.
"""
import argparse, asyncio, os, re, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Client, Sealbox, free_port  # noqa: E402


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


def source(port, sessions, size_kb, messages, settled=None):
    """Runs smtp-source; returns messages per second accepted and, with `settled` (a function that
    waits until the server has finished the work), per second until it had."""
    cmd = [tool("smtp-source"), "-s", str(sessions), "-l", str(size_kb * 1024), "-m", str(messages),
           "-f", "sender@example.org", "-t", "user@example.com", "-M", "bench.example", f"127.0.0.1:{port}"]
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sessions", default="1,10,50")
    p.add_argument("--sizes", default="10,100")
    p.add_argument("--messages", type=int, default=2000, help="messages per 10 KB run (scaled down for bigger sizes)")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--unlocked", action="store_true")
    args = p.parse_args()
    sessions = [int(x) for x in args.sessions.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    sink = Sink()
    server = Sealbox(args.sealbox)
    loop = asyncio.new_event_loop()
    holder = loop.run_until_complete(hold_unlocked(server)) if args.unlocked else None
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

    try:
        for size in sizes:
            count = max(200, args.messages * 10 // size)
            for n in sessions:
                ceiling, _ = source(sink.port, n, size, count)
                stored[0] += count
                sealbox, inbox = source(server.smtp_port, n, size, count, settled if holder else None)
                rows.append((size, n, count, ceiling, sealbox, inbox))
                print(f"{size:>4} KB  {n:>3} sessions  {count:>5} msgs  smtp-sink {ceiling:9.1f}/s  sealbox {sealbox:9.1f}/s"
                      f"  ratio {sealbox / ceiling:5.2f}" + (f"  in INBOX {inbox:9.1f}/s" if inbox else ""), flush=True)
    finally:
        if holder:
            loop.run_until_complete(holder.close())
        server.stop()
        sink.stop()
    mode = "unlocked (moved into INBOX as it arrives)" if args.unlocked else "locked (sealed queue)"
    print(f"\nmailbox {mode}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    extra = " Sealbox, all in INBOX, msg/s |" if args.unlocked else ""
    print("| size | sessions | messages | smtp-sink msg/s | Sealbox msg/s | ratio |" + extra)
    print("|---|---|---|---|---|---|" + ("---|" if args.unlocked else ""))
    for size, n, count, ceiling, sealbox, inbox in rows:
        print(f"| {size} KB | {n} | {count} | {ceiling:,.0f} | {sealbox:,.0f} | {sealbox / ceiling:.2f} |"
              + (f" {inbox:,.0f} |" if inbox else ""))


if __name__ == "__main__":
    main()
