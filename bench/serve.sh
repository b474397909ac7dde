#!/usr/bin/env bash
# Load test of zeug's development server against its peers, in one run:
#
#   zeug      bench/peers/zeug_hello: run_simple with a hello world app
#   hyper     bench/peers/hyper_hello: hyper 1.x + tokio, hello world
#   werkzeug  bench/werkzeug_hello.py: Werkzeug's run_simple(threaded=True)
#   example   examples/hello: zeug with a small real app (a Request, routing on the
#             path, the query string, a formatted greeting), for reference
#
# zeug, hyper and Werkzeug answer every request with the same "Hello World!" and its
# Content-Type, and the two Rust peers are separate crates built with the same release
# profile, so the comparison is of the servers. The example shows what a small real app
# adds on top.
#
# For zeug and hyper: RSS with 1000 idle keep-alive connections (bench/idle_conns.py, on a
# fresh process); then for each `wrk -t1 -c32` and `wrk -t1 -c256` (DURATION each, default
# 5s) on loopback, alternating the servers for ROUNDS rounds (default 3; Werkzeug runs once)
# and reporting the medians: a machine's speed drifts by tens of percent over a minute,
# and alternating gives both servers the same drift. Prints req/s, p99 latency, each
# server's CPU time (user + system) per request, and the ratios against the targets: zeug
# >= 1.0x hyper's req/s at both concurrencies with no more CPU per request, >= 30x
# Werkzeug's req/s, and memory per idle connection <= 1.5x hyper's.
#
# Figures count only from a quiet machine: check that the load average is below 1 with
# nothing else running before you start (the script prints it).
#
# Needs: wrk, python3 with werkzeug, cargo. Server logs go to /dev/null (each server logs
# one line per request by default, and that cost is part of what is measured).
#
# When run as root, the servers and wrk run at nice -10, so stray background work disturbs
# the peers less; set BENCH_NICE=0 to turn that off.
#
# Usage: bench/serve.sh     (DURATION=5s ROUNDS=3 IDLE_CONNS=1000 SKIP_WERKZEUG=1 to tune)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
IDLE_CONNS=${IDLE_CONNS:-1000}
HOST=127.0.0.1
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "$(id -u)" -eq 0 ]; then BENCH_NICE=${BENCH_NICE:--10}; else BENCH_NICE=${BENCH_NICE:-0}; fi
RUN=(nice -n "$BENCH_NICE")

command -v wrk >/dev/null || { echo "bench/serve.sh: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }
python3 -c 'import werkzeug' 2>/dev/null || { echo "bench/serve.sh: pip install werkzeug" >&2; exit 1; }
# 1000 idle connections plus wrk's need more than the usual 1024 descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192 || true

# Builds go where cargo puts them: CARGO_TARGET_DIR when set (the peers in a `peers`
# directory inside it), else ./target.
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$PWD/$TARGET_DIR" ;; esac
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== building (release)" >&2
cargo build --release --quiet --example hello
for peer in zeug_hello hyper_hello; do
    CARGO_TARGET_DIR="$TARGET_DIR/peers" cargo build --release --quiet \
        --manifest-path "bench/peers/$peer/Cargo.toml"
done
ZEUG_BIN=$TARGET_DIR/peers/release/zeug_hello
HYPER_BIN=$TARGET_DIR/peers/release/hyper_hello
EXAMPLE_BIN=$TARGET_DIR/release/examples/hello

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

start() { # name port command...
    local name=$1 port=$2
    shift 2
    HOST=$HOST PORT=$port "${RUN[@]}" "$@" >/dev/null 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 1 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if curl -fsS "http://$HOST:$port/" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "bench/serve.sh: $name did not start on port $port" >&2
    exit 1
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Prints the server's RSS growth in KiB over IDLE_CONNS idle keep-alive connections.
idle_rss() { # pid port
    local pid=$1 port=$2 before after fifo
    before=$(rss_kib "$pid")
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    python3 bench/idle_conns.py "$HOST" "$port" "$IDLE_CONNS" <"$fifo" >"$fifo.out" &
    local helper=$!
    exec 9>"$fifo"
    for _ in $(seq 1 300); do grep -q ready "$fifo.out" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5
    after=$(rss_kib "$pid")
    echo >&9
    exec 9>&-
    wait "$helper" || true
    local alive
    alive=$(awk '/^alive/ {print $2}' "$fifo.out")
    rm -f "$fifo" "$fifo.out"
    if [ "${alive:-0}" != "$IDLE_CONNS" ]; then
        echo "bench/serve.sh: only ${alive:-0} of $IDLE_CONNS idle connections survived" >&2
    fi
    echo "$before $after"
}

# CPU time (user + system) the process has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Prints "req_per_sec p99_ms cpu_us_per_request" for one wrk run against server pid $3.
load() { # port connections pid
    local out cpu0 cpu1
    cpu0=$(cpu_ticks "$3")
    out=$("${RUN[@]}" wrk -t1 -c"$2" -d"$DURATION" --latency "http://$HOST:$1/")
    cpu1=$(cpu_ticks "$3")
    local rps p99 requests
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    local errors
    errors=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    [ -z "$errors" ] || echo "bench/serve.sh: wrk on port $1 -c$2: $errors" >&2
    local cpu_us
    cpu_us=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "nan" }')
    echo "$rps $(to_ms "$p99") $cpu_us"
}

to_ms() { # wrk latency like 512.00us, 1.20ms, 2.01s -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else print "nan" }'
}

declare -A RPS32 P99_32 CPU32 RPS256 P99_256 CPU256 RSS0 RSS1 PORT PID
declare -A ALL32 ALL256 ALLCPU32 ALLCPU256

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Memory per idle connection, on a fresh process.
measure_idle() { # name port command...
    local name=$1 port=$2
    shift 2
    echo "== $name: idle connections" >&2
    start "$name" "$port" "$@"
    read -r RSS0[$name] RSS1[$name] < <(idle_rss "$SERVER_PID" "$port")
    stop "$SERVER_PID"
}

# Starts a fresh process for the throughput rounds and warms it up.
start_for_load() { # name port command...
    local name=$1 port=$2
    shift 2
    start "$name" "$port" "$@"
    PORT[$name]=$port
    PID[$name]=$SERVER_PID
    "${RUN[@]}" wrk -t1 -c32 -d2s "http://$HOST:$port/" >/dev/null 2>&1 # warm-up
}

# One wrk run per server and concurrency, alternating the servers, ROUNDS times: the
# machine's speed drifts over a minute, and alternating (in reverse order every other
# round) gives each server the same drift.
# The figures reported are the medians of the rounds.
load_rounds() { # names...
    local round name c rps p99 cpu order
    for round in $(seq 1 "$ROUNDS"); do
        # Every other round runs the servers in reverse order, so that no server always
        # follows the same one (or always runs first after the other concurrency).
        if [ $((round % 2)) = 1 ]; then order=("$@"); else order=(); for name in "$@"; do order=("$name" "${order[@]}"); done; fi
        for c in 32 256; do
            for name in "${order[@]}"; do
                echo "== round $round: $name -c$c" >&2
                read -r rps p99 cpu < <(load "${PORT[$name]}" "$c" "${PID[$name]}")
                if [ "$c" = 32 ]; then
                    ALL32[$name]+="$rps "; P99_32[$name]+="$p99 "; ALLCPU32[$name]+="$cpu "
                else
                    ALL256[$name]+="$rps "; P99_256[$name]+="$p99 "; ALLCPU256[$name]+="$cpu "
                fi
            done
        done
    done
    for name in "$@"; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        {
            RPS32[$name]=$(median ${ALL32[$name]}); CPU32[$name]=$(median ${ALLCPU32[$name]})
            RPS256[$name]=$(median ${ALL256[$name]}); CPU256[$name]=$(median ${ALLCPU256[$name]})
            P99_32[$name]=$(median ${P99_32[$name]}); P99_256[$name]=$(median ${P99_256[$name]})
        }
    done
}

measure_idle zeug "$(free_port)" "$ZEUG_BIN"
measure_idle hyper "$(free_port)" "$HYPER_BIN"
start_for_load zeug "$(free_port)" "$ZEUG_BIN"
start_for_load hyper "$(free_port)" "$HYPER_BIN"
start_for_load example "$(free_port)" "$EXAMPLE_BIN"
load_rounds zeug hyper example
stop "${PID[zeug]}"
stop "${PID[hyper]}"
stop "${PID[example]}"
if [ -z "${SKIP_WERKZEUG:-}" ]; then
    echo "== werkzeug" >&2
    start_for_load werkzeug "$(free_port)" python3 bench/werkzeug_hello.py
    ROUNDS=1 load_rounds werkzeug
    stop "${PID[werkzeug]}"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
per_conn() { awk -v a="$1" -v b="$2" -v n="$IDLE_CONNS" 'BEGIN { printf "%.1f", (b - a) / n }'; }

echo
echo "zeug server benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
echo "wrk -t1, $DURATION per run, medians of $ROUNDS alternating rounds (Werkzeug: one), loopback, nice $BENCH_NICE"
echo "RSS over $IDLE_CONNS idle keep-alive connections; load average at the start $LOAD_AT_START, now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf "%-9s %11s %8s %7s %11s %8s %7s %9s %9s %8s\n" server "c32 req/s" "p99 ms" "CPU us" \
    "c256 req/s" "p99 ms" "CPU us" "RSS KiB" "+idle" "KiB/conn"
for name in zeug hyper werkzeug example; do
    [ -n "${RPS32[$name]:-}" ] || continue
    if [ -n "${RSS0[$name]:-}" ]; then
        rss="${RSS0[$name]}"
        grow=$((RSS1[$name] - RSS0[$name]))
        pc=$(per_conn "${RSS0[$name]}" "${RSS1[$name]}")
    else
        rss=-; grow=-; pc=-
    fi
    printf "%-9s %11.0f %8.2f %7.1f %11.0f %8.2f %7.1f %9s %9s %8s\n" "$name" "${RPS32[$name]}" "${P99_32[$name]}" \
        "${CPU32[$name]}" "${RPS256[$name]}" "${P99_256[$name]}" "${CPU256[$name]}" "$rss" "$grow" "$pc"
done
echo
# zeug / hyper in each round (the two runs of a round are seconds apart), and their median:
# the steadier comparison when the machine's speed drifts between rounds.
round_ratios() { # zeug-list hyper-list
    paste -d/ <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") |
        awk -F/ 'NF == 2 && $1 != "" && $2 > 0 {printf "%.2f ", $1 / $2}'
}
paired() { # zeug-list hyper-list
    # shellcheck disable=SC2046 # the ratios are space-separated numbers
    printf '%.2f' "$(median $(round_ratios "$1" "$2"))"
}
echo "zeug / hyper, median of the rounds' ratios (each round's ratio in brackets):"
echo "  req/s            c32 $(paired "${ALL32[zeug]}" "${ALL32[hyper]}")x [$(round_ratios "${ALL32[zeug]}" "${ALL32[hyper]}")]," \
    "c256 $(paired "${ALL256[zeug]}" "${ALL256[hyper]}")x [$(round_ratios "${ALL256[zeug]}" "${ALL256[hyper]}")]   (target >= 1.0x)"
echo "  CPU per request  c32 $(paired "${ALLCPU32[zeug]}" "${ALLCPU32[hyper]}")x [$(round_ratios "${ALLCPU32[zeug]}" "${ALLCPU32[hyper]}")]," \
    "c256 $(paired "${ALLCPU256[zeug]}" "${ALLCPU256[hyper]}")x [$(round_ratios "${ALLCPU256[zeug]}" "${ALLCPU256[hyper]}")]   (target <= 1.0x)"
echo "examples/hello / hyper, CPU per request: c32 $(paired "${ALLCPU32[example]}" "${ALLCPU32[hyper]}")x, c256 $(paired "${ALLCPU256[example]}" "${ALLCPU256[hyper]}")x   (for reference)"
if [ -n "${RPS32[werkzeug]:-}" ]; then
    w32=$(ratio "${RPS32[zeug]}" "${RPS32[werkzeug]}")
    w256=$(ratio "${RPS256[zeug]}" "${RPS256[werkzeug]}")
    echo "zeug / werkzeug req/s:  c32 ${w32}x, c256 ${w256}x   (target >= 30x)"
    echo "server CPU per request, werkzeug / zeug: c32 $(ratio "${CPU32[werkzeug]}" "${CPU32[zeug]}")x, c256 $(ratio "${CPU256[werkzeug]}" "${CPU256[zeug]}")x"
fi
zpc=$(per_conn "${RSS0[zeug]}" "${RSS1[zeug]}")
hpc=$(per_conn "${RSS0[hyper]}" "${RSS1[hyper]}")
echo "memory per idle connection: zeug ${zpc} KiB, hyper ${hpc} KiB, ratio $(ratio "$zpc" "$hpc")x   (target <= 1.5x)"
