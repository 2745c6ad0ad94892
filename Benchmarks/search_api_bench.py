#!/usr/bin/env python3
"""Search latency: the owner API's full-text and regular-expression search against IMAP SEARCH, on
one mailbox of --messages messages, in one run.

    swift build -c release --product sealbox && python3 Benchmarks/search_api_bench.py [--messages 100000]
                                                        [--runs 20] [--sealbox .build/release/sealbox]

A seeded corpus (plain-text messages of ~1.5 KB from a fixed vocabulary, with marker words planted in
0.1 %, 1 % and 10 % of them) is written as one mbox and imported with `sealbox mailbox import` before
`sealbox serve` starts; then each query runs --runs times (after one warm-up run) over HTTPS
(`GET /api/v1/me/search?q=…&mode=text|regex`, signed in once with a session cookie; one page of at most
200 hits, as the API gives) and, for the full-text queries, as `UID SEARCH TEXT word` over one IMAP
session (every match). Prints p50 and p99 in milliseconds per query and the API/IMAP ratio of the
medians. Not part of the test suite (it takes minutes); Linux only.
"""
import argparse, http.cookiejar, imaplib, json, os, random, ssl, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import ROOT, Sealbox  # noqa: E402

WORDS = ("the of and to in is was for on that with as by at from this be are have it not or which an they were but had "
         "their one all there been has more when will would who so no about out up into than them can only other new "
         "some could time these two may then do first any like now my such make over our even most after also did "
         "many before must through back years where much your way well down should because each just those people").split()
MARKERS = [("quokkaberry", 1000), ("zebrafinch", 100), ("lanternfish", 10)]  # word, one message in N


def corpus(path, count, seed):
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for n in range(count):
            body = []
            for _ in range(20):
                body.append(" ".join(rng.choice(WORDS) for _ in range(12)))
            for word, every in MARKERS:
                if n % every == every // 2:
                    body.insert(rng.randrange(len(body)), f"a {word} appears here")
            subject = " ".join(rng.choice(WORDS) for _ in range(5))
            day = 1 + n % 28
            message = (f"From: Sender {n % 97} <s{n % 97}@example.net>\nTo: user@example.com\nSubject: {subject}\n"
                       f"Date: Tue, {day:02d} Sep 2026 10:{n % 60:02d}:00 +0000\nMessage-ID: <bench-{n}@example.net>\n\n"
                       + "\n".join(body) + "\n")
            out.write(f"From s{n % 97}@example.net Tue Sep {day:2d} 10:00:00 2026\n".encode() + message.encode() + b"\n")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sealbox-search-bench-")
    mbox = os.path.join(work, "corpus.mbox")
    t = time.time()
    corpus(mbox, args.messages, 42)
    print(f"corpus: {args.messages} messages, {os.path.getsize(mbox) / 1e6:.0f} MB ({time.time() - t:.1f} s)")

    def before_serve(env, run):
        t = time.time()
        subprocess.run([os.path.abspath(args.sealbox), "mailbox", "import", "user@example.com", "--mbox", mbox],
                       env=dict(env, SEALBOX_PASSWORD=run.password), check=True, capture_output=True, timeout=3600)
        print(f"imported with `sealbox mailbox import` in {time.time() - t:.1f} s")

    server = Sealbox(args.sealbox, before_serve=before_serve)
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(jar))
        base = f"https://127.0.0.1:{server.http_port}"
        sign_in = urllib.request.Request(base + "/api/v1/session", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"address": server.user, "password": server.password}).encode())
        opener.open(sign_in, timeout=60).read()
        imap = imaplib.IMAP4("127.0.0.1", server.port)
        imap.login(server.user, server.password)
        imap.select("INBOX", readonly=True)

        def api(q, mode):
            url = base + "/api/v1/me/search?" + urllib.parse.urlencode({"q": q, "mode": mode, "limit": 200})
            t = time.perf_counter()
            page = json.loads(opener.open(url, timeout=120).read())
            return (time.perf_counter() - t) * 1000, page

        def imap_search(word):
            t = time.perf_counter()
            typ, data = imap.uid("SEARCH", "TEXT", word)
            assert typ == "OK", data
            return (time.perf_counter() - t) * 1000, len(data[0].split())

        queries = [(w, "text") for w, _ in MARKERS] + [("the", "text"),
                   ("quokka[a-z]+y", "regex"), ("zebra.?finch", "regex"), ("lantern(fish|jaw)", "regex"), ("(the|a) quokkaberry", "regex")]
        print(f"\n{'query':28} {'mode':6} {'hits':>6} {'API p50':>9} {'API p99':>9} {'IMAP p50':>9} {'IMAP p99':>9} {'IMAP/API':>9}")
        for q, mode in queries:
            api(q, mode)  # warm-up
            times, page = [], None
            for _ in range(args.runs):
                ms, page = api(q, mode)
                times.append(ms)
            hits = len(page["results"]) if page else 0
            partial = " (budget reached)" if page and page.get("budgetExhausted") else ""
            row = f"{q:28} {mode:6} {hits:>6} {statistics.median(times):9.1f} {percentile(times, 99):9.1f}"
            if mode == "text":
                imap_search(q)
                itimes, count = [], 0
                for _ in range(args.runs):
                    ms, count = imap_search(q)
                    itimes.append(ms)
                row += f" {statistics.median(itimes):9.1f} {percentile(itimes, 99):9.1f} {statistics.median(itimes) / statistics.median(times):9.2f}"
                row += f"   (IMAP: {count} UIDs)"
            print(row + partial)
        imap.logout()
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
