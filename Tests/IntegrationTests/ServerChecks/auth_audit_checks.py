"""Failed logins against a running `sealbox serve` (started with --allow-insecure-auth) for the
audit log test, and an absurd IMAP literal: one failed IMAP LOGIN, one failed POP3 USER/PASS,
then `{99999999999+}` must get `* BYE [TOOBIG]` and the connection closed at once.

usage: auth_audit_checks.py HOST IMAP_PORT POP3_PORT USER WRONG_PASSWORD
"""
import socket, sys

from rawconn import Conn

host, imap_port, pop3_port, user, wrong = sys.argv[1:6]

imap = Conn(socket.create_connection((host, int(imap_port))))
imap.line()
imap.send('a1 LOGIN "%s" "%s"\r\n' % (user, wrong))
reply = imap.until("a1 ")[-1]
assert reply.startswith("a1 NO [AUTHENTICATIONFAILED]"), reply

pop = Conn(socket.create_connection((host, int(pop3_port))))
pop.line()
pop.send("USER %s\r\n" % user)
assert pop.line().startswith("+OK")
pop.send("PASS %s\r\n" % wrong)
reply = pop.line()
assert reply.startswith("-ERR"), reply
pop.send("QUIT\r\n")

# An absurd synchronizing literal: refused at once, no continuation.
imap.send("a2 LOGIN {99999999999}\r\n")
reply = imap.line()
assert reply.startswith("a2 BAD [TOOBIG]"), reply

# An absurd non-synchronizing literal: refused as soon as its line is read, not after 100 GB.
imap.send("a3 LOGIN {99999999999+}\r\n")
bye = imap.line()
assert bye.startswith("* BYE [TOOBIG]"), bye
imap.sock.settimeout(10)
rest = imap.sock.recv(100)
assert rest == b"", rest
print("ok")
