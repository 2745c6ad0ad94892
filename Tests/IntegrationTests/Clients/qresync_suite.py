#!/usr/bin/env python3
"""QRESYNC (RFC 7162 §3.2) resynchronisation as a reconnecting client does it: a raw socket client
that reads every line in order (A) and Python's imaplib as the other client (B).

    qresync_suite.py --host 127.0.0.1 --port 143 --user U --password P --tls none|starttls|implicit [--cafile F]

A: ENABLE QRESYNC, SELECT a fresh folder of six messages, note UIDVALIDITY and HIGHESTMODSEQ,
disconnect. B: flag one message, delete and expunge two, append one. A again: SELECT … (QRESYNC
(uidvalidity modseq known-uids)) must answer, after the usual responses, exactly
`* VANISHED (EARLIER) <the two UIDs>` and a FETCH (UID FLAGS MODSEQ) of the flagged message, with
the MODSEQ a later FETCH shows (and of the new message when known-uids do not leave it out); then
with seq-match-data, with UID FETCH (CHANGEDSINCE VANISHED), with a wrong UIDVALIDITY (nothing), and
an expunge by B while A IDLEs must come as `* VANISHED uid`. Passes against Dovecot 2.3 too. Exit status 0 only if every check passed.
"""
import re
import sys
import time
import traceback
import uuid

from imapclient import TRANSCRIPT, RawIMAP, common_args, connect


class Failure(AssertionError):
    pass


def check(cond, what, got=None):
    if not cond:
        raise Failure(what + ("" if got is None else f" — got: {got!r}"[:1500]))


MESSAGE = ("From: QRESYNC Test <qresync@example.org>\r\nTo: user@example.com\r\nSubject: qresync {n}\r\n"
           "Message-ID: <qresync-{n}-{id}@example.org>\r\n\r\nmessage {n}\r\n")


def tagged_ok(tagged, what):
    check(tagged.split()[1:2] == [b"OK"], f"{what}: expected OK", tagged)


def code(lines, name):
    for line in lines:
        m = re.match(rb"\* OK \[" + name.encode() + rb" (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise Failure(f"no [{name}] in {lines!r}")


def resync_lines(lines):
    """The lines a QRESYNC SELECT adds: VANISHED and FETCH, in order."""
    return [l.decode() for l in lines if l.startswith(b"* VANISHED") or re.match(rb"\* \d+ FETCH", l)]


def main():
    opts = common_args(__doc__.splitlines()[0]).parse_args()
    folder = "qresync-" + uuid.uuid4().hex[:8]
    a = b = None
    try:
        # B makes a folder of six messages.
        b = connect(opts, "B")
        check(b.create(folder)[0] == "OK", "CREATE")
        for n in range(1, 7):
            typ, data = b.append(folder, None, None, MESSAGE.format(n=n, id=uuid.uuid4().hex).encode())
            check(typ == "OK", f"APPEND {n}", data)

        # A: first sync.
        a = RawIMAP(opts, "A")
        tagged_ok(a.command(f'LOGIN "{opts.user}" "{opts.password}"')[1], "LOGIN")
        untagged, tagged = a.command("ENABLE QRESYNC")
        tagged_ok(tagged, "ENABLE QRESYNC")
        check(b"* ENABLED QRESYNC" in untagged, "ENABLED QRESYNC", untagged)
        untagged, tagged = a.command(f'SELECT "{folder}"')
        tagged_ok(tagged, "SELECT")
        validity, modseq = code(untagged, "UIDVALIDITY"), code(untagged, "HIGHESTMODSEQ")
        untagged, tagged = a.command("UID SEARCH ALL")
        uids = [int(x) for x in untagged[0].split()[2:]]
        check(len(uids) == 6, "six UIDs", untagged)
        a.command("LOGOUT")
        a.close()

        # B: flag the 2nd, expunge the 3rd and 5th, append a 7th (\Recent in B's session, which
        # has the folder selected).
        check(b.select(folder)[0] == "OK", "B SELECT")
        check(b.uid("STORE", str(uids[1]), "+FLAGS", "(\\Flagged)")[0] == "OK", "B STORE \\Flagged")
        check(b.uid("STORE", f"{uids[2]},{uids[4]}", "+FLAGS", "(\\Deleted)")[0] == "OK", "B STORE \\Deleted")
        check(b.expunge()[0] == "OK", "B EXPUNGE")
        typ, data = b.append(folder, None, None, MESSAGE.format(n=7, id=uuid.uuid4().hex).encode())
        check(typ == "OK", "APPEND 7", data)
        new_uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))

        # A reconnects and resynchronises.
        a = RawIMAP(opts, "A2")
        tagged_ok(a.command(f'LOGIN "{opts.user}" "{opts.password}"')[1], "LOGIN")
        tagged_ok(a.command("ENABLE QRESYNC")[1], "ENABLE QRESYNC")
        known = f"{uids[0]}:{uids[-1]}"
        untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity} {modseq} {known}))')
        tagged_ok(tagged, "SELECT (QRESYNC)")
        check(b"* 5 EXISTS" in untagged, "5 EXISTS", untagged)
        # The MODSEQs the messages have now, read on their own.
        u2, _ = a.command(f"UID FETCH {uids[1]},{new_uid} (MODSEQ)")
        mods = {int(m.group(1)): int(m.group(2)) for m in (re.search(rb"UID (\d+) MODSEQ \((\d+)\)", l) for l in u2) if m}
        check(set(mods) == {uids[1], new_uid} and all(v > modseq for v in mods.values()), "MODSEQs above the old HIGHESTMODSEQ", u2)
        vanished = f"* VANISHED (EARLIER) {uids[2]},{uids[4]}"
        fetch2 = f"* 2 FETCH (UID {uids[1]} FLAGS (\\Flagged) MODSEQ ({mods[uids[1]]}))"
        fetch7 = f"* 5 FETCH (UID {new_uid} FLAGS () MODSEQ ({mods[new_uid]}))"
        got = resync_lines(untagged)
        # known-uids 1:6 leave out the new message: the client learns of it from UIDNEXT.
        check(got == [vanished, fetch2], "SELECT (QRESYNC): VANISHED (EARLIER) then FETCH, exactly", got)
        check(untagged[-1].decode() == fetch2, "VANISHED and FETCH come after the usual SELECT responses", untagged)

        # Without known-uids (all UIDs), with seq-match-data (messages 1 and 2 still are the first
        # two UIDs), and with known-uids that leave out the 5th.
        untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity} {modseq}))')
        tagged_ok(tagged, "SELECT (QRESYNC) without known-uids")
        check(b"* OK [CLOSED]" in untagged[0], "[CLOSED] first", untagged)
        check(resync_lines(untagged) == [vanished, fetch2, fetch7], "SELECT (QRESYNC) without known-uids", resync_lines(untagged))
        untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity} {modseq} {known} (1:2 {uids[0]}:{uids[1]})))')
        tagged_ok(tagged, "SELECT (QRESYNC … seq-match-data)")
        check(resync_lines(untagged) == [vanished, fetch2], "SELECT (QRESYNC … seq-match-data)", resync_lines(untagged))
        untagged, tagged = a.command(f'EXAMINE "{folder}" (QRESYNC ({validity} {modseq} {uids[0]}:{uids[3]}))')
        tagged_ok(tagged, "EXAMINE (QRESYNC)")
        check(resync_lines(untagged) == [f"* VANISHED (EARLIER) {uids[2]}", fetch2], "known-uids narrow VANISHED",
              resync_lines(untagged))

        # UID FETCH (CHANGEDSINCE VANISHED).
        untagged, tagged = a.command(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
        tagged_ok(tagged, "UID FETCH (CHANGEDSINCE VANISHED)")
        check([l.decode() for l in untagged] == [vanished, fetch2, fetch7], "UID FETCH (CHANGEDSINCE VANISHED)", untagged)

        # Another UIDVALIDITY: no VANISHED, no FETCH.
        untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity + 1} {modseq} {known}))')
        tagged_ok(tagged, "SELECT (QRESYNC) with a wrong UIDVALIDITY")
        check(resync_lines(untagged) == [], "wrong UIDVALIDITY: nothing to resync", untagged)

        # An expunge by B while A idles: VANISHED, not EXPUNGE.
        tag = a.send_command("IDLE")
        check(a.readline().startswith(b"+"), "IDLE continuation")
        check(b.uid("STORE", str(uids[0]), "+FLAGS", "(\\Deleted)")[0] == "OK", "B STORE \\Deleted")
        check(b.expunge()[0] == "OK", "B EXPUNGE")
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            line = a.readline(timeout=max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if line.startswith(b"* VANISHED") or line.endswith(b" EXPUNGE"):
                break
        check(seen and seen[-1] == f"* VANISHED {uids[0]}".encode(), "IDLE: * VANISHED uid", seen)
        a.send_raw(b"DONE\r\n")
        _, tagged = a.read_until_tagged(tag)
        tagged_ok(tagged, "IDLE")

        # RFC 8437 where announced (Dovecot 2.3 does not): back to not authenticated, then in again
        # on the same connection, with QRESYNC to enable anew.
        caps = b" ".join(a.command("CAPABILITY")[0])
        if b" UNAUTHENTICATE" in caps:
            untagged, tagged = a.command("UNAUTHENTICATE")
            tagged_ok(tagged, "UNAUTHENTICATE")
            check(a.command("NOOP")[1].split()[1:2] == [b"OK"], "NOOP after UNAUTHENTICATE")
            check(a.command(f'SELECT "{folder}"')[1].split()[1:2] == [b"BAD"], "SELECT after UNAUTHENTICATE is BAD")
            tagged_ok(a.command(f'LOGIN "{opts.user}" "{opts.password}"')[1], "LOGIN again")
            untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity} {modseq}))')
            check(tagged.split()[1:2] == [b"BAD"], "QRESYNC forgotten after UNAUTHENTICATE", tagged)
            tagged_ok(a.command("ENABLE QRESYNC")[1], "ENABLE QRESYNC again")
            untagged, tagged = a.command(f'SELECT "{folder}" (QRESYNC ({validity} {modseq}))')
            tagged_ok(tagged, "SELECT (QRESYNC) after logging in again")
            want = [f"* VANISHED (EARLIER) {uids[0]},{uids[2]},{uids[4]}", fetch2.replace("* 2 ", "* 1 "),
                    fetch7.replace("* 5 ", "* 4 ")]  # the first message is gone: one place down
            check(resync_lines(untagged) == want,
                  "SELECT (QRESYNC) after logging in again", resync_lines(untagged))

        a.command("LOGOUT")
        b.close()
        check(b.delete(folder)[0] == "OK", "DELETE")
        b.logout()
        print("PASS qresync suite")
        return 0
    except Exception as e:  # noqa: BLE001 - every failure prints the transcript
        print(f"FAIL {e}")
        traceback.print_exc()
        for line in TRANSCRIPT.lines[-120:]:
            print("   " + line)
        return 1
    finally:
        for conn in (a,):
            if conn is not None:
                conn.close()


if __name__ == "__main__":
    sys.exit(main())
