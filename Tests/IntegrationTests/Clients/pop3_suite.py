#!/usr/bin/env python3
"""POP3 as a real client sees it, through Python's poplib, with imaplib alongside to check that
both protocols agree on the same mailbox.

    pop3_suite.py --host 127.0.0.1 --port 110 --imap-port 143 --user U --password P \
                  --tls none|starttls|implicit [--cafile cert.pem] [--secure-auth-variant] [--reference]

The suite APPENDs its messages over IMAP, then checks CAPA, STAT, LIST, UIDL (= UIDVALIDITY.UID as
IMAP reports them), RETR (exact bytes, dot-stuffing undone), TOP, DELE/RSET, that DELE takes effect
only at QUIT (an IMAP session selected at the same time sees the EXPUNGEs), that RETR marks \\Seen,
that a dropped connection deletes nothing, malformed commands (-ERR, session goes on), a wrong
password ([AUTH]) and pipelined commands. Exit status 0 only if every step passed. With --reference
it passes against Dovecot too (scripts/dovecot-test.sh with POP3_PORT), which is how it is checked.
"""
import argparse
import base64
import imaplib
import poplib
import re
import socket
import ssl
import sys
import time
import traceback
import uuid

from imapclient import tls_context


class Failure(AssertionError):
    pass


def check(cond, what, got=None):
    if not cond:
        raise Failure(what + ("" if got is None else f" — got: {got!r}"[:1500]))


def pop(opts, login=True):
    if opts.tls == "implicit":
        p = poplib.POP3_SSL(opts.host, opts.port, timeout=30, context=tls_context(opts.cafile))
    else:
        p = poplib.POP3(opts.host, opts.port, timeout=30)
        if opts.tls == "starttls":
            p.stls(tls_context(opts.cafile))
    if login:
        p.user(opts.user)
        p.pass_(opts.password)
    return p


def imap(opts):
    m = imaplib.IMAP4(opts.host, opts.imap_port, timeout=30)
    if opts.tls != "none":
        m.starttls(tls_context(opts.cafile))
    m.login(opts.user, opts.password)
    return m


def message(n, run):
    body = f"Body of message {n}.\r\n.A line that starts with a dot\r\n..and two dots\r\n.\r\nlast line\r\n"
    return (f"From: Sender {n} <sender{n}@example.org>\r\nTo: {opts_user}\r\nSubject: pop3 suite {run} #{n}\r\n"
            f"Message-ID: <pop3-{run}-{n}@example.org>\r\nDate: Sun, 22 Nov 2026 10:0{n}:00 +0000\r\n\r\n" + body).encode()


def imap_uids(m):
    typ, data = m.select("INBOX")
    check(typ == "OK", "IMAP SELECT INBOX", data)
    typ, data = m.response("UIDVALIDITY")
    validity = int(data[0])
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = [int(x) for x in data[0].split()]
    return validity, uids


STEPS = []


def step(fn):
    STEPS.append(fn)
    return fn


@step
def capa_and_stat(opts, state):
    p = pop(opts)
    caps = p.capa()
    wanted = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
    if not opts.reference:
        wanted += ["EXPIRE", "IMPLEMENTATION"]
    for cap in wanted:
        check(cap in caps, f"CAPA lists {cap}", caps)
    count, size = p.stat()
    check(count == len(state["messages"]), "STAT count", (count, size))
    check(size == sum(len(m) for m in state["messages"]), "STAT size (octets, CRLF counted)", (count, size))
    resp, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    check(sizes == [len(m) for m in state["messages"]], "LIST sizes", listing)
    check(p.list(2).split()[2] == str(len(state["messages"][1])).encode(), "LIST 2", p.list(2))
    p.quit()


@step
def uidl_matches_imap(opts, state):
    m = imap(opts)
    validity, uids = imap_uids(m)
    m.logout()
    p = pop(opts)
    resp, listing, _ = p.uidl()
    got = [l.split()[1].decode() for l in listing]
    if opts.reference:
        check(len(set(got)) == len(uids), "UIDL values are unique", got)
    else:
        check(got == [f"{validity}.{u}" for u in uids], "UIDL = UIDVALIDITY.UID", (got, validity, uids))
    check(p.uidl(1).split()[2].decode() == got[0], "UIDL 1", p.uidl(1))
    p.quit()
    # Stable across sessions.
    p = pop(opts)
    again = [l.split()[1].decode() for l in p.uidl()[1]]
    p.quit()
    check(again == got, "UIDL stable across sessions", (again, got))
    state["uidl"] = got


@step
def retr_exact_bytes(opts, state):
    p = pop(opts)
    for i, expected in enumerate(state["messages"], start=1):
        resp, lines, octets = p.retr(i)
        check(resp.startswith(b"+OK"), f"RETR {i}", resp)
        data = b"\r\n".join(lines) + b"\r\n"  # poplib undoes the dot-stuffing
        check(data == expected, f"RETR {i}: identical bytes", data)
    resp, lines, _ = p.top(1, 2)
    header, _, body = b"\r\n".join(lines).partition(b"\r\n\r\n")
    check(b"Subject: pop3 suite" in header, "TOP 1 2: header", lines)
    check(body.split(b"\r\n") == [b"Body of message 1.", b".A line that starts with a dot"], "TOP 1 2: two body lines", body)
    resp, lines, _ = p.top(2, 0)
    check(lines[-1] == b"" and b"Body of" not in b"\r\n".join(lines), "TOP 2 0: header only", lines)
    p.quit()


@step
def retr_sets_seen_at_quit(opts, state):
    m = imap(opts)
    validity, uids = imap_uids(m)
    typ, data = m.uid("STORE", ",".join(map(str, uids)), "-FLAGS.SILENT", "(\\Seen)")
    m.logout()
    p = pop(opts)
    p.retr(1)
    p.top(2, 0)
    p.quit()
    m = imap(opts)
    imap_uids(m)
    typ, data = m.uid("FETCH", f"{uids[0]},{uids[1]}", "(FLAGS)")
    text = b" ".join(d if isinstance(d, bytes) else d[0] for d in data)
    flags = dict((int(u), f) for u, f in re.findall(rb"UID (\d+) FLAGS \(([^)]*)\)", text) +
                 [(b, a) for a, b in re.findall(rb"FLAGS \(([^)]*)\) UID (\d+)", text)])
    check(b"\\Seen" in flags.get(uids[0], b""), "RETR marked \\Seen", text)
    check(b"\\Seen" not in flags.get(uids[1], b""), "TOP did not mark \\Seen", text)
    m.logout()


@step
def dele_rset_and_dropped_connection(opts, state):
    p = pop(opts)
    p.dele(1)
    check(p.stat()[0] == len(state["messages"]) - 1, "STAT after DELE", p.stat())
    try:
        p.retr(1)
        raise Failure("RETR of a deleted message succeeded")
    except poplib.error_proto as e:
        check(str(e).startswith("b'-ERR"), "RETR deleted: -ERR", e)
    p.rset()
    check(p.stat()[0] == len(state["messages"]), "STAT after RSET", p.stat())
    p.dele(2)
    p.sock.close()  # no QUIT: no UPDATE state
    p = pop(opts)
    check(p.stat()[0] == len(state["messages"]), "a dropped connection deleted nothing", p.stat())
    p.quit()


@step
def dele_at_quit_seen_by_imap(opts, state):
    m = imap(opts)
    validity, uids = imap_uids(m)
    p = pop(opts)
    p.dele(1)
    p.dele(3)
    m.noop()
    check(not m.untagged_responses.get("EXPUNGE"), "nothing expunged before QUIT", m.untagged_responses)
    resp = p.quit()
    check(resp.startswith(b"+OK"), "QUIT", resp)
    expunged = []
    deadline = time.time() + 10
    while len(expunged) < 2 and time.time() < deadline:
        typ, data = m.noop()
        expunged += m.untagged_responses.pop("EXPUNGE", [])
        time.sleep(0.05)
    check(sorted(int(x) for x in expunged) in ([1, 2], [1, 3]), "the IMAP session saw two EXPUNGEs", expunged)
    _, left = imap_uids(m)
    check(left == [u for i, u in enumerate(uids) if i not in (0, 2)], "IMAP: the deleted messages are gone", left)
    m.logout()
    state["messages"] = [msg for i, msg in enumerate(state["messages"]) if i not in (0, 2)]
    p = pop(opts)
    check(p.stat()[0] == len(state["messages"]), "POP3 after UPDATE", p.stat())
    resp, lines, _ = p.retr(1)
    check(b"\r\n".join(lines) + b"\r\n" == state["messages"][0], "renumbered: message 1 is the old message 2", lines[:4])
    p.quit()


@step
def errors_and_pipelining(opts, state):
    p = pop(opts)
    for bad, expected in ((b"FOO", b"-ERR"), (b"RETR 0", b"-ERR"), (b"RETR 999", b"-ERR"), (b"LIST x", b"-ERR"),
                          (b"TOP 1", b"-ERR"), (b"USER again", b"-ERR")):
        p._putcmd(bad.decode())
        line, _ = p._getline()
        check(line.startswith(expected), f"{bad!r} gets -ERR", line)
    check(p.noop().startswith(b"+OK"), "the session goes on after errors")
    # PIPELINING: three commands in one write, three replies in order.
    p.sock.sendall(b"STAT\r\nLIST 1\r\nNOOP\r\n")
    replies = [p._getline()[0] for _ in range(3)]
    check(replies[0].startswith(b"+OK ") and replies[1].startswith(b"+OK 1 ") and replies[2].startswith(b"+OK"),
          "pipelined replies in order", replies)
    p.quit()
    # A wrong password: -ERR [AUTH].
    p = pop(opts, login=False)
    p.user(opts.user)
    try:
        p.pass_("wrong password")
        raise Failure("a wrong password was accepted")
    except poplib.error_proto as e:
        check(str(e).startswith("b'-ERR [AUTH]"), "wrong password: -ERR [AUTH]", e)
    p.quit()


@step
def auth_plain(opts, state):
    p = pop(opts, login=False)
    token = base64.b64encode(b"\0" + opts.user.encode() + b"\0" + opts.password.encode()).decode()
    resp = p._shortcmd("AUTH PLAIN " + token)
    check(resp.startswith(b"+OK"), "AUTH PLAIN with initial response", resp)
    check(p.stat()[0] == len(state["messages"]), "STAT after AUTH PLAIN", p.stat())
    p.quit()


def secure_auth_variant(opts):
    """Without TLS and without --allow-insecure-auth: no USER/SASL in CAPA, USER refused."""
    p = poplib.POP3(opts.host, opts.port, timeout=30)
    caps = p.capa()
    check("STLS" in caps and "USER" not in caps and "SASL" not in caps, "CAPA before STLS", caps)
    try:
        p.user(opts.user)
        raise Failure("USER accepted without TLS")
    except poplib.error_proto as e:
        check(str(e).startswith("b'-ERR [AUTH]"), "USER before STLS: -ERR [AUTH]", e)
    p.stls(tls_context(opts.cafile))
    caps = p.capa()
    check("USER" in caps and "STLS" not in caps, "CAPA after STLS", caps)
    p.user(opts.user)
    p.pass_(opts.password)
    p.quit()
    # A command pipelined after STLS is never obeyed: -ERR and the connection closes.
    with socket.create_connection((opts.host, opts.port), timeout=30) as s:
        f = s.makefile("rb")
        check(f.readline().startswith(b"+OK"), "greeting")
        s.sendall(b"STLS\r\nUSER " + opts.user.encode() + b"\r\n")
        line = f.readline()
        check(line.startswith(b"-ERR STLS must be the last command"), "pipelined STLS refused", line)
        check(f.readline() == b"", "connection closed after the refused STLS")


def main():
    global opts_user
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--imap-port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--tls", choices=("none", "starttls", "implicit"), default="none")
    ap.add_argument("--cafile")
    ap.add_argument("--secure-auth-variant", action="store_true")
    ap.add_argument("--reference", action="store_true",
                    help="a reference server (Dovecot): skip the checks of Sealbox's own choices (UIDL format, EXPIRE)")
    opts = ap.parse_args()
    opts_user = opts.user
    if opts.secure_auth_variant:
        try:
            secure_auth_variant(opts)
        except Exception:
            traceback.print_exc()
            return 1
        print("pop3 secure-auth variant: passed")
        return 0

    run = uuid.uuid4().hex[:8]
    state = {"messages": [message(n, run) for n in (1, 2, 3)]}
    m = imap(opts)
    # Start from an empty INBOX (the suite may run more than once on one mailbox).
    typ, data = m.select("INBOX")
    if int(data[0]) > 0:
        m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        m.expunge()
    for msg in state["messages"]:
        typ, data = m.append("INBOX", None, None, msg)
        check(typ == "OK", "IMAP APPEND", data)
    m.logout()
    failed = 0
    for fn in STEPS:
        try:
            fn(opts, state)
            print(f"ok   {fn.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"pop3 suite: {len(STEPS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
