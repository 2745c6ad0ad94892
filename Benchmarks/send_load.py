#!/usr/bin/env python3
"""Sending throughput: submission to delivery at the recipient's MX, Sealbox beside Postfix relaying
the same stream to the same MX, in one run.

    swift build -c release --product sealbox
    python3 Benchmarks/send_load.py [--sessions 1,10,50] [--messages 1000] [--size 10]
                                    [--sealbox .build/release/sealbox] [--only sealbox,postfix]
                                    [--dump FILE]

The recipient's MX is Postfix's smtp-sink on 127.0.0.2 (it accepts and discards; with -c it
prints a running count of the messages it received, which the script reads). For each concurrency
N, N client sessions (Python smtplib, one thread each; STARTTLS, then one message after another over
the one connection, the messages shared evenly) submit the same messages (default 1000 of 10 KB,
From sender@example.com, to user@dest.example) to each server in turn. The figure is messages per
second from the first connection to the sink having received the last message (wall clock), the
ratio Sealbox / Postfix, and the CPU time (user + system) the server spent per message.

- Sealbox: its release binary on a fresh data directory (`domain add example.com`, `alias add
  sender@example.com`, `password generate`), `serve --listen 127.0.0.1` with only the submission
  listener (STARTTLS, its self-signed certificate), AUTH PLAIN after STARTTLS as a mail client
  does; the per-alias sending limits off (`submission.maxMessagesPerHour` and
  `.maxRecipientsPerDay` 0). Each message is committed to the queue (fsynced) before the 250, then
  delivered directly: MX of dest.example looked up through DNS (nsd on a loopback port serving
  `@ MX 10 mx`, `mx A 127.0.0.2`; `dns.trustAnchor` none, so no DNSSEC and no DANE; the MTA-STS TXT
  lookup finds none), `outbound.mxPort` = the sink's port, DKIM-signed with the domain's Ed25519
  and RSA-2048 keys (`SealboxBench dkim` times that alone). CPU: the serve process.
- Postfix 3.7 (Debian): a private instance in a temporary directory (`postfix -c DIR start`, its
  own queue and data directories, no chroot, logging to a file through postlogd), smtpd on
  127.0.0.1 and a free port with STARTTLS offered (Sealbox's certificate and key), `relayhost =
  [127.0.0.2]:<sink port>` (no DNS lookup), `mynetworks = 127.0.0.0/8` so the client relays
  without AUTH (Postfix needs Dovecot or Cyrus for SASL; leaving it out favours Postfix by one
  password check per session), no DKIM signing (no milter: that favours Postfix by the cost
  `SealboxBench dkim` prints), everything else Postfix's defaults (queue files fsynced before the
  250, up to 20 parallel deliveries to the relayhost, connection caching). CPU: the master process
  and all its children, the exited ones included (the master's cutime/cstime).

The client, both servers and the sink share the machine's cores, and the figures follow the disk's
fsync latency and the other work on the machine: compare the ratios of one run (and of more than
one run), not the absolute figures.
"""
import argparse, os, re, shutil, signal, smtplib, socket, ssl, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, free_port, stop_serve  # noqa: E402
from smtp_load import tool  # noqa: E402

SINK_HOST = "127.0.0.2"
DEST = "dest.example"
TICKS = os.sysconf("SC_CLK_TCK")


def wait_port(host, port, timeout=30, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def make_messages(count, size_kb):
    line = "The quarterly report is attached; the meeting moved to Thursday at ten, room 4.\r\n"
    out = []
    for i in range(count):
        head = (f"From: Sender <sender@example.com>\r\nTo: User <user@{DEST}>\r\nSubject: send bench #{i}\r\n"
                f"Date: Sun, 06 Dec 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <send-bench-{i}-{time.time_ns()}@example.com>\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
        body = line * ((size_kb * 1024 - len(head)) // len(line))
        out.append((head + body).encode())
    return out


def cpu_seconds(pid, children=False):
    """User + system time of `pid`; with `children`, also of its reaped children and of its live ones."""
    def stat(p):
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    fields = stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children that exited
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    f = stat(p)
                    if int(f[1]) == pid:  # ppid (field 4)
                        ticks += int(f[11]) + int(f[12])
                except (OSError, IndexError):
                    pass
    return ticks / TICKS


class Sink:
    """smtp-sink on 127.0.0.2, with a thread reading its running counter (-c: `... mesg=N\\r` when
    a message's final "." arrives)."""

    def __init__(self, dump=None):
        self.port = free_port()
        self.count = 0
        self.cond = threading.Condition()
        args = [tool("smtp-sink"), "-c"] + (["-D", dump] if dump else []) + (["-u", "nobody"] if os.geteuid() == 0 else []) \
            + [f"{SINK_HOST}:{self.port}", "1024"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()
        wait_port(SINK_HOST, self.port, proc=self.proc)

    def _read(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            buf += chunk
            *done, buf = buf.split(b"\r")
            for rec in reversed(done):
                m = re.search(rb"mesg=(\d+)", rec)
                if m:
                    with self.cond:
                        self.count = int(m.group(1))
                        self.at = time.perf_counter()
                        self.cond.notify_all()
                    break

    def wait_for(self, target, timeout):
        """Waits until the sink has received `target` messages in all; returns when the last arrived."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.count >= target, timeout):
                raise RuntimeError(f"the sink received {self.count} messages, expected {target}")
            return self.at

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class NSD:
    """Debian's nsd on 127.0.0.1 and a free port, serving dest.example (as Tests/TestSupport/TestDNSServer.swift)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="send-bench-dns-")
        with open(os.path.join(self.dir, f"{DEST}.zone"), "w") as f:
            f.write(f"$ORIGIN {DEST}.\n$TTL 300\n@ IN SOA ns.{DEST}. hostmaster.{DEST}. 1 3600 600 86400 60\n"
                    f"@ IN NS ns.{DEST}.\nns IN A 127.0.0.1\n@ IN MX 10 mx\nmx IN A {SINK_HOST}\n")
        self.proc = None
        for _ in range(5):  # the free port can be taken before nsd binds it
            self.port = free_port()
            d = self.dir
            with open(os.path.join(d, "nsd.conf"), "w") as f:
                f.write(f'server:\n  ip-address: 127.0.0.1@{self.port}\n  username: ""\n  chroot: ""\n  zonesdir: "{d}"\n'
                        f'  database: ""\n  zonelistfile: "{d}/zone.list"\n  xfrdfile: "{d}/xfrd.state"\n  xfrdir: "{d}"\n'
                        f'  pidfile: "{d}/nsd.pid"\n  logfile: "{d}/nsd.log"\n  server-count: 1\n  verbosity: 1\n'
                        f'  hide-version: yes\nremote-control:\n  control-enable: no\n'
                        f'zone:\n  name: "{DEST}"\n  zonefile: "{d}/{DEST}.zone"\n')
            self.proc = subprocess.Popen([tool("nsd"), "-d", "-c", os.path.join(d, "nsd.conf")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                wait_port("127.0.0.1", self.port, timeout=20, proc=self.proc)
                return
            except RuntimeError:
                self._kill()
        raise RuntimeError(f"nsd did not start; see {self.dir}/nsd.log")

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stop(self):
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sealbox:
    name = "sealbox"

    def __init__(self, binary, dns_port, sink_port):
        self.binary = os.path.abspath(binary)
        self.dir = tempfile.mkdtemp(prefix="sealbox-send-bench-")
        env = dict(os.environ, SEALBOX_DATA_DIR=self.dir, SEALBOX_SERVER_HOSTNAME="mx.example.com",
                   SEALBOX_DNS_SERVERS=f"127.0.0.1@{dns_port}", SEALBOX_DNS_TRUST_ANCHOR="none",
                   SEALBOX_OUTBOUND_MX_PORT=str(sink_port),
                   SEALBOX_SUBMISSION_MAX_MESSAGES_PER_HOUR="0", SEALBOX_SUBMISSION_MAX_RECIPIENTS_PER_DAY="0",
                   SEALBOX_SUBMISSION_MAX_CONNECTIONS_PER_IP="5000", SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP="0")
        run = lambda *a: subprocess.run([self.binary, *a], env=env, check=True, capture_output=True, text=True,
                                        timeout=120).stdout
        run("domain", "add", "example.com")
        run("alias", "add", "sender@example.com")
        self.user, self.password = "sender@example.com", run("password", "generate", "sender@example.com").strip()
        self.err = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen([self.binary, "serve", "--listen", "127.0.0.1", "--imap-port", "off", "--imaps-port", "off",
                                      "--pop3-port", "off", "--pop3s-port", "off", "--smtp-port", "off", "--managesieve-port", "off",
                                      "--submission-port", "auto", "--submissions-port", "off"],
                                     env=env, stderr=self.err, stdout=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            self.port = None
            while time.time() < deadline and self.proc.poll() is None:
                self.err.seek(0)
                m = re.search(r"listening: submission 127\.0\.0\.1:(\d+)", self.err.read())
                if m:
                    self.port = int(m.group(1))
                    break
                time.sleep(0.1)
            if self.port is None:
                raise RuntimeError(f"sealbox did not start; see {self.dir}/serve.log")
        except BaseException as e:  # not started, or interrupted while starting: leave no server behind
            self.stop(keep=not isinstance(e, KeyboardInterrupt))  # the directory holds the logs
            raise
        self.certificate = os.path.join(self.dir, "tls", "cert.pem")
        self.key = os.path.join(self.dir, "tls", "key.pem")

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self, keep=False):
        stop_serve(self.proc, self.dir, keep)


class Postfix:
    """A private Postfix instance: its own config, queue and data directories under a temporary
    directory, started and stopped with `postfix -c DIR`; the system's instance is never touched."""
    name = "postfix"
    user = password = None

    def __init__(self, sink_port, certificate, key):
        self.dir = tempfile.mkdtemp(prefix="postfix-send-bench-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        os.makedirs(self.conf)
        self.port = free_port()
        main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(self.dir, "queue"),
            "data_directory": os.path.join(self.dir, "data"),
            "maillog_file": os.path.join(self.dir, "postfix.log"), "maillog_file_prefixes": self.dir,
            "myhostname": "postfix-bench.example.com", "mydomain": "example.com", "myorigin": "example.com",
            "mydestination": "", "local_recipient_maps": "", "alias_maps": "", "alias_database": "",
            "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8", "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "relayhost": f"[{SINK_HOST}]:{sink_port}",
            "smtpd_tls_security_level": "may", "smtpd_tls_cert_file": certificate, "smtpd_tls_key_file": key,
            "biff": "no", "append_dot_mydomain": "no",
        }
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in main_cf.items())
        # Debian's master.cf with every service out of the chroot, smtpd on our port.
        lines = []
        with open("/etc/postfix/master.cf") as f:
            for line in f:
                cols = line.split()
                if line[0] not in "# \t\n" and len(cols) >= 8 and cols[1] in ("inet", "unix", "unix-dgram", "fifo", "pass"):
                    if cols[0] == "smtp" and cols[1] == "inet":
                        cols[0] = f"127.0.0.1:{self.port}"
                    cols[4] = "n"
                    line = " ".join(cols) + "\n"
                lines.append(line)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.writelines(lines)
        os.makedirs(os.path.join(self.dir, "queue"), mode=0o755)
        os.makedirs(os.path.join(self.dir, "data"), mode=0o700)
        shutil.chown(os.path.join(self.dir, "data"), "postfix", "postfix")
        try:
            self._postfix("start")
            wait_port("127.0.0.1", self.port)
            with open(os.path.join(self.dir, "queue", "pid", "master.pid")) as f:
                self.master = int(f.read().strip())
        except BaseException:
            self.stop(keep=True)
            raise

    def _postfix(self, command):
        r = subprocess.run([tool("postfix"), "-c", self.conf, command], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            # Before postlogd runs, the postfix command logs only to syslog (or a terminal).
            log = os.path.join(self.dir, "postfix.log")
            tail = open(log).read()[-800:] if os.path.exists(log) else "no log: run it under `script -qc` to see why"
            raise RuntimeError(f"postfix -c {self.conf} {command} failed: {(r.stdout + r.stderr).strip()[:800]}\n{tail}")

    def cpu(self):
        return cpu_seconds(self.master, children=True)

    def stop(self, keep=False):
        try:
            self._postfix("stop")
        except RuntimeError:
            pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def submit(server, messages, sessions):
    """N sessions (threads), each over one connection: EHLO, STARTTLS, EHLO, AUTH PLAIN (when the
    server has a user), then its share of the messages. Returns when all were accepted."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the servers' self-signed certificate
    errors, auth = [], []

    def session(share):
        try:
            s = smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.example", timeout=120)
            s.starttls(context=context)
            s.ehlo("client.example")
            if server.user:
                s.user, s.password = server.user, server.password
                t = time.perf_counter()
                s.auth("PLAIN", s.auth_plain)
                auth.append(time.perf_counter() - t)
            for m in share:
                refused = s.sendmail("sender@example.com", [f"user@{DEST}"], m)
                if refused:
                    raise RuntimeError(f"refused: {refused}")
            s.quit()
        except Exception as e:  # reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=session, args=(messages[i::sessions],)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{server.name}: {len(errors)} session(s) failed, first: {errors[0]!r}")
    return sum(auth) / len(auth) if auth else None


def measure(server, sink, sessions, messages):
    """Returns (accepted/s, delivered/s, CPU seconds per message, mean seconds of an AUTH) for one run."""
    target = sink.count + len(messages)
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    auth = submit(server, messages, sessions)
    accepted = time.perf_counter() - t0
    last = sink.wait_for(target, timeout=600)
    time.sleep(0.5)  # the servers' work after the last delivery (queue bookkeeping) is counted too
    cpu = server.cpu() - cpu0
    if sink.count != target:
        raise RuntimeError(f"the sink received {sink.count - target + len(messages)} messages, {len(messages)} sent")
    return len(messages) / accepted, len(messages) / (last - t0), cpu / len(messages), auth


PEERS = ("sealbox", "postfix")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", default="1,10,50")
    p.add_argument("--messages", type=int, default=1000, help="messages per run")
    p.add_argument("--size", type=int, default=10, help="message size in KB")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--only", default=",".join(PEERS), help="comma-separated servers to measure, of sealbox, postfix")
    p.add_argument("--dump", help="the sink appends every message it receives to this file (smtp-sink -D); costs the sink time")
    args = p.parse_args()
    sessions = [int(x) for x in args.sessions.split(",")]
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    if not only or any(x not in PEERS for x in only):
        p.error(f"--only takes a comma-separated subset of {', '.join(PEERS)}")
    load_before = os.getloadavg()[0]
    sink = dns = sealbox = postfix = None
    rows = []

    def fmt(x, spec=",.0f"):
        return "-" if x is None else format(x, spec)

    try:
        sink = Sink(args.dump)
        dns = NSD()
        sealbox = Sealbox(args.sealbox, dns.port, sink.port)  # also for its certificate, which Postfix uses
        print(f"sealbox serve pid {sealbox.proc.pid}, submission port {sealbox.port}; nsd port {dns.port}; "
              f"smtp-sink {SINK_HOST}:{sink.port}", flush=True)
        if "postfix" in only:
            postfix = Postfix(sink.port, sealbox.certificate, sealbox.key)
            print(f"postfix master pid {postfix.master}, smtpd port {postfix.port} ({postfix.dir})", flush=True)
        for n in sessions:
            messages = make_messages(args.messages, args.size)
            results = {}
            for server in (sealbox if "sealbox" in only else None, postfix):
                if server:
                    results[server.name] = measure(server, sink, n, messages)
            sb, pf = results.get("sealbox"), results.get("postfix")
            ratio = sb[1] / pf[1] if sb and pf else None
            rows.append((n, len(messages), sb, pf, ratio))
            print(f"{args.size:>4} KB  {n:>3} sessions  {len(messages):>5} msgs  "
                  + "  ".join(f"{name} {r[1]:8.1f}/s delivered ({r[0]:8.1f}/s accepted, {r[2] * 1e3:6.2f} ms CPU/msg"
                              + (f", AUTH {r[3] * 1e3:.0f} ms)" if r[3] is not None else ")")
                              for name, r in results.items())
                  + f"  sealbox/postfix {fmt(ratio, '5.2f')}", flush=True)
    finally:
        for s in (postfix, sealbox, dns, sink):
            if s:
                s.stop()
    print(f"\n{args.size} KB messages; submission with STARTTLS (AUTH PLAIN on Sealbox; Postfix relays for 127.0.0.0/8 "
          f"without AUTH); {os.cpu_count()} cores shared with the client and the sink; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("| sessions | messages | Sealbox msg/s delivered | Postfix msg/s delivered | Sealbox / Postfix "
          "| Sealbox msg/s accepted | Postfix msg/s accepted | Sealbox CPU ms/msg | Postfix CPU ms/msg | Sealbox AUTH ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, count, sb, pf, ratio in rows:
        g = lambda r, i, scale=1, spec=",.0f": fmt(r[i] * scale if r else None, spec)
        print(f"| {n} | {count} | {g(sb, 1)} | {g(pf, 1)} | {fmt(ratio, '.2f')} | {g(sb, 0)} | {g(pf, 0)} "
              f"| {g(sb, 2, 1e3, '.2f')} | {g(pf, 2, 1e3, '.2f')} | {g(sb, 3, 1e3, '.0f')} |")


if __name__ == "__main__":
    main()
