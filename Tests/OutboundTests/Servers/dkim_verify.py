#!/usr/bin/env python3
"""Verifies every DKIM-Signature of a message with dkimpy (an independent implementation).

    dkim_verify.py MESSAGE_FILE NAME=TXT [NAME=TXT ...]

Each NAME=TXT is a key record (`sel._domainkey.example.org=v=DKIM1; k=ed25519; p=...`) answered
instead of DNS. Prints one JSON object: {"signatures": [{"d": ..., "s": ..., "a": ..., "ok": bool}, ...]},
with "arc": {"cv": "pass"|"fail"|"none", "reason": ...} when the message has ARC sets (dkimpy's arc_verify).
"""
import json
import sys

import dkim
import dkim.util

message = open(sys.argv[1], "rb").read()
records = {}
for arg in sys.argv[2:]:
    name, _, txt = arg.partition("=")
    records[name.rstrip(".").lower()] = txt.encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower())


headers, _ = dkim.rfc822_parse(message)
signatures = [value for name, value in headers if name.lower() == b"dkim-signature"]
out = []
for idx, value in enumerate(signatures):
    tags = dkim.util.parse_tag_value(value)
    try:
        ok = dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc)
    except Exception:  # a failure to verify is reported, not raised
        ok = False
    out.append({"d": tags.get(b"d", b"").decode(), "s": tags.get(b"s", b"").decode(), "a": tags.get(b"a", b"").decode(), "ok": bool(ok)})
result = {"signatures": out}
if any(name.lower() == b"arc-seal" for name, _ in headers):
    try:
        cv, _, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
        result["arc"] = {"cv": cv.decode() if isinstance(cv, bytes) else str(cv), "reason": str(reason)}
    except Exception as e:  # reported, not raised
        result["arc"] = {"cv": "error", "reason": str(e)}
print(json.dumps(result))
