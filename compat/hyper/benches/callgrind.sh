#!/bin/sh
# Instructions per request of the hello-world servers, counted by callgrind: each server runs
# under valgrind with instrumentation off; after a 1 s wrk warm-up it is switched on for a 3 s
# wrk window, and the total is divided by the requests wrk completed in that window.
#
#   sh compat/hyper/benches/callgrind.sh [CONNECTIONS]        (default 50)
#
# Prints, per server, Ir/request and the part of it spent in libc's memset/memcpy (which
# callgrind counts per byte for `rep stos`/`rep movs`, so it overstates their real cost).
set -eu
connections=${1:-50}
command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
command -v valgrind >/dev/null || { apt-get update && apt-get install -y valgrind; }
cargo build --release -p minireactor-hyper --example http --example tokio_http
dir=$(mktemp -d)
for server in http tokio_http; do
    : >"$dir/$server.stdout"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/$server.out" \
        "target/release/examples/$server" 127.0.0.1:0 >"$dir/$server.stdout" 2>/dev/null &
    pid=$!
    until grep -q listening "$dir/$server.stdout"; do sleep 0.2; done
    url="http://$(sed -n 's/^listening on //p' "$dir/$server.stdout")/"
    taskset -c 1 wrk -t1 -c"$connections" -d1s "$url" >/dev/null
    callgrind_control -i on "$pid" >/dev/null
    requests=$(taskset -c 1 wrk -t1 -c"$connections" -d3s "$url" | awk '/requests in/ {print $1}')
    callgrind_control -i off "$pid" >/dev/null
    kill -INT "$pid"
    wait "$pid"
    callgrind_annotate "$dir/$server.out" >"$dir/$server.txt" 2>/dev/null
    awk -v server="$server" -v requests="$requests" '
        { ir = $1; gsub(",", "", ir) }
        /PROGRAM TOTALS/ { total = ir }
        /memset|memcpy|memmove/ && !/PROGRAM TOTALS/ { mem += ir }
        END { printf "%s: %d requests, %.0f Ir/request (memset/memcpy %.0f)\n",
              server, requests, total / requests, mem / requests }' "$dir/$server.txt"
done
rm -r "$dir"
