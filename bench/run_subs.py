#!/usr/bin/python3
"""bench/run_subs.py - subscription ingest (issue 7): influxd 1.6.7 pushing to faradd.

  loadgen --POST /write--> influxd ([subscriber] on) --push, 40 senders--> faradd API /write
                                                                            -> engine (counted)

For each body size: (a) loadgen -> influxd with the subscriber service off (the reference),
(b) the same with faradd -subscribe linked: what loadgen got accepted per second, and what farad
counted per second (the `tee` points_received of the bench db in /debug/vars), sampled over the
run and after the pushes drain; influxd's own subscriber counters (pointsWritten, writeFailures)
say what it dropped. Run from the repository root after building into build/.

Environment: FARAD_BUILD_DIR (build), BENCH_DURATION seconds per run (10), BENCH_CONNS (4).
Prints a markdown table on stdout.
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration"))
import harness as h  # noqa: E402

BUILD = os.environ.get("FARAD_BUILD_DIR", "build")
DUR = float(os.environ.get("BENCH_DURATION", "10"))
CONNS = int(os.environ.get("BENCH_CONNS", "4"))
LOADGEN = os.path.join(BUILD, "loadgen")


def loadgen(port, lines, db="bench"):
    r = subprocess.run([LOADGEN, "-port", str(port), "-db", db, "-conns", str(CONNS),
                        "-lines", str(lines), "-duration", str(DUR), "-grace", "30"],
                       capture_output=True, text=True, timeout=DUR + 120)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    if not line:
        raise SystemExit("loadgen failed: %s %s" % (r.stdout, r.stderr))
    return dict(kv.split("=", 1) for kv in line[0].split()[1:])


def counted(f, db="bench"):
    for tags, values in h.kapacitor_stats(f.debug_vars(), "tee"):
        if tags.get("database") == db:
            return values.get("points_received", 0), values.get("points_dropped", 0)
    return 0, 0


def influx_subscriber(url):
    doc = h.request(url, "GET", "/debug/vars").json()
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict) and v.get("name") == "subscriber":
            tag = ",".join("%s" % t for t in sorted((v.get("tags") or {}).values())) or "service"
            for kk, vv in v.get("values", {}).items():
                out["%s[%s]" % (kk, tag)] = vv
    return out


def cpu_secs(pid):
    with open("/proc/%d/stat" % pid) as fh:
        f = fh.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def run(lines):
    rows = []
    ref = h.Influxd(subscriber=False).start()
    h.create_db(ref.url, "bench")
    a = loadgen(ref.http_port, lines)
    ref.stop()
    rows.append(("(a) influxd alone, subscriber off", lines, float(a["lines_per_s"]), None, None, None))

    inf = h.Influxd(subscriber=True).start()
    h.create_db(inf.url, "bench")
    f = h.Faradd(inf.url, ["-subscribe", "-subs-sync-interval", "1s", "-log-level", "warn"]).start()
    h.wait_for(lambda: f.debug_vars()["num_subscriptions"] == 1, 20, what="linked")
    time.sleep(1)
    c0, _ = counted(f)
    cpu0 = cpu_secs(f.proc.p.pid)
    t0 = time.monotonic()
    b = loadgen(inf.http_port, lines)
    t1 = time.monotonic()
    c1, _ = counted(f)
    # drain: wait until the count stops moving
    last, still = c1, 0
    while still < 4:
        time.sleep(0.5)
        c, _ = counted(f)
        still = still + 1 if c == last else 0
        last = c
    t2 = time.monotonic() - 2.0
    cpu1 = cpu_secs(f.proc.p.pid)
    c2, dropped = counted(f)
    sent = int(b["lines"])
    sub = influx_subscriber(inf.url)
    # (c) farad's side alone: loadgen posts to the API /write as influxd's subscriber does
    cpu2 = cpu_secs(f.proc.p.pid)
    c = loadgen(f.api_port, lines, db="direct")
    cpu3 = cpu_secs(f.proc.p.pid)
    time.sleep(1)
    cc, cdrop = counted(f, "direct")
    f.stop()
    inf.stop()
    rows.append(("(b) influxd -> faradd (subscription)", lines, float(b["lines_per_s"]),
                 (c1 - c0) / (t1 - t0), (c2 - c0) / (t2 - t0),
                 "sent %d, farad counted %d (%.2f%%), farad dropped %d; influxd subscriber %s; faradd CPU %.0f%%"
                 % (sent, c2 - c0, 100.0 * (c2 - c0) / max(1, sent), dropped,
                    ", ".join("%s=%s" % kv for kv in sorted(sub.items())),
                    100.0 * (cpu1 - cpu0) / max(0.001, t2 - t0))))
    rows.append(("(c) loadgen -> faradd API /write (farad's side alone)", lines, float(c["lines_per_s"]),
                 None, cc / float(c["secs"]),
                 "sent %s, counted %d, dropped %d, p99 %s us; faradd CPU %.0f%%"
                 % (c["lines"], cc, cdrop, c["p99_us"], 100.0 * (cpu3 - cpu2) / float(c["secs"]))))
    return rows


def main():
    if not os.access(LOADGEN, os.X_OK):
        raise SystemExit("run_subs.py: %s is missing: build first" % LOADGEN)
    print("started %s, %gs per run, %d connections, load average %s" % (time.strftime("%H:%M:%S", time.gmtime()), DUR, CONNS,
                                                                      open("/proc/loadavg").read().split()[0]))
    print()
    print("| run | lines/body | accepted by influxd (lines/s) | farad counted during the run (points/s) "
          "| farad counted incl. drain (points/s) | notes |")
    print("|---|---|---|---|---|---|")
    for lines in (1000, 100):
        for name, n, acc, during, total, note in run(lines):
            print("| %s | %d | %.0f | %s | %s | %s |" % (name, n, acc, "-" if during is None else "%.0f" % during,
                                                      "-" if total is None else "%.0f" % total, note or ""))
            sys.stdout.flush()
    print()
    print("ended %s, load average %s" % (time.strftime("%H:%M:%S", time.gmtime()), open("/proc/loadavg").read().split()[0]))
    h.cleanup()


if __name__ == "__main__":
    main()
