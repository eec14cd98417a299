#!/bin/bash
# The shard row of BENCHMARKS.md (#12): N bots of fanout.lua as 3 shards (3 processes, `--shard
# I/3`) against one `rtlua serve`, then `rtlua merge`; prints the wall time, when shard 1 saw
# every bot ready, each shard's peak RSS and the merged figures.
#   scripts/bench.d/shards.sh RELEASE-RTLUA [N=18000]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d); cd "$T"; echo "logs and summaries in $T"
BIN=$1; N=${2:-18000}
ulimit -n 20000
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" serve --host 127.0.0.1 --port $PORT --max-connections $((N + 100)) 2>hub.log &
HUB=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.1; done
start=$(date +%s.%N)
for i in 1 2 3; do
  "$BIN" run --url http://127.0.0.1:$PORT --instances $N --shard $i/3 --quiet --summary-json shard-$i.json "$HERE/fanout.lua" -- $N 5 >out-$i.log 2>err-$i.log &
  eval "P$i=$!"
done
peak() { local m=0; while kill -0 $1 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$1/status 2>/dev/null); [ -n "$r" ] && [ "$r" -gt "$m" ] && m=$r; sleep 0.5; done; echo $m; }
for i in 1 2 3; do eval "peak \$P$i > rss-$i.txt &"; done
wait $P1 $P2 $P3
end=$(date +%s.%N)
sleep 1
kill -INT $HUB; wait $HUB
echo "wall $(echo "$end - $start" | bc) s"
cat out-1.log
for i in 1 2 3; do echo "shard $i peak RSS $(cat rss-$i.txt) KiB"; done
"$BIN" merge shard-1.json shard-2.json shard-3.json --summary-json merged.json 2>merge.log; echo "merge exit $?"
python3 - <<'P'
import json
s=json.load(open("merged.json"))
for m in s["metrics"]:
    if m["name"] in ("fan_complete","connect","messages_received") or m["name"]=="delivery":
        print(m["name"], m.get("tags"), {k:m.get(k) for k in ("count","p50","p99","max")})
P
