#!/usr/bin/env python3
"""Scrapes a running `sealbox serve`'s /metrics with prometheus_client's own parser, around an IMAP
login, a failed IMAP login and an SMTP delivery, and checks that the counters moved; /readyz must
answer 200 and /healthz "ok". Every network step is bounded by a timeout.

usage: metrics_check.py HOST IMAP_PORT SMTP_PORT HTTPS_PORT ADDRESS PASSWORD POP3_PORT SUBMISSION_PORT MANAGESIEVE_PORT
(plaintext logins allowed: serve --allow-insecure-auth). A POP3 login, a submission and a
ManageSieve login are checked too.
Prints one line per check; exits non-zero at the first failure.
"""
import base64
import imaplib
import poplib
import smtplib
import socket
import ssl
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 30


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def get(url):
    # Loopback to the node's own (self-signed) certificate: this checks metrics, not TLS.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode("utf-8")


def scrape(base):
    status, content_type, text = get(base + "/metrics")
    if status != 200:
        fail("/metrics answered %d: %s" % (status, text[:200]))
    if not content_type.startswith("text/plain; version=0.0.4"):
        fail("/metrics Content-Type is %r" % content_type)
    samples = {}
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = sample.value
    return samples, families


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def managesieve_login(host, port, address, password):
    """AUTHENTICATE "PLAIN" then LOGOUT over a plain socket (RFC 5804), reading to each status line."""
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        reader = sock.makefile("rb")

        def status():
            for _ in range(100):
                line = reader.readline(4096)
                if not line:
                    fail("ManageSieve closed the connection")
                if line.startswith((b"OK", b"NO", b"BYE")):
                    return line
            fail("ManageSieve sent no status line")

        status()
        token = base64.b64encode(b"\0" + address.encode() + b"\0" + password.encode()).decode()
        sock.sendall(b'AUTHENTICATE "PLAIN" "' + token.encode() + b'"\r\n')
        line = status()
        if not line.startswith(b"OK"):
            fail("ManageSieve login: %r" % line)
        sock.sendall(b"LOGOUT\r\n")
        status()


def main():
    host, imap_port, smtp_port, https_port, address, password, pop3_port, submission_port, sieve_port = sys.argv[1:10]
    base = "https://%s:%s" % (host, https_port)

    status, _, text = get(base + "/healthz")
    if status != 200 or text != "ok\n":
        fail("/healthz answered %d %r" % (status, text))
    print("ok: /healthz")
    status, _, text = get(base + "/readyz")
    if status != 200:
        fail("/readyz answered %d: %s" % (status, text))
    print("ok: /readyz 200")

    before, _ = scrape(base)

    imap = imaplib.IMAP4(host, int(imap_port), timeout=TIMEOUT)
    imap.login(address, password)
    imap.select("INBOX")
    imap.logout()
    print("ok: IMAP login")

    imap = imaplib.IMAP4(host, int(imap_port), timeout=TIMEOUT)
    try:
        imap.login(address, "not-the-password-" + password[::-1])
        fail("a wrong password logged in")
    except imaplib.IMAP4.error:
        pass
    imap.logout()
    print("ok: IMAP login refused")

    with smtplib.SMTP(host, int(smtp_port), timeout=TIMEOUT) as smtp:
        smtp.ehlo("client.example.org")
        refused = smtp.sendmail("sender@example.org", [address],
                                "From: sender@example.org\r\nTo: %s\r\nSubject: metrics\r\n\r\nHello.\r\n" % address)
        if refused:
            fail("SMTP refused %r" % refused)
    print("ok: SMTP delivery")

    pop = poplib.POP3(host, int(pop3_port), timeout=TIMEOUT)
    pop.user(address)
    pop.pass_(password)
    pop.stat()
    pop.quit()
    print("ok: POP3 login")

    with smtplib.SMTP(host, int(submission_port), timeout=TIMEOUT) as smtp:
        smtp.ehlo("client.example.org")
        smtp.login(address, password)
        refused = smtp.sendmail(address, [address],
                                "From: %s\r\nTo: %s\r\nSubject: submitted\r\n\r\nHello.\r\n" % (address, address))
        if refused:
            fail("submission refused %r" % refused)
    print("ok: submission")

    managesieve_login(host, sieve_port, address, password)
    print("ok: ManageSieve login")

    after, families = scrape(base)
    checks = [
        ("sealbox_logins_total", {"protocol": "imap", "result": "ok"}, 1),
        ("sealbox_logins_total", {"protocol": "imap", "result": "failed"}, 1),
        ("sealbox_sessions_total", {"protocol": "imap"}, 2),
        ("sealbox_sessions_total", {"protocol": "smtp"}, 1),
        ("sealbox_sessions_total", {"protocol": "http"}, 1),
        ("sealbox_smtp_messages_received_total", {}, 1),
        ("sealbox_logins_total", {"protocol": "pop3", "result": "ok"}, 1),
        ("sealbox_logins_total", {"protocol": "smtp", "result": "ok"}, 1),
        ("sealbox_logins_total", {"protocol": "managesieve", "result": "ok"}, 1),
        ("sealbox_sessions_total", {"protocol": "pop3"}, 1),
        ("sealbox_sessions_total", {"protocol": "submission"}, 1),
        ("sealbox_sessions_total", {"protocol": "managesieve"}, 1),
        ("sealbox_smtp_messages_submitted_total", {}, 1),
    ]
    for name, labels, least in checks:
        moved = value(after, name, **labels) - value(before, name, **labels)
        if moved < least:
            fail("%s%r moved by %s, expected at least %s" % (name, labels, moved, least))
        print("ok: %s%r +%g" % (name, labels, moved))

    expected_types = {
        "sealbox_logins": "counter",
        "sealbox_sessions_active": "gauge",
        "sealbox_queue_inbound_messages": "gauge",
        "sealbox_queue_outbound_jobs": "gauge",
        "sealbox_mailboxes_unlocked": "gauge",
        "sealbox_mailbox_unlock_seconds": "histogram",
        "sealbox_dns_query_seconds": "histogram",
        "sealbox_smtp_messages_refused": "counter",
        "sealbox_outbound_recipients": "counter",
        "sealbox_http_responses": "counter",
    }
    for name, kind in expected_types.items():
        if families.get(name) != kind:
            fail("family %s is %r, expected %s" % (name, families.get(name), kind))
    print("ok: metric types")
    if value(after, "sealbox_mailbox_unlock_seconds_count", path="kdf") + value(after, "sealbox_mailbox_unlock_seconds_count", path="cached") < 1:
        fail("no unlock was timed")
    print("ok: unlock timed")
    bad = [name for name in families if not name.startswith("sealbox_")]
    if bad:
        fail("metrics without the sealbox_ prefix: %r" % bad)
    print("ok: every family is sealbox_*")


if __name__ == "__main__":
    main()
