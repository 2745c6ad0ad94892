"""Shared helpers for the real-client scenarios (Python 3.11 stdlib only).

- `Transcript`: every line each connection sends and receives, printed on failure.
- `LoggedIMAP` / `LoggedIMAPSSL`: imaplib clients that write to the transcript (and can bind a
  source address: Dovecot treats a client whose address equals its own as secure).
- `RawIMAP`: a minimal socket client for what imaplib cannot do (IDLE, LITERAL+, pipelining).
- `parse`: a small IMAP data parser (atoms, strings, literals, lists, NIL).
- `common_args`: host/port/user/password/TLS options, with IMAP_* environment fallbacks.
"""
import argparse
import imaplib
import os
import re
import socket
import ssl
import sys
import time
import zlib

# ---------------------------------------------------------------------------------------------
# Transcript


class Transcript:
    def __init__(self):
        self.lines = []

    def log(self, conn, direction, data):
        if isinstance(data, (bytes, bytearray)):
            text = bytes(data).decode("utf-8", "replace")
        else:
            text = str(data)
        text = text.rstrip("\r\n")
        if len(text) > 300:
            text = text[:300] + f"… ({len(text)} chars)"
        self.lines.append(f"{time.strftime('%H:%M:%S')} {conn} {direction} {text}")

    def mark(self):
        return len(self.lines)

    def since(self, mark):
        return self.lines[mark:]

    def note(self, text):
        self.lines.append(f"{time.strftime('%H:%M:%S')} -- {text}")


TRANSCRIPT = Transcript()


# ---------------------------------------------------------------------------------------------
# Options


def common_args(description):
    p = argparse.ArgumentParser(description=description)
    env = os.environ.get
    p.add_argument("--host", default=env("IMAP_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("IMAP_PORT", "143")))
    p.add_argument("--user", default=env("IMAP_USER", "testuser"))
    p.add_argument("--password", default=env("IMAP_PASSWORD", "pass"))
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default=env("IMAP_TLS", "none"),
                   help="none: plaintext (server must allow insecure auth); starttls; implicit (imaps port)")
    p.add_argument("--cafile", default=env("IMAP_CAFILE"), help="trust this PEM certificate (else no verification)")
    p.add_argument("--source-address", default=env("IMAP_SOURCE_ADDRESS"),
                   help="bind the client side to this address (e.g. 127.0.0.2)")
    p.add_argument("--timeout", type=float, default=float(env("IMAP_TIMEOUT", "30")),
                   help="socket timeout per operation, seconds")
    return p


def tls_context(cafile):
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False  # self-signed for a name we cannot know; the chain is verified
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------------------------------------
# imaplib with a transcript

for _name in ("ID", "XBOGUS"):
    imaplib.Commands.setdefault(_name, ("NONAUTH", "AUTH", "SELECTED", "LOGOUT"))


class _LoggedMixin:
    conn_name = "?"
    source_address = None

    def _create_socket(self, timeout):
        src = (self.source_address, 0) if self.source_address else None
        sock = socket.create_connection((self.host or None, self.port), timeout, source_address=src)
        if isinstance(self, imaplib.IMAP4_SSL):
            sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        return sock

    def send(self, data):
        TRANSCRIPT.log(self.conn_name, "C:", data)
        super().send(data)

    def readline(self):
        line = super().readline()
        TRANSCRIPT.log(self.conn_name, "S:", line if line else "<connection closed>")
        return line

    def read(self, size):
        data = super().read(size)
        TRANSCRIPT.log(self.conn_name, "S:", f"<literal {size} bytes: {bytes(data[:60])!r}…>")
        return data

    def take(self, name):
        """Pops untagged responses of one type (imaplib keeps them until read)."""
        return self.untagged_responses.pop(name, [])


class LoggedIMAP(_LoggedMixin, imaplib.IMAP4):
    def __init__(self, host, port, conn_name, timeout, source_address=None):
        self.conn_name = conn_name
        self.source_address = source_address
        imaplib.IMAP4.__init__(self, host, port, timeout=timeout)


class LoggedIMAPSSL(_LoggedMixin, imaplib.IMAP4_SSL):
    def __init__(self, host, port, conn_name, timeout, ssl_context, source_address=None):
        self.conn_name = conn_name
        self.source_address = source_address
        imaplib.IMAP4_SSL.__init__(self, host, port, ssl_context=ssl_context, timeout=timeout)


def connect(opts, name, login=True, tls=None):
    """A logged-in (unless login=False) imaplib connection in the requested TLS mode."""
    tls = tls or opts.tls
    TRANSCRIPT.note(f"{name}: connect {opts.host}:{opts.port} tls={tls}")
    if tls == "implicit":
        m = LoggedIMAPSSL(opts.host, opts.port, name, opts.timeout, tls_context(opts.cafile), opts.source_address)
    else:
        m = LoggedIMAP(opts.host, opts.port, name, opts.timeout, opts.source_address)
        if tls == "starttls":
            m.starttls(tls_context(opts.cafile))
    if login:
        m.login(opts.user, opts.password)
        m._get_capabilities()  # capabilities change after login (clients ask again)
    return m


# ---------------------------------------------------------------------------------------------
# Raw socket client


class RawIMAP:
    def __init__(self, opts, name, tls=None):
        self.name = name
        self.opts = opts
        self.tag_n = 0
        self.buf = b""
        tls = tls or opts.tls
        src = (opts.source_address, 0) if opts.source_address else None
        TRANSCRIPT.note(f"{name}: raw connect {opts.host}:{opts.port} tls={tls}")
        self.sock = socket.create_connection((opts.host, opts.port), opts.timeout, source_address=src)
        if tls == "implicit":
            self.sock = tls_context(opts.cafile).wrap_socket(self.sock, server_hostname=opts.host)
        self.greeting = self.readline()
        if tls == "starttls":
            tag = self.send_command("STARTTLS")
            _, tagged = self.read_until_tagged(tag)
            if not tagged.split()[1:2] == [b"OK"]:
                raise AssertionError(f"STARTTLS refused: {tagged!r}")
            self.start_tls()

    def start_tls(self):
        if self.buf:
            raise AssertionError(f"server sent data after the STARTTLS reply, before the handshake: {self.buf!r}")
        self.sock = tls_context(self.opts.cafile).wrap_socket(self.sock, server_hostname=self.opts.host)

    def next_tag(self):
        self.tag_n += 1
        return f"R{self.tag_n:03d}"

    def send_raw(self, data):
        TRANSCRIPT.log(self.name, "C:", data)
        self.sock.sendall(data)

    def send_command(self, text):
        tag = self.next_tag()
        self.send_raw(f"{tag} {text}\r\n".encode())
        return tag

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def readline(self, timeout=None):
        """One protocol line with its literals inlined (bytes, CRLF stripped)."""
        timeout = self.opts.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no complete line within {timeout}s (have {self.buf[:200]!r})")
                self._fill(left)
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"~?\{(\d+)\+?\}$", line)
            if not m:
                break
            n = int(m.group(1))
            while len(self.buf) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: literal of {n} bytes incomplete")
                self._fill(left)
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
        TRANSCRIPT.log(self.name, "S:", out)
        return out

    def read_until_tagged(self, tag, timeout=None):
        untagged = []
        while True:
            line = self.readline(timeout)
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append(line)

    def command(self, text, timeout=None):
        tag = self.send_command(text)
        return self.read_until_tagged(tag, timeout)

    def start_compression(self):
        """RFC 4978: after the tagged OK of COMPRESS DEFLATE, raw deflate both ways."""
        if self.buf:
            raise AssertionError(f"server sent uncompressed data after the COMPRESS reply: {self.buf!r}")
        self.sock = DeflateSocket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class DeflateSocket:
    """A socket whose bytes are raw deflate (RFC 1951) both ways, sync-flushed per send."""

    def __init__(self, sock):
        self.sock = sock
        self.deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflater = zlib.decompressobj(-15)
        self.wire_in = 0
        self.wire_out = 0

    def settimeout(self, t):
        self.sock.settimeout(t)

    def sendall(self, data):
        wire = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.wire_out += len(wire)
        self.sock.sendall(wire)

    def recv(self, n):
        while True:
            chunk = self.sock.recv(n)
            if not chunk:
                return b""
            self.wire_in += len(chunk)
            out = self.inflater.decompress(chunk)
            if out:
                return out

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# IMAP data parser: atoms -> str, quoted strings and literals -> bytes, NIL -> None, lists -> list


class ParseError(Exception):
    pass


def parse(data, pos=0):
    """Parses a sequence of IMAP values from bytes (literals inline as {n}\\r\\n<n bytes>)."""
    values = []
    pos = _parse_seq(data, pos, values, top=True)
    return values


def _parse_seq(data, pos, out, top):
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"(":
            inner = []
            pos = _parse_seq(data, pos + 1, inner, top=False)
            out.append(inner)
        elif c == b")":
            if top:
                raise ParseError(f"unbalanced ')' at {pos}")
            return pos + 1
        elif c == b'"':
            s = bytearray()
            pos += 1
            while True:
                if pos >= n:
                    raise ParseError("unterminated quoted string")
                ch = data[pos:pos + 1]
                if ch == b"\\":
                    s += data[pos + 1:pos + 2]
                    pos += 2
                elif ch == b'"':
                    pos += 1
                    break
                else:
                    s += ch
                    pos += 1
            out.append(bytes(s))
        elif c in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", data[pos:pos + 24]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
            start = pos + m.end()
            size = int(m.group(1))
            if start + size > n:
                raise ParseError("truncated literal")
            out.append(bytes(data[start:start + size]))
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")"):
                    # BODY[...]<0> and BODY[HEADER.FIELDS (A B)] are one atom
                    break
                pos += 1
            atom = data[start:pos].decode("utf-8", "replace")
            out.append(None if atom.upper() == "NIL" else atom)
    if not top:
        raise ParseError("unterminated list")
    return pos


def wire(data_list):
    """Re-assembles imaplib's response data into wire bytes with literals inline, one entry per
    response. imaplib stores a response with literals as (prefix, literal) tuples followed by
    exactly one bytes trailer; a response without literals is one bytes element."""
    responses = []
    open_response = False
    for item in data_list:
        if item is None:
            continue
        if isinstance(item, tuple):
            prefix, literal = item
            piece = prefix + b"\r\n" + literal
            if open_response:
                responses[-1] += piece
            else:
                responses.append(piece)
            open_response = True
        else:
            if open_response:
                responses[-1] += item
            else:
                responses.append(item)
            open_response = False
    return responses


def fetch_items(data_list):
    """{seq: {ITEM-NAME (upper): value}} from imaplib FETCH data."""
    result = {}
    for resp in wire(data_list):
        values = parse(resp)
        if len(values) < 2 or not isinstance(values[1], list):
            raise ParseError(f"not a FETCH response: {resp[:200]!r}")
        seq = int(values[0])
        items = values[1]
        if len(items) % 2:
            raise ParseError(f"odd FETCH item list: {resp[:200]!r}")
        d = result.setdefault(seq, {})
        for i in range(0, len(items), 2):
            d[str(items[i]).upper()] = items[i + 1]
    return result


def flags_of(value):
    return {f.lower() for f in (value or [])}


def response_code(data):
    """The [CODE args] of a tagged/untagged response text, as a list of words, or []."""
    text = b" ".join(d for d in data if isinstance(d, bytes)) if isinstance(data, list) else data
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = re.search(r"\[([^\]]*)\]", text or "")
    return m.group(1).split() if m else []
