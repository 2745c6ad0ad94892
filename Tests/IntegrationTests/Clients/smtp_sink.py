#!/usr/bin/env python3
"""A smarthost for the forwarding tests: aiosmtpd on 127.0.0.1:--port that stores every message it
accepts as N.eml plus N.json (mail_from, rcpt_tos) in --out, refuses the --reject recipients with
550 5.1.1, and writes "<port>\n" to --ready once it listens.

    smtp_sink.py --port 0 --ready F --out DIR [--reject ADDRESS ...]
"""
import argparse
import asyncio
import json
import os

from aiosmtpd.smtp import SMTP

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=0)
p.add_argument("--ready", required=True)
p.add_argument("--out", required=True)
p.add_argument("--reject", action="append", default=[])
args = p.parse_args()
count = 0


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.reject:
            return f"550 5.1.1 <{address}>: no such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        base = os.path.join(args.out, str(count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 OK"


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), enable_SMTPUTF8=True, decode_data=False), host="127.0.0.1", port=args.port)
    with open(args.ready + ".tmp", "w") as f:
        f.write(f"{server.sockets[0].getsockname()[1]}\n")
    os.rename(args.ready + ".tmp", args.ready)
    await server.serve_forever()


asyncio.run(main())
