#!/usr/bin/env python3
"""Memory of SEARCH: a seeded corpus (sync_bench's generator) APPENDed into a fresh `sealbox serve`,
then SEARCH keys that use the full-text index and keys that scan (strings too short for it), with
the server's resident memory (VmRSS) after each and its peak (VmHWM).

    python3 Benchmarks/search_memory.py [--messages 5000] [--sealbox .build/release/sealbox]
"""
import argparse, glob, imaplib, os, shutil, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import Sealbox, proc_sum, rss_kb  # noqa: E402
import sync_bench  # noqa: E402

KEYS = [("TEXT", "quokkaberry"), ("TEXT", "the"), ("BODY", "zq"), ("TEXT", "x"), ("HEADER", "X-Nothing", "y"),
        ("TEXT", "quokkaberry")]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--sealbox", default=os.path.join(sync_bench.ROOT, ".build/release/sealbox"))
    args = p.parse_args()
    root = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    server = None
    try:
        corpus = sync_bench.Corpus(args.messages, 42, root)
        server = Sealbox(args.sealbox)
        m = imaplib.IMAP4("127.0.0.1", server.port)
        m.login(server.user, server.password)
        files = sorted(glob.glob(corpus.maildir + "/cur/*") + glob.glob(corpus.maildir + "/new/*"))
        total = 0
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            total += len(data)
            m.append("INBOX", None, None, data)
        m.select("INBOX")
        pid = server.proc.pid
        print(f"{len(files)} messages, {total / 1e6:.0f} MB; server resident {rss_kb([pid]) / 1024:.0f} MB")
        for key in KEYS:
            t = time.time()
            _, data = m.search(None, *key)
            elapsed = time.time() - t
            print(f"SEARCH {' '.join(key)}: {len(data[0].split())} hits in {elapsed * 1000:.0f} ms; "
                  f"resident {rss_kb([pid]) / 1024:.0f} MB, peak {proc_sum([pid], 'status', 'VmHWM:') / 1024:.0f} MB")
        m.logout()
    finally:
        if server:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
