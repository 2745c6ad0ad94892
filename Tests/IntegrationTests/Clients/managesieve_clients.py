"""One ManageSieve scenario through a real PyPI client (sievelib, managesieve or sievemgr), against
Sealbox or Dovecot's managesieved alike: log in (over STARTTLS, the certificate verified against
--cafile, or in plaintext), upload a script, list it, check a valid and an invalid script (the
invalid one refused with a line-numbered error), activate, download (byte-exact), deactivate,
delete. Exits non-zero with the step that failed.

usage: managesieve_clients.py --client NAME --host H --port P --user U --password PW [--tls starttls|none] [--cafile F]"""
import argparse, os, ssl, sys, warnings

p = argparse.ArgumentParser()
p.add_argument("--client", required=True, choices=["sievelib", "managesieve", "sievemgr"])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--tls", default="starttls", choices=["starttls", "none"])
p.add_argument("--cafile")
a = p.parse_args()
warnings.simplefilter("ignore")
if a.cafile:
    os.environ["SSL_CERT_FILE"] = a.cafile  # ssl.create_default_context() in sievelib and managesieve

NAME = "sealbox-test"
GOOD = 'require ["fileinto"];\r\nif header :contains "subject" "[list]" {\r\n  fileinto "Lists";\r\n}\r\n'
BAD = 'fileinto "x"'


def check(cond, what):
    if not cond:
        print("FAILED: %s" % what)
        sys.exit(1)
    print("ok: %s" % what)


if a.client == "sievelib":
    from sievelib.managesieve import Client
    # sievelib waits 5 s for a line: a login (a KDF) on a loaded test machine can take longer.
    Client.read_timeout = 60
    c = Client(a.host, a.port)
    check(c.connect(a.user, a.password, starttls=a.tls == "starttls", authmech="PLAIN"), "connect and log in")
    check(c.putscript(NAME, GOOD), "PUTSCRIPT")
    active, others = c.listscripts()
    check(NAME in others and active is None, "LISTSCRIPTS shows it, none active")
    check(c.checkscript(GOOD), "CHECKSCRIPT valid")
    check(not c.checkscript(BAD) and b"line 1" in (c.errmsg or b""), "CHECKSCRIPT invalid refused with a line number (%r)" % c.errmsg)
    check(not c.putscript("bad", BAD) and b"line 1" in (c.errmsg or b""), "PUTSCRIPT invalid refused (%r)" % c.errmsg)
    check(c.havespace(NAME, 1000), "HAVESPACE")
    check(c.setactive(NAME), "SETACTIVE")
    active, others = c.listscripts()
    check(active == NAME, "LISTSCRIPTS shows it active")
    # sievelib hands the script back line by line joined with LF, without the last line end
    check(c.getscript(NAME) == GOOD.replace("\r\n", "\n").rstrip("\n"), "GETSCRIPT (as sievelib returns it)")
    check(not c.deletescript(NAME) and c.errcode == b"ACTIVE", "DELETESCRIPT of the active script refused (ACTIVE)")
    check(c.setactive(""), "SETACTIVE \"\" deactivates")
    check(c.renamescript(NAME, NAME + "-2"), "RENAMESCRIPT")
    check(c.deletescript(NAME + "-2"), "DELETESCRIPT")
    check(c.listscripts() == (None, []), "nothing left")
    c.logout()
elif a.client == "managesieve":
    import managesieve
    m = managesieve.MANAGESIEVE(a.host, a.port, use_tls=a.tls == "starttls")
    check(m.authenticate("PLAIN", a.user, a.password) == "OK", "AUTHENTICATE PLAIN")
    check(m.putscript(NAME, GOOD) == "OK", "PUTSCRIPT")
    typ, scripts = m.listscripts()
    check(typ == "OK" and (NAME, False) in scripts, "LISTSCRIPTS shows it (%r)" % (scripts,))
    typ = m.putscript("bad", BAD)
    check(typ == "NO" and "line 1" in str(m.response_text), "PUTSCRIPT invalid refused (%r)" % m.response_text)
    check(m.havespace(NAME, 1000) == "OK", "HAVESPACE")
    check(m.setactive(NAME) == "OK", "SETACTIVE")
    typ, scripts = m.listscripts()
    check((NAME, True) in scripts, "LISTSCRIPTS shows it active")
    typ, data = m.getscript(NAME)
    check(typ == "OK" and data == GOOD, "GETSCRIPT byte-exact (%r)" % (data,))
    check(m.deletescript(NAME) == "NO" and m.response_code == "ACTIVE", "DELETESCRIPT of the active script refused (%r)" % m.response_code)
    check(m.setactive("") == "OK", "SETACTIVE \"\" deactivates")
    check(m.deletescript(NAME) == "OK", "DELETESCRIPT")
    check(m.listscripts() == ("OK", []), "nothing left")
    m.logout()
else:
    import sievemgr
    mgr = sievemgr.SieveManager()
    if a.cafile:
        mgr.sslcontext.load_verify_locations(cafile=a.cafile)
    mgr.open(a.host, a.port, tls=a.tls == "starttls", ocsp=False)
    mgr.authenticate(a.user, a.password)
    print("ok: open and authenticate")
    mgr.putscript(GOOD, NAME)
    check((NAME, False) in mgr.listscripts(), "PUTSCRIPT and LISTSCRIPTS")
    mgr.checkscript(GOOD)
    print("ok: CHECKSCRIPT valid")
    try:
        mgr.checkscript(BAD)
        check(False, "CHECKSCRIPT invalid refused")
    except sievemgr.SieveOperationError as e:
        check("line 1" in str(e), "CHECKSCRIPT invalid refused with a line number (%s)" % str(e).strip())
    mgr.havespace(NAME, 1000)
    mgr.setactive(NAME)
    check((NAME, True) in mgr.listscripts(), "SETACTIVE")
    check(mgr.getscript(NAME) == GOOD, "GETSCRIPT byte-exact")
    mgr.unsetactive()
    check((NAME, False) in mgr.listscripts(), "deactivated")
    mgr.deletescript(NAME)
    check(mgr.listscripts() == [], "DELETESCRIPT")
    mgr.logout()
print("PASSED %s" % a.client)
