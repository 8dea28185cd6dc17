#!/bin/bash
# The fixed-rate fan-out load from Node's ws, against one server alone: ./stat.sh hub PATH/switchboard.dll
# or ./stat.sh signalr PATH/Switchboard.Bench.dll. Starts the server on a free loopback port, runs the Node load for
# 45 s, measures the server with perf stat over 30 s of it (after 12 s), then stops both (by their PIDs).
KIND=$1; DLL=$(realpath "$2"); LOG=$(mktemp)
cd "$(dirname "$0")"
if [ "$KIND" = hub ]; then DOTNET_gcServer=1 dotnet "$DLL" serve --urls http://127.0.0.1:0 --memory > "$LOG" 2>&1 & SRV=$!; LOAD=load.mjs
else DOTNET_gcServer=1 dotnet "$DLL" signalr-server --urls http://127.0.0.1:0 > "$LOG" 2>&1 & SRV=$!; LOAD=sr-load.mjs; fi
for i in $(seq 100); do P=$(grep -ao "http://127.0.0.1:[0-9]*" "$LOG" | head -1 | cut -d: -f3); [ -n "$P" ] && break; sleep 0.2; done
node "$LOAD" "$P" 45 & L=$!
sleep 12
perf stat -e 'task-clock,context-switches,syscalls:sys_enter_sendto,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex' -p $SRV -- sleep 30 2>&1 | grep -E "^ +[0-9]"
wait $L; kill $SRV; wait $SRV 2>/dev/null; rm -f "$LOG"
