#!/usr/bin/env python3
"""Client side of the Sieve delivery tests (SieveDeliveryServeTests).

    sieve_delivery.py send --port P --mail-from ADDR --rcpt ADDR [--rcpt ADDR ...] --message-file F
        One SMTP transaction with smtplib; prints {"rcpt": [[code, text], ...], "data": [code, text]}
        (data is null when no recipient was accepted).
    sieve_delivery.py folders --port P --user U --password W
        Every folder's messages over IMAP (imaplib):
        {"FOLDER": [{"subject": S, "flags": [..], "headers": {lower-case name: value}}, ...]}.
"""
import argparse
import email
import imaplib
import json
import re
import smtplib
import sys

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="command", required=True)
s = sub.add_parser("send")
s.add_argument("--port", type=int, required=True)
s.add_argument("--mail-from", default="")
s.add_argument("--rcpt", action="append", required=True)
s.add_argument("--message-file", required=True)
f = sub.add_parser("folders")
f.add_argument("--port", type=int, required=True)
f.add_argument("--user", required=True)
f.add_argument("--password", required=True)
args = p.parse_args()


def send():
    with open(args.message_file, "rb") as fh:
        message = fh.read()
    client = smtplib.SMTP("127.0.0.1", args.port, timeout=60)
    client.ehlo("client.example.net")
    code, text = client.mail(args.mail_from)
    assert code == 250, (code, text)
    replies = []
    for rcpt in args.rcpt:
        code, text = client.rcpt(rcpt)
        replies.append([code, text.decode()])
    data = None
    if any(code == 250 for code, _ in replies):
        code, text = client.data(message)
        data = [code, text.decode()]
    client.quit()
    print(json.dumps({"rcpt": replies, "data": data}))


def folders():
    imap = imaplib.IMAP4("127.0.0.1", args.port, timeout=60)
    imap.login(args.user, args.password)
    typ, lines = imap.list()
    assert typ == "OK", lines
    out = {}
    for line in lines:
        text = line.decode()
        name = re.match(r'\(.*?\) (?:"[^"]*"|NIL) (.*)$', text).group(1)
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        typ, count = imap.select('"' + name + '"', readonly=True)
        if typ != "OK" or int(count[0] or 0) == 0:
            continue
        typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
        messages = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
            header = email.message_from_bytes(item[1])
            messages.append({"subject": str(header.get("Subject", "")), "flags": flags.group(1).decode().split() if flags else [],
                             "headers": {k.lower(): str(v) for k, v in header.items()}})
        if messages:
            out[name] = messages
    imap.logout()
    print(json.dumps(out))


{"send": send, "folders": folders}[args.command]()
sys.exit(0)
