#!/usr/bin/env python3
"""Submission (RFC 6409, RFC 8314, AUTH RFC 4954) driven with Python's smtplib, checked over IMAP.

    submission_suite.py --host H --port P --tls-port P --imaps-port P --cafile cert.pem
        --user U --password P --phone-password P --other-user U --other-password P
        --hostname NAME --sealbox BIN --data-dir DIR [--only NAME,...]

The server runs without insecure auth. Each check prints "ok   NAME" or raises. Messages to
remote.test recipients go to the smarthost the test started; the Swift test checks them there.
"""
import argparse
import base64
import imaplib
import smtplib
import subprocess
import time

from imapclient import tls_context

p = argparse.ArgumentParser()
for name in ["--host", "--cafile", "--user", "--password", "--phone-password", "--other-user", "--other-password",
             "--hostname", "--sealbox", "--data-dir", "--run"]:
    p.add_argument(name, required=True)
for name in ["--port", "--tls-port", "--imaps-port"]:
    p.add_argument(name, type=int, required=True)
p.add_argument("--only", default="")
opts = p.parse_args()
RUN = opts.run
CTX = tls_context(opts.cafile)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def message(subject, frm=None, extra="", date_and_id=True):
    head = f"From: {frm or opts.user}\r\nTo: someone\r\nSubject: {subject}\r\n"
    if date_and_id:
        head += f"Date: Sun, 06 Dec 2026 09:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '-')}@client.test>\r\n"
    return (head + extra + "\r\nBody of " + subject + "\r\n").encode()


def starttls():
    s = smtplib.SMTP(opts.host, opts.port, timeout=30)
    s.ehlo("client.test")
    code, _ = s.starttls(context=CTX)
    assert code == 220, code
    s.ehlo("client.test")
    return s


def expect(reply, code, enhanced=None):
    got, text = reply
    assert got == code and (enhanced is None or text.startswith(enhanced.encode())), (code, enhanced, got, text)


def clear_text_refused():
    s = smtplib.SMTP(opts.host, opts.port, timeout=30)
    s.ehlo("client.test")
    assert "starttls" in s.esmtp_features and "auth" not in s.esmtp_features, s.esmtp_features
    expect(s.docmd("AUTH", "PLAIN " + b64(f"\0{opts.user}\0{opts.password}")), 538, "5.7.11")
    expect(s.docmd("AUTH", "LOGIN"), 538, "5.7.11")
    expect(s.docmd("MAIL", f"FROM:<{opts.user}>"), 530, "5.7.0")
    s.quit()


def no_auth_530():
    s = starttls()
    assert s.esmtp_features.get("auth", "").split() == ["PLAIN", "LOGIN"], s.esmtp_features
    expect(s.docmd("MAIL", f"FROM:<{opts.user}>"), 530, "5.7.0")
    expect(s.docmd("RCPT", "TO:<r@remote.test>"), 503)
    expect(s.docmd("AUTH", "CRAM-MD5"), 504)
    expect(s.docmd("AUTH", "PLAIN !!!"), 501)
    s.quit()


def auth_plain_and_send():
    s = starttls()
    s.login(opts.user, opts.password)  # smtplib picks PLAIN, with an initial response (SASL-IR)
    expect(s.docmd("AUTH", "PLAIN"), 503, "5.5.1")
    # A message without Date and Message-ID, to a local alias and a remote recipient.
    refused = s.sendmail(opts.user, [opts.other_user, "r1@remote.test"],
                         message(f"sub-local {RUN}", date_and_id=False))
    assert refused == {}, refused
    s.quit()


def auth_variants():
    for mechanism, initial in [("PLAIN", False), ("LOGIN", True), ("LOGIN", False)]:
        s = starttls()
        s.user, s.password = opts.user, opts.password
        auth = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        code, _ = s.auth(mechanism, auth, initial_response_ok=initial)
        assert code == 235, (mechanism, initial, code)
        refused = s.sendmail(opts.user, ["r2@remote.test"], message(f"sub-{mechanism}-{initial} {RUN}"))
        assert refused == {}, refused
        s.quit()
    # cancelled exchanges
    s = starttls()
    expect(s.docmd("AUTH", "LOGIN"), 334)
    expect(s.docmd("*"), 501)
    expect(s.docmd("AUTH", "PLAIN"), 334)
    expect(s.docmd(b64(f"\0{opts.user}\0wrong-password")), 535, "5.7.8")
    s.quit()


def smtps():
    s = smtplib.SMTP_SSL(opts.host, opts.tls_port, timeout=30, context=CTX)
    s.ehlo("client.test")
    assert "starttls" not in s.esmtp_features, s.esmtp_features
    expect(s.docmd("MAIL", f"FROM:<{opts.user}>"), 530, "5.7.0")
    s.login(opts.user, opts.password)
    refused = s.sendmail(opts.user, ["smtps@remote.test"], message(f"sub-smtps {RUN}"))
    assert refused == {}, refused
    s.quit()


def send_as():
    s = starttls()
    s.login(opts.user, opts.password)
    # envelope senders
    expect(s.docmd("MAIL", "FROM:<stranger@example.com>"), 553, "5.7.1")
    expect(s.docmd("MAIL", "FROM:<>"), 553, "5.7.1")
    expect(s.docmd("MAIL", "FROM:<someone@gmail.test>"), 553, "5.7.1")
    for sender, frm in [("info@example.com", "Info <info@example.com>"), ("anyone@example.net", "anyone@example.net"),
                        (opts.user.replace("@", "+tag@"), opts.user)]:
        refused = s.sendmail(sender, ["r3@remote.test"], message(f"sub-sendas {sender} {RUN}", frm=frm))
        assert refused == {}, (sender, refused)
    # From: and Sender: headers
    for frm, extra in [("Stranger <stranger@example.com>", ""), (f"{opts.user}, other@gmail.test", ""),
                       (opts.user, "Sender: boss@elsewhere.test\r\n")]:
        try:
            s.sendmail(opts.user, ["r3@remote.test"], message(f"sub-badfrom {RUN}", frm=frm, extra=extra))
            raise AssertionError(f"From: {frm} {extra} accepted")
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 553 and e.smtp_error.startswith(b"5.7.1"), (frm, e)
    try:
        s.sendmail(opts.user, ["r3@remote.test"], b"Subject: no from\r\n\r\nbody\r\n")
        raise AssertionError("a message without From: accepted")
    except smtplib.SMTPDataError as e:
        assert e.smtp_code == 550, e
    s.quit()


def imap_fetch(user, password, subject):
    m = imaplib.IMAP4_SSL(opts.host, opts.imaps_port, ssl_context=CTX, timeout=30)
    m.login(user, password)
    m.select("INBOX", readonly=True)
    for _ in range(100):
        typ, data = m.search(None, "SUBJECT", f'"{subject}"')
        if data[0].split():
            typ, fetched = m.fetch(data[0].split()[0], "(BODY.PEEK[HEADER])")
            m.logout()
            return fetched[0][1].decode()
        time.sleep(0.1)
    m.logout()
    raise AssertionError(f"{subject} not in {user}'s INBOX")


def local_delivery_headers():
    header = imap_fetch(opts.other_user, opts.other_password, f"sub-local {RUN}")
    lines = header.replace("\r\n\t", " ").split("\r\n")
    received = [line for line in lines if line.lower().startswith("received:")]
    assert len(received) == 1 and "ESMTPSA" in received[0] and f"by {opts.hostname}" in received[0], received
    assert "127.0.0.1" not in received[0] and "client.test" not in received[0], received
    ids = [line for line in lines if line.lower().startswith("message-id:")]
    assert len(ids) == 1 and ids[0].endswith(f"@{opts.hostname}>"), ids
    dates = [line for line in lines if line.lower().startswith("date:")]
    assert len(dates) == 1 and dates[0].endswith("+0000"), dates
    assert f"Return-Path: <{opts.user}>" in header, header


def revoked_mid_session():
    s = smtplib.SMTP_SSL(opts.host, opts.tls_port, timeout=30, context=CTX)
    s.login(opts.user, opts.phone_password)
    assert s.sendmail(opts.user, ["r4@remote.test"], message(f"sub-before-revoke {RUN}")) == {}
    env = {"SEALBOX_DATA_DIR": opts.data_dir, "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([opts.sealbox, "password", "list", opts.user], env=env, capture_output=True, text=True, timeout=60)
    ids = [line.split()[0] for line in listing.stdout.splitlines() if " phone " in f" {line} "]
    assert len(ids) == 1, listing.stdout + listing.stderr
    revoke = subprocess.run([opts.sealbox, "password", "revoke", opts.user, ids[0]], env=env, capture_output=True, text=True, timeout=60)
    assert revoke.returncode == 0, revoke.stdout + revoke.stderr
    try:
        s.sendmail(opts.user, ["r4@remote.test"], message(f"sub-after-revoke {RUN}"))
        raise AssertionError("a revoked password sent another message")
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == 530 and e.smtp_error.startswith(b"5.7.0"), e
    s.close()
    s = smtplib.SMTP_SSL(opts.host, opts.tls_port, timeout=30, context=CTX)
    try:
        s.login(opts.user, opts.phone_password)
        raise AssertionError("a revoked password logged in")
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    s.close()


CHECKS = [clear_text_refused, no_auth_530, auth_plain_and_send, auth_variants, smtps, send_as, local_delivery_headers,
          revoked_mid_session]
only = set(filter(None, opts.only.split(",")))
for check in CHECKS:
    if only and check.__name__ not in only:
        continue
    check()
    print(f"ok   {check.__name__}", flush=True)
