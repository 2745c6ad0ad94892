#!/usr/bin/env python3
"""The MX as real senders see it: Python's smtplib and raw sockets send, imaplib checks what arrived.

    smtp_suite.py --host 127.0.0.1 --smtp-port P --imap-port P --user U --password P \
                  --other-user U2 --other-password P2 --small-user U3 --max-size N [--cafile cert.pem] [--only NAME,...]

Scenarios: a single message fetched back over IMAP byte for byte (Return-Path and Received added in
front, nothing else changed); many recipients (plus-addressing deduplicated, unknown ones refused);
PIPELINING; BDAT (CHUNKING); SMTPUTF8; STARTTLS (certificate verified, and a pipelined STARTTLS
refused; TLS 1.2 with AEAD suites only); oversize messages (SIZE and actual; absurd BDAT sizes);
unknown recipients and domains; quota; too many recipients; SMTP smuggling with bare LF / bare CR end-of-data forms; a mail loop; malformed
commands; and an IDLE session told of new mail. Exit status 0 only if every scenario passed.
"""
import argparse
import imaplib
import re
import smtplib
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid

from imapclient import tls_context


class Failure(AssertionError):
    pass


def check(cond, what, got=None):
    if not cond:
        raise Failure(what + ("" if got is None else f" — got: {got!r}"[:1500]))


def imap(opts, user=None, password=None):
    m = imaplib.IMAP4(opts.host, opts.imap_port, timeout=30)
    m.login(user or opts.user, password or opts.password)
    m.select("INBOX")
    return m


def fetch_by_message_id(opts, msgid, user=None, password=None, expect=1):
    """The full bytes of the messages carrying `msgid` (waits a little: delivery is immediate
    for an unlocked mailbox, at login otherwise — this login drains the queue)."""
    m = imap(opts, user, password)
    try:
        typ, data = m.search(None, "HEADER", "Message-ID", msgid)
        nums = data[0].split()
        check(len(nums) == expect, f"{expect} message(s) with Message-ID {msgid}", nums)
        out = []
        for n in nums:
            typ, data = m.fetch(n, "(BODY.PEEK[])")
            out.append(data[0][1])
        return out
    finally:
        m.logout()


def count(opts, user=None, password=None):
    m = imap(opts, user, password)
    try:
        typ, data = m.status("INBOX", "(MESSAGES)")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
    finally:
        m.logout()


def message(subject, body="Hello.\r\n", msgid=None, extra=""):
    msgid = msgid or f"<{uuid.uuid4()}@example.org>"
    text = (f"From: Sender <sender@example.org>\r\nTo: <user@example.com>\r\nSubject: {subject}\r\n"
            f"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\nMessage-ID: {msgid}\r\n{extra}\r\n{body}")
    return text.encode(), msgid


class Raw:
    """A raw SMTP connection: send bytes exactly, read replies."""

    def __init__(self, opts):
        self.sock = socket.create_connection((opts.host, opts.smtp_port), timeout=30)
        self.buf = b""
        greeting = self.reply()
        check(greeting[0] == 220, "greeting 220", greeting)

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure(f"connection closed; buffered {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), b"\n".join(lines).decode("utf-8", "replace")

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def envelope_prefix_ok(got, sent, sender, with_kw, rcpt=None):
    check(got.endswith(sent), "the message arrives unchanged after the added trace headers", got[:600])
    prefix = got[: len(got) - len(sent)].decode("utf-8")
    check(prefix.startswith(f"Return-Path: <{sender}>\r\nReceived: from "), "Return-Path then Received", prefix)
    check(f"(Sealbox) with {with_kw} id " in prefix, f"Received says with {with_kw}", prefix)
    if rcpt:
        check(f"for <{rcpt}>;" in prefix, "Received names the single recipient", prefix)
    # Only those two header fields were added: every other line is a folded continuation.
    lines = prefix.split("\r\n")[:-1]
    check(all(l.startswith(("Return-Path:", "Received:", "\t", " ")) for l in lines), "nothing else added", prefix)


# --- scenarios ---------------------------------------------------------------------------------

def s_single(opts):
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    code, _ = s.ehlo("client.example.org")
    check(code == 250, "EHLO 250")
    for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes", "chunking", "starttls"):
        check(s.has_extn(ext), f"EHLO offers {ext}", s.esmtp_features)
    check(int(s.esmtp_features["size"]) == opts.max_size, "SIZE is the configured limit", s.esmtp_features)
    body = ("Line one.\r\n.leading dot\r\n..two dots\r\n.\r\n" "Grüße, 8-bit body ✓\r\n" + "x" * 990 + "\r\nend\r\n")
    sent, msgid = message("single", body, extra="Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
    refused = s.sendmail("sender@example.org", [opts.user], sent, mail_options=["BODY=8BITMIME"])
    check(refused == {}, "accepted", refused)
    s.quit()
    got = fetch_by_message_id(opts, msgid)[0]
    envelope_prefix_ok(got, sent, "sender@example.org", "ESMTP", rcpt=opts.user)


def s_many_recipients(opts):
    local, domain = opts.user.split("@")
    sent, msgid = message("many recipients")
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@{domain}"
    refused = s.sendmail("sender@example.org", [opts.user, f"{local}+tag@{domain}", opts.other_user, unknown,
                                                "x@not-hosted.example"], sent)
    s.quit()
    check(set(refused) == {unknown, "x@not-hosted.example"}, "the two unknown recipients are refused", refused)
    check(refused[unknown][0] == 550 and b"5.1.1" in refused[unknown][1], "unknown user: 550 5.1.1", refused)
    check(refused["x@not-hosted.example"][0] == 550 and b"5.7.1" in refused["x@not-hosted.example"][1],
          "not our domain: 550 5.7.1 (no open relay)", refused)
    # user and user+tag are one mailbox: one copy. The other alias gets its own.
    got = fetch_by_message_id(opts, msgid)[0]
    envelope_prefix_ok(got, sent, "sender@example.org", "ESMTP")
    check(b"\tfor <" not in got.split(b"\r\n\r\n")[0], "no recipient named when there are several")
    fetch_by_message_id(opts, msgid, opts.other_user, opts.other_password)


def s_pipelining(opts):
    r = Raw(opts)
    check(r.cmd("EHLO pipe.example")[0] == 250, "EHLO")
    sent, msgid = message("pipelined")
    r.send(f"MAIL FROM:<p@example.org>\r\nRCPT TO:<{opts.user}>\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n".encode())
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 550, 354], "pipelined MAIL, RCPT, RCPT (unknown), DATA", codes)
    r.send(sent + b".\r\n" + b"RSET\r\nNOOP\r\nQUIT\r\n")
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 221], "message, RSET, NOOP, QUIT pipelined", codes)
    check(r.closed(), "closed after QUIT")
    fetch_by_message_id(opts, msgid)


def s_bdat(opts):
    r = Raw(opts)
    r.cmd("EHLO chunk.example")
    part1, msgid = message("chunked", body="first part\r\n")
    part2 = b".a dot-led line is not stuffed in BDAT\r\nbinary-ish \x01\x02 tail\r\n"
    r.send(f"MAIL FROM:<c@example.org>\r\nRCPT TO:<{opts.user}>\r\n".encode()
           + f"BDAT {len(part1)}\r\n".encode() + part1 + f"BDAT {len(part2)} LAST\r\n".encode() + part2)
    codes = [r.reply() for _ in range(4)]
    check([c for c, _ in codes] == [250, 250, 250, 250], "MAIL, RCPT, BDAT, BDAT LAST", codes)
    check("queued as" in codes[3][1], "the last chunk's reply says queued", codes[3])
    # BDAT 0 LAST ends a message too; BDAT without MAIL is refused after its bytes are read.
    part3, msgid3 = message("chunked empty last", body="only chunk\r\n")
    r.send(f"MAIL FROM:<c@example.org>\r\nRCPT TO:<{opts.user}>\r\nBDAT {len(part3)}\r\n".encode() + part3 + b"BDAT 0 LAST\r\n")
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 250], "BDAT n then BDAT 0 LAST", codes)
    r.send(b"BDAT 5\r\nhello")
    check(r.reply()[0] == 503, "BDAT without MAIL: 503 after the chunk")
    r.send(f"MAIL FROM:<c@example.org>\r\nRCPT TO:<{opts.user}>\r\nBDAT 3\r\nabc".encode())
    codes = [r.reply()[0] for _ in range(3)]
    check(codes == [250, 250, 250], "a chunk", codes)
    check(r.cmd("DATA")[0] == 503, "DATA after BDAT: 503")
    check(r.cmd("RSET")[0] == 250, "RSET")
    check(r.cmd("NOOP")[0] == 250, "NOOP: the session goes on")
    r.cmd("QUIT")
    got = fetch_by_message_id(opts, msgid)[0]
    envelope_prefix_ok(got, part1 + part2, "c@example.org", "ESMTP", rcpt=opts.user)
    got3 = fetch_by_message_id(opts, msgid3)[0]
    check(got3.endswith(part3), "BDAT n + BDAT 0 LAST", got3)


def s_smtputf8(opts):
    sender = "jörg@bücher.example"
    sent, msgid = message("UTF-8 envelope", body="Grüße\r\n")
    sent = sent.replace(b"From: Sender <sender@example.org>", "From: Jörg <jörg@bücher.example>".encode())
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    s.ehlo("utf8.example")
    refused = s.sendmail(sender, [opts.user], sent, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    check(refused == {}, "accepted with SMTPUTF8", refused)
    s.quit()
    got = fetch_by_message_id(opts, msgid)[0]
    envelope_prefix_ok(got, sent, sender, "UTF8SMTP", rcpt=opts.user)
    r = Raw(opts)
    r.cmd("EHLO utf8.example")
    code, text = r.cmd("MAIL FROM:<jörg@bücher.example>")
    check(code == 553 and "5.6.7" in text, "a UTF-8 address without SMTPUTF8: 553 5.6.7", text)
    r.cmd("QUIT")


def s_starttls(opts):
    ctx = tls_context(opts.cafile)
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    s.ehlo("tls.example")
    code, _ = s.starttls(context=ctx)
    check(code == 220, "STARTTLS 220")
    s.ehlo("tls.example")
    check(not s.has_extn("starttls"), "STARTTLS is not offered again inside TLS", s.esmtp_features)
    check(s.sock.version() == "TLSv1.3", "TLS 1.3", s.sock.version())
    sent, msgid = message("over TLS")
    check(s.sendmail("tls@example.org", [opts.user], sent) == {}, "accepted over TLS")
    s.quit()
    got = fetch_by_message_id(opts, msgid)[0]
    envelope_prefix_ok(got, sent, "tls@example.org", "ESMTPS", rcpt=opts.user)
    # RFC 3207 §4.2: a command pipelined after STARTTLS must never be read as plaintext.
    r = Raw(opts)
    r.cmd("EHLO attacker.example")
    r.send(b"STARTTLS\r\nMAIL FROM:<inject@example.org>\r\n")
    code, text = r.reply()
    check(code == 554, "pipelined STARTTLS refused", text)
    check(r.closed(), "and the connection closed")


def s_tls12(opts):
    """TLS 1.2 offers AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305): a client that
    can do nothing else than CBC suites fails the handshake."""
    def attempt(ciphers):
        ctx = tls_context(opts.cafile)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
        s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
        try:
            s.ehlo("tls12.example")
            s.starttls(context=ctx)
            return s.sock.version(), s.sock.cipher()[0]
        except (ssl.SSLError, ConnectionError) as e:
            return None, repr(e)
        finally:
            s.close()
    for ecdsa, rsa in (("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
                       ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
                       ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305")):
        got = attempt(f"{ecdsa}:{rsa}")
        check(got[0] == "TLSv1.2" and got[1] in (ecdsa, rsa), f"TLS 1.2 with {ecdsa}", got)
    cbc = ":".join(f"ECDHE-{k}-{c}" for k in ("ECDSA", "RSA")
                   for c in ("AES128-SHA", "AES256-SHA", "AES128-SHA256", "AES256-SHA384")) + ":AES128-SHA:AES256-SHA"
    got = attempt(cbc)
    check(got[0] is None, "TLS 1.2 with CBC suites only: handshake refused", got)


def s_bdat_absurd(opts):
    """A BDAT chunk over the size limit is refused before its bytes, and the connection closed (the
    client is sending them: the stream cannot be resynchronised)."""
    r = Raw(opts)
    r.cmd("EHLO chunky.example")
    check(r.cmd("MAIL FROM:<c@example.org>")[0] == 250, "MAIL")
    check(r.cmd(f"RCPT TO:<{opts.user}>")[0] == 250, "RCPT")
    started = time.monotonic()
    # A few of the chunk's bytes only: bytes left unread at the close would reset the connection
    # (RST) and could take the reply with them.
    r.send(b"BDAT 99999999999 LAST\r\n" + b"x" * 100)
    code, text = r.reply()
    check(code == 552 and "5.3.4" in text and "closing" in text, "BDAT 99999999999: 552 5.3.4 at once", text)
    check(r.closed() and time.monotonic() - started < 10, "and the connection closed")


def s_oversize(opts):
    r = Raw(opts)
    r.cmd("EHLO big.example")
    code, text = r.cmd(f"MAIL FROM:<big@example.org> SIZE={opts.max_size + 1}")
    check(code == 552 and "5.3.4" in text, "SIZE over the limit: 552 5.3.4 at MAIL", text)
    before = count(opts)
    big, msgid = message("too big", body=("y" * 998 + "\r\n") * (opts.max_size // 1000 + 10))
    check(r.cmd("MAIL FROM:<big@example.org>")[0] == 250, "MAIL without SIZE")
    check(r.cmd(f"RCPT TO:<{opts.user}>")[0] == 250, "RCPT")
    check(r.cmd("DATA")[0] == 354, "DATA")
    r.send(big + b".\r\n")
    code, text = r.reply()
    check(code == 552 and "5.3.4" in text, "an oversize message: 552 5.3.4 after the data", text)
    check(r.cmd("NOOP")[0] == 250, "the session goes on")
    r.cmd("QUIT")
    check(count(opts) == before, "nothing stored")


def s_refusals(opts):
    r = Raw(opts)
    r.cmd("EHLO refuse.example")
    r.cmd("MAIL FROM:<r@example.org>")
    domain = opts.user.split("@")[1]
    code, text = r.cmd(f"RCPT TO:<nobody-{uuid.uuid4().hex[:6]}@{domain}>")
    check(code == 550 and "5.1.1" in text, "unknown user: 550 5.1.1", text)
    code, text = r.cmd("RCPT TO:<someone@elsewhere.example>")
    check(code == 550 and "5.7.1" in text, "relaying denied: 550 5.7.1", text)
    code, text = r.cmd("DATA")
    check(code == 554, "DATA with no valid recipient: 554", text)
    code, text = r.cmd(f"RCPT TO:<{opts.small_user}>")
    check(code == 552 and "5.2.2" in text, "over quota: 552 5.2.2", text)
    r.cmd("RSET")
    local = opts.user.split("@")[0]
    r.cmd("MAIL FROM:<r@example.org>")
    r.send("".join(f"RCPT TO:<{local}+{i}@{domain}>\r\n" for i in range(101)).encode())
    codes = [r.reply()[0] for _ in range(101)]
    check(codes[:100] == [250] * 100 and codes[100] == 452, "the 101st recipient: 452", codes[95:])
    r.cmd("RSET")
    r.cmd("QUIT")


def s_smuggling(opts):
    """Each attempt hides a second message behind an end-of-data form other servers accept. It
    must stay part of the first message: one 250, one stored message, the smuggled text inside."""
    for form in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r"):
        before = count(opts)
        first, msgid = message("smuggle carrier", body="hello\r\n")
        first = first.rstrip(b"\r\n")
        smuggled_id = f"<smuggled-{uuid.uuid4()}@example.org>"
        payload = (first + form + f"MAIL FROM:<evil@example.org>\r\nRCPT TO:<{opts.user}>\r\nDATA\r\n"
                   f"Message-ID: {smuggled_id}\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n".encode())
        r = Raw(opts)
        r.cmd("EHLO smuggler.example")
        check(r.cmd("MAIL FROM:<s@example.org>")[0] == 250, "MAIL")
        check(r.cmd(f"RCPT TO:<{opts.user}>")[0] == 250, "RCPT")
        check(r.cmd("DATA")[0] == 354, "DATA")
        r.send(payload + b"\r\n.\r\n")
        code, text = r.reply()
        check(code == 250, f"one message accepted ({form!r})", text)
        code, text = r.cmd("QUIT")
        check(code == 221, f"the next reply is QUIT's: no second transaction ran ({form!r})", text)
        check(count(opts) == before + 1, f"exactly one message stored ({form!r})")
        got = fetch_by_message_id(opts, msgid)[0]
        check(b"MAIL FROM:<evil@example.org>" in got and b"smuggled body" in got, "the smuggled text is content", got)
        fetch_by_message_id(opts, smuggled_id, expect=0)


def s_loop(opts):
    sent, msgid = message("loop", extra="".join(f"Received: from hop{i}.example by hop{i+1}.example; Sun, 22 Nov 2026 12:00:00 +0000\r\n" for i in range(60)))
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    try:
        s.sendmail("loop@example.org", [opts.user], sent)
        raise Failure("a message with 60 Received headers was accepted")
    except smtplib.SMTPDataError as e:
        check(e.smtp_code == 554 and b"5.4.6" in e.smtp_error, "mail loop: 554 5.4.6", e)
    s.quit()


def s_errors(opts):
    r = Raw(opts)
    code, _ = r.cmd("MAIL FROM:<a@example.org>")
    check(code == 503, "MAIL before EHLO: 503")
    for line, want in (("FOO bar", 500), ("MAIL FROM:bad", 501), ("EHLO", 501), ("RCPT TO:<a@b.example>", 503),
                       ("DATA", 503), ("VRFY user", 252), ("EXPN list", 502), ("AUTH PLAIN", 503), ("HELP", 214),
                       ("X" * 5000, 500), ("NOOP", 250)):
        if line.startswith("RCPT") or line == "DATA":
            r.cmd("EHLO err.example")
        code, text = r.cmd(line)
        check(code == want, f"{line[:30]!r}: {want}", text)
    r.send(b"NOOP\x00\r\n")
    check(r.reply()[0] == 500, "a NUL: 500")
    r.send(b"\xff\xfe\r\n")
    check(r.reply()[0] == 500, "invalid UTF-8: 500")
    check(r.cmd("NOOP")[0] == 250, "the session goes on")
    r.cmd("QUIT")


def s_idle(opts):
    m = imaplib.IMAP4(opts.host, opts.imap_port, timeout=30)
    m.login(opts.user, opts.password)
    typ, data = m.select("INBOX")
    exists = int(data[0])
    tag = m._new_tag().decode()
    m.send(f"{tag} IDLE\r\n".encode())
    check(m.readline().startswith(b"+"), "IDLE continuation")
    sent, msgid = message("idle")
    t0 = time.monotonic()
    s = smtplib.SMTP(opts.host, opts.smtp_port, timeout=30)
    s.sendmail("idle@example.org", [opts.user], sent)
    t_accepted = time.monotonic()
    s.quit()
    m.sock.settimeout(10)
    line = m.readline()
    t_seen = time.monotonic()
    check(re.match(rb"\* (\d+) EXISTS", line) and int(line.split()[1]) == exists + 1, "IDLE reports EXISTS", line)
    print(f"idle: EXISTS {1000 * (t_seen - t_accepted):.1f} ms after the 250 ({1000 * (t_seen - t0):.1f} ms after connecting)")
    m.send(b"DONE\r\n")
    m.readline()
    m.logout()


def s_connlimit(opts):
    """The per-IP connection limit (the test sets smtp.maxConnectionsPerIP): one more is refused with 421."""
    if not opts.max_connections:
        return
    time.sleep(0.5)  # connections of earlier scenarios are gone
    held = [Raw(opts) for _ in range(opts.max_connections)]
    extra = socket.create_connection((opts.host, opts.smtp_port), timeout=30)
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = extra.recv(1024)
        if not chunk:
            break
        data += chunk
    check(data.startswith(b"421 4.7.0"), "one connection over the per-IP limit: 421 4.7.0", data)
    extra.close()
    for r in held:
        r.cmd("QUIT")
        r.close()


SCENARIOS = {
    "single": s_single, "many": s_many_recipients, "pipelining": s_pipelining, "bdat": s_bdat, "smtputf8": s_smtputf8,
    "starttls": s_starttls, "oversize": s_oversize, "refusals": s_refusals, "smuggling": s_smuggling, "loop": s_loop,
    "errors": s_errors, "idle": s_idle, "connlimit": s_connlimit, "tls12": s_tls12, "bdat_absurd": s_bdat_absurd,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--imap-port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--other-user", required=True)
    p.add_argument("--other-password", required=True)
    p.add_argument("--small-user", required=True)
    p.add_argument("--max-size", type=int, required=True)
    p.add_argument("--max-connections", type=int, default=0)
    p.add_argument("--cafile")
    p.add_argument("--only")
    opts = p.parse_args()
    names = opts.only.split(",") if opts.only else list(SCENARIOS)
    failed = []
    for name in names:
        try:
            SCENARIOS[name](opts)
            print(f"ok   {name}")
        except Exception as e:
            failed.append(name)
            print(f"FAIL {name}: {e}")
            traceback.print_exc()
    print(f"{len(names) - len(failed)}/{len(names)} scenarios passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
