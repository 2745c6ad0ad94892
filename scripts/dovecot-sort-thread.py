#!/usr/bin/env python3
"""Records Dovecot's SORT and THREAD answers for the corpus of Tests/IMAPServerTests/SortThreadCorpus.

Starts a throwaway Dovecot (Debian bookworm's dovecot-imapd, set up as scripts/dovecot-mime-diff.py
does) on a free loopback port, APPENDs corpus.json's messages with their internal dates, runs each of
its commands and writes the untagged answer lines (or the tagged status when there is none) to
dovecot-answers.json next to it. Dovecot is always stopped again. SortThreadDifferentialTests runs
the same commands on Sealbox and compares.

usage: scripts/dovecot-sort-thread.py   (as root, like the other Dovecot scripts)
"""
import importlib.util, json, os, signal, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("mimediff", os.path.join(HERE, "dovecot-mime-diff.py"))
mimediff = importlib.util.module_from_spec(spec); spec.loader.exec_module(mimediff)
CORPUS = os.path.join(HERE, "..", "Tests", "IMAPServerTests", "SortThreadCorpus")

def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    corpus = json.load(open(os.path.join(CORPUS, "corpus.json")))
    with mimediff.throwaway_dovecot("sealbox-dovecot-sort-") as connect:
        c = connect()
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

if __name__ == "__main__":
    main()
