#!/usr/bin/env bash
# Builds the local root images of the e2e test families, with mmdebstrap
# from the Debian mirror the host's apt configuration names, with the host's
# CA bundle trusted (so HTTPS through this machine's proxy works), into the
# engine at $DOCKER_HOST:
#   base-images-e2e/bookworm-python:2          linux/amd64: minbase with
#       python3, pip and CA certificates (PIP_BREAK_SYSTEM_PACKAGES=1)
#   base-images-e2e/bookworm-minbase-amd64:1   linux/amd64: minbase
#   base-images-e2e/bookworm-minbase-arm64:1   linux/arm64: minbase
# The package sets are debootstrap's (minbase: Priority required + apt; /usr
# merged by usr-is-merged, not by the usrmerge package).
# The minbase roots are installed "chrootless" (dpkg runs on the host with
# DPKG_ROOT), so the arm64 one needs no emulated maintainer scripts: a
# fifth of the time; should that mode fail, the usual chroot mode (arm64
# under qemu-user-static) runs instead. The python root's packages need the
# chroot mode. The minbase roots are imported with their platform (`docker
# build --platform` of FROM scratch + ADD rootfs.tar: a plain `docker
# import` records the engine's architecture whatever the files are).
# Cached: each is rebuilt only when missing, or all with --rebuild.
set -euo pipefail

PYTHON_IMAGE="${BASE_IMAGES_ROOT_IMAGE:-base-images-e2e/bookworm-python:2}"
MINBASE="base-images-e2e/bookworm-minbase"
DOCKER=/usr/bin/docker # Debian's CLI; another one may come first in PATH
[ -x "$DOCKER" ] || DOCKER=docker

log() { echo "root-image: $*" >&2; }

REBUILD=
[ "${1:-}" = "--rebuild" ] && REBUILD=1

present() { # image
    [ -z "$REBUILD" ] && "$DOCKER" image inspect "$1" >/dev/null 2>&1
}

MISSING=
present "$PYTHON_IMAGE" || MISSING="$MISSING python"
for arch in amd64 arm64; do present "$MINBASE-$arch:1" || MISSING="$MISSING $arch"; done
if [ -z "$MISSING" ]; then
    log "$PYTHON_IMAGE, $MINBASE-amd64:1 and $MINBASE-arm64:1 are present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then log "mmdebstrap needs root"; exit 2; fi
command -v mmdebstrap >/dev/null || {
    log "installing mmdebstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
}

# The Debian mirror, read from the apt configuration at run time.
MIRROR="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
    | awk '$2 == "bookworm" { print $1; exit }')"
[ -n "$MIRROR" ] || { log "no bookworm source in the apt configuration; add one to /etc/apt/sources.list.d"; exit 2; }

WORK="$(mktemp -d /var/tmp/base-images-rootfs.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

packages() { # arch include rootfs [mode]: the packages, nothing else
    log "mmdebstrap bookworm ($1${4:+, $4}) from the configured mirror"
    local mode=()
    [ -z "${4:-}" ] || mode=(--mode="$4")
    mmdebstrap "${mode[@]}" --variant=minbase --architectures="$1" --include="$2" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        bookworm "$3" "$MIRROR" >"$WORK/mmdebstrap-$1.log" 2>&1 || {
        tail -30 "$WORK/mmdebstrap-$1.log" >&2
        return 1
    }
}

bootstrap() { # arch include rootfs [chrootless]
    if [ "${4:-}" = chrootless ]; then
        packages "$@" || {
            log "chrootless mode failed; installing linux/$1's packages in a chroot"
            rm -rf "$3"
            packages "$1" "$2" "$3" || exit 1
        }
    else
        packages "$1" "$2" "$3" || exit 1
    fi
    # A chrootless ca-certificates leaves its configuration unwritten: every
    # certificate it ships, enabled, as its maintainer script writes it.
    [ -e "$3/etc/ca-certificates.conf" ] || (cd "$3/usr/share/ca-certificates" \
        && find . -type f -name '*.crt' -printf '%P\n' | LC_ALL=C sort) >"$3/etc/ca-certificates.conf"
    # Trust what the host trusts (the proxy's CA), and use the host's apt setup.
    mkdir -p "$3/usr/local/share/ca-certificates"
    cp /etc/ssl/certs/ca-certificates.crt "$3/usr/local/share/ca-certificates/host-bundle.crt"
    chroot "$3" update-ca-certificates >/dev/null 2>&1
    rm -f "$3/etc/apt/sources.list"
    cp -r /etc/apt/sources.list.d/. "$3/etc/apt/sources.list.d/" 2>/dev/null || true
    if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$3/etc/apt/sources.list"; fi
    for f in /etc/apt/apt.conf.d/*; do
        [ -e "$3/etc/apt/apt.conf.d/$(basename "$f")" ] || cp "$f" "$3/etc/apt/apt.conf.d/"
    done
    rm -rf "$3"/var/cache/apt/archives/*.deb "$3"/var/lib/apt/lists/*
}

case "$MISSING" in *python*)
    ROOTFS="$WORK/python"
    bootstrap amd64 python3,python3-pip,ca-certificates "$ROOTFS"
    # A pip upgraded from the package index uses its own CA bundle: point it
    # at the system one, which now trusts what the host trusts.
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ROOTFS/etc/pip.conf"
    log "importing as $PYTHON_IMAGE"
    tar -C "$ROOTFS" -c . | "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
        --change 'CMD ["/bin/bash"]' - "$PYTHON_IMAGE" >/dev/null
    rm -rf "$ROOTFS"
    log "$PYTHON_IMAGE is ready" ;;
esac

for arch in amd64 arm64; do
    case "$MISSING" in *"$arch"*) ;; *) continue ;; esac
    if [ "$arch" != amd64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        log "linux/$arch needs qemu-user-static registered in binfmt_misc (scripts/engine.sh start does it)"
        exit 2
    fi
    CONTEXT="$WORK/minbase-$arch"
    mkdir -p "$CONTEXT"
    bootstrap "$arch" ca-certificates "$CONTEXT/rootfs" chrootless
    tar -C "$CONTEXT/rootfs" -cf "$CONTEXT/rootfs.tar" .
    rm -rf "$CONTEXT/rootfs"
    cat > "$CONTEXT/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["/bin/bash"]
DOCKERFILE
    log "importing as $MINBASE-$arch:1 (linux/$arch)"
    DOCKER_BUILDKIT=0 "$DOCKER" build -q --platform "linux/$arch" -t "$MINBASE-$arch:1" "$CONTEXT" >/dev/null
    got="$("$DOCKER" image inspect --format '{{.Os}}/{{.Architecture}}' "$MINBASE-$arch:1")"
    [ "$got" = "linux/$arch" ] || { log "$MINBASE-$arch:1 was recorded as $got, not linux/$arch"; exit 1; }
    rm -rf "$CONTEXT"
    log "$MINBASE-$arch:1 is ready"
done
