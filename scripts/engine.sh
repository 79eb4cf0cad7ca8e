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
#   scripts/engine.sh private      start the private engine of
#                                  $BASE_IMAGES_ENGINE_DIR even when another
#                                  daemon answers (a second builder; no
#                                  registry); print its DOCKER_HOST
#
# The private engine listens on its unix socket and on a loopback TCP port
# the OS chooses at start (recorded in $BASE_IMAGES_ENGINE_DIR/tcp-port;
# BASE_IMAGES_ENGINE_TCP_PORT names one instead), so two engines started
# from two directories never collide, with TLS and client certificates only: at
# start this script makes a CA, a server certificate for 127.0.0.1 and a
# client certificate with openssl in $BASE_IMAGES_ENGINE_DIR/certs (ca.pem,
# cert.pem, key.pem as the docker CLI names them; keys 0600; the CA's key
# is deleted once both are signed), so no port serves the root API without
# one. `run` exports BASE_IMAGES_ENGINE_TCP and BASE_IMAGES_ENGINE_CERT_PATH
# when that listener answers, for the tests of DOCKER_HOST=tcp://… with
# DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH.
#
# `start` and `run` also start a local OCI registry (Debian's docker-registry)
# on 127.0.0.1:5000 for the tests that publish or pin roots, unless one
# already answers there; the engine treats 127.0.0.0/8 as insecure.
#
# The engine has its own data root, exec root, pidfiles and sockets under
# $BASE_IMAGES_ENGINE_DIR (default /var/tmp/base-images-engine), which this
# script creates (mode 0700, with a marker file); it refuses, with exit 2, a
# directory it did not create, a symbolic link, one another user owns or
# others may write to (it would run, and kill, what that directory names).
# The engine does not touch host networking: --bridge=none --iptables=false
# --ip6tables=false --ip-forward=false --ip-masq=false
# --userland-proxy=false, so it has no default network and build steps use
# the host's. It runs its own containerd, because dockerd 20.10 silently
# uses the system containerd socket whenever one exists.
set -euo pipefail

DIR="${BASE_IMAGES_ENGINE_DIR:-/var/tmp/base-images-engine}"
SOCK="$DIR/docker.sock"
# Written when this script creates $DIR; a directory without it is refused.
MARKER="$DIR/.base-images-engine"
# The private engine also listens on loopback TCP (TLS, client certificates
# from $CERTS only), so DOCKER_HOST=tcp://… is tested against a real daemon;
# the port dockerd was given (0: the OS chooses), and where the one it
# listens on is recorded.
TCP_PORT="${BASE_IMAGES_ENGINE_TCP_PORT:-0}"
TCP_PORT_FILE="$DIR/tcp-port"
CERTS="$DIR/certs"
# How long the certificates are valid; they are made again at a start
# within a day of their end.
CERT_DAYS=365
CTR_SOCK="$DIR/containerd/containerd.sock"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "engine: $*" >&2; }

refuse_dir() { # reason
    log "refusing the engine directory $DIR: $*; remove it or set BASE_IMAGES_ENGINE_DIR to a new path"
    exit 2
}

# Refuses $DIR, if it exists, unless this script created it (the marker),
# this user owns it and only this user may write to it.
check_dir() {
    [ -L "$DIR" ] && refuse_dir "it is a symbolic link"
    [ -e "$DIR" ] || return 0
    [ -d "$DIR" ] || refuse_dir "it is not a directory"
    [ "$(stat -c %u "$DIR")" = "$(id -u)" ] || refuse_dir "it is owned by $(stat -c %U "$DIR"), not $(id -un)"
    { [ -f "$MARKER" ] && [ ! -L "$MARKER" ]; } ||
        refuse_dir "scripts/engine.sh did not create it (no $(basename "$MARKER") marker)"
    [ $((0$(stat -c %a "$DIR") & 022)) = 0 ] || refuse_dir "others may write to it (mode $(stat -c %a "$DIR"))"
}

# Checks $DIR, or creates it (0700) with its marker.
claim_dir() {
    check_dir
    [ -d "$DIR" ] && return 0
    mkdir -p "$(dirname "$DIR")"
    mkdir -m 0700 "$DIR" 2>/dev/null || refuse_dir "it could not be created (did another process create it?)"
    echo "created by base-images scripts/engine.sh for its private engine" >"$MARKER"
}

# Whether $CERTS holds a CA, a server and a client certificate it signed,
# valid for at least another day.
certs_valid() {
    local f
    for f in ca.pem server-cert.pem server-key.pem cert.pem key.pem; do [ -f "$CERTS/$f" ] || return 1; done
    openssl verify -CAfile "$CERTS/ca.pem" "$CERTS/server-cert.pem" "$CERTS/cert.pem" >/dev/null 2>&1 || return 1
    for f in ca.pem server-cert.pem cert.pem; do
        openssl x509 -checkend 86400 -noout -in "$CERTS/$f" >/dev/null 2>&1 || return 1
    done
}

leaf_cert() { # name CN extendedKeyUsage [extension]: a P-256 key and a certificate the CA in . signs
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s\n' \
        "$3" "${4:-}" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 16)" \
        -days "$CERT_DAYS" -extfile "$1.ext" -out "$1-cert.pem" 2>/dev/null
    rm "$1.csr" "$1.ext"
}

# The TCP listener's CA, server certificate (127.0.0.1) and client
# certificate, made in $CERTS (0700; keys 0600) unless valid ones are there.
make_certs() {
    certs_valid && return 0
    if ! command -v openssl >/dev/null; then
        [ "$(id -u)" = 0 ] || { log "openssl is missing (apt-get install openssl)"; exit 2; }
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
    fi
    local tmp
    tmp="$(mktemp -d "$DIR/certs.XXXXXX")"
    (
        umask 077
        cd "$tmp"
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca-key.pem -out ca.pem -days "$CERT_DAYS" -subj "/CN=base-images private engine CA" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        leaf_cert server 127.0.0.1 serverAuth subjectAltName=IP:127.0.0.1
        leaf_cert client "base-images tests" clientAuth
        mv client-cert.pem cert.pem
        mv client-key.pem key.pem
        # Nobody signs another certificate for this engine.
        rm ca-key.pem
    ) || { rm -rf "$tmp"; log "could not make the TLS certificates with openssl"; exit 2; }
    rm -rf "$CERTS"
    mv "$tmp" "$CERTS"
    log "made the TLS certificates of the TCP listener in $CERTS"
}

tcp_answers() { # tcp://host:port [certificate dir: TLS with its client certificate]
    local addr="${1#*://}"
    if [ -n "${2:-}" ]; then
        curl -fsS --max-time 2 --cacert "$2/ca.pem" --cert "$2/cert.pem" --key "$2/key.pem" \
            "https://$addr/_ping" >/dev/null 2>&1
    else
        curl -fsS --max-time 2 "http://$addr/_ping" >/dev/null 2>&1
    fi
}

answers() { # socket
    [ -S "$1" ] && curl -fsS --max-time 2 --unix-socket "$1" http://docker/_ping >/dev/null 2>&1
}

running_daemon() { # prints the DOCKER_HOST of a daemon that answers, if any
    if [ -n "${DOCKER_HOST:-}" ]; then
        case "$DOCKER_HOST" in
            unix://*) answers "${DOCKER_HOST#unix://}" && { echo "$DOCKER_HOST"; return 0; } ;;
            https://*) tcp_answers "$DOCKER_HOST" "${DOCKER_CERT_PATH:-$HOME/.docker}" && { echo "$DOCKER_HOST"; return 0; } ;;
            *) tcp_answers "$DOCKER_HOST" "${DOCKER_TLS_VERIFY+${DOCKER_CERT_PATH:-$HOME/.docker}}" &&
                { echo "$DOCKER_HOST"; return 0; } ;;
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
    claim_dir
    make_certs
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
        -H "unix://$SOCK" -H "tcp://127.0.0.1:$TCP_PORT" --tlsverify --tlscacert "$CERTS/ca.pem" \
        --tlscert "$CERTS/server-cert.pem" --tlskey "$CERTS/server-key.pem" \
        --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
        --ip-masq=false --userland-proxy=false >"$DIR/dockerd.log" 2>&1 &
    echo $! > "$DIR/dockerd.launcher.pid"
    for _ in $(seq 300); do
        if answers "$SOCK"; then
            log "private engine answers on unix://$SOCK"
            record_tcp || { stop; exit 2; }
            return 0
        fi
        sleep 0.1
    done
    log "the private engine did not answer within 30 s; see $DIR/dockerd.log:"
    tail -20 "$DIR/dockerd.log" >&2
    stop
    exit 2
}

# Records the TCP port dockerd listens on, as its log says ("API listen on
# 127.0.0.1:PORT"; the OS chose it when TCP_PORT is 0).
record_tcp() {
    local port=""
    for _ in $(seq 50); do
        # (no match yet is not an error: dockerd may not have logged it)
        port="$({ grep -o 'API listen on 127\.0\.0\.1:[0-9]*' "$DIR/dockerd.log" || true; } | tail -1 | cut -d: -f2)"
        [ -n "$port" ] && break
        sleep 0.1
    done
    rm -f "$TCP_PORT_FILE"
    if [ -n "$port" ]; then
        echo "$port" > "$TCP_PORT_FILE"
        log "private engine answers on tcp://127.0.0.1:$port (TLS, client certificates in $CERTS)"
    else
        log "the private engine's TCP port is not in $DIR/dockerd.log (no \"API listen on 127.0.0.1:PORT\"):"
        tail -20 "$DIR/dockerd.log" >&2
        return 1
    fi
}

# The engine's TCP address, once it was started and recorded its port
# (fails otherwise: call it where a failure is a condition).
tcp_address() {
    [ -s "$TCP_PORT_FILE" ] || return 1
    echo "tcp://127.0.0.1:$(cat "$TCP_PORT_FILE")"
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
    check_dir
    stop_pid "$DIR/registry.pid"
    stop_pid "$DIR/dockerd.launcher.pid"
    stop_pid "$DIR/containerd.pid"
    rm -f "$TCP_PORT_FILE"
    # dockerd leaves an nsfs bind mount behind.
    if mountpoint -q "$DIR/exec/netns/default" 2>/dev/null; then umount "$DIR/exec/netns/default" || true; fi
    log "private engine stopped"
}

case "${1:-}" in
    start)
        claim_dir
        emulation
        if running_daemon >/dev/null; then log "a daemon already answers: $(running_daemon)"; else start; fi
        start_registry ;;
    stop) stop ;;
    private)
        claim_dir
        if answers "$SOCK"; then log "the private engine of $DIR already answers"; else start; fi
        echo "export DOCKER_HOST=unix://$SOCK" ;;
    env)
        check_dir
        host="$(running_daemon)" || { log "no daemon answers; run: scripts/engine.sh start"; exit 2; }
        echo "export DOCKER_HOST=$host" ;;
    run)
        shift
        [ $# -gt 0 ] || { log "usage: scripts/engine.sh run CMD..."; exit 2; }
        claim_dir
        emulation
        if host="$(running_daemon)"; then
            log "reusing the daemon at $host"
        else
            # Armed first: a start that fails half-way is stopped too.
            started=1
            trap stop EXIT
            start
            host="unix://$SOCK"
        fi
        if ! registry_answers; then
            start_registry
            # stop() ends the registry too; without an engine of ours, end just it.
            [ -n "${started:-}" ] || trap 'stop_pid "$DIR/registry.pid"' EXIT
        fi
        export DOCKER_HOST="$host" BASE_IMAGES_E2E=1 BASE_IMAGES_REGISTRY="$REGISTRY"
        # Where the engine answers on TCP with the client certificate made
        # at its start, when it is ours (tests of tcp:// with TLS).
        if [ -f "$CERTS/ca.pem" ] && tcp="$(tcp_address)" && tcp_answers "$tcp" "$CERTS"; then
            export BASE_IMAGES_ENGINE_TCP="$tcp" BASE_IMAGES_ENGINE_CERT_PATH="$CERTS"
        fi
        "$HERE/root-image.sh"
        "$@" ;;
    *)
        echo "usage: scripts/engine.sh run CMD... | start | stop | env | private" >&2
        exit 2 ;;
esac
