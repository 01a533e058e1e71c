#!/usr/bin/env bash
# Installs the headless browser the dashboard test opens the dashboard in:
# Debian's chromium package (the only browser build this machine can fetch;
# test tools that download their own browser fail here). Idempotent: nothing
# to do when `chromium` (or $PIPEGEN_CHROMIUM) is already there.
set -euo pipefail
browser=${PIPEGEN_CHROMIUM:-chromium}
if command -v "$browser" >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium is missing: install Debian's package (sudo apt-get install chromium) or set PIPEGEN_CHROMIUM" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
