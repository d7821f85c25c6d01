#!/usr/bin/env bash
# Install what the tests need: uv, the locked Python dependencies, and the
# Debian packages that provide the real servers the tests start on loopback.
# Debian packages are installed only when running as root and missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A PACKAGES=(
  [snmpsimd]=snmpsim
  [snmpget]=snmp
  [snmptrapd]=snmptrapd
  [influxd]=influxdb
  [victoria-metrics]=victoria-metrics
  [mosquitto]=mosquitto
  [kamailio]=kamailio
  [sipsak]=sipsak
  [upsc]=nut-client
  [upsd]=nut-server
  [prometheus-snmp-exporter]=prometheus-snmp-exporter
  [systemd-analyze]=systemd
)

missing=()
for command in "${!PACKAGES[@]}"; do
  if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ] && [ ! -x "/usr/lib/nut/$command" ] && [ ! -x "/sbin/$command" ]; then
    missing+=("${PACKAGES[$command]}")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d keeps the packages' own services from starting: the tests
    # start each server themselves on free loopback ports.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
    rm -f /usr/sbin/policy-rc.d
  else
    echo "install-deps: not root; these Debian packages are missing and their tests will be skipped: ${missing[*]}" >&2
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "install-deps: installing uv with pip"
  python3 -m pip install --quiet uv
fi

uv sync --frozen --all-extras
