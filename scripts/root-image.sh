#!/usr/bin/env bash
# Builds the local root image of the e2e test family: Debian bookworm
# (minbase) with python3, pip and CA certificates (pip may install into the
# system Python: PIP_BREAK_SYSTEM_PACKAGES=1), made with debootstrap
# from the Debian mirror the host's apt configuration names, with the host's
# CA bundle trusted (so HTTPS through this machine's proxy works), imported
# into the engine at $DOCKER_HOST. Cached: rebuilt only when the image is
# missing or with --rebuild.
set -euo pipefail

IMAGE="${BASE_IMAGES_ROOT_IMAGE:-base-images-e2e/bookworm-python:2}"
DOCKER=/usr/bin/docker # Debian's CLI; another one may come first in PATH
[ -x "$DOCKER" ] || DOCKER=docker

log() { echo "root-image: $*" >&2; }

if [ "${1:-}" != "--rebuild" ] && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE is present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then log "debootstrap needs root"; exit 2; fi
command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# The Debian mirror, read from the apt configuration at run time.
MIRROR="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
    | awk '$2 == "bookworm" { print $1; exit }')"
[ -n "$MIRROR" ] || { log "no bookworm source in the apt configuration; add one to /etc/apt/sources.list.d"; exit 2; }

WORK="$(mktemp -d /var/tmp/base-images-rootfs.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
log "debootstrap bookworm from the configured mirror (about a minute)"
debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates \
    bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -30 "$WORK/debootstrap.log" >&2
    exit 1
}
# Trust what the host trusts (the proxy's CA), and use the host's apt setup.
mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/usr/local/share/ca-certificates/host-bundle.crt"
chroot "$ROOTFS" update-ca-certificates >/dev/null 2>&1
# A pip upgraded from the package index uses its own CA bundle: point it at
# the system one, which now trusts what the host trusts.
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ROOTFS/etc/pip.conf"
rm -f "$ROOTFS/etc/apt/sources.list"
cp -r /etc/apt/sources.list.d/. "$ROOTFS/etc/apt/sources.list.d/" 2>/dev/null || true
if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$ROOTFS/etc/apt/sources.list"; fi
for f in /etc/apt/apt.conf.d/*; do
    [ -e "$ROOTFS/etc/apt/apt.conf.d/$(basename "$f")" ] || cp "$f" "$ROOTFS/etc/apt/apt.conf.d/"
done
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

log "importing as $IMAGE"
tar -C "$ROOTFS" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
    --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
log "$IMAGE is ready"
