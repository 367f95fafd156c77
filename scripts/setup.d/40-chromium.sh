#!/usr/bin/env bash
# Headless Chromium for the HTML report's browser test (matrix
# TestHTMLInChromium), idempotently: installs Debian's chromium package when
# no chromium is on PATH. The fonts come with it (fonts-liberation is a
# dependency), so the screenshot test has text to render.
set -euo pipefail

if command -v chromium >/dev/null; then
	echo "chromium already installed: $(chromium --version 2>/dev/null || echo '?')"
	exit 0
fi
echo "installing chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core >/dev/null
echo "chromium installed: $(chromium --version 2>/dev/null || echo '?')"
