#!/usr/bin/env python3
"""Drives Sealbox's HTTP API with `requests` against a live `sealbox serve` (HTTPAPIServeTests):
every endpoint of docs/openapi.json, auth failures (wrong password, bad token, revoked token), a
password generated over the API used over IMAP (imaplib) and revoked, search (full-text, regex,
catastrophic patterns), streamed exports with the server's RSS sampled from /proc, and last the
throttle (repeated failures answered 429). Prints `FIGURE: ...` lines for the report; exits 1 on
the first failed check.

    http_api_suite.py --base https://127.0.0.1:PORT --cafile CERT --token TOKEN --address A --password P
                      --imap-port N --pid PID --sealbox BIN --data-dir DIR
"""
import argparse
import email.message
import imaplib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile

import requests

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--cafile")
p.add_argument("--token", required=True)
p.add_argument("--address", required=True)
p.add_argument("--password", required=True)
p.add_argument("--imap-port", type=int, required=True)
p.add_argument("--pid", type=int, required=True)
p.add_argument("--sealbox", required=True)
p.add_argument("--data-dir", required=True)
p.add_argument("--export-mb", type=int, default=40)
args = p.parse_args()

BASE = args.base.rstrip("/")
VERIFY = args.cafile if args.cafile else False
TIMEOUT = 60
ADMIN = {"Authorization": f"Bearer {args.token}"}
OWNER = (args.address, args.password)
checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        print(f"FAIL: {what}", flush=True)
        sys.exit(1)


def req(method, path, **kw):
    kw.setdefault("timeout", TIMEOUT)
    kw.setdefault("verify", VERIFY)
    return requests.request(method, BASE + path, **kw)


def expect(r, status, what):
    check(r.status_code == status, f"{what}: expected {status}, got {r.status_code} {r.text[:300]}")
    return r


def expect_error(r, status, code, what):
    expect(r, status, what)
    body = r.json()
    check(body.get("error", {}).get("code") == code, f"{what}: error code {body} != {code}")
    check(r.headers.get("Content-Type", "").startswith("application/json"), f"{what}: JSON error")


def rss_kib(pid=args.pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def imap_login(password):
    c = imaplib.IMAP4("127.0.0.1", args.imap_port, timeout=30)
    try:
        c.login(args.address, password)
        c.logout()
        return True
    except imaplib.IMAP4.error:
        try:
            c.logout()
        except Exception:
            pass
        return False


def cli(*argv):
    env = dict(os.environ, SEALBOX_DATA_DIR=args.data_dir)
    env.pop("SEALBOX_PASSWORD", None)
    return subprocess.run([args.sealbox, *argv], env=env, capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- the document
doc = expect(req("GET", "/openapi.json"), 200, "openapi.json").json()
check(doc["openapi"].startswith("3.1"), "OpenAPI 3.1")
documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
exercised = set()


def hit(method, template):
    exercised.add((method, template))


# ---------------------------------------------------------------- admin auth failures
expect_error(req("GET", "/api/v1/admin/domains"), 401, "unauthorized", "admin without a token")
expect_error(req("GET", "/api/v1/admin/domains", headers={"Authorization": "Bearer sbx_not-a-token"}), 401, "unauthorized", "bad token")
r = req("GET", "/api/v1/admin/domains", headers={"Authorization": "Bearer sbx_not-a-token"})
check("sbx_not-a-token" not in r.text, "the error does not echo the token")

# ---------------------------------------------------------------- domains
r = expect(req("GET", "/api/v1/admin/domains", headers=ADMIN), 200, "list domains"); hit("GET", "/api/v1/admin/domains")
check([d["name"] for d in r.json()["domains"]] == ["example.com"], f"domains {r.text}")
r = expect(req("POST", "/api/v1/admin/domains", headers=ADMIN, json={"name": "bücher.example"}), 201, "add domain")
hit("POST", "/api/v1/admin/domains")
check(r.json()["name"] == "xn--bcher-kva.example" and r.json()["unicode"] == "bücher.example", f"IDN domain {r.text}")
expect_error(req("POST", "/api/v1/admin/domains", headers=ADMIN, json={"name": "bücher.example"}), 409, "conflict", "domain twice")
expect_error(req("POST", "/api/v1/admin/domains", headers=ADMIN, json={"name": "not a domain"}), 400, "invalid_request", "bad domain")
expect_error(req("POST", "/api/v1/admin/domains", headers=ADMIN, data="name=x", ), 415, "unsupported_media_type", "form body")
r = expect(req("GET", "/api/v1/admin/domains/xn--bcher-kva.example/dns", headers=ADMIN), 200, "dns"); hit("GET", "/api/v1/admin/domains/{domain}/dns")
dns = r.json()
types = {rec["type"] for rec in dns["records"]}
check({"MX", "TXT"} <= types, f"record types {types}")
cp = cli("domain", "dns", "xn--bcher-kva.example")
check(cp.returncode == 0, f"sealbox domain dns: {cp.stderr}")
# The same records as the CLI; SRV records name the listeners' fixed ports, which this `serve`
# (ports `auto`) has none of while the CLI reads the defaults.
strip = lambda text: [l for l in text.splitlines() if " SRV " not in l and "_submission" not in l and "_imap" not in l and "_pop3" not in l]
check(strip(dns["text"]) == strip(cp.stdout), f"the API's DNS text is what `sealbox domain dns` prints:\n{dns['text']}\n---\n{cp.stdout}")
expect_error(req("GET", "/api/v1/admin/domains/nowhere.example/dns", headers=ADMIN), 404, "not_found", "dns of unknown domain")

# ---------------------------------------------------------------- aliases and their passwords
r = expect(req("POST", "/api/v1/admin/aliases", headers=ADMIN,
               json={"address": "team@xn--bcher-kva.example", "forwardTo": ["someone@example.org"], "quotaBytes": 10485760}),
           201, "add alias"); hit("POST", "/api/v1/admin/aliases")
check(r.json()["hasMailbox"] is False and r.json()["quotaBytes"] == 10485760, f"alias {r.text}")
expect_error(req("POST", "/api/v1/admin/aliases", headers=ADMIN, json={"address": "x@nowhere.example"}), 404, "not_found", "alias of unknown domain")
expect_error(req("POST", "/api/v1/admin/aliases", headers=ADMIN, json={"address": "y@example.com", "store": False}), 400, "invalid_request",
             "alias without target")
r = expect(req("GET", "/api/v1/admin/aliases", headers=ADMIN), 200, "list aliases"); hit("GET", "/api/v1/admin/aliases")
check({a["address"] for a in r.json()["aliases"]} >= {args.address, "team@bücher.example"}, f"aliases {r.text}")
r = expect(req("GET", "/api/v1/admin/aliases?domain=example.com", headers=ADMIN), 200, "aliases of a domain")
check([a["address"] for a in r.json()["aliases"]] == [args.address], "one domain's aliases")
r = expect(req("GET", f"/api/v1/admin/aliases/{args.address}", headers=ADMIN), 200, "get alias"); hit("GET", "/api/v1/admin/aliases/{address}")
check(r.json()["hasMailbox"] is True, "the test mailbox has a mailbox")
r = expect(req("POST", "/api/v1/admin/aliases/team%40xn--bcher-kva.example/passwords", headers=ADMIN, json={"label": "first"}), 201,
           "first password"); hit("POST", "/api/v1/admin/aliases/{address}/passwords")
team_password = r.json()["password"]
check(len(team_password) >= 16, "a strong password")
expect_error(req("POST", f"/api/v1/admin/aliases/{args.address}/passwords", headers=ADMIN, json={}), 409, "conflict",
             "admin cannot add a second password")
r = expect(req("GET", "/api/v1/admin/aliases/team@xn--bcher-kva.example/passwords", headers=ADMIN), 200, "list passwords")
hit("GET", "/api/v1/admin/aliases/{address}/passwords")
check(len(r.json()["passwords"]) == 1 and "password" not in r.json()["passwords"][0], "listed without the secret")
team_pw_id = r.json()["passwords"][0]["id"]
expect_error(req("DELETE", f"/api/v1/admin/aliases/team@xn--bcher-kva.example/passwords/{team_pw_id}", headers=ADMIN), 409, "conflict",
             "last password needs force")
expect(req("DELETE", f"/api/v1/admin/aliases/team@xn--bcher-kva.example/passwords/{team_pw_id}?force=true", headers=ADMIN), 204,
       "revoke last password with force"); hit("DELETE", "/api/v1/admin/aliases/{address}/passwords/{id}")
expect_error(req("DELETE", "/api/v1/admin/aliases/team@xn--bcher-kva.example", headers=ADMIN), 409, "conflict", "remove alias with mailbox")
r = expect(req("DELETE", "/api/v1/admin/aliases/team@xn--bcher-kva.example?purge=true", headers=ADMIN), 200, "purge alias")
hit("DELETE", "/api/v1/admin/aliases/{address}")
check(any(line.startswith("deleted mailboxes/") for line in r.json()["deleted"]), f"mailbox file deleted: {r.text}")
expect_error(req("GET", "/api/v1/admin/aliases/team@xn--bcher-kva.example", headers=ADMIN), 404, "not_found", "alias gone")
expect(req("DELETE", "/api/v1/admin/domains/xn--bcher-kva.example", headers=ADMIN), 204, "remove domain")
hit("DELETE", "/api/v1/admin/domains/{domain}")
expect_error(req("DELETE", "/api/v1/admin/domains/example.com", headers=ADMIN), 409, "conflict", "domain with aliases")

# ---------------------------------------------------------------- queue and backups
r = expect(req("GET", "/api/v1/admin/queue", headers=ADMIN), 200, "queue"); hit("GET", "/api/v1/admin/queue")
check("sealed" in r.json() and "outbound" in r.json(), "queue shape")
r = expect(req("POST", "/api/v1/admin/queue/retry", headers=ADMIN), 200, "retry"); hit("POST", "/api/v1/admin/queue/retry")
check(r.json()["due"] >= 0, "retry count")
r = expect(req("GET", "/api/v1/admin/backups", headers=ADMIN), 200, "backup status"); hit("GET", "/api/v1/admin/backups")
check(r.json()["configured"] is False, "no backup destination in this test")
expect_error(req("POST", "/api/v1/admin/backups", headers=ADMIN, json={}), 409, "conflict", "backup without destination")
hit("POST", "/api/v1/admin/backups")
expect_error(req("GET", f"/api/v1/admin/backups/{args.address}", headers=ADMIN), 409, "conflict", "backup list without destination")
hit("GET", "/api/v1/admin/backups/{address}")

# ---------------------------------------------------------------- owner: session cookie and Basic
expect_error(req("POST", "/api/v1/session", json={"address": args.address, "password": "wrong password"}), 401, "unauthorized",
             "wrong password")
class VerifyingSession(requests.Session):
    # Passed on each request: requests does not always apply a Session's CA bundle path.
    def request(self, method, url, **kw):
        kw.setdefault("verify", VERIFY)
        kw.setdefault("timeout", TIMEOUT)
        return super().request(method, url, **kw)


s = VerifyingSession()
r = s.post(BASE + "/api/v1/session", json={"address": args.address, "password": args.password}, timeout=TIMEOUT)
expect(r, 201, "sign in"); hit("POST", "/api/v1/session")
cookie = r.headers["Set-Cookie"]
check("HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/" in cookie, f"cookie attributes {cookie}")
check(args.password not in r.text, "no password in the sign-in answer")
r = expect(s.get(BASE + "/api/v1/me", timeout=TIMEOUT), 200, "me (session)"); hit("GET", "/api/v1/me")
check(r.json()["authentication"] == "session" and r.json()["address"] == args.address, f"me {r.text}")
r = expect(req("GET", "/api/v1/me", auth=OWNER), 200, "me (basic)")
check(r.json()["authentication"] == "basic", "basic")

# Passwords: one made over the API works over IMAP until revoked.
r = expect(s.post(BASE + "/api/v1/me/passwords", json={"label": "api"}, timeout=TIMEOUT), 201, "generate my password")
hit("POST", "/api/v1/me/passwords")
new_password, new_id = r.json()["password"], r.json()["id"]
check(imap_login(new_password), "IMAP login with the password made over the API")
r = expect(s.get(BASE + "/api/v1/me/passwords", timeout=TIMEOUT), 200, "list my passwords"); hit("GET", "/api/v1/me/passwords")
check(new_id in [p["id"] for p in r.json()["passwords"]], "listed")
me_id = req("GET", "/api/v1/me", auth=OWNER).json()["passwordId"]
expect_error(s.delete(BASE + f"/api/v1/me/passwords/{me_id}", timeout=TIMEOUT), 409, "conflict", "revoke own current password")
expect(s.delete(BASE + f"/api/v1/me/passwords/{new_id}", timeout=TIMEOUT), 204, "revoke"); hit("DELETE", "/api/v1/me/passwords/{id}")
check(not imap_login(new_password), "IMAP login with the revoked password fails")
expect_error(s.delete(BASE + f"/api/v1/me/passwords/{new_id}", timeout=TIMEOUT), 404, "not_found", "revoke twice")

# Forwards and webhooks.
r = expect(s.get(BASE + "/api/v1/me/targets", timeout=TIMEOUT), 200, "targets"); hit("GET", "/api/v1/me/targets")
check(r.json() == {"forwardTo": [], "webhooks": []}, f"no targets yet {r.text}")
r = expect(s.post(BASE + "/api/v1/me/forwards", json={"address": "copy@example.org"}, timeout=TIMEOUT), 201, "add forward")
hit("POST", "/api/v1/me/forwards")
check(r.json()["forwardTo"] == ["copy@example.org"], "forward added")
expect_error(s.post(BASE + "/api/v1/me/forwards", json={"address": args.address}, timeout=TIMEOUT), 400, "invalid_request", "forward to self")
r = expect(s.delete(BASE + "/api/v1/me/forwards/copy%40example.org", timeout=TIMEOUT), 200, "remove forward")
hit("DELETE", "/api/v1/me/forwards/{address}")
check(r.json()["forwardTo"] == [], "forward removed")
hook = "https://hooks.example.org/in?token=abc"
r = expect(s.post(BASE + "/api/v1/me/webhooks", json={"url": hook}, timeout=TIMEOUT), 201, "add webhook"); hit("POST", "/api/v1/me/webhooks")
check(r.json()["webhooks"] == [hook], "webhook added")
expect_error(s.post(BASE + "/api/v1/me/webhooks", json={"url": "ftp://x"}, timeout=TIMEOUT), 400, "invalid_request", "bad webhook")
r = expect(s.delete(BASE + "/api/v1/me/webhooks?url=" + urllib.parse.quote(hook, safe=""), timeout=TIMEOUT), 200, "remove webhook")
hit("DELETE", "/api/v1/me/webhooks")
check(r.json()["webhooks"] == [], "webhook removed")

# Mail for search and export: over IMAP APPEND.
imap = imaplib.IMAP4("127.0.0.1", args.imap_port, timeout=60)
imap.login(args.address, args.password)


def append(folder, subject, body, sender="alice@example.org"):
    m = email.message.EmailMessage()
    m["From"] = sender
    m["To"] = args.address
    m["Subject"] = subject
    m["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
    m.set_content(body)
    typ, _ = imap.append(folder, None, None, m.as_bytes().replace(b"\n", b"\r\n"))
    check(typ == "OK", f"APPEND {subject}")


append("INBOX", "Quarterly report", "The zebra numbers are in.\nRegards")
append("INBOX", "Café menu", "Croissants und Kaffee")
append("Archive" if False else "INBOX", "Long line", "a" * 60000)
typ, _ = imap.create("Projects")
append("Projects", "Plans", "zebra crossing project")

r = expect(s.get(BASE + "/api/v1/me/usage", timeout=TIMEOUT), 200, "usage"); hit("GET", "/api/v1/me/usage")
usage = r.json()
check(usage["quotaBytes"] == 1 << 30 and usage["usedBytes"] > 0, f"usage {usage}")
check({f["path"] for f in usage["folders"]} >= {"INBOX", "Projects"}, "folders in usage")

# Search: full-text, regex, paging, bad patterns, catastrophic patterns.
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "zebra"}, timeout=TIMEOUT), 200, "full-text search"); hit("GET", "/api/v1/me/search")
found = r.json()["results"]
check(sorted(h["folder"] for h in found) == ["INBOX", "Projects"], f"zebra in two folders {found}")
check(all({"uid", "folder", "subject", "from", "date", "size"} <= set(h) for h in found), "hit fields")
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "zebra", "limit": 1}, timeout=TIMEOUT), 200, "paged")
page1 = r.json()
check(len(page1["results"]) == 1 and page1.get("next"), f"first page {page1}")
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "zebra", "limit": 1, "cursor": page1["next"]}, timeout=TIMEOUT), 200, "page 2")
check(len(r.json()["results"]) == 1 and r.json()["results"][0] != page1["results"][0], "second page differs")
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "café", "folder": "INBOX"}, timeout=TIMEOUT), 200, "decoded subject")
check(len(r.json()["results"]) == 1, f"café {r.text}")
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "zeb+ra (num|cross)", "mode": "regex"}, timeout=TIMEOUT), 200, "regex")
check(len(r.json()["results"]) == 2, f"regex hits {r.text}")
r = expect(s.get(BASE + "/api/v1/me/search", params={"q": "^Subject: Caf", "mode": "regex"}, timeout=TIMEOUT), 200, "regex header")
check(len(r.json()["results"]) == 1, f"regex over decoded header {r.text}")
expect_error(s.get(BASE + "/api/v1/me/search", params={"q": "(a)\\1", "mode": "regex"}, timeout=TIMEOUT), 400, "invalid_request",
             "back-reference refused")
expect_error(s.get(BASE + "/api/v1/me/search", params={"q": "([a-", "mode": "regex"}, timeout=TIMEOUT), 400, "invalid_request", "bad pattern")
expect_error(s.get(BASE + "/api/v1/me/search", params={"q": "x", "folder": "Nope"}, timeout=TIMEOUT), 404, "not_found", "no such folder")
for pattern in ["^(a|aa)*c$", "(a*)*c", "((a+)+)+c", "(a|a?)+c", "(.*a){12}c", "(a|aa)*b"]:
    started = time.monotonic()
    r = s.get(BASE + "/api/v1/me/search", params={"q": pattern, "mode": "regex"}, timeout=TIMEOUT)
    took = time.monotonic() - started
    check(r.status_code in (200, 422), f"catastrophic {pattern}: {r.status_code} {r.text[:200]}")
    if r.status_code == 422:
        check(r.json()["error"]["code"] == "limit_exceeded", "a clear error")
    print(f"FIGURE: regex {pattern!r} on a 60,000-character body: HTTP {r.status_code} in {took:.2f} s "
          f"({'no match' if r.status_code == 200 and not r.json()['results'] else r.text[:120]})", flush=True)

# Exports of the small mailbox: mbox, eml-zip, sqlite (session: password in the body; Basic: none needed).
r = expect(s.get(BASE + "/api/v1/me/export", params={"format": "mbox"}, timeout=TIMEOUT), 200, "mbox"); hit("GET", "/api/v1/me/export")
check(r.headers["Content-Type"] == "application/mbox" and r.content.count(b"\nFrom ") + r.content.startswith(b"From ") == 3,
      "three INBOX messages in the mbox")
check(b"Status: " in r.content and "attachment" in r.headers.get("Content-Disposition", ""), "mbox details")
r = expect(req("GET", "/api/v1/me/export", params={"format": "eml-zip"}, auth=OWNER), 200, "eml-zip (basic)")
z = zipfile.ZipFile(io.BytesIO(r.content))
check(z.testzip() is None, "zip CRCs")
names = z.namelist()
check("INBOX/manifest.json" in names and "Projects/000001.eml" in names, f"zip entries {names}")
manifest = json.loads(z.read("INBOX/manifest.json"))
check(len(manifest) == 3 and "seen" not in manifest[0]["flags"], f"manifest {manifest}")
expect_error(s.get(BASE + "/api/v1/me/export", params={"format": "sqlite"}, timeout=TIMEOUT), 400, "invalid_request",
             "sqlite needs the password")
r = expect(s.post(BASE + "/api/v1/me/export", json={"format": "sqlite", "password": args.password}, timeout=TIMEOUT), 200, "sqlite")
hit("POST", "/api/v1/me/export")
check(len(r.content) > 4096 and not r.content.startswith(b"SQLite format 3"), "an encrypted database file")
leftovers = os.listdir(os.path.join(args.data_dir, "export-tmp")) if os.path.isdir(os.path.join(args.data_dir, "export-tmp")) else []
check(leftovers == [], f"no temporary export left behind: {leftovers}")

# A bigger mailbox (tens of MB): exports stream, the server's RSS stays bounded.
chunk = ("The quick brown fox jumps over the lazy dog. " * 22 + "\n") * 100  # ~100 KB
count = args.export_mb * 10
imap.logout()
# Filled with `sealbox mailbox import` beside the running node (through its control socket).
bulk = os.path.join(args.data_dir, "..", f"bulk-{os.getpid()}.mbox")
with open(bulk, "w") as f:
    for i in range(count):
        f.write(f"From alice@example.org Mon Dec  7 10:00:00 2026\nFrom: alice@example.org\nTo: {args.address}\n"
                f"Subject: Bulk {i}\nDate: Mon, 07 Dec 2026 10:00:00 +0000\n\n{chunk}\n")
env = dict(os.environ, SEALBOX_DATA_DIR=args.data_dir, SEALBOX_PASSWORD=args.password)
cp = subprocess.run([args.sealbox, "mailbox", "import", args.address, "--mbox", bulk], env=env, capture_output=True, text=True, timeout=600)
os.remove(bulk)
check(cp.returncode == 0 and f"imported {count} messages" in cp.stdout, f"mailbox import beside the node: {cp.stdout} {cp.stderr}")
total = sum(f["bytes"] for f in s.get(BASE + "/api/v1/me/usage", timeout=TIMEOUT).json()["folders"])
print(f"FIGURE: mailbox for the export: {count + 4} messages, {total / 1e6:.1f} MB", flush=True)


def sampled_export(params, basic=False):
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib())
            time.sleep(0.02)

    before = rss_kib()
    t = threading.Thread(target=sample)
    t.start()
    size = 0
    with (req("GET", "/api/v1/me/export", params=params, auth=OWNER, stream=True) if basic
          else s.get(BASE + "/api/v1/me/export", params=params, timeout=TIMEOUT, stream=True)) as resp:
        expect(resp, 200, f"export {params}")
        for piece in resp.iter_content(65536):
            size += len(piece)
    stop.set()
    t.join()
    after = rss_kib()
    return size, before, peak[0], after


for params in [{"format": "mbox"}, {"format": "eml-zip"}]:
    size, before, peak, after = sampled_export(params)
    print(f"FIGURE: export {params['format']}: {size / 1e6:.1f} MB streamed; server RSS before {before / 1024:.1f} MiB, "
          f"peak {peak / 1024:.1f} MiB (+{(peak - before) / 1024:.1f}), after {after / 1024:.1f} MiB", flush=True)
    check(size > total * 0.9, f"the whole mailbox came ({size} of {total})")
    # Streamed, not buffered: the server grows by far less than the mailbox (a bound, not a timing).
    check((peak - before) * 1024 < total / 2, f"export {params['format']} grew the server by {(peak - before) / 1024:.0f} MiB "
          f"for a {total / 1e6:.0f} MB mailbox")

# Sign out: the cookie stops working.
expect(s.delete(BASE + "/api/v1/session", timeout=TIMEOUT), 204, "sign out"); hit("DELETE", "/api/v1/session")
r = requests.get(BASE + "/api/v1/me", headers={"Cookie": cookie.split(";")[0]}, verify=VERIFY, timeout=TIMEOUT)
expect_error(r, 401, "unauthorized", "cookie after sign-out")

# ---------------------------------------------------------------- admin tokens made and revoked while serving
cp = cli("admin", "token", "create", "--label", "second")
check(cp.returncode == 0 and cp.stdout.strip().startswith("sbx_"), f"token create: {cp.stderr}")
second = cp.stdout.strip()
token_id = re.search(r"made admin token (\w+)", cp.stderr).group(1)
expect(req("GET", "/api/v1/admin/domains", headers={"Authorization": f"Bearer {second}"}), 200, "the new token works at once")
cp = cli("admin", "token", "list")
check(cp.returncode == 0 and token_id in cp.stdout and "second" in cp.stdout and second not in cp.stdout, f"token list: {cp.stdout}")
cp = cli("admin", "token", "revoke", token_id)
check(cp.returncode == 0, f"token revoke: {cp.stderr}")
expect_error(req("GET", "/api/v1/admin/domains", headers={"Authorization": f"Bearer {second}"}), 401, "unauthorized", "revoked token")

expect(req("GET", "/healthz"), 200, "healthz"); hit("GET", "/healthz")
expect(req("GET", "/readyz"), 200, "readyz"); hit("GET", "/readyz")
missing = documented - exercised - {("GET", "/openapi.json")}
check(not missing, f"endpoints not exercised: {sorted(missing)}")

# ---------------------------------------------------------------- the throttle (last: it locks this IP out)
statuses = []
for i in range(14):
    r = req("GET", "/api/v1/me", auth=(args.address, f"wrong-{i}"))
    statuses.append(r.status_code)
    if r.status_code == 429:
        check(r.headers.get("Retry-After", "").isdigit(), "Retry-After on 429")
        check(r.json()["error"]["code"] == "throttled", "throttled code")
        break
check(429 in statuses, f"repeated failures end in 429: {statuses}")
expect_error(req("GET", "/api/v1/admin/domains", headers={"Authorization": "Bearer sbx_guess"}), 429, "throttled",
             "admin tokens share the throttle")
check(not imap_login("wrong again"), "IMAP refuses this IP too")
print(f"FIGURE: throttle: {statuses.count(401)} failures answered 401, then 429", flush=True)
print(f"ok: {checks} checks, {len(exercised)} endpoints", flush=True)
