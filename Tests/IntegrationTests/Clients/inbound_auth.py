#!/usr/bin/env python3
"""Inbound authentication end to end: sends a message to the MX (optionally DKIM-signed by dkimpy
with an Ed25519 or RSA key given in base64) and reports the SMTP reply; or lists what a mailbox
folder holds (Authentication-Results, Subject) over IMAP. Prints one JSON object.

    inbound_auth.py send --port P --helo H --mail-from A --rcpt R --from F --subject S
                         [--sign DOMAIN:SELECTOR:ALG:KEYB64] [--header 'Name: value']...
    inbound_auth.py folder --port P --user U --password PW --folder NAME
"""
import argparse
import base64
import email
import imaplib
import json
import smtplib

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
s = sub.add_parser("send")
s.add_argument("--port", type=int, required=True)
s.add_argument("--helo", required=True)
s.add_argument("--mail-from", required=True)
s.add_argument("--rcpt", required=True)
s.add_argument("--from", dest="from_", required=True)
s.add_argument("--subject", required=True)
s.add_argument("--sign", action="append", default=[])
s.add_argument("--header", action="append", default=[])
f = sub.add_parser("folder")
f.add_argument("--port", type=int, required=True)
f.add_argument("--user", required=True)
f.add_argument("--password", required=True)
f.add_argument("--folder", required=True)
args = p.parse_args()

if args.cmd == "send":
    head = "".join(h + "\r\n" for h in args.header)
    message = (head + "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
               "Message-ID: <%s@test>\r\n\r\nHello,\r\n\r\nthis is a test.\r\n" % (args.from_, args.rcpt, args.subject, args.subject.replace(" ", "."))).encode()
    for spec in args.sign:
        import dkim
        domain, selector, alg, key = spec.split(":", 3)
        raw = base64.b64decode(key)
        if alg == "ed25519":
            sig = dkim.sign(message, selector.encode(), domain.encode(), base64.b64encode(raw), signature_algorithm=b"ed25519-sha256",
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        else:
            pem = b"-----BEGIN PRIVATE KEY-----\n" + base64.encodebytes(raw) + b"-----END PRIVATE KEY-----\n"
            sig = dkim.sign(message, selector.encode(), domain.encode(), pem, include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        message = sig + message
    c = smtplib.SMTP("127.0.0.1", args.port, timeout=60)
    c.ehlo(args.helo)
    try:
        c.sendmail(args.mail_from, [args.rcpt], message)
        print(json.dumps({"code": 250}))
    except smtplib.SMTPDataError as e:
        print(json.dumps({"code": e.smtp_code, "text": e.smtp_error.decode(errors="replace")}))
    except smtplib.SMTPRecipientsRefused as e:
        code, text = list(e.recipients.values())[0]
        print(json.dumps({"code": code, "text": text.decode(errors="replace")}))
    c.quit()
else:
    m = imaplib.IMAP4("127.0.0.1", args.port)
    m.login(args.user, args.password)
    typ, data = m.select('"%s"' % args.folder, readonly=True)
    out = []
    if typ == "OK" and int(data[0]) > 0:
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER])")
        for item in data:
            if isinstance(item, tuple):
                msg = email.message_from_bytes(item[1])
                out.append({"subject": msg.get("Subject"), "ar": [" ".join(v.split()) for v in msg.get_all("Authentication-Results") or []],
                            "received": " ".join((msg.get_all("Received") or [""])[0].split())})
    m.logout()
    print(json.dumps({"messages": out}))
