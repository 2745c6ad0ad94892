#!/usr/bin/env python3
"""A private Postfix instance as the sending MTA of a domain, with a private OpenDKIM instance as
its milter: smtpd on 127.0.0.1 and a free port takes mail from the test (127.0.0.0/8 may relay),
OpenDKIM (`Mode s`) signs what comes From --domain with --key (`opendkim-genkey`'s private key) as
--selector, relaxed/relaxed, and Postfix relays everything to the MX at [127.0.0.1]:--mx-port (no
DNS lookups). Mail for the --sink-domains is kept in a Maildir under --out/mail (Postfix's
virtual(8), as user nobody): bounces to those senders come back there. Postfix's log is
--out/postfix.log. Writes "<smtpd port>\n" to --ready once smtpd answers; runs until SIGTERM or
SIGINT, then stops both and removes its private files (configuration, queue, key copy). User nobody
must be able to search --out's parents.

    postfix_opendkim.py --mx-port P --domain good.example --selector S --key S.private
                        --sink-domains good.example,bank.example --out DIR --ready F

Both daemons run in the foreground as this script's children (Postfix's master(8) with -s, OpenDKIM
with -f), as root: master runs its services as user postfix (virtual(8) as nobody); OpenDKIM keeps
root, so the kernel sends it SIGTERM if this script dies (PR_SET_PDEATHSIG). That setting does not
survive master's own uid switches, so master is bounded by --lifetime (its -e) instead. The script
stops both when its parent (the test) goes away. Nothing of the system's Postfix or OpenDKIM (their
configuration, queue, services) is used or changed; /etc/postfix/master.cf is read as the template.
"""
import argparse
import ctypes
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
p.add_argument("--mx-port", type=int, required=True)
p.add_argument("--domain", required=True)
p.add_argument("--selector", required=True)
p.add_argument("--key", required=True)
p.add_argument("--sink-domains", default="")
p.add_argument("--out", required=True)
p.add_argument("--ready", required=True)
p.add_argument("--lifetime", type=int, default=300, help="seconds after which master(8) exits on its own")
args = p.parse_args()

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
daemon_directory = subprocess.run([shutil.which("postconf") or "/usr/sbin/postconf", "-dh", "daemon_directory"],
                                  capture_output=True, text=True, check=True).stdout.strip()
MASTER = os.path.join(daemon_directory, "master")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def die_with_parent():
    """In OpenDKIM before exec: SIGTERM when this script dies, however it dies."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# Private files (configuration, queue, key copy) in a short temporary directory: Postfix names its
# postlog socket by absolute path, and a unix socket's path is at most 107 bytes.
os.makedirs(args.out, exist_ok=True)
base = tempfile.mkdtemp(prefix="pf-dkim-")
os.chmod(base, 0o755)
conf = os.path.join(base, "etc")
os.makedirs(conf)
log = os.path.join(os.path.abspath(args.out), "postfix.log")
mail = os.path.join(os.path.abspath(args.out), "mail")
nobody = pwd.getpwnam("nobody")
os.makedirs(mail, exist_ok=True)
os.chown(mail, nobody.pw_uid, nobody.pw_gid)
os.chmod(mail, 0o755)
children = []


def stop(*_, code=0):
    """master(8) stops its services and exits on SIGTERM. OpenDKIM (libmilter) notices SIGTERM only
    when its listener's 5-second poll ends; it has nothing to save here, so after 1 s it is killed."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child, grace in zip(children, (1, 20)):  # opendkim, master
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    shutil.rmtree(base, ignore_errors=True)
    sys.exit(code)


def fail(message):
    tail = open(log).read()[-1500:] if os.path.exists(log) else ""
    print("postfix_opendkim: %s\n%s" % (message, tail), file=sys.stderr, flush=True)
    stop(code=1)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

# OpenDKIM's files: a private copy of the key. RequireSafeKeys (the default) refuses a key or
# configuration file under a directory others may write to, and /tmp is one (sticky or not).
key = os.path.join(base, "dkim.key")
shutil.copyfile(args.key, key)
os.chmod(key, 0o600)
milter_port = free_port()
opendkim_conf = {
    "Syslog": "no",
    "Mode": "s",
    "Domain": args.domain,
    "Selector": args.selector,
    "KeyFile": key,
    "Canonicalization": "relaxed/relaxed",
    "SignatureAlgorithm": "rsa-sha256",
    "OversignHeaders": "From",
    "InternalHosts": "127.0.0.1",
    "Socket": "inet:%d@127.0.0.1" % milter_port,
    "PidFile": os.path.join(base, "opendkim.pid"),
    "UMask": "007",
    "RequireSafeKeys": "no",
}
with open(os.open(os.path.join(base, "opendkim.conf"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
    f.writelines("%s %s\n" % kv for kv in opendkim_conf.items())
children.append(subprocess.Popen([OPENDKIM, "-f", "-x", os.path.join(base, "opendkim.conf")], preexec_fn=die_with_parent,
                                 stdin=subprocess.DEVNULL))

smtpd_port = free_port()
sinks = [d for d in args.sink_domains.split(",") if d]
main_cf = {
    "compatibility_level": "3.6",
    "queue_directory": os.path.join(base, "queue"),
    "data_directory": os.path.join(base, "data"),
    "maillog_file": log, "maillog_file_prefixes": os.path.dirname(log),
    "myhostname": "mail." + args.domain, "mydomain": args.domain, "myorigin": args.domain,
    "mydestination": "", "local_recipient_maps": "", "alias_maps": "", "alias_database": "",
    "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
    "smtpd_relay_restrictions": "permit_mynetworks, reject",
    # Everything not kept here goes to the MX under test; no DNS lookups at all.
    "relayhost": "[127.0.0.1]:%d" % args.mx_port,
    "smtp_dns_support_level": "disabled", "smtp_tls_security_level": "none",
    "smtpd_milters": "inet:127.0.0.1:%d" % milter_port, "non_smtpd_milters": "",
    "milter_default_action": "tempfail", "milter_protocol": "6",
    # A 4xx from the MX (e.g. DNS slow on a loaded machine) is retried within seconds, not minutes.
    "queue_run_delay": "2s", "minimal_backoff_time": "2s", "maximal_backoff_time": "4s",
    "virtual_mailbox_domains": ", ".join(sinks), "virtual_mailbox_base": mail,
    "virtual_mailbox_maps": "static:maildir/", "virtual_uid_maps": "static:%d" % nobody.pw_uid,
    "virtual_gid_maps": "static:%d" % nobody.pw_gid, "virtual_minimum_uid": "1",
    "biff": "no", "append_dot_mydomain": "no",
}
with open(os.path.join(conf, "main.cf"), "w") as f:
    f.writelines("%s = %s\n" % kv for kv in main_cf.items())
lines = []
with open("/etc/postfix/master.cf") as f:
    for line in f:
        cols = line.split()
        if line[0] not in "# \t\n" and len(cols) >= 8 and cols[1] in ("inet", "unix", "unix-dgram", "fifo", "pass"):
            if cols[0] == "smtp" and cols[1] == "inet":
                cols[0] = "127.0.0.1:%d" % smtpd_port
            cols[4] = "n"  # no chroot: nothing of the instance lives under a chroot
            line = " ".join(cols) + "\n"
        lines.append(line)
with open(os.path.join(conf, "master.cf"), "w") as f:
    f.writelines(lines)
os.makedirs(os.path.join(base, "queue"), mode=0o755)
os.makedirs(os.path.join(base, "data"), mode=0o700)
shutil.chown(os.path.join(base, "data"), "postfix", "postfix")

# `postfix check` makes the queue's directories with their owners and modes; master(8) then runs in
# the foreground (-s: this script's child, not daemonized), exiting by itself after --lifetime.
r = subprocess.run([POSTFIX, "-c", conf, "check"], capture_output=True, text=True, timeout=120)
if r.returncode != 0:
    fail("postfix check failed (%d): %s" % (r.returncode, (r.stdout + r.stderr).strip()[:800]))
children.append(subprocess.Popen([MASTER, "-c", conf, "-s", "-e", str(args.lifetime)], stdin=subprocess.DEVNULL))

deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    if any(child.poll() is not None for child in children):
        fail("opendkim or master exited at start")
    if accepts(milter_port) and accepts(smtpd_port):
        break
    time.sleep(0.1)
else:
    fail("opendkim or smtpd did not start")
with open(args.ready + ".tmp", "w") as f:
    f.write("%d\n" % smtpd_port)
os.rename(args.ready + ".tmp", args.ready)
parent = os.getppid()
while True:
    time.sleep(1)
    for child in children:
        if child.poll() is not None:
            fail("%s exited (%s)" % (child.args[0], child.returncode))
    if os.getppid() != parent:  # the test is gone without stopping us
        stop(code=1)
