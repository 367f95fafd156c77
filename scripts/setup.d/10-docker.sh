#!/usr/bin/env bash
# A Docker engine for the docker executor and its tests, idempotently:
# installs Debian's docker.io (and debootstrap, for the image recipes) when
# missing, starts dockerd in the background when nothing answers, and waits
# until `docker info` does. Its log goes to /var/log/dlcompat-dockerd.log.
set -euo pipefail

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
	echo "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
	echo "docker engine already answers"
	exit 0
fi

if ! pgrep -x dockerd >/dev/null; then
	echo "starting dockerd (log: /var/log/dlcompat-dockerd.log)"
	# setsid: the daemon outlives this script and the make that ran it.
	setsid nohup dockerd >>/var/log/dlcompat-dockerd.log 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
	if docker info >/dev/null 2>&1; then
		echo "docker engine answers: $(docker version --format '{{.Server.Version}}')"
		exit 0
	fi
	sleep 1
done
echo "dockerd did not answer within 60s; last lines of its log:" >&2
tail -n 20 /var/log/dlcompat-dockerd.log >&2 || true
exit 1
