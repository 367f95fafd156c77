#!/usr/bin/env bash
# A real JUnit consumer for the JUnit XML test (matrix TestJUnitReadByJunitparser):
# the junitparser library from PyPI, in its own virtual environment under
# $DLCOMPAT_TOOLS_DIR (default /opt/dlcompat-tools), idempotently.
set -euo pipefail

dir="${DLCOMPAT_TOOLS_DIR:-/opt/dlcompat-tools}"
venv="$dir/junit-venv"
want=5.0.3
if "$venv/bin/python" -c "import junitparser, sys; sys.exit(junitparser.version != '$want')" 2>/dev/null; then
	echo "junitparser $want already in $venv"
	exit 0
fi
py="$(command -v python3 || true)"
if [ -z "$py" ]; then
	echo "installing python3 and python3-venv"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
	py="$(command -v python3)"
fi
if ! "$py" -m venv --help >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
mkdir -p "$dir"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "junitparser==$want"
echo "junitparser $want installed in $venv"
