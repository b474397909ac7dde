#!/usr/bin/env bash
# The server under hostile clients (bench/hostile.py), release builds on loopback:
#
#   heads   10,000 connections each holding a 64 KB partial head: RSS (examples/hello)
#   slow    1,100 and 5,000 connections sending a body a byte at a time: latency of a
#           fresh GET (examples/hello)
#   bodies  8 concurrent 60 MiB uploads to httpbin's /post: peak RSS (examples/httpbin)
#
# Prints each figure with the load average. Honours CARGO_TARGET_DIR.
# Usage: bench/hostile.sh [heads|slow|bodies]...   (all three by default)
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=127.0.0.1
MODES=("$@")
[ ${#MODES[@]} -eq 0 ] && MODES=(heads slow bodies)
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$PWD/$TARGET_DIR" ;; esac
# 10,000 connections need more than the usual 1024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== building (release)" >&2
cargo build --release --quiet --example hello --example httpbin

SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT

start() { # example port
    HOST=$HOST PORT=$2 "$TARGET_DIR/release/examples/$1" >/dev/null 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -fsS "http://$HOST:$2/" >/dev/null 2>&1 || curl -fsS "http://$HOST:$2/get" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "bench/hostile.sh: $1 did not start" >&2
    exit 1
}

for mode in "${MODES[@]}"; do
    port=$(free_port)
    case $mode in
        heads) start hello "$port"; python3 bench/hostile.py heads $HOST "$port" "$SERVER_PID" 10000 64000 ;;
        slow)
            start hello "$port"; python3 bench/hostile.py slow $HOST "$port" "$SERVER_PID" 1100
            cleanup; port=$(free_port)
            start hello "$port"; python3 bench/hostile.py slow $HOST "$port" "$SERVER_PID" 5000 ;;
        bodies) start httpbin "$port"; python3 bench/hostile.py bodies $HOST "$port" "$SERVER_PID" 8 62914560 /post ;;
        *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    cleanup
    SERVER_PID=
done
