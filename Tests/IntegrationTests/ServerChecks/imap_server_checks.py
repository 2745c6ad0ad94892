"""Checks on a running `sealbox serve` that need raw sockets: STARTTLS with pipelined plaintext is
refused, plaintext LOGIN is refused before TLS, implicit TLS works, mail delivered by the CLI
reaches an IDLE session within a second, SIGTERM sends BYE.

usage: imap_server_checks.py CHECK HOST IMAP_PORT IMAPS_PORT CERT USER PASSWORD [DATA_DIR SEALBOX_BIN READY_FILE]
"""
import os, socket, ssl, subprocess, sys, time

from rawconn import Conn

check, host, port, sport, cert, user, password = sys.argv[1:8]
port, sport = int(port), int(sport)
ctx = ssl.create_default_context(cafile=cert)


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def plain():
    c = Conn(socket.create_connection((host, port)))
    greeting = c.line()
    expect(greeting.startswith("* OK [CAPABILITY") and "STARTTLS" in greeting and "LOGINDISABLED" in greeting, greeting)
    return c


if check == "starttls-pipelining":
    c = plain()
    # A command injected after STARTTLS in the same packet must never be obeyed.
    c.send("a STARTTLS\r\nb LOGIN %s %s\r\n" % (user, password))
    lines = []
    try:
        while True:
            lines.append(c.line())
    except (EOFError, ConnectionError, socket.timeout):
        pass
    expect(any(l.startswith("a BAD") for l in lines), "STARTTLS with pipelined data refused: %r" % lines)
    expect(not any(l.startswith("b ") for l in lines), "the pipelined command was not answered: %r" % lines)

elif check == "starttls":
    c = plain()
    c.send("a LOGIN %s %s\r\n" % (user, password))
    r = c.until("a ")
    expect(r[-1].startswith("a NO [PRIVACYREQUIRED]"), r)
    c.send("b STARTTLS\r\n")
    r = c.until("b ")
    expect(r[-1].startswith("b OK"), r)
    t = Conn(ctx.wrap_socket(c.sock, server_hostname="localhost"))
    expect(t.sock.version() in ("TLSv1.3", "TLSv1.2"), t.sock.version())
    t.send("c CAPABILITY\r\n")
    r = t.until("c ")
    expect("AUTH=PLAIN" in r[0] and "STARTTLS" not in r[0] and "LOGINDISABLED" not in r[0], r)
    t.send("d LOGIN %s %s\r\n" % (user, password))
    expect(t.until("d ")[-1].startswith("d OK"), "login after STARTTLS")
    t.send("e LOGOUT\r\n")
    t.until("e ")

elif check == "imaps-idle-deliver":
    data_dir, binary = sys.argv[8], sys.argv[9]
    t = Conn(ctx.wrap_socket(socket.create_connection((host, sport)), server_hostname="localhost"))
    t.line()
    t.send("a LOGIN %s %s\r\n" % (user, password))
    expect(t.until("a ")[-1].startswith("a OK"), "login over implicit TLS")
    t.send("b SELECT INBOX\r\n")
    exists = [l for l in t.until("b ") if l.endswith(" EXISTS")][0]
    n = int(exists.split()[1])
    t.send("c IDLE\r\n")
    expect(t.line().startswith("+"), "idling")
    env = dict(os.environ, SEALBOX_DATA_DIR=data_dir)
    subprocess.run([binary, "deliver", user], input=b"Subject: live\r\n\r\nhello\r\n", env=env, check=True)
    delivered = time.monotonic()
    line = t.line()
    latency = time.monotonic() - delivered
    expect(line == "* %d EXISTS" % (n + 1), "EXISTS during IDLE, got %r" % line)
    print("idle-latency-ms %.0f" % (latency * 1000))
    t.send("DONE\r\n")
    expect(t.until("c ")[-1].startswith("c OK"), "IDLE terminated")
    # Stay connected: the caller sends SIGTERM and reads the BYE through the next check.
    t.send("d NOOP\r\n")
    t.until("d ")
    open(sys.argv[10], "w").close()  # tell the test to stop the server now
    time.sleep(0.2)
    lines = []
    try:
        while True:
            lines.append(t.line())
    except (EOFError, ConnectionError, socket.timeout, ssl.SSLError):
        pass
    expect(any(l.startswith("* BYE") for l in lines), "BYE at shutdown: %r" % lines)

else:
    print("unknown check", check)
    sys.exit(2)
print("ok", check)
