#!/bin/bash
# usage: ab.sh NAME PAIRS VALUE -- alternates SB_EXP_LINGER_MS=0 / VALUE on the LP fan-out pair (hub ?fields=payload + SignalR LongPolling)
cd /work/main
for i in $(seq 1 $2); do
  for v in 0 $3; do
    out=/work/probe/linger/$1-$v-$i
    SB_EXP_LINGER_MS=$v timeout 900 dotnet bench/Switchboard.Bench/bin/Release/net10.0/Switchboard.Bench.dll fanout --only longpoll-payload,longpolling --subscribers 100 --runs 3 --out $out > $out.log 2>&1
    python3 - $out $v $i <<'PY'
import json,sys
d=json.load(open(sys.argv[1]+'/results.json'))
import statistics as st
def med(name):
    for m in d['measurements']:
        if m['name']==name: return st.median(m['runs'])
    return None
row=[]
for who in ['switchboard long poll ?fields=payload','SignalR LongPolling']:
    vals=[med(f"{who}: {f}, 100 subscribers") for f in ['delivered','latency p50 at 1,000 msg/s','latency p99 at 1,000 msg/s','latency p99.9 at 1,000 msg/s','server CPU per million delivered at 1,000 msg/s']]
    row.append(' '.join(f"{x:,.4g}" if x is not None else '-' for x in vals))
print(f"{sys.argv[2]} {sys.argv[3]}: hub {row[0]} | signalr {row[1]}")
PY
  done
done
