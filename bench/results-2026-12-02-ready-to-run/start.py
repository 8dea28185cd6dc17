# Start-up of the hub, published with and without ReadyToRun: time to /readyz 200, then the first 300 publishes
# (sequential, one connection) and the process's CPU time by then. Alternates the builds; bounded.
import subprocess, time, http.client, os, shutil, statistics, sys, json
builds = {"plain": "/tmp/sb-plain/switchboard.dll", "r2r": "/tmp/sb-r2r/switchboard.dll"}
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
res = {k: [] for k in builds}
port = 7891
for r in range(rounds):
    for name, dll in builds.items():
        data = f"/tmp/r2r-data-{name}"
        shutil.rmtree(data, ignore_errors=True)
        t0 = time.monotonic()
        p = subprocess.Popen(["dotnet", dll, "serve", "--urls", f"http://127.0.0.1:{port}", "--data", data],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ready = None
        while time.monotonic() - t0 < 30:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/readyz"); s = c.getresponse().status; c.close()
                if s == 200:
                    ready = time.monotonic() - t0; break
            except OSError:
                pass
            time.sleep(0.005)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("PUT", "/v1/topics/t", body="{}", headers={"Content-Type": "application/json"}); c.getresponse().read()
        t1 = time.monotonic()
        for i in range(300):
            c.request("POST", "/v1/topics/t/messages", body=json.dumps({"payload": {"i": i}}), headers={"Content-Type": "application/json"})
            resp = c.getresponse(); resp.read(); assert resp.status == 201, resp.status
        first = time.monotonic() - t1
        t2 = time.monotonic()
        for i in range(300):
            c.request("POST", "/v1/topics/t/messages", body=json.dumps({"payload": {"i": i}}), headers={"Content-Type": "application/json"})
            resp = c.getresponse(); resp.read()
        second = time.monotonic() - t2
        with open(f"/proc/{p.pid}/stat") as f:
            st = f.read().split(")")[1].split()
        cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
        p.terminate(); p.wait(10)
        res[name].append((ready, first, second, cpu))
        print(name, f"ready {ready*1000:.0f} ms, first 300 publishes {first*1000:.0f} ms, next 300 {second*1000:.0f} ms, CPU by then {cpu:.2f} s", flush=True)
for name, rows in res.items():
    cols = list(zip(*rows))
    print(name, "min/median: ready %.0f/%.0f ms, first 300 %.0f/%.0f ms, next 300 %.0f/%.0f ms, CPU %.2f/%.2f s" % (
        min(cols[0])*1000, statistics.median(cols[0])*1000, min(cols[1])*1000, statistics.median(cols[1])*1000,
        min(cols[2])*1000, statistics.median(cols[2])*1000, min(cols[3]), statistics.median(cols[3])))
