#!/usr/bin/env python3
"""Differential oracle for the MIME parser: starts a throwaway Dovecot (Debian dovecot-imapd) on a free
loopback port, APPENDs the given messages, FETCHes ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE and, per
requested part, BODY.PEEK[n.MIME] and BINARY.SIZE[n], prints JSON (raw wire values, base64), and always
stops Dovecot again.

usage: dovecot-mime-diff.py REQUEST.json   (REQUEST: [{"file": path, "parts": ["1", "1.2", ...]}, ...])
"""
import base64, contextlib, json, os, shutil, signal, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

CONF = """
protocols = imap
listen = 127.0.0.1
instance_name = sealbox-mime-diff-{port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""; self.tag = 0
        self.readline()
    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d: raise EOFError("connection closed")
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line
    def readn(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d: raise EOFError("connection closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def response_line(self):
        """One response with literals inlined as {n}\\r\\n<bytes>."""
        line = self.readline(); out = line
        while line.endswith(b"}\r\n") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
            out += self.readn(n)
            line = self.readline(); out += line
        return out[:-2]
    def cmd(self, text, literal=None):
        self.tag += 1; tag = b"T%d" % self.tag
        if literal is None:
            self.s.sendall(tag + b" " + text + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        untagged = []
        while True:
            r = self.response_line()
            if r.startswith(tag + b" "):
                return r[len(tag) + 1:], untagged
            untagged.append(r)

def fetch_items(resp):
    """Splits '* n FETCH (NAME value NAME value)' into {NAME: raw value bytes}."""
    i = resp.index(b"FETCH (") + 7; items = {}
    def value_end(j):
        c = resp[j:j + 1]
        if c == b"(":
            depth = 0
            while j < len(resp):
                c = resp[j:j + 1]
                if c == b'"': j = quoted_end(j); continue
                if c == b"{": j = literal_end(j); continue
                if c == b"(": depth += 1
                if c == b")":
                    depth -= 1
                    if depth == 0: return j + 1
                j += 1
            return j
        if c == b'"': return quoted_end(j)
        if c == b"{": return literal_end(j)
        while j < len(resp) and resp[j:j + 1] not in (b" ", b")"): j += 1
        return j
    def quoted_end(j):
        j += 1
        while resp[j:j + 1] != b'"':
            j += 2 if resp[j:j + 1] == b"\\" else 1
        return j + 1
    def literal_end(j):
        k = resp.index(b"}", j); n = int(resp[j + 1:k].rstrip(b"+")); return k + 3 + n
    while i < len(resp) and resp[i:i + 1] != b")":
        k = i
        depth = 0
        while resp[k:k + 1] != b" " or depth > 0:
            if resp[k:k + 1] == b"[": depth += 1
            if resp[k:k + 1] == b"]": depth -= 1
            k += 1
        name = resp[i:k].decode(); e = value_end(k + 1)
        items[name] = resp[k + 1:e]; i = e
        if resp[i:i + 1] == b" ": i += 1
    return items

def nstring_value(v):
    """The content of a quoted string, literal or NIL."""
    if v.startswith(b"{"): return v[v.index(b"}") + 3:]
    if v.startswith(b'"'):
        out = bytearray(); i = 1
        while i < len(v) - 1:
            if v[i:i + 1] == b"\\": i += 1
            out += v[i:i + 1]; i += 1
        return bytes(out)
    return b""

@contextlib.contextmanager
def throwaway_dovecot(prefix="sealbox-dovecot-"):
    """A Dovecot (user t, password p, Maildir as vmail) on a free loopback port in a temporary
    directory; yields `connect()`, which returns a logged-in `Conn`. Always stopped afterwards, its
    directory removed (kept when SEALBOX_DOVECOT_KEEP is set)."""
    import pwd
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    port = free_port()
    try:
        pw = pwd.getpwnam("vmail")
    except KeyError:
        subprocess.run(["groupadd", "-f", "-g", "5000", "vmail"], check=False)
        subprocess.run(["useradd", "-u", "5000", "-g", "vmail", "-M", "-s", "/usr/sbin/nologin", "vmail"], check=False)
        pw = pwd.getpwnam("vmail")
    for sub in ("run", "state", "mail"): os.makedirs(os.path.join(d, sub))
    os.chown(os.path.join(d, "mail"), pw.pw_uid, pw.pw_gid)
    open(os.path.join(d, "users"), "w").write("t:{PLAIN}p\n")
    conf = os.path.join(d, "dovecot.conf")
    open(conf, "w").write(CONF.format(d=d, port=port, uid=pw.pw_uid, gid=pw.pw_gid))

    def connect():
        deadline = time.time() + 10
        while True:
            try:
                cc = Conn(port); break
            except OSError:
                if time.time() > deadline: raise
                time.sleep(0.05)
        st, _ = cc.cmd(b"LOGIN t p"); assert st.startswith(b"OK"), st
        return cc

    try:
        with open(os.path.join(d, "master.out"), "wb") as log:
            subprocess.run(["dovecot", "-c", conf], check=True, timeout=30, stdin=subprocess.DEVNULL,
                           stdout=log, stderr=log)
        yield connect
    finally:
        pidfile = os.path.join(d, "run", "master.pid")
        try:
            pid = int(open(pidfile).read().strip())
            os.kill(pid, 15)
            for _ in range(100):   # wait up to 5 s for the master to exit
                os.kill(pid, 0); time.sleep(0.05)
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass
        if os.environ.get("SEALBOX_DOVECOT_KEEP"):
            print("kept " + d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

def main():
    # a terminated run (the Swift test's deadline) still stops Dovecot in the context's finally
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    req = json.load(open(sys.argv[1]))
    with throwaway_dovecot() as connect:
        c = connect()
        for m in req:
            st, _ = c.cmd(b"APPEND INBOX", open(m["file"], "rb").read())
            assert st.startswith(b"OK"), st
        st, _ = c.cmd(b"SELECT INBOX"); assert st.startswith(b"OK"), st
        out = []
        b64 = lambda v: base64.b64encode(v).decode()
        for n, m in enumerate(req, 1):
            st, un = c.cmd(b"FETCH %d (ENVELOPE BODY BODYSTRUCTURE RFC822.SIZE)" % n)
            items = fetch_items([u for u in un if b" FETCH " in u][0])
            res = {"file": m["file"], "envelope": b64(items["ENVELOPE"]), "body": b64(items["BODY"]),
                   "bodystructure": b64(items["BODYSTRUCTURE"]), "size": int(items["RFC822.SIZE"]), "parts": {},
                   "sections": {}}
            for spec in ("HEADER", "TEXT", "HEADER.FIELDS (From To Subject Date X-None)",
                         "HEADER.FIELDS.NOT (Received Subject)"):
                st, un = c.cmd(b"FETCH %d (BODY.PEEK[%s])" % (n, spec.encode()))
                f = [u for u in un if b" FETCH " in u]
                if st.startswith(b"OK") and f:
                    res["sections"][spec] = b64(nstring_value(list(fetch_items(f[0]).values())[0]))
            for p in m.get("messageParts", []):
                for kind in ("HEADER", "TEXT"):
                    st, un = c.cmd(b"FETCH %d (BODY.PEEK[%s.%s])" % (n, p.encode(), kind.encode()))
                    f = [u for u in un if b" FETCH " in u]
                    if st.startswith(b"OK") and f:
                        res["sections"][p + "." + kind] = b64(nstring_value(list(fetch_items(f[0]).values())[0]))
            for p in m["parts"]:
                pr = {}
                st, un = c.cmd(b"FETCH %d (BODY.PEEK[%s.MIME] BODY.PEEK[%s])" % (n, p.encode(), p.encode()))
                f = [u for u in un if b" FETCH " in u]
                if st.startswith(b"OK") and f:
                    its = fetch_items(f[0])
                    for k, v in its.items():
                        if k.endswith(".MIME]"): pr["mime"] = b64(nstring_value(v))
                        elif k.startswith("BODY["): pr["body"] = b64(nstring_value(v))
                try:
                    st, un = c.cmd(b"FETCH %d (BINARY.SIZE[%s])" % (n, p.encode()))
                except (EOFError, OSError):
                    # Dovecot's imap process drops the connection on some broken content: note it, go on
                    st, un = b"DISCONNECTED", []
                    c = connect()
                    c.cmd(b"SELECT INBOX")
                f = [u for u in un if b" FETCH " in u]
                if st.startswith(b"OK") and f:
                    pr["binarySize"] = int(list(fetch_items(f[0]).values())[0])
                else:
                    pr["binaryError"] = st.decode("latin-1")
                res["parts"][p] = pr
            out.append(res)
        c.cmd(b"LOGOUT")
        json.dump(out, sys.stdout)

if __name__ == "__main__":
    main()
