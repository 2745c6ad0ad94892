#!/usr/bin/env python3
"""POP3 load generator: the same workload against Sealbox and Dovecot in one run, with ratios.

    python3 Benchmarks/pop3_load.py [--sessions 10] [--seconds 10] [--messages 300]
                                    [--sealbox .build/release/sealbox] [--only sealbox|dovecot]

For each server in turn (Dovecot 2.3 from Debian on Maildir via scripts/dovecot-test.sh, Sealbox's
release binary on a fresh data directory; plaintext on loopback for both), it seeds the same M
messages (2-100 KB, a third with a base64 attachment; imap_load.make_messages) by IMAP APPEND, then
runs each workload with N concurrent POP3 sessions for S seconds:
  - session:  connect, USER/PASS, STAT, QUIT (what a mail client polling every few minutes does);
  - UIDL:     the full UIDL listing in a logged-in session (fetchmail's "what is new" step);
  - RETR:     RETR of a random message in a logged-in session (reported in msg/s and MB/s);
  - TOP 0:    the header of a random message (clients that preview before downloading).
Nothing is deleted, so every workload sees the same maildrop. It prints operations per second,
p50/p99 latency and the ratio Sealbox / Dovecot. The load generator is single-threaded asyncio on
the same cores as the servers: only the ratio is meaningful.
"""
import argparse, asyncio, os, random, resource, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Dovecot, Sealbox, make_messages, seed  # noqa: E402


class POP3:
    def __init__(self, r, w):
        self.r, self.w = r, w

    @classmethod
    async def connect(cls, port, user, password):
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        c = cls(r, w)
        await c.status()
        await c.cmd(f"USER {user}")
        await c.cmd(f"PASS {password}")
        return c

    async def status(self):
        line = await self.r.readline()
        if not line.startswith(b"+OK"):
            raise RuntimeError(f"POP3 error: {line!r}")
        return line

    async def cmd(self, text, multiline=False):
        self.w.write(text.encode() + b"\r\n")
        await self.w.drain()
        status = await self.status()
        if not multiline:
            return status, 0
        size = 0
        while True:
            line = await self.r.readline()
            if line == b".\r\n" or not line:
                return status, size
            size += len(line)

    async def quit(self):
        try:
            await self.cmd("QUIT")
        finally:
            self.w.close()


WORKLOADS = ("session", "UIDL", "RETR", "TOP 0")


async def worker(server, kind, count, deadline, rng, stats):
    c = None if kind == "session" else await POP3.connect(server.pop3_port, server.user, server.password)
    while time.monotonic() < deadline:
        t = time.perf_counter()
        size = 0
        if kind == "session":
            s = await POP3.connect(server.pop3_port, server.user, server.password)
            await s.cmd("STAT")
            await s.quit()
        elif kind == "UIDL":
            _, size = await c.cmd("UIDL", multiline=True)
        elif kind == "RETR":
            _, size = await c.cmd(f"RETR {rng.randint(1, count)}", multiline=True)
        else:
            _, size = await c.cmd(f"TOP {rng.randint(1, count)} 0", multiline=True)
        stats.append((time.perf_counter() - t, size))
    if c:
        await c.quit()


async def run_workload(server, kind, args, count):
    stats = []
    deadline = time.monotonic() + args.seconds
    started = time.monotonic()
    await asyncio.gather(*(worker(server, kind, count, deadline, random.Random(i), stats) for i in range(args.sessions)))
    return stats, time.monotonic() - started


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--messages", type=int, default=300)
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--only", choices=["sealbox", "dovecot"])
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    messages = make_messages(args.messages)
    print(f"workload: {args.messages} messages ({sum(map(len, messages)) / 1e6:.1f} MB), "
          f"{args.sessions} POP3 sessions x {args.seconds:.0f} s per workload")
    results = {}
    makers = ([("dovecot", Dovecot)] if args.only != "sealbox" else []) + \
             ([("sealbox", lambda: Sealbox(args.sealbox))] if args.only != "dovecot" else [])
    for name, make in makers:
        server = make()
        try:
            asyncio.run(seed(server, messages))
            results[name] = {kind: asyncio.run(run_workload(server, kind, args, len(messages))) for kind in WORKLOADS}
        finally:
            server.stop()
    names = list(results)
    print()
    print(f"{'':10}" + "".join(f"{n:>40}" for n in names) + ("   ratio sealbox/dovecot" if len(names) == 2 else ""))
    for kind in WORKLOADS:
        vals = []
        for n in names:
            stats, elapsed = results[n][kind]
            q = sorted(s[0] for s in stats)
            mbps = sum(s[1] for s in stats) / elapsed / 1e6
            vals.append((len(q) / elapsed, q[len(q) // 2] * 1000, q[min(len(q) - 1, int(len(q) * 0.99))] * 1000, mbps))
        line = f"{kind:10}" + "".join(
            f"{v[0]:>9.1f} op/s {v[1]:>6.1f}/{v[2]:>7.1f} ms {v[3]:>6.1f} MB/s" for v in vals)
        if len(vals) == 2:
            line += f"{vals[1][0] / vals[0][0]:>20.2f}"
        print(line)
    print(f"{'':10}(latency: p50/p99; MB/s: payload received)")


if __name__ == "__main__":
    main()
