#!/usr/bin/env python3
"""Server-side and Maildir-side steps of the two-way sync scenarios (mbsync, offlineimap).

    sync_helper.py <server options> seed           --prefix P
    sync_helper.py <server options> server-change  --prefix P
    sync_helper.py                  local-change   --prefix P --root DIR
    sync_helper.py <server options> check STAGE    --prefix P --root DIR

Folders P/one, P/two, P/three hold messages identified by Message-ID <mN.P@sync.example>; flags are
compared as Maildir letters (S seen, F flagged, R answered). STAGE is initial, pushed or final:
`check` compares the server, the Maildir and the expected state for that stage and prints all three
when they differ.
"""
import json
import os
import re
import sys
import time

from imapclient import TRANSCRIPT, common_args, connect, fetch_items, wire, parse

FOLDERS = ("one", "two", "three")
IMAP_TO_LETTER = {"\\seen": "S", "\\flagged": "F", "\\answered": "R"}

# flags as Maildir letters, sorted
EXPECTED = {
    "initial": {"one": {"m1": "S", "m2": "", "m3": "F", "m4": "RS", "m5": ""},
                "two": {"m6": "", "m7": "S", "m8": "F"},
                "three": {}},
    # local: m1 +F; m2 marked deleted (T); m3's file removed; m9 new; m5 moved one -> two
    "pushed": {"one": {"m1": "FS", "m4": "RS", "m9": ""},
               "two": {"m5": "", "m6": "", "m7": "S", "m8": "F"},
               "three": {}},
    # server: m6 +\Flagged; m7 deleted and expunged; m10 appended to three (\Seen); m4 moved one -> three
    "final": {"one": {"m1": "FS", "m9": ""},
              "two": {"m5": "", "m6": "F", "m8": "F"},
              "three": {"m4": "RS", "m10": "S"}},
}


def message(n, prefix):
    return (f"From: Sync Tester <sync{n}@example.org>\r\nTo: user@example.com\r\nSubject: sync message {n}\r\n"
            f"Date: Sun, 22 Nov 2026 0{n % 10}:00:00 +0000\r\nMessage-ID: <m{n}.{prefix}@sync.example>\r\n"
            f"\r\nBody of message {n}.\r\n").encode()


def imap_flags(letters):
    names = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered"}
    return "(" + " ".join(names[c] for c in letters) + ")" if letters else None


def mid_key(raw, prefix):
    m = re.search(rb"^Message-ID:\s*<(m\d+)\." + re.escape(prefix.encode()) + rb"@sync\.example>", raw, re.I | re.M)
    return m.group(1).decode() if m else None


def folder(opts, name):
    return f"{opts.prefix}{opts.delim}{name}"


def delimiter(m):
    typ, data = m.list('""', '""')
    v = parse(data[0])
    return (v[1].decode() if isinstance(v[1], bytes) else v[1]) or "/"


def seed(opts):
    m = connect(opts, "seed")
    opts.delim = delimiter(m)
    for f, msgs in EXPECTED["initial"].items():
        typ, data = m.create(folder(opts, f))
        assert typ == "OK", (typ, data)
        for key, letters in msgs.items():
            typ, data = m.append(folder(opts, f), imap_flags(letters), None, message(int(key[1:]), opts.prefix))
            assert typ == "OK", (typ, data)
    m.logout()


def server_state(opts):
    m = connect(opts, "state")
    opts.delim = delimiter(m)
    state = {}
    for f in FOLDERS:
        typ, data = m.select(folder(opts, f), readonly=True)
        assert typ == "OK", (f, typ, data)
        msgs = {}
        if int(data[0]) > 0:
            typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            assert typ == "OK", (typ, data)
            for seq, items in fetch_items(data).items():
                header = next(v for k, v in items.items() if k.startswith("BODY["))
                key = mid_key(header, opts.prefix) or f"?seq{seq}"
                flags = {x.lower() for x in items["FLAGS"]}
                if "\\deleted" in flags:
                    key += "(\\Deleted)"
                msgs[key] = "".join(sorted(IMAP_TO_LETTER[x] for x in flags if x in IMAP_TO_LETTER))
        state[f] = msgs
        m.close()
    m.logout()
    return state


def server_change(opts):
    m = connect(opts, "change")
    opts.delim = delimiter(m)
    caps = {c.upper() for c in m.capabilities}

    def seq_of(key):
        typ, data = m.search(None, "HEADER", "Message-ID", f"<{key}.{opts.prefix}@sync.example>")
        assert typ == "OK", (typ, data)
        found = data[0].split()
        assert len(found) == 1, (key, data)
        return found[0].decode()

    m.select(folder(opts, "two"))
    typ, data = m.store(seq_of("m6"), "+FLAGS", "(\\Flagged)")
    assert typ == "OK", (typ, data)
    typ, data = m.store(seq_of("m7"), "+FLAGS", "(\\Deleted)")
    assert typ == "OK", (typ, data)
    typ, data = m.expunge()
    assert typ == "OK", (typ, data)
    typ, data = m.append(folder(opts, "three"), "(\\Seen)", None, message(10, opts.prefix))
    assert typ == "OK", (typ, data)
    m.select(folder(opts, "one"))
    n = seq_of("m4")
    if "MOVE" in caps:
        typ, data = m._simple_command("MOVE", n, folder(opts, "three"))
        assert typ == "OK", (typ, data)
    else:
        assert m.copy(n, folder(opts, "three"))[0] == "OK"
        assert m.store(n, "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"
    m.close()
    m.logout()


# --- Maildir side -------------------------------------------------------------------------------

def maildir_path(opts, f):
    return os.path.join(opts.root, opts.prefix, f) if opts.local_sep == "/" else \
        os.path.join(opts.root, f"{opts.prefix}{opts.local_sep}{f}")


def maildir_files(path):
    out = []
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if not n.startswith(".")]
    return out


def letters_of(filename):
    info = filename.rsplit(":2,", 1)
    return info[1] if len(info) == 2 else ""


def local_state(opts):
    state = {}
    for f in FOLDERS:
        path = maildir_path(opts, f)
        if not os.path.isdir(os.path.join(path, "cur")):
            state[f] = None
            continue
        msgs = {}
        for p in maildir_files(path):
            with open(p, "rb") as fh:
                key = mid_key(fh.read(), opts.prefix) or f"?{os.path.basename(p)}"
            letters = letters_of(os.path.basename(p))
            if "T" in letters:
                key += "(T)"
            msgs[key] = "".join(sorted(c for c in letters if c in "SFR"))
        state[f] = msgs
    return state


def find(opts, f, key):
    for p in maildir_files(maildir_path(opts, f)):
        with open(p, "rb") as fh:
            if mid_key(fh.read(), opts.prefix) == key:
                return p
    raise SystemExit(f"local-change: {key} not found in {f}")


def set_letters(path, letters):
    d, name = os.path.split(path)
    base = name.rsplit(":2,", 1)[0]
    new = os.path.join(os.path.dirname(d), "cur", f"{base}:2,{''.join(sorted(letters))}")
    os.rename(path, new)


def local_change(opts):
    p1 = find(opts, "one", "m1")
    set_letters(p1, set(letters_of(p1)) | {"F"})
    p2 = find(opts, "one", "m2")
    set_letters(p2, set(letters_of(p2)) | {"T"})
    os.remove(find(opts, "one", "m3"))
    new_name = f"{int(time.time())}.{os.getpid()}_9.localhost"
    with open(os.path.join(maildir_path(opts, "one"), "tmp", new_name), "wb") as fh:
        fh.write(message(9, opts.prefix))
    os.rename(os.path.join(maildir_path(opts, "one"), "tmp", new_name),
              os.path.join(maildir_path(opts, "one"), "new", new_name))
    # a move between folders: the file goes to the other Maildir without the sync tool's UID tags
    p5 = find(opts, "one", "m5")
    name = re.sub(r",(U|FMD5)=[^,:]*", "", os.path.basename(p5))
    os.rename(p5, os.path.join(maildir_path(opts, "two"), "cur", name))


def check(opts, stage):
    want = EXPECTED[stage]
    want_server, want_local = want, want
    if stage == "pushed" and opts.deleted_flag_kept:
        want_server = json.loads(json.dumps(want))
        want_local = json.loads(json.dumps(want))
        want_server["one"]["m2(\\Deleted)"] = ""
        want_local["one"]["m2(T)"] = ""
    server = server_state(opts)
    local = local_state(opts)
    ok = server == want_server and local == want_local
    print(f"{'PASS' if ok else 'FAIL'} state after {stage}: server {'==' if server == want_server else '!='} expected, "
          f"maildir {'==' if local == want_local else '!='} expected")
    if not ok:
        for f in FOLDERS:
            print(f"  {f}: expected {json.dumps(want_server[f], sort_keys=True)}"
                  + ("" if want_server == want_local else f" (maildir: {json.dumps(want_local[f], sort_keys=True)})"))
            print(f"  {f}: server   {json.dumps(server.get(f), sort_keys=True)}")
            print(f"  {f}: maildir  {json.dumps(local.get(f), sort_keys=True)}")
    return ok


def main():
    p = common_args(__doc__.splitlines()[0])
    p.add_argument("action", choices=["seed", "server-change", "local-change", "check"])
    p.add_argument("stage", nargs="?", choices=list(EXPECTED))
    p.add_argument("--prefix", required=True)
    p.add_argument("--root", help="the local Maildir root")
    p.add_argument("--local-sep", default="/", help="how the sync tool names sub-folders on disk")
    p.add_argument("--deleted-flag-kept", action="store_true",
                   help="the tool syncs a Maildir T flag as \\Deleted without expunging (offlineimap)")
    opts = p.parse_args()
    opts.delim = "/"
    try:
        if opts.action == "seed":
            seed(opts)
        elif opts.action == "server-change":
            server_change(opts)
        elif opts.action == "local-change":
            local_change(opts)
        else:
            sys.exit(0 if check(opts, opts.stage) else 1)
    except Exception as e:  # noqa: BLE001 - print the transcript for any failure
        print(f"FAIL {opts.action}: {type(e).__name__}: {e}")
        for line in TRANSCRIPT.lines[-40:]:
            print("   " + line)
        sys.exit(1)


if __name__ == "__main__":
    main()
