#!/usr/bin/env python3
"""FETCH of message structure and of large messages: Sealbox against Dovecot in one run, with ratios.

    python3 Benchmarks/fetch_bench.py [--messages 500] [--attachment-kb 1024] [--reps 5] [--big-mb 50]
                                      [--sealbox .build/release/sealbox] [--sealbox-before OLD_BINARY]

For each server in turn (Dovecot 2.3 from Debian on Maildir via scripts/dovecot-test.sh; Sealbox's
release binary on a fresh data directory; plaintext on loopback for both; with --sealbox-before,
an older Sealbox binary too, for a before/after figure):
  1. seeds M messages, each a short text part plus a distinct random attachment of A KB (base64),
     by APPEND over one connection;
  2. times, over R repetitions (median), on one session with INBOX selected:
     UID FETCH 1:* (ENVELOPE), (BODYSTRUCTURE), (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]),
     (FLAGS);
  3. appends one message of B MB and times FETCH n (BODY.PEEK[]) of it, sampling the server's
     resident memory every 5 ms during the FETCH: the peak growth over the resident memory just
     before says whether the message was held whole (Sealbox streams messages over 1 MiB).
Ratios are other / Sealbox time (above 1: Sealbox faster). Client and servers share the machine's
cores, so only ratios taken in one run mean much.
"""
import argparse, asyncio, base64, os, random, statistics, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import Client, Dovecot, Sealbox, dovecot_pids, rss_kb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OPERATIONS = [
    ("UID FETCH 1:* (ENVELOPE)", "envelope"),
    ("UID FETCH 1:* (BODYSTRUCTURE)", "bodystructure"),
    ("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", "header fields"),
    ("UID FETCH 1:* (FLAGS)", "flags"),
]


def make_messages(count, attachment_kb, seed=7):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        blob = rng.randbytes(attachment_kb * 1024)
        b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
        out.append((f"From: Sender {i % 37} <sender{i % 37}@example.org>\r\nTo: User <user@example.com>\r\n"
                    f"Subject: report {i}\r\nDate: Sun, 22 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\r\n"
                    f"Message-ID: <fetch-{i}@example.org>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    f"The figures for {i} are attached.\r\n--b\r\nContent-Type: application/pdf; name=\"r{i}.pdf\"\r\n"
                    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"r" + str(i) + ".pdf\"\r\n\r\n"
                    + b64 + "--b--\r\n").encode())
    return out


def big_message(megabytes):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n"
    body = line * (megabytes * 1024 * 1024 // len(line))
    return (b"From: big@example.org\r\nTo: user@example.com\r\nSubject: big\r\nMessage-ID: <big@example.org>\r\n"
            b"Content-Type: text/plain\r\n\r\n" + body)


class RSSSampler(threading.Thread):
    def __init__(self, pids_fn):
        super().__init__(daemon=True)
        self.pids_fn, self.peak, self.running = pids_fn, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_kb(self.pids_fn()))
            time.sleep(0.005)


async def measure(server, messages, big, reps):
    c = await Client.connect(server.port)
    await c.login(server.user, server.password)
    for m in messages:
        await c.cmd("APPEND INBOX", literal=m)
    await c.cmd("SELECT INBOX")
    times = {}
    for command, name in OPERATIONS:
        await c.cmd(command)  # warm: first reads, caches, lazily computed structure
        samples = []
        for _ in range(reps):
            t = time.perf_counter()
            await c.cmd(command)
            samples.append(time.perf_counter() - t)
        times[name] = statistics.median(samples)
    await c.cmd("APPEND INBOX", literal=big)
    await c.cmd("NOOP")
    n = len(messages) + 1
    pids = server.pids if hasattr(server, "pids") else (lambda: [])
    before = rss_kb(pids())
    sampler = RSSSampler(pids)
    sampler.start()
    t = time.perf_counter()
    lines = await c.cmd(f"FETCH {n} (BODY.PEEK[])")
    times["big"] = time.perf_counter() - t
    sampler.running = False
    sampler.join()
    assert sum(len(l) for l in lines) > len(big), "big message not returned"
    await c.close()
    return times, max(0, sampler.peak - before)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--attachment-kb", type=int, default=1024)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--big-mb", type=int, default=50)
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--sealbox-before", help="an older sealbox binary to compare with")
    args = p.parse_args()
    messages = make_messages(args.messages, args.attachment_kb)
    big = big_message(args.big_mb)
    servers = [("dovecot", Dovecot)]
    if args.sealbox_before:
        servers.append(("sealbox-before", lambda: Sealbox(args.sealbox_before)))
    servers.append(("sealbox", lambda: Sealbox(args.sealbox)))
    results = {}
    for name, make in servers:
        server = make()
        try:
            results[name] = asyncio.run(measure(server, messages, big, args.reps))
        finally:
            server.stop()
    mail_mb = sum(len(m) for m in messages) / 1e6
    print(f"\n{args.messages} messages with a {args.attachment_kb} KB attachment each ({mail_mb:.0f} MB of mail); "
          f"median of {args.reps}; ratio = other time / Sealbox time")
    names = [n for n, _ in servers]
    header = "| operation | " + " | ".join(names) + " | " + " | ".join(f"{n} / sealbox" for n in names if n != "sealbox") + " |"
    print(header)
    print("|" + "---|" * (1 + len(names) + len(names) - 1))
    for _, key in OPERATIONS + [(None, "big")]:
        label = key if key != "big" else f"FETCH BODY.PEEK[] of a {args.big_mb} MB message"
        cells = [f"{results[n][0][key] * 1000:.1f} ms" for n in names]
        ratios = [f"{results[n][0][key] / results['sealbox'][0][key]:.2f}" for n in names if n != "sealbox"]
        print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    cells = [f"{results[n][1] / 1024:.1f} MB" for n in names]
    print(f"| peak resident memory growth during the {args.big_mb} MB FETCH | " + " | ".join(cells) + " |" + " |" * (len(names) - 1))


if __name__ == "__main__":
    main()
