#!/usr/bin/env bash
# Builds the local framework images from their recipes in scripts/images/<name>/,
# as dlcompat/<name>:<TAG>, without a registry:
#
#   image.conf   shell variables: TAG; for a Debian root filesystem also SUITE,
#                PACKAGES (installed by debootstrap), and optionally VENV + PIP
#                (a virtual environment with these PyPI requirements; VENV_FLAGS
#                are added to `python3 -m venv`, e.g. --system-site-packages so
#                that it sees the Debian packages) and ENV (space-separated
#                NAME=value pairs set in the image)
#   Dockerfile   optional; built on top (FROM scratch when there is no SUITE,
#                or `ARG BASE` / `FROM $BASE` on the imported root filesystem)
#
# Each image carries the label org.dlcompat.recipe-hash, the hash of its recipe
# directory; an image whose label matches is left alone, so a second run takes
# seconds. Root filesystems are cached as tarballs, and downloaded packages and
# wheels too, under $DLCOMPAT_CACHE (default /var/cache/dlcompat), outside the
# repository. The Debian mirror is the one the host's apt sources name, or
# $DLCOMPAT_DEBIAN_MIRROR.
#
# Usage: scripts/build-images.sh [name ...]     (default: every recipe)
#        FORCE=1 scripts/build-images.sh ...    (rebuild even when up to date)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCKER_BUILDKIT=0
# Bump when this script changes how an image is made, so every image rebuilds.
SCRIPT_REV=1
# Each image has its own package cache (debs/<name>), so parallel builds
# never write the same file.
CACHE="${DLCOMPAT_CACHE:-/var/cache/dlcompat}"
LABEL=org.dlcompat.recipe-hash

log() { echo "[build-images $(date +%T)] $*"; }

recipe_hash() { # dir
	(
		cd "$1"
		echo "rev $SCRIPT_REV"
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	) | sha256sum | cut -c1-16
}

debian_mirror() {
	if [[ -n "${DLCOMPAT_DEBIAN_MIRROR:-}" ]]; then
		echo "$DLCOMPAT_DEBIAN_MIRROR"
		return
	fi
	# deb822 (URIs: …) or one-line (deb URI suite …) sources: the first
	# archive whose path ends in /debian (not debian-security).
	local m
	m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | head -n1 | tr -d ' ')"
	if [[ -z "$m" ]]; then
		echo "no Debian mirror in /etc/apt/sources.list*; set DLCOMPAT_DEBIAN_MIRROR" >&2
		return 1
	fi
	echo "${m%/}"
}

# Unmounts everything under a root filesystem directory, then removes it.
# It refuses to remove a directory that still has a mount under it.
cleanup_root() { # dir
	local dir="$1" m
	[[ -d "$dir" ]] || return 0
	for m in $(awk -v d="$dir" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" || true
	done
	if awk -v d="$dir" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
		echo "refusing to remove $dir: something is still mounted under it" >&2
		return 1
	fi
	rm -rf "$dir"
}

# Builds the root filesystem tarball of a recipe into $CACHE/rootfs/.
make_rootfs() { # name hash tarball
	local name="$1" hash="$2" tarball="$3" root mirror
	mirror="$(debian_mirror)"
	root="$CACHE/work/$name"
	cleanup_root "$root"
	mkdir -p "$root" "$CACHE/debs/$name" "$CACHE/pip"
	WORK_ROOT="$root"
	log "$name: debootstrap $SUITE from $mirror with: $PACKAGES"
	# --include resolves dependencies (not Recommends), so the image holds
	# what the packages need and nothing else.
	debootstrap --variant=minbase --components=main \
		--include="$(tr ' ' ',' <<<"$PACKAGES")" \
		--cache-dir="$CACHE/debs/$name" \
		"$SUITE" "$root" "$mirror" >"$CACHE/work/$name.debootstrap.log" 2>&1 || {
		tail -n 30 "$CACHE/work/$name.debootstrap.log" >&2
		return 1
	}
	if [[ -n "${PIP:-}" ]]; then
		log "$name: python3 -m venv ${VENV_FLAGS:+$VENV_FLAGS }$VENV; pip install $PIP"
		chroot "$root" python3 -m venv ${VENV_FLAGS:-} "$VENV"
		# The host's CA bundle (PyPI may be reached through a TLS proxy) and
		# the wheel cache, mounted for the install only.
		cp /etc/ssl/certs/ca-certificates.crt "$root/tmp/host-ca.crt"
		mkdir -p "$root/tmp/pip-cache"
		mount --bind "$CACHE/pip" "$root/tmp/pip-cache"
		# env -i: the host's variables (REQUESTS_CA_BUNDLE and friends) name
		# files that do not exist in the chroot, and would win over --cert.
		chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			PIP_CACHE_DIR=/tmp/pip-cache PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/tmp/host-ca.crt \
			"$VENV/bin/pip" install -q $PIP
		umount "$root/tmp/pip-cache"
		rm -rf "$root/tmp/host-ca.crt" "$root/tmp/pip-cache"
	fi
	# Smaller images: no package cache, lists, docs or man pages.
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
		"$root"/etc/resolv.conf "$root"/etc/hostname
	mkdir -p "$CACHE/rootfs"
	rm -f "$CACHE/rootfs/$name-"*.tar
	tar --numeric-owner -C "$root" -cf "$tarball.part" .
	mv "$tarball.part" "$tarball"
	cleanup_root "$root"
	WORK_ROOT=
	log "$name: root filesystem $(du -h "$tarball" | cut -f1)"
}

build_one() { # name
	local name="$1" dir="scripts/images/$1" hash image current tarball base
	[[ -f "$dir/image.conf" ]] || { echo "no recipe $dir/image.conf" >&2; return 1; }
	unset TAG SUITE PACKAGES VENV VENV_FLAGS PIP ENV
	# shellcheck source=/dev/null
	source "$dir/image.conf"
	hash="$(recipe_hash "$dir")"
	image="dlcompat/$name:$TAG"
	current="$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$image" 2>/dev/null || true)"
	if [[ "$current" == "$hash" && -z "${FORCE:-}" ]]; then
		log "$image is up to date (recipe $hash)"
		return 0
	fi
	local start=$SECONDS old
	old="$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
	log "$image: building (recipe $hash, image has '${current:-none}')"
	local changes=(--change "LABEL $LABEL=$hash" --change "LABEL org.dlcompat.recipe=$name")
	local e
	for e in ${ENV:-}; do changes+=(--change "ENV $e"); done
	if [[ -n "${SUITE:-}" ]]; then
		tarball="$CACHE/rootfs/$name-$hash.tar"
		if [[ -f "$tarball" && -z "${FORCE:-}" ]]; then
			log "$name: root filesystem from the cache ($tarball)"
		else
			make_rootfs "$name" "$hash" "$tarball"
		fi
		base="$image"
		[[ -f "$dir/Dockerfile" ]] && base="dlcompat/$name-rootfs:$hash"
		docker import "${changes[@]}" "$tarball" "$base" >/dev/null
	fi
	if [[ -f "$dir/Dockerfile" ]]; then
		local out
		if ! out="$(docker build -q --label "$LABEL=$hash" --label "org.dlcompat.recipe=$name" \
			${base:+--build-arg BASE="$base"} -t "$image" "$dir" 2>&1)"; then
			echo "$out" >&2
			return 1
		fi
		if [[ -n "${base:-}" ]]; then docker rmi "$base" >/dev/null; fi
	fi
	# The image it replaces, now untagged, would only fill the disk (one a
	# container still uses stays).
	if [[ -n "$old" && "$old" != "$(docker image inspect --format '{{.Id}}' "$image")" ]]; then
		docker rmi "$old" >/dev/null 2>&1 || true
	fi
	log "$image: built in $((SECONDS - start))s, $(docker image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)"
}

names=("$@")
if ((${#names[@]} == 0)); then
	for d in scripts/images/*/; do names+=("$(basename "$d")"); done
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: run scripts/setup.d/10-docker.sh" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "no Docker engine answers: run scripts/setup.d/10-docker.sh" >&2; exit 1; }
# The images build in parallel (downloads dominate); each in a subshell
# whose exit trap leaves no mount and no half-built root behind, even when
# interrupted.
pids=()
for n in "${names[@]}"; do
	(
		WORK_ROOT=
		trap '[[ -z "$WORK_ROOT" ]] || cleanup_root "$WORK_ROOT"' EXIT
		build_one "$n"
	) &
	pids+=($!)
done
failed=()
for i in "${!names[@]}"; do
	wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if ((${#failed[@]})); then
	log "FAILED: ${failed[*]} (debootstrap logs: $CACHE/work/)"
	exit 1
fi
