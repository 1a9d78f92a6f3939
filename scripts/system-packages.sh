#!/bin/sh
# Debian packages the test suite needs besides Python's: Chromium, the real headless browser the UI test drives.
# MariaDB and PostgreSQL are the machine's own services (see README).
set -e
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "chromium is missing: run 'sudo apt-get install chromium' (Debian's package), then 'make test' again" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
