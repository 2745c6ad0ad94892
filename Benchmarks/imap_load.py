#!/usr/bin/env python3
r"""IMAP load generator: the same workload against Sealbox and Dovecot in one run, with ratios.

    python3 Benchmarks/imap_load.py [--sessions 10] [--seconds 20] [--messages 500] [--idle 1000]
                                    [--rounds 1] [--rows fetch-flags,select,...] [--only sealbox|dovecot]
                                    [--sealbox .build/release/sealbox] [--markdown] [--json FILE]
                                    [--perf DIR]

What it does, for each server (Dovecot 2.3 from Debian on Maildir, via scripts/dovecot-test.sh;
Sealbox's release binary on a fresh data directory, plaintext on loopback for both):
  1. seeds the same M messages (2-100 KB, a third with a base64 attachment) into one user's INBOX
     by APPEND over one connection (reported as the seed APPEND row);
  2. for each operation alone, then for a weighted mix of some of them, runs N concurrent sessions
     for S seconds, each logged in with SELECT INBOX, and prints operations per second, p50/p99
     latency and the server's CPU per operation. The operations (row names for --rows):
       fetch-flags     FETCH 1:* (FLAGS)                     (a client's flag resync of the folder)
       fetch-envelope  UID FETCH a:b (ENVELOPE), 20 consecutive UIDs from a random start (a client
                       listing a page of new or scrolled-to messages by their envelopes; Thunderbird
                       asks for header fields instead; one command = one operation)
       fetch-body      UID FETCH <random> (BODY.PEEK[])
       store           UID STORE <random> +FLAGS or -FLAGS (\Seen)
       append          APPEND Archive <random message>
       search-subject  UID SEARCH SUBJECT <word>
       search-body     UID SEARCH BODY <word>
       select          SELECT INBOX again in the live session (what a client does on folder switch)
       expunge         UID EXPUNGE <one uid>: untimed, each session APPENDs its own batch of messages
                       with \Deleted (pipelined; 250 in all, at least 5 a session: the folder grows by
                       at most that) and NOOPs so that every session knows them; then,
                       timed, each session expunges its messages one UID EXPUNGE at a time (the other
                       sessions hear the * n EXPUNGE lines). Batches repeat until S seconds of
                       expunging are measured; only the expunge bursts count, in time and CPU (CPU
                       until 0.2 s after each burst, so deferred work is charged to it). The folder
                       returns to its M messages.
       idle            IDLE, then DONE at the continuation
       login-select    LOGOUT, connect, LOGIN, SELECT INBOX
       mix             the weighted mix (WEIGHTS: the rows of the first version, unchanged)
  3. opens K sessions that LOGIN, SELECT INBOX and IDLE (in the last round only), and reports
     resident memory per session: Sealbox = VmRSS growth of the serve process; Dovecot = growth of
     the summed RSS of all its processes (one imap process per session is Dovecot's design).

Rounds (--rounds R): the whole sequence above runs R times, alternating the servers (Sealbox,
Dovecot, Sealbox, Dovecot, ...). Every round starts a **fresh** server and seeds it again (seeding
takes seconds), so the rounds are repetitions of the same experiment, not a server warming up or
its folders growing (the append row adds to Archive); alternating spreads slow phases of a shared
machine over both servers. The table shows, per row and server, the median op/s over the rounds
and its min-max spread, the ratio of the medians (Sealbox / Dovecot, above 1: Sealbox faster), the
median server CPU per operation (user + system time over the phase divided by the operations:
Sealbox = the serve process from /proc/PID/stat; Dovecot = summed over its master and all its
processes, with what they reaped), and the median of each round's p50/p99 latency.

CPU per operation does not depend on how much of the cores the client takes; the rates do: the
load generator is single-threaded asyncio on the same cores as the servers, a handicap both
servers share, which is why only ratios within one run mean much.

--perf DIR records `perf record -F 2000 -g` of the Sealbox serve process during the seed and each of its
phases into DIR/<row>-r<round>.data (perf's sampling costs CPU: do not take the figures of such a run).
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

# Every row of the table, in order, with its label (the mix is "mix"; the seed row is printed first).
ROWS = [("fetch-flags", "FETCH 1:* (FLAGS)"), ("fetch-envelope", "UID FETCH 20 (ENVELOPE)"),
        ("fetch-body", "UID FETCH 1 BODY.PEEK[]"), ("store", "UID STORE 1 +-FLAGS"), ("append", "APPEND"),
        ("search-subject", "UID SEARCH SUBJECT"), ("search-body", "UID SEARCH BODY"), ("select", "SELECT INBOX again"),
        ("expunge", "UID EXPUNGE 1"), ("idle", "IDLE + DONE"), ("login-select", "LOGOUT+LOGIN+SELECT"),
        ("mix", "weighted mix")]
ENVELOPE_RANGE = 20
EXPUNGE_BATCH = 250  # messages all sessions together append (untimed) before a timed burst of expunges


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
        elif kind == "fetch-envelope":
            i = rng.randrange(max(1, len(uids) - ENVELOPE_RANGE + 1))
            await c.cmd(f"UID FETCH {uids[i]}:{uids[min(len(uids), i + ENVELOPE_RANGE) - 1]} (ENVELOPE)")
        elif kind == "select":
            await c.cmd("SELECT INBOX")
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
                                      "--submission-port", ANY_PORT, "--submissions-port", ANY_PORT,  # two benchmarks at once: no fixed port
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
        # The port came from free_port(): another process can take it before Dovecot binds it; then
        # the master exits (and removes master.pid) while something else answers on the port.
        if not self.pids():
            self.stop(keep=True)
            raise RuntimeError(f"dovecot is not running after its start (port {self.port} taken?); see {self.dir}/log")

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


async def append_deleted(c, literals):
    """APPENDs `literals` to INBOX with \\Deleted, pipelined (LITERAL+); returns their UIDs (APPENDUID)."""
    tags = []
    for lit in literals:
        c.n += 1
        tag = b"b%d" % c.n
        c.w.write(tag + b" APPEND INBOX (\\Deleted) {%d+}\r\n" % len(lit) + lit + b"\r\n")
        tags.append(tag)
    await c.w.drain()
    out = []
    for tag in tags:
        lines = await c.response(tag)
        m = re.search(rb"\[APPENDUID \d+ (\d+)\]", lines[-1])
        if not m:
            raise RuntimeError(f"no APPENDUID in {lines[-1]!r}")
        out.append(int(m.group(1)))
    return out


async def expunge_phase(server, args, messages):
    """The expunge row: untimed batches of own \\Deleted messages, then timed bursts of UID EXPUNGE <uid>,
    until args.seconds of bursts are measured. Returns (latencies, measured seconds, CPU seconds)."""
    rngs = [random.Random(1000 + i) for i in range(args.sessions)]
    clients = []
    for _ in range(args.sessions):
        c = await Client.connect(server.port)
        await c.login(server.user, server.password)
        await c.cmd("SELECT INBOX")
        clients.append(c)
    samples, measured, cpu = [], 0.0, 0.0
    pending = [[] for _ in clients]
    per_session = max(5, EXPUNGE_BATCH // args.sessions)

    async def burst(c, mine, deadline):
        while mine and time.monotonic() < deadline:
            uid = mine[0]
            t = time.perf_counter()
            await c.cmd(f"UID EXPUNGE {uid}")
            samples.append(time.perf_counter() - t)
            mine.pop(0)

    while measured < args.seconds:
        batches = await asyncio.gather(*(append_deleted(c, [rng.choice(messages) for _ in range(per_session)])
                                         for c, rng in zip(clients, rngs)))
        for mine, b in zip(pending, batches):
            mine.extend(b)
        await asyncio.gather(*(c.cmd("NOOP") for c in clients))  # every session has seen every new message
        before = cpu_seconds(server.pids())
        started = time.monotonic()
        await asyncio.gather(*(burst(c, mine, started + args.seconds - measured) for c, mine in zip(clients, pending)))
        measured += time.monotonic() - started
        await asyncio.sleep(0.2)
        cpu += cpu_seconds(server.pids()) - before
    for c, mine in zip(clients, pending):  # what a deadline left: untimed, so that the folder is back to its size
        if mine:
            await c.cmd("UID EXPUNGE " + ",".join(map(str, mine)))
    await clients[0].cmd("NOOP")  # Dovecot answers STATUS of the selected mailbox from the session's view
    status = await clients[0].cmd("STATUS INBOX (MESSAGES)")
    if not any(b"(MESSAGES %d)" % len(messages) in line for line in status):
        print(f"warning: INBOX after the expunge row: {status[0]!r}, expected {len(messages)} messages", file=sys.stderr)
    for c in clients:
        await c.close()
    return samples, measured, cpu


def start_perf(server, directory, label):
    os.makedirs(directory, exist_ok=True)
    proc = subprocess.Popen(["perf", "record", "-F", "2000", "-g", "-p", ",".join(map(str, server.pids())), "-o",
                             os.path.join(directory, f"{label}.data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc


def stop_perf(proc):
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


async def phases(server, args, messages, uids, rows, round_no):
    """Each operation alone (N sessions doing only it), then the weighted mix: {row: (latencies, seconds, CPU seconds)}."""
    out = {}
    for kind in rows:
        perf = start_perf(server, args.perf, f"{server.name}-{kind}-r{round_no}") if args.perf and server.name != "dovecot" else None
        try:
            cpu = cpu_seconds(server.pids())
            if kind == "expunge":
                out[kind] = await expunge_phase(server, args, messages)
                continue
            stats, elapsed = await load(server, args, messages, uids, only=None if kind == "mix" else kind)
            samples = [x for v in stats.values() for x in v] if kind == "mix" else stats.get(kind, [])
            out[kind] = (samples, elapsed, cpu_seconds(server.pids()) - cpu)
        finally:
            stop_perf(perf)
    return out


def one_round(make, args, messages, rows, round_no, last):
    """A fresh server: seed, every row, memory (last round only). Returns the round's figures."""
    for attempt in range(3):
        try:
            server = make()
            break
        except RuntimeError as e:
            if attempt == 2:
                raise
            print(f"round {round_no}: {e}; starting again", file=sys.stderr, flush=True)
    try:
        print(f"round {round_no} {server.name}: pids {server.pids()[:1]}, port {server.port}", file=sys.stderr, flush=True)
        perf = start_perf(server, args.perf, f"seed-r{round_no}") if args.perf and server.name == "sealbox" else None
        try:
            cpu = cpu_seconds(server.pids())
            seconds, uids = asyncio.run(seed(server, messages))
            seed_cpu = cpu_seconds(server.pids()) - cpu
        finally:
            stop_perf(perf)
        runs = asyncio.run(phases(server, args, messages, sorted(uids), rows, round_no))
        memory = (asyncio.run(idle_memory(server.port, server.user, server.password, args.idle, server.pids))
                  if args.idle and last else None)
    finally:
        server.stop()
    figures = {"seed": (len(messages) / seconds, seed_cpu / len(messages) * 1e6, None, None)}
    for kind, (samples, elapsed, cpu) in runs.items():
        if not samples:
            figures[kind] = None
            continue
        q = sorted(samples)
        figures[kind] = (len(q) / elapsed, cpu / len(q) * 1e6, q[len(q) // 2] * 1000,
                         q[min(len(q) - 1, int(len(q) * 0.99))] * 1000)
    return server.name, figures, memory


def summarize(rounds):
    """[{row: (op/s, CPU µs, p50, p99) or None}] over rounds -> {row: dict of medians and spread}."""
    out = {}
    for kind in rounds[0]:
        vals = [r[kind] for r in rounds if r.get(kind)]
        if not vals:
            out[kind] = None
            continue
        med = lambda i: statistics.median(v[i] for v in vals) if vals[0][i] is not None else None
        out[kind] = {"ops": med(0), "min": min(v[0] for v in vals), "max": max(v[0] for v in vals), "cpu": med(1),
                     "p50": med(2), "p99": med(3), "n": len(vals)}
    return out


def fmt(x, digits=0):
    if x is None:
        return "-"
    if x >= 100 or digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def table(names, summaries, rows, markdown):
    labels = dict(ROWS, seed="seed APPEND (1 conn)")
    head = ["row"]
    for n in names:
        head += [f"{n} op/s", "min-max"]
    if len(names) == 2:
        head += ["ratio"]
    head += [f"{n} CPU us/op" for n in names]
    if len(names) == 2:
        head += ["CPU D/S"]
    head += [f"{n} p50/p99 ms" for n in names]
    lines = []
    for kind in ["seed"] + rows:
        cells = [labels.get(kind, kind)]
        ss = [summaries[n].get(kind) for n in names]
        for v in ss:
            cells += [fmt(v["ops"], 1), f"{fmt(v['min'], 1)}-{fmt(v['max'], 1)}"] if v else ["-", "-"]
        if len(names) == 2:
            cells.append(f"{ss[0]['ops'] / ss[1]['ops']:.2f}" if all(ss) else "-")
        cells += [fmt(v["cpu"]) if v else "-" for v in ss]
        if len(names) == 2:
            cells.append(f"{ss[1]['cpu'] / ss[0]['cpu']:.2f}" if all(ss) and ss[0]["cpu"] else "-")
        cells += [f"{v['p50']:.1f}/{v['p99']:.1f}" if v and v["p50"] is not None else "-" for v in ss]
        lines.append(cells)
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for cells in lines:
            print("| " + " | ".join(cells) + " |")
        return
    widths = [max(len(str(r[i])) for r in [head] + lines) for i in range(len(head))]
    for cells in [head] + lines:
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--idle", type=int, default=1000, help="sessions for the memory measurement (0: skip)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run the whole sequence R times alternating Sealbox and Dovecot, each round on a freshly "
                        "started and seeded server; the table shows medians over the rounds and the min-max spread")
    p.add_argument("--rows", help="comma-separated rows to run (default all): " + ",".join(k for k, _ in ROWS))
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--only", choices=["sealbox", "dovecot"])
    p.add_argument("--markdown", action="store_true", help="print the table as markdown too")
    p.add_argument("--json", help="write every round's figures to this file")
    p.add_argument("--perf", metavar="DIR", help="perf record the Sealbox serve process during each phase into DIR")
    args = p.parse_args()
    rows = [k for k, _ in ROWS]
    if args.rows:
        wanted = args.rows.split(",")
        unknown = [k for k in wanted if k not in rows]
        if unknown:
            p.error(f"unknown rows {unknown}; known: {rows}")
        rows = [k for k in rows if k in wanted]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    messages = make_messages(args.messages)
    mb = sum(map(len, messages)) / 1e6
    print(f"workload: {args.messages} messages ({mb:.1f} MB), {args.sessions} sessions x {args.seconds:.0f} s per row, "
          f"{args.rounds} round(s) alternating the servers, {args.idle} IDLE sessions for memory", flush=True)
    makers = []
    if args.only != "dovecot":
        makers.append(("sealbox", lambda: Sealbox(args.sealbox)))
    if args.only != "sealbox":
        makers.append(("dovecot", lambda: Dovecot()))
    per = {n: [] for n, _ in makers}
    memory = {}
    started = time.monotonic()
    for r in range(1, args.rounds + 1):
        for n, make in makers:
            t = time.monotonic()
            name, figures, mem = one_round(make, args, messages, rows, r, r == args.rounds)
            per[name].append(figures)
            if mem:
                memory[name] = mem
            print(f"round {r} {name}: {time.monotonic() - t:.0f} s; op/s " +
                  " ".join(f"{k}={v[0]:.0f}" for k, v in figures.items() if v), file=sys.stderr, flush=True)
    names = list(per)
    summaries = {n: summarize(per[n]) for n in names}
    print(f"\n{args.rounds} round(s) in {time.monotonic() - started:.0f} s; medians over the rounds; ratio = Sealbox / "
          f"Dovecot op/s (above 1: Sealbox faster); CPU D/S = Dovecot's CPU per op / Sealbox's (above 1: Sealbox cheaper); "
          f"CPU = server user + system time per operation; p50/p99 = medians of each round's latency percentiles")
    table(names, summaries, rows, markdown=False)
    if args.markdown:
        print()
        table(names, summaries, rows, markdown=True)
    for n in names:
        if n in memory:
            before, after = memory[n]
            print(f"{n}: RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB with {args.idle} IDLE sessions: "
                  f"{(after - before) / args.idle:.0f} KB per session")
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rounds": per, "memory": memory}, f, indent=1)


if __name__ == "__main__":
    main()
