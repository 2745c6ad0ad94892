#!/usr/bin/env python3
"""Mailbox sync at scale with mbsync and imaplib: Sealbox against Dovecot in one run, with ratios.

    python3 Benchmarks/sync_bench.py [--messages 5000] [--reps 5] [--sealbox .build/release/sealbox]
                                     [--only dovecot|sealbox] [--seed 42] [--keep] [--perf DIR]
                                     [--attachments 0.09]

A deterministic corpus (seeded): N messages, plain text, multipart/alternative (text + HTML), and
9 % (--attachments) with one base64 attachment of 100 KB - 1 MB (log-uniform), dates over one year, distinct
Message-IDs; about 273 MB at 5,000 messages. It is written once as a Maildir (mbsync's near side,
file mtimes = the message dates, sent as APPEND dates with CopyArrivalDate).

For each repetition and each server (Dovecot 2.3 from Debian on Maildir via scripts/dovecot-test.sh,
then Sealbox's release binary on a fresh data directory, the order alternating between repetitions;
plaintext on loopback; fresh server state each time; the corpus and the client's Maildirs on
/dev/shm unless --client-dir says otherwise):
  1. upload: mbsync (Sync Push) of the corpus Maildir into the empty INBOX (N APPENDs), wall time;
     the bytes the server wrote meanwhile (write_bytes of /proc/<pid>/io: Sealbox's serve process;
     Dovecot's master plus its live children, where the master's figure includes every child it
     has reaped, so short-lived imap processes are counted) over the bytes of mail;
  2. download: mbsync (Sync Pull) into an empty Maildir, checked byte for byte against the corpus
     (but for mbsync's X-TUID header); then the same again with nothing changed;
  3. imaplib, one session: UID FETCH 1:* (FLAGS), (ENVELOPE), (BODYSTRUCTURE), UID SEARCH SINCE,
     SEARCH TEXT <a word in 1 % of the messages>: the first call, then 3 more (median); then 10
     more of each, over which the server's CPU per call is measured (a wall time there includes
     imaplib parsing the answer, the same work for both servers, which narrows the ratio);
  4. a round: UID STORE +FLAGS (\\Flagged) on a random 10 %, UID STORE +FLAGS.SILENT (\\Deleted) on a
     random 5 % and EXPUNGE (timed alone), then an incremental mbsync (timed), then the Maildir is
     checked against the server (message and \\Flagged counts). Six more rounds follow: whether
     every one succeeded (the regression check for failures after many scattered expunges) and
     the last one's sync time are reported.
The server's CPU (user + system from /proc; Dovecot's master and every process under it) is also
measured for the upload, the download and each query, and printed as a second table.
Ratio = Dovecot / Sealbox (time and CPU: above 1 means Sealbox is faster; bytes: above 1 means Sealbox
writes less). --perf DIR records `perf record -g` of Sealbox's serve process during the download and
the queries (do not take that run's figures). The clients and both servers share the machine's cores: only ratios from one run
mean much.
"""
import argparse, base64, collections, datetime, email.header, email.utils, hashlib, imaplib, os, platform, random, re
import shlex, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import Dovecot, Sealbox, cpu_seconds, proc_sum, start_perf, stop_perf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert Sybil Trent "
         "Victor Walter Zoë José Søren Ana Chen Priya Kenji Fatima Lars Noor Mateo").split()
LAST = ("Smith Jones Müller García Rossi Dubois Nakamura Kowalski Johansson O'Brien Silva Novak Patel Kim "
        "Larsen Schmidt Moreau Tanaka Costa Weber").split()
DOMAINS = ("example.org example.net mail.example.com lists.example.org corp.example partner.example "
           "university.example shop.example").split()
VOCAB = ("the a of to and in for on with as at by from this that is was be are it will we you our your "
         "report invoice meeting agenda budget holiday project travel contract proposal review schedule "
         "shipment release garden lunch quarterly figures attached please find below regards thanks "
         "update status deadline customer order delivery payment account team office week month year "
         "monday tuesday wednesday thursday friday draft final version comments feedback question answer "
         "issue ticket server backup storage network migration plan estimate cost price offer discount "
         "conference travel flight hotel booking confirmation reminder invitation calendar room call "
         "notes minutes summary action items owner next steps follow up soon today tomorrow yesterday "
         "café naïve Zürich Größe déjà señor über résumé coöperation smörgåsbord").split()
SUBJECT_PREFIX = ["", "", "", "Re: ", "Re: ", "Fwd: ", "AW: ", "[team] "]
ATTACHMENT_TYPES = [("application/pdf", "pdf"), ("image/jpeg", "jpg"), ("application/zip", "zip"),
                    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")]
RARE_WORD = "quokkaberry"  # in VOCAB nowhere: SEARCH TEXT hits exactly the messages given it
YEAR_START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
ZONES = [0, 0, 60, 60, 120, -300, -240, 330, -480, 540]  # minutes east of UTC, for the Date: header
QUERY_REPS = 3      # timed calls of each query after the first, per repetition
EXTRA_ROUNDS = 6    # flag/expunge/sync rounds after the first
SETTLE = 2.0        # seconds the servers' write counters must stay still after an upload before they are read
SETTLE_MAX = 60.0   # ... or at most this long (work a server does after the upload, e.g. indexing, is counted)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The corpus

def wrap(words, width=72):
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    if cur:
        lines.append(cur)
    return lines


def text_body(rng, nbytes, rare):
    words, total = [], 0
    while total < nbytes:
        chunk = rng.choices(VOCAB, k=64)
        words += chunk
        total += sum(map(len, chunk)) + 64
    if rare:
        words.insert(rng.randrange(len(words)), RARE_WORD)
    paragraphs, i = [], 0
    while i < len(words):
        n = rng.randint(30, 120)
        paragraphs.append(wrap(words[i:i + n]))
        i += n
    return paragraphs


def header_value(text):
    return text if text.isascii() else email.header.Header(text, "utf-8").encode()


def make_message(rng, i, ts, kind, rare, attachment_size):
    sender_first, sender_last = rng.choice(FIRST), rng.choice(LAST)
    sender = f"{sender_first.lower()}.{sender_last.lower().replace(chr(39), '')}"
    sender = sender.encode("ascii", "ignore").decode() or "sender"
    domain = rng.choice(DOMAINS)
    zone = rng.choice(ZONES)
    date = datetime.datetime.fromtimestamp(ts, datetime.timezone(datetime.timedelta(minutes=zone)))
    subject = rng.choice(SUBJECT_PREFIX) + " ".join(rng.choices(VOCAB, k=rng.randint(3, 9))).capitalize()
    to = ["User <user@example.com>"]
    for _ in range(rng.choice([0, 0, 0, 1, 2, 4])):
        who = rng.choice(FIRST)
        local = who.lower().encode("ascii", "ignore").decode() or "someone"
        to.append(f"{header_value(who)} <{local}@{rng.choice(DOMAINS)}>")
    head = [f"Return-Path: <{sender}@{domain}>",
            f"Received: from mx{rng.randint(1, 9)}.{domain} (mx.{domain} [192.0.2.{rng.randint(1, 254)}])\n"
            f"\tby mail.example.com with ESMTPS id {rng.getrandbits(48):012x}\n\tfor <user@example.com>; "
            + email.utils.format_datetime(date),
            f"From: {header_value(sender_first + ' ' + sender_last)} <{sender}@{domain}>",
            "To: " + ",\n ".join(to),
            f"Subject: {header_value(subject)}",
            f"Date: {email.utils.format_datetime(date)}",
            f"Message-ID: <{i}.{rng.getrandbits(64):016x}@{domain}>",
            "MIME-Version: 1.0"]
    if rng.random() < 0.3:
        head.append(f"In-Reply-To: <{rng.randrange(max(1, i))}.{rng.getrandbits(64):016x}@{rng.choice(DOMAINS)}>")
    if rng.random() < 0.5:
        head.append(f"X-Mailer: {rng.choice(['Thunderbird 115.4', 'Apple Mail (2.3731)', 'Outlook 16.0', 'K-9 Mail 6.7'])}")
    size = int(rng.lognormvariate(7.8, 0.8))  # text bytes: median ~2.4 KB, mean ~3.4 KB
    paragraphs = text_body(rng, size, rare)
    plain = "\n\n".join("\n".join(p) for p in paragraphs) + "\n\n-- \n" + f"{sender_first} {sender_last}\n"
    text_part = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + plain
    b = f"b{i}x{rng.getrandbits(32):08x}"
    if kind == "plain":
        return "\n".join(head + [text_part.split("\n\n", 1)[0]]) + "\n\n" + text_part.split("\n\n", 1)[1]
    html = ("<html><head><meta charset=\"utf-8\"></head><body>\n"
            + "\n".join("<p>" + "<br>\n".join(p) + "</p>" for p in paragraphs)
            + f"\n<p>-- <br>\n<b>{sender_first} {sender_last}</b></p>\n</body></html>\n")
    alt = (f"Content-Type: multipart/alternative; boundary=\"{b}a\"\n\n--{b}a\n" + text_part
           + f"\n--{b}a\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + html
           + f"\n--{b}a--\n")
    if kind == "alternative":
        first, rest = alt.split("\n\n", 1)
        return "\n".join(head + [first]) + "\n\nThis is a multi-part message in MIME format.\n\n" + rest
    mime, ext = rng.choice(ATTACHMENT_TYPES)
    name = f"{rng.choice(VOCAB)}-{i}.{ext}"
    blob = base64.encodebytes(rng.randbytes(attachment_size)).decode()
    body = (f"This is a multi-part message in MIME format.\n\n--{b}m\n" + (alt if rng.random() < 0.5 else text_part)
            + f"\n--{b}m\nContent-Type: {mime}; name=\"{name}\"\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\n\n" + blob + f"--{b}m--\n")
    return "\n".join(head + [f"Content-Type: multipart/mixed; boundary=\"{b}m\""]) + "\n\n" + body


class Corpus:
    """N messages written once as a Maildir (LF line ends, as Maildir keeps them)."""

    def __init__(self, n, seed, root, attachments=0.09):
        rng = random.Random(seed)
        self.n = n
        self.maildir = os.path.join(root, "corpus", "INBOX")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        times = sorted(YEAR_START + rng.random() * 365 * 86400 for _ in range(n))
        attached = set(rng.sample(range(n), round(n * attachments)))
        rare = set(rng.sample(range(n), max(1, round(n * 0.01))))
        self.kinds = {"plain": 0, "alternative": 0, "attachment": 0}
        self.bytes = 0  # RFC 5322 size (CRLF), what the server receives
        self.attachment_bytes = 0
        self.rare = len(rare)
        self.times = times
        self.digests = collections.Counter()  # of the Maildir files' bytes: the download must give them back
        for i, ts in enumerate(times):
            if i in attached:
                kind = "attachment"
                att = int(100 * 1024 * 10 ** rng.random())  # 100 KB - 1 MB, log-uniform
            else:
                kind = "alternative" if rng.random() < 0.4 else "plain"
                att = 0
            self.kinds[kind] += 1
            data = make_message(rng, i, ts, kind, i in rare, att).encode()
            self.bytes += len(data) + data.count(b"\n")
            self.digests[hashlib.sha256(data).digest()] += 1
            self.attachment_bytes += att
            r = rng.random()
            flags = "S" if r < 0.85 else ""
            if rng.random() < 0.03:
                flags = "RS"
            if rng.random() < 0.02:
                flags = "F" + flags
            path = os.path.join(self.maildir, "cur", f"{int(ts)}.M{i:06d}P{seed}.sealbox-bench:2,{flags}")
            with open(path, "wb") as f:
                f.write(data)
            os.utime(path, (ts, ts))
        # SINCE: the day of the message at 90 %: about the last 10 % match (internal dates, UTC days)
        day = datetime.datetime.fromtimestamp(times[int(n * 0.9)], datetime.timezone.utc).date()
        self.since = day.strftime("%d-%b-%Y")
        cut = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp()
        self.since_expected = sum(1 for t in times if int(t) >= cut)

    def copy_to(self, dest):
        """A hard-linked copy of the Maildir: mbsync renames files (adds ,U=) in the copy only."""
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(dest, sub))
            for name in os.listdir(os.path.join(self.maildir, sub)):
                os.link(os.path.join(self.maildir, sub, name), os.path.join(dest, sub, name))


# ---------------------------------------------------------------------------------------------
# Measuring

def write_bytes(pids):
    return proc_sum(pids, "io", "write_bytes:")


def settled_write_bytes(server):
    """The servers' write counter once it has not moved for SETTLE seconds (at most SETTLE_MAX):
    what a server writes after the upload answered (Sealbox indexes the text once appends pause,
    Dovecot may write its index caches) belongs to the upload."""
    deadline = time.monotonic() + SETTLE_MAX
    last = write_bytes(server.pids())
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = write_bytes(server.pids())
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= SETTLE:
            break
    return last


def disk_usage(path):
    total = 0
    for d, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(d, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Failure(Exception):
    pass


COMPRESS = False


def mbsync_rc(path, server, maildir, state, sync, expunge_near):
    password = server.password.replace("\\", "\\\\").replace('"', '\\"')
    # isync 1.4: SSLType (not TLSType), AuthMechs LOGIN for a plaintext server, blank lines between
    # sections. FSync no: the near side's fsyncs are the same cost for both servers, not theirs.
    # mbsync 1.4 turns COMPRESS=DEFLATE on whenever a server offers it (both do); on loopback that
    # measures zlib on both ends, not the servers, so it is off unless --compress.
    no_compress = "" if COMPRESS else "DisableExtensions COMPRESS=DEFLATE\n"
    text = f"""FSync no

IMAPAccount bench
Host 127.0.0.1
Port {server.port}
User {server.user}
Pass "{password}"
SSLType None
AuthMechs LOGIN
{no_compress}Timeout 600

IMAPStore remote
Account bench

MaildirStore local
Path {os.path.dirname(maildir)}/
Inbox {maildir}
SubFolders Verbatim

Channel bench
Far :remote:INBOX
Near :local:INBOX
Sync {sync}
Create Near
SyncState {state}/
CopyArrivalDate yes
""" + ("Expunge Near\n" if expunge_near else "")
    os.makedirs(state, exist_ok=True)
    os.makedirs(os.path.dirname(maildir), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def quiet_maildir(maildir):
    """Wait (up to 3 s, untimed) until the Maildir was last changed in an earlier second than the next
    one: mbsync 1.4 sleeps a second ("Maildir notice: sleeping due to recent directory modification")
    when it finds its Maildir changed in the current second, which would add a client-side second
    to some runs and not others."""
    latest = 0
    for d in (maildir, os.path.join(maildir, "cur"), os.path.join(maildir, "new"), os.path.join(maildir, "tmp")):
        try:
            latest = max(latest, os.stat(d).st_mtime)
        except OSError:
            pass
    wait = int(latest) + 2 - time.time()
    if wait > 0:
        time.sleep(min(wait, 3))


def mbsync(rc, maildir, timeout, logfile, slept):
    quiet_maildir(maildir)
    t = time.perf_counter()
    try:
        p = subprocess.run(["mbsync", "-c", rc, "bench"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"mbsync timed out after {timeout} s")
    elapsed = time.perf_counter() - t
    with open(logfile, "a") as f:
        f.write(f"== mbsync -c {rc} bench: exit {p.returncode}, {elapsed:.2f} s\n{p.stdout}{p.stderr}\n")
    if p.returncode != 0:
        tail = " | ".join((p.stdout + p.stderr).strip().splitlines()[-6:])
        raise Failure(f"mbsync exit {p.returncode}: {tail}")
    if "sleeping due to recent directory modification" in p.stdout + p.stderr:
        slept.append(rc)
    return elapsed


def maildir_counts(path):
    total = flagged = trashed = 0
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(path, sub)):
            info = name.rsplit(":2,", 1)[1] if ":2," in name else ""
            total += 1
            flagged += "F" in info
            trashed += "T" in info
    return total, flagged, trashed


def check_content(corpus, maildir):
    """The downloaded messages are the corpus's, byte for byte, but for the X-TUID header mbsync added."""
    got = collections.Counter()
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(maildir, sub)):
            with open(os.path.join(maildir, sub, name), "rb") as f:
                data = f.read()
            head, sep, body = data.partition(b"\n\n")
            head = re.sub(rb"(?m)^X-TUID: [^\n]*\n?", b"", head + b"\n")[:-1] if b"X-TUID: " in head else head
            got[hashlib.sha256(head + sep + body).digest()] += 1
    if got != corpus.digests:
        missing, extra = corpus.digests - got, got - corpus.digests
        raise Failure(f"the downloaded Maildir differs from the corpus: {sum(missing.values())} corpus message(s) "
                      f"not found byte for byte, {sum(extra.values())} downloaded message(s) not in the corpus")


def connect(server):
    m = imaplib.IMAP4("127.0.0.1", server.port, timeout=600)
    ok(m.login(server.user, server.password), "LOGIN")
    return m


def ok(result, what):
    typ, data = result
    if typ != "OK":
        raise Failure(f"{what}: {typ} {data!r}"[:400])
    return data


def fetch_count(data):
    return sum(1 for d in data if re.match(rb"\d+ \(", d[0] if isinstance(d, tuple) else (d or b"")))


def search_numbers(data):
    return [int(x) for x in b" ".join(d for d in data if d).split()]


def uid_set(uids):
    out, i = [], 0
    while i < len(uids):
        j = i
        while j + 1 < len(uids) and uids[j + 1] == uids[j] + 1:
            j += 1
        out.append(str(uids[i]) if i == j else f"{uids[i]}:{uids[j]}")
        i = j + 1
    return ",".join(out)


def server_counts(server):
    m = connect(server)
    try:
        exists = int(ok(m.select("INBOX", readonly=True), "EXAMINE INBOX")[0])
        flagged = len(search_numbers(ok(m.uid("SEARCH", "FLAGGED"), "UID SEARCH FLAGGED")))
        return exists, flagged
    finally:
        m.logout()


def check_sync(server, maildir):
    exists, flagged = server_counts(server)
    total, lflagged, trashed = maildir_counts(maildir)
    if (total, lflagged, trashed) != (exists, flagged, 0):
        raise Failure(f"Maildir has {total} messages ({lflagged} \\Flagged, {trashed} trashed), "
                      f"the server {exists} ({flagged} \\Flagged)")


CPU_REPS = 10


def queries(server, corpus):
    """One imaplib session: each query's first call, then QUERY_REPS timed calls."""
    word = RARE_WORD
    qs = [("flags", "UID FETCH 1:* (FLAGS)", lambda m: m.uid("FETCH", "1:*", "(FLAGS)"), fetch_count, corpus.n),
          ("envelope", "UID FETCH 1:* (ENVELOPE)", lambda m: m.uid("FETCH", "1:*", "(ENVELOPE)"), fetch_count, corpus.n),
          ("bodystructure", "UID FETCH 1:* (BODYSTRUCTURE)", lambda m: m.uid("FETCH", "1:*", "(BODYSTRUCTURE)"),
           fetch_count, corpus.n),
          ("since", f"UID SEARCH SINCE {corpus.since}", lambda m: m.uid("SEARCH", "SINCE", corpus.since),
           lambda d: len(search_numbers(d)), corpus.since_expected),
          ("text", f"SEARCH TEXT {word}", lambda m: m.search(None, "TEXT", word), lambda d: len(search_numbers(d)),
           corpus.rare)]
    out, problems = {}, []
    m = connect(server)
    try:
        ok(m.select("INBOX"), "SELECT INBOX")
        for key, label, run, count, expected in qs:
            samples = []
            for k in range(1 + QUERY_REPS):
                t = time.perf_counter()
                data = ok(run(m), label)
                samples.append(time.perf_counter() - t)
                if k == 0 and count(data) != expected:
                    problems.append(f"{label}: {count(data)} results, expected {expected}")
            out[key] = samples
        # The server's CPU per call, over CPU_REPS more calls (the clock ticks are 10 ms: one call is too short to
        # time alone). The wall times above include imaplib parsing every answer, the same for both servers.
        for key, label, run, count, expected in qs:
            cpu = cpu_seconds(server.pids())
            for _ in range(CPU_REPS):
                ok(run(m), label)
            out["cpu:" + key] = (cpu_seconds(server.pids()) - cpu) / CPU_REPS
    finally:
        m.logout()
    return out, problems


def flag_expunge(server, rng):
    """STORE \\Flagged on a random 10 %, \\Deleted on a random 5 %, EXPUNGE: (store s, expunge s, count)."""
    m = connect(server)
    try:
        ok(m.select("INBOX"), "SELECT INBOX")
        uids = sorted(search_numbers(ok(m.uid("SEARCH", "ALL"), "UID SEARCH ALL")))
        flag = sorted(rng.sample(uids, max(1, len(uids) // 10)))
        gone = sorted(rng.sample(uids, max(1, len(uids) // 20)))
        t = time.perf_counter()
        ok(m.uid("STORE", uid_set(flag), "+FLAGS", "(\\Flagged)"), f"UID STORE ({len(flag)} UIDs) +FLAGS (\\Flagged)")
        t_store = time.perf_counter() - t
        ok(m.uid("STORE", uid_set(gone), "+FLAGS.SILENT", "(\\Deleted)"), f"UID STORE ({len(gone)} UIDs) +FLAGS.SILENT (\\Deleted)")
        t = time.perf_counter()
        expunged = ok(m.expunge(), "EXPUNGE")
        t_expunge = time.perf_counter() - t
        n = len([x for x in expunged if x])
        if n != len(gone):
            raise Failure(f"EXPUNGE reported {n} messages, {len(gone)} were \\Deleted")
        return t_store, t_expunge, len(flag), len(gone)
    finally:
        m.logout()


class SignalsDeferred:
    """Ctrl-C or SIGTERM during a server's stop would leave it running: they wait until it is done."""

    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

    def __exit__(self, *exc):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


def run_server(server, corpus, work, args, results, notes):
    """One repetition on one fresh server; appends to results[key] (lists) and notes."""
    name = server.name
    mtimeout = max(600, corpus.n * 0.4)
    logfile = os.path.join(work, "mbsync.log")
    slept = []  # mbsync runs that slept a second for a Maildir changed in the current second

    def add(key, value):
        results.setdefault(key, []).append(value)

    # 1. upload
    up = os.path.join(work, "upload", "INBOX")
    corpus.copy_to(up)
    rc = mbsync_rc(os.path.join(work, "push.rc"), server, up, os.path.join(work, "push-state"), "Push", False)
    before = write_bytes(server.pids())
    cpu = cpu_seconds(server.pids())
    log(f"{name}: upload of {corpus.n} messages")
    add("upload", mbsync(rc, up, mtimeout, logfile, slept))
    add("cpu:upload", cpu_seconds(server.pids()) - cpu)
    written = settled_write_bytes(server) - before
    add("written", written / corpus.bytes)
    add("written_mb", written / 1e6)
    add("disk", disk_usage(server.store_dir()) / 1e6)
    exists, _ = server_counts(server)
    if exists != corpus.n:
        raise Failure(f"after the upload the server has {exists} messages, not {corpus.n}")
    shutil.rmtree(os.path.join(work, "upload"), ignore_errors=True)

    # 2. download, then again with nothing changed
    down = os.path.join(work, "download", "INBOX")
    rc = mbsync_rc(os.path.join(work, "pull.rc"), server, down, os.path.join(work, "pull-state"), "Pull", True)
    log(f"{name}: download")
    perf = start_perf(server, args.perf, f"download-{len(results.get('download', []))}") if args.perf and name == "sealbox" else None
    try:
        cpu = cpu_seconds(server.pids())
        add("download", mbsync(rc, down, mtimeout, logfile, slept))
        add("cpu:download", cpu_seconds(server.pids()) - cpu)
    finally:
        stop_perf(perf)
    check_sync(server, down)
    try:
        check_content(corpus, down)
    except Failure as e:
        notes.append(str(e))
    log(f"{name}: resync, nothing changed")
    add("resync", mbsync(rc, down, mtimeout, logfile, slept))

    # 3. queries
    log(f"{name}: queries")
    perf = start_perf(server, args.perf, f"queries-{len(results.get('download', []))}") if args.perf and name == "sealbox" else None
    try:
        q, problems = queries(server, corpus)
    finally:
        stop_perf(perf)
    for key, samples in q.items():
        if key.startswith("cpu:"):
            add(key, samples)
            continue
        add("first:" + key, samples[0])
        results.setdefault("q:" + key, []).extend(samples[1:])
    notes.extend(problems)

    # 4. flag 10 %, expunge 5 %, sync; then EXTRA_ROUNDS more
    rng = random.Random(args.seed + 1)
    ok_rounds, failures = 0, []
    for r in range(1 + EXTRA_ROUNDS):
        try:
            t_store, t_expunge, nflag, ngone = flag_expunge(server, rng)
            t_sync = mbsync(rc, down, mtimeout, logfile, slept)
            check_sync(server, down)
            ok_rounds += 1
            if r == 0:
                add("store", t_store)
                add("expunge", t_expunge)
                add("nflag", nflag)
                add("ngone", ngone)
                add("sync1", t_sync)
            if r == EXTRA_ROUNDS:
                add("synclast", t_sync)
                add("remaining", server_counts(server)[0])
            log(f"{name}: round {r + 1}: {nflag} flagged, {ngone} expunged in {t_expunge * 1000:.0f} ms, "
                f"sync {t_sync:.2f} s")
        except (Failure, imaplib.IMAP4.error, OSError) as e:
            failures.append(f"round {r + 1}: {e}")
            log(f"{name}: round {r + 1} FAILED: {e}")
    add("rounds_ok", ok_rounds)
    notes.extend(failures)
    if slept:
        notes.append(f"{len(slept)} mbsync run(s) slept a second for a recently changed Maildir (time included)")


# ---------------------------------------------------------------------------------------------
# Report

def fmt_time(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def command_output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"({e})"


def report(results, notes, corpus, args, names):
    med = lambda n, k: statistics.median(results[n][k]) if results.get(n, {}).get(k) else None
    n = corpus.n
    nflag = med(names[0], "nflag")
    ngone = med(names[0], "ngone")
    rows = [
        ("time", f"upload: mbsync push of {n:,} messages (APPEND)", "upload"),
        ("bytes", "bytes written by the server during the upload / bytes of mail", "written"),
        ("size", "mailbox on disk after the upload", "disk"),
        ("time", "full download: mbsync pull into an empty Maildir", "download"),
        ("time", "resync with nothing changed: mbsync pull", "resync"),
        ("time", "`UID FETCH 1:* (FLAGS)`", "q:flags"),
        ("time", "`UID FETCH 1:* (ENVELOPE)`, first call", "first:envelope"),
        ("time", "`UID FETCH 1:* (ENVELOPE)`", "q:envelope"),
        ("time", "`UID FETCH 1:* (BODYSTRUCTURE)`, first call", "first:bodystructure"),
        ("time", "`UID FETCH 1:* (BODYSTRUCTURE)`", "q:bodystructure"),
        ("time", f"`UID SEARCH SINCE {corpus.since}` ({corpus.since_expected:,} hits)", "q:since"),
        ("time", f"`SEARCH TEXT {RARE_WORD}` ({corpus.rare} hits)", "q:text"),
        ("time", f"`UID STORE +FLAGS (\\Flagged)` on 10 % ({nflag:,.0f} messages)" if nflag else "UID STORE on 10 %", "store"),
        ("time", f"EXPUNGE of {ngone:,.0f} messages (5 %)" if ngone else "EXPUNGE of 5 %", "expunge"),
        ("time", "incremental sync after flag 10 %, expunge 5 %: mbsync pull", "sync1"),
        ("rounds", f"{EXTRA_ROUNDS} more rounds of flag 10 %, expunge 5 %, sync: all succeeded", "rounds_ok"),
        ("time", f"the last round's sync (round {1 + EXTRA_ROUNDS}, {med(names[0], 'remaining') or 0:,.0f} messages left)",
         "synclast"),
    ]
    label = {"dovecot": "Dovecot", "sealbox": "Sealbox"}
    print()
    print("| workload | " + " | ".join(label[x] for x in names) + (" | ratio |" if len(names) == 2 else " |"))
    print("|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else ""))
    for kind, text, key in rows:
        vals = [med(x, key) for x in names]
        cells = []
        for x, v in zip(names, vals):
            if v is None:
                cells.append("failed" if kind != "rounds" else "-")
            elif kind == "time":
                cells.append(fmt_time(v))
            elif kind == "bytes":
                cells.append(f"{med(x, 'written_mb'):,.0f} MB / {corpus.bytes / 1e6:,.0f} MB = {v:.2f}")
            elif kind == "size":
                cells.append(f"{v:,.0f} MB")
            else:
                runs = results[x]["rounds_ok"]
                total = (1 + EXTRA_ROUNDS) * len(runs)
                good = sum(runs)
                cells.append(("yes" if good == total else "**no**") + f" ({good}/{total} rounds)")
        ratio = ""
        if len(names) == 2:
            ratio = f"{vals[0] / vals[1]:.2f}" if kind != "rounds" and all(vals) else ""
        print(f"| {text} | " + " | ".join(cells) + (f" | {ratio} |" if len(names) == 2 else " |"))
    print()
    print("Server CPU (user + system; Dovecot: its master and every process under it, reaped ones included):")
    print()
    print("| server CPU | " + " | ".join(label[x] for x in names) + (" | ratio |" if len(names) == 2 else " |"))
    print("|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else ""))
    cpu_rows = [("upload, per message", "cpu:upload", 1e6 / n, "µs"), ("full download, per message", "cpu:download", 1e6 / n, "µs")]
    cpu_rows += [(f"`{q}`, per call ({CPU_REPS} calls)", "cpu:" + k, 1e3, "ms") for k, q in
                 (("flags", "UID FETCH 1:* (FLAGS)"), ("envelope", "UID FETCH 1:* (ENVELOPE)"),
                  ("bodystructure", "UID FETCH 1:* (BODYSTRUCTURE)"), ("since", "UID SEARCH SINCE"), ("text", "SEARCH TEXT"))]
    for text, key, scale, unit in cpu_rows:
        vals = [med(x, key) for x in names]
        cells = ["-" if v is None else f"{v * scale:,.1f} {unit}" for v in vals]
        ratio = f"{vals[0] / vals[1]:.2f}" if len(names) == 2 and all(vals) else ""
        print(f"| {text} | " + " | ".join(cells) + (f" | {ratio} |" if len(names) == 2 else " |"))
    print()
    print("Times: median over the repetitions (queries: over 3 timed calls after the first, in each repetition;"
          " first call: median of the repetitions' first calls). Ratio: Dovecot / Sealbox.")
    print("Per repetition (s): " + "; ".join(
        f"{x} {k} " + "/".join(f"{v:.2f}" for v in results[x].get(k, []))
        for x in names for k in ("upload", "download", "resync", "sync1", "synclast")))
    if any(notes.values()):
        print()
        print("Problems:")
        for x in names:
            for note in notes[x]:
                print(f"- {x}: {note}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"),
                   help="the sealbox binary (default: .build/release/sealbox of this checkout)")
    p.add_argument("--only", choices=["dovecot", "sealbox"])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--attachments", type=float, default=0.09,
                   help="the share of messages with an attachment (default 0.09; the scale run at 100,000 messages "
                        "uses 0.005 for a corpus of about 1 GB, and a 5,000-message run with the same share to compare with)")
    p.add_argument("--perf", metavar="DIR",
                   help="perf record the Sealbox serve process during the download and the queries into DIR "
                        "(perf's sampling costs CPU: do not take the figures of such a run)")
    p.add_argument("--keep", action="store_true", help="keep the corpus, Maildirs, server directories and logs")
    p.add_argument("--compress", action="store_true",
                   help="let mbsync use COMPRESS=DEFLATE (off by default: on loopback it times zlib)")
    p.add_argument("--client-dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                   help="where the corpus, the client's Maildirs and mbsync's state go (default: /dev/shm when writable, else the temp dir)")
    args = p.parse_args()
    global COMPRESS
    COMPRESS = args.compress
    if args.messages < 20 or args.reps < 1:
        p.error("--messages must be at least 20 and --reps at least 1")
    if not 0 <= args.attachments <= 1:
        p.error("--attachments is a share between 0 and 1")
    if args.only != "dovecot" and not os.access(args.sealbox, os.X_OK):
        p.error(f"no sealbox binary at {args.sealbox} (swift build -c release --product sealbox, or --sealbox PATH)")
    def interrupted(*_):
        raise KeyboardInterrupt("SIGTERM")
    signal.signal(signal.SIGTERM, interrupted)  # stop the servers and remove the directories, as on Ctrl-C
    binary = None
    if args.only != "dovecot":  # which sealbox ran: a shared build directory may be rebuilt meanwhile
        with open(args.sealbox, "rb") as f:
            binary = (os.fstat(f.fileno()).st_mtime, hashlib.file_digest(f, "sha256").hexdigest()[:12])
    # The corpus and the client's Maildirs (mbsync's near side; the upload Maildir is hard links
    # into the corpus) on a memory file system when there is one: writing
    # 5,000 files into a directory of an ext4 /tmp that just had thousands deleted cost mbsync up
    # to three times more CPU (the kernel's inode allocator skipping recently deleted inodes), a
    # client-side cost that moved the download time by a second depending on what ran before.
    root = tempfile.mkdtemp(prefix="sync-bench-", dir=args.client_dir)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.time()
    try:
        log(f"corpus: {args.messages} messages (seed {args.seed}) in {root}")
        corpus = Corpus(args.messages, args.seed, root, args.attachments)
        log(f"corpus: {corpus.bytes / 1e6:.1f} MB, {corpus.kinds}")
        names = [x for x in ("dovecot", "sealbox") if args.only in (None, x)]
        results = {x: {} for x in names}
        notes = {x: [] for x in names}
        for rep in range(args.reps):
            order = names if rep % 2 == 0 else names[::-1]
            for x in order:
                work = os.path.join(root, f"{x}-{rep + 1}")
                os.makedirs(work)
                log(f"repetition {rep + 1}/{args.reps}: {x}")
                server = Dovecot() if x == "dovecot" else Sealbox(args.sealbox)
                try:
                    run_server(server, corpus, work, args, results[x], notes[x])
                except (Failure, imaplib.IMAP4.error, OSError) as e:
                    notes[x].append(f"repetition {rep + 1}: {e}")
                    log(f"{x}: repetition {rep + 1} FAILED: {e}")
                finally:
                    with SignalsDeferred():
                        server.stop(keep=args.keep)
                        if args.keep:
                            log(f"{x}: kept {server.dir}")
                        else:
                            shutil.rmtree(work, ignore_errors=True)
        elapsed = time.time() - started
        print(f"Sync benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}, {elapsed / 60:.1f} min: "
              + " ".join(shlex.quote(a) for a in ["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]))
        print(f"machine: {os.cpu_count()} cores (nproc {command_output(['nproc'])}), kernel {platform.release()}, "
              f"load average {load_before} at the start, {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
        print(f"dovecot --version: {command_output(['dovecot', '--version'])}; "
              f"mbsync --version: {command_output(['mbsync', '--version'])}")
        if binary:
            print(f"sealbox: {os.path.abspath(args.sealbox)} (built {time.strftime('%Y-%m-%d %H:%M', time.gmtime(binary[0]))} "
                  f"UTC, sha256 {binary[1]}…)")
            if os.stat(args.sealbox).st_mtime != binary[0]:
                print("WARNING: the sealbox binary was replaced during the run: the repetitions ran different builds")
        print(f"corpus: {corpus.n:,} messages, {corpus.bytes / 1e6:.1f} MB (CRLF): {corpus.kinds['plain']:,} text/plain, "
              f"{corpus.kinds['alternative']:,} multipart/alternative, {corpus.kinds['attachment']:,} with one base64 "
              f"attachment of 100 KB-1 MB ({corpus.attachment_bytes / 1e6:.1f} MB decoded); dates over 2025; "
              f"'{RARE_WORD}' in {corpus.rare}; {args.reps} repetition(s), fresh servers each")
        report(results, notes, corpus, args, names)
    finally:
        with SignalsDeferred():
            if args.keep:
                log(f"kept {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
