#!/usr/bin/env python3
"""A stream of deliveries for the crash test: sends numbered messages to the MX for as long as
`--stop-file` does not exist, records each one the server answered 250 for in `--acks` (one line
per message, flushed and fsynced before the next is sent), and reconnects whenever the server goes
away (it is killed and restarted under it). The port is read from `--port-file` on every connect.

    smtp_stream.py --port-file F --acks F --stop-file F --to ADDRESS [--per-connection N]
"""
import argparse
import os
import smtplib
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--acks", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--to", required=True)
    p.add_argument("--per-connection", type=int, default=5)
    p.add_argument("--max-seconds", type=float, default=240)
    opts = p.parse_args()
    n = 0
    deadline = time.monotonic() + opts.max_seconds
    with open(opts.acks, "a") as acks:
        while not os.path.exists(opts.stop_file) and time.monotonic() < deadline:
            try:
                port = int(open(opts.port_file).read().strip())
                s = smtplib.SMTP("127.0.0.1", port, timeout=10)
                s.ehlo("stream.example")
                for _ in range(opts.per_connection):
                    n += 1
                    subject = f"Crash {n:06d}"
                    body = (f"From: <stream@example.org>\r\nTo: <{opts.to}>\r\nSubject: {subject}\r\n"
                            f"Message-ID: <crash-{n}@example.org>\r\n\r\nbody {n}\r\n" + "z" * (n % 3000) + "\r\n")
                    s.sendmail("stream@example.org", [opts.to], body.encode())
                    # Only now did the server say 250.
                    acks.write(subject + "\n")
                    acks.flush()
                    os.fsync(acks.fileno())
                s.quit()
            except (OSError, smtplib.SMTPException, ValueError):
                time.sleep(0.05)
    print(f"sent {n}")


if __name__ == "__main__":
    main()
