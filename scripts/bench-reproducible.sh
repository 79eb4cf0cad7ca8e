#!/usr/bin/env bash
# Reproducibility of published images, in one script, on the private engine
# (run it as `scripts/engine.sh run scripts/bench-reproducible.sh`):
#
#   for each epoch mode (the release time, then SOURCE_DATE_EPOCH set to a
#   time before the first build):
#     1. a fresh workspace; the step cache and BuildKit's cache emptied
#        (every `base-images-cache` tag removed, `docker builder prune`);
#        both e2e families built and released, then published to registry A;
#     2. the caches emptied again; the same workspace (its versions.lock,
#        so the same release times) built again from cold and published to
#        registry B;
#     3. every platform image of every version compared between A and B:
#        index digests, then each layer's digest; for a layer that differs,
#        the files whose bytes or metadata differ (first ten).
#
# Each registry is Debian's docker-registry on its own loopback port and
# storage directory, started and ended (by PID) by this script.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$(mktemp -d /var/tmp/bench-reproducible.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
DOCKER=/usr/bin/docker
FAMILIES=(e2e-python e2e-dual)

empty_caches() {
    "$DOCKER" images --format '{{.Repository}}:{{.Tag}}' base-images-cache | xargs -r "$DOCKER" rmi -f >/dev/null
    "$DOCKER" builder prune -af >/dev/null
}

cargo build -q --release -p base-images-tests --bin e2e-build --bin e2e-fixtures
TOOL=target/release/e2e-build
export NO_COLOR=1
# The loopback server e2e-python fetches from.
target/release/e2e-fixtures >"$WORK/fixtures.log" 2>&1 &
PIDS+=($!)

# The version's images on registry `port`: "family:version platform index manifest layer..." lines.
images_on() { # port ws
    python3 - "$1" "$2" "${FAMILIES[@]}" <<'PY'
import json, subprocess, sys
port, ws, families = sys.argv[1], sys.argv[2], sys.argv[3:]
lock = open(ws + "/versions.lock").read()
def raw(repo, ref):
    sep = "@" if ref.startswith("sha256:") else ":"
    out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw",
                          f"docker://127.0.0.1:{port}/{repo}{sep}{ref}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)
import re
for block in lock.split("[[image]]")[1:]:
    name = re.search(r'name = "([^"]+)"', block).group(1)
    family, version = name.split(":")
    if family not in families:
        continue
    repo = "base-images-e2e/" + family.split("-", 1)[1]
    for m in raw(repo, version)["manifests"]:
        man = raw(repo, m["digest"])
        plat = m["platform"]["os"] + "/" + m["platform"]["architecture"]
        print(name, plat, repo, m["digest"], " ".join(l["digest"] for l in man["layers"]))
PY
}

round() { # mode port_a port_b
    local mode="$1" a="$2" b="$3" ws="$WORK/ws-$1"
    mkdir -p "$ws"
    echo "format = 1" > "$ws/versions.lock"
    export BASE_IMAGES_CACHE_DIR="$WORK/cache-$mode-a"
    empty_caches
    "$TOOL" --root "$ws" -q build "${FAMILIES[@]}" >/dev/null
    "$TOOL" --root "$ws" -q publish "${FAMILIES[@]}" --registry-override "127.0.0.1:$a" >/dev/null
    # The second build, from cold, in a copy of the workspace without the
    # published records (the same release times): publish B is a first
    # publish too, with the same created time (the lock's release time, or
    # SOURCE_DATE_EPOCH).
    local ws_b="$WORK/ws-$mode-b"
    mkdir -p "$ws_b"
    sed '/^\[image.published\]/,/^$/d' "$ws/versions.lock" > "$ws_b/versions.lock"
    export BASE_IMAGES_CACHE_DIR="$WORK/cache-$mode-b"
    empty_caches
    "$TOOL" --root "$ws_b" -q build "${FAMILIES[@]}" >/dev/null
    "$TOOL" --root "$ws_b" -q publish "${FAMILIES[@]}" --registry-override "127.0.0.1:$b" >/dev/null
    images_on "$a" "$ws" > "$WORK/$mode-a.txt"
    images_on "$b" "$ws_b" > "$WORK/$mode-b.txt"
    echo "== epoch: $mode"
    python3 - "$WORK/$mode-a.txt" "$WORK/$mode-b.txt" "$ws" "$ws_b" "$a" "$b" <<'PY'
import re, subprocess, sys, tarfile, io, gzip, json
a_lines = open(sys.argv[1]).read().split("\n")
b_lines = open(sys.argv[2]).read().split("\n")
locks = [open(p + "/versions.lock").read() for p in sys.argv[3:5]]
ports = sys.argv[5:7]
def indexes(lock):
    return dict(re.findall(r'name = "([^"]+)"(?:(?!\[\[image\]\]).)*?index = "([^"]+)"', lock, re.S))
ia, ib = indexes(locks[0]), indexes(locks[1])
same_index = sum(1 for k in ia if ib.get(k) == ia[k])
print(f"index digests equal: {same_index} of {len(ia)}")
total = same = 0
def files(port, repo, digest):
    data = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/v2/{repo}/blobs/{digest}"], capture_output=True, check=True).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as t:
        for m in t.getmembers():
            body = t.extractfile(m).read() if m.isfile() else b""
            out[m.name] = (m.mtime, m.mode, m.uid, m.gid, m.linkname, __import__("hashlib").sha256(body).hexdigest())
    return out
for la, lb in zip(a_lines, b_lines):
    if not la:
        continue
    pa, pb = la.split(), lb.split()
    name, plat, repo = pa[0], pa[1], pa[2]
    layers_a, layers_b = pa[4:], pb[4:]
    eq = sum(1 for x, y in zip(layers_a, layers_b) if x == y)
    total += len(layers_a); same += eq
    print(f"  {name} [{plat}]: manifest {'equal' if pa[3] == pb[3] else 'differs'}, {eq} of {len(layers_a)} layers equal")
    for n, (x, y) in enumerate(zip(layers_a, layers_b)):
        if x == y:
            continue
        fa, fb = files(ports[0], repo, x), files(ports[1], repo, y)
        diff = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
        shown = []
        for k in diff[:10]:
            va, vb = fa.get(k), fb.get(k)
            what = "only in one" if va is None or vb is None else ", ".join(
                f for f, i in (("mtime", 0), ("mode", 1), ("owner", 2), ("link", 4), ("bytes", 5)) if va[i] != vb[i])
            shown.append(f"{k} ({what})")
        print(f"    layer {n + 1}: {len(diff)} file(s) differ: " + "; ".join(shown))
print(f"layer digests equal: {same} of {total}")
PY
}

registry 5211; registry 5212; registry 5213; registry 5214
unset SOURCE_DATE_EPOCH
round release-time 5211 5212
SOURCE_DATE_EPOCH="$(( $(date +%s) - 60 ))"
export SOURCE_DATE_EPOCH
round source-date-epoch 5213 5214
