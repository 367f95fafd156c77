#!/usr/bin/env bash
# Installs or starts everything the tests need, idempotently: runs each
# scripts/setup.d/*.sh in name order. Each step checks before it acts, so a
# second run is quick and a machine that already has a piece keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for step in scripts/setup.d/*.sh; do
	echo "== setup: $step"
	start=$(date +%s)
	bash "$step"
	echo "== setup: $step done in $(( $(date +%s) - start ))s"
done
