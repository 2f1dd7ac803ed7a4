#!/usr/bin/env bash
# Installs what wims needs to build, test and run its lab on Debian 12.
# Does nothing (and needs no network) when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libuv1-dev libssl-dev libsrtp2-dev rtpengine-daemon
      libopus-dev libopencore-amrnb-dev libopencore-amrwb-dev libvo-amrwbenc-dev ffmpeg libwslay-dev libhttp-parser-dev libinih-dev
      libc-ares-dev libjansson-dev libhiredis-dev libcmocka-dev
      sip-tester kamailio kamailio-websocket-modules kamailio-tls-modules
      kamailio-extra-modules kamailio-presence-modules dnsmasq-base iproute2 util-linux openssl nodejs npm procps python3
      chromium tcpdump)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (as on the development machines)
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # the kamailio package may start a system instance; the lab runs its own
  $SUDO pkill -x kamailio 2>/dev/null || true
  $SUDO pkill -x rtpengine 2>/dev/null || true
fi

# npm packages for the test clients (JsSIP over the ws package)
if [ -f tests/package.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package.json -nt tests/node_modules/.stamp ]; then
    echo "deps: npm install in tests/"
    (cd tests && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
  fi
fi

# npm packages of the web client (JsSIP, esbuild) and of the browser tests (playwright-core)
if [ -f web/package.json ]; then
  if [ ! -d web/node_modules ] || [ web/package.json -nt web/node_modules/.stamp ]; then
    echo "deps: npm install in web/"
    (cd web && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
  fi
fi
