#!/usr/bin/env bash
# Fetches Pigeonhole's own Sieve conformance files (the `.svtest` files of Debian's dovecot source
# package, Pigeonhole 0.5.19) into .deps/pigeonhole/tests, with its Makefile.am (the list of runnable
# test cases) and examples/, for Tests/SieveTests' conformance runner. Never committed. Idempotent: does nothing
# when both are there.
# Adds a deb-src entry mirroring the deb entry of /etc/apt/sources.list.d/debian.sources when none exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.deps/pigeonhole"
if [ -d "$DEST/tests" ] && [ -d "$DEST/examples" ] && [ -f "$DEST/Makefile.am" ]; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
SRC_LIST=/etc/apt/sources.list.d/debian-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
  echo "setup: adding a deb-src entry ($SRC_LIST)" >&2
  # the same URIs, suite and keyring as the main deb entry
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  keyring=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: %s\n' "${uri:-http://deb.debian.org/debian}" \
    "${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}" | $SUDO tee "$SRC_LIST" >/dev/null
  $SUDO apt-get update -qq
fi
mkdir -p "$ROOT/.deps/pigeonhole-src"
cd "$ROOT/.deps/pigeonhole-src"
TARBALL=dovecot_2.3.19.1+dfsg1.orig-pigeonhole.tar.gz
if [ ! -f "$TARBALL" ]; then
  echo "setup: downloading the dovecot source package (Pigeonhole's tests)" >&2
  # the .dsc of a security update may be missing; the orig tarballs are what we need
  apt-get source --download-only dovecot >/dev/null 2>&1 || true
fi
if [ ! -f "$TARBALL" ]; then echo "setup: $TARBALL not downloaded" >&2; exit 1; fi
rm -rf unpack && mkdir unpack
tar -xzf "$TARBALL" -C unpack
dir=$(find unpack -maxdepth 1 -mindepth 1 -type d | head -1)
rm -rf "$DEST" && mkdir -p "$DEST"
cp -r "$dir/tests" "$DEST/tests"
cp "$dir/Makefile.am" "$DEST/Makefile.am"
cp -r "$dir/examples" "$DEST/examples"   # execute/examples.svtest compiles these
rm -rf unpack
echo "setup: Pigeonhole tests in $DEST/tests ($(find "$DEST/tests" -name '*.svtest' | wc -l) files)" >&2
