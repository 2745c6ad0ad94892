#!/usr/bin/env bash
# Installs what the test suite drives: Debian packages (reference servers and real clients) and a
# Python venv with pinned PyPI packages, and the RFC 7208 (SPF) test suite from pyspf's sdist. Idempotent:
# installs only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# swaks, postfix (smtp-source/smtp-sink for the SMTP benchmark), the Perl TLS modules swaks needs.
# dovecot-*: the reference server (scripts/dovecot-test.sh; the team's reference script also starts
# POP3 and LMTP). isync (mbsync), offlineimap3, fetchmail, curl: real IMAP and POP3 clients driven by
# Tests/IntegrationTests/Clients. openssl: the Dovecot test instance's self-signed certificate (and
# the relay tests'). postsrsd: libsrs2's SRS, the reference the SRS tests compare with (run by the
# tests on loopback ports; its own service is not used). msmtp and mutt: real submission clients (the
# submission tests; swaks and curl are the others). nsd: the authoritative DNS server the DNS tests
# start on a loopback port (its own service is not used); ldnsutils: ldns-keygen and ldns-signzone
# sign a test zone with fresh keys at test time. opendkim and opendkim-tools (opendkim-genkey): the
# DKIM signer of the Postfix instance that sends to the MX in the end-to-end authentication test
# (Tests/IntegrationTests/Clients/postfix_opendkim.py runs private instances of both on loopback
# ports; the package's own opendkim service, started where the system starts services, is not used).
# dovecot-sieve: Pigeonhole's dovecot-lda plugin, the vacation oracle of SieveVacationOracleTests
# (Tests/IntegrationTests/Clients/lda_vacation_oracle.sh runs dovecot-lda with a fake sendmail).
DEBS=(dovecot-imapd dovecot-pop3d dovecot-lmtpd libpython3.11-testsuite golang-github-jhillyerd-enmime-dev
      isync offlineimap3 fetchmail curl openssl swaks libnet-ssleay-perl libio-socket-ssl-perl postfix postsrsd msmtp mutt
      nsd ldnsutils opendkim opendkim-tools dovecot-sieve)
missing=()
# dovecot-managesieved: the reference ManageSieve server (scripts/dovecot-managesieve.sh); sieve-connect:
# a real ManageSieve client (Tests/IntegrationTests/Clients/sieve_connect_suite.sh).
DEBS+=(dovecot-managesieved sieve-connect)
# chromium and chromium-driver: the real browser the web page tests drive headless through selenium
# (Tests/IntegrationTests/Clients/web_browser.py).
DEBS+=(chromium chromium-driver)
# postgresql-15: the PostgreSQL directory and cluster registry tests (Tests/TestSupport/PostgresServer.swift
# runs initdb and postgres from /usr/lib/postgresql/15/bin in a temporary directory, as nobody when
# root, on a loopback port; the package's own cluster and service are not used).
DEBS+=(postgresql-15)
# faketime (libfaketime): a storage node with its wall clock minutes off, in the cluster's shared-storage
# test (LD_PRELOAD of its library for that one process).
DEBS+=(faketime)
for p in "${DEBS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # postfix is installed for its tools and private test instances only: no mail system is configured or started.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VENV="$ROOT/.deps/test-venv"
REQS="$ROOT/scripts/test-requirements.txt"
stamp="$VENV/.requirements-$(sha256sum "$REQS" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating the test venv" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
  touch "$stamp"
fi

# ManageSieve clients the tests drive (Tests/IntegrationTests/Clients/managesieve_clients.py), pinned;
# added to an existing venv without rebuilding it.
MANAGESIEVE_CLIENTS=(sievelib==1.6.0 managesieve==0.8.1 sievemgr==0.7.4.7)
# selenium: drives chromium in the web page tests (4.52.0 needs a newer certifi than the index has).
WEB_CLIENTS=(selenium==4.51.0)
# PyPI prometheus_client: its text parser reads /metrics (Tests/IntegrationTests/Clients/metrics_check.py).
METRICS_CLIENTS=(prometheus_client==0.26.0)
missing_py=()
for spec in "${MANAGESIEVE_CLIENTS[@]}" "${WEB_CLIENTS[@]}" "${METRICS_CLIENTS[@]}"; do
  "$VENV/bin/pip" show --disable-pip-version-check "${spec%%==*}" 2>/dev/null | grep -qx "Version: ${spec##*==}" || missing_py+=("$spec")
done
if [ ${#missing_py[@]} -gt 0 ]; then
  echo "setup: installing ${missing_py[*]}" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${missing_py[@]}"
fi

# The HTTP API's clients (Tests/IntegrationTests/Clients/http_api_suite.py and the schemathesis run
# of HTTPAPIServeTests), pinned; added to an existing venv without rebuilding it.
HTTP_API_CLIENTS=(requests==2.34.2 schemathesis==4.32.5)
missing_http=()
for spec in "${HTTP_API_CLIENTS[@]}"; do
  "$VENV/bin/pip" show --disable-pip-version-check "${spec%%==*}" 2>/dev/null | grep -qx "Version: ${spec##*==}" || missing_http+=("$spec")
done
if [ ${#missing_http[@]} -gt 0 ]; then
  echo "setup: installing ${missing_http[*]}" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${missing_http[@]}"
fi

# The RFC 7208 (SPF) test suite, test/rfc7208-tests.yml of PyPI pyspf's source distribution (pinned by
# version and SHA-256, never committed): Tests/MailAuthTests/RFC7208SuiteTests.swift reads it from
# .deps/spf-tests, turning its YAML into JSON with the venv's PyYAML.
PYSPF=2.0.14
PYSPF_SHA256=57a7ef01bda090173aafb6af0106251686ed73f03db4e911fcd34c57fc347186
SPF_SUITE="$ROOT/.deps/spf-tests/rfc7208-tests-$PYSPF.yml"
if [ ! -f "$SPF_SUITE" ]; then
  echo "setup: fetching the RFC 7208 test suite (pyspf==$PYSPF)" >&2
  mkdir -p "$ROOT/.deps/download" "$ROOT/.deps/spf-tests"
  sdist="$ROOT/.deps/download/pyspf-$PYSPF.tar.gz"
  if [ ! -f "$sdist" ]; then
    "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-binary :all: --no-deps "pyspf==$PYSPF" \
      -d "$ROOT/.deps/download"
  fi
  if ! echo "$PYSPF_SHA256  $sdist" | sha256sum -c --quiet -; then
    echo "setup: checksum mismatch for $sdist (expected $PYSPF_SHA256); removing it" >&2
    rm -f "$sdist"; exit 1
  fi
  tar -xzf "$sdist" -O "pyspf-$PYSPF/test/rfc7208-tests.yml" > "$SPF_SUITE.part"
  mv "$SPF_SUITE.part" "$SPF_SUITE"
fi

# Pigeonhole's Sieve conformance files (.svtest, from Debian's dovecot source package, never committed):
# Tests/SieveTests' conformance runner reads them from .deps/pigeonhole/tests.
"$ROOT/scripts/fetch-pigeonhole-tests.sh"
