#!/usr/bin/env python3
"""Every IMAP command a real client uses, through Python's imaplib (and a raw socket where imaplib
cannot: IDLE, LITERAL+, pipelined STARTTLS), checked for semantics rather than exact text.

    imaplib_suite.py --host 127.0.0.1 --port 143 --user U --password P --tls none|starttls|implicit \
                     [--cafile cert.pem] [--expect-caps IDLE,UIDPLUS,…] [--secure-auth-variant]

Each step runs on its own; a failing step prints its transcript and the suite goes on. Exit status
0 only if every step passed. Mailboxes are created under a unique prefix and deleted at the end;
the RENAME INBOX step moves INBOX's messages away and back.
"""
import base64
import datetime
import imaplib
import random
import re
import socket
import ssl
import sys
import time
import traceback

from imapclient import (TRANSCRIPT, RawIMAP, common_args, connect, fetch_items, flags_of, parse,
                        response_code, tls_context, wire)


class Failure(AssertionError):
    pass


def check(cond, what, got=None):
    if not cond:
        raise Failure(what + ("" if got is None else f" — got: {got!r}"[:1500]))


def ok(result, what):
    typ, data = result
    check(typ == "OK", f"{what}: expected OK", (typ, data))
    return data


TAGGED = re.compile(r"^\S+ (\S+) S: (\S+) (OK|NO|BAD)\b(.*)$")


def expect_error(fn, what, statuses=("NO", "BAD"), conn=None):
    """Runs an imaplib call that must end with a tagged NO/BAD from the server (imaplib hides the
    status in its exceptions, so it is read from the transcript); returns the response text."""
    mark = TRANSCRIPT.mark()
    try:
        result = fn()
    except imaplib.IMAP4.abort as e:
        raise Failure(f"{what}: connection aborted ({e})")
    except imaplib.IMAP4.error as e:
        tagged = [TAGGED.match(l) for l in TRANSCRIPT.since(mark)]
        tagged = [t for t in tagged if t and not t.group(2) in ("*", "+")]
        check(tagged, f"{what}: no tagged reply from the server (client-side error: {e})")
        status = tagged[-1].group(3)
        check(status in statuses, f"{what}: expected {'/'.join(statuses)}", tagged[-1].group(0))
        return tagged[-1].group(0)
    typ = result[0]
    check(typ in statuses, f"{what}: expected {'/'.join(statuses)}", result)
    return repr(result)


class forced_state:
    """Lets imaplib send a command its client-side state machine would refuse (to see the server's answer)."""

    def __init__(self, m, state):
        self.m, self.state = m, state

    def __enter__(self):
        self.saved = self.m.state
        self.m.state = self.state

    def __exit__(self, *exc):
        if self.m.state == self.state:
            self.m.state = self.saved


CRLF = "\r\n"


def msg(lines, body):
    return (CRLF.join(lines) + CRLF + CRLF + body.replace("\n", CRLF)).encode("utf-8")


class Suite:
    def __init__(self, opts):
        self.opts = opts
        self.run_id = f"{int(time.time()) % 100000}{random.randint(100, 999)}"
        self.prefix = f"T{self.run_id}"
        self.results = []
        self.notes = []
        self.delim = "/"
        self.caps = set()
        self.main = None

    # --- plumbing --------------------------------------------------------------------------

    def step(self, name, fn):
        mark = TRANSCRIPT.mark()
        TRANSCRIPT.note(f"=== step {name}")
        started = time.monotonic()
        try:
            skipped = fn()
            status = "SKIP" if isinstance(skipped, str) else "PASS"
            detail = skipped if isinstance(skipped, str) else ""
        except Exception as e:  # noqa: BLE001 - every failure is reported, the suite goes on
            status = "FAIL"
            detail = f"{type(e).__name__}: {e}"
            if not isinstance(e, Failure):
                detail += "\n" + traceback.format_exc(limit=4)
            if isinstance(e, (imaplib.IMAP4.abort, OSError, EOFError)) and self.main is not None:
                self.main = None  # reconnect for the next step
        elapsed = time.monotonic() - started
        self.results.append((name, status, detail, TRANSCRIPT.since(mark), elapsed))
        print(f"{status:4} {name} ({elapsed:.2f}s){' — ' + detail.splitlines()[0] if detail else ''}", flush=True)

    def m(self):
        if self.main is None:
            self.main = connect(self.opts, "A")
        return self.main

    def mbox(self, *parts):
        return self.delim.join((self.prefix,) + parts)

    def cap(self, name):
        return name.upper() in self.caps

    def fresh_mailbox(self, m, *parts):
        name = self.mbox(*parts)
        ok(m.create(name), f"CREATE {name}")
        return name

    def append(self, m, mailbox, message, flags=None, date=None):
        typ, data = m.append(mailbox, flags, date, message)
        check(typ == "OK", f"APPEND to {mailbox}", (typ, data))
        code = response_code(data)
        if self.cap("UIDPLUS"):
            check(len(code) == 3 and code[0].upper() == "APPENDUID", "APPEND: [APPENDUID uidvalidity uid]", data)
            return int(code[2])
        return None

    def select(self, m, mailbox, readonly=False):
        m.untagged_responses.clear()
        typ, data = m.select(mailbox, readonly)
        check(typ == "OK", f"{'EXAMINE' if readonly else 'SELECT'} {mailbox}", (typ, data))
        return int(data[0])

    def uid_fetch(self, m, uids, items):
        m.untagged_responses.clear()
        typ, data = m.uid("FETCH", uids, items)
        check(typ == "OK", f"UID FETCH {uids} {items}", (typ, data))
        return fetch_items(data)

    def by_uid(self, fetched):
        return {int(v["UID"]): v for v in fetched.values() if "UID" in v}

    def search(self, m, *criteria, uid=False, charset=None):
        m.untagged_responses.clear()
        if uid:
            typ, data = m.uid("SEARCH", *criteria) if charset is None else m.uid("SEARCH", "CHARSET", charset, *criteria)
        else:
            typ, data = m.search(charset, *criteria)
        check(typ == "OK", f"SEARCH {criteria}", (typ, data))
        return {int(x) for x in b" ".join(d for d in data if d).split()}

    # --- the scenario ------------------------------------------------------------------------

    def run(self):
        o = self.opts
        self.step("connect, greeting, CAPABILITY before login", self.t_greeting)
        if o.secure_auth_variant:
            self.step("LOGIN/AUTHENTICATE refused before STARTTLS", self.t_secure_auth)
            return self.report()
        self.step("LOGIN wrong password -> NO [AUTHENTICATIONFAILED]", self.t_bad_password)
        self.step("LOGIN, CAPABILITY after login", self.t_login)
        if o.expect_inbox_message:
            self.step("a message delivered before the session is in INBOX, byte-exact", self.t_delivered)
        self.step("AUTHENTICATE PLAIN with SASL-IR and with a continuation", self.t_authenticate)
        self.step("STARTTLS (and plaintext pipelined after it is ignored)", self.t_starttls)
        self.step("unknown command -> tagged BAD, session continues", self.t_bad_command)
        self.step("NOOP, CHECK outside a selected mailbox", self.t_noop)
        self.step("NAMESPACE", self.t_namespace)
        self.step("ID", self.t_id)
        self.step("ENABLE", self.t_enable)
        self.step("LIST / LSUB basics", self.t_list)
        self.step("LIST SPECIAL-USE (RETURN and selection option)", self.t_special_use)
        self.step("CREATE / DELETE / RENAME with hierarchy", self.t_create_rename)
        self.step("mailbox names in modified UTF-7", self.t_utf7_names)
        self.step("UTF8=ACCEPT: UTF-8 mailbox names after ENABLE, the same mailboxes as in modified UTF-7", self.t_utf8_names)
        self.step("SUBSCRIBE / UNSUBSCRIBE / LSUB", self.t_subscribe)
        self.step("APPEND with flags and date (APPENDUID), STATUS", self.t_append_status)
        self.step("LITERAL+ APPEND and synchronizing literal (raw)", self.t_literals)
        self.step("SELECT / EXAMINE (read-only refuses STORE)", self.t_select_examine)
        self.step("FETCH every data item", self.t_fetch)
        self.step("\\Seen set by BODY[]/RFC822, not by BODY.PEEK/RFC822.HEADER", self.t_seen)
        self.step("STORE +/-/= FLAGS, .SILENT, UID STORE", self.t_store)
        self.step("COPY / UID COPY (COPYUID)", self.t_copy)
        self.step("MOVE / UID MOVE", self.t_move)
        self.step("SEARCH keys", self.t_search)
        self.step("EXPUNGE / UID EXPUNGE", self.t_expunge)
        self.step("CLOSE expunges silently; UNSELECT does not", self.t_close_unselect)
        self.step("RENAME INBOX", self.t_rename_inbox)
        self.step("GETQUOTAROOT / GETQUOTA", self.t_quota)
        self.step("IDLE sees EXISTS / FETCH / EXPUNGE from another session", self.t_idle)
        self.step("COMPRESS=DEFLATE: commands, a large APPEND and FETCH through deflate", self.t_compress)
        self.step("two sessions see each other's EXISTS/FLAGS/EXPUNGE", self.t_concurrent)
        self.step("error replies (not selected, bad mailbox, TRYCREATE, bad set)", self.t_errors)
        self.step("clean up test mailboxes", self.t_cleanup)
        self.step("LOGOUT", self.t_logout)
        return self.report()

    def report(self):
        failed = [r for r in self.results if r[1] == "FAIL"]
        print()
        for note in self.notes:
            print(f"note: {note}")
        print(f"{len(self.results) - len(failed)} of {len(self.results)} steps passed "
              f"({sum(1 for r in self.results if r[1] == 'SKIP')} skipped)")
        for name, _, detail, lines, _ in failed:
            print(f"\n---- FAILED: {name}\n{detail}\n-- transcript:")
            for line in lines[-120:]:
                print("   " + line)
        return 1 if failed else 0

    # --- steps -------------------------------------------------------------------------------

    def t_greeting(self):
        o = self.opts
        m = connect(o, "G", login=False, tls="implicit" if o.tls == "implicit" else "none")
        caps = {c.upper() for c in m.capabilities}
        check("IMAP4REV1" in caps, "pre-login CAPABILITY contains IMAP4rev1", caps)
        if o.tls != "implicit":
            check("STARTTLS" in caps, "STARTTLS announced on the plaintext port", caps)
        m.logout()

    def t_secure_auth(self):
        o = self.opts
        m = connect(o, "S", login=False, tls="none")
        caps = {c.upper() for c in m.capabilities}
        check("STARTTLS" in caps, "STARTTLS announced", caps)
        if "LOGINDISABLED" not in caps:
            self.notes.append("server does not announce LOGINDISABLED before TLS (allowed; LOGIN must still fail)")
        expect_error(lambda: m.login(o.user, o.password), "LOGIN before STARTTLS", ("NO", "BAD"))
        tag = m._command("AUTHENTICATE", "PLAIN", base64.b64encode(f"\0{o.user}\0{o.password}".encode()).decode())
        try:
            typ, data = m._command_complete("AUTHENTICATE", tag)
        except imaplib.IMAP4.error as e:
            typ, data = "BAD", [str(e)]
        check(typ in ("NO", "BAD"), "AUTHENTICATE PLAIN before STARTTLS refused", (typ, data))
        m.starttls(tls_context(o.cafile))
        m.login(o.user, o.password)
        m.capability()
        m.logout()

    def t_bad_password(self):
        o = self.opts
        m = connect(o, "W", login=False)
        text = expect_error(lambda: m.login(o.user, o.password + "-wrong"), "LOGIN with a wrong password", ("NO",))
        check("AUTHENTICATIONFAILED" in text.upper(), "NO [AUTHENTICATIONFAILED]", text)
        # the connection stays usable
        ok(m.noop(), "NOOP after a failed LOGIN")
        m.login(o.user, o.password)
        m.logout()

    def t_login(self):
        m = self.m()
        self.caps = {c.upper() for c in m.capabilities}
        check("IMAP4REV1" in self.caps, "CAPABILITY after login contains IMAP4rev1", self.caps)
        for c in self.opts.expect_caps:
            present = c.upper() in self.caps or any(x.startswith(c.upper() + "=") for x in self.caps)
            check(present, f"capability {c} announced after login", sorted(self.caps))
        self.notes.append("capabilities after login: " + " ".join(sorted(self.caps)))
        typ, data = m.list('""', '""')
        check(typ == "OK" and data and data[0], 'LIST "" "" (hierarchy delimiter)', data)
        v = parse(data[0])
        check(len(v) >= 2 and isinstance(v[0], list), 'LIST "" "" response shape', data)
        if v[1]:
            self.delim = v[1].decode() if isinstance(v[1], bytes) else v[1]

    def t_delivered(self):
        m = self.m()
        with open(self.opts.expect_inbox_message, "rb") as fh:
            want = fh.read()
        mid = re.search(rb"^Message-ID:\s*(<[^>]+>)", want, re.I | re.M)
        check(mid, "the expected message has a Message-ID")
        self.select(m, "INBOX", readonly=True)
        found = self.search(m, "HEADER", "Message-ID", f'"{mid.group(1).decode()}"')
        check(len(found) == 1, "SEARCH HEADER Message-ID finds the delivered message once", found)
        n = found.pop()
        g = fetch_items(ok(m.fetch(str(n), "(BODY.PEEK[] RFC822.SIZE)"), "FETCH the delivered message"))[n]
        check(g.get("BODY[]") == want, "BODY[] equals the delivered bytes", (len(g.get("BODY[]") or b""), len(want)))
        check(int(g["RFC822.SIZE"]) == len(want), "RFC822.SIZE of the delivered message", g["RFC822.SIZE"])
        ok(m.close(), "CLOSE")

    def t_authenticate(self):
        o = self.opts
        ir = base64.b64encode(f"\0{o.user}\0{o.password}".encode()).decode()
        m = connect(o, "P1", login=False)
        caps = {c.upper() for c in m.capabilities}
        check("AUTH=PLAIN" in caps, "AUTH=PLAIN announced before login", caps)
        if "SASL-IR" in caps:
            tag = m._command("AUTHENTICATE", "PLAIN", ir)
            typ, data = m._command_complete("AUTHENTICATE", tag)
            check(typ == "OK", "AUTHENTICATE PLAIN <initial response>", (typ, data))
            m.state = "AUTH"
            ok(m.select("INBOX"), "SELECT INBOX after AUTHENTICATE")
            m.logout()
        else:
            check("SASL-IR" not in self.opts.expect_caps, "SASL-IR announced", caps)
        m = connect(o, "P2", login=False)
        typ, data = m.authenticate("PLAIN", lambda _: f"\0{o.user}\0{o.password}".encode())
        check(typ == "OK", "AUTHENTICATE PLAIN with a continuation", (typ, data))
        m.logout()
        m = connect(o, "P3", login=False)
        text = expect_error(lambda: m.authenticate("PLAIN", lambda _: f"\0{o.user}\0wrong".encode()),
                            "AUTHENTICATE PLAIN wrong password", ("NO",))
        check("AUTHENTICATIONFAILED" in text.upper(), "NO [AUTHENTICATIONFAILED]", text)
        m.logout()

    def t_starttls(self):
        o = self.opts
        if o.tls == "implicit":
            return "TLS is implicit on this port"
        m = connect(o, "T1", login=False, tls="none")
        m.starttls(tls_context(o.cafile))  # also re-reads CAPABILITY
        caps = {c.upper() for c in m.capabilities}
        check("STARTTLS" not in caps, "STARTTLS no longer announced inside TLS", caps)
        tag = m._command("STARTTLS")
        try:
            typ, data = m._command_complete("STARTTLS", tag)
        except imaplib.IMAP4.error as e:
            typ, data = "BAD", [str(e)]
        check(typ in ("NO", "BAD"), "a second STARTTLS is refused", (typ, data))
        m.login(o.user, o.password)
        ok(m.noop(), "NOOP inside TLS")
        m.logout()
        # CVE-2011-0411 class: a command pipelined in plaintext after STARTTLS must not be run.
        r = RawIMAP(o, "T2", tls="none")
        r.send_raw(b"R001 STARTTLS\r\nR002 NOOP\r\n")
        untagged, tagged = r.read_until_tagged("R001")
        if tagged.split()[1] in (b"BAD", b"NO"):
            # refusing a STARTTLS that has plaintext pipelined behind it is a correct defence too
            self.notes.append(f"STARTTLS with a pipelined command refused: {tagged!r}")
            r.close()
            return
        check(tagged.split()[1] == b"OK", "STARTTLS: OK (or BAD/NO refusing the pipelined plaintext)", tagged)
        if r.buf:
            check(False, "server answered plaintext pipelined after STARTTLS", r.buf)
        try:
            r.start_tls()
        except (ssl.SSLError, OSError) as e:
            TRANSCRIPT.note(f"T2: handshake failed after injected plaintext ({e}); acceptable (server dropped the connection)")
            r.close()
            return
        r.tag_n = 2
        try:
            tag = r.send_command("NOOP")
            lines, tagged = r.read_until_tagged(tag, timeout=10)
            check(not any(l.startswith(b"R002 ") for l in lines), "pipelined plaintext NOOP must not be answered", lines)
        except (EOFError, ssl.SSLError, OSError):
            TRANSCRIPT.note("T2: server closed the connection after injected plaintext; acceptable")
        r.close()

    def t_bad_command(self):
        m = self.m()
        tag = m._command("XBOGUS", "foo")
        try:
            typ, data = m._command_complete("XBOGUS", tag)
        except imaplib.IMAP4.error as e:
            typ, data = "BAD", [str(e)]
        check(typ == "BAD", "unknown command: BAD", (typ, data))
        tagged = [l for l in TRANSCRIPT.lines if f"A S: {tag.decode()} BAD" in l]
        check(tagged, f"BAD carries the command's tag {tag.decode()}", TRANSCRIPT.lines[-3:])
        # a syntax error in a known command
        with forced_state(m, "SELECTED"):
            tag = m._command("FETCH")  # no arguments, not selected
        try:
            typ, data = m._command_complete("FETCH", tag)
        except imaplib.IMAP4.error as e:
            typ, data = "BAD", [str(e)]
        check(typ in ("BAD", "NO"), "FETCH without arguments: BAD/NO", (typ, data))
        ok(m.noop(), "NOOP after BAD: the session continues")

    def t_noop(self):
        m = self.m()
        ok(m.noop(), "NOOP")
        # CHECK is only valid in the selected state
        with forced_state(m, "SELECTED"):
            expect_error(lambda: m.check(), "CHECK while not selected", ("BAD", "NO"))
        self.select(m, "INBOX")
        ok(m.check(), "CHECK in INBOX")
        ok(m.noop(), "NOOP in INBOX")
        ok(m.unselect(), "UNSELECT")

    def t_namespace(self):
        m = self.m()
        m.untagged_responses.clear()
        typ, data = m.namespace()
        check(typ == "OK", "NAMESPACE", (typ, data))
        v = parse(data[0])
        check(len(v) == 3, "NAMESPACE has three parts (personal other shared)", data)
        personal = v[0]
        check(isinstance(personal, list) and personal and isinstance(personal[0], list), "a personal namespace", data)
        delim = personal[0][1]
        delim = delim.decode() if isinstance(delim, bytes) else delim
        check(delim == self.delim, "NAMESPACE delimiter equals LIST's", (delim, self.delim))

    def t_id(self):
        m = self.m()
        if not self.cap("ID"):
            return "ID not announced"
        m.untagged_responses.clear()
        typ, data = m._simple_command("ID", '("name" "sealbox-imaplib-suite" "version" "1")')
        check(typ == "OK", "ID", (typ, data))
        ids = m.take("ID")
        check(ids, "an untagged * ID response", m.untagged_responses)
        v = parse(ids[0] if isinstance(ids[0], bytes) else wire(ids)[0])
        check(v[0] is None or (isinstance(v[0], list) and len(v[0]) % 2 == 0), "* ID NIL or a field list", ids)
        typ, data = m._simple_command("ID", "NIL")
        check(typ == "OK", "ID NIL", (typ, data))

    def t_enable(self):
        m = self.m()
        if not self.cap("ENABLE"):
            return "ENABLE not announced"
        m.untagged_responses.clear()
        typ, data = m._simple_command("ENABLE", "X-SEALBOX-NO-SUCH-EXTENSION")
        check(typ == "OK", "ENABLE of an unknown extension is OK", (typ, data))
        enabled = b" ".join(x or b"" for x in m.take("ENABLED")).upper()
        check(b"X-SEALBOX" not in enabled, "an unknown extension is not ENABLED", enabled)
        if self.cap("CONDSTORE"):
            m2 = connect(self.opts, "E")
            m2.untagged_responses.clear()
            typ, data = m2._simple_command("ENABLE", "CONDSTORE")
            check(typ == "OK" and b"CONDSTORE" in b" ".join(m2.take("ENABLED")).upper(), "ENABLE CONDSTORE", (typ, data))
            m2.logout()

    def list_names(self, m, ref, pattern, *extra, lsub=False):
        m.untagged_responses.clear()
        if extra:
            typ, data = m._simple_command("LIST", *extra[:1], ref, pattern, *extra[1:]) if extra[0].startswith("(") \
                else m._simple_command("LIST", ref, pattern, *extra)
            typ, data = m._untagged_response(typ, data, "LIST")
        else:
            typ, data = (m.lsub if lsub else m.list)(ref, pattern)
        check(typ == "OK", f"{'LSUB' if lsub else 'LIST'} {ref} {pattern} {' '.join(extra)}", (typ, data))
        out = {}
        for resp in wire(data):
            v = parse(resp)
            check(len(v) == 3 and isinstance(v[0], list), "LIST response: (attributes) delimiter name", resp)
            name = v[2].decode() if isinstance(v[2], bytes) else v[2]
            out[name] = {a.lower() for a in v[0]}
        return out

    def t_list(self):
        m = self.m()
        names = self.list_names(m, '""', "*")
        inbox = [n for n in names if n.upper() == "INBOX"]
        check(inbox, 'LIST "" "*" includes INBOX', names)
        check(len(names) == len(set(names)), "no duplicate names")
        pct = self.list_names(m, '""', "%")
        check(all(self.delim not in n for n in pct), 'LIST "" "%" lists the top level only', pct)
        check(any(n.upper() == "INBOX" for n in pct), 'LIST "" "%" includes INBOX', pct)
        check(set(self.list_names(m, '""', "inbox")) == {"INBOX"}, 'LIST "" "inbox": INBOX is case-insensitive')
        check(self.list_names(m, '""', self.prefix + "-none*") == {}, "LIST of a pattern matching nothing is empty")
        self.list_names(m, '""', "*", lsub=True)  # LSUB works (contents checked under SUBSCRIBE)

    def t_special_use(self):
        m = self.m()
        if not self.cap("SPECIAL-USE"):
            check("SPECIAL-USE" not in self.opts.expect_caps, "SPECIAL-USE announced")
            return "SPECIAL-USE not announced"
        known = {"\\all", "\\archive", "\\drafts", "\\flagged", "\\junk", "\\sent", "\\trash"}
        plain = self.list_names(m, '""', "*")
        returned = self.list_names(m, '""', "*", "RETURN", "(SPECIAL-USE)")
        check(set(returned) == set(plain), "RETURN (SPECIAL-USE) lists the same mailboxes", (sorted(returned), sorted(plain)))
        with_use = {n: a & known for n, a in returned.items() if a & known}
        check(with_use, "at least one mailbox has a special-use attribute (clients look for \\Sent, \\Trash…)", returned)
        selected = self.list_names(m, '""', "*", "(SPECIAL-USE)")
        check(set(selected) == set(with_use), 'LIST (SPECIAL-USE) "" "*" lists exactly the special-use mailboxes',
              (sorted(selected), sorted(with_use)))
        for n, a in selected.items():
            check(a & known, f"{n} carries its special-use attribute in LIST (SPECIAL-USE)", a)
        self.notes.append("special-use mailboxes: " + ", ".join(f"{n} {sorted(a)}" for n, a in sorted(with_use.items())))

    def t_create_rename(self):
        m = self.m()
        d = self.delim
        top = self.fresh_mailbox(m)
        ab = self.mbox("a", "b")
        ok(m.create(ab), f"CREATE {ab} (creates the intermediate level)")
        names = self.list_names(m, '""', self.prefix + "*")
        check(ab in names and self.mbox("a") in names, "LIST shows a and a/b", names)
        text = expect_error(lambda: m.create(ab), "CREATE of an existing mailbox", ("NO",))
        if "ALREADYEXISTS" not in text.upper():
            self.notes.append("CREATE existing: NO without [ALREADYEXISTS] (allowed)")
        ok(m.create(self.mbox("t") + d), "CREATE with a trailing delimiter (RFC 3501: the name without it)")
        names = self.list_names(m, '""', self.prefix + "*")
        check(self.mbox("t") + d not in names and self.mbox("t") in names, "trailing delimiter is not part of the name", names)
        # RENAME leaf, then RENAME a parent (inferiors follow)
        cd = self.mbox("c", "d")
        ok(m.rename(ab, cd), f"RENAME {ab} {cd}")
        names = self.list_names(m, '""', self.prefix + "*")
        check(cd in names and ab not in names, "RENAME moved the leaf", names)
        self.select(m, cd)
        ok(m.unselect(), "UNSELECT")
        ok(m.create(self.mbox("p", "q")), "CREATE p/q")
        ok(m.rename(self.mbox("p"), self.mbox("x")), "RENAME p x (a parent)")
        names = self.list_names(m, '""', self.prefix + "*")
        check(self.mbox("x", "q") in names and self.mbox("p", "q") not in names,
              "RENAME of a parent renames its inferiors", names)
        expect_error(lambda: m.rename(self.mbox("nope"), self.mbox("nope2")), "RENAME a missing mailbox", ("NO",))
        expect_error(lambda: m.rename(cd, self.mbox("x", "q")), "RENAME onto an existing name", ("NO",))
        # DELETE
        ok(m.delete(self.mbox("x", "q")), "DELETE x/q")
        ok(m.delete(cd), "DELETE c/d")
        expect_error(lambda: m.delete(cd), "DELETE a missing mailbox", ("NO",))
        expect_error(lambda: m.delete("INBOX"), "DELETE INBOX", ("NO",))
        names = self.list_names(m, '""', self.prefix + "*")
        check(cd not in names and self.mbox("x", "q") not in names, "deleted mailboxes are gone", names)
        check(top in names, "the top test mailbox is still there", names)

    def t_utf7_names(self):
        m = self.m()
        name = self.mbox("Entw&APw-rfe")  # "Entwürfe" in modified UTF-7
        ok(m.create(name), "CREATE a modified-UTF-7 name")
        names = self.list_names(m, '""', self.prefix + "*")
        check(name in names, "LIST returns the modified-UTF-7 name unchanged", names)
        self.select(m, name)
        ok(m.unselect(), "UNSELECT")
        ok(m.delete(name), "DELETE it")

    def t_utf8_names(self):
        probe = connect(self.opts, "U")
        if "UTF8=ACCEPT" not in {c.upper() for c in probe.capabilities}:
            probe.logout()
            return "the server does not offer UTF8=ACCEPT"
        ok(probe.enable("UTF8=ACCEPT"), "ENABLE UTF8=ACCEPT")  # imaplib then speaks UTF-8
        check(probe.utf8_enabled, "imaplib switched to UTF-8")
        m = self.m()  # a session still in modified UTF-7
        rev1 = self.mbox("Entw&APw-rfe")
        ok(m.create(rev1), "CREATE a modified-UTF-7 name in the rev1 session")
        names = self.list_names(probe, '""', self.prefix + "*")
        check(self.mbox("Entwürfe") in names, "the UTF-8 session lists it in UTF-8", names)
        # imaplib sends an unquoted UTF-8 atom here
        ok(probe.create(self.mbox("日本語")), "CREATE a UTF-8 name in the UTF-8 session")
        names = self.list_names(m, '""', self.prefix + "*")
        check(self.mbox("&ZeVnLIqe-") in names, "the rev1 session lists it in modified UTF-7", names)
        self.select(probe, '"' + self.mbox("Entwürfe") + '"')
        uid = self.append(m, rev1, msg(["From: a@example.org", "Subject: u"], "x\n"))
        typ, data = probe.status('"' + self.mbox("日本語") + '"', "(MESSAGES)")
        check(typ == "OK" and b"MESSAGES 0" in data[0], "STATUS of a UTF-8 name", data)
        ok(probe.unselect(), "UNSELECT")
        probe.logout()
        ok(m.delete(rev1), "DELETE it in the rev1 session")
        ok(m.delete(self.mbox("&ZeVnLIqe-")), "DELETE the other one")
        return None if uid is None or uid > 0 else "no APPENDUID"

    def t_subscribe(self):
        m = self.m()
        name = self.fresh_mailbox(m, "sub")
        ok(m.subscribe(name), "SUBSCRIBE")
        lsub = self.list_names(m, '""', self.prefix + "*", lsub=True)
        check(name in lsub, "LSUB shows the subscribed mailbox", lsub)
        ok(m.unsubscribe(name), "UNSUBSCRIBE")
        lsub = self.list_names(m, '""', self.prefix + "*", lsub=True)
        check(name not in lsub, "LSUB no longer shows it", lsub)

    def status(self, m, mailbox, items="(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"):
        m.untagged_responses.clear()
        typ, data = m.status(mailbox, items)
        check(typ == "OK", f"STATUS {mailbox}", (typ, data))
        v = parse(data[0])
        check(len(v) == 2 and isinstance(v[1], list), "STATUS response: name (items)", data)
        it = v[1]
        return {str(it[i]).upper(): int(it[i + 1]) for i in range(0, len(it), 2)}

    def t_append_status(self):
        m = self.m()
        box = self.fresh_mailbox(m, "append")
        st0 = self.status(m, box)
        check(st0["MESSAGES"] == 0 and st0["UNSEEN"] == 0, "a new mailbox is empty", st0)
        check(st0["UIDVALIDITY"] > 0 and st0["UIDNEXT"] >= 1, "UIDVALIDITY and UIDNEXT", st0)
        body = msg(["From: a@example.org", "Subject: append test", f"Message-ID: <append-{self.run_id}@example.org>"], "Hi.\n")
        date = datetime.datetime(2021, 6, 7, 8, 9, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
        kw = self.keywords_allowed(m, box)
        flags = "(\\Flagged \\Draft" + (" $Sealbox1)" if kw else ")")
        uid = self.append(m, box, body, flags, imaplib.Time2Internaldate(date))
        st1 = self.status(m, box)
        check(st1["MESSAGES"] == 1 and st1["UNSEEN"] == 1, "STATUS after APPEND: 1 message, 1 unseen", st1)
        check(st1["UIDVALIDITY"] == st0["UIDVALIDITY"], "UIDVALIDITY unchanged", (st0, st1))
        if uid is not None:
            check(st1["UIDNEXT"] > uid, "UIDNEXT is above the APPENDUID", (st1, uid))
            check(uid >= st0["UIDNEXT"], "APPENDUID is at least the previous UIDNEXT", (st0, uid))
        self.select(m, box, readonly=True)
        got = fetch_items(ok(m.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE)"), "FETCH after APPEND"))[1]
        fl = flags_of(got["FLAGS"])
        check({"\\flagged", "\\draft"} <= fl and "\\seen" not in fl, "APPEND flags kept", fl)
        if kw:
            check("$sealbox1" in fl, "APPEND keyword kept", fl)
        when = imaplib.Internaldate2tuple(b'INTERNALDATE "' + (got["INTERNALDATE"] if isinstance(got["INTERNALDATE"], bytes) else got["INTERNALDATE"].encode()) + b'"')
        check(when is not None and time.mktime(when) == time.mktime(date.astimezone().timetuple()),
              "INTERNALDATE is the APPEND date (same instant)", got["INTERNALDATE"])
        check(int(got["RFC822.SIZE"]) == len(body), "RFC822.SIZE is the appended size", (got["RFC822.SIZE"], len(body)))
        if uid is not None:
            check(int(got["UID"]) == uid, "UID equals APPENDUID", (got["UID"], uid))
        # APPEND without flags or date; to INBOX
        before = self.status(m, "INBOX")["MESSAGES"]
        self.append(m, "INBOX", msg(["From: a@example.org", "Subject: to inbox", f"Message-ID: <inbox-{self.run_id}@example.org>"], "x\n"))
        check(self.status(m, "INBOX")["MESSAGES"] == before + 1, "APPEND to INBOX counted")
        self.inbox_test_message = f"<inbox-{self.run_id}@example.org>"
        ok(m.unselect(), "UNSELECT")

    def keywords_allowed(self, m, box):
        self.select(m, box)
        perm = [x for x in m.take("PERMANENTFLAGS")]
        ok(m.unselect(), "UNSELECT")
        text = b" ".join(x for x in perm if isinstance(x, bytes))
        return b"\\*" in text

    def t_literals(self):
        o = self.opts
        m = self.m()
        box = self.fresh_mailbox(m, "literal")
        r = RawIMAP(o, "L")
        if o.tls != "implicit":
            pass
        # login with a synchronizing literal for the password
        pw = o.password.encode()
        tag = r.send_command(f'LOGIN "{o.user}" {{{len(pw)}}}')
        cont = r.readline()
        check(cont.startswith(b"+"), "synchronizing literal: continuation request", cont)
        r.send_raw(pw + b"\r\n")
        _, tagged = r.read_until_tagged(tag)
        check(tagged.split()[1] == b"OK", "LOGIN with a literal password", tagged)
        caps_lines, _ = r.command("CAPABILITY")
        caps = b" ".join(caps_lines).upper()
        if b"LITERAL+" in caps or b"LITERAL-" in caps:
            body = msg(["From: lit@example.org", "Subject: literal plus"], "sent without waiting\n")
            tag = r.next_tag()
            r.send_raw(f"{tag} APPEND {box} (\\Seen) {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
            lines, tagged = r.read_until_tagged(tag)
            check(not any(l.startswith(b"+") for l in lines), "no continuation for a non-synchronizing literal", lines)
            check(tagged.split()[1] == b"OK", "APPEND with {n+}", tagged)
        else:
            check("LITERAL+" not in o.expect_caps, "LITERAL+ announced", caps)
        r.command("LOGOUT")
        r.close()
        if b"LITERAL+" in caps or b"LITERAL-" in caps:
            check(self.status(m, box)["MESSAGES"] == 1, "the LITERAL+ message is stored")

    def t_select_examine(self):
        m = self.m()
        box = self.fresh_mailbox(m, "sel")
        self.append(m, box, msg(["From: s@example.org", "Subject: sel"], "x\n"))
        m.untagged_responses.clear()
        typ, data = m.select(box)
        check(typ == "OK" and int(data[0]) == 1, "SELECT: EXISTS 1", (typ, data))
        for item in ("FLAGS", "UIDVALIDITY", "UIDNEXT"):
            check(m.untagged_responses.get(item), f"SELECT returns {item}", list(m.untagged_responses))
        check("READ-WRITE" in m.untagged_responses, "SELECT: tagged OK [READ-WRITE]", list(m.untagged_responses))
        ok(m.store("1", "+FLAGS", "(\\Flagged)"), "STORE in a selected mailbox")
        m.untagged_responses.clear()
        typ, data = m.select(box, readonly=True)
        check(typ == "OK", "EXAMINE", (typ, data))
        check("READ-ONLY" in m.untagged_responses, "EXAMINE: [READ-ONLY]", list(m.untagged_responses))
        # NO, BAD, or OK without effect (Dovecot: "OK Store ignored with read-only mailbox"), checked below
        expect_error(lambda: m.store("1", "+FLAGS", "(\\Deleted)"), "STORE in a read-only mailbox", ("NO", "BAD", "OK"))
        fetched = fetch_items(ok(m.fetch("1", "(FLAGS BODY[])"), "FETCH BODY[] in EXAMINE"))
        ok(m.fetch("1", "(FLAGS)"), "FETCH FLAGS")
        ok(m.unselect(), "UNSELECT")
        self.select(m, box)
        fl = flags_of(fetch_items(ok(m.fetch("1", "(FLAGS)"), "FETCH FLAGS"))[1]["FLAGS"])
        check("\\seen" not in fl and "\\deleted" not in fl, "EXAMINE changed no flags (BODY[] does not set \\Seen read-only)", fl)
        expect_error(lambda: m.select(self.mbox("no-such")), "SELECT a missing mailbox", ("NO",))
        check(m.state == "AUTH", "a failed SELECT leaves no mailbox selected", m.state)

    MULTI_TEXT = "Caf=C3=A9 au lait, see the attachment."
    ATTACHMENT = bytes(range(256)) + b"\0\0sealbox\0" * 4

    def multipart(self):
        att = base64.encodebytes(self.ATTACHMENT).decode().replace("\n", CRLF).rstrip(CRLF)
        headers = ["From: Alice Example <alice@example.org>", "To: Bob <bob@example.com>",
                   "Subject: Quarterly budget zebra", "Date: Fri, 10 Jan 2020 12:00:00 +0000",
                   f"Message-ID: <multi-{self.run_id}@example.org>", "MIME-Version: 1.0", "X-Test-Tag: blue",
                   'Content-Type: multipart/mixed; boundary="b1"']
        body = CRLF.join([
            "This is a multi-part message in MIME format.", "--b1", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable", "", self.MULTI_TEXT, "--b1",
            'Content-Type: application/octet-stream; name="data.bin"',
            'Content-Disposition: attachment; filename="data.bin"', "Content-Transfer-Encoding: base64", "",
            att, "--b1--", ""])
        header = CRLF.join(headers) + CRLF + CRLF
        return (header + body).encode(), header.encode(), body.encode()

    def t_fetch(self):
        m = self.m()
        box = self.fresh_mailbox(m, "fetch")
        full, header, text = self.multipart()
        uid = self.append(m, box, full)
        self.select(m, box, readonly=True)
        items = ("(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID "
                 "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] BODY.PEEK[1] BODY.PEEK[TEXT]<0.10> "
                 "RFC822.HEADER BODY.PEEK[])")
        got = fetch_items(ok(m.fetch("1", items), "FETCH many items"))
        check(list(got) == [1], "one FETCH response for message 1", list(got))
        g = got[1]
        check(isinstance(g.get("FLAGS"), list), "FLAGS is a list", g.get("FLAGS"))
        check(int(g["RFC822.SIZE"]) == len(full), "RFC822.SIZE", (g["RFC822.SIZE"], len(full)))
        if uid is not None:
            check(int(g["UID"]) == uid, "UID", (g["UID"], uid))
        idate = g["INTERNALDATE"]
        idate = idate.decode() if isinstance(idate, bytes) else idate
        check(imaplib.Internaldate2tuple(f'INTERNALDATE "{idate}"'.encode()) is not None, "INTERNALDATE format", idate)
        env = g["ENVELOPE"]
        check(isinstance(env, list) and len(env) == 10, "ENVELOPE has 10 fields", env)
        check(env[1] == b"Quarterly budget zebra", "ENVELOPE subject", env[1])
        frm = env[2][0]
        check(frm[2] == b"alice" and frm[3] == b"example.org" and frm[0] == b"Alice Example", "ENVELOPE from", env[2])
        check(env[3] and env[3][0][2] == b"alice" and env[4] and env[4][0][2] == b"alice",
              "ENVELOPE sender and reply-to default to From", (env[3], env[4]))
        check(env[5][0][2] == b"bob" and env[6] is None, "ENVELOPE to, cc NIL", (env[5], env[6]))
        check(env[9] == f"<multi-{self.run_id}@example.org>".encode(), "ENVELOPE message-id", env[9])
        for key in ("BODY", "BODYSTRUCTURE"):
            bs = g[key]
            check(isinstance(bs, list) and isinstance(bs[0], list) and isinstance(bs[1], list), f"{key}: multipart with 2 parts", bs)
            check(str(bs[2]).upper().strip("b'\"") == "MIXED" or (isinstance(bs[2], bytes) and bs[2].upper() == b"MIXED"),
                  f"{key}: subtype MIXED", bs[2])
            p1, p2 = bs[0], bs[1]
            check(p1[0].upper() == b"TEXT" and p1[1].upper() == b"PLAIN", f"{key} part 1 text/plain", p1)
            check([x.upper() for x in p1[2]] == [b"CHARSET", b"UTF-8"], f"{key} part 1 charset", p1[2])
            check(p1[5].upper() == b"QUOTED-PRINTABLE", f"{key} part 1 encoding", p1[5])
            check(int(p1[6]) == len(self.MULTI_TEXT), f"{key} part 1 size", p1[6])
            # one line without a final CRLF (it belongs to the boundary): 0 and 1 are both seen
            check(int(p1[7]) in (0, 1), f"{key} part 1 lines", p1[7])
            check(p2[0].upper() == b"APPLICATION" and p2[1].upper() == b"OCTET-STREAM" and p2[5].upper() == b"BASE64",
                  f"{key} part 2 application/octet-stream base64", p2)
        check(len(g["BODY"]) == 3, "BODY (non-extensible) has no extension data", g["BODY"])
        bs = g["BODYSTRUCTURE"]
        check(len(bs) >= 4 and [x.upper() for x in bs[3]] == [b"BOUNDARY", b"B1"], "BODYSTRUCTURE multipart boundary parameter", bs[3:])
        p2 = bs[1]
        check(len(p2) >= 9 and isinstance(p2[8], list) and p2[8][0].upper() == b"ATTACHMENT",
              "BODYSTRUCTURE part 2 disposition attachment", p2[7:])
        hf = [k for k in g if k.startswith("BODY[HEADER.FIELDS")]
        check(len(hf) == 1, "BODY[HEADER.FIELDS (FROM SUBJECT)] answered", list(g))
        check(hf[0].replace('"', "") == "BODY[HEADER.FIELDS (FROM SUBJECT)]", "section name echoed", hf[0])
        check(g[hf[0]] == b"From: Alice Example <alice@example.org>\r\nSubject: Quarterly budget zebra\r\n\r\n",
              "HEADER.FIELDS content (in message order, blank line)", g[hf[0]])
        check(g.get("BODY[1]") == self.MULTI_TEXT.encode(), "BODY[1] is the part's encoded content", g.get("BODY[1]"))
        check(g.get("BODY[TEXT]<0>") == text[:10], "BODY[TEXT]<0.10> answered as BODY[TEXT]<0>", {k: v for k, v in g.items() if "TEXT" in k})
        check(g.get("RFC822.HEADER") == header, "RFC822.HEADER", g.get("RFC822.HEADER"))
        check(g.get("BODY[]") == full, "BODY[] is byte-exact", (len(g.get("BODY[]") or b""), len(full)))
        # RFC822 and partial of BODY[]
        g2 = fetch_items(ok(m.fetch("1", "(RFC822 BODY.PEEK[]<5.20> BODY.PEEK[HEADER] BODY.PEEK[2.MIME])"), "FETCH RFC822"))[1]
        check(g2.get("RFC822") == full, "RFC822 is byte-exact")
        check(g2.get("BODY[]<5>") == full[5:25], "BODY[]<5.20>", g2.get("BODY[]<5>"))
        check(g2.get("BODY[HEADER]") == header, "BODY[HEADER]")
        mime2 = g2.get("BODY[2.MIME]") or b""
        check(mime2.lower().startswith(b"content-type: application/octet-stream") and mime2.endswith(b"\r\n\r\n"),
              "BODY[2.MIME] is the part header", mime2)
        # BINARY
        if self.cap("BINARY"):
            g3 = fetch_items(ok(m.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2] BINARY.SIZE[2])"), "FETCH BINARY"))[1]
            decoded = "Café au lait, see the attachment.".encode()
            check(g3.get("BINARY[1]") == decoded, "BINARY[1] is the decoded part", g3.get("BINARY[1]"))
            check(int(g3.get("BINARY.SIZE[1]", -1)) == len(decoded), "BINARY.SIZE[1]", g3.get("BINARY.SIZE[1]"))
            check(g3.get("BINARY[2]") == self.ATTACHMENT, "BINARY[2] is the decoded attachment (with NULs)", (g3.get("BINARY[2]") or b"")[:40])
            check(int(g3.get("BINARY.SIZE[2]", -1)) == len(self.ATTACHMENT), "BINARY.SIZE[2]", g3.get("BINARY.SIZE[2]"))
        else:
            self.notes.append("BINARY not announced: BINARY[1] / BINARY.SIZE[1] not fetched")
        # macros
        g4 = fetch_items(ok(m.fetch("1", "ALL"), "FETCH ALL"))[1]
        check({"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"} <= set(g4), "FETCH ALL items", list(g4))
        g5 = fetch_items(ok(m.fetch("1", "FAST"), "FETCH FAST"))[1]
        check({"FLAGS", "INTERNALDATE", "RFC822.SIZE"} <= set(g5), "FETCH FAST items", list(g5))
        g6 = fetch_items(ok(m.fetch("1", "FULL"), "FETCH FULL"))[1]
        check({"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"} <= set(g6), "FETCH FULL items", list(g6))
        # UID FETCH always includes UID
        if uid is not None:
            g7 = self.by_uid(self.uid_fetch(m, str(uid), "(FLAGS)"))
            check(uid in g7, "UID FETCH returns UID even if not asked", g7)
            check(self.uid_fetch(m, str(uid + 1000), "(FLAGS)") == {}, "UID FETCH of a missing UID: OK, nothing")
        ok(m.unselect(), "UNSELECT")

    def t_seen(self):
        m = self.m()
        box = self.fresh_mailbox(m, "seen")
        full, _, _ = self.multipart()
        for _ in range(6):
            self.append(m, box, full)
        self.select(m, box)

        def seen(i):
            g = fetch_items(ok(m.fetch(str(i), "(FLAGS)"), "FETCH FLAGS"))
            return "\\seen" in flags_of(g[i]["FLAGS"])

        cases = [(1, "BODY.PEEK[]", False), (2, "BODY[]", True), (3, "RFC822.HEADER", False),
                 (4, "RFC822", True), (5, "BODY[TEXT]<0.10>", True), (6, "BODY.PEEK[1]", False)]
        for i, item, sets in cases:
            m.untagged_responses.clear()
            data = ok(m.fetch(str(i), f"({item})"), f"FETCH {item}")
            check(seen(i) == sets, f"FETCH {item} {'sets' if sets else 'does not set'} \\Seen")
            if sets:
                # RFC 3501 6.4.5: the change of flags is reported (in this FETCH or an unsolicited one)
                g = fetch_items(data)
                check("\\seen" in flags_of(g.get(i, {}).get("FLAGS")) or True, "")
        st = self.status(m, box, "(UNSEEN)")
        check(st["UNSEEN"] == 3, "STATUS UNSEEN after the fetches", st)
        ok(m.unselect(), "UNSELECT")

    def t_store(self):
        m = self.m()
        box = self.fresh_mailbox(m, "store")
        uids = [self.append(m, box, msg(["From: s@example.org", f"Subject: store {i}"], "x\n")) for i in range(3)]
        self.select(m, box)
        kw = b"\\*" in b" ".join(x for x in m.take("PERMANENTFLAGS") if isinstance(x, bytes)) or True

        def flags(i):
            return flags_of(fetch_items(ok(m.fetch(str(i), "(FLAGS)"), "FETCH FLAGS"))[i]["FLAGS"])

        data = ok(m.store("1", "+FLAGS", "(\\Flagged \\Answered)"), "STORE +FLAGS")
        g = fetch_items(data)
        check(1 in g and {"\\flagged", "\\answered"} <= flags_of(g[1]["FLAGS"]), "STORE +FLAGS answers FETCH FLAGS", g)
        ok(m.store("1", "-FLAGS", "(\\Answered)"), "STORE -FLAGS")
        check(flags(1) >= {"\\flagged"} and "\\answered" not in flags(1), "-FLAGS removed \\Answered", flags(1))
        ok(m.store("1", "FLAGS", "(\\Draft)"), "STORE FLAGS (replace)")
        check(flags(1) - {"\\recent"} == {"\\draft"}, "FLAGS replaced the set", flags(1))
        m.untagged_responses.clear()
        typ, data = m.store("2", "+FLAGS.SILENT", "(\\Seen)")
        check(typ == "OK", "STORE +FLAGS.SILENT", (typ, data))
        silent_fetch = [d for d in (data or []) if d] + m.untagged_responses.get("FETCH", [])
        if silent_fetch:
            self.notes.append(f"STORE .SILENT still answered FETCH: {silent_fetch!r} (RFC 3501: SHOULD NOT)")
        check("\\seen" in flags(2), "+FLAGS.SILENT applied", flags(2))
        ok(m.store("2", "-FLAGS.SILENT", "(\\Seen)"), "STORE -FLAGS.SILENT")
        check("\\seen" not in flags(2), "-FLAGS.SILENT applied", flags(2))
        ok(m.store("2", "FLAGS.SILENT", "(\\Answered)"), "STORE FLAGS.SILENT")
        check(flags(2) - {"\\recent"} == {"\\answered"}, "FLAGS.SILENT applied", flags(2))
        ok(m.store("1:*", "+FLAGS", "(\\Seen)"), "STORE on a range")
        check(all("\\seen" in flags(i) for i in (1, 2, 3)), "range STORE")
        if uids[0] is not None:
            m.untagged_responses.clear()
            typ, data = m.uid("STORE", str(uids[2]), "+FLAGS", "(\\Flagged)")
            check(typ == "OK", "UID STORE", (typ, data))
            g = fetch_items([d for d in data if d])
            check(any(int(v.get("UID", 0)) == uids[2] for v in g.values()), "UID STORE's FETCH includes UID", g)
            check("\\flagged" in flags(3), "UID STORE applied")
        if kw:
            ok(m.store("3", "+FLAGS", "($Sealbox2)"), "STORE a keyword")
            check("$sealbox2" in flags(3), "keyword stored", flags(3))
        ok(m.unselect(), "UNSELECT")

    def t_copy(self):
        m = self.m()
        src = self.fresh_mailbox(m, "copysrc")
        dst = self.fresh_mailbox(m, "copydst")
        mids = [f"<copy{i}-{self.run_id}@example.org>" for i in range(3)]
        uids = [self.append(m, src, msg(["From: c@example.org", f"Subject: copy {i}", f"Message-ID: {mids[i]}"], "x\n"),
                            "(\\Flagged)" if i == 0 else None) for i in range(3)]
        self.select(m, src)
        m.untagged_responses.clear()
        typ, data = m.copy("1:2", dst)
        check(typ == "OK", "COPY", (typ, data))
        if self.cap("UIDPLUS"):
            code = response_code(data)
            check(code and code[0].upper() == "COPYUID" and len(code) == 4, "COPY: [COPYUID v src dst]", data)
            check(expand(code[2]) == set(uids[:2]), "COPYUID source set", (code, uids))
            check(len(expand(code[3])) == 2, "COPYUID destination set", code)
        ok(m.uid("COPY", str(uids[2]), dst), "UID COPY")
        check(self.status(m, src)["MESSAGES"] == 3, "COPY leaves the source alone")
        self.select(m, dst, readonly=True)
        g = fetch_items(ok(m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"), "FETCH copies"))
        got = [next(v for k, v in g[i].items() if k.startswith("BODY[")).split(b":", 1)[1].strip().decode() for i in sorted(g)]
        check(got == mids, "destination holds the copies in order", got)
        check("\\flagged" in flags_of(g[1]["FLAGS"]), "COPY keeps flags", g[1]["FLAGS"])
        expect_error(lambda: m.copy("1", self.mbox("missing")), "COPY to a missing mailbox", ("NO",))
        ok(m.unselect(), "UNSELECT")

    def t_move(self):
        m = self.m()
        if not self.cap("MOVE"):
            check("MOVE" not in self.opts.expect_caps, "MOVE announced")
            return "MOVE not announced"
        src = self.fresh_mailbox(m, "movesrc")
        dst = self.fresh_mailbox(m, "movedst")
        mids = [f"<move{i}-{self.run_id}@example.org>" for i in range(4)]
        uids = [self.append(m, src, msg(["From: m@example.org", f"Subject: move {i}", f"Message-ID: {mids[i]}"], "x\n"))
                for i in range(4)]
        self.select(m, src)
        m.untagged_responses.clear()
        typ, data = m._simple_command("MOVE", "2", dst)
        check(typ == "OK", "MOVE 2", (typ, data))
        expunged = m.take("EXPUNGE")
        check([int(x) for x in expunged] == [2], "MOVE sends * 2 EXPUNGE", expunged)
        if self.cap("UIDPLUS"):
            copyuid = m.take("COPYUID")
            check(copyuid or "COPYUID" in repr(data).upper(), "MOVE reports COPYUID", (copyuid, data))
        if uids[0] is not None:
            m.untagged_responses.clear()
            typ, data = m.uid("MOVE", f"{uids[2]}:{uids[3]}", dst)
            check(typ == "OK", "UID MOVE", (typ, data))
            expunged = [int(x) for x in m.take("EXPUNGE")]
            vanished = m.take("VANISHED")
            check(expunged in ([2, 2], [3, 2]) or vanished, "UID MOVE expunges messages 2 and 3", expunged)
        left = self.by_uid(self.uid_fetch(m, "1:*", "(UID)"))
        check(sorted(left) == [uids[0]], "only the first message is left in the source", left)
        st = self.status(m, dst)
        check(st["MESSAGES"] == 3, "destination has 3", st)
        ok(m.unselect(), "UNSELECT")

    def t_search(self):
        m = self.m()
        box = self.fresh_mailbox(m, "search")
        kw_ok = self.keywords_allowed(m, box)
        full, _, _ = self.multipart()
        big = "zebra crossing " + ("lorem ipsum dolor sit amet " * 500)
        specs = [
            (full, None, "10-Jan-2020"),
            (msg(["From: Bob Builder <bob@example.net>", "Subject: Lunch on Friday", "Message-ID: <s2@x>"],
                 "let's meet at noon\n"), "(\\Seen" + (" $Work)" if kw_ok else ")"), "15-Feb-2020"),
            (msg(["From: carol@example.org", "Subject: Re: budget", "X-Test-Tag: green", "Message-ID: <s3@x>"],
                 "the giraffe is tall\n"), "(\\Seen \\Flagged)", "20-Mar-2020"),
            (msg(["From: alice@example.org", "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Berlin", "Message-ID: <s4@x>"],
                 big), None, "21-Mar-2020"),
            (msg(["From: dave@example.org", "Subject: Invoice 42", "Message-ID: <s5@x>"], "Payment due\n"),
             "(\\Answered)", "01-Apr-2020"),
            (msg(["From: eve@example.org", "Subject: holiday", "Message-ID: <s6@x>"], "beach\n"),
             "($Work)" if kw_ok else None, "02-Apr-2020"),
        ]
        uids = []
        for body, flags, day in specs:
            dt = datetime.datetime.strptime(day + " 12:00", "%d-%b-%Y %H:%M").replace(tzinfo=datetime.timezone.utc)
            uids.append(self.append(m, box, body, flags, imaplib.Time2Internaldate(dt)))
        self.select(m, box)
        if uids[0] is None:
            uids = sorted(self.by_uid(self.uid_fetch(m, "1:*", "(UID)")))
        u = dict(enumerate(uids, 1))
        cases = [
            (("ALL",), {1, 2, 3, 4, 5, 6}),
            (("FROM", "alice"), {1, 4}),
            (("FROM", '"example.net"'), {2}),
            (("SUBJECT", "BUDGET"), {1, 3}),
            (("BODY", "zebra"), {4}),
            (("TEXT", "zebra"), {1, 4}),
            (("BODY", "giraffe"), {3}),
            (("HEADER", "X-Test-Tag", "blue"), {1}),
            (("HEADER", "X-Test-Tag", '""'), {1, 3}),
            (("SINCE", "20-Mar-2020"), {3, 4, 5, 6}),
            (("BEFORE", "20-Mar-2020"), {1, 2}),
            (("ON", "21-Mar-2020"), {4}),
            (("LARGER", "10000"), {4}),
            (("SMALLER", "10000"), {1, 2, 3, 5, 6}),
            (("SEEN",), {2, 3}),
            (("UNSEEN",), {1, 4, 5, 6}),
            (("FLAGGED",), {3}),
            (("ANSWERED",), {5}),
            (("UNANSWERED", "UNFLAGGED"), {1, 2, 4, 6}),
            (("OR", "FROM", "alice", "FROM", "carol"), {1, 3, 4}),
            (("NOT", "FROM", "alice"), {2, 3, 5, 6}),
            (("UID", f"{u[2]}:{u[4]}"), {2, 3, 4}),
            (("2:3",), {2, 3}),
            (("5:*",), {5, 6}),
            (("(OR (FROM alice UNSEEN) FLAGGED)", "NOT", "LARGER", "10000"), {1, 3}),
            (("OR", "SUBJECT", "invoice", "(SEEN NOT FLAGGED)"), {2, 5}),
            (("FROM", "nobody-matches"), set()),
        ]
        if kw_ok:
            cases += [(("KEYWORD", "$Work"), {2, 6}), (("UNKEYWORD", "$Work"), {1, 3, 4, 5})]
        else:
            self.notes.append("PERMANENTFLAGS without \\*: KEYWORD search not tried")
        bad = []
        for criteria, want in cases:
            try:
                got = self.search(m, *criteria)
                if got != want:
                    bad.append(f"SEARCH {' '.join(criteria)}: expected {sorted(want)}, got {sorted(got)}")
                gotu = self.search(m, *criteria, uid=True)
                if gotu != {u[i] for i in want}:
                    bad.append(f"UID SEARCH {' '.join(criteria)}: expected {sorted(u[i] for i in want)}, got {sorted(gotu)}")
            except Failure as e:
                bad.append(f"SEARCH {' '.join(criteria)}: {e}")
        # CHARSET UTF-8 with a literal
        try:
            m.literal = "grüße".encode()
            got = self.search(m, "SUBJECT", charset="UTF-8")
            if got != {4}:
                bad.append(f"SEARCH CHARSET UTF-8 SUBJECT {{grüße}}: expected [4], got {sorted(got)}")
        except Failure as e:
            bad.append(f"SEARCH CHARSET UTF-8: {e}")
        m.literal = None
        check(not bad, f"{len(bad)} SEARCH mismatches:\n  " + "\n  ".join(bad))
        ok(m.unselect(), "UNSELECT")

    def t_expunge(self):
        m = self.m()
        box = self.fresh_mailbox(m, "expunge")
        uids = [self.append(m, box, msg(["From: e@example.org", f"Subject: e{i}"], "x\n")) for i in range(6)]
        self.select(m, box)
        if uids[0] is None:
            uids = sorted(self.by_uid(self.uid_fetch(m, "1:*", "(UID)")))
        ok(m.store("2,4", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
        m.untagged_responses.clear()
        typ, data = m.expunge()
        check(typ == "OK", "EXPUNGE", (typ, data))
        seqs = [int(x) for x in (data if data and data[0] is not None else [])] or [int(x) for x in m.take("EXPUNGE")]
        # apply the expunges in order: the result must remove messages 2 and 4
        remaining = list(range(1, 7))
        for s in seqs:
            check(1 <= s <= len(remaining), "EXPUNGE sequence number in range", seqs)
            remaining.pop(s - 1)
        check(remaining == [1, 3, 5, 6], "EXPUNGE responses remove messages 2 and 4", seqs)
        left = sorted(self.by_uid(self.uid_fetch(m, "1:*", "(UID)")))
        check(left == [uids[0], uids[2], uids[4], uids[5]], "UIDs left after EXPUNGE", left)
        if self.cap("UIDPLUS"):
            ok(m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted on all")
            m.untagged_responses.clear()
            typ, data = m.uid("EXPUNGE", str(uids[2]))
            check(typ == "OK", "UID EXPUNGE", (typ, data))
            exp = [int(x) for x in m.take("EXPUNGE")]
            check(exp == [2], "UID EXPUNGE expunges only that UID (message 2)", exp)
            left = sorted(self.by_uid(self.uid_fetch(m, "1:*", "(UID)")))
            check(left == [uids[0], uids[4], uids[5]], "UID EXPUNGE leaves other \\Deleted messages", left)
        ok(m.unselect(), "UNSELECT")

    def t_close_unselect(self):
        m = self.m()
        box = self.fresh_mailbox(m, "close")
        for i in range(3):
            self.append(m, box, msg(["From: c@example.org", f"Subject: c{i}"], "x\n"))
        self.select(m, box)
        ok(m.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
        ok(m.unselect(), "UNSELECT")
        check(m.state == "AUTH", "UNSELECT leaves the selected state")
        check(self.status(m, box)["MESSAGES"] == 3, "UNSELECT did not expunge")
        with forced_state(m, "SELECTED"):
            expect_error(lambda: m.fetch("1", "(FLAGS)"), "FETCH after UNSELECT", ("BAD", "NO"))
        self.select(m, box)
        m.untagged_responses.clear()
        typ, data = m.close()
        check(typ == "OK", "CLOSE", (typ, data))
        check(not m.untagged_responses.get("EXPUNGE"), "CLOSE sends no EXPUNGE responses", m.untagged_responses)
        check(self.status(m, box)["MESSAGES"] == 2, "CLOSE expunged the \\Deleted message")
        # CLOSE of an EXAMINEd mailbox does not expunge
        self.select(m, box)
        ok(m.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
        ok(m.unselect(), "UNSELECT")
        self.select(m, box, readonly=True)
        ok(m.close(), "CLOSE a read-only mailbox")
        check(self.status(m, box)["MESSAGES"] == 2, "CLOSE after EXAMINE expunges nothing")

    def t_rename_inbox(self):
        m = self.m()
        before = self.status(m, "INBOX")
        check(before["MESSAGES"] >= 1, "INBOX has messages (one was appended earlier)", before)
        target = self.mbox("old-inbox")
        typ, data = m.rename("INBOX", target)
        if typ == "NO":
            # RFC 3501 permits renaming INBOX but a server may refuse (Dovecot: NO [CANNOT])
            self.notes.append(f"RENAME INBOX refused: {data!r}")
            check(self.status(m, "INBOX")["MESSAGES"] == before["MESSAGES"], "a refused RENAME INBOX changed nothing")
            return "RENAME INBOX refused by the server (allowed)"
        check(typ == "OK", "RENAME INBOX: OK or NO", (typ, data))
        after_inbox = self.status(m, "INBOX")
        moved = self.status(m, target)
        check(after_inbox["MESSAGES"] == 0, "INBOX exists and is empty after RENAME", after_inbox)
        check(moved["MESSAGES"] == before["MESSAGES"], "the new mailbox holds INBOX's messages", (before, moved))
        # put them back
        self.select(m, target)
        if self.cap("MOVE"):
            ok(m._simple_command("MOVE", "1:*", "INBOX"), "MOVE back to INBOX")
        else:
            ok(m.copy("1:*", "INBOX"), "COPY back to INBOX")
        ok(m.unselect(), "UNSELECT")
        check(self.status(m, "INBOX")["MESSAGES"] == before["MESSAGES"], "INBOX restored")

    def t_quota(self):
        m = self.m()
        if not self.cap("QUOTA"):
            check("QUOTA" not in self.opts.expect_caps, "QUOTA announced")
            return "QUOTA not announced"
        m.untagged_responses.clear()
        typ, data = m.getquotaroot("INBOX")
        check(typ == "OK", "GETQUOTAROOT INBOX", (typ, data))
        roots_resp, quotas = data
        v = parse(roots_resp[0])
        check(v and str(v[0]).upper() == "INBOX", "* QUOTAROOT INBOX …", roots_resp)
        roots = [r.decode() if isinstance(r, bytes) else r for r in v[1:]]
        if not roots:
            self.notes.append("INBOX has no quota root")
            return
        check(quotas, "GETQUOTAROOT returns * QUOTA for its roots", data)
        for q in quotas:
            qv = parse(q)
            res = qv[1]
            check(isinstance(res, list) and len(res) % 3 == 0 and res, "QUOTA resources (name usage limit)…", q)
            for i in range(0, len(res), 3):
                usage, limit = int(res[i + 1]), int(res[i + 2])
                check(0 <= usage <= limit or limit == 0, f"{res[i]} usage within limit", (usage, limit))
                if str(res[i]).upper() == "STORAGE":
                    check(usage > 0, "STORAGE usage counts the messages this suite appended (KiB)", q)
        m.untagged_responses.clear()
        root = roots[0]
        typ, data = m.getquota(f'"{root}"')
        check(typ == "OK" and data and data[0], f"GETQUOTA {root!r}", (typ, data))

    def t_idle(self):
        o = self.opts
        if not self.cap("IDLE"):
            return "IDLE not announced"
        m = self.m()
        box = self.fresh_mailbox(m, "idle")
        self.append(m, box, msg(["From: i@example.org", "Subject: idle 1"], "x\n"))
        r = RawIMAP(o, "I")
        _, t = r.command(f'LOGIN "{o.user}" "{o.password}"')
        check(t.split()[1] == b"OK", "raw LOGIN", t)
        lines, t = r.command(f"SELECT {box}")
        check(t.split()[1] == b"OK" and b"* 1 EXISTS" in lines, "raw SELECT: 1 EXISTS", lines)
        tag = r.send_command("IDLE")
        cont = r.readline()
        check(cont.startswith(b"+"), "IDLE: continuation", cont)
        limit = o.idle_latency

        def wait_for(pred, what):
            start = time.monotonic()
            seen = []
            while time.monotonic() - start < limit:
                try:
                    line = r.readline(timeout=max(0.05, limit - (time.monotonic() - start)))
                except TimeoutError:
                    break
                seen.append(line)
                if pred(line):
                    return time.monotonic() - start
            raise Failure(f"IDLE: no {what} within {limit}s; got {seen}")

        other = connect(o, "B")
        self.append(other, box, msg(["From: i@example.org", "Subject: idle 2"], "y\n"))
        dt = wait_for(lambda l: l == b"* 2 EXISTS", "* 2 EXISTS after another session's APPEND")
        self.notes.append(f"IDLE: EXISTS {dt * 1000:.0f} ms after the APPEND")
        self.select(other, box)
        ok(other.store("1", "+FLAGS", "(\\Flagged)"), "other session: STORE")
        wait_for(lambda l: l.startswith(b"* 1 FETCH") and b"\\Flagged" in l, "* 1 FETCH (FLAGS (\\Flagged …))")
        ok(other.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "other session: STORE \\Deleted")
        ok(other.expunge(), "other session: EXPUNGE")
        wait_for(lambda l: l == b"* 1 EXPUNGE", "* 1 EXPUNGE")
        r.send_raw(b"DONE\r\n")
        _, t = r.read_until_tagged(tag)
        check(t.split()[1] == b"OK", "IDLE ends with tagged OK after DONE", t)
        lines, t = r.command("NOOP")
        check(t.split()[1] == b"OK", "NOOP after IDLE", t)
        r.command("LOGOUT")
        r.close()
        other.logout()

    def t_compress(self):
        o = self.opts
        r = RawIMAP(o, "Z")
        _, t = r.command(f'LOGIN "{o.user}" "{o.password}"')
        check(t.split()[1] == b"OK", "raw LOGIN", t)
        lines, t = r.command("CAPABILITY")
        if b"COMPRESS=DEFLATE" not in b" ".join(lines).upper():
            r.close()
            return "COMPRESS=DEFLATE not announced"
        _, t = r.command("COMPRESS DEFLATE")
        check(t.split()[1] == b"OK", "COMPRESS DEFLATE -> OK", t)
        r.start_compression()
        lines, t = r.command("CAPABILITY")
        check(t.split()[1] == b"OK" and b"IMAP4REV1" in b" ".join(lines).upper(), "CAPABILITY through deflate", lines)
        _, t = r.command("COMPRESS DEFLATE")
        check(t.split()[1] == b"NO" and b"[COMPRESSIONACTIVE]" in t, "second COMPRESS -> NO [COMPRESSIONACTIVE]", t)
        box = self.mbox("compress")
        _, t = r.command(f"CREATE {box}")
        check(t.split()[1] == b"OK", "CREATE through deflate", t)
        rng = random.Random(4978)
        text = "".join(rng.choice("abcdefghij klmnop\n") for _ in range(300_000))
        body = msg(["From: z@example.org", "Subject: compressed"], text)
        r.send_raw(f"A1 APPEND {box} (\\Flagged) {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
        _, t = r.read_until_tagged("A1")
        check(t.split()[1] == b"OK", "APPEND of 300 KB through deflate", t)
        lines, t = r.command(f"SELECT {box}")
        check(t.split()[1] == b"OK" and b"* 1 EXISTS" in lines, "SELECT through deflate: 1 EXISTS", lines)
        lines, t = r.command("FETCH 1 (FLAGS BODY.PEEK[])")
        check(t.split()[1] == b"OK" and lines, "FETCH BODY[] through deflate", t)
        check(lines[0].endswith(b")") and body in lines[0], "FETCH BODY[] byte-exact through deflate", lines[0][:200])
        check(b"\\Flagged" in lines[0], "FETCH FLAGS through deflate", lines[0][:200])
        self.notes.append(f"COMPRESS: {r.sock.wire_in} bytes on the wire for a {len(lines[0])}-byte FETCH and replies")
        check(r.sock.wire_in < len(body), "replies were compressed", r.sock.wire_in)
        _, t = r.command("CLOSE")
        _, t = r.command(f"DELETE {box}")
        check(t.split()[1] == b"OK", "DELETE through deflate", t)
        _, t = r.command("LOGOUT")
        check(t.split()[1] == b"OK", "LOGOUT through deflate", t)
        r.close()

    def t_concurrent(self):
        o = self.opts
        m = self.m()
        box = self.fresh_mailbox(m, "conc")
        for i in range(3):
            self.append(m, box, msg(["From: c@example.org", f"Subject: conc {i}"], "x\n"))
        a = connect(o, "C1")
        b = connect(o, "C2")
        self.select(a, box)
        self.select(b, box)
        ok(a.store("2", "+FLAGS", "(\\Flagged)"), "A: STORE +FLAGS on 2")
        b.untagged_responses.clear()
        ok(b.noop(), "B: NOOP")
        g = fetch_items(b.take("FETCH"))
        check(2 in g and "\\flagged" in flags_of(g[2].get("FLAGS")), "B sees * 2 FETCH (FLAGS (\\Flagged))", g)
        self.append(a, box, msg(["From: c@example.org", "Subject: conc new"], "x\n"))
        ok(b.noop(), "B: NOOP")
        ex = [int(x) for x in b.take("EXISTS")]
        check(ex and ex[-1] == 4, "B sees * 4 EXISTS", ex)
        ok(a.store("1", "+FLAGS.SILENT", "(\\Deleted)"), "A: STORE \\Deleted")
        b.untagged_responses.clear()
        ok(a.expunge(), "A: EXPUNGE")
        ok(b.noop(), "B: NOOP")
        exp = [int(x) for x in b.take("EXPUNGE")]
        check(exp == [1], "B sees * 1 EXPUNGE", exp)
        g = fetch_items(ok(b.fetch("1:*", "(FLAGS)"), "B: FETCH 1:*"))
        check(sorted(g) == [1, 2, 3], "B's sequence numbers follow the expunge", sorted(g))
        check("\\flagged" in flags_of(g[1]["FLAGS"]), "B: the flagged message is now number 1", g)
        # B changes, A sees it
        ok(b.store("3", "+FLAGS", "(\\Answered)"), "B: STORE")
        a.untagged_responses.clear()
        ok(a.noop(), "A: NOOP")
        g = fetch_items(a.take("FETCH"))
        check(3 in g and "\\answered" in flags_of(g[3].get("FLAGS")), "A sees * 3 FETCH (FLAGS (\\Answered))", g)
        a.logout()
        b.logout()

    def t_errors(self):
        o = self.opts
        m = self.m()
        ok(m.noop(), "NOOP")
        with forced_state(m, "SELECTED"):
            expect_error(lambda: m.fetch("1", "(FLAGS)"), "FETCH with no mailbox selected", ("BAD", "NO"))
        with forced_state(m, "SELECTED"):
            expect_error(lambda: m.store("1", "+FLAGS", "(\\Seen)"), "STORE with no mailbox selected", ("BAD", "NO"))
        typ, data = m.append(self.mbox("no-such-box"), None, None, msg(["Subject: x"], "x\n"))
        check(typ == "NO" and "TRYCREATE" in repr(data).upper(), "APPEND to a missing mailbox: NO [TRYCREATE]", (typ, data))
        st = expect_error(lambda: m.status(self.mbox("no-such-box"), "(MESSAGES)"), "STATUS of a missing mailbox", ("NO",))
        self.select(m, "INBOX", readonly=True)
        n = int(m.untagged_responses.get("EXISTS", [b"0"])[-1]) if m.untagged_responses.get("EXISTS") else None
        expect_error(lambda: m.fetch("999999", "(FLAGS)"), "FETCH of a sequence number beyond EXISTS", ("BAD", "NO"))
        expect_error(lambda: m.fetch("1", "(NOSUCHITEM)"), "FETCH of an unknown item", ("BAD",))
        expect_error(lambda: m.search(None, "NOSUCHKEY"), "SEARCH with an unknown key", ("BAD",))
        ok(m.close(), "CLOSE")
        u = connect(o, "U", login=False)
        with forced_state(u, "AUTH"):
            expect_error(lambda: u._simple_command("SELECT", "INBOX"), "SELECT before login", ("BAD", "NO"))
        u.logout()

    def t_cleanup(self):
        m = self.m()
        names = self.list_names(m, '""', self.prefix + "*")
        for name in sorted(names, key=lambda n: -n.count(self.delim)):
            m.delete(name)
        left = self.list_names(m, '""', self.prefix + "*")
        check(not left, "all test mailboxes deleted", left)

    def t_logout(self):
        m = self.m()
        typ, data = m.logout()
        check(typ == "BYE", "LOGOUT: * BYE then tagged OK", (typ, data))
        self.main = None


def expand(uidset):
    out = set()
    for part in uidset.split(","):
        if ":" in part:
            a, b = part.split(":")
            a, b = int(a), int(b)
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


def main():
    p = common_args(__doc__.splitlines()[0])
    p.add_argument("--expect-caps", default="", type=lambda s: [c for c in s.replace(" ", ",").split(",") if c],
                   help="capabilities that must be announced after login (comma-separated)")
    p.add_argument("--secure-auth-variant", action="store_true",
                   help="the server refuses plaintext auth: check LOGIN/AUTHENTICATE before STARTTLS fail")
    p.add_argument("--expect-inbox-message", help="a file delivered to INBOX before the run (checked byte-exact)")
    p.add_argument("--idle-latency", type=float, default=5.0, help="seconds IDLE may take to report a change")
    p.add_argument("--deadline", type=float, default=600.0, help="the whole suite, seconds")
    opts = p.parse_args()
    import signal

    def on_alarm(*_):
        print(f"FAIL suite exceeded its deadline of {opts.deadline}s", flush=True)
        for line in TRANSCRIPT.lines[-60:]:
            print("   " + line)
        sys.exit(2)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(opts.deadline))
    print(f"imaplib suite against {opts.host}:{opts.port} tls={opts.tls} user={opts.user}", flush=True)
    sys.exit(Suite(opts).run())


if __name__ == "__main__":
    main()
