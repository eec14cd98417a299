#!/bin/bash
# Instructions per message of one process of the rtlua pipeline (rtlua sender → rtlua hub →
# Lua receiver), counted by valgrind's callgrind: unlike CPU time on a shared machine this
# count does not move with the load, so it compares two builds exactly.
#   scripts/bench.d/instructions.sh BIN recv|send|hub [N]
# RUN_FLAGS="--summary-json /tmp/s.json" adds flags to both `rtlua run`s (metrics on, #12).
# BIN is an rtlua binary; a copy without debug info is made (valgrind cannot read Swift's).
# The count covers the whole process, start-up included (~67 M instructions, ~3,400 per
# message at the default N = 20,000).
set -euo pipefail
BIN=$1; WHO=$2; N=${3:-20000}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
T=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
strip --strip-debug -o "$T/rtlua" "$BIN"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run() { if [ "$1" = "$WHO" ]; then echo "valgrind -q --tool=callgrind --callgrind-out-file=$T/cg.out"; fi; }
$(run hub) "$T/rtlua" serve --host 127.0.0.1 --port "$PORT" 2>/dev/null &
HUB=$!
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
$(run recv) "$T/rtlua" run --url "http://127.0.0.1:$PORT" ${RUN_FLAGS:-} "$HERE/recv.lua" -- ch "$N" 5 120 >"$T/recv.out" 2>/dev/null &
RECV=$!
for _ in $(seq 300); do grep -q READY "$T/recv.out" && break; sleep 0.1; done
$(run send) "$T/rtlua" run --url "http://127.0.0.1:$PORT" ${RUN_FLAGS:-} "$HERE/send.lua" -- ch "$N" >"$T/send.out" 2>/dev/null &
SEND=$!
timeout 600 tail --pid=$RECV -f /dev/null
sleep 0.5; kill -INT $SEND; wait $SEND || true; kill -INT $HUB; wait $HUB || true
grep -q "\"count\":$N" "$T/recv.out" || { echo "the receiver did not get all $N messages: $(grep RESULT "$T/recv.out")" >&2; exit 1; }
[ -n "${KEEP:-}" ] && cp "$T/cg.out" "$KEEP"
total=$(sed -n 's/^summary: *//p' "$T/cg.out")
echo "$WHO: $((total / N)) instructions/message ($total in all, N = $N)"
