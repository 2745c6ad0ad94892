"""A line-oriented raw socket for the server checks (IMAP and POP3 replies end in CRLF)."""


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        # A login runs a KDF: on a loaded two-core CI machine beside the other suites, more than 10 s.
        self.sock.settimeout(60)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, prefix):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if l.startswith(prefix):
                return lines
