#!/usr/bin/env bash
# Installs every Debian package farad needs to build, test and run. Idempotent: installs only
# what is missing, so a second run costs one dpkg query.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config clang git ca-certificates
  libh2o-evloop-dev libck-dev libcriterion-dev libyaml-dev libpcre2-dev libjansson-dev
  libcurl4-openssl-dev libpq-dev libxxhash-dev zlib1g-dev libssl-dev libuv1-dev
  influxdb influxdb-client postgresql-15 postgresql-client-15
  python3 python3-influxdb curl procps
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# the Debian influxdb package starts a system influxd on :8086; tests and the quick start run
# private instances instead, so keep the packaged service from starting where policy-rc.d is honoured
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
