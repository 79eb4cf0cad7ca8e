# Helpers the benchmark scripts share (sourced, not run). The sourcing
# script sets WORK (its scratch directory) and PIDS (an array of the
# processes it started, which its EXIT trap ends).

# Starts Debian's docker-registry on 127.0.0.1:$1 with storage of its own in
# $WORK; waits until it answers.
registry() { # port
    mkdir -p "$WORK/registry-$1"
    cat > "$WORK/registry-$1.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/registry-$1
http:
  addr: 127.0.0.1:$1
YAML
    docker-registry serve "$WORK/registry-$1.yml" >"$WORK/registry-$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$1/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "registry on $1 did not answer" >&2
    exit 1
}

# Runs a command (its output kept in $WORK/last.log, shown if it fails) and
# prints its wall time in seconds.
seconds() { # command...
    local start end
    start="$(date +%s.%N)"
    "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; exit 1; }
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }'
}

# Builds the release tool and the fixture server, starts the server (ended
# with the sourcing script's PIDS), and makes an empty workspace: sets TOOL
# and WS, and exports NO_COLOR and a check cache of its own in $WORK.
tool_workspace() {
    cargo build -q --release -p base-images-tests --bin e2e-build --bin e2e-fixtures
    TOOL=target/release/e2e-build
    export NO_COLOR=1 BASE_IMAGES_CACHE_DIR="$WORK/cache"
    target/release/e2e-fixtures >"$WORK/fixtures.log" 2>&1 &
    PIDS+=($!)
    WS="$WORK/ws"
    mkdir -p "$WS"
    echo "format = 1" > "$WS/versions.lock"
}

# The median of the numbers on standard input (separated by spaces).
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
