"""The CLI beside a running `sealbox serve`, over its control socket: a `deliver` wakes an IMAP
IDLE at once, revoking the password of an IMAP session ends it with BYE at once, a user other
than root or the node's own is refused by the socket, and a client killed in the middle of a
command leaves the node serving. Every wait is bounded (socket timeouts); prints OK lines."""
import argparse
import os
import socket
import struct
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--address", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--sealbox", required=True)
ap.add_argument("--data-dir", required=True)
args = ap.parse_args()
env = dict(os.environ, SEALBOX_DATA_DIR=args.data_dir)
env.pop("SEALBOX_PASSWORD", None)


def sealbox(*argv, stdin=b"", password=None):
    e = dict(env)
    if password:
        e["SEALBOX_PASSWORD"] = password
    r = subprocess.run([args.sealbox, *argv], input=stdin, capture_output=True, env=e, timeout=60)
    if r.returncode != 0:
        sys.exit(f"FAIL sealbox {argv}: {r.returncode} {r.stderr.decode()}")
    return r.stdout.decode()


class IMAP:
    def __init__(self, password, address=None):
        # 60 s: a login runs a KDF, slow on a loaded two-core CI machine beside the other suites.
        self.s = socket.create_connection(("127.0.0.1", args.port), timeout=60)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.send(f'a LOGIN {address or args.address} "{password}"')
        self.until(b"a ")
        self.send("b SELECT INBOX")
        self.until(b"b ")

    def send(self, line):
        self.s.sendall(line.encode() + b"\r\n")

    def line(self):
        line = self.f.readline()
        if not line:
            sys.exit("FAIL the server closed the connection")
        return line

    def until(self, prefix):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(prefix):
                if b" OK" not in line[:8]:
                    sys.exit(f"FAIL {line!r}")
                return lines


# A second password, for the session that will be revoked.
second = sealbox("password", "generate", args.address, "--label", "live", password=args.password).strip()
ids = [l.split()[0] for l in sealbox("password", "list", args.address).splitlines() if " live " in l]
imap = IMAP(second)
imap.send("c IDLE")
if not imap.line().startswith(b"+"):
    sys.exit("FAIL no IDLE continuation")

# deliver → EXISTS while idling (the socket's timeout bounds the wait).
sealbox("deliver", args.address, stdin=b"Subject: live\r\n\r\nbody\r\n")
line = imap.line()
if not line.endswith(b"EXISTS\r\n"):
    sys.exit(f"FAIL expected EXISTS, got {line!r}")
print("OK idle woken by deliver:", line.decode().strip())

# revoke → BYE, without the client sending anything.
sealbox("password", "revoke", args.address, ids[0])
seen = []
while True:
    try:
        line = imap.f.readline()
    except socket.timeout:
        sys.exit(f"FAIL no BYE within the timeout after revoke; saw {seen}")
    if not line:
        sys.exit(f"FAIL closed without BYE; saw {seen}")
    seen.append(line)
    if line.startswith(b"* BYE"):
        break
print("OK bye on revoke:", line.decode().strip())

# The first password still works over IMAP (only the revoked one ended).
IMAP(args.password).send("z LOGOUT")

# Another user: the socket is 0600 in a 0700 directory; opened up on purpose, the node itself refuses.
sock_path = os.path.join(args.data_dir, "control.sock")
if os.geteuid() == 0:
    mode_dir, mode_sock = os.stat(args.data_dir).st_mode & 0o777, os.stat(sock_path).st_mode & 0o777
    os.chmod(args.data_dir, 0o711)
    os.chmod(sock_path, 0o666)
    try:
        pid = os.fork()
        if pid == 0:
            os.setgid(65534)
            os.setuid(65534)
            code = 0
            try:
                c = socket.socket(socket.AF_UNIX)
                c.settimeout(10)
                c.connect(sock_path)
                request = b'{"arguments":["alias","list"],"workingDirectory":"/","stderrIsTerminal":false,"environment":{}}'
                c.sendall(struct.pack(">BI", 1, len(request)) + request)
                data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                code = 3 if data else 0  # refused: closed without a byte
            except Exception:
                code = 0
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("FAIL another user got an answer from the control socket")
        print("OK another user refused")
    finally:
        os.chmod(args.data_dir, mode_dir)
        os.chmod(sock_path, mode_sock)

# Purge beside the node, right after a session ended (the mailbox is still open for its grace period).
domain = args.address.split("@")[1]
third = f"purge-me@{domain}"
sealbox("alias", "add", third)
third_password = sealbox("password", "generate", third).strip()
session = IMAP(third_password, third)
session.send("z LOGOUT")
session.until(b"z ")
out = sealbox("alias", "remove", third, "--purge")
if "deleted mailboxes/" not in out:
    sys.exit(f"FAIL purge while serving: {out}")
try:
    IMAP(third_password, third)
    sys.exit("FAIL the purged mailbox still logs in")
except SystemExit as e:
    if "FAIL the purged" in str(e):
        raise
print("OK purged while serving")

# A client that goes away while the node waits for its standard input.
p = subprocess.Popen([args.sealbox, "deliver", args.address], stdin=subprocess.PIPE, env=env)
p.stdin.write(b"Subject: half\r\n")
p.stdin.flush()
time.sleep(0.5)
p.kill()
p.wait(timeout=10)
out = sealbox("alias", "list")
if args.address not in out:
    sys.exit(f"FAIL alias list after a client went away: {out}")
print("OK client gone, node still serving")
