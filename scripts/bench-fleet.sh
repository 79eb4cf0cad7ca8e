#!/usr/bin/env bash
# The e2e catalog (e2e-python and e2e-dual, both platforms) built cold, as
# a CI fleet's runner starting with an empty engine builds it, three ways,
# in one script on this machine (run it as
# `scripts/engine.sh run scripts/bench-fleet.sh [ROUNDS]`, default 2):
#
#   one engine      every platform on the engine DOCKER_HOST names (arm64
#                   under qemu-user-static), its step cache and BuildKit's
#                   cache emptied first;
#   two builders    linux/amd64 there, linux/arm64 on a second private
#                   engine (`--builder linux/arm64=…`), both emptied first;
#   shared cache    a third private engine, empty, as a second runner:
#                   `--cache` from a registry a first runner filled with
#                   `--cache-write` (its push timed on its own line).
#
# Each run has a check result cache of its own (nothing cached), the same
# SOURCE_DATE_EPOCH, and the fixture server for the downloads. Rounds
# alternate the order of the three. On one machine the two builders share
# its 2 cores; in a fleet each has its own (and arm64 its own CPU, not
# emulation), so the two-builder figure here is a bound, not the gain.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"

WORK="$(mktemp -d /var/tmp/bench-fleet.XXXXXX)"
PIDS=()
ENGINES=()
DOCKER=/usr/bin/docker
cleanup() {
    # Each engine is stopped before $WORK (its marker and pidfiles) goes.
    for dir in "${ENGINES[@]}"; do
        BASE_IMAGES_ENGINE_DIR="$dir" scripts/engine.sh stop >/dev/null 2>&1 || true
    done
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

FIRST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
PYTHON_ROOT=base-images-e2e/bookworm-python:2
AMD64_ROOT=base-images-e2e/bookworm-minbase-amd64:1
ARM64_ROOT=base-images-e2e/bookworm-minbase-arm64:1
FAMILIES=(e2e-python e2e-dual)
export SOURCE_DATE_EPOCH=1700000000

tool_workspace
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
registry "$PORT"
CACHE="127.0.0.1:$PORT/bench/cache"

# Starts a private engine in $WORK/$1 holding the roots named after it
# (stopped by the EXIT trap); sets HOST to its DOCKER_HOST.
engine() { # name roots...
    local dir="$WORK/$1" root
    shift
    ENGINES+=("$dir")
    BASE_IMAGES_ENGINE_DIR="$dir" scripts/engine.sh private >/dev/null 2>"$WORK/engine.log"
    HOST="unix://$dir/docker.sock"
    for root in "$@"; do "$DOCKER" -H "$FIRST" save "$root" | "$DOCKER" -H "$HOST" load -q >/dev/null; done
}

# Empties the step cache and BuildKit's cache of the engine at $1.
empty() { # host
    local images
    images="$("$DOCKER" -H "$1" images -q base-images-cache | sort -u)"
    [ -z "$images" ] || "$DOCKER" -H "$1" rmi -f $images >/dev/null 2>&1 || true
    "$DOCKER" -H "$1" builder prune -af >/dev/null 2>&1 || true
}

# The tool on a fresh workspace and check cache, on the engine at $1.
run() { # host args...
    local host="$1"
    shift
    rm -rf "$WS" "$WORK/cache"
    mkdir -p "$WS"
    echo "format = 1" > "$WS/versions.lock"
    DOCKER_HOST="$host" "$TOOL" --root "$WS" -q build "${FAMILIES[@]}" "$@"
}

engine arm "$ARM64_ROOT"
ARM="$HOST"
engine runner "$PYTHON_ROOT" "$AMD64_ROOT" "$ARM64_ROOT"
RUNNER="$HOST"

declare -A TIMES
one() { empty "$FIRST"; TIMES[one]+="$(seconds run "$FIRST") "; }
two() { empty "$FIRST"; empty "$ARM"; TIMES[two]+="$(seconds run "$FIRST" --builder "linux/arm64=$ARM") "; }
shared() { # round
    # A cache repository of the round's own: the first runner starts cold.
    local cache="$CACHE-$1"
    empty "$FIRST"
    # The first runner fills the cache: every image pushed (its own line).
    TIMES[fill]+="$(seconds run "$FIRST" --cache "$cache" --cache-write) "
    empty "$RUNNER"
    TIMES[shared]+="$(seconds run "$RUNNER" --cache "$cache") "
}
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then one; two; shared "$round"; else shared "$round"; two; one; fi
done

printf '%-44s %10s\n' "THE E2E CATALOG, COLD (${ROUNDS} rounds, median)" "SECONDS"
for row in "one:one engine, both platforms" "two:two builders, one per platform" \
    "fill:first runner, cold, writing the cache" "shared:second runner, empty engine, shared cache"; do
    key="${row%%:*}"
    printf '%-44s %10.1f   (each round: %s)\n' "${row#*:}" "$(echo "${TIMES[$key]}" | median)" "${TIMES[$key]% }"
done
