#!/usr/bin/env python3
"""The web pages and autoconfiguration of a running `sealbox serve`, without a browser (stdlib only).

- Thunderbird autoconfig (both URL forms), Autodiscover (POX): fetched, parsed with ElementTree,
  host names and ports checked against the listeners; 404 for a domain the node does not host.
- Pages: the security headers (CSP, nosniff, Referrer-Policy), no inline script or style and no
  external asset, forms with labels; the sign-in works as a browser without JavaScript does
  (plain form posts with the cookies).
- CSRF: a POST without the token, with a wrong token, or from another origin is refused (403) and
  changes nothing.

Usage: web_checks.py --port HTTPS_PORT --address A --password P --hostname H --imaps N --imap N
                     --submissions N --submission N
"""
import argparse
import http.client
import re
import ssl
import sys
import urllib.parse
import xml.etree.ElementTree as ET

AD_RESPONSE = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


class Client:
    """A tiny browser: HTTPS to 127.0.0.1 (self-signed certificate), cookies, no redirects followed."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=30)
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=h)
        response = conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            val = rest.split(";")[0]
            if val == "" or "Max-Age=0" in value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = val
        conn.close()
        return response.status, response.headers, data

    def post_form(self, path, fields, origin=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin:
            headers["Origin"] = origin
        return self.request("POST", path, urllib.parse.urlencode(fields), headers)


def csrf_of(html):
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no csrf field in the page"
    return m.group(1)


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)
    print("ok:", message)


def autoconfig(c, args):
    domain = args.address.split("@")[1]
    for path, headers in [(f"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={urllib.parse.quote(args.address)}", {}),
                          ("/mail/config-v1.1.xml", {"Host": f"autoconfig.{domain}"})]:
        status, h, data = c.request("GET", path, headers=headers)
        check(status == 200 and h["Content-Type"].startswith("text/xml"), f"autoconfig {path.split('?')[0]} answers XML")
        root = ET.fromstring(data)
        provider = root.find("emailProvider")
        check(root.tag == "clientConfig" and provider.get("id") == domain and provider.findtext("domain") == domain,
              "autoconfig names the domain")
        incoming = [(s.get("type"), s.findtext("hostname"), int(s.findtext("port")), s.findtext("socketType"), s.findtext("username"))
                    for s in provider.findall("incomingServer")]
        outgoing = [(s.get("type"), s.findtext("hostname"), int(s.findtext("port")), s.findtext("socketType"))
                    for s in provider.findall("outgoingServer")]
        check(incoming[0] == ("imap", args.hostname, args.imaps, "SSL", "%EMAILADDRESS%"), f"first incoming server is IMAP over TLS: {incoming[0]}")
        check(("imap", args.hostname, args.imap, "STARTTLS", "%EMAILADDRESS%") in incoming, "IMAP STARTTLS is the alternative")
        check(outgoing[:2] == [("smtp", args.hostname, args.submissions, "SSL"), ("smtp", args.hostname, args.submission, "STARTTLS")],
              f"submission: implicit TLS first, then STARTTLS: {outgoing}")
    status, _, _ = c.request("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=someone%40not-hosted.example")
    check(status == 404, "autoconfig: 404 for a domain the node does not host")

    body = f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>{args.address}</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""
    for path in ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]:
        status, h, data = c.request("POST", path, body, {"Content-Type": "text/xml"})
        check(status == 200, f"autodiscover {path} answers")
        root = ET.fromstring(data)
        protocols = {p.findtext(AD_RESPONSE + "Type"): p for p in root.iter(AD_RESPONSE + "Protocol")}
        imap, smtp = protocols["IMAP"], protocols["SMTP"]
        check(imap.findtext(AD_RESPONSE + "Server") == args.hostname and int(imap.findtext(AD_RESPONSE + "Port")) == args.imaps
              and imap.findtext(AD_RESPONSE + "SSL") == "on" and imap.findtext(AD_RESPONSE + "LoginName") == args.address,
              "autodiscover IMAP: host, implicit TLS port, login name")
        check(smtp.findtext(AD_RESPONSE + "Server") == args.hostname and int(smtp.findtext(AD_RESPONSE + "Port")) == args.submissions,
              "autodiscover SMTP: host and submissions port")
    status, _, _ = c.request("POST", "/autodiscover/autodiscover.xml", body.replace(domain, "not-hosted.example"), {"Content-Type": "text/xml"})
    check(status == 404, "autodiscover: 404 for a domain the node does not host")


def pages(c, args):
    status, h, data = c.request("GET", "/signin")
    html = data.decode()
    check(status == 200, "the sign-in page answers")
    csp = h["Content-Security-Policy"] or ""
    for directive in ["default-src 'none'", "style-src 'self'", "img-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"]:
        check(directive in csp, f"CSP has {directive}")
    check(h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer", "nosniff and no-referrer")
    check("<script>" not in html and " style=" not in html and "http://" not in html and "https://" not in html,
          "no inline script or style, no external asset")
    check('<label for="address">' in html and '<label for="password">' in html, "the form's fields have labels")
    status, h, data = c.request("GET", "/static/sealbox.css")
    check(status == 200 and h["Content-Type"].startswith("text/css") and h["X-Content-Type-Options"] == "nosniff", "the CSS is served by the node")

    # CSRF on the sign-in form.
    token = csrf_of(html)
    creds = {"address": args.address, "password": args.password}
    status, _, _ = c.post_form("/signin", creds)
    check(status == 403, "sign-in without the CSRF token: 403")
    status, _, _ = c.post_form("/signin", dict(creds, csrf=token[::-1]))
    check(status == 403, "sign-in with a wrong CSRF token: 403")
    status, _, _ = c.post_form("/signin", dict(creds, csrf=token), origin="https://evil.example")
    check(status == 403, "sign-in from another origin: 403")
    status, _, _ = c.request("POST", "/signin", urllib.parse.urlencode(dict(creds, csrf=token)),
                             {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site", "Origin": "null"})
    check(status == 403, "sign-in that the browser marks cross-site: 403")
    check("sealbox_session" not in c.cookies, "no session after the refused sign-ins")
    status, h, _ = c.post_form("/signin", dict(creds, csrf=token), origin=f"https://127.0.0.1:{args.port}")
    check(status == 303 and h["Location"] == "/account" and "sealbox_session" in c.cookies, "sign-in with the token (no JavaScript needed)")
    cookie = h.get_all("Set-Cookie")
    check(any(v.startswith("sealbox_session=") and "HttpOnly" in v and "Secure" in v and "SameSite=Strict" in v for v in cookie),
          "the session cookie is HttpOnly, Secure, SameSite=Strict")

    status, h, data = c.request("GET", "/account")
    html = data.decode()
    check(status == 200 and args.address in html and h["Cache-Control"] == "no-store", "the owner's page")
    check(args.hostname in html and str(args.imaps) in html and str(args.submissions) in html, "the setup section names the servers and ports")
    token = csrf_of(html)
    before = html.count('action="/account/passwords/revoke"')
    for fields, origin, what in [({"label": "x"}, None, "without the token"), ({"label": "x", "csrf": token[::-1]}, None, "with a wrong token"),
                                 ({"label": "x", "csrf": "A" * 43}, None, "with a made-up token"),
                                 ({"label": "x", "csrf": token}, "https://evil.example", "from another origin")]:
        status, _, _ = c.post_form("/account/passwords", fields, origin)
        check(status == 403, f"generate a password {what}: 403")
    status, _, data = c.request("GET", "/account")
    check(data.decode().count('action="/account/passwords/revoke"') == before, "the refused posts made no password")

    status, h, data = c.request("GET", "/account/setup.mobileconfig")
    check(status == 200 and h["Content-Type"] == "application/x-apple-aspen-config" and b"<plist" in data
          and args.hostname.encode() in data and args.password.encode() not in data, "the .mobileconfig profile, without the password")

    status, h, data = c.request("GET", "/account/export?format=mbox")
    check(status == 200 and h["Content-Disposition"].startswith("attachment; filename=") and b"Subject: web export" in data,
          "the INBOX as mbox download")
    status, h, data = c.request("GET", "/account/export?format=eml-zip")
    check(status == 200 and data[:2] == b"PK", "the eml zip download")
    status, h, _ = c.request("GET", "/account/export?format=sqlite")
    check(status == 400, "the encrypted database is not a GET (it needs the password)")

    status, h, _ = c.post_form("/signout", {"csrf": token})
    check(status == 303 and "sealbox_session" not in c.cookies, "sign-out")
    status, h, _ = c.request("GET", "/account")
    check(status == 303 and h["Location"] == "/signin", "signed out: the owner's page sends to sign-in")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--address", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--hostname", required=True)
    for name in ["imaps", "imap", "submissions", "submission"]:
        p.add_argument("--" + name, type=int, required=True)
    args = p.parse_args()
    c = Client(args.port)
    autoconfig(c, args)
    pages(Client(args.port), args)
    print("all web checks passed")


if __name__ == "__main__":
    main()
