#!/usr/bin/python3
"""window|f() in the engine against InfluxQL's GROUP BY time() in a real influxd 1.6.7 (issue 4).

The same points go to a private influxd and, through `farad test`, to a task
    stream|from().measurement('m')|groupBy('host')|window().period(10s).every(10s).align()|f(...)
For every host and every 10s window the task's answer must equal
    SELECT f(...) FROM m WHERE time >= a AND time < b GROUP BY time(10s), host fill(none)
(InfluxDB stamps a window with its start, Kapacitor with its end: 10s apart). Values are compared
exactly (same type, same float bits) except stddev, which is compared to 1e-9 relative (farad
keeps O(1) running state, InfluxDB a second pass over the points). One script runs every
function in one window node (points kept); another only decomposable aggregates (fused: no
points kept). Needs only influxd and farad: runs in both FARAD_ITEST_MODE settings.
"""

import os
import random
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

S = 10**9
BASE = (time.time_ns() // (60 * S) - 60) * 60 * S  # a whole minute, an hour ago
WINDOWS = 6
HOSTS = ("a", "b")
FARAD = os.path.join(h.BUILD_DIR, "farad")

# (farad call, output field, InfluxQL expression, exact)
CALLS = [
    ("count('v')", "count_v", "count(v)", True),
    ("sum('v')", "sum_v", "sum(v)", True),
    ("mean('v')", "mean_v", "mean(v)", True),
    ("median('v')", "median_v", "median(v)", True),
    ("spread('v')", "spread_v", "spread(v)", True),
    ("stddev('v')", "stddev_v", "stddev(v)", False),
    ("min('v')", "min_v", "min(v)", True),
    ("max('v')", "max_v", "max(v)", True),
    ("first('v')", "first_v", "first(v)", True),
    ("last('v')", "last_v", "last(v)", True),
    ("percentile('v', 75.0)", "p75_v", "percentile(v, 75)", True),
    ("distinct('v')\n    |count('distinct')", "dcount_v", "count(distinct(v))", True),
    ("sum('i')", "sum_i", "sum(i)", True),
    ("mean('i')", "mean_i", "mean(i)", True),
    ("spread('i')", "spread_i", "spread(i)", True),
    ("max('i')", "max_i", "max(i)", True),
    ("count('i')", "count_i", "count(i)", True),
]
FUSABLE = ("count", "sum(", "mean", "spread", "stddev")


def make_points(seed):
    rnd = random.Random(seed)
    lines = []
    for host in HOSTS:
        for w in range(WINDOWS):
            offs = sorted(rnd.sample(range(0, 10 * S, 1000), rnd.randint(4, 9)))
            for off in offs:
                v = rnd.randint(0, 40) / 4.0  # repeats, exact binary fractions
                i = rnd.randint(-50, 50)
                lines.append((BASE + w * 10 * S + off, "m,host=%s v=%r,i=%di" % (host, v, i)))
        # a point past the range closes the last window of the host
        lines.append((BASE + WINDOWS * 10 * S + 5 * S, "m,host=%s v=0,i=0i" % host))
    lines.sort()
    return "".join("%s %d\n" % (l, t) for t, l in lines)


def expected_type(call):
    """count is an integer; on the integer field i everything but mean stays an integer."""
    if "count(" in call:
        return int
    return int if "'i'" in call and not call.startswith("mean") else float


def parse_value(s):
    if s.endswith("i"):
        return int(s[:-1])
    return float(s)


def run_farad(tmp, script, data):
    tick = os.path.join(tmp, "t.tick")
    lp = os.path.join(tmp, "d.lp")
    with open(tick, "w") as f:
        f.write(script)
    with open(lp, "w") as f:
        f.write(data)
    r = subprocess.run([FARAD, "test", "-tick", tick, "-dbrp", "db.autogen", "-data", lp],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("farad test failed (%d): %s" % (r.returncode, r.stderr))
    out = {}  # (host, window start, field) -> value
    for line in r.stdout.splitlines():
        head, fields, t = line.rsplit(" ", 2)
        tags = dict(kv.split("=", 1) for kv in head.split(",")[1:])
        for kv in fields.split(","):
            k, v = kv.split("=", 1)
            out[(tags.get("host"), int(t) - 10 * S, k)] = parse_value(v)
    return out


def script_for(calls):
    s = ("var w = stream\n    |from()\n        .measurement('m')\n    |groupBy('host')\n"
         "    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n")
    for call, field, _, _ in calls:
        s += "w\n    |%s\n        .as('%s')\n" % (call, field)
    return s


@unittest.skipUnless(os.path.exists(FARAD), "needs the farad binary in FARAD_BUILD_DIR")
class EngineVsInfluxQL(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.influxd = h.Influxd().start()
        cls.url = cls.influxd.url
        h.create_db(cls.url, "db")
        cls.data = make_points(4)
        r = h.write(cls.url, "db", cls.data)
        assert r.status == 204, r
        cls.tmp = h.make_tmpdir("engine-influxql")

    @classmethod
    def tearDownClass(cls):
        cls.influxd.stop()

    def influxql(self, expr):
        q = ("SELECT %s FROM m WHERE time >= %d AND time < %d GROUP BY time(10s), host fill(none)"
             % (expr, BASE, BASE + WINDOWS * 10 * S))
        out = {}
        for row in h.rows(self.url, q, db="db"):
            val = [v for k, v in row.items() if k not in ("time", "host")][0]
            if val is not None:
                out[(row["host"], row["time"])] = val
        return out

    def compare(self, calls):
        got = run_farad(self.tmp, script_for(calls), self.data)
        for call, field, expr, exact in calls:
            want = self.influxql(expr)
            self.assertEqual(len(want), len(HOSTS) * WINDOWS, expr)
            for (host, start), v in sorted(want.items()):
                key = (host, start, field)
                self.assertIn(key, got, "%s: no answer from farad for host %s window %d" % (call, host, start))
                g = got[key]
                # InfluxDB's JSON writes 37.0 as 37: the type comes from the function instead
                self.assertEqual(type(g), expected_type(call), "%s host %s window %d: type" % (call, host, start))
                if exact:
                    self.assertEqual(g, v, "%s host %s window %d" % (call, host, start))
                else:
                    self.assertAlmostEqual(g, v, delta=1e-9 * max(1.0, abs(v)),
                                           msg="%s host %s window %d" % (call, host, start))
            extra = [k for k in got if k[2] == field and (k[0], k[1]) not in want]
            self.assertEqual(extra, [], "%s: windows InfluxDB does not have" % call)

    def test_every_function_buffered_window(self):
        self.compare(CALLS)

    def test_decomposable_aggregates_fused(self):
        fused = [c for c in CALLS if c[0].startswith(FUSABLE) and "distinct" not in c[0]]
        self.assertGreater(len(fused), 5)
        self.compare(fused)


if __name__ == "__main__":
    h.main()
