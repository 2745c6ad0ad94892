#!/usr/bin/env python3
"""An HTTPS server for the MTA-STS fetch tests, on 127.0.0.1 and a port the kernel picks.

    policy_https_server.py --cert C --key K --ready F

Writes "<port>\n" to --ready. Paths: /.well-known/mta-sts.txt (a policy, text/plain),
/redirect (302 to the policy), /html (the policy as text/html), /big (100 KB of text/plain).
"""
import argparse
import http.server
import os
import ssl

p = argparse.ArgumentParser()
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--ready", required=True)
args = p.parse_args()
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.dest.test\r\nmax_age: 86400\r\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/.well-known/mta-sts.txt":
            self.send(200, POLICY, "text/plain; charset=utf-8")
        elif self.path == "/redirect":
            self.send(302, b"", extra=[("Location", "/.well-known/mta-sts.txt")])
        elif self.path == "/html":
            self.send(200, POLICY, "text/html")
        elif self.path == "/big":
            self.send(200, b"x" * 100_000)
        else:
            self.send(404, b"no")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(args.ready + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(args.ready + ".tmp", args.ready)
server.serve_forever()
