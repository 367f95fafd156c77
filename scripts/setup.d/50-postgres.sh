#!/usr/bin/env bash
# A real PostgreSQL server for the history store's tests (matrix/history
# TestPostgres*), idempotently: Debian's postgresql package. Only the
# binaries are needed: each test runs initdb and pg_ctl in its own
# temporary directory (as nobody when run as root) on a unix socket, so
# the cluster Debian creates is stopped and left alone.
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo "postgresql already installed: $(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' ')"
	exit 0
fi
echo "installing postgresql"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The package starts its own cluster where a service manager runs; the
# tests do not use it.
if command -v pg_lsclusters >/dev/null; then
	pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
		pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
	done
fi
echo "postgresql installed: $(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' ')"
