#!/usr/bin/env bash
# Makes sure a Chrome or Chromium is available for the agent and its tests.
# As root on Debian it installs Debian's chromium; otherwise it prints the
# exact command to run and fails.
set -euo pipefail
for c in "${CHROME_PATH:-}" /usr/lib/chromium/chromium "$(command -v chromium 2>/dev/null || true)" \
         "$(command -v google-chrome 2>/dev/null || true)" "$(command -v headless-shell 2>/dev/null || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then
    exit 0
  fi
done
install="apt-get update && apt-get install -y chromium"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "no Chrome found: installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "no Chrome or Chromium found. Install one, for example:" >&2
echo "  sudo sh -c '$install'" >&2
echo "or point CHROME_PATH at a Chrome binary." >&2
exit 1
