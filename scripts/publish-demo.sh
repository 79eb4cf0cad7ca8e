#!/usr/bin/env bash
# The main job, end to end, on the private engine and its local registry
# (run it as `scripts/engine.sh run scripts/publish-demo.sh`):
# build and check the two-platform e2e family for linux/amd64 and
# linux/arm64 (arm64 under qemu-user-static), release it in a workspace of
# its own, publish it to the local registry (127.0.0.1:5000, the family's
# repository), read the pushed index back with skopeo, verify the release
# (tag, platforms, annotations, SBOMs, checks on the pulled images), and say
# how to pull it. The workspace ($BASE_IMAGES_DEMO_DIR, default
# /var/tmp/base-images-demo) is kept, so running the demo again finds
# every version already published and pushes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

WS="${BASE_IMAGES_DEMO_DIR:-/var/tmp/base-images-demo}"
mkdir -p "$WS"
[ -f "$WS/versions.lock" ] || echo "format = 1" > "$WS/versions.lock"
cargo build -q -p base-images-tests --bin e2e-build
TOOL=target/debug/e2e-build

echo "\$ base-images-build build e2e-dual"
"$TOOL" --root "$WS" build e2e-dual
echo
echo "\$ base-images-build publish e2e-dual"
"$TOOL" --root "$WS" publish e2e-dual
echo
echo "\$ skopeo inspect --raw docker://127.0.0.1:5000/base-images-e2e/dual:1.1.0"
skopeo inspect --tls-verify=false --raw docker://127.0.0.1:5000/base-images-e2e/dual:1.1.0 |
    python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["mediaType"]); [print(" ", m["platform"]["os"]+"/"+m["platform"]["architecture"], m["digest"]) for m in i["manifests"]]'
digest="$("$TOOL" --root "$WS" list --json |
    python3 -c 'import json,sys; print(next(v["published"]["index"] for v in json.load(sys.stdin) if v["image"] == "e2e-dual:1.1.0"))')"
echo
echo "pull it by tag:    docker pull --platform linux/arm64 127.0.0.1:5000/base-images-e2e/dual:1.1.0"
echo "or by its digest:  docker pull 127.0.0.1:5000/base-images-e2e/dual@$digest"
echo
echo "\$ base-images-build verify e2e-dual:1.1.0"
"$TOOL" --root "$WS" verify e2e-dual:1.1.0
