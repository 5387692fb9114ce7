#!/usr/bin/env bash
# bench/run_proxy.sh - the proxy benchmarks of issue 2, side by side in one run on loopback:
#   (a) loadgen -> influxd                     (the reference)
#   (b) loadgen -> faradd -> influxd           (tee on: every line of the bench db parsed)
#   (c) loadgen -> faradd -> nullserver        (the proxy's own ceiling, tee on)
#   (d) loadgen -> nullserver                  (the rig's ceiling: loadgen + null upstream alone)
# with 1,000- and 5,000-line bodies, plain and gzip; 10-line bodies for requests/s; a half-load
# latency run for the latency faradd adds. faradd's and influxd's CPU come from /proc/PID/stat.
#
# Usage: bench/run_proxy.sh            (from the repository root, after building into build/)
# faradd runs with -upstream-timeout 60s to match influxd's write-timeout here (a loaded influxd
# can take more than faradd's default 10 s on a 5,000-line body), and -upstream-connect-timeout
# 60s too: on a reused pooled connection faradd's connect timer stays armed until the response
# head arrives (seen 2026-11-29), so a slow answer would otherwise become a 503.
# Environment: FARAD_BUILD_DIR (build), BENCH_DURATION seconds per run (5),
#   BENCH_INFLUX_DURATION seconds per max-speed run of (a) and (b) (10), BENCH_CONNS (4),
#   BENCH_PIN (1: faradd on CPU 1; loadgen, influxd and nullserver on CPU 0; 0: no pinning),
#   BENCH_PROXY_THREADS (1), BENCH_SKIP_FARADD (0; 1 runs only (a) and (d), to check the rig).
# Prints a markdown table on stdout; logs and raw RESULT lines stay in $BENCH_KEEP if set.
set -euo pipefail

BUILD=${FARAD_BUILD_DIR:-build}
DUR=${BENCH_DURATION:-5}
DUR_INFLUX=${BENCH_INFLUX_DURATION:-10} # influxd answers few big writes per second: longer runs for (a) and (b)
CONNS=${BENCH_CONNS:-4}
PIN=${BENCH_PIN:-1}
PTHREADS=${BENCH_PROXY_THREADS:-1}
SKIP_FARADD=${BENCH_SKIP_FARADD:-0}
DB=bench
RP=autogen
HZ=$(getconf CLK_TCK)

LOADGEN=$BUILD/loadgen
NULLSERVER=$BUILD/nullserver
FARADD=$BUILD/faradd
for b in "$LOADGEN" "$NULLSERVER"; do
    [[ -x $b ]] || { echo "run_proxy.sh: $b is missing: build first (cmake --build $BUILD)" >&2; exit 1; }
done
[[ $SKIP_FARADD == 1 || -x $FARADD ]] || { echo "run_proxy.sh: $FARADD is missing" >&2; exit 1; }
command -v influxd >/dev/null || { echo "run_proxy.sh: influxd (1.6.7) is not on PATH" >&2; exit 1; }

TMP=$(mktemp -d /tmp/farad-bench.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp -r "$TMP"/*.log "$TMP"/results "$BENCH_KEEP"/ 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Pinning prefixes; used as a plain command prefix so that $! is the server's own pid (taskset execs).
CPU0=()
CPU1=()
if [[ $PIN == 1 ]]; then
    CPU0=(taskset -c 0)
    CPU1=(taskset -c 1)
fi

free_ports() { # free_ports N: N distinct free loopback ports
    /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_http() { # wait_http URL WHAT PID: until URL answers 2xx (bounded: 30 s)
    local i
    for ((i = 0; i < 300; i++)); do
        curl -sf -o /dev/null "$1" && return 0
        kill -0 "$3" 2>/dev/null || { echo "run_proxy.sh: $2 exited during start-up, see its log:" >&2; tail -20 "$TMP/$2.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "run_proxy.sh: $2 did not answer $1 within 30 s" >&2
    exit 1
}

cpu_ticks() { # utime+stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

thread_ticks() { # thread_ticks PID: "comm=ticks" for every thread of a process
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s=%s ' "$(tr ' ' _ <"$t/comm")" "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null || echo 0)"
    done
}

thread_delta() { # thread_delta BEFORE AFTER: "comm seconds, ..." for threads that used CPU in between
    awk -v a="$1" -v b="$2" -v hz="$HZ" 'BEGIN {
        n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, "="); t0[kv[1]] += kv[2] }
        n = split(b, y, " "); out = ""
        for (i = 1; i <= n; i++) { split(y[i], kv, "="); d[kv[1]] += kv[2] }
        for (k in d) if (d[k] - t0[k] > 0) out = out (out == "" ? "" : ", ") sprintf("%s %.2f", k, (d[k] - t0[k]) / hz)
        print out == "" ? "-" : out }'
}

read -r P_INFLUX P_RPC P_NULL P_FB P_FBAPI P_FC P_FCAPI <<<"$(free_ports 7)"

start_influxd() {
    mkdir -p "$TMP/influx"
    cat >"$TMP/influx/influxd.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$P_RPC"
[meta]
  dir = "$TMP/influx/meta"
  logging-enabled = false
[data]
  dir = "$TMP/influx/data"
  wal-dir = "$TMP/influx/wal"
  query-log-enabled = false
[coordinator]
  write-timeout = "60s"
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$P_INFLUX"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
EOF
    "${CPU0[@]}" influxd -config "$TMP/influx/influxd.conf" >"$TMP/influxd.log" 2>&1 &
    PID_INFLUX=$!
    PIDS+=("$PID_INFLUX")
    wait_http "http://127.0.0.1:$P_INFLUX/ping" influxd "$PID_INFLUX"
    curl -sf -o /dev/null -XPOST "http://127.0.0.1:$P_INFLUX/query" --data-urlencode "q=CREATE DATABASE $DB"
}

start_null() {
    "${CPU0[@]}" "$NULLSERVER" -bind "127.0.0.1:$P_NULL" -threads 1 >"$TMP/nullserver.log" 2>&1 &
    PID_NULL=$!
    PIDS+=("$PID_NULL")
    wait_http "http://127.0.0.1:$P_NULL/ping" nullserver "$PID_NULL"
}

start_faradd() { # start_faradd NAME PROXY_PORT API_PORT UPSTREAM_PORT -> sets PID_<NAME>
    mkdir -p "$TMP/$1"
    "${CPU1[@]}" "$FARADD" -proxy-bind "127.0.0.1:$2" -api-bind "127.0.0.1:$3" -upstream "http://127.0.0.1:$4" \
        -data-dir "$TMP/$1" -tee-dbrps "$DB.$RP" -proxy-threads "$PTHREADS" -log-level warn \
        -upstream-timeout 60s -upstream-connect-timeout 60s >"$TMP/$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "PID_$1" %s "$pid"
    wait_http "http://127.0.0.1:$2/ping" "$1" "$pid"
}

mkdir -p "$TMP/results"
declare -A R      # the last RESULT, key -> value
ROWS=()           # markdown rows
FAILED=()         # labels of runs where loadgen saw an unexpected status or a connection error

# run LABEL PATH PORT [loadgen args...]: one loadgen run; fills R, CPU deltas in R[cpu_faradd], R[cpu_influxd]
run() {
    local label=$1 path=$2 port=$3; shift 3
    local fpid="" f0=0 i0=0 line="" kv grace=10
    case $path in b) fpid=$PID_faradd_b ;; c) fpid=$PID_faradd_c ;; esac
    [[ $path == a || $path == b ]] && grace=60 # a loaded influxd can take long to answer a big body
    local th0=""
    [[ -n $fpid ]] && f0=$(cpu_ticks "$fpid") && th0=$(thread_ticks "$fpid")
    i0=$(cpu_ticks "$PID_INFLUX")
    line=$("${CPU0[@]}" "$LOADGEN" -port "$port" -db "$DB" -rp "$RP" -grace "$grace" "$@" 2>"$TMP/results/$label.err" | grep '^RESULT') || {
        FAILED+=("$label")
        echo "run_proxy.sh: loadgen reported a failure for $label:" >&2
        tail -n 3 "$TMP/results/$label.err" >&2
    }
    [[ -n $line ]] || { echo "run_proxy.sh: no RESULT from loadgen for $label" >&2; exit 1; }
    if [[ -n $fpid ]] && ! kill -0 "$fpid" 2>/dev/null; then
        echo "run_proxy.sh: faradd (pid $fpid) is gone after run $label; its log ends with:" >&2
        tail -n 20 "$TMP/faradd_$path.log" >&2
        exit 1
    fi
    R=()
    for kv in ${line#RESULT }; do R[${kv%%=*}]=${kv#*=}; done
    R[cpu_faradd]=$([[ -n $fpid ]] && echo $(( $(cpu_ticks "$fpid") - f0 )) || echo 0)
    R[cpu_influxd]=$(( $(cpu_ticks "$PID_INFLUX") - i0 ))
    R[threads]=-
    [[ -n $fpid ]] && R[threads]=$(thread_delta "$th0" "$(thread_ticks "$fpid")")
    R[status]=$(for kv in ${line#RESULT }; do if [[ $kv == status_* ]]; then printf '%s ' "${kv#status_}"; fi; done)
    echo "$label $line cpu_faradd_ticks=${R[cpu_faradd]} cpu_influxd_ticks=${R[cpu_influxd]} hz=$HZ faradd_threads_s=\"${R[threads]}\"" >>"$TMP/results/all.txt"
    echo "  $label: $(grep -m1 'req/s' "$TMP/results/$label.err" | sed 's/^ *//')" >&2
}

# row X LABEL BODY GZIP: appends a markdown row from R; X is the path letter a, b, c or d
row() {
    local x=$1 fa="-" ia="-" ratio="-" norm="-" ml secs
    ml=$(awk -v l="${R[lines]}" 'BEGIN { printf "%.6f", l / 1e6 }')
    if [[ $x == b || $x == c ]]; then
        fa=$(awk -v t="${R[cpu_faradd]}" -v hz="$HZ" -v m="$ml" 'BEGIN { if (m > 0) printf "%.3f", t / hz / m; else print "-" }')
        norm=$(awk -v t="${R[cpu_faradd]}" -v hz="$HZ" -v n="${R[requests]}" -v l="${R[lines]}" \
            'BEGIN { if (t > 0) printf "%.0f / %.0f", n / (t / hz), l / (t / hz); else print "-" }')
    fi
    if [[ $x == a || $x == b ]]; then
        ia=$(awk -v t="${R[cpu_influxd]}" -v hz="$HZ" -v m="$ml" 'BEGIN { if (m > 0) printf "%.2f", t / hz / m; else print "-" }')
    fi
    if [[ $x == b ]]; then
        ratio=$(awk -v f="${R[cpu_faradd]}" -v i="${R[cpu_influxd]}" 'BEGIN { if (i > 0) printf "%.1f%%", 100 * f / i; else print "-" }')
    fi
    ROWS+=("| $2 | $3 | $4 | $(printf %.0f "${R[rps]}") | $(printf %.0f "${R[lines_per_s]}") | ${R[mb_per_s]} | ${R[wire_mb_per_s]} | ${R[p50_us]} | ${R[p99_us]} | $fa | $norm | ${R[threads]} | $ia | $ratio | ${R[status]% } |")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "run_proxy.sh: starting influxd, nullserver$([[ $SKIP_FARADD == 1 ]] || echo " and 2 x faradd") in $TMP" >&2
start_influxd
start_null
PID_faradd_b=""
PID_faradd_c=""
if [[ $SKIP_FARADD != 1 ]]; then
    start_faradd faradd_b "$P_FB" "$P_FBAPI" "$P_INFLUX"
    start_faradd faradd_c "$P_FC" "$P_FCAPI" "$P_NULL"
    curl -sf -o /dev/null -XPOST "http://127.0.0.1:$P_FB/query" --data-urlencode "q=CREATE DATABASE $DB"
    idle0=$(thread_ticks "$PID_faradd_c")
    sleep 3
    IDLE="faradd idle (no requests, 3 s): $(thread_delta "$idle0" "$(thread_ticks "$PID_faradd_c")") CPU s"
fi

declare -A MAXRPS
for lines in 1000 5000; do
    for gz in no yes; do
        gzarg=()
        [[ $gz == yes ]] && gzarg=(-gzip)
        common=(-lines "$lines" -conns "$CONNS" -duration "$DUR" "${gzarg[@]}")
        slow=(-lines "$lines" -conns "$CONNS" -duration "$DUR_INFLUX" "${gzarg[@]}")
        run "a-$lines-$gz" a "$P_INFLUX" "${slow[@]}"
        row a "(a) influxd" "$lines" "$gz"
        MAXRPS[a-$lines-$gz]=${R[rps]}
        if [[ $SKIP_FARADD != 1 ]]; then
            run "b-$lines-$gz" b "$P_FB" "${slow[@]}"
            row b "(b) faradd -> influxd" "$lines" "$gz"
            MAXRPS[b-$lines-$gz]=${R[rps]}
            run "c-$lines-$gz" c "$P_FC" "${common[@]}"
            row c "(c) faradd -> null" "$lines" "$gz"
            MAXRPS[c-$lines-$gz]=${R[rps]}
        fi
        run "d-$lines-$gz" d "$P_NULL" "${common[@]}"
        row d "(d) null direct" "$lines" "$gz"
    done
done

# 10% of the lines without a timestamp: faradd stamps them, so it rewrites the forwarded body
if [[ $SKIP_FARADD != 1 ]]; then
    run c-1000-notime c "$P_FC" -lines 1000 -conns "$CONNS" -duration "$DUR" -notime-pct 10
    row c "(c) faradd -> null, 10% lines without timestamp" 1000 no
fi

# 10-line bodies: requests/s
small=(-lines 10 -conns $((CONNS * 4)) -duration "$DUR")
if [[ $SKIP_FARADD != 1 ]]; then
    run c-10 c "$P_FC" "${small[@]}"
    row c "(c) faradd -> null" 10 no
fi
run d-10 d "$P_NULL" "${small[@]}"
row d "(d) null direct" 10 no

# Half load, 1,000-line plain bodies: (b) vs (a) at half of (a)'s max, (c) vs (d) at half of (c)'s max.
HALF=()
half_pair() { # half_pair X Y PORTX PORTY RATE: runs X and Y at RATE, adds a summary line
    local rate=$5 x50 x99 y50 y99 xl yl
    run "half-$1" "$1" "$3" -lines 1000 -conns "$CONNS" -duration "$DUR" -rate "$rate"
    row "$1" "($1) at $rate req/s" 1000 no
    x50=${R[p50_us]} x99=${R[p99_us]} xl=${R[late]}
    run "half-$2" "$2" "$4" -lines 1000 -conns "$CONNS" -duration "$DUR" -rate "$rate"
    row "$2" "($2) at $rate req/s" 1000 no
    y50=${R[p50_us]} y99=${R[p99_us]} yl=${R[late]}
    HALF+=("- added latency ($1) - ($2) at $rate req/s (1,000-line bodies): p50 $(awk -v a="$x50" -v b="$y50" 'BEGIN { printf "%.0f", a - b }') us, p99 $(awk -v a="$x99" -v b="$y99" 'BEGIN { printf "%.0f", a - b }') us (sends more than 1 ms late: $xl and $yl)")
}
if [[ $SKIP_FARADD != 1 ]]; then
    half_pair b a "$P_FB" "$P_INFLUX" "$(awk -v r="${MAXRPS[a-1000-no]}" 'BEGIN { printf "%.0f", r / 2 }')"
    half_pair c d "$P_FC" "$P_NULL" "$(awk -v r="${MAXRPS[c-1000-no]}" 'BEGIN { printf "%.0f", r / 2 }')"
fi

if [[ $SKIP_FARADD != 1 ]]; then
    curl -sf "http://127.0.0.1:$P_FBAPI/debug/vars" >"$TMP/results/faradd_b.vars.json" || echo "run_proxy.sh: no /debug/vars from faradd_b" >&2
    curl -sf "http://127.0.0.1:$P_FCAPI/debug/vars" >"$TMP/results/faradd_c.vars.json" || echo "run_proxy.sh: no /debug/vars from faradd_c" >&2
fi

echo
echo "Run started $STARTED, finished $(date -u '+%H:%M UTC'), on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), ${DUR} s per run (${DUR_INFLUX} s for (a) and (b) at max speed), $CONNS connections (x4 for 10-line bodies), faradd -proxy-threads $PTHREADS; load average before/after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)."
if [[ $PIN == 1 ]]; then
    echo "Pinned with taskset: faradd on CPU 1; loadgen, influxd and nullserver on CPU 0."
fi
echo
echo "| path | lines/body | gzip | req/s | lines/s | MB/s (line protocol) | MB/s (wire) | p50 us | p99 us | faradd CPU s / M lines | req/s / lines/s per faradd CPU-second | faradd CPU s by thread | influxd CPU s / M lines | faradd / influxd CPU | statuses |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [[ $SKIP_FARADD != 1 ]]; then
    echo
    for k in 1000-no 1000-yes 5000-no 5000-yes; do
        echo "- (b)/(a) throughput, ${k/-/-line bodies, gzip }: $(awk -v b="${MAXRPS[b-$k]}" -v a="${MAXRPS[a-$k]}" 'BEGIN { if (a > 0) printf "%.1f%%", 100 * b / a; else print "- ((a) completed nothing)" }')"
    done
    printf '%s\n' "${HALF[@]}"
    echo "- $IDLE"
    for n in b c; do
        f=$TMP/results/faradd_$n.vars.json
        [[ -s $f ]] || continue
        sent=$(awk -v p="$n" '$1 ~ "^(half-)?" p "(-|$)" { for (i = 2; i <= NF; i++) if ($i ~ /^lines=/) { sub(/^lines=/, "", $i); s += $i } } END { print s + 0 }' "$TMP/results/all.txt")
        echo "- faradd ($n) tee, from /debug/vars: $(/usr/bin/python3 - "$f" "$sent" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
tee = [e["values"] for e in v.get("kapacitor", {}).values() if e.get("name") == "tee"]
got = sum(t.get("points_received", 0) for t in tee)
print("%d points teed, %d parse errors, %d points dropped, for %s lines acknowledged with 204"
      % (got, sum(t.get("parse_errors", 0) for t in tee), sum(t.get("points_dropped", 0) for t in tee), sys.argv[2]))
EOF
)"
    done
fi
if ((${#FAILED[@]})); then
    echo
    echo "FAILED runs (a status other than 204 or a connection error): ${FAILED[*]}"
    exit 1
fi
