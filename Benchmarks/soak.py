#!/usr/bin/env python3
"""Soak test: one node under steady mixed load for a while; every error and every lost message counted.

    swift build -c release --product sealbox && python3 Benchmarks/soak.py [--seconds 600] [--idle 1000]
                                                        [--senders 20] [--pollers 5] [--mailboxes 50]
                                                        [--keep N] [--sealbox PATH]

Starts the release `sealbox serve` on loopback (a fresh data directory, --mailboxes mailboxes, the
per-IP and per-mailbox limits raised as an admin would for a test), then at once:
  - IDLE sessions (--idle), spread evenly over the mailboxes: log in, SELECT INBOX, IDLE; each
    remembers the last `* n EXISTS` it heard;
  - SMTP senders (--senders): one connection each, a 4 KB message after another, each to the next
    mailbox in turn (RSET between), counting the 250s per mailbox;
  - POP3 pollers (--pollers): every 2 s a new session on the next mailbox: STAT, RETR of the
    newest message, QUIT;
  - with --keep N, one IMAP session per mailbox that every 2 s expunges the oldest messages beyond
    N, so that the mailboxes reach a steady size and the memory measured is the server's own, not
    the sessions' views of growing folders (1,000 views of one 30,000-message folder are ~1.7 GB
    by themselves).
With --mailboxes 1 every session is on one mailbox: a stress of one folder's fan-out (each
expunge is one line to each of the 1,000 sessions), not the shape of a real node's load.
After --seconds the senders stop; after a settling pause every IDLE session must have heard its
mailbox's final count, each mailbox's STATUS must equal its number of 250s (0 lost, 0 doubled),
and no command may have failed. The server's resident memory is sampled every 5 s: the report gives it after the warm-up
(the first fifth) and at the end. Exit status 1 when anything failed. Not part of the test suite
(it takes minutes); Linux only (reads /proc).
"""
import argparse, asyncio, os, resource, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Sealbox, rss_kb  # noqa: E402

MESSAGE = ("From: Soak <soak@example.net>\r\nTo: {to}\r\nSubject: soak {n}\r\n"
           "Message-ID: <soak-{n}@example.net>\r\n\r\n" + ("the quick brown fox jumps over the lazy dog\r\n" * 90))


class Counters:
    def __init__(self, mailboxes):
        self.accepted = [0] * mailboxes  # per mailbox
        self.errors = []          # (what, detail)
        self.idle_seen = {}       # session index -> last EXISTS
        self.pop3_sessions = 0
        self.expunged = [0] * mailboxes
        self.rss = []             # (t, kB)

    def error(self, what, detail):
        if len(self.errors) < 50:
            self.errors.append((what, str(detail)[:200]))
        else:
            self.errors.append((what, ""))


async def read_line(reader, timeout=60):
    line = await asyncio.wait_for(reader.readline(), timeout)
    if not line:
        raise ConnectionError("connection closed")
    return line.decode("utf-8", "replace")


async def imap_idle(i, port, user, password, stop, c):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await read_line(reader)
        async def command(tag, text):
            writer.write(f"{tag} {text}\r\n".encode())
            await writer.drain()
            while True:
                line = await read_line(reader)
                if line.startswith("* ") and line.rstrip().endswith(" EXISTS"):
                    c.idle_seen[i] = int(line.split()[1])
                if line.startswith(tag + " "):
                    if not line.startswith(tag + " OK"):
                        raise RuntimeError(line.strip())
                    return
        await command("a", f'LOGIN "{user}" "{password}"')
        await command("b", "SELECT INBOX")
        writer.write(b"c IDLE\r\n")
        await writer.drain()
        while not stop.is_set():
            try:
                line = await asyncio.wait_for(reader.readline(), 1)
            except asyncio.TimeoutError:
                continue
            if not line:
                raise ConnectionError("closed during IDLE")
            text = line.decode("utf-8", "replace")
            if text.startswith("* ") and text.rstrip().endswith(" EXISTS"):
                c.idle_seen[i] = int(text.split()[1])
            elif text.startswith("* ") and text.rstrip().endswith(" EXPUNGE"):
                c.idle_seen[i] = c.idle_seen.get(i, 0) - 1
            elif text.startswith("* BYE") or text.startswith("c "):
                raise RuntimeError(text.strip())
        writer.write(b"DONE\r\n")
        await writer.drain()
        while True:
            text = await read_line(reader)
            if text.startswith("* ") and text.rstrip().endswith(" EXISTS"):
                c.idle_seen[i] = int(text.split()[1])
            if text.startswith("c "):
                break
        writer.write(b"z LOGOUT\r\n")
        await writer.drain()
        writer.close()
    except Exception as e:  # noqa: BLE001 - every failure is counted
        c.error("imap idle", e)


async def smtp_sender(i, port, users, stop, c, next_n):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async def reply():
            while True:
                line = await read_line(reader)
                if line[3:4] != "-":
                    return line
        async def command(text, expect):
            writer.write(text.encode() + b"\r\n")
            await writer.drain()
            line = await reply()
            if not line.startswith(expect):
                raise RuntimeError(f"{text.split()[0]}: {line.strip()}")
        await reply()
        await command(f"EHLO soak{i}.example.net", "250")
        while not stop.is_set():
            n = next_n()
            m = n % len(users)
            await command("MAIL FROM:<soak@example.net>", "250")
            await command(f"RCPT TO:<{users[m][0]}>", "250")
            await command("DATA", "354")
            writer.write(MESSAGE.format(n=n, to=users[m][0]).encode() + b".\r\n")
            await writer.drain()
            line = await reply()
            if not line.startswith("250"):
                raise RuntimeError(f"end of DATA: {line.strip()}")
            c.accepted[m] += 1
        await command("QUIT", "221")
        writer.close()
    except Exception as e:  # noqa: BLE001
        c.error("smtp sender", e)


async def pop3_poller(k, port, users, stop, c):
    while not stop.is_set():
        user, password = users[k % len(users)]
        k += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            async def command(text, multi=False):
                if text:
                    writer.write(text.encode() + b"\r\n")
                    await writer.drain()
                line = await read_line(reader)
                if not line.startswith("+OK"):
                    raise RuntimeError(f"{text.split()[0] if text else 'greeting'}: {line.strip()}")
                if multi:
                    while (await read_line(reader)) != ".\r\n":
                        pass
                return line
            await command("")
            await command(f"USER {user}")
            await command(f"PASS {password}")
            count = int((await command("STAT")).split()[1])
            if count:
                await command(f"RETR {count}", multi=True)
            await command("QUIT")
            writer.close()
            c.pop3_sessions += 1
        except Exception as e:  # noqa: BLE001
            c.error("pop3 poller", e)
        try:
            await asyncio.wait_for(stop.wait(), 2)
        except asyncio.TimeoutError:
            pass


async def imap_expunger(m, port, user, password, keep, stop, c):
    """Keeps INBOX at about `keep` messages: the oldest beyond it are flagged \\Deleted and expunged."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await read_line(reader)
        exists = 0
        async def command(tag, text):
            nonlocal exists
            writer.write(f"{tag} {text}\r\n".encode())
            await writer.drain()
            while True:
                line = await read_line(reader)
                if line.startswith("* ") and line.rstrip().endswith(" EXISTS"):
                    exists = int(line.split()[1])
                elif line.startswith("* ") and line.rstrip().endswith(" EXPUNGE"):
                    exists -= 1
                    c.expunged[m] += 1
                if line.startswith(tag + " "):
                    if not line.startswith(tag + " OK"):
                        raise RuntimeError(line.strip())
                    return
        await command("a", f'LOGIN "{user}" "{password}"')
        await command("b", "SELECT INBOX")
        n = 0
        while not stop.is_set():
            n += 1
            await command(f"n{n}", "NOOP")
            if exists > keep:
                await command(f"s{n}", f"STORE 1:{exists - keep} +FLAGS.SILENT (\\Deleted)")
                await command(f"e{n}", "EXPUNGE")
            try:
                await asyncio.wait_for(stop.wait(), 2)
            except asyncio.TimeoutError:
                pass
        await command("z", "LOGOUT")
        writer.close()
    except Exception as e:  # noqa: BLE001
        c.error("imap expunger", e)


async def imap_status(port, user, password):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await read_line(reader)
    writer.write(f'a LOGIN "{user}" "{password}"\r\nb STATUS INBOX (MESSAGES)\r\nc LOGOUT\r\n'.encode())
    await writer.drain()
    messages = None
    while True:
        line = await read_line(reader)
        if line.startswith("* STATUS"):
            messages = int(line.split("MESSAGES ")[1].split(")")[0])
        if line.startswith("c "):
            break
    writer.close()
    return messages


async def run(args, server):
    users = server.users
    c = Counters(len(users))
    stop_traffic, stop_idle = asyncio.Event(), asyncio.Event()
    counter = iter(range(1, 10 ** 9))
    started = time.monotonic()

    async def sample():
        while not stop_idle.is_set():
            c.rss.append((time.monotonic() - started, rss_kb(server.pids())))
            try:
                await asyncio.wait_for(stop_idle.wait(), 5)
            except asyncio.TimeoutError:
                pass

    # One login first: the throttle trusts an (IP, account) pair once it has logged in, and lets
    # its logins run in parallel (until then it allows only a few at a time from one address).
    for user, password in users:
        await imap_status(server.port, user, password)
    # Then the IDLE sessions (logins in batches, as clients reconnecting after a restart would).
    idle = []
    for i in range(args.idle):
        user, password = users[i % len(users)]
        idle.append(asyncio.create_task(imap_idle(i, server.port, user, password, stop_idle, c)))
        if i % 50 == 49:
            await asyncio.sleep(0.2)
    sampler = asyncio.create_task(sample())
    traffic = [asyncio.create_task(smtp_sender(i, server.smtp_port, users, stop_traffic, c, lambda: next(counter)))
               for i in range(args.senders)]
    traffic += [asyncio.create_task(pop3_poller(k, server.pop3_port, users, stop_traffic, c))
                for k in range(args.pollers)]
    if args.keep:
        traffic += [asyncio.create_task(imap_expunger(m, server.port, user, password, args.keep, stop_traffic, c))
                    for m, (user, password) in enumerate(users)]
    await asyncio.sleep(args.seconds)
    stop_traffic.set()
    await asyncio.gather(*traffic)
    # Settle: every IDLE session must hear the final count.
    final = [await imap_status(server.port, user, password) for user, password in users]
    def heard_count():
        return sum(1 for i, v in c.idle_seen.items() if v == final[i % len(users)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and heard_count() < args.idle:
        await asyncio.sleep(0.5)
    heard = heard_count()
    stop_idle.set()
    await asyncio.gather(*idle, sampler)
    return c, final, heard, time.monotonic() - started


def add_mailboxes(env, server, count):
    """user@example.com (made by Sealbox) and user2 … userN; server.users lists (address, password)."""
    run = lambda *a: subprocess.run([server.binary, *a], env=env, check=True, capture_output=True, text=True,
                                    timeout=120).stdout
    server.users = [(server.user, server.password)]
    for n in range(2, count + 1):
        address = f"user{n}@example.com"
        run("alias", "add", address)
        server.users.append((address, run("password", "generate", address).strip()))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--idle", type=int, default=1000)
    p.add_argument("--senders", type=int, default=20)
    p.add_argument("--pollers", type=int, default=5)
    p.add_argument("--keep", type=int, default=0, help="expunge the oldest messages beyond this many (0: keep all)")
    p.add_argument("--mailboxes", type=int, default=50, help="mailboxes the sessions and messages are spread over")
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")  # as scripts/serve runs the server
    server = Sealbox(args.sealbox, before_serve=lambda env, s: add_mailboxes(env, s, args.mailboxes))
    try:
        c, final, heard, elapsed = asyncio.run(run(args, server))
    finally:
        server.stop()
    warm = [kb for t, kb in c.rss if t >= elapsed * 0.2] or [kb for _, kb in c.rss]
    print(f"soak: {args.seconds:.0f} s of traffic, {args.idle} IDLE sessions, {args.senders} SMTP senders, "
          f"{args.pollers} POP3 pollers (MALLOC_ARENA_MAX={os.environ['MALLOC_ARENA_MAX']}); {elapsed:.0f} s in all")
    accepted, expunged, held = sum(c.accepted), sum(c.expunged), sum(final)
    mismatched = [m for m in range(len(final)) if final[m] + c.expunged[m] != c.accepted[m]]
    print(f"SMTP: {accepted} messages answered 250 ({accepted / args.seconds:.1f}/s) to {len(final)} mailboxes; "
          f"their INBOXes hold {held}" + (f" and {expunged} were expunged (--keep {args.keep})" if args.keep else "")
          + f" ({held + expunged - accepted:+d}, {len(mismatched)} mailboxes off: "
          + f"{'none lost, none doubled' if not mismatched else 'MISMATCH'})")
    print(f"IMAP IDLE: {heard} of {args.idle} sessions heard their mailbox's final EXISTS")
    print(f"POP3: {c.pop3_sessions} sessions (STAT, RETR of the newest, QUIT)")
    if c.rss:
        print(f"server RSS: {c.rss[0][1] / 1024:.0f} MB at the start, {warm[0] / 1024:.0f} MB after the warm-up, "
              f"{max(warm) / 1024:.0f} MB at most after it, {c.rss[-1][1] / 1024:.0f} MB at the end")
    print(f"errors: {len(c.errors)}")
    for what, detail in c.errors[:20]:
        print(f"  {what}: {detail}")
    ok = not c.errors and not mismatched and heard == args.idle
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
