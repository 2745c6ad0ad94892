#!/usr/bin/env python3
"""What inbound authentication costs the MX: the same messages sent to Sealbox's MX with the checks
off (`auth.enabled = false`) and on (SPF, DKIM, ARC, DMARC against a local nsd serving the sender's
zone: SPF pass, one Ed25519 and one RSA-2048 DKIM signature, DMARC p=reject), in one run. Needs
the test venv (dkimpy, cryptography, dnspython: scripts/setup-test-deps.sh) and Debian nsd.

    swift build -c release --product sealbox
    .deps/test-venv/bin/python Benchmarks/auth_load.py [--sessions 1,10] [--messages 2000] [--sealbox .build/release/sealbox]

Each message is ~10 KB, signed once by dkimpy before the run (every session sends the same bytes:
verification costs the same for each), one message per connection as MX traffic arrives. The
figures: messages accepted per second (wall clock) and the server's CPU milliseconds per message,
with the ratio on/off. DNS answers are cached by the node's resolver after the first message, as
they are for a real sender that sends a lot. The per-message verification cost without network or
SMTP is `SealboxBench auth`.
"""
import argparse, asyncio, base64, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Sealbox, cpu_seconds, free_port  # noqa: E402


def nsd_zone(records):
    """nsd on 127.0.0.1:<free port> serving `bench.example`; returns (process, port, directory)."""
    d = tempfile.mkdtemp(prefix="auth-bench-nsd-")
    os.chmod(d, 0o755)
    port = free_port()
    with open(os.path.join(d, "bench.example.zone"), "w") as f:
        f.write("$ORIGIN bench.example.\n$TTL 3600\n@ IN SOA ns hostmaster 1 3600 600 86400 3600\n@ IN NS ns\nns IN A 127.0.0.1\n")
        f.write(records)
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(f"""server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  database: ""
  pidfile: "{d}/nsd.pid"
  xfrdfile: "{d}/xfrd.state"
  zonelistfile: "{d}/zone.list"
  logfile: "{d}/nsd.log"
  verbosity: 0
zone:
  name: bench.example
  zonefile: bench.example.zone
""")
    proc = subprocess.Popen([shutil.which("nsd") or "/usr/sbin/nsd", "-d", "-c", os.path.join(d, "nsd.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import dns.message, dns.query
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if dns.query.udp(dns.message.make_query("bench.example", "SOA"), "127.0.0.1", port=port, timeout=0.5).answer:
                break
        except Exception:
            time.sleep(0.1)
    return proc, port, d


def signed_message(size_kb):
    """A message from news@bench.example signed with a fresh Ed25519 and RSA-2048 key; the key records."""
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 2 + "\r\n") * (size_kb * 1024 // 116)
    message = ("From: News <news@bench.example>\r\nTo: <user@example.com>\r\nSubject: Auth bench\r\n"
               "Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@bench.example>\r\n\r\n" + body).encode()
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_seed = ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    ed_pub = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r_pem = r.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    r_pub = r.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    headers = [b"from", b"to", b"subject", b"date", b"message-id"]
    sig1 = dkim.sign(message, b"ed", b"bench.example", base64.b64encode(ed_seed), signature_algorithm=b"ed25519-sha256", include_headers=headers)
    sig2 = dkim.sign(message, b"rsa", b"bench.example", r_pem, include_headers=headers)
    def txt(text):  # split into 255-byte character-strings
        return " ".join('"%s"' % text[i:i + 255] for i in range(0, len(text), 255))
    records = (f"@ IN TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc IN TXT \"v=DMARC1; p=reject\"\n"
               f"ed._domainkey IN TXT {txt('v=DKIM1; k=ed25519; p=' + base64.b64encode(ed_pub).decode())}\n"
               f"rsa._domainkey IN TXT {txt('v=DKIM1; k=rsa; p=' + base64.b64encode(r_pub).decode())}\n")
    return sig1 + sig2 + message, records


async def send_all(port, sessions, count, message):
    data = message.replace(b"\r\n.", b"\r\n..")
    remaining = [count]
    failures = []

    async def reply(reader):
        while True:
            line = await reader.readline()
            if not line:
                raise RuntimeError("connection closed")
            if line[3:4] != b"-":
                return line

    async def worker():
        while remaining[0] > 0:
            remaining[0] -= 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reply(reader)
            for cmd in (b"EHLO client.bench.example", b"MAIL FROM:<news@bench.example>", b"RCPT TO:<user@example.com>", b"DATA"):
                writer.write(cmd + b"\r\n")
                await reply(reader)
            writer.write(data + b"\r\n.\r\n")
            line = await reply(reader)
            if not line.startswith(b"250"):
                failures.append(line)
            writer.write(b"QUIT\r\n")
            await reply(reader)
            writer.close()

    await asyncio.gather(*(worker() for _ in range(sessions)))
    if failures:
        raise RuntimeError(f"{len(failures)} messages refused, e.g. {failures[0]!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", default="1,10")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--size", type=int, default=10, help="KB per message")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    args = p.parse_args()
    message, records = signed_message(args.size)
    nsd, dns_port, nsd_dir = nsd_zone(records)
    rows = []
    try:
        for label, env in (("off", {"SEALBOX_AUTH_ENABLED": "false"}),
                           ("on", {"SEALBOX_AUTH_ENABLED": "true", "SEALBOX_DNS_SERVERS": f"127.0.0.1@{dns_port}",
                                   "SEALBOX_DNS_TRUST_ANCHOR": "none", "SEALBOX_SERVER_HOSTNAME": "mx.example.com"})):
            server = Sealbox(args.sealbox, extra_env=env)
            try:
                asyncio.run(send_all(server.smtp_port, 1, 5, message))  # warm-up (and the resolver's cache)
                for n in [int(x) for x in args.sessions.split(",")]:
                    cpu0, t0 = cpu_seconds(server.pids()), time.perf_counter()
                    asyncio.run(send_all(server.smtp_port, n, args.messages, message))
                    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(server.pids()) - cpu0
                    rows.append((label, n, args.messages / elapsed, cpu * 1000 / args.messages))
                    print(f"auth {label:>3}  {n:>3} sessions  {args.messages / elapsed:8.1f} msg/s  {cpu * 1000 / args.messages:6.2f} ms CPU/msg", flush=True)
                if label == "on":
                    log = open(os.path.join(server.dir, "serve.log")).read()
                    if "message refused" in log:
                        raise RuntimeError("the server refused messages: see " + server.dir)
            finally:
                server.stop()
    finally:
        nsd.terminate()
        nsd.wait()
        shutil.rmtree(nsd_dir, ignore_errors=True)
    print(f"\n{os.cpu_count()} cores shared with the load generator; {args.size} KB messages, Ed25519 + RSA-2048 DKIM, SPF pass, DMARC p=reject")
    print("| sessions | off msg/s | on msg/s | on / off | off ms CPU/msg | on ms CPU/msg |")
    print("|---|---|---|---|---|---|")
    for n in sorted({r[1] for r in rows}):
        off = next(r for r in rows if r[0] == "off" and r[1] == n)
        on = next(r for r in rows if r[0] == "on" and r[1] == n)
        print(f"| {n} | {off[2]:.0f} | {on[2]:.0f} | {on[2] / off[2]:.2f} | {off[3]:.2f} | {on[3]:.2f} |")


if __name__ == "__main__":
    main()
