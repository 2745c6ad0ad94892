#!/usr/bin/env bash
# Installs the Debian packages the build needs, and the one runtime file the node reads by default.
# Run by scripts/serve, scripts/test and scripts/fuzz.sh before they build. Idempotent: apt-get runs
# only when a package is missing (as root directly, otherwise through sudo).
#   libunbound-dev   libunbound's header and library (the CUnbound system library target, the DNS resolver)
#   libevent-dev, nettle-dev, pkg-config
#                    SwiftPM asks pkg-config for libunbound's flags, and Debian's libunbound.pc requires
#                    libevent's and nettle's .pc files, which libunbound-dev does not pull in
#   libzstd-dev      Zstandard's header and library (the CZstd system library target: stored message bodies are compressed)
#   dns-root-data    the DNSSEC root trust anchor (/usr/share/dns/root.key), dns.trustAnchor's default
#   publicsuffix     the Public Suffix List (/usr/share/publicsuffix), DMARC's organizational domains (auth.publicSuffixList)
set -euo pipefail
DEBS=(libunbound-dev libevent-dev nettle-dev pkg-config libzstd-dev dns-root-data publicsuffix)
missing=()
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages for the build: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
