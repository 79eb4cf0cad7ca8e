#!/usr/bin/env bash
# The project's private Docker engine (Debian's docker.io), for tests and
# the demo on a machine without a running daemon.
#
#   scripts/engine.sh run CMD...   reuse a running daemon, or start a private
#                                  one; build the local root image; run CMD
#                                  with DOCKER_HOST and BASE_IMAGES_E2E=1;
#                                  stop what was started, by PID, on exit
#   scripts/engine.sh start        start the private engine and leave it running
#   scripts/engine.sh stop         stop the private engine started by `start`
#   scripts/engine.sh env          print the DOCKER_HOST to export
#
# The private engine listens on its unix socket and on 127.0.0.1:23750
# (BASE_IMAGES_ENGINE_TCP_PORT); `run` exports BASE_IMAGES_ENGINE_TCP when
# that answers.
#
# `start` and `run` also start a local OCI registry (Debian's docker-registry)
# on 127.0.0.1:5000 for the tests that publish or pin roots, unless one
# already answers there; the engine treats 127.0.0.0/8 as insecure.
#
# The engine has its own data root, exec root, pidfiles and sockets under
# $BASE_IMAGES_ENGINE_DIR (default /var/tmp/base-images-engine) and does not
# touch host networking: --bridge=none --iptables=false --ip6tables=false
# --ip-forward=false --ip-masq=false --userland-proxy=false. It runs its own
# containerd, because dockerd 20.10 silently uses the system containerd
# socket whenever one exists.
set -euo pipefail

DIR="${BASE_IMAGES_ENGINE_DIR:-/var/tmp/base-images-engine}"
SOCK="$DIR/docker.sock"
# The private engine also listens on loopback TCP (plain HTTP: loopback
# only), so DOCKER_HOST=tcp://… is tested against a real daemon.
TCP="tcp://127.0.0.1:${BASE_IMAGES_ENGINE_TCP_PORT:-23750}"
CTR_SOCK="$DIR/containerd/containerd.sock"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "engine: $*" >&2; }

answers() { # socket
    [ -S "$1" ] && curl -fsS --max-time 2 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1
}

running_daemon() { # prints the DOCKER_HOST of a daemon that answers, if any
    if [ -n "${DOCKER_HOST:-}" ]; then
        case "$DOCKER_HOST" in
            unix://*) answers "${DOCKER_HOST#unix://}" && { echo "$DOCKER_HOST"; return 0; } ;;
            *) curl -fsS --max-time 2 "http://${DOCKER_HOST#tcp://}/_ping" >/dev/null 2>&1 && { echo "$DOCKER_HOST"; return 0; } ;;
        esac
        log "DOCKER_HOST=$DOCKER_HOST does not answer; starting the private engine instead"
    fi
    for sock in /var/run/docker.sock "$SOCK"; do
        answers "$sock" && { echo "unix://$sock"; return 0; }
    done
    return 1
}

install_engine() {
    command -v dockerd >/dev/null && command -v containerd >/dev/null && return 0
    if [ "$(id -u)" != 0 ]; then
        log "dockerd and containerd are missing; install Debian's docker.io package (apt-get install docker.io) or start a Docker daemon"
        exit 2
    fi
    log "installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-registry curl >/dev/null
}

# Other platforms run under qemu-user-static: its binfmt_misc entries carry
# the F flag (the interpreter is opened at registration), so they work in
# containers too. Also installs skopeo and openssl, the independent OCI
# reader and signature verifier of the publish tests.
emulation() {
    [ "$(uname -m)" = x86_64 ] || return 0
    local missing=
    command -v skopeo >/dev/null || missing="$missing skopeo"
    # openssl: the independent verifier of the signing tests.
    command -v openssl >/dev/null || missing="$missing openssl"
    [ -x /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -x /usr/bin/qemu-aarch64-static ] || missing="$missing qemu-user-static"
    command -v update-binfmts >/dev/null || missing="$missing binfmt-support"
    if [ -n "$missing" ]; then
        if [ "$(id -u)" != 0 ]; then log "missing:$missing (apt-get install$missing)"; return 1; fi
        log "installing$missing"
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64
    fi
    grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
        log "qemu-aarch64 is registered without the F flag; containers cannot use it"; return 1; }
    log "linux/arm64 runs under qemu-user-static"
}

REGISTRY=127.0.0.1:5000

registry_answers() {
    curl -fsS --max-time 2 "http://$REGISTRY/v2/" >/dev/null 2>&1
}

start_registry() {
    registry_answers && { log "a registry already answers on $REGISTRY"; return 0; }
    if ! command -v docker-registry >/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
        else
            log "docker-registry is missing; install Debian's docker-registry package"; return 1
        fi
    fi
    mkdir -p "$DIR/registry"
    cat > "$DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
YAML
    docker-registry serve "$DIR/registry.yml" >"$DIR/registry.log" 2>&1 &
    echo $! > "$DIR/registry.pid"
    for _ in $(seq 100); do registry_answers && { log "local registry answers on $REGISTRY"; return 0; }; sleep 0.1; done
    log "the local registry did not answer; see $DIR/registry.log"
    return 1
}

start() {
    install_engine
    mkdir -p "$DIR/containerd" "$DIR/data" "$DIR/exec"
    cat > "$DIR/containerd.toml" <<TOML
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTR_SOCK"
[debug]
  address = "$DIR/containerd/debug.sock"
[ttrpc]
  address = "$DIR/containerd/ttrpc.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
TOML
    cat > "$DIR/daemon.json" <<JSON
{"deprecated-key-path": "$DIR/key.json"}
JSON
    containerd --config "$DIR/containerd.toml" >"$DIR/containerd.log" 2>&1 &
    echo $! > "$DIR/containerd.pid"
    for _ in $(seq 100); do [ -S "$CTR_SOCK" ] && break; sleep 0.1; done
    dockerd --config-file "$DIR/daemon.json" --containerd "$CTR_SOCK" \
        --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" \
        -H "unix://$SOCK" -H "$TCP" --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
        --ip-masq=false --userland-proxy=false >"$DIR/dockerd.log" 2>&1 &
    echo $! > "$DIR/dockerd.launcher.pid"
    for _ in $(seq 300); do
        answers "$SOCK" && { log "private engine answers on unix://$SOCK"; return 0; }
        sleep 0.1
    done
    log "the private engine did not answer within 30 s; see $DIR/dockerd.log:"
    tail -20 "$DIR/dockerd.log" >&2
    stop
    exit 2
}

stop_pid() { # pidfile
    [ -f "$1" ] || return 0
    local pid; pid="$(cat "$1")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

stop() {
    stop_pid "$DIR/registry.pid"
    stop_pid "$DIR/dockerd.launcher.pid"
    stop_pid "$DIR/containerd.pid"
    # dockerd leaves an nsfs bind mount behind.
    if mountpoint -q "$DIR/exec/netns/default" 2>/dev/null; then umount "$DIR/exec/netns/default" || true; fi
    log "private engine stopped"
}

case "${1:-}" in
    start)
        emulation
        if running_daemon >/dev/null; then log "a daemon already answers: $(running_daemon)"; else start; fi
        start_registry ;;
    stop) stop ;;
    env)
        host="$(running_daemon)" || { log "no daemon answers; run: scripts/engine.sh start"; exit 2; }
        echo "export DOCKER_HOST=$host" ;;
    run)
        shift
        [ $# -gt 0 ] || { log "usage: scripts/engine.sh run CMD..."; exit 2; }
        emulation
        if host="$(running_daemon)"; then
            log "reusing the daemon at $host"
        else
            start
            started=1
            trap stop EXIT
            host="unix://$SOCK"
        fi
        mkdir -p "$DIR"
        if ! registry_answers; then
            start_registry
            # stop() ends the registry too; without an engine of ours, end just it.
            [ -n "${started:-}" ] || trap 'stop_pid "$DIR/registry.pid"' EXIT
        fi
        export DOCKER_HOST="$host" BASE_IMAGES_E2E=1 BASE_IMAGES_REGISTRY="$REGISTRY"
        # Where the engine answers on TCP, when it is ours (tests of tcp://).
        if curl -fsS --max-time 2 "http://${TCP#tcp://}/_ping" >/dev/null 2>&1; then
            export BASE_IMAGES_ENGINE_TCP="$TCP"
        fi
        "$HERE/root-image.sh"
        "$@" ;;
    *)
        echo "usage: scripts/engine.sh run CMD... | start | stop | env" >&2
        exit 2 ;;
esac
