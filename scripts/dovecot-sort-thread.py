#!/usr/bin/env python3
"""Records Dovecot's SORT and THREAD answers for the corpus of Tests/IMAPServerTests/SortThreadCorpus.

Starts a throwaway Dovecot (Debian bookworm's dovecot-imapd, set up as scripts/dovecot-mime-diff.py
does) on a free loopback port, APPENDs corpus.json's messages with their internal dates, runs each of
its commands and writes the untagged answer lines (or the tagged status when there is none) to
dovecot-answers.json next to it. Dovecot is always stopped again. SortThreadDifferentialTests runs
the same commands on Sealbox and compares.

usage: scripts/dovecot-sort-thread.py   (as root, like the other Dovecot scripts)
"""
import importlib.util, json, os, pwd, shutil, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("mimediff", os.path.join(HERE, "dovecot-mime-diff.py"))
mimediff = importlib.util.module_from_spec(spec); spec.loader.exec_module(mimediff)
CORPUS = os.path.join(HERE, "..", "Tests", "IMAPServerTests", "SortThreadCorpus")

def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    corpus = json.load(open(os.path.join(CORPUS, "corpus.json")))
    d = tempfile.mkdtemp(prefix="sealbox-dovecot-sort-")
    os.chmod(d, 0o755)
    port = mimediff.free_port()
    try:
        pw = pwd.getpwnam("vmail")
    except KeyError:
        subprocess.run(["groupadd", "-f", "-g", "5000", "vmail"], check=False)
        subprocess.run(["useradd", "-u", "5000", "-g", "vmail", "-M", "-s", "/usr/sbin/nologin", "vmail"], check=False)
        pw = pwd.getpwnam("vmail")
    for sub in ("run", "state", "mail"): os.makedirs(os.path.join(d, sub))
    os.chown(os.path.join(d, "mail"), pw.pw_uid, pw.pw_gid)
    open(os.path.join(d, "users"), "w").write("t:{PLAIN}p\n")
    conf = os.path.join(d, "dovecot.conf")
    open(conf, "w").write(mimediff.CONF.format(d=d, port=port, uid=pw.pw_uid, gid=pw.pw_gid))
    try:
        with open(os.path.join(d, "master.out"), "wb") as log:
            subprocess.run(["dovecot", "-c", conf], check=True, timeout=30, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.time() + 10
        while True:
            try:
                c = mimediff.Conn(port); break
            except OSError:
                if time.time() > deadline: raise
                time.sleep(0.05)
        st, _ = c.cmd(b"LOGIN t p"); assert st.startswith(b"OK"), st
        for m in corpus["messages"]:
            body = m["message"].replace("\n", "\r\n").encode()
            st, _ = c.cmd(b'APPEND INBOX "%s"' % m["internalDate"].encode(), body)
            assert st.startswith(b"OK"), st
        st, _ = c.cmd(b"SELECT INBOX"); assert st.startswith(b"OK"), st
        answers = {}
        for command in corpus["commands"]:
            st, untagged = c.cmd(command.encode())
            lines = [u.decode() for u in untagged if u.split(b" ")[1] in (b"SORT", b"THREAD", b"ESEARCH")]
            answers[command] = lines if st.startswith(b"OK") else [st.decode()]
        c.cmd(b"LOGOUT")
        with open(os.path.join(CORPUS, "dovecot-answers.json"), "w") as f:
            json.dump({"recordedWith": subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip(),
                       "answers": answers}, f, indent=1, ensure_ascii=False)
            f.write("\n")
    finally:
        subprocess.run(["doveadm", "-c", conf, "stop"], check=False, capture_output=True)
        pid = os.path.join(d, "run", "master.pid")
        for _ in range(100):
            if not os.path.exists(pid): break
            time.sleep(0.05)
        shutil.rmtree(d, ignore_errors=True)

if __name__ == "__main__":
    main()
