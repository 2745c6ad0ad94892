"""An aiosmtpd server for the Outbound tests, on 127.0.0.1 and a port the kernel picks.

Writes "<port>\n" to --ready once it listens. Each message it accepts becomes N.eml (the bytes as
received after dot-unstuffing) and N.json (envelope, MAIL parameters, whether TLS and AUTH were
used) in --out.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument("--ready", required=True)
p.add_argument("--out", required=True)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--implicit-tls", action="store_true")
p.add_argument("--auth", help="user:password that AUTH accepts (AUTH needs TLS)")
p.add_argument("--auth-exclude", action="append", default=[])
p.add_argument("--reject", action="append", default=[], help="RCPT answered 550 5.1.1")
p.add_argument("--tempfail", action="append", default=[], help="RCPT answered 452 4.2.2")
p.add_argument("--mail-reply", help="the reply to every MAIL FROM, e.g. '550 5.7.1 no'")
p.add_argument("--pipelining", action="store_true")
p.add_argument("--stall-data", action="store_true", help="never answer the end of DATA")
p.add_argument("--host", default="127.0.0.1", help="the loopback address to listen on (MX tests use 127.0.0.x)")
p.add_argument("--port", type=int, default=0)
p.add_argument("--no-8bitmime", action="store_true", help="leave 8BITMIME out of the EHLO reply")
p.add_argument("--greeting-reply", help="refuse every session with this greeting, e.g. '554 5.3.2 not here'")
args = p.parse_args()
counter = 0


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if args.pipelining:
            responses.insert(-1, "250-PIPELINING")
        if args.no_8bitmime:
            responses = [r for r in responses if "8BITMIME" not in r]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if args.mail_reply:
            return args.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in args.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        if address in args.tempfail:
            return "452 4.2.2 <%s>: mailbox full, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        global counter
        if args.stall_data:
            await asyncio.sleep(3600)
        counter += 1
        base = os.path.join(args.out, str(counter))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({
                "mailFrom": envelope.mail_from,
                "rcptTo": envelope.rcpt_tos,
                "mailOptions": envelope.mail_options,
                "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": bool(session.authenticated),
                "login": session.auth_data.login.decode() if session.authenticated else None,
                "helo": session.host_name,
            }, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %d" % counter


def authenticator(server, session, envelope, mechanism, auth_data):
    if not args.auth or not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    user, password = args.auth.split(":", 1)
    ok = auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class Refuser(asyncio.Protocol):
    """Answers the greeting with --greeting-reply and closes."""

    def connection_made(self, transport):
        transport.write((args.greeting_reply + "\r\n").encode())
        transport.close()


async def main():
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    handler = Handler()

    def factory():
        kwargs = dict(decode_data=False, enable_SMTPUTF8=True, hostname="relay-test.local",
                      ident="aiosmtpd test")
        if args.greeting_reply:
            return Refuser()
        if context is not None and not args.implicit_tls:
            kwargs["tls_context"] = context
        if args.auth:
            kwargs.update(authenticator=authenticator, auth_require_tls=True,
                          auth_exclude_mechanism=args.auth_exclude)
        return SMTP(handler, **kwargs)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host=args.host, port=args.port,
                                      ssl=context if args.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]
    with open(args.ready + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(args.ready + ".tmp", args.ready)
    await server.serve_forever()


asyncio.run(main())
