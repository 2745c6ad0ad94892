#!/usr/bin/env bash
# Fetches SQLite3 Multiple Ciphers by package name (the PyPI sdist of "apsw-sqlite3mc", which carries
# the sqlite3mc amalgamation), verifies its SHA-256, and places it as the sources of the SwiftPM C
# target Sources/CSQLite3MC (those files are git-ignored: nothing third-party is committed).
# Idempotent: does nothing when the pinned version is already in place. Fails loudly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
PKG=apsw-sqlite3mc
VER=3.54.0.0   # sqlite3mc 2.6.1 / SQLite 3.54.0
SHA256=60a021cd9f6c8f3e2aa6cb54e197cb344379d5eb9a688b7647a136fc24956db4
TARGET="$ROOT/Sources/CSQLite3MC"

stamp="$TARGET/.sqlite3mc-$VER"
if [ -f "$stamp" ] && [ -f "$TARGET/sqlite3mc.c" ] && [ -f "$TARGET/include/sqlite3mc.h" ]; then
  exit 0
fi
echo "setup: fetching SQLite3 Multiple Ciphers ($PKG==$VER)" >&2

mkdir -p "$DEPS/download"
sdist="$DEPS/download/apsw_sqlite3mc-$VER.tar.gz"
if [ ! -f "$sdist" ]; then
  # `pip download --no-binary :all:` is not usable here: it runs the sdist's setup.py, which tries to
  # download SQLite itself. pypi-simple only lists and downloads the file from the default index and
  # checks the index's digest.
  [ -x "$DEPS/tools-venv/bin/python" ] || python3 -m venv "$DEPS/tools-venv"
  "$DEPS/tools-venv/bin/python" -m pip install --quiet --disable-pip-version-check 'pypi-simple==1.6.1'
  "$DEPS/tools-venv/bin/python" - "$PKG" "$VER" "$sdist.part" <<'PY'
import sys
from pypi_simple import PyPISimple
name, ver, dest = sys.argv[1:4]
with PyPISimple() as client:
    pkgs = [p for p in client.get_project_page(name).packages
            if p.package_type == "sdist" and p.version == ver]
    if not pkgs:
        sys.exit(f"{name}=={ver}: no sdist on the index")
    client.download_package(pkgs[0], path=dest)
PY
  mv "$sdist.part" "$sdist"
fi
if ! echo "$SHA256  $sdist" | sha256sum -c --quiet -; then
  echo "setup: checksum mismatch for $sdist (expected $SHA256); removing it" >&2
  rm -f "$sdist"; exit 1
fi

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
tar -xzf "$sdist" -C "$tmp" --wildcards '*/sqlite3/sqlite3.c'
amal="$(ls "$tmp"/*/sqlite3/sqlite3.c)"
grep -q '#define SQLITE3MC_VERSION_STRING' "$amal" || { echo "setup: not an sqlite3mc amalgamation" >&2; exit 1; }
# Public headers: the amalgamation inlines sqlite3mc.h, which inlines the pristine sqlite3.h.
# (The first sqlite3.h copy near the top of the amalgamation is patched for internal use.)
awk '/^\/\*\*\* Begin of #include "sqlite3mc\.h" \*\*\*\/$/ {f=1; next}
     /^\/\*\*\* End of #include "sqlite3mc\.h" \*\*\*\/$/   {exit}
     f' "$amal" |
awk -v H="$tmp/sqlite3.h" '
     /^\/\*\*\* Begin of #include "sqlite3\.h" \*\*\*\/$/ {inh=1; print "#include \"sqlite3.h\""; next}
     /^\/\*\*\* End of #include "sqlite3\.h" \*\*\*\/$/   {inh=0; next}
     inh {print > H; next}
     {print}' > "$tmp/sqlite3mc.h"
grep -q '^#define SQLITE_VERSION ' "$tmp/sqlite3.h" && grep -q 'sqlite3mc_version' "$tmp/sqlite3mc.h" ||
  { echo "setup: header extraction failed" >&2; exit 1; }

mkdir -p "$TARGET/include"
rm -f "$TARGET"/.sqlite3mc-*
install -m 0644 "$amal" "$TARGET/sqlite3mc.c"
install -m 0644 "$tmp/sqlite3.h" "$tmp/sqlite3mc.h" "$TARGET/include/"
touch "$stamp"
echo "setup: $(grep -h '#define SQLITE3MC_VERSION_STRING' "$TARGET/include/sqlite3mc.h")" >&2
