#!/usr/bin/env bash
# Publish speed against `skopeo copy`, in one script, on the private engine
# (run it as `scripts/engine.sh run scripts/bench-publish.sh`):
#
#   1. the two-platform e2e family (e2e-dual: 2 versions x 2 platforms) is
#      built and released in a fresh workspace with the release build of
#      the tool;
#   2. first publish to an empty registry, with the layer store empty
#      (every layer exported from the engine and compressed), then again
#      to another empty registry with the layer store kept (what a second
#      registry or a rerun after a failure costs);
#   3. publish again to the first registry: every version already
#      published (skipped);
#   4. the baseline: `skopeo copy` of the same four images (each version's
#      image per platform, by image id) from the engine to a third empty
#      registry, one after the other, as a script would publish them;
#   5. reproducibility of a clean rebuild: the step cache is emptied (every
#      `base-images-cache` tag of the engine is removed: later builds start
#      cold), e2e-dual is built again and each image's layer diff ids are
#      compared with the first build's, layer by layer, with the files whose
#      bytes or metadata differ.
#
# Each registry is Debian's docker-registry on its own loopback port and
# storage directory, started and ended (by PID) by this script. Prints
# one line per measure.
set -euo pipefail
cd "$(dirname "$0")/.."

PORTS=(5201 5202 5203)
WORK="$(mktemp -d /var/tmp/bench-publish.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh


cargo build -q --release -p base-images-tests --bin e2e-build
TOOL=target/release/e2e-build
WS="$WORK/workspace"
mkdir -p "$WS"
echo "format = 1" > "$WS/versions.lock"
export BASE_IMAGES_CACHE_DIR="$WORK/cache" NO_COLOR=1
"$TOOL" --root "$WS" -q build e2e-dual >/dev/null

for port in "${PORTS[@]}"; do registry "$port"; done

cold=$(seconds "$TOOL" --root "$WS" -q publish e2e-dual --registry-override "127.0.0.1:${PORTS[0]}")
# A copy of the workspace publishes to the second registry, with the layer
# store the first publish filled.
warm_ws="$WORK/warm"
mkdir -p "$warm_ws"
cp "$WS/versions.lock" "$warm_ws/versions.lock"
warm=$(seconds "$TOOL" --root "$warm_ws" -q publish e2e-dual --registry-override "127.0.0.1:${PORTS[1]}")
skipped=$(seconds "$TOOL" --root "$WS" -q publish e2e-dual --registry-override "127.0.0.1:${PORTS[0]}")

# The same four images, by image id, with skopeo.
mapfile -t IDS < <("$TOOL" --root "$WS" -q build e2e-dual --report "json=$WORK/build.json" >/dev/null &&
    python3 -c 'import json,sys; [print(v["image"].split(":")[1], v["platform"].split("/")[1], v["image_id"]) for v in json.load(open(sys.argv[1]))["versions"]]' "$WORK/build.json")
copy_all() {
    for line in "${IDS[@]}"; do
        read -r version arch id <<<"$line"
        skopeo copy -q --dest-tls-verify=false --src-daemon-host "$DOCKER_HOST" \
            "docker-daemon:${id}" "docker://127.0.0.1:${PORTS[2]}/skopeo/dual:${version}-${arch}"
    done
}
skopeo_time=$(seconds copy_all)

printf 'first publish, layer store empty (export + compress + push): %.2f s\n' "$cold"
printf 'first publish to another registry, layer store kept:         %.2f s\n' "$warm"
printf 'publish again, every version already published (skipped):    %.2f s\n' "$skipped"
printf 'baseline: skopeo copy of the same %d images from the engine:    %.2f s\n' "${#IDS[@]}" "$skopeo_time"
layers_of() { # report.json -> one line per image: "version [platform] diff_id..."
    python3 - "$1" <<'PY'
import json, subprocess, sys
for v in json.load(open(sys.argv[1]))["versions"]:
    out = subprocess.run(["/usr/bin/docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", v["image_id"]],
                         capture_output=True, text=True, check=True).stdout
    print(v["image"], "[" + v["platform"] + "]", " ".join(json.loads(out)))
PY
}
layers_of "$WORK/build.json" > "$WORK/layers-before.txt"
DOCKER=/usr/bin/docker
"$DOCKER" images --format '{{.Repository}}:{{.Tag}}' base-images-cache | xargs -r "$DOCKER" rmi -f >/dev/null
"$TOOL" --root "$WS" -q build e2e-dual --report "json=$WORK/after.json" >/dev/null
layers_of "$WORK/after.json" > "$WORK/layers-after.txt"
echo "clean rebuild (step cache emptied), layers identical to the first build's:"
paste -d'|' "$WORK/layers-before.txt" "$WORK/layers-after.txt" | awk -F'|' '{
    n = split($1, a, " "); split($2, b, " "); same = 0
    for (i = 3; i <= n; i++) if (a[i] == b[i]) same++; else break
    printf "  %s %s: %d of %d layers identical%s\n", a[1], a[2], same, n - 2, (same == n - 2 ? "" : sprintf(" (layer %d differs first)", same + 1))
}'
awk -v c="$cold" -v w="$warm" -v s="$skipped" -v b="$skopeo_time" \
    'BEGIN { printf "ratios to skopeo copy: cold %.2fx, warm %.2fx, skipped %.3fx\n", c / b, w / b, s / b }'
