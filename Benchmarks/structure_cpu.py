#!/usr/bin/env python3
"""The server's CPU per `UID FETCH 1:* (X)` on a mailbox of sync_bench's corpus: Dovecot and one or
more Sealbox binaries in one run, rounds alternating.

    python3 Benchmarks/structure_cpu.py [--dovecot] --sealbox BINARY [--sealbox OTHER_BINARY ...]
                                        [--messages 5000] [--reps 20] [--rounds 3]
                                        [--queries BODYSTRUCTURE,ENVELOPE,FLAGS] [--perf DIR]

Writes sync_bench's seeded corpus (5,000 messages, 276 MB) to /dev/shm, APPENDs it by imaplib to a
fresh Dovecot 2.3 (Debian, Maildir, scripts/dovecot-test.sh) and to a fresh `sealbox serve` per
binary, then for each round, server and query: one untimed call, then REPS timed calls on one
session, the server's CPU (user + system, /proc/<pid>/stat, 10 ms ticks) divided by REPS. The wall
times printed include imaplib parsing every answer. Sealbox's CPU is what a profile of one query
should start from: `--perf DIR` records each Sealbox round with `perf record -g` (its sampling costs
CPU: do not take the figures of such a run).
"""
import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sync_bench import Corpus, connect, ok  # noqa: E402
from imap_load import Dovecot, Sealbox, cpu_seconds, start_perf, stop_perf  # noqa: E402


def load(server, corpus, files):
    m = connect(server)
    for name in files:
        with open(os.path.join(corpus.maildir, "cur", name), "rb") as f:
            data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        ok(m.append("INBOX", "(\\Seen)", None, data), "APPEND")
    m.logout()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sealbox", action="append", default=[], help="a Sealbox binary (repeatable)")
    p.add_argument("--dovecot", action="store_true", help="also Dovecot 2.3 from Debian")
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--queries", default="BODYSTRUCTURE,ENVELOPE,FLAGS")
    p.add_argument("--perf", metavar="DIR")
    a = p.parse_args()
    root = "/dev/shm/sealbox-structure-cpu" if os.access("/dev/shm", os.W_OK) else "/tmp/sealbox-structure-cpu"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    corpus = Corpus(a.messages, 42, root)
    files = sorted(os.listdir(os.path.join(corpus.maildir, "cur")))
    makers = ([("dovecot", Dovecot)] if a.dovecot else []) + [(b, (lambda b=b: Sealbox(b))) for b in a.sealbox]
    servers = []
    try:
        for label, make in makers:
            server = make()
            servers.append((label, server))
            load(server, corpus, files)
        time.sleep(3)  # Sealbox indexes the text after the upload: not in the figures
        for rnd in range(a.rounds):
            for label, server in servers:
                m = connect(server)
                ok(m.select("INBOX"), "SELECT")
                for q in a.queries.split(","):
                    ok(m.uid("FETCH", "1:*", f"({q})"), q)
                    perf = (start_perf(server, a.perf, f"{os.path.basename(label)}-{q}-{rnd}")
                            if a.perf and label != "dovecot" else None)
                    cpu, t = cpu_seconds(server.pids()), time.perf_counter()
                    for _ in range(a.reps):
                        ok(m.uid("FETCH", "1:*", f"({q})"), q)
                    wall = (time.perf_counter() - t) / a.reps
                    cpu = (cpu_seconds(server.pids()) - cpu) / a.reps
                    stop_perf(perf)
                    print(f"round {rnd} {label:>28} {q:>14}: server CPU {cpu * 1000:7.2f} ms/call, wall {wall * 1000:7.1f} ms",
                          flush=True)
                m.logout()
    finally:
        for _, server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
