"""The same edge cases against any ManageSieve server, one line per situation: the response's
status, its response code, and the shape of its text (a literal of line-numbered diagnostics or
a quoted string). ManageSieveClientTests runs it against Dovecot's managesieved and Sealbox and
compares the lines (wording is each server's own; codes and shapes must agree).

usage: managesieve_probe.py HOST PORT USER PASSWORD"""
import base64, re, socket, sys

host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port), timeout=30)
buf = b""


def read_response():
    """Lines up to the OK/NO/BYE line (literals read whole): (data lines, status line, its literal)."""
    global buf
    lines = []
    while True:
        while b"\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return lines, b"<closed>", None
            buf += d
        line, buf = buf.split(b"\r\n", 1)
        literal = None
        m = re.search(rb"\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            while len(buf) < n + 2:
                buf += s.recv(65536)
            literal, buf = buf[:n], buf[n + 2:]
        if line[:2] in (b"OK", b"NO") or line[:3] == b"BYE":
            return lines, line, literal
        lines.append((line, literal))


def shape(status, literal):
    m = re.match(rb"(OK|NO|BYE)(?: \(([^)\"]*)(?: \"[^\"]*\")?\))?", status)
    out = m.group(1).decode() if m else status.decode(errors="replace")
    if m and m.group(2):
        out += " (%s)" % m.group(2).decode()
    if literal is not None:
        out += " literal" + (" line-numbered" if re.search(rb"line \d+: (error|warning)", literal) else "")
    return out


def probe(label, data, show_data=False):
    s.sendall(data)
    lines, status, literal = read_response()
    out = shape(status, literal)
    if show_data:
        out += " data=%r" % [l for l, _ in lines] + (" script=%r" % [lit for _, lit in lines if lit is not None])
    print("%s: %s" % (label, out))


def lit(text):
    b = text.encode() if isinstance(text, str) else text
    return b"{%d+}\r\n" % len(b) + b


greeting, status, _ = read_response()
caps = {l.split(b'"')[1].decode() for l, _ in greeting if l.startswith(b'"')}
print("greeting: %s %s" % (shape(status, None), " ".join(sorted(c for c in caps if c in ("SASL", "SIEVE", "VERSION", "IMPLEMENTATION")))))
probe("AUTHENTICATE unknown mechanism", b'AUTHENTICATE "X-NONE"\r\n')
s.sendall(b'AUTHENTICATE "PLAIN"\r\n')
challenge = b""
while b"\r\n" not in buf:
    buf += s.recv(65536)
challenge, buf = buf.split(b"\r\n", 1)
print("AUTHENTICATE challenge: %r" % challenge)
probe("AUTHENTICATE aborted", b'"*"\r\n')
probe("AUTHENTICATE PLAIN literal+", b'AUTHENTICATE "PLAIN" ' + lit(base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())) + b"\r\n")
good = 'require ["fileinto"];\nfileinto "Work";\n'
probe("PUTSCRIPT a", b'PUTSCRIPT "a" ' + lit(good) + b"\r\n")
probe("PUTSCRIPT a (synchronising literal)", b'PUTSCRIPT "a" {%d}\r\n' % len(good) + good.encode() + b"\r\n")
probe("PUTSCRIPT syntax error", b'PUTSCRIPT "bad" ' + lit('fileinto "x"') + b"\r\n")
probe("CHECKSCRIPT warning", b"CHECKSCRIPT " + lit('require "vacation";\nvacation :days 0 "x";\n') + b"\r\n")
probe("CHECKSCRIPT unknown extension", b"CHECKSCRIPT " + lit('require "nosuchext";\nkeep;\n') + b"\r\n")
probe("CHECKSCRIPT valid", b"CHECKSCRIPT " + lit("keep;\n") + b"\r\n")
probe("PUTSCRIPT utf8 name", 'PUTSCRIPT "Ünïcode" '.encode() + lit("keep;\n") + b"\r\n")
probe("PUTSCRIPT control character in name", b"PUTSCRIPT " + lit(b"a\x01b") + b" " + lit("keep;\n") + b"\r\n")
probe("PUTSCRIPT empty name", b'PUTSCRIPT "" ' + lit("keep;\n") + b"\r\n")
probe("LISTSCRIPTS", b"LISTSCRIPTS\r\n", show_data=True)
probe("SETACTIVE a", b'SETACTIVE "a"\r\n')
probe("SETACTIVE a again", b'SETACTIVE "a"\r\n')
probe("SETACTIVE missing", b'SETACTIVE "missing"\r\n')
probe("LISTSCRIPTS with active", b"LISTSCRIPTS\r\n", show_data=True)
probe("DELETESCRIPT active", b'DELETESCRIPT "a"\r\n')
probe("DELETESCRIPT missing", b'DELETESCRIPT "missing"\r\n')
probe("RENAMESCRIPT to existing", 'RENAMESCRIPT "a" "Ünïcode"\r\n'.encode())
probe("RENAMESCRIPT to itself", b'RENAMESCRIPT "a" "a"\r\n')
probe("RENAMESCRIPT missing", b'RENAMESCRIPT "missing" "z"\r\n')
probe("GETSCRIPT missing", b'GETSCRIPT "missing"\r\n')
probe("GETSCRIPT a", b'GETSCRIPT "a"\r\n', show_data=True)
probe("HAVESPACE 10MB", b'HAVESPACE "big" 10000000\r\n')
probe("HAVESPACE small", b'HAVESPACE "small" 100\r\n')
probe("HAVESPACE not a number", b'HAVESPACE "small" abc\r\n')
probe("PUTSCRIPT 2 MB literal", b'PUTSCRIPT "huge" {2000000+}\r\n' + b"#" * 2000000 + b"\r\n")
probe("NOOP after the skipped literal", b"NOOP\r\n")
probe("NOOP tag", b'NOOP "probe-1"\r\n')
probe("unknown command", b"FROBNICATE\r\n")
probe("bad escape", b'GETSCRIPT "a\\x"\r\n')
probe("missing argument", b'PUTSCRIPT "y"\r\n')
probe("extra argument", b'GETSCRIPT "a" "b"\r\n')
probe("STARTTLS after login", b"STARTTLS\r\n")
probe("SETACTIVE \"\" (deactivate)", b'SETACTIVE ""\r\n')
probe("SETACTIVE \"\" with none active", b'SETACTIVE ""\r\n')
probe("DELETESCRIPT a", b'DELETESCRIPT "a"\r\n')
probe("DELETESCRIPT Ünïcode", 'DELETESCRIPT "Ünïcode"\r\n'.encode())
for i in range(32):
    s.sendall(b'PUTSCRIPT "s%d" "keep;"\r\n' % i)
    read_response()
probe("PUTSCRIPT 33rd script", b'PUTSCRIPT "s32" "keep;"\r\n')
probe("HAVESPACE 33rd script", b'HAVESPACE "s32" 10\r\n')
probe("HAVESPACE replacing a script", b'HAVESPACE "s1" 10\r\n')
for i in range(32):
    s.sendall(b'DELETESCRIPT "s%d"\r\n' % i)
    read_response()
probe("LISTSCRIPTS at the end", b"LISTSCRIPTS\r\n", show_data=True)
probe("LOGOUT", b"LOGOUT\r\n")
# A wrong password on a connection of its own (Dovecot answers it after a delay, and answers
# commands sent meanwhile first).
s.close()
s = socket.create_connection((host, port), timeout=30)
buf = b""
read_response()
probe("AUTHENTICATE wrong password", b'AUTHENTICATE "PLAIN" "' + base64.b64encode(b"\0" + user.encode() + b"\0wrong") + b'"\r\n')
probe("LISTSCRIPTS before login", b"LISTSCRIPTS\r\n")
# Memory before login stays small: both servers end the connection (Dovecot resets it, Sealbox
# says BYE first).
try:
    s.sendall(b'AUTHENTICATE "PLAIN" {100000+}\r\n' + b"A" * 100000 + b"\r\n")
    _, status, _ = read_response()
    ended = status.startswith(b"BYE") or status == b"<closed>"
except ConnectionError:
    ended = True
print("AUTHENTICATE 100 KB literal before login: %s" % ("connection ended" if ended else "connection kept"))
