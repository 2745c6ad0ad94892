#!/usr/bin/env python3
"""A private Postfix instance as the MX of a test domain: receives on --host:--port (STARTTLS with
a self-signed certificate) and stores mail for --domain in a Maildir under --out (Postfix's
virtual(8) agent, as user nobody). Runs until SIGTERM/SIGINT, then stops Postfix. Writes
"<port>\n" to --ready once smtpd listens. The system's Postfix instance is never touched.

    postfix_mx.py --host 127.0.0.2 --port P --domain dest.example --out DIR --ready F
"""
import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.2")
p.add_argument("--port", type=int, required=True)
p.add_argument("--domain", required=True)
p.add_argument("--out", required=True)
p.add_argument("--ready", required=True)
args = p.parse_args()

postfix = shutil.which("postfix") or "/usr/sbin/postfix"
base = tempfile.mkdtemp(prefix="postfix-mx-")
os.chmod(base, 0o755)
conf = os.path.join(base, "etc")
os.makedirs(conf)
nobody = pwd.getpwnam("nobody")
os.makedirs(args.out, exist_ok=True)
os.chown(args.out, nobody.pw_uid, nobody.pw_gid)
os.chmod(args.out, 0o755)
cert, key = os.path.join(base, "cert.pem"), os.path.join(base, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=mx." + args.domain],
               check=True, capture_output=True)
main_cf = {
    "compatibility_level": "3.6",
    "queue_directory": os.path.join(base, "queue"),
    "data_directory": os.path.join(base, "data"),
    "maillog_file": os.path.join(base, "postfix.log"), "maillog_file_prefixes": base,
    "myhostname": "mx." + args.domain, "mydomain": args.domain, "myorigin": args.domain,
    "mydestination": "", "local_recipient_maps": "", "alias_maps": "", "alias_database": "",
    "inet_interfaces": args.host, "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
    "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
    "virtual_mailbox_domains": args.domain, "virtual_mailbox_base": args.out,
    "virtual_mailbox_maps": "static:maildir/", "virtual_uid_maps": "static:%d" % nobody.pw_uid,
    "virtual_gid_maps": "static:%d" % nobody.pw_gid, "virtual_minimum_uid": "1",
    "smtpd_tls_security_level": "may", "smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key,
    "smtp_dns_support_level": "disabled", "biff": "no", "append_dot_mydomain": "no",
}
with open(os.path.join(conf, "main.cf"), "w") as f:
    f.writelines("%s = %s\n" % kv for kv in main_cf.items())
lines = []
with open("/etc/postfix/master.cf") as f:
    for line in f:
        cols = line.split()
        if line[0] not in "# \t\n" and len(cols) >= 8 and cols[1] in ("inet", "unix", "unix-dgram", "fifo", "pass"):
            if cols[0] == "smtp" and cols[1] == "inet":
                cols[0] = "%s:%d" % (args.host, args.port)
            cols[4] = "n"
            line = " ".join(cols) + "\n"
        lines.append(line)
with open(os.path.join(conf, "master.cf"), "w") as f:
    f.writelines(lines)
os.makedirs(os.path.join(base, "queue"), mode=0o755)
os.makedirs(os.path.join(base, "data"), mode=0o700)
shutil.chown(os.path.join(base, "data"), "postfix", "postfix")


def run(command):
    r = subprocess.run([postfix, "-c", conf, command], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        log = os.path.join(base, "postfix.log")
        tail = open(log).read()[-800:] if os.path.exists(log) else ""
        sys.exit("postfix %s failed: %s\n%s" % (command, (r.stdout + r.stderr).strip()[:800], tail))


def stop(*_):
    subprocess.run([postfix, "-c", conf, "stop"], capture_output=True, timeout=120)
    shutil.rmtree(base, ignore_errors=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
run("start")
for _ in range(300):
    try:
        socket.create_connection((args.host, args.port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
else:
    stop()
with open(args.ready + ".tmp", "w") as f:
    f.write("%d\n" % args.port)
os.rename(args.ready + ".tmp", args.ready)
while True:
    time.sleep(3600)
