#!/usr/bin/env bash
# libFuzzer runs over the MIME parser, the IMAP, POP3 and SMTP codecs, the DNS record parser, the SPF record
# parser, the DKIM/ARC parsers, the Sieve language and the ManageSieve codec, each bounded in time.
#   scripts/fuzz.sh --seconds N [--only mime|imap|rpc|pop3|smtp|dns|spf|dkim|sieve|managesieve|fts]     (default 30 s per target, every target)
# MIME: builds Fuzz/MIMEFuzz with `swiftc -sanitize=fuzzer,address` over Sources/MIMEParser/*.swift and
# IMAPCore's NIO-free wire encoders of its values (IMAPString, ENVELOPE/BODYSTRUCTURE, the inspector),
# all as one module named MIMEParser (their `import MIMEParser` is then ignored, with a warning), seeds it
# with Fuzz/corpus plus the committed test fixtures.
# RPC: builds the ClusterRPCFuzz product (Fuzz/ClusterRPCFuzz: the cluster RPC's frames, assembly and payload
# readers) the same way, seeds it with Fuzz/rpc-corpus.
# IMAP: builds the IMAPFuzz product (Fuzz/IMAPFuzz, it needs NIOCore) with SwiftPM in its own scratch path
# .build-fuzz (release, -sanitize=fuzzer,address, linked with lld), seeds it with Fuzz/imap-corpus.
# POP3: builds Fuzz/POP3Fuzz with swiftc over Sources/POP3Core/*.swift and MailCore's dot-stuffer (no dependencies), seeds it with
# Fuzz/pop3-corpus.
# SMTP: builds Fuzz/SMTPFuzz with swiftc over Sources/SMTPCore/*.swift (no dependencies), seeds it with
# Fuzz/smtp-corpus.
# ManageSieve: builds Fuzz/ManageSieveFuzz with swiftc over Sources/ManageSieveCore/*.swift (no dependencies),
# seeds it with Fuzz/managesieve-corpus.
# DNS: builds Fuzz/DNSFuzz with swiftc over Sources/DNSCore/*.swift (no dependencies), seeds it with
# Fuzz/dns-corpus.
# SPF: builds Fuzz/SPFFuzz with swiftc over Sources/DNSCore/*.swift and MailAuth's dependency-free SPF parser
# and macro expander (SPFRecord, SPFMacroString, SPFResult, SPFLimits; no Crypto), as one module named DNSCore
# (the SPF files' `import DNSCore` is then ignored, with a warning), seeds it with Fuzz/spf-corpus.
# DKIM: builds Fuzz/DKIMFuzz with swiftc over MailAuth's dependency-free parser files (DKIM_PURE_FILES below: tag
# lists, signature fields, key records, canonicalization, header selection, ARC sets; no Crypto), seeds it with
# Fuzz/dkim-corpus.
# Sieve: builds Fuzz/SieveFuzz with swiftc over Sources/MIMEParser/*.swift and Sources/Sieve/*.swift as one module
# named MIMEParser (the Sieve files' `import MIMEParser` is then ignored, with a warning), seeds it with
# Fuzz/sieve-corpus.
# FTS: Fuzz/FTSFuzz (C) over the sealbox_trigram tokenizer, compared with SQLite's trigram; seeds in Fuzz/fts-corpus.
# Each runs for N seconds; the script exits non-zero on a crash, a leak, a timeout (hang) or an
# out-of-memory, and leaves a crash reproducer in .build/fuzz/artifacts or .build/fuzz/imap-artifacts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup-build-deps.sh
SECONDS_TO_RUN=30
ONLY=all
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_TO_RUN="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--only mime|imap|rpc|pop3|smtp|dns|spf|dkim|sieve|managesieve|fts]" >&2; exit 2 ;;
  esac
done
OUT=.build/fuzz
mkdir -p "$OUT"

fuzz_mime() {
  mkdir -p "$OUT/work-corpus" "$OUT/artifacts"
  echo "fuzz: building the MIME fuzz target" >&2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MIMEParser \
    Sources/MIMEParser/*.swift Sources/IMAPCore/IMAPString.swift Sources/IMAPCore/MessageStructure+IMAP.swift \
    Sources/IMAPCore/MIMEInspector.swift Fuzz/MIMEFuzz/main.swift -o "$OUT/mime-fuzz"
  # seeds: the committed corpus and fixtures (a copy, so the run's additions stay out of the tree)
  cp -n Fuzz/corpus/* "$OUT/work-corpus/" 2>/dev/null || true
  cp -n Tests/MIMEParserTests/Fixtures/*.eml "$OUT/work-corpus/" 2>/dev/null || true
  echo "fuzz: running for ${SECONDS_TO_RUN}s" >&2
  set +e
  SWIFT_BACKTRACE=enable=no "$OUT/mime-fuzz" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict=Fuzz/mime.dict -artifact_prefix="$OUT/artifacts/" -print_final_stats=1 \
    "$OUT/work-corpus" 2> "$OUT/last-run.log"
  rc=$?
  set -e
  tail -n 20 "$OUT/last-run.log" >&2
  if [ $rc -ne 0 ]; then
    echo "fuzz: FAILED (exit $rc); reproducer in $OUT/artifacts/" >&2
    exit $rc
  fi
  echo "fuzz: no crash in ${SECONDS_TO_RUN}s" >&2
}

fuzz_imap() {
  mkdir -p "$OUT/imap-work-corpus" "$OUT/imap-artifacts"
  echo "fuzz: building the IMAP fuzz target" >&2
  swift build --scratch-path .build-fuzz -c release --product IMAPFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DIMAP_FUZZ -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld >&2
  cp -n Fuzz/imap-corpus/* "$OUT/imap-work-corpus/" 2>/dev/null || true
  echo "fuzz: running the IMAP target for ${SECONDS_TO_RUN}s" >&2
  set +e
  SWIFT_BACKTRACE=enable=no .build-fuzz/release/IMAPFuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -dict=Fuzz/imap.dict -artifact_prefix="$OUT/imap-artifacts/" -print_final_stats=1 \
    "$OUT/imap-work-corpus" 2> "$OUT/imap-last-run.log"
  rc=$?
  set -e
  tail -n 20 "$OUT/imap-last-run.log" >&2
  if [ $rc -ne 0 ]; then
    echo "fuzz: IMAP FAILED (exit $rc); reproducer in $OUT/imap-artifacts/" >&2
    exit $rc
  fi
  echo "fuzz: IMAP: no crash in ${SECONDS_TO_RUN}s" >&2
}

# A pure codec module (with MailCore's dependency-free dot-stuffer) fuzzed by a target built with swiftc alone: fuzz_pure NAME Module (lower-case
# NAME: its corpus is Fuzz/NAME-corpus, its target Fuzz/ModuleFuzz, e.g. fuzz_pure pop3 POP3).
fuzz_pure() {
  local name=$1 module=$2 label
  label=$(echo "$name" | tr a-z A-Z)
  echo "fuzz: building the $label fuzz target" >&2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "${module}Fuzz" \
    Sources/"${module}Core"/*.swift Sources/MailCore/DotStuffer.swift Fuzz/"${module}Fuzz"/main.swift -o "$OUT/$name-fuzz"
  run_target "$name"
}

# SPF: DNSCore and the SPF parser files as one module named DNSCore (see the top of this file).
fuzz_spf() {
  echo "fuzz: building the SPF fuzz target" >&2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name DNSCore \
    Sources/DNSCore/*.swift Sources/MailAuth/SPFRecord.swift Sources/MailAuth/SPFMacroString.swift \
    Sources/MailAuth/SPFResult.swift Sources/MailAuth/SPFLimits.swift Fuzz/SPFFuzz/main.swift -o "$OUT/spf-fuzz"
  run_target spf
}

# Runs the built "$OUT/NAME-fuzz" over a copy of Fuzz/NAME-corpus for SECONDS_TO_RUN seconds.
run_target() {
  local name=$1 label
  label=$(echo "$name" | tr a-z A-Z)
  mkdir -p "$OUT/$name-work-corpus" "$OUT/$name-artifacts"
  cp -n Fuzz/"$name"-corpus/* "$OUT/$name-work-corpus/" 2>/dev/null || true
  echo "fuzz: running the $label target for ${SECONDS_TO_RUN}s" >&2
  set +e
  SWIFT_BACKTRACE=enable=no "$OUT/$name-fuzz" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$OUT/$name-artifacts/" -print_final_stats=1 \
    "$OUT/$name-work-corpus" 2> "$OUT/$name-last-run.log"
  rc=$?
  set -e
  tail -n 20 "$OUT/$name-last-run.log" >&2
  if [ $rc -ne 0 ]; then
    echo "fuzz: $label FAILED (exit $rc); reproducer in $OUT/$name-artifacts/" >&2
    exit $rc
  fi
  echo "fuzz: $label: no crash in ${SECONDS_TO_RUN}s" >&2
}

# DKIM and ARC: MailAuth's pure parser files (they must stay free of Crypto and Foundation) with Fuzz/DKIMFuzz.
DKIM_PURE_FILES=(DKIMResult ARCOutcome DKIMTagList DKIMCanonicalization DKIMHeaderHash DKIMSignatureFields DKIMKeyRecord ARCHeaderSets)
fuzz_dkim() {
  echo "fuzz: building the DKIM fuzz target" >&2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name DKIMFuzz \
    $(printf 'Sources/MailAuth/%s.swift ' "${DKIM_PURE_FILES[@]}") Fuzz/DKIMFuzz/main.swift -o "$OUT/dkim-fuzz"
  run_target dkim
}

# Sieve: MIMEParser and the Sieve module as one module named MIMEParser (see the top of this file).
fuzz_sieve() {
  echo "fuzz: building the Sieve fuzz target" >&2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MIMEParser -package-name sealbox \
    Sources/MIMEParser/*.swift Sources/Sieve/*.swift Fuzz/SieveFuzz/main.swift -o "$OUT/sieve-fuzz"
  run_target sieve
}

# Cluster RPC: the ClusterRPCFuzz product (ClusterRPCCore and MailboxAPI) with SwiftPM, like IMAP.
fuzz_rpc() {
  mkdir -p "$OUT/rpc-work-corpus" "$OUT/rpc-artifacts"
  echo "fuzz: building the cluster RPC fuzz target" >&2
  swift build --scratch-path .build-fuzz -c release --product ClusterRPCFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DRPC_FUZZ -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld >&2
  cp -n Fuzz/rpc-corpus/* "$OUT/rpc-work-corpus/" 2>/dev/null || true
  echo "fuzz: running the cluster RPC target for ${SECONDS_TO_RUN}s" >&2
  set +e
  SWIFT_BACKTRACE=enable=no .build-fuzz/release/ClusterRPCFuzz -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$OUT/rpc-artifacts/" -print_final_stats=1 \
    "$OUT/rpc-work-corpus" 2> "$OUT/rpc-last-run.log"
  rc=$?
  set -e
  tail -n 20 "$OUT/rpc-last-run.log" >&2
  if [ $rc -ne 0 ]; then
    echo "fuzz: cluster RPC FAILED (exit $rc); reproducer in $OUT/rpc-artifacts/" >&2
    exit $rc
  fi
  echo "fuzz: cluster RPC: no crash in ${SECONDS_TO_RUN}s" >&2
}

# FTS: the sealbox_trigram tokenizer (Sources/CSealboxFTS, C) against SQLite's trigram on the same text, with
# clang from the Swift toolchain; the sqlite3mc amalgamation compiled once, without instrumentation.
fuzz_fts() {
  echo "fuzz: building the FTS fuzz target" >&2
  local cc
  cc="$(dirname "$(command -v swiftc)")/clang"
  if [ ! -f "$OUT/sqlite3mc-fts.o" ] || [ Sources/CSQLite3MC/sqlite3mc.c -nt "$OUT/sqlite3mc-fts.o" ]; then
    "$cc" -O1 -w -DSQLITE_ENABLE_FTS5 -DSQLITE_THREADSAFE=1 -ISources/CSQLite3MC/include \
      -c Sources/CSQLite3MC/sqlite3mc.c -o "$OUT/sqlite3mc-fts.o"
  fi
  "$cc" -O1 -g -fsanitize=fuzzer,address -ISources/CSQLite3MC/include -ISources/CSealboxFTS/include \
    Sources/CSealboxFTS/sealbox_fts.c Fuzz/FTSFuzz/fuzz.c "$OUT/sqlite3mc-fts.o" -lm -lpthread -ldl -o "$OUT/fts-fuzz"
  run_target fts
}

# Two targets at once: a swiftc build and a libFuzzer run each keep one core busy, so on two cores a
# pair takes the time of one. Each one's output goes to its own file, printed once both are done;
# the first failure ends the script with its exit status (its reproducer is where it says).
both() {
  local rc1=0 rc2=0 first second
  ( eval "$1" ) > "$OUT/pair-1.log" 2>&1 &
  first=$!
  ( eval "$2" ) > "$OUT/pair-2.log" 2>&1 &
  second=$!
  wait "$first" || rc1=$?
  wait "$second" || rc2=$?
  cat "$OUT/pair-1.log" "$OUT/pair-2.log" >&2
  [ $rc1 -eq 0 ] || exit $rc1
  [ $rc2 -eq 0 ] || exit $rc2
}

case "$ONLY" in
  # The SwiftPM builds (IMAP, cluster RPC) use both cores themselves: they run alone.
  all) both fuzz_mime fuzz_sieve; both "fuzz_pure pop3 POP3" "fuzz_pure smtp SMTP"; both "fuzz_pure dns DNS" fuzz_spf
       both fuzz_dkim "fuzz_pure managesieve ManageSieve"; fuzz_fts; fuzz_imap; fuzz_rpc ;;
  fts) fuzz_fts ;;
  sieve) fuzz_sieve ;;
  managesieve) fuzz_pure managesieve ManageSieve ;;
  dkim) fuzz_dkim ;;
  smtp) fuzz_pure smtp SMTP ;;
  dns) fuzz_pure dns DNS ;;
  mime) fuzz_mime ;;
  imap) fuzz_imap ;;
  rpc) fuzz_rpc ;;
  pop3) fuzz_pure pop3 POP3 ;;
  spf) fuzz_spf ;;
  *) echo "usage: $0 [--seconds N] [--only mime|imap|rpc|pop3|smtp|dns|spf|dkim|sieve|managesieve|fts]" >&2; exit 2 ;;
esac
