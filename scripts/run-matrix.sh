#!/usr/bin/env bash
# make run: the whole matrix, every framework in its container, on every
# device. As root it starts the Docker engine and builds the framework
# images it needs (scripts/setup.d/10-docker.sh, scripts/build-images.sh:
# idempotent, an image rebuilt only when its recipe changed, so a warm run
# starts at once), then runs testdata/configs/local-docker.yaml. Where
# Docker cannot be had (not root, no engine, no image builder) it says so
# in one line, with the fix, and runs what the local executor can.
#
# Usage: scripts/run-matrix.sh [OUT]      (default results/; replaced)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
bin=bin/dlcompat
config=testdata/configs/local-docker.yaml

local_run() { # why
	echo "make run: $1; running what the local executor can instead" >&2
	exec "$bin" run --force -o "$out"
}

if ! docker info >/dev/null 2>&1; then
	if [[ $(id -u) -ne 0 ]]; then
		local_run "no Docker engine answers and starting one needs root (run as root, or start dockerd and let this user use it)"
	fi
	if ! bash scripts/setup.d/10-docker.sh; then
		local_run "the Docker engine could not be installed or started (see /var/log/dlcompat-dockerd.log)"
	fi
fi
start=$(date +%s)
echo "make run: building the framework images that are missing or out of date (a cold machine: about 8 minutes on 2 cores; warm: seconds)" >&2
if ! scripts/build-images.sh; then
	local_run "building the framework images failed (the lines above say which); rebuild one with scripts/build-images.sh NAME"
fi
echo "make run: images ready in $(( $(date +%s) - start ))s; running every framework in its container" >&2
exec "$bin" run --config "$config" --devices all --force -o "$out"
