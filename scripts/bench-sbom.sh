#!/usr/bin/env bash
# SBOM generation time per image, next to asking dpkg by hand, in one
# script, on the private engine (run it as
# `scripts/engine.sh run scripts/bench-sbom.sh`):
#
#   the e2e images (every e2e-python version, e2e-dual 1.1.0 on both
#   platforms, e2e-rpm) are built once (step cache); then, five rounds,
#   alternating which side goes first, for each image:
#     - ours: `e2e-build sbom KEY --platform P` (release build, whole
#       process: the cached build, the packages from the SBOM cache the
#       first run filled, the SPDX document), its output thrown away;
#     - ours, cold: the same with the SBOM cache emptied first (the image
#       read through the engine: its file system export, `rpm`);
#     - baseline: `docker exec C dpkg-query -W` in a container of the same
#       image already running (the cheapest way to ask dpkg alone, no
#       Python distributions, no document).
#   Prints each image's median times and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$(mktemp -d /var/tmp/bench-sbom.XXXXXX)"
PIDS=()
CONTAINERS=()
DOCKER=/usr/bin/docker
cleanup() {
    for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true; done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

tool_workspace
"$TOOL" --root "$WS" -q build e2e-python e2e-dual e2e-rpm >/dev/null

IMAGES=(
    "e2e-python:1.0.0 linux/amd64"
    "e2e-python:1.1.0 linux/amd64"
    "e2e-python:1.2.0 linux/amd64"
    "e2e-python:2.0.0 linux/amd64"
    "e2e-dual:1.1.0 linux/amd64"
    "e2e-dual:1.1.0 linux/arm64"
    "e2e-rpm:1.0.0 linux/amd64"
)
declare -A OURS COLD BASE
cold() { rm -rf "$BASE_IMAGES_CACHE_DIR/sbom-images"; "$@"; }
for entry in "${IMAGES[@]}"; do
    read -r key platform <<<"$entry"
    # The image id the SBOM describes; a running container of it.
    id="$("$TOOL" --root "$WS" -q sbom "$key" --platform "$platform" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print("sha256:" + d["packages"][0]["checksums"][0]["checksumValue"])')"
    c="$("$DOCKER" run -d --network none --user 0 --entrypoint sleep "$id" infinity)"
    CONTAINERS+=("$c")
    for round in 1 2 3 4 5; do
        if (( round % 2 )); then
            COLD[$entry]+="$(seconds cold "$TOOL" --root "$WS" -q sbom "$key" --platform "$platform") "
            OURS[$entry]+="$(seconds "$TOOL" --root "$WS" -q sbom "$key" --platform "$platform") "
            BASE[$entry]+="$(seconds "$DOCKER" exec "$c" dpkg-query -W) "
        else
            BASE[$entry]+="$(seconds "$DOCKER" exec "$c" dpkg-query -W) "
            OURS[$entry]+="$(seconds "$TOOL" --root "$WS" -q sbom "$key" --platform "$platform") "
            COLD[$entry]+="$(seconds cold "$TOOL" --root "$WS" -q sbom "$key" --platform "$platform") "
        fi
    done
done
printf '%-18s %-12s %10s %10s %12s %7s %7s\n' IMAGE PLATFORM "SBOM (s)" "cold (s)" "dpkg-query" RATIO COLD
for entry in "${IMAGES[@]}"; do
    read -r key platform <<<"$entry"
    ours="$(echo "${OURS[$entry]}" | median)"
    cold="$(echo "${COLD[$entry]}" | median)"
    base="$(echo "${BASE[$entry]}" | median)"
    awk -v k="$key" -v p="$platform" -v o="$ours" -v c="$cold" -v b="$base" \
        'BEGIN { printf "%-18s %-12s %10.3f %10.3f %12.3f %6.2fx %6.1fx\n", k, p, o, c, b, o / b, c / b }'
done
