#!/usr/bin/env python3
"""DKIM and ARC reference corpus for the MailAuth tests, made with dkimpy (an independent implementation).

    dkim_corpus.py dkim        prints {"records": {NAME: [TXT, ...]}, "messages": [CASE, ...]}
    dkim_corpus.py arc         prints {"records": ..., "messages": [ARCCASE, ...]}   (needs authres for arc_sign)
    dkim_corpus.py arc-verify  reads {"message": B64, "records": {...}} on stdin, prints dkimpy's arc_verify:
                               {"cv": "pass"|"fail"|"none"|null, "reason": ...}

A CASE is {"name", "message" (base64), "signatures": [{"dkimpy": bool, "expect": RESULT|null,
"reason": SUBSTRING|null, "deviation": WHY|null}]}: one entry per DKIM-Signature in header order, with
dkimpy's own verdict on the same message and the key records given. "expect" and "reason" are what
Sealbox must say for a tampered or refused signature; "deviation" marks where RFC 6376/8301 and dkimpy
part ways (Sealbox follows the RFC). An ARCCASE is {"name", "message", "dkimpy": arc_verify's cv
("None" for a chain that a cv=fail ended), "expect": {"result", "instances", "oldestPass"?, "reason"?}}.
Keys are made fresh each run (openssl for RSA, PyNaCl for Ed25519); times are real (now).
"""
import base64
import hashlib
import json
import subprocess
import sys
import time

import dkim
import dkim.util
import nacl.encoding
import nacl.signing
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import HASH_ALGORITHMS, parse_pem_private_key


def b64(data):
    return base64.b64encode(data).decode()


class Key:
    def __init__(self, kind, bits=0):
        self.kind = kind
        if kind == "ed25519":
            signing = nacl.signing.SigningKey.generate()
            self.private = signing.encode(encoder=nacl.encoding.Base64Encoder)
            self.public = b64(bytes(signing.verify_key))
            self.algorithm = b"ed25519-sha256"
        else:
            pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)], capture_output=True, check=True).stdout
            der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem, capture_output=True, check=True).stdout
            self.private = pem
            self.public = b64(der)
            self.algorithm = b"rsa-sha256"

    def record(self):
        return "v=DKIM1; k=%s; p=%s" % ("ed25519" if self.kind == "ed25519" else "rsa", self.public)

    def signer(self):
        if self.kind == "ed25519":
            return nacl.signing.SigningKey(self.private, encoder=nacl.encoding.Base64Encoder)
        return parse_pem_private_key(self.private)


RECORDS = {}


def publish(selector, domain, *txts):
    RECORDS["%s._domainkey.%s" % (selector, domain)] = list(txts)


def dnsfunc(name, timeout=5):
    # dkimpy takes one record: the last one listed (the valid one where a name has several).
    txts = RECORDS.get(name.decode().rstrip(".").lower())
    return txts[-1].encode() if txts else None


def crlf(text):
    return text.replace("\n", "\r\n").encode()


BASE = crlf(
    "From: Alice Example <alice@example.com>\n"
    "To: Bob <bob@example.net>,\n"
    "\tCarol <carol@example.net>\n"
    "Subject:  A  folded\n"
    "   subject\t line \n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\n"
    "Message-ID: <corpus-1@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain;\tcharset=\"utf-8\"\n"
    "X-Odd:\t\tvalue with\t tabs  \n"
    "\n"
    "Hello Bob,  \n"
    "\n"
    "a line\twith \t odd   white space\t\n"
    " leading space line\n"
    "\n"
    "\n")

NO_TRAILING_BREAK = crlf("From: alice@example.com\nSubject: no final line break\n\nlast line without a break").rstrip(b"\r\n")
EMPTY_BODY = crlf("From: alice@example.com\nSubject: nothing below\n\n")


def sign(message, key, selector, domain="example.com", canon=(b"relaxed", b"relaxed"), include=None, length=False,
         identity=None, algorithm=None):
    sig = dkim.sign(message, selector.encode(), domain.encode(), key.private, identity=identity, canonicalize=canon,
                    signature_algorithm=algorithm or key.algorithm, include_headers=include, length=length)
    return sig + message


def sign_custom(message, key, selector, extra, include, domain="example.com", canon=b"relaxed/relaxed", algorithm=None):
    """A signature with tags dkimpy's sign() does not write (x=, a future t=, i= outside d=, no From)."""
    algorithm = algorithm or key.algorithm
    d = dkim.DKIM(message, signature_algorithm=algorithm)
    d.hasher = HASH_ALGORITHMS[algorithm]
    policy = CanonicalizationPolicy.from_c_value(canon)
    bodyhash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(d.body)).digest())
    fields = [(b"v", b"1"), (b"a", algorithm), (b"c", canon), (b"d", domain.encode()), (b"s", selector.encode())]
    fields += [(k.encode(), v.encode()) for k, v in extra]
    fields += [(b"h", b":".join(include)), (b"bh", bodyhash), (b"b", b"0" * 60)]
    return b"DKIM-Signature: " + d.gen_header(fields, list(include), policy, b"DKIM-Signature", key.signer()) + message


def alter_b(message):
    """One character of the first signature's b= value changed (not its first: leading zero bytes do not count in RSA)."""
    at = message.index(b" b=") + 3 + 20
    return message[:at] + (b"B" if message[at:at + 1] != b"B" else b"C") + message[at + 1:]


def dkimpy_verdicts(message):
    headers, _ = dkim.rfc822_parse(message)
    count = len([1 for name, _ in headers if name.lower() == b"dkim-signature"])
    out = []
    for idx in range(count):
        try:
            ok = bool(dkim.DKIM(message, minkey=1024).verify(idx=idx, dnsfunc=dnsfunc))
        except Exception:
            ok = False
        out.append(ok)
    return out


def case(name, message, expect=None):
    """expect: one (result, reason, deviation) per signature, or None where the signature is valid."""
    verdicts = dkimpy_verdicts(message)
    expect = expect or [None] * len(verdicts)
    assert len(expect) == len(verdicts), name
    signatures = []
    for ok, e in zip(verdicts, expect):
        result, reason, deviation = e if e else ("pass", None, None)
        signatures.append({"dkimpy": ok, "expect": result, "reason": reason, "deviation": deviation})
    return {"name": name, "message": b64(message), "signatures": signatures}


def dkim_corpus():
    keys = {"r1024": Key("rsa", 1024), "r2048": Key("rsa", 2048), "ed": Key("ed25519"), "r512": Key("rsa", 512)}
    for selector, key in keys.items():
        publish(selector, "example.com", key.record())
    publish("sub", "mail.example.com", keys["ed"].record())
    publish("revoked", "example.com", "v=DKIM1; k=rsa; p=")
    publish("strict", "example.com", "v=DKIM1; k=ed25519; t=s; h=sha256; s=email; p=" + keys["ed"].public)
    publish("noversion", "example.com", "k=ed25519; p=" + keys["ed"].public)
    # Several TXT records: junk and a broken key first, the key last ("the first that parses").
    publish("several", "example.com", "google-site-verification=abc", "v=DKIM1; k=rsa; p=%%%", keys["r2048"].record())
    publish("wrongtype", "example.com", keys["r2048"].record())  # an RSA key where an Ed25519 signature points
    publish("sha1only", "example.com", "v=DKIM1; k=rsa; h=sha1; p=" + keys["r2048"].public)

    cases = []
    canons = [(b"simple", b"simple"), (b"simple", b"relaxed"), (b"relaxed", b"simple"), (b"relaxed", b"relaxed")]
    for selector in ["r1024", "r2048", "ed"]:
        for canon in canons:
            label = "%s %s/%s" % (selector, canon[0].decode(), canon[1].decode())
            cases.append(case(label, sign(BASE, keys[selector], selector, canon=canon)))
            # Tampered body: the first line gets one more character.
            signed = sign(BASE, keys[selector], selector, canon=canon)
            cases.append(case(label + " body changed", signed.replace(b"Hello Bob,", b"Hello Bob!!"), [("fail", "body hash", None)]))
            # A signed header changed.
            cases.append(case(label + " subject changed", signed.replace(b"subject\t line", b"subject\t lime"), [("fail", "does not verify", None)]))
        # The signed header fields re-folded: relaxed survives it, simple does not.
        refolded = lambda m: m.replace(b"To: Bob <bob@example.net>,\r\n\tCarol", b"To: Bob <bob@example.net>, Carol")
        cases.append(case(selector + " relaxed header refolded", refolded(sign(BASE, keys[selector], selector, canon=(b"relaxed", b"simple")))))
        cases.append(case(selector + " simple header refolded", refolded(sign(BASE, keys[selector], selector, canon=(b"simple", b"simple"))),
                          [("fail", "does not verify", None)]))
        # Body white space changed: relaxed survives it, simple does not.
        spaced = lambda m: m.replace(b"a line\twith", b"a line  with")
        cases.append(case(selector + " relaxed body respaced", spaced(sign(BASE, keys[selector], selector, canon=(b"simple", b"relaxed")))))
        cases.append(case(selector + " simple body respaced", spaced(sign(BASE, keys[selector], selector, canon=(b"relaxed", b"simple"))),
                          [("fail", "body hash", None)]))

    # Bodies at the edges of the canonicalizations.
    for canon in canons:
        c = "%s/%s" % (canon[0].decode(), canon[1].decode())
        cases.append(case("no final line break " + c, sign(NO_TRAILING_BREAK, keys["ed"], "ed", canon=canon)))
        cases.append(case("empty body " + c, sign(EMPTY_BODY, keys["r2048"], "r2048", canon=canon)))
        cases.append(case("empty body, lines added " + c, sign(EMPTY_BODY, keys["r2048"], "r2048", canon=canon) + b"\r\n\r\n"))

    # l=: content appended after signing still verifies; a body cut shorter than l= does not.
    for canon in [(b"simple", b"simple"), (b"relaxed", b"relaxed")]:
        c = "%s/%s" % (canon[0].decode(), canon[1].decode())
        signed = sign(BASE, keys["r2048"], "r2048", canon=canon, length=True)
        cases.append(case("l= " + c, signed))
        cases.append(case("l= footer appended " + c, signed + b"-- \r\nmailing list footer\r\n"))
        cases.append(case("l= body cut " + c, signed.replace(b" leading space line\r\n", b""), [("fail", "l= is longer", None)]))

    # Several signatures on one message, with different keys and canonicalizations; then one broken.
    multi = sign(BASE, keys["r1024"], "r1024", canon=(b"simple", b"simple"))
    multi = sign(multi, keys["ed"], "ed", canon=(b"relaxed", b"relaxed"))
    multi = sign(multi, keys["r2048"], "r2048", canon=(b"relaxed", b"simple"))
    cases.append(case("three signatures", multi))
    cases.append(case("three signatures, body changed", multi.replace(b"Hello Bob", b"Hello Rob"),
                      [("fail", "body hash", None)] * 3))

    # Oversigned From and null fields: h= names fields that are not there.
    include = [b"from", b"to", b"subject", b"date", b"cc", b"reply-to", b"from", b"subject"]
    oversigned = sign(BASE, keys["ed"], "ed", include=include)
    cases.append(case("oversigned, absent fields signed as null", oversigned))
    cases.append(case("absent Cc added", oversigned.replace(b"Date:", b"Cc: eve@evil.example\r\nDate:"), [("fail", "does not verify", None)]))
    cases.append(case("From added above", b"From: Mallory <m@evil.example>\r\n" + oversigned, [("fail", "does not verify", None)]))
    # A signature that does not oversign From: a From added above is refused all the same.
    plain = sign(BASE, keys["r2048"], "r2048", include=[b"from", b"to", b"subject"])
    cases.append(case("not oversigned", plain))
    cases.append(case("not oversigned, From added above", b"From: Mallory <m@evil.example>\r\n" + plain, [("fail", "From field is not signed", None)]))
    # A header signed twice (both To occurrences, bottom up).
    two_to = BASE.replace(b"Date:", b"To: dave@example.net\r\nDate:")
    cases.append(case("two To fields signed", sign(two_to, keys["ed"], "ed", include=[b"from", b"to", b"to", b"subject"])))
    cases.append(case("simple header with odd white space signed", sign(BASE, keys["r2048"], "r2048", canon=(b"simple", b"simple"),
                                                                         include=[b"from", b"x-odd", b"subject", b"content-type"])))

    # Identities and key records.
    cases.append(case("i= in a subdomain of d=", sign(BASE, keys["ed"], "ed", identity=b"alice@mail.example.com")))
    cases.append(case("d= a subdomain", sign(BASE, keys["ed"], "sub", domain="mail.example.com")))
    cases.append(case("key with t=s h=sha256 s=email", sign(BASE, keys["ed"], "strict", identity=b"alice@example.com")))
    cases.append(case("t=s with i= in a subdomain", sign(BASE, keys["ed"], "strict", identity=b"alice@mail.example.com"),
                      [("permerror", "t=s", "dkimpy ignores the key record's t=s flag")]))
    cases.append(case("key without v=", sign(BASE, keys["ed"], "noversion")))
    cases.append(case("several TXT records", sign(BASE, keys["r2048"], "several")))

    # Refused signatures.
    now = int(time.time())
    cases.append(case("b= altered", alter_b(sign(BASE, keys["r2048"], "r2048")), [("fail", "does not verify", None)]))
    cases.append(case("b= altered (Ed25519)", alter_b(sign(BASE, keys["ed"], "ed")), [("fail", "does not verify", None)]))
    cases.append(case("expired x=", sign_custom(BASE, keys["ed"], "ed", [("t", str(now - 86400 * 10)), ("x", str(now - 86400 * 3))],
                                                [b"from", b"subject"]), [("fail", "expired", None)]))
    cases.append(case("x= still ahead", sign_custom(BASE, keys["ed"], "ed", [("t", str(now)), ("x", str(now + 86400))], [b"from", b"subject"])))
    cases.append(case("t= in the future", sign_custom(BASE, keys["ed"], "ed", [("t", str(now + 86400 * 2))], [b"from", b"subject"]),
                      [("permerror", "future", None)]))
    cases.append(case("key revoked", sign(BASE, keys["r2048"], "revoked"), [("permerror", "revoked", None)]))
    cases.append(case("no key record", sign(BASE, keys["r2048"], "missing"), [("permerror", "no key", None)]))
    cases.append(case("RSA 512-bit key", sign(BASE, keys["r512"], "r512"), [("fail", "RSA key under 1024 bits", None)]))
    cases.append(case("rsa-sha1", sign(BASE, keys["r2048"], "r2048", algorithm=b"rsa-sha1"),
                      [("permerror", "rsa-sha1", "RFC 8301 §3.1 forbids accepting rsa-sha1; dkimpy still verifies it")]))
    cases.append(case("key allows sha1 only", sign(BASE, keys["r2048"], "sha1only"),
                      [("permerror", "h=", "dkimpy ignores the key record's h= list")]))
    cases.append(case("i= outside d=", sign_custom(BASE, keys["ed"], "ed", [("i", "alice@evil.example")], [b"from", b"subject"]),
                      [("permerror", "i= is not within d=", None)]))
    cases.append(case("From not in h=", sign_custom(BASE, keys["ed"], "ed", [], [b"subject", b"date"]),
                      [("permerror", "From is not signed", "RFC 6376 §6.1.1 requires refusing it; dkimpy does not check")]))
    cases.append(case("key type mismatch", sign(BASE, keys["ed"], "wrongtype"), [("permerror", "key type", None)]))
    cases.append(case("malformed tag list", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; d=example.org; s=r2048\r\n" + BASE,
                      [("permerror", "twice", None)]))
    cases.append(case("missing bh=", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=r2048; h=from; b=AAAA\r\n" + BASE,
                      [("permerror", "without bh=", None)]))
    return {"records": RECORDS, "messages": cases}


ARC_MESSAGE = crlf(
    "From: Alice Example <alice@example.com>\n"
    "To: list@lists.example.org\n"
    "Subject: a message that travels through forwarders\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0000\n"
    "Message-ID: <arc-1@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Hello list,\n"
    "\n"
    "one  line\twith white space.\n")


def arc_hop(message, key, selector, domain, cv):
    """One forwarder: an Authentication-Results of its own (arc=<cv> from the second hop on), then dkimpy's ARC set."""
    results = "spf=pass smtp.mailfrom=alice@example.com"
    if cv:
        results += "; arc=%s" % cv
    message = ("Authentication-Results: %s; %s\r\n" % (domain, results)).encode() + message
    sets = dkim.arc_sign(message, selector.encode(), domain.encode(), key.private, domain.encode())
    assert sets, "arc_sign made no set"
    return b"".join(sets) + message


def arc_verdict(message):
    cv, _, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
    return ("None" if cv is None else cv.decode()), reason


def arc_case(name, message, expect):
    cv, reason = arc_verdict(message)
    return {"name": name, "message": b64(message), "dkimpy": cv, "dkimpyReason": reason, "expect": expect}


def drop_field(message, name, instance):
    """The message without the `name` field of ARC instance `instance`."""
    headers, body = message.split(b"\r\n\r\n", 1)
    lines = headers.split(b"\r\n")
    fields, current = [], []
    for line in lines:
        if line[:1] in (b" ", b"\t") and current:
            current.append(line)
        else:
            if current:
                fields.append(current)
            current = [line]
    fields.append(current)
    kept = [f for f in fields if not (f[0].lower().startswith(name.lower() + b":") and (b"i=%d;" % instance) in b"".join(f).replace(b" ", b""))]
    assert len(kept) == len(fields) - 1, name
    return b"\r\n".join(b"\r\n".join(f) for f in kept) + b"\r\n\r\n" + body


def arc_corpus():
    keys = [Key("rsa", 2048) for _ in range(3)]
    domains = ["fwd1.example", "fwd2.example", "fwd3.example"]
    for key, domain in zip(keys, domains):
        publish("arc", domain, key.record())
    cases = []
    chain = ARC_MESSAGE
    chains = []
    for hop in range(3):
        chain = arc_hop(chain, keys[hop], "arc", domains[hop], None if hop == 0 else "pass")
        chains.append(chain)
        cases.append(arc_case("%d hops" % (hop + 1), chain, {"result": "pass", "instances": hop + 1, "oldestPass": 0}))
    cases.append(arc_case("2 hops, body changed after sealing", chains[1].replace(b"Hello list", b"Hello lisp"),
                          {"result": "fail", "instances": 2, "reason": "ARC-Message-Signature i=2"}))
    cases.append(arc_case("3 hops, subject changed after sealing", chains[2].replace(b"travels through", b"travels thru"),
                          {"result": "fail", "instances": 3, "reason": "ARC-Message-Signature i=3"}))
    # Seals are hashed relaxed: one refolded in transit still verifies; one with its signature changed does not.
    cases.append(arc_case("ARC-Seal i=1 refolded", chains[1].replace(b"ARC-Seal: i=1; cv=none; a=", b"ARC-Seal: i=1; cv=none;\r\n\ta="),
                          {"result": "pass", "instances": 2, "oldestPass": 0}))
    seal1 = chains[1].index(b"ARC-Seal: i=1")
    cases.append(arc_case("ARC-Seal i=1 altered", chains[1][:seal1] + alter_b(chains[1][seal1:]),
                          {"result": "fail", "instances": 2, "reason": "ARC-Seal i=2"}))  # seal 2 covers seal 1
    cases.append(arc_case("2 hops, AMS i=1 removed", drop_field(chains[1], b"ARC-Message-Signature", 1),
                          {"result": "fail", "instances": 2, "reason": "instance 1 has no ARC-Message-Signature"}))
    first_seal_end = chains[1].index(b"ARC-Message-Signature:")
    cases.append(arc_case("2 hops, ARC-Seal i=2 twice", chains[1][:first_seal_end] + chains[1],
                          {"result": "fail", "instances": 2, "reason": "2 ARC-Seal fields"}))
    # A list that rewrote the subject between hop 1 and hop 2: AMS i=1 no longer verifies, the chain still passes.
    modified = arc_hop(chains[0].replace(b"Subject: a message", b"Subject: [list] a message"), keys[1], "arc", domains[1], "pass")
    cases.append(arc_case("subject rewritten between hops", modified, {"result": "pass", "instances": 2, "oldestPass": 2}))
    # A hop that found the chain failed seals with cv=fail: the chain stays failed.
    failed = arc_hop(chains[0].replace(b"Hello list", b"Hello lisp"), keys[1], "arc", domains[1], "fail")
    cases.append(arc_case("sealed with cv=fail", failed, {"result": "fail", "instances": 2, "reason": "cv=fail"}))
    cases.append(arc_case("no ARC", ARC_MESSAGE, {"result": "none", "instances": 0}))
    return {"records": RECORDS, "messages": cases}


def arc_verify_stdin():
    request = json.load(sys.stdin)
    for name, txts in request["records"].items():
        RECORDS[name.rstrip(".").lower()] = txts
    cv, reason = arc_verdict(base64.b64decode(request["message"]))
    print(json.dumps({"cv": cv, "reason": reason}))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "dkim":
        print(json.dumps(dkim_corpus()))
    elif mode == "arc":
        print(json.dumps(arc_corpus()))
    elif mode == "arc-verify":
        arc_verify_stdin()
    else:
        sys.exit(__doc__)
