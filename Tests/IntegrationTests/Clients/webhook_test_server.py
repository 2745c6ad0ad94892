#!/usr/bin/env python3
"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 that records every POST (its
headers and body) as N.json in --out, answering 503 to the first --fail-first requests (to
exercise retries) and 204 afterwards. Writes "<port>\n" to --ready once it listens.

    webhook_test_server.py --port 0 --ready F --out DIR [--fail-first N]
"""
import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=0)
p.add_argument("--ready", required=True)
p.add_argument("--out", required=True)
p.add_argument("--fail-first", type=int, default=0)
args = p.parse_args()
lock = threading.Lock()
state = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            state["n"] += 1
            n = state["n"]
        status = 503 if n <= args.fail_first else 204
        record = {"n": n, "path": self.path, "status": status, "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8")}
        tmp = os.path.join(args.out, f".{n}.json")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(args.out, f"{n}.json"))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
with open(args.ready + ".tmp", "w") as f:
    f.write(f"{server.server_address[1]}\n")
os.rename(args.ready + ".tmp", args.ready)
server.serve_forever()
