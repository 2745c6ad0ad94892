#!/usr/bin/env python3
"""IMAP load generator: the same workload against Sealbox and Dovecot in one run, with ratios.

    python3 Benchmarks/imap_load.py [--sessions 10] [--seconds 20] [--messages 500] [--idle 1000]
                                    [--sealbox .build/release/sealbox]

What it does, for each server in turn (Dovecot 2.3 from Debian on Maildir, via scripts/dovecot-test.sh;
Sealbox's release binary on a fresh data directory, plaintext on loopback for both):
  1. seeds the same M messages (2-100 KB, a third with a base64 attachment) into one user's INBOX
     by APPEND over one connection (reported as APPEND throughput);
  2. for each operation alone, then for a weighted mix of them, runs N concurrent sessions for S
     seconds, each logged in with SELECT INBOX: FETCH 1:* (FLAGS), UID FETCH <random> (BODY.PEEK[]),
     UID STORE +/-FLAGS, APPEND, UID SEARCH SUBJECT / BODY, IDLE+DONE, and a LOGOUT + LOGIN + SELECT
     cycle; prints operations per second, p50/p99 latency, and the ratio Sealbox / Dovecot;
  3. opens K sessions that LOGIN, SELECT INBOX and IDLE, and reports resident memory per session:
     Sealbox = VmRSS growth of the serve process; Dovecot = growth of the summed RSS of all its
     processes (one imap process per session is Dovecot's design).
The load generator itself is single-threaded asyncio, on the same 2 cores as the servers: both
servers share that handicap, which is why only the ratio is meaningful.
"""
import argparse, asyncio, os, random, resource, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("quarterly report invoice meeting agenda budget holiday project travel giraffe zebra "
         "contract proposal review schedule shipment release garden lunch").split()


def make_messages(count, seed=42):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        subject = " ".join(rng.choice(WORDS) for _ in range(4)) + f" #{i}"
        size = rng.randint(2_000, 100_000)
        words = []
        total = 0
        while total < (size if i % 3 else size // 3):
            w = rng.choice(WORDS)
            words.append(w)
            total += len(w) + 1
        body_lines = [" ".join(words[j:j + 12]) for j in range(0, len(words), 12)]
        head = (f"From: Sender {i % 37} <sender{i % 37}@example.org>\r\nTo: User <user@example.com>\r\n"
                f"Subject: {subject}\r\nDate: Sun, 22 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\r\n"
                f"Message-ID: <bench-{i}@example.org>\r\nMIME-Version: 1.0\r\n")
        if i % 3 == 0:
            blob = bytes(rng.getrandbits(8) for _ in range(size - size // 3))
            import base64
            b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
            msg = (head + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                   + "\r\n".join(body_lines) + "\r\n--b\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
                   + b64 + "--b--\r\n")
        else:
            msg = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + "\r\n".join(body_lines) + "\r\n"
        out.append(msg.encode())
    return out


class Client:
    """A minimal IMAP client: tagged commands, literals in responses, LITERAL+ APPEND."""

    def __init__(self, reader, writer):
        self.r, self.w, self.n = reader, writer, 0

    @classmethod
    async def connect(cls, port):
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        c = cls(r, w)
        await r.readline()
        return c

    async def response(self, tag):
        lines = []
        while True:
            line = await self.r.readline()
            if not line:
                raise ConnectionError("closed")
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                data = await self.r.readexactly(int(m.group(1)))
                line += data + await self.r.readline()
            lines.append(line)
            if line.startswith(tag):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode(errors="replace").strip())
                return lines

    async def cmd(self, text, literal=None):
        self.n += 1
        tag = b"b%d" % self.n
        if literal is None:
            self.w.write(tag + b" " + text.encode() + b"\r\n")
        else:
            self.w.write(tag + b" " + text.encode() + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        await self.w.drain()
        return await self.response(tag)

    async def login(self, user, password):
        await self.cmd(f'LOGIN {user} "{password}"')

    async def idle_done(self):
        self.n += 1
        tag = b"b%d" % self.n
        self.w.write(tag + b" IDLE\r\n")
        await self.w.drain()
        line = await self.r.readline()
        if not line.startswith(b"+"):
            raise RuntimeError(line)
        self.w.write(b"DONE\r\n")
        await self.w.drain()
        await self.response(tag)

    async def close(self):
        try:
            self.w.write(b"z LOGOUT\r\n")
            await self.w.drain()
            self.w.close()
        except Exception:
            pass


WEIGHTS = [("fetch-flags", 2), ("fetch-body", 5), ("store", 3), ("append", 1), ("search-subject", 1),
           ("search-body", 1), ("idle", 1), ("login-select", 1)]


async def session(port, user, password, deadline, uids, messages, stats, rng, only=None):
    c = await Client.connect(port)
    await c.login(user, password)
    await c.cmd("SELECT INBOX")
    kinds = [only] if only else [k for k, w in WEIGHTS for _ in range(w)]
    while time.monotonic() < deadline:
        kind = rng.choice(kinds)
        t = time.perf_counter()
        if kind == "fetch-flags":
            await c.cmd("FETCH 1:* (FLAGS)")
        elif kind == "fetch-body":
            await c.cmd(f"UID FETCH {rng.choice(uids)} (BODY.PEEK[])")
        elif kind == "store":
            await c.cmd(f"UID STORE {rng.choice(uids)} {rng.choice('+-')}FLAGS (\\Seen)")
        elif kind == "append":
            await c.cmd("APPEND Archive", literal=rng.choice(messages))
        elif kind == "search-subject":
            await c.cmd(f"UID SEARCH SUBJECT {rng.choice(WORDS)}")
        elif kind == "search-body":
            await c.cmd(f"UID SEARCH BODY {rng.choice(WORDS)}")
        elif kind == "idle":
            await c.idle_done()
        elif kind == "login-select":
            await c.close()
            c = await Client.connect(port)
            await c.login(user, password)
            await c.cmd("SELECT INBOX")
        stats.setdefault(kind, []).append(time.perf_counter() - t)
    await c.close()


def proc_sum(pids, name, field):
    """The sum over `pids` of one numeric field of /proc/<pid>/<name> (a process gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{name}") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def cpu_seconds(pids):
    """CPU time (user + system) of `pids` and of the children they have reaped (a process gone counts 0)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_kb(pids):
    return proc_sum(pids, "status", "VmRSS:")


def dovecot_pids():
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")[0]
                if cmd.startswith(b"dovecot") or b"/dovecot" in cmd:
                    pids.append(int(p))
            except OSError:
                pass
    return pids


async def idle_memory(port, user, password, count, pids_fn):
    before = rss_kb(pids_fn())
    clients = []
    for i in range(count):
        c = await Client.connect(port)
        await c.login(user, password)
        await c.cmd("SELECT INBOX")
        c.n += 1
        c.w.write(b"i IDLE\r\n")
        await c.w.drain()
        await c.r.readline()
        clients.append(c)
    await asyncio.sleep(2)
    after = rss_kb(pids_fn())
    for c in clients:
        try:
            c.w.write(b"DONE\r\n")
            c.w.close()
        except Exception:
            pass
    return before, after


# The port value given to `sealbox serve` for every listener: "auto" is any free port (the
# benchmarks read the ports back from the "listening:" lines); "0" or "off" would turn it off.
ANY_PORT = "auto"


def process_tree(root):
    """root and all its descendants (by the parent PIDs in /proc/*/stat)."""
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo and len(out) < 100_000:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop_serve(proc, directory, keep=False):
    """SIGTERM to a `sealbox serve` (SIGKILL after 30 s), then its data directory removed unless `keep`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)


class Sealbox:
    name = "sealbox"

    def __init__(self, binary, extra_env=None, before_serve=None):
        self.binary = os.path.abspath(binary)
        self.dir = tempfile.mkdtemp(prefix="sealbox-bench-")
        # The bench opens many sessions from one IP to one mailbox: raise those limits as an admin would.
        env = dict(os.environ, SEALBOX_DATA_DIR=self.dir, SEALBOX_IMAP_MAX_CONNECTIONS_PER_IP="5000",
                   SEALBOX_IMAP_MAX_SESSIONS_PER_MAILBOX="5000", SEALBOX_POP3_MAX_CONNECTIONS_PER_IP="5000",
                   SEALBOX_SMTP_MAX_CONNECTIONS_PER_IP="5000", SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP="0")
        env.update(extra_env or {})
        run = lambda *a: subprocess.run([self.binary, *a], env=env, check=True, capture_output=True, text=True,
                                        timeout=120).stdout
        run("domain", "add", "example.com")
        run("alias", "add", "user@example.com")
        self.user, self.password = "user@example.com", run("password", "generate", "user@example.com").strip()
        if before_serve:
            before_serve(env, self)
        self.err = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen([self.binary, "serve", "--imap-port", ANY_PORT, "--imaps-port", ANY_PORT,
                                      "--pop3-port", ANY_PORT, "--pop3s-port", ANY_PORT, "--smtp-port", ANY_PORT, "--managesieve-port", ANY_PORT,
                                      "--http-port", ANY_PORT, "--allow-insecure-auth"],
                                     env=env, stderr=self.err, stdout=subprocess.DEVNULL)
        try:
            self._wait_listening()
        except BaseException as e:  # not started, or interrupted while starting: leave no server behind
            self.stop(keep=not isinstance(e, KeyboardInterrupt))  # the directory holds the logs
            raise

    def _wait_listening(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            self.err.seek(0)
            text = self.err.read()
            m = re.search(r"listening: imap 127\.0\.0\.1:(\d+)", text)
            m3 = re.search(r"listening: pop3 127\.0\.0\.1:(\d+)", text)
            m4 = re.search(r"listening: smtp 127\.0\.0\.1:(\d+)", text)
            m5 = re.search(r"listening: https? 127\.0\.0\.1:(\d+)", text)
            if m and m3 and m4 and m5:
                self.port, self.pop3_port, self.smtp_port = int(m.group(1)), int(m3.group(1)), int(m4.group(1))
                self.http_port = int(m5.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"sealbox did not start; see {self.dir}/serve.log")

    def pids(self):
        return [self.proc.pid]

    def store_dir(self):
        return self.dir

    def stop(self, keep=False):
        stop_serve(self.proc, self.dir, keep)


class Dovecot:
    name = "dovecot"

    def __init__(self, lmtp=False, users=2):
        """lmtp: also serve LMTP (on self.lmtp_port), delivering to testuser@ and testuserN@<any domain>;
        users: how many testuserN there are besides testuser."""
        self.dir = tempfile.mkdtemp(prefix="dovecot-bench-")
        self.port = free_port()
        self.pop3_port = free_port()
        self.lmtp_port = free_port() if lmtp else None
        env = dict(os.environ, DOVECOT_DIR=self.dir, IMAP_PORT=str(self.port), IMAPS_PORT=str(free_port()), NUSERS=str(users),
                   POP3_PORT=str(self.pop3_port), POP3S_PORT=str(free_port()))
        if lmtp:
            env["LMTP_PORT"] = str(self.lmtp_port)
        self.env = env
        try:
            subprocess.run(["bash", os.path.join(ROOT, "scripts/dovecot-test.sh"), "start", "--fresh"], env=env,
                           check=True, capture_output=True, timeout=120)
        except BaseException as e:  # not started, or interrupted while starting: leave no server behind
            self.stop(keep=not isinstance(e, KeyboardInterrupt))  # the directory holds the logs
            raise
        self.user, self.password = "testuser", "pass"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                time.sleep(0.1)

    def master_pid(self):
        with open(os.path.join(self.dir, "run", "master.pid")) as f:
            return int(f.read().strip())

    def pids(self):
        """This instance's processes: its master and the master's children (not other Dovecots on the machine)."""
        try:
            return process_tree(self.master_pid())
        except (OSError, ValueError):
            return []

    def store_dir(self):
        return os.path.join(self.dir, "mail")

    def stop(self, keep=False):
        subprocess.run(["bash", os.path.join(ROOT, "scripts/dovecot-test.sh"), "stop"], env=self.env, capture_output=True,
                       timeout=60)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


async def seed(server, messages):
    c = await Client.connect(server.port)
    await c.login(server.user, server.password)
    t = time.perf_counter()
    for m in messages:
        await c.cmd("APPEND INBOX", literal=m)
    elapsed = time.perf_counter() - t
    await c.cmd("SELECT INBOX")
    lines = await c.cmd("UID SEARCH ALL")
    uids = [int(x) for line in lines if line.startswith(b"* SEARCH") for x in line.split()[2:]]
    await c.close()
    return elapsed, uids


async def load(server, args, messages, uids, only=None):
    stats = {}
    deadline = time.monotonic() + args.seconds
    rngs = [random.Random(i) for i in range(args.sessions)]
    started = time.monotonic()
    await asyncio.gather(*(session(server.port, server.user, server.password, deadline, uids, messages, stats, rngs[i], only)
                           for i in range(args.sessions)))
    return stats, time.monotonic() - started


async def phases(server, args, messages, uids):
    """Each operation alone (N sessions doing only it), then the weighted mix."""
    out = {}
    for kind, _ in WEIGHTS:
        cpu = cpu_seconds(server.pids())
        stats, elapsed = await load(server, args, messages, uids, only=kind)
        out[kind] = (stats.get(kind, []), elapsed, cpu_seconds(server.pids()) - cpu)
    cpu = cpu_seconds(server.pids())
    stats, elapsed = await load(server, args, messages, uids)
    out["mix (total)"] = ([x for v in stats.values() for x in v], elapsed, cpu_seconds(server.pids()) - cpu)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--idle", type=int, default=1000, help="sessions for the memory measurement (0: skip)")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--only", choices=["sealbox", "dovecot"])
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    messages = make_messages(args.messages)
    mb = sum(map(len, messages)) / 1e6
    print(f"workload: {args.messages} messages ({mb:.1f} MB), {args.sessions} sessions x {args.seconds:.0f} s, "
          f"{args.idle} IDLE sessions for memory")
    results = {}
    for make in ([lambda: Dovecot()] if args.only != "sealbox" else []) + ([lambda: Sealbox(args.sealbox)] if args.only != "dovecot" else []):
        server = make()
        try:
            seconds, uids = asyncio.run(seed(server, messages))
            runs = asyncio.run(phases(server, args, messages, uids))
            memory = asyncio.run(idle_memory(server.port, server.user, server.password, args.idle, server.pids)) if args.idle else None
            results[server.name] = (seconds, runs, memory)
        finally:
            server.stop()
    print()
    print(f"{'':18}" + "".join(f"{n:>40}" for n in results) + ("     ratio sealbox/dovecot (op/s, CPU)" if len(results) == 2 else ""))

    def row(label, values, ratio=True):
        line = f"{label:18}" + "".join(f"{v:>28}" for v in values)
        print(line)

    names = list(results)
    appends = [args.messages / results[n][0] for n in names]
    line = f"{'seed APPEND':18}" + "".join(f"{v:>34.0f} msg/s" for v in appends)
    if len(names) == 2:
        line += f"{appends[1] / appends[0]:>18.2f}"
    print(line)
    for kind in [k for k, _ in WEIGHTS] + ["mix (total)"]:
        vals = []
        for n in names:
            samples, elapsed, cpu = results[n][1][kind]
            if not samples:
                vals.append(None)
                continue
            q = sorted(samples)
            vals.append((len(q) / elapsed, q[len(q) // 2] * 1000, q[min(len(q) - 1, int(len(q) * 0.99))] * 1000,
                         cpu / len(q) * 1e6))
        line = f"{kind:18}" + "".join(
            f"{v[0]:>9.1f} op/s {v[1]:>5.1f}/{v[2]:>6.1f} ms {v[3]:>6.0f} us" if v else f"{'-':>40}" for v in vals)
        if len(vals) == 2 and all(vals):
            line += f"{vals[1][0] / vals[0][0]:>10.2f}{vals[0][3] / vals[1][3]:>8.2f}"
        print(line)
    print(f"{'':18}(latency: p50/p99; server CPU per operation, user + system, with what its processes reaped)")
    if args.idle:
        for n in names:
            before, after = results[n][2]
            print(f"{n}: RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB with {args.idle} IDLE sessions: "
                  f"{(after - before) / args.idle:.0f} KB per session")


if __name__ == "__main__":
    main()
