#!/usr/bin/env bash
# The Debian packages the tests need beyond Python: headless Chromium (browser tests) and one CJK font
# (legible screenshots). Installed when missing and run as root; otherwise stops with the one command.
set -euo pipefail
PACKAGES=(chromium fonts-ipafont-gothic)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-ipafont-gothic >/dev/null 2>&1 || missing+=(fonts-ipafont-gothic)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ブラウザのテストに必要なパッケージがありません / missing system packages: ${missing[*]}" >&2
  echo "次を実行してから make test をやり直してください / run this, then make test again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
  exit 1
fi
echo "Installing ${missing[*]} (Debian packages for the browser tests)..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
