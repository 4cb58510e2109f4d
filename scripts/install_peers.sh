#!/usr/bin/env bash
# Installs the third-party peers the interop tests talk to, from Debian's packages, when missing:
# Python's websockets (client and server) and Chromium (driven by playwright-core from npm); and
# the tools the TLS and hardening tests use: openssl (throwaway certificates) and prlimit
# (util-linux, a low file-descriptor limit for one server process).
# Without root or apt-get it only says what is missing; the tests then skip those peers, except
# under CI=true where a missing peer fails its test.
set -uo pipefail
need=()
/usr/bin/python3 -c 'import websockets' >/dev/null 2>&1 || need+=(python3-websockets)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/prlimit ] || need+=(util-linux)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install_peers: missing ${need[*]} (needs root and apt-get); those interop tests will skip" >&2
  exit 0
fi
echo "install_peers: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
