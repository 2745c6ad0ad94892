#!/usr/bin/env python3
"""Cluster benchmark (issue 19): the same IMAP and SMTP load against one `sealbox serve` (node.role
all) and against a cluster of one storage node and one frontend (node.role storage / frontend, the
directory and node registry on a PostgreSQL started here), in one run, with ratios.

    python3 Benchmarks/cluster_load.py [--sessions 10] [--seconds 5] [--messages 500]
                                       [--smtp-messages 2000] [--sealbox .build/release/sealbox]
                                       [--rows fetch-body,store,...] [--only all|cluster] [--no-smtp] [--perf DIR]

What it does, for each setup in turn (all-in-one first, then the cluster):
  1. seeds the same M messages into one user's INBOX by APPEND over one connection (through the
     frontend in the cluster);
  2. runs imap_load.py's operations (each alone with N sessions for S seconds, then the mix):
     op/s, p50/p99 latency and server CPU per operation (the cluster's: storage + frontend);
  3. sends --smtp-messages 10 KB messages with Postfix's smtp-source, 10 sessions, to the MX (the
     frontend's in the cluster): messages per second answered 250.
Then prints, per row, cluster / all-in-one for op/s (goal: at least 0.8) and the latency the RPC hop
adds (cluster p50 and p99 minus all-in-one's). --only runs one setup (its op/s and CPU per operation,
no ratios); --perf records `perf record -g` of every Sealbox process of a setup during each row.

PostgreSQL (Debian's postgresql-15) runs from a temporary directory (initdb, a free port; as the
user nobody when run as root) with fsync off, like the tests: the registry is not on the hot path
of an operation (the frontend caches placements for 2 s). Plain IMAP/SMTP on loopback; the RPC is
mutual TLS 1.3 as in production. Like imap_load.py, the load generator shares the two cores.
"""
import argparse
import asyncio
import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_load  # noqa: E402  (the workload, the client, the all-in-one server)
import smtp_load  # noqa: E402  (smtp-source)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Postgres:
    """A throwaway PostgreSQL 15: initdb, postgres on a free port, one database."""

    def __init__(self):
        self.bin = "/usr/lib/postgresql/15/bin"
        if not os.path.exists(self.bin + "/initdb"):
            sys.exit("PostgreSQL 15 is not installed (scripts/setup-test-deps.sh installs postgresql-15)")
        self.dir = tempfile.mkdtemp(prefix="sealbox-bench-pg-")
        self.password = "bench-" + os.urandom(8).hex()
        self.port = imap_load.free_port()
        as_root = os.geteuid() == 0
        self.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] if as_root else []
        with open(self.dir + "/pwfile", "w") as f:
            f.write(self.password + "\n")
        if as_root:
            nobody = pwd.getpwnam("nobody")
            for path in (self.dir, self.dir + "/pwfile"):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        subprocess.run(self.prefix + [self.bin + "/initdb", "-D", self.dir + "/data", "-U", "sealbox", "--pwfile=" + self.dir + "/pwfile",
                                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, capture_output=True, cwd=self.dir, timeout=120)
        self.log = open(self.dir + "/postgres.log", "w")
        self.proc = subprocess.Popen(self.prefix + [self.bin + "/postgres", "-D", self.dir + "/data", "-h", "127.0.0.1", "-p", str(self.port),
                                                    "-k", self.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
                                                    "-c", "max_connections=300", "-c", "log_min_messages=warning"],
                                     stdout=self.log, stderr=self.log, cwd=self.dir)
        deadline = time.time() + 60
        while time.time() < deadline:
            if subprocess.run([self.bin + "/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            self.stop()
            sys.exit("postgres did not start")
        subprocess.run([self.bin + "/psql", "-X", "-q", "-h", self.dir, "-p", str(self.port), "-U", "sealbox", "-d", "postgres",
                        "-c", "CREATE DATABASE bench"], check=True, capture_output=True, timeout=60)
        self.url = f"postgres://sealbox:{self.password}@127.0.0.1:{self.port}/bench?sslmode=disable"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class SealboxCluster:
    """One storage node and one frontend (two `sealbox serve` processes) on a PostgreSQL directory."""
    name = "cluster"

    def __init__(self, binary):
        self.binary = os.path.abspath(binary)
        self.pg = Postgres()
        self.dir = tempfile.mkdtemp(prefix="sealbox-bench-cluster-")
        self.procs = []
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        ca = self.dir + "/ca"
        run = lambda env, *a: subprocess.run([self.binary, *a], env=env, check=True, capture_output=True, text=True, timeout=120).stdout
        base = dict(os.environ, SEALBOX_DIRECTORY_URL=self.pg.url, SEALBOX_CLUSTER_CA=ca + "/ca.pem",
                    SEALBOX_CLUSTER_SECRET_FILE=ca + "/cluster.secret", SEALBOX_AUTH_ENABLED="false",
                    SEALBOX_IMAP_MAX_CONNECTIONS_PER_IP="5000", SEALBOX_IMAP_MAX_SESSIONS_PER_MAILBOX="5000",
                    SEALBOX_POP3_MAX_CONNECTIONS_PER_IP="5000", SEALBOX_SMTP_MAX_CONNECTIONS_PER_IP="5000",
                    SEALBOX_SMTP_MAX_MESSAGES_PER_MINUTE_PER_IP="0", SEALBOX_DNS_SERVERS="127.0.0.1@9", SEALBOX_DNS_TRUST_ANCHOR="none")
        run(base, "cluster", "init", "--dir", ca)
        for name in ("s1", "f1"):
            run(base, "cluster", "add-node", name, "--address", "127.0.0.1", "--dir", ca)
        node = lambda name: dict(base, SEALBOX_DATA_DIR=self.dir + "/" + name, SEALBOX_CLUSTER_CERTIFICATE=f"{ca}/{name}.pem",
                                 SEALBOX_CLUSTER_KEY=f"{ca}/{name}.key")
        storage = dict(node("s1"), SEALBOX_NODE_ROLE="storage", SEALBOX_CLUSTER_LISTEN=f"127.0.0.1:{imap_load.free_port()}", SEALBOX_HTTP_PORT="off",
                       SEALBOX_MANAGESIEVE_PORT="off")
        run(storage, "domain", "add", "example.com")
        run(storage, "alias", "add", "user@example.com")
        self.user, self.password = "user@example.com", run(storage, "password", "generate", "user@example.com").strip()
        self.storage = self._serve(storage, ["--role", "storage"], r"listening: cluster-rpc")
        self.frontend = self._serve(dict(node("f1"), SEALBOX_MANAGESIEVE_PORT="auto"),
                                    ["--role", "frontend", "--imap-port", "auto", "--imaps-port", "off", "--pop3-port", "auto",
                                     "--pop3s-port", "off", "--smtp-port", "auto", "--submission-port", "off", "--submissions-port", "off",
                                     "--allow-insecure-auth"], r"listening: smtp")
        text = open(self.frontend[1]).read()
        self.port = int(re.search(r"listening: imap 127\.0\.0\.1:(\d+)", text).group(1))
        self.smtp_port = int(re.search(r"listening: smtp 127\.0\.0\.1:(\d+)", text).group(1))

    def _serve(self, env, args, ready):
        log = env["SEALBOX_DATA_DIR"] + ".log"
        err = open(log, "w+")
        proc = subprocess.Popen([self.binary, "serve", "--listen", "127.0.0.1", *args], env=env, stderr=err, stdout=subprocess.DEVNULL)
        self.procs.append(proc)
        deadline = time.time() + 60
        while time.time() < deadline:
            err.seek(0)
            if re.search(ready, err.read()):
                return proc, log
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        err.seek(0)
        raise RuntimeError(f"sealbox {' '.join(args[:2])} did not start: {err.read()[-2000:]}")

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self, keep=False):
        for proc in reversed(self.procs):
            imap_load.stop_serve(proc, self.dir, keep=True)
        self.pg.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def smtp_rate(server, messages):
    cpu = imap_load.cpu_seconds(server.pids())
    rate, _ = smtp_load.source(server.smtp_port, 10, 10, messages)
    return rate, (imap_load.cpu_seconds(server.pids()) - cpu) / messages * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--smtp-messages", type=int, default=2000)
    p.add_argument("--sealbox", default=os.path.join(ROOT, ".build/release/sealbox"))
    p.add_argument("--rows", help="comma-separated rows to run (default all): " + ",".join(k for k, _ in imap_load.ROWS))
    p.add_argument("--only", choices=["all", "cluster"], help="run one setup only (no ratios)")
    p.add_argument("--no-smtp", action="store_true", help="skip the SMTP row")
    p.add_argument("--perf", metavar="DIR", help="perf record every Sealbox process of the setup during each row into "
                                                 "DIR/<setup>-<row>-r1.data (perf's sampling costs CPU: do not take the figures of such a run)")
    args = p.parse_args()
    rows = [k for k, _ in imap_load.ROWS]
    if args.rows:
        wanted = args.rows.split(",")
        unknown = set(wanted) - set(rows)
        if unknown:
            p.error(f"unknown rows: {', '.join(sorted(unknown))}")
        rows = [k for k in rows if k in wanted]
    labels = dict(imap_load.ROWS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    messages = imap_load.make_messages(args.messages)
    print(f"workload: {args.messages} messages ({sum(map(len, messages)) / 1e6:.1f} MB), {args.sessions} sessions x {args.seconds:.0f} s per "
          f"operation; SMTP: {args.smtp_messages} x 10 KB, 10 sessions")
    results = {}
    quiet = {"SEALBOX_AUTH_ENABLED": "false", "SEALBOX_DNS_SERVERS": "127.0.0.1@9", "SEALBOX_DNS_TRUST_ANCHOR": "none"}
    setups = [("all", lambda: imap_load.Sealbox(args.sealbox, extra_env=quiet)), ("cluster", lambda: SealboxCluster(args.sealbox))]
    for setup, make in setups:
        if args.only and setup != args.only:
            continue
        server = make()
        try:
            seconds, uids = asyncio.run(imap_load.seed(server, messages))
            runs = asyncio.run(imap_load.phases(server, args, messages, uids, rows, 1))
            smtp = (0, 0) if args.no_smtp else smtp_rate(server, args.smtp_messages)
            results[setup] = (seconds, runs, smtp)
        finally:
            server.stop()
    if args.only:
        r = results[args.only]
        for kind in rows:
            samples, elapsed, cpu = r[1][kind]
            print(f"{labels[kind][:24]:24}{len(samples) / elapsed:>9.1f} op/s {cpu / max(1, len(samples)) * 1e6:>6.0f} us CPU/op")
        return
    a, c = results["all"], results["cluster"]
    print()
    print(f"{'':24}{'all-in-one (role all)':>38}{'frontend + storage node':>38}{'ratio':>8}{'added p50/p99 ms':>20}")
    seed_a, seed_c = args.messages / a[0], args.messages / c[0]
    print(f"{'seed APPEND':24}{seed_a:>32.0f} msg/s{seed_c:>32.0f} msg/s{seed_c / seed_a:>8.2f}")
    ratios = []
    for kind in rows:
        vals = []
        for r in (a, c):
            samples, elapsed, cpu = r[1][kind]
            q = sorted(samples)
            vals.append((len(q) / elapsed, q[len(q) // 2] * 1000, q[min(len(q) - 1, int(len(q) * 0.99))] * 1000, cpu / max(1, len(q)) * 1e6)
                        if q else None)
        if not all(vals):
            continue
        ratio = vals[1][0] / vals[0][0]
        ratios.append(ratio)
        print(f"{labels[kind][:24]:24}" + "".join(f"{v[0]:>9.1f} op/s {v[1]:>5.1f}/{v[2]:>6.1f} ms {v[3]:>6.0f} us" for v in vals)
              + f"{ratio:>8.2f}{vals[1][1] - vals[0][1]:>10.2f}/{vals[1][2] - vals[0][2]:>8.2f}")
    if not args.no_smtp:
        print(f"{'SMTP 10 KB':24}{a[2][0]:>26.0f} msg/s {a[2][1]:>6.0f} us{c[2][0]:>26.0f} msg/s {c[2][1]:>6.0f} us{c[2][0] / a[2][0]:>8.2f}")
    print(f"{'':24}(latency p50/p99; server CPU per operation, the cluster's summed over both processes)")
    print(f"lowest IMAP ratio {min(ratios):.2f} (goal: 0.8)")


if __name__ == "__main__":
    main()
