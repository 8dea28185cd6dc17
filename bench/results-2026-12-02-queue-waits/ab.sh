#!/bin/bash
# usage: ab.sh NAME PAIRS  -- alternates $AB_VAR=0/1 runs of queue hub-ws (AB_VAR: the experimental build's switch, SB_EXP_SYNC
# unless set); prints the median rates and hub CPU ticks per sum of rates
# (the passes in README.md ran with $6, the max column, by mistake; their medians there were read from each results.json)
# The hub is found with pgrep: run nothing else that serves a hub meanwhile.
cd /work/main
for i in $(seq 1 $2); do
  for v in 0 1; do
    env "${AB_VAR:-SB_EXP_SYNC}=$v" dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll queue --only hub-ws --runs 3 --out /tmp/ab-$1-$v-$i > /tmp/ab-$1-$v-$i.log 2>&1 &
    B=$!
    P=""; for k in $(seq 1 100); do P=$(pgrep -f "switchboard.dll serve" | head -1); [ -n "$P" ] && break; sleep 0.3; done
    last=0; while [ -d /proc/$P ]; do t=$(awk '{print $14+$15}' /proc/$P/stat 2>/dev/null); [ -n "$t" ] && last=$t; sleep 0.5; done
    wait $B
    sum=$(python3 -c "
import json;d=json.load(open('/tmp/ab-$1-$v-$i/results.json'));print(sum(sum(m['runs']) for m in d['measurements']))")
    echo "$v $i: $(grep -E 'hub WebSocket.*(1 consumer|4 consumers|requester)' /tmp/ab-$1-$v-$i/results.md | awk -F'|' '{printf "%s ", $5}') cpu=$last perK=$(python3 -c "print(round($last*1000/$sum,2))")"
  done
done
