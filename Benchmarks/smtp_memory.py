#!/usr/bin/env python3
"""Memory of the MX under large messages at once: N clients each send one message of S MB to a
locked mailbox (so every message is sealed to its key and committed to the sealed queue) at the
same moment, against a release `sealbox serve` with a small in-flight budget
(`smtp.maxInFlightBytes`); the server's VmRSS is sampled from /proc every 50 ms.

    swift build -c release --product sealbox && cp .build/release/sealbox /tmp/sealbox
    python3 Benchmarks/smtp_memory.py [--clients 25] [--size-mb 40] [--cap-mb 256] [--sealbox /tmp/sealbox]

The server runs with the environment of scripts/serve (MALLOC_ARENA_MAX=2), the per-IP limits
raised as imap_load.Sealbox does for every benchmark (SEALBOX_SMTP_MAX_CONNECTIONS_PER_IP=5000,
SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP=0) and SEALBOX_SMTP_MAX_IN_FLIGHT_BYTES at the cap. Each client connects, sends EHLO, MAIL (with SIZE),
RCPT, waits for all the others to be ready, then DATA and the whole message in one go. Prints the
cap, the baseline, peak and after-run RSS, the replies to the messages (250 accepted, 452 refused
for the budget) and the peak over the baseline in units of the cap. A 250 is only given after the
durable commit, so `accepted` is also what the queue holds.
"""
import argparse, os, socket, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Sealbox  # noqa: E402


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def make_message(size):
    """A plain-text message of about `size` bytes on the wire: 76-character lines, none starting
    with a dot (so it needs no dot-stuffing), ended by CRLF . CRLF."""
    head = (b"From: bench@example.net\r\nTo: user@example.com\r\nSubject: smtp memory benchmark\r\n"
            b"Message-ID: <smtp-memory@example.net>\r\n\r\n")
    line = (b"abcdefghijklmnopqrstuvwxyz0123456789" * 3)[:76] + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body, head + body + b".\r\n"


class Client(threading.Thread):
    def __init__(self, port, wire, size, barrier):
        super().__init__(daemon=True)
        self.port, self.wire, self.size, self.barrier = port, wire, size, barrier
        self.result = None

    def run(self):
        try:
            self.result = self.session()
        except Exception as e:  # the connection closed or timed out: count it, do not stop the others
            self.result = f"error {type(e).__name__}"
            try:
                self.barrier.abort()
            except Exception:
                pass

    def session(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=600)
        f = s.makefile("rb")

        def reply():
            while True:
                line = f.readline()
                if not line:
                    raise ConnectionError("closed")
                if line[3:4] != b"-":
                    return line.decode(errors="replace").strip()

        def cmd(text):
            s.sendall(text.encode() + b"\r\n")
            return reply()

        reply()
        cmd("EHLO bench.example.net")
        r = cmd(f"MAIL FROM:<bench@example.net> SIZE={self.size}")
        if not r.startswith("250"):
            return r[:3]
        r = cmd("RCPT TO:<user@example.com>")
        if not r.startswith("250"):
            return r[:3]
        self.barrier.wait()
        r = cmd("DATA")
        if not r.startswith("354"):
            return r[:3]
        s.sendall(self.wire)
        r = reply()
        try:
            cmd("QUIT")
        except Exception:
            pass
        s.close()
        return r[:3]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=25)
    p.add_argument("--size-mb", type=float, default=40)
    p.add_argument("--cap-mb", type=int, default=256)
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    args = p.parse_args()
    cap = args.cap_mb << 20
    # As scripts/serve runs it (MALLOC_ARENA_MAX), with the budget and the per-IP limits set.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    os.environ.update(SEALBOX_SMTP_MAX_IN_FLIGHT_BYTES=str(cap), SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP="0")
    size = int(args.size_mb * 1e6)
    message, wire = make_message(size)
    server = Sealbox(args.sealbox)
    pid = server.proc.pid
    try:
        time.sleep(1)
        baseline = status_kb(pid, "VmRSS:")
        samples, stop = [], threading.Event()

        def sample():
            while not stop.is_set():
                samples.append(status_kb(pid, "VmRSS:"))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        barrier = threading.Barrier(args.clients, timeout=120)
        clients = [Client(server.smtp_port, wire, len(message), barrier) for _ in range(args.clients)]
        start = time.time()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = time.time() - start
        time.sleep(3)  # what the server gives back once the messages are committed
        stop.set()
        sampler.join()
        after = status_kb(pid, "VmRSS:")
        hwm = status_kb(pid, "VmHWM:")
        peak = max(max(samples, default=0), hwm)
        replies = {}
        for c in clients:
            replies[c.result] = replies.get(c.result, 0) + 1
        mb = lambda kb: kb / 1024
        print(f"sealbox serve, MALLOC_ARENA_MAX={os.environ['MALLOC_ARENA_MAX']} (as scripts/serve), "
              f"smtp.maxInFlightBytes = {args.cap_mb} MiB")
        print(f"{args.clients} clients x {len(message) / 1e6:.1f} MB at once, to a locked mailbox "
              f"({elapsed:.1f} s)")
        print(f"replies: {', '.join(f'{k}: {v}' for k, v in sorted(replies.items(), key=str))}"
              f"  (accepted {replies.get('250', 0)}, refused 452: {replies.get('452', 0)})")
        print(f"RSS baseline {mb(baseline):.0f} MiB, peak {mb(peak):.0f} MiB (VmHWM {mb(hwm):.0f}), "
              f"after {mb(after):.0f} MiB")
        print(f"peak - baseline = {(peak - baseline) * 1024 / cap:.2f} x cap; "
              f"after - baseline = {(after - baseline) * 1024 / cap:.2f} x cap")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
