#!/usr/bin/env bash
# Install Debian's headless browser for tests/test_jupyter.py: chromium and chromium-driver
# (/usr/bin/chromium, /usr/bin/chromedriver). Never a downloaded browser. Does nothing when both
# are present; ci/test.sh calls it when CI=true, a user may run it by hand (root or sudo).
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install_browser: no apt-get here; install chromium and its driver with your package manager" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "install_browser: apt-get install chromium chromium-driver"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version
