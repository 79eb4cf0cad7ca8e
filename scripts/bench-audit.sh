#!/usr/bin/env bash
# `audit` loading and matching speed, next to `jq` reading the same
# records, in one script, on the private engine (run it as
# `scripts/engine.sh run scripts/bench-audit.sh`):
#
#   the SBOM of every e2e version on every platform it declares is made
#   once (`sbom`, the step cache) and kept as a file; advisory sets of
#   50,000, 100,000 and 200,000 generated OSV records (Debian:12 and PyPI,
#   a fifth of them naming packages the images really contain, with fixes
#   above and below what they have, CVSS vectors, aliases; about 1 KB each
#   as real records are) are zipped as the OSV exports come; then, three
#   rounds, alternating which side goes first:
#     - ours: `e2e-build audit --sbom …` of every SBOM (release build, whole
#       process: reading the zip, parsing every record into the OSV
#       schema's types, indexing, matching every package), and of one SBOM
#       (how the time grows with packages);
#     - baseline: `unzip -p SET.zip | jq -c .id` (decompressing and parsing
#       the same records, nothing else).
#   Prints each set's medians, ours against jq, and the load rate in MB/s
#   of unpacked JSON.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v jq >/dev/null && command -v unzip >/dev/null || {
    echo "bench-audit needs jq and unzip (apt-get install jq unzip)" >&2
    exit 2
}
WORK="$(mktemp -d /var/tmp/bench-audit.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

tool_workspace
"$TOOL" --root "$WS" -q build e2e-python e2e-dual e2e-rpm >/dev/null

SBOMS=()
for entry in e2e-python:1.0.0/linux/amd64 e2e-python:1.1.0/linux/amd64 e2e-python:1.2.0/linux/amd64 \
    e2e-python:2.0.0/linux/amd64 e2e-dual:1.0.0/linux/amd64 e2e-dual:1.0.0/linux/arm64 \
    e2e-dual:1.1.0/linux/amd64 e2e-dual:1.1.0/linux/arm64 e2e-rpm:1.0.0/linux/amd64; do
    key="${entry%%/*}"
    platform="${entry#*/}"
    file="$WORK/${key/:/-}-${platform/\//-}.spdx.json"
    "$TOOL" --root "$WS" -q sbom "$key" --platform "$platform" > "$file"
    SBOMS+=(--sbom "$file")
done
packages="$(cat "$WORK"/*.spdx.json | jq -s '[.[].packages[]] | length')"

# The advisory sets.
python3 - "$WORK" "$WORK"/*.spdx.json <<'PY'
import json, random, sys, zipfile
work, sboms = sys.argv[1], sys.argv[2:]
random.seed(7)
real = set()
for path in sboms:
    for p in json.load(open(path))["packages"]:
        for r in p.get("externalRefs", []):
            loc = r["referenceLocator"]
            if loc.startswith("pkg:deb/"):
                q = dict(kv.split("=", 1) for kv in loc.split("?", 1)[1].split("&")) if "?" in loc else {}
                real.add(("Debian:12", q.get("upstream", p["name"]).split("%40")[0], p.get("versionInfo", "1")))
            elif loc.startswith("pkg:pypi/"):
                real.add(("PyPI", p["name"], p.get("versionInfo", "1")))
real = sorted(real)
words = ["lib", "py", "core", "net", "xml", "ssl", "zip", "http", "json", "tool", "data", "font", "perl", "gtk", "qt"]
vectors = ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
           "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"]
def record(n):
    cve = f"CVE-{2000 + n % 27}-{n:06d}"
    if n % 5 == 0 and real:
        eco, name, installed = real[n % len(real)]
        fixed = installed + ("+deb12u99" if eco.startswith("Debian") else ".post99") if n % 2 else "0.1"
    else:
        eco = "Debian:12" if n % 3 else "PyPI"
        name = "-".join(random.choice(words) for _ in range(3)) + str(n % 997)
        fixed = f"{n % 9}.{n % 13}.{n % 7}-{n % 5}" if eco.startswith("Debian") else f"{n % 9}.{n % 13}.{n % 7}"
    ident = f"DEBIAN-{cve}" if eco.startswith("Debian") else f"PYSEC-{n:07d}"
    rec = {"schema_version": "1.6.0", "id": ident, "modified": "2026-11-30T00:00:00Z",
           "published": "2026-01-01T00:00:00Z", "aliases": [cve], "summary": f"{name}: a generated vulnerability {n}",
           "details": ("A generated record for the audit benchmark, about as long as a real one. " * 6).strip(),
           "affected": [{"package": {"ecosystem": eco, "name": name},
                         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
           "references": [{"type": "ADVISORY", "url": f"https://security-tracker.invalid/tracker/{cve}"},
                          {"type": "WEB", "url": f"https://nvd.invalid/vuln/detail/{cve}"}]}
    if n % 4:
        rec["severity"] = [{"type": "CVSS_V3", "score": vectors[n % len(vectors)]}]
    return ident, json.dumps(rec, indent=2)
for count in (50000, 100000, 200000):
    with zipfile.ZipFile(f"{work}/osv-{count}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for n in range(count):
            ident, text = record(n)
            z.writestr(f"{ident}.json", text)
PY

printf '%-9s %9s %9s %12s %12s %9s %7s %9s %9s\n' RECORDS "ZIP (MB)" "JSON (MB)" "AUDIT ALL" "AUDIT ONE" "jq" RATIO "MB/s" "jq MB/s"
for count in 50000 100000 200000; do
    set_zip="$WORK/osv-$count.zip"
    mb_zip="$(stat -c %s "$set_zip" | awk '{ printf "%.1f", $1 / 1048576 }')"
    mb_json="$(unzip -Zt "$set_zip" | awk '{ printf "%.1f", $3 / 1048576 }')"
    ALL="" ONE="" JQ=""
    for round in 1 2 3; do
        run_all() { seconds "$TOOL" --root "$WS" -q audit "${SBOMS[@]}" --advisories "$set_zip" --fail-on none; }
        run_jq() { seconds sh -c "unzip -p '$set_zip' | jq -c .id > /dev/null"; }
        if (( round % 2 )); then
            ALL+="$(run_all) "; JQ+="$(run_jq) "
        else
            JQ+="$(run_jq) "; ALL+="$(run_all) "
        fi
        ONE+="$(seconds "$TOOL" --root "$WS" -q audit "${SBOMS[@]:0:2}" --advisories "$set_zip" --fail-on none) "
    done
    all="$(echo "$ALL" | median)" one="$(echo "$ONE" | median)" jq_s="$(echo "$JQ" | median)"
    awk -v n="$count" -v z="$mb_zip" -v j="$mb_json" -v a="$all" -v o="$one" -v q="$jq_s" \
        'BEGIN { printf "%-9d %9.1f %9.1f %11.2fs %11.2fs %8.2fs %6.2fx %9.1f %9.1f\n", n, z, j, a, o, q, a / q, j / a, j / q }'
done
echo "(AUDIT ALL: $(( ${#SBOMS[@]} / 2 )) SBOMs, $packages packages in all; AUDIT ONE: the first SBOM alone)"
