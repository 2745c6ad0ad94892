#!/usr/bin/env python3
"""Inbound authentication corpus for the MailAuth tests, judged by PyPI authheaders (an independent
implementation: pyspf for SPF, dkimpy for DKIM and ARC, its own DMARC).

    auth_corpus.py corpus         prints {"psl": PATH, "cases": [CASE, ...]}
    auth_corpus.py authenticate   reads {"message": B64, "ip", "helo", "mailFrom", "dns": TABLE} on stdin and
                                  prints {"field": ..., "authheaders": VERDICT, "dkimpy": [...]} for it

A CASE is {"name", "message" (base64), "ip", "helo", "mailFrom" ("" for <>), "dns": TABLE, "field" (the
Authentication-Results authheaders wrote), "authheaders": VERDICT, "dkimpy": [RESULT per DKIM-Signature]}.
A TABLE is {NAME: {"TXT": [text], "A": [ip], "AAAA": [ip], "MX": [[preference, host]], "PTR": [host]}}
(PTR at the in-addr.arpa name): every record of the corpus's fictitious world, with the case's own
changes (a DMARC record replaced or removed, a second SPF record), so that both sides may look up
whatever they look up. A VERDICT is authheaders' field parsed with authres: {"spf": RESULT,
"dkim": [{"result", "d"}], "dmarc": {"result", "from", "policy"}, "arc": RESULT}. authheaders checks
the first DKIM-Signature only; "dkimpy" is the same check (dkimpy's DKIM.verify, exceptions as fail,
DNS errors as temperror) for every signature in header order.

Every DNS answer comes from the case's table: authheaders' dnsfunc for DKIM, ARC and DMARC, and
pyspf's module-level DNSLookup, replaced here, for SPF. dnspython's resolver is disabled, so a lookup
that escapes the table fails instead of reaching the network. When Debian's public suffix list is
installed, authheaders uses it (its authheaders.findpsl hook), as Sealbox does.

Keys are made fresh each run; times are real (now). Domains are fictitious names under com, net, org
and co.uk (publicsuffix2 treats a name under an unlisted TLD such as .example as organizational
domain "example", which Sealbox, with the list's default rule, does not).
"""
import base64
import functools
import ipaddress
import json
import os
import sys
import types

DEBIAN_PSL = "/usr/share/publicsuffix/public_suffix_list.dat"
if os.path.exists(DEBIAN_PSL):
    # authheaders' own hook for a system list (dmarc_lookup.get_org_domain imports authheaders.findpsl).
    findpsl = types.ModuleType("authheaders.findpsl")
    findpsl.location = DEBIAN_PSL
    sys.modules["authheaders.findpsl"] = findpsl

import authheaders  # noqa: E402
import authheaders.dmarc_lookup  # noqa: E402
import authres  # noqa: E402
import dkim  # noqa: E402
import dns.exception  # noqa: E402
import dns.resolver  # noqa: E402
import nacl.encoding  # noqa: E402
import nacl.signing  # noqa: E402
import spf  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402


# --- No network ------------------------------------------------------------------------------------

def no_network(*args, **kwargs):
    raise RuntimeError("auth_corpus.py: a DNS lookup outside the case's table: %r" % (args,))


dns.resolver.resolve = no_network
dns.resolver.query = no_network
dns.resolver.Resolver.resolve = no_network
authheaders.dmarc_lookup.resolve = no_network

# get_org_domain reads and parses the whole list at every call: once per domain is enough.
_org_domain = functools.lru_cache(maxsize=None)(authheaders.dmarc_lookup.get_org_domain)
authheaders.dmarc_lookup.get_org_domain = _org_domain
authheaders.get_org_domain = _org_domain


# --- DNS tables ------------------------------------------------------------------------------------

class Zone:
    def __init__(self, rr=None):
        self.rr = {name: {t: list(v) for t, v in types_.items()} for name, types_ in (rr or {}).items()}

    @staticmethod
    def key(name):
        return name.lower().rstrip(".")

    def add(self, name, rtype, *values):
        self.rr.setdefault(self.key(name), {}).setdefault(rtype, []).extend(values)
        return self

    def set_txt(self, name, *texts):
        """Replaces the TXT records of `name` (none: removes them)."""
        entry = self.rr.setdefault(self.key(name), {})
        entry.pop("TXT", None)
        if texts:
            entry["TXT"] = list(texts)
        if not entry:
            del self.rr[self.key(name)]
        return self

    def ptr(self, ip, host):
        return self.add(ipaddress.ip_address(ip).reverse_pointer, "PTR", host)

    def get(self, name, rtype):
        return self.rr.get(self.key(name), {}).get(rtype, [])

    def copy(self):
        return Zone(self.rr)


CURRENT = Zone()


def dnsfunc(name, timeout=5):
    """authheaders' dnsfunc: dkimpy asks with bytes and takes the key record as bytes; authheaders'
    DMARC lookup asks with str and takes one record as str (it adds the quotes itself)."""
    if isinstance(name, bytes):
        txts = CURRENT.get(name.decode(), "TXT")
        return txts[0].encode() if txts else None
    txts = CURRENT.get(name, "TXT")
    return txts[0] if txts else None


def spf_lookup(name, qtype, strict=True, timeout=30):
    """pyspf's DNSLookup contract: [((name, type), value)], TXT values as lists of byte strings, MX as
    (preference, host), A/AAAA/PTR as text."""
    out = []
    for value in CURRENT.get(name, qtype):
        if qtype == "TXT":
            out.append(((name, qtype), [value.encode()]))
        elif qtype == "MX":
            out.append(((name, qtype), (value[0], value[1])))
        else:
            out.append(((name, qtype), value))
    return out


spf.DNSLookup = spf_lookup


# --- Keys ------------------------------------------------------------------------------------------

def b64(data):
    return base64.b64encode(data).decode()


class Key:
    def __init__(self, kind="rsa", bits=2048):
        self.kind = kind
        if kind == "ed25519":
            signing = nacl.signing.SigningKey.generate()
            self.private = signing.encode(encoder=nacl.encoding.Base64Encoder)
            self.public = b64(bytes(signing.verify_key))
            self.algorithm = b"ed25519-sha256"
        else:
            private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            self.private = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                 serialization.NoEncryption())
            self.public = b64(private.public_key().public_bytes(serialization.Encoding.DER,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo))
            self.algorithm = b"rsa-sha256"

    def record(self):
        return "v=DKIM1; k=%s; p=%s" % ("ed25519" if self.kind == "ed25519" else "rsa", self.public)


# --- The world -------------------------------------------------------------------------------------

AUTHOR_IP = "192.0.2.10"      # exampleauthor.com's outbound relay
BANK_IP = "192.0.2.20"        # examplebank.com (and mail.examplebank.com)
SHOP_IP = "192.0.2.30"        # exampleshop.com
LEGACY_IP = "192.0.2.40"      # examplelegacy.org: SPF by ptr
ESP_IP = "198.51.100.7"       # exampleesp.net, a bulk sender
LIST_IP = "198.51.100.20"     # lists.examplelist.org
FWD_IP = "203.0.113.5"        # mx.examplefwd.net
EVIL_IP = "203.0.113.66"      # exampleevil.net

K = {}


def keys():
    K.update(author=Key(), author_ed=Key("ed25519"), author_1024=Key(bits=1024), bank=Key(), bank_mail=Key(), shop=Key(),
             esp=Key(), list=Key(), list_arc=Key(), fwd_arc=Key(), evil=Key(), hyphen=Key(), couk=Key())


def world():
    z = Zone()
    # exampleauthor.com: SPF -all, DKIM keys (RSA 2048, Ed25519, RSA 1024), DMARC p=reject.
    z.add("exampleauthor.com", "TXT", "v=spf1 ip4:%s -all" % AUTHOR_IP)
    z.add("exampleauthor.com", "MX", [10, "mx.exampleauthor.com"])
    z.add("mx.exampleauthor.com", "A", AUTHOR_IP)
    z.add("s2048._domainkey.exampleauthor.com", "TXT", K["author"].record())
    z.add("ed._domainkey.exampleauthor.com", "TXT", K["author_ed"].record())
    z.add("s1024._domainkey.exampleauthor.com", "TXT", K["author_1024"].record())
    z.add("_dmarc.exampleauthor.com", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@exampleauthor.com")
    # examplebank.com: mx mechanism; a subdomain that sends bounces; DMARC only at the organizational domain.
    z.add("examplebank.com", "TXT", "v=spf1 mx -all")
    z.add("examplebank.com", "MX", [10, "mx1.examplebank.com"], [20, "mx2.examplebank.com"])
    z.add("mx1.examplebank.com", "A", BANK_IP)
    z.add("mx2.examplebank.com", "A", "192.0.2.21")
    z.add("mail.examplebank.com", "TXT", "v=spf1 a -all")
    z.add("mail.examplebank.com", "A", BANK_IP)
    z.add("s1._domainkey.examplebank.com", "TXT", K["bank"].record())
    z.add("s1._domainkey.mail.examplebank.com", "TXT", K["bank_mail"].record())
    z.add("_dmarc.examplebank.com", "TXT", "v=DMARC1; p=reject")
    # exampleshop.com: DMARC p=quarantine.
    z.add("exampleshop.com", "TXT", "v=spf1 ip4:%s ~all" % SHOP_IP)
    z.add("s1._domainkey.exampleshop.com", "TXT", K["shop"].record())
    z.add("_dmarc.exampleshop.com", "TXT", "v=DMARC1; p=quarantine")
    # examplenodmarc.com: SPF and no DMARC record anywhere.
    z.add("examplenodmarc.com", "TXT", "v=spf1 ip4:%s -all" % SHOP_IP)
    # examplelegacy.org: SPF by ptr (PTR then A), no DMARC.
    z.add("examplelegacy.org", "TXT", "v=spf1 ptr -all")
    z.ptr(LEGACY_IP, "out.examplelegacy.org")
    z.add("out.examplelegacy.org", "A", LEGACY_IP)
    z.add("_dmarc.examplelegacy.org", "TXT", "v=DMARC1; p=none")
    # exampleopen.net: SPF says nothing (?all), DMARC p=none.
    z.add("exampleopen.net", "TXT", "v=spf1 ?all")
    z.add("_dmarc.exampleopen.net", "TXT", "v=DMARC1; p=none")
    # exampleesp.net: a bulk sender, SPF through include: and a:, its own DKIM key.
    z.add("exampleesp.net", "TXT", "v=spf1 include:_spf.exampleesp.net -all")
    z.add("_spf.exampleesp.net", "TXT", "v=spf1 a:out.exampleesp.net ?all")
    z.add("out.exampleesp.net", "A", ESP_IP)
    z.add("esp._domainkey.exampleesp.net", "TXT", K["esp"].record())
    # examplelist.org: the mailing list.
    z.add("examplelist.org", "TXT", "v=spf1 ip4:%s -all" % LIST_IP)
    z.add("lists.examplelist.org", "A", LIST_IP)
    z.add("lists.examplelist.org", "TXT", "v=spf1 a -all")
    z.add("list._domainkey.examplelist.org", "TXT", K["list"].record())
    z.add("arc._domainkey.examplelist.org", "TXT", K["list_arc"].record())
    z.add("_dmarc.examplelist.org", "TXT", "v=DMARC1; p=none")
    # examplefwd.net: a plain forwarder that seals ARC.
    z.add("examplefwd.net", "TXT", "v=spf1 ip4:%s -all" % FWD_IP)
    z.add("mx.examplefwd.net", "A", FWD_IP)
    z.ptr(FWD_IP, "mx.examplefwd.net")
    z.add("arc._domainkey.examplefwd.net", "TXT", K["fwd_arc"].record())
    # exampleevil.net: the spoofer, with valid SPF and DKIM of its own.
    z.add("exampleevil.net", "TXT", "v=spf1 ip4:%s -all" % EVIL_IP)
    z.add("evil._domainkey.exampleevil.net", "TXT", K["evil"].record())
    z.add("_dmarc.exampleevil.net", "TXT", "v=DMARC1; p=none")
    # my-bank.com: a hyphen in the domain.
    z.add("my-bank.com", "TXT", "v=spf1 ip4:%s -all" % BANK_IP)
    z.add("s1._domainkey.my-bank.com", "TXT", K["hyphen"].record())
    z.add("_dmarc.my-bank.com", "TXT", "v=DMARC1; p=reject")
    # examplebank.co.uk: a two-label public suffix.
    z.add("examplebank.co.uk", "TXT", "v=spf1 ip4:%s -all" % BANK_IP)
    z.add("_dmarc.examplebank.co.uk", "TXT", "v=DMARC1; p=quarantine")
    z.add("s1._domainkey.examplebank.co.uk", "TXT", K["couk"].record())
    return z


# --- Messages --------------------------------------------------------------------------------------

SERIAL = [0]


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def message(frm, subject="Quarterly figures", to="Bob <bob@examplerecv.com>", body=None, extra=""):
    SERIAL[0] += 1
    body = body or ("Hello Bob,\n\nthe figures are attached below.\n\n  Q1  12\n  Q2  14\n\n-- \nAlice\n")
    return crlf("From: %s\nTo: %s\nSubject: %s\nDate: Mon, 07 Dec 2026 10:00:%02d +0000\nMessage-ID: <corpus-%d@examplerecv.com>\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n%s\n%s"
                % (frm, to, subject, SERIAL[0] % 60, SERIAL[0], extra, body))


def sign(msg, key, selector, domain, algorithm=None, include=None):
    signature = dkim.sign(msg, selector.encode(), domain.encode(), key.private, include_headers=include,
                          signature_algorithm=algorithm or key.algorithm)
    return signature + msg


def authenticate(msg, authserv_id, ip, mail_from, helo, zone):
    global CURRENT
    CURRENT = zone
    return authheaders.authenticate_message(msg, authserv_id, ip=ip, mail_from=mail_from, helo=helo, spf=True, dkim=True,
                                            arc=True, dmarc=True, dnsfunc=dnsfunc)


def hop(msg, zone, srv_id, ip, mail_from, helo):
    """A receiving MTA on the way that runs authheaders and writes its Authentication-Results on top."""
    field = authenticate(msg, srv_id, ip, mail_from, helo, zone)
    return (field.replace("\r\n", "").replace("\n", "") + "\r\n").encode() + msg


def arc_seal(msg, key, selector, domain, srv_id):
    sets = dkim.arc_sign(msg, selector.encode(), domain.encode(), key.private, srv_id.encode())
    assert sets, "arc_sign made no set"
    return b"".join(sets) + msg


def list_modify(msg, tag="[team]"):
    """What a mailing list does: a subject tag, list headers, a footer."""
    msg = msg.replace(b"\r\nSubject: ", b"\r\nSubject: %s " % tag.encode(), 1)
    headers, body = msg.split(b"\r\n\r\n", 1)
    headers += b"\r\nList-Id: Team <team.examplelist.org>\r\nList-Unsubscribe: <mailto:team-leave@examplelist.org>"
    return headers + b"\r\n\r\n" + body + b"_______________________________________________\r\nTeam mailing list\r\n"


def alter_b(msg, field):
    """One character of `field`'s b= value changed."""
    start = msg.index(field)
    at = msg.index(b" b=", start) + 3 + 20
    return msg[:at] + (b"B" if msg[at:at + 1] != b"B" else b"C") + msg[at + 1:]


# --- authheaders' verdict --------------------------------------------------------------------------

def prop(result, ptype, name):
    for p in result.properties:
        if p.type == ptype and p.name == name:
            return p.value
    return None


def parse_field(field):
    header = authres.AuthenticationResultsHeader.parse(field)
    verdict = {"spf": None, "dkim": [], "dmarc": None, "arc": None}
    for r in header.results:
        if r.method == "spf":
            verdict["spf"] = r.result
        elif r.method == "dkim":
            verdict["dkim"].append({"result": r.result, "d": prop(r, "header", "d") or ""})
        elif r.method == "dmarc":
            verdict["dmarc"] = {"result": r.result, "from": prop(r, "header", "from") or "",
                                "policy": prop(r, "policy", "dmarc") or ""}
        elif r.method == "arc":
            verdict["arc"] = r.result
    return verdict


def dkimpy_signatures(msg):
    """authheaders' DKIM check (check_dkim) for each signature, not only the first."""
    headers, _ = dkim.rfc822_parse(msg)
    count = len([1 for name, _ in headers if name.lower() == b"dkim-signature"])
    out = []
    for idx in range(count):
        try:
            out.append("pass" if dkim.DKIM(msg).verify(idx=idx, dnsfunc=dnsfunc) else "fail")
        except dns.exception.DNSException:
            out.append("temperror")
        except Exception:
            out.append("fail")
    return out


def components(msg, ip, mail_from, helo, zone):
    """authheaders' verdict from its parts (check_spf, check_dkim, check_arc, check_dmarc), for a message
    on which authenticate_message raises."""
    global CURRENT
    CURRENT = zone
    spf_result = authheaders.check_spf(ip, mail_from, helo)
    spf_name = spf_result.result
    dkim_result = authheaders.check_dkim(msg, dnsfunc=dnsfunc)
    arc_result = authheaders.check_arc(msg, None, dnsfunc=dnsfunc)
    try:
        dmarc_result = authheaders.check_dmarc(msg, spf_result, dkim_result, dnsfunc=dnsfunc)
        dmarc = {"result": dmarc_result.result, "from": dmarc_result.header_from or "", "policy": dmarc_result.policy or ""}
    except Exception as e:
        dmarc = {"result": "raises %s" % type(e).__name__, "from": "", "policy": ""}
    return {"spf": spf_name, "dkim": [{"result": dkim_result.result, "d": dkim_result.header_d or ""}], "dmarc": dmarc,
            "arc": arc_result.result}


def judge(msg, ip, mail_from, helo, zone):
    try:
        field = authenticate(msg, "mx.test", ip, mail_from, helo, zone)
    except Exception as e:
        # Recorded, not hidden: what authheaders does with this message is to raise.
        return {"field": None, "error": "%s: %s" % (type(e).__name__, e), "authheaders": components(msg, ip, mail_from, helo, zone),
                "dkimpy": dkimpy_signatures(msg)}
    return {"field": field, "authheaders": parse_field(field), "dkimpy": dkimpy_signatures(msg)}


CASES = []


def case(name, msg, ip, mail_from, helo, zone):
    entry = {"name": name, "message": b64(msg), "ip": ip, "helo": helo, "mailFrom": mail_from, "dns": zone.rr}
    entry.update(judge(msg, ip, mail_from, helo, zone))
    CASES.append(entry)


def dmarc(zone, domain, record):
    return zone.copy().set_txt("_dmarc." + domain, *([record] if record else []))


# --- The corpus ------------------------------------------------------------------------------------

def corpus():
    keys()
    W = world()
    alice = "Alice <alice@exampleauthor.com>"

    # Direct mail, aligned.
    m = sign(message(alice), K["author"], "s2048", "exampleauthor.com")
    case("aligned DKIM and SPF pass, p=reject", m, AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com", W)
    m = sign(message(alice), K["author_ed"], "ed", "exampleauthor.com")
    case("aligned DKIM pass (Ed25519), SPF unaligned", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    m = sign(message(alice), K["author_1024"], "s1024", "exampleauthor.com")
    case("aligned DKIM pass with an RSA 1024 key", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    case("SPF-only pass aligned", message(alice), AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com", W)
    case("SPF-only pass unaligned (bulk sender)", message(alice), ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    m = sign(message(alice), K["esp"], "esp", "exampleesp.net")
    case("DKIM and SPF pass, both for the bulk sender only", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    m = sign(message(alice), K["author"], "s2048", "exampleauthor.com").replace(b"Q2  14", b"Q2  41")
    case("author signature broken in transit (body)", m, AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com",
         dmarc(W, "exampleauthor.com", "v=DMARC1; p=reject; aspf=s; adkim=s"))

    # Alignment: relaxed and strict, with subdomains.
    bank = "Bank <alerts@examplebank.com>"
    m = sign(message(bank), K["bank_mail"], "s1", "mail.examplebank.com")
    case("relaxed DKIM alignment, d= a subdomain", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    case("strict DKIM alignment (adkim=s), d= a subdomain", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net",
         dmarc(W, "examplebank.com", "v=DMARC1; p=reject; adkim=s"))
    case("relaxed SPF alignment, MAIL FROM a subdomain", message(bank), BANK_IP, "bounce@mail.examplebank.com",
         "mail.examplebank.com", W)
    case("strict SPF alignment (aspf=s), MAIL FROM a subdomain", message(bank), BANK_IP, "bounce@mail.examplebank.com",
         "mail.examplebank.com", dmarc(W, "examplebank.com", "v=DMARC1; p=reject; aspf=s"))
    case("SPF pass at the org domain by mx, From at the org domain", message(bank), BANK_IP, "bounce@examplebank.com",
         "mx1.examplebank.com", W)
    m = sign(message("News <news@mail.examplebank.com>"), K["bank"], "s1", "examplebank.com")
    case("From at a subdomain, d= the org domain, relaxed (org-domain record)", m, ESP_IP, "bounces@exampleesp.net",
         "out.exampleesp.net", W)
    case("From at a subdomain, d= the org domain, adkim=s", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net",
         dmarc(W, "examplebank.com", "v=DMARC1; p=reject; adkim=s"))

    # Policies.
    spoof_shop = message("Shop <orders@exampleshop.com>")
    case("spoofed, p=quarantine", spoof_shop, EVIL_IP, "orders@exampleshop.com", "exampleevil.net", W)
    case("spoofed, p=none", spoof_shop, EVIL_IP, "orders@exampleshop.com", "exampleevil.net",
         dmarc(W, "exampleshop.com", "v=DMARC1; p=none"))
    case("spoofed, p=reject pct=0", spoof_shop, EVIL_IP, "orders@exampleshop.com", "exampleevil.net",
         dmarc(W, "exampleshop.com", "v=DMARC1; p=reject; pct=0"))
    case("spoofed, record at the From domain with sp=", spoof_shop, EVIL_IP, "orders@exampleshop.com", "exampleevil.net",
         dmarc(W, "exampleshop.com", "v=DMARC1; p=quarantine; sp=none"))
    spoof_sub = message("Shop <orders@eu.exampleshop.com>")
    case("spoofed subdomain, org record sp=reject", spoof_sub, EVIL_IP, "orders@eu.exampleshop.com", "exampleevil.net",
         dmarc(W, "exampleshop.com", "v=DMARC1; p=none; sp=reject"))
    case("spoofed subdomain, org record sp=none", spoof_sub, EVIL_IP, "orders@eu.exampleshop.com", "exampleevil.net",
         dmarc(W, "exampleshop.com", "v=DMARC1; p=reject; sp=none"))
    case("spoofed subdomain, org record without sp=", spoof_sub, EVIL_IP, "orders@eu.exampleshop.com", "exampleevil.net", W)
    case("no DMARC record", message("Info <info@examplenodmarc.com>"), SHOP_IP, "info@examplenodmarc.com",
         "mail.examplenodmarc.com", W)
    case("no DMARC record, SPF fail", message("Info <info@examplenodmarc.com>"), EVIL_IP, "info@examplenodmarc.com",
         "exampleevil.net", W)
    m = sign(message("Shop <orders@uk.examplebank.co.uk>"), K["couk"], "s1", "examplebank.co.uk")
    case("org-domain fallback under co.uk, aligned DKIM", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    case("org-domain fallback under co.uk, spoofed", message("Shop <orders@uk.examplebank.co.uk>"), EVIL_IP,
         "orders@uk.examplebank.co.uk", "exampleevil.net", W)
    case("SPF by ptr, p=none", message("Old <old@examplelegacy.org>"), LEGACY_IP, "old@examplelegacy.org",
         "out.examplelegacy.org", W)
    case("SPF neutral (?all)", message("Info <info@exampleopen.net>"), EVIL_IP, "info@exampleopen.net", "exampleevil.net", W)
    case("SPF fail after an include that is neutral", message("Info <info@exampleesp.net>"), EVIL_IP, "info@exampleesp.net",
         "exampleevil.net", W)
    twice = W.copy().add("examplenodmarc.com", "TXT", "v=spf1 -all")
    case("SPF permerror (two records)", message("Info <info@examplenodmarc.com>"), SHOP_IP, "info@examplenodmarc.com",
         "mail.examplenodmarc.com", twice)

    # Spoofing.
    ceo = message("CEO <ceo@examplebank.com>", subject="Urgent wire transfer")
    m = sign(ceo, K["evil"], "evil", "exampleevil.net")
    case("spoofed From with a foreign DKIM signature", m, EVIL_IP, "ceo@exampleevil.net", "exampleevil.net", W)
    m = sign(ceo, K["evil"], "s1", "examplebank.com")
    case("spoofed From with a forged signature claiming the From domain", m, EVIL_IP, "ceo@exampleevil.net",
         "exampleevil.net", W)

    # Several signatures.
    base = message(alice)
    bad = sign(base, K["evil"], "esp", "exampleesp.net")  # d=exampleesp.net, signed with the wrong key
    good_then_bad = sign(bad, K["author"], "s2048", "exampleauthor.com")
    case("two signatures, the good one first", good_then_bad, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    good = sign(base, K["author"], "s2048", "exampleauthor.com")
    bad_then_good = sign(good, K["evil"], "esp", "exampleesp.net")
    case("two signatures, a bad one first", bad_then_good, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    m = sign(sign(base, K["author"], "s2048", "exampleauthor.com"), K["author_ed"], "ed", "exampleauthor.com")
    case("two good signatures (Ed25519 and RSA)", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    m = sign(message(alice), K["author"], "s2048", "exampleauthor.com", algorithm=b"rsa-sha1")
    case("rsa-sha1 signature, SPF aligned", m, AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com", W)

    # A mailing list: the author's mail arrives at the list, which tags the subject, adds a footer,
    # seals ARC over what it sends, re-signs with its own d= and sends from its own address.
    posted = sign(message(alice, to="team@examplelist.org"), K["author"], "s2048", "exampleauthor.com")
    at_list = hop(posted, W, "lists.examplelist.org", AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com")
    modified = list_modify(at_list)
    sealed = arc_seal(modified, K["list_arc"], "arc", "examplelist.org", "lists.examplelist.org")
    from_list = sign(sealed, K["list"], "list", "examplelist.org")
    case("mailing list: modified, ARC sealed, re-signed by the list", from_list, LIST_IP, "team-bounces@examplelist.org",
         "lists.examplelist.org", W)
    case("mailing list: modified, ARC sealed, not re-signed, author p=none", sealed, LIST_IP, "team-bounces@examplelist.org",
         "lists.examplelist.org", dmarc(W, "exampleauthor.com", "v=DMARC1; p=none"))
    case("mailing list: modified, no ARC, not re-signed", modified, LIST_IP, "team-bounces@examplelist.org",
         "lists.examplelist.org", W)

    # A plain forwarder: it seals ARC without modifying anything and relays.
    direct = sign(message(alice, to="alice.old@examplefwd.net"), K["author"], "s2048", "exampleauthor.com")
    at_fwd = hop(direct, W, "mx.examplefwd.net", AUTHOR_IP, "alice@exampleauthor.com", "mx.exampleauthor.com")
    forwarded = arc_seal(at_fwd, K["fwd_arc"], "arc", "examplefwd.net", "mx.examplefwd.net")
    case("forwarder: ARC sealed, unmodified, MAIL FROM kept", forwarded, FWD_IP, "alice@exampleauthor.com",
         "mx.examplefwd.net", W)
    case("forwarder: ARC sealed, unmodified, SRS MAIL FROM", forwarded, FWD_IP,
         "SRS0=HHH=TT=exampleauthor.com=alice@examplefwd.net", "mx.examplefwd.net", W)
    # The list's output forwarded once more: two ARC sets.
    at_fwd2 = hop(from_list, W, "mx.examplefwd.net", LIST_IP, "team-bounces@examplelist.org", "lists.examplelist.org")
    twice_sealed = arc_seal(at_fwd2, K["fwd_arc"], "arc", "examplefwd.net", "mx.examplefwd.net")
    case("mailing list then forwarder: two ARC sets", twice_sealed, FWD_IP, "SRS0=HHH=TT=examplelist.org=team-bounces@examplefwd.net",
         "mx.examplefwd.net", W)

    # Chains broken after sealing.
    case("ARC chain broken after sealing: body changed", forwarded.replace(b"Q2  14", b"Q2  41"), FWD_IP,
         "SRS0=HHH=TT=exampleauthor.com=alice@examplefwd.net", "mx.examplefwd.net", W)
    case("ARC chain broken after sealing: subject changed", forwarded.replace(b"Subject: Quarterly", b"Subject: [EXT] Quarterly"),
         FWD_IP, "SRS0=HHH=TT=exampleauthor.com=alice@examplefwd.net", "mx.examplefwd.net", W)
    case("ARC chain broken after sealing: seal altered", alter_b(forwarded, b"ARC-Seal:"), FWD_IP,
         "SRS0=HHH=TT=exampleauthor.com=alice@examplefwd.net", "mx.examplefwd.net", W)
    # A list that got a broken chain seals with cv=fail; the next receiver sees a terminated chain.
    broken = forwarded.replace(b"Q2  14", b"Q2  41")
    at_list2 = hop(broken, W, "lists.examplelist.org", FWD_IP, "SRS0=HHH=TT=exampleauthor.com=alice@examplefwd.net",
                   "mx.examplefwd.net")
    assert b"arc=fail" in at_list2.split(b"\r\n", 1)[0], at_list2[:300]
    failed = arc_seal(list_modify(at_list2), K["list_arc"], "arc", "examplelist.org", "lists.examplelist.org")
    case("ARC chain sealed with cv=fail", failed, LIST_IP, "team-bounces@examplelist.org", "lists.examplelist.org", W)

    # Several authors (RFC 7489 §6.6.1).
    two = sign(message("alice@exampleauthor.com, orders@exampleshop.com"), K["author"], "s2048", "exampleauthor.com")
    case("two From addresses: p=reject passes, p=quarantine fails", two, EVIL_IP, "x@examplenodmarc.com",
         "exampleevil.net", W)
    case("two From addresses, SPF pass unaligned", two, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    two_fields = message("orders@exampleshop.com", extra="From: ceo@examplebank.com\n")
    case("two From fields, both spoofed", two_fields, EVIL_IP, "x@examplenodmarc.com", "exampleevil.net", W)

    # Odd cases.
    m = sign(message("Hyphen <alice@my-bank.com>"), K["hyphen"], "s1", "my-bank.com")
    case("From domain with a hyphen, aligned DKIM", m, ESP_IP, "bounces@exampleesp.net", "out.exampleesp.net", W)
    case("null MAIL FROM, HELO SPF pass aligned", message("Mailer <mailer-daemon@mail.examplebank.com>",
                                                          subject="Undelivered Mail Returned to Sender"),
         BANK_IP, "", "mail.examplebank.com", W)
    return {"psl": DEBIAN_PSL if os.path.exists(DEBIAN_PSL) else "authheaders' bundled list", "cases": CASES}


def authenticate_stdin():
    request = json.load(sys.stdin)
    zone = Zone(request["dns"])
    msg = base64.b64decode(request["message"])
    print(json.dumps(judge(msg, request["ip"], request["mailFrom"], request["helo"], zone)))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "corpus":
        print(json.dumps(corpus()))
    elif mode == "authenticate":
        authenticate_stdin()
    else:
        sys.exit(__doc__)
