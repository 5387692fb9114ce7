#!/usr/bin/python3
"""Batch tasks (issue 7) against the real influxd 1.6.7: faradd -load-dir starts batch tasks whose
scheduled queries run against influxd; data written to influxd shows up in a task's log() line;
cron and .align() ticks fall on their boundaries (align counted from Go's zero time: with every(7s)
the ticks are not multiples of 7 s since the Unix epoch); a failing query is an error in the log on
every run and the schedule goes on; a query that hangs times out and overlapping runs are skipped.
The run's bounds are read from the error lines ("query over [start, stop) failed: ...").
"""

import datetime
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

GO_ZERO_TO_UNIX_S = 62135596800  # seconds from 0001-01-01 to 1970-01-01

MAX_TICK = """dbrp "batchdb"."autogen"

batch
    |query('SELECT max("v") AS m FROM "batchdb"."autogen"."cpu" GROUP BY "ignored"')
        .period(1h)
        .every(1s)
        .groupBy('host')
    |where(lambda: "m" > 50.0)
    |log()
"""

ALERT_TICK = """dbrp "batchdb"."autogen"

batch
    |query('SELECT max("v") AS m FROM "batchdb"."autogen"."cpu"')
        .period(1h)
        .every(1s)
        .groupBy('host')
    |alert()
        .crit(lambda: "m" > 50.0)
        .stateChangesOnly()
"""

MEAN_TICK = """dbrp "batchdb"."autogen"

batch
    |query('SELECT mean("v") AS m FROM "batchdb"."autogen"."cpu"')
        .period(1h)
        .every(1s)
        .align()
    |log()
"""

ERR_TICK = """dbrp "nosuchdb"."autogen"

batch
    |query('SELECT v FROM "nosuchdb"."autogen"."cpu"')
        .period(10s)
        .every(1s)
    |log()
"""

CRON_TICK = """dbrp "nosuchcron"."autogen"

batch
    |query('SELECT v FROM "nosuchcron"."autogen"."cpu"')
        .period(2s)
        .offset(1s)
        .cron('*/2 * * * * * *')
    |log()
"""

ALIGN_TICK = """dbrp "nosuchalign"."autogen"

batch
    |query('SELECT v FROM "nosuchalign"."autogen"."cpu"')
        .period(7s)
        .every(7s)
        .align()
    |log()
"""

BOUNDS = re.compile(r"task (\w+) node query1: query over \[([^,]+), ([^)]+)\) failed: (.*?)\"?$")


def parse_time(s):
    """RFC 3339 UTC as written by faradd -> ns since the epoch."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$", s)
    if not m:
        raise AssertionError("not an RFC 3339 UTC time: %r" % s)
    d = datetime.datetime(*[int(x) for x in m.groups()[:6]], tzinfo=datetime.timezone.utc)
    frac = (m.group(7) or "").ljust(9, "0")
    return int(d.timestamp()) * 10**9 + int(frac)


def failures(log, task):
    """(start, stop, why) of every failed run of task, in log order."""
    out = []
    for line in log.splitlines():
        m = BOUNDS.search(line)
        if m and m.group(1) == task:
            out.append((parse_time(m.group(2)), parse_time(m.group(3)), m.group(4)))
    return out


@h.farad_only
class BatchTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.load = h.make_tmpdir("farad-batch")
        os.makedirs(os.path.join(cls.load, "tasks"))
        for name, text in (("batchmax", MAX_TICK), ("batchmean", MEAN_TICK), ("batchalert", ALERT_TICK), ("batcherr", ERR_TICK), ("batchcron", CRON_TICK),
                           ("batchalign", ALIGN_TICK)):
            with open(os.path.join(cls.load, "tasks", name + ".tick"), "w") as f:
                f.write(text)
        cls.stack = h.Stack(["-load-dir", cls.load])
        cls.farad = cls.stack.farad
        h.create_db(cls.stack.influxd.url, "batchdb")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def log(self):
        return self.farad.proc.log_tail(2000000)

    def test_scheduled_query_sees_data_written_to_influxd(self):
        now = time.time_ns()
        body = ("cpu,host=a v=10 %d\n" % (now - 20 * 10**9)
                + "cpu,host=b v=90 %d\n" % (now - 10 * 10**9)
                + "cpu,host=b v=70 %d\n" % (now - 5 * 10**9))
        # straight to influxd: batch tasks read the upstream, not the tee
        self.assertEqual(h.write(self.stack.influxd.url, "batchdb", body).status, 204)

        def logged():
            return [ln for ln in self.log().splitlines() if "task batchmax node log3:" in ln and "field_m=" in ln]
        lines = h.wait_for(logged, 8, what="a log() line of task batchmax")
        line = lines[-1]
        self.assertIn("tag_host=b", line)
        self.assertIn("field_m=90", line, "numbers read back as floats, the max of host b")
        self.assertIn("time=" + datetime.datetime.fromtimestamp((now - 10 * 10**9) // 10**9,
                                                                 datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                      line, "a selector keeps the selected point's time")
        # host a's batch (max 10) goes on empty, as Kapacitor's where passes the batch boundaries on
        self.assertFalse([ln for ln in logged() if "tag_host=a" in ln],
                         "host a (max 10) is filtered out")
        self.assertFalse(failures(self.log(), "batchmax"))
        # the alert on the same query: CRITICAL once for host b (stateChangesOnly), nothing for a
        alerts = h.wait_for(lambda: [ln for ln in self.log().splitlines()
                                     if "task batchalert node alert2: alert" in ln], 5,
                            what="an alert event of task batchalert")
        time.sleep(1.5)  # more runs: no second event while the level stays CRITICAL
        alerts = [ln for ln in self.log().splitlines() if "task batchalert node alert2: alert" in ln]
        self.assertEqual(len(alerts), 1, alerts)
        self.assertIn("cpu:host=b", alerts[0])
        self.assertIn("CRITICAL", alerts[0])
        self.assertIn("90", alerts[0])
        # an aggregate without time grouping takes the range start as its time: tick - period(1h)
        means = h.wait_for(lambda: [ln for ln in self.log().splitlines()
                                    if "task batchmean node log2:" in ln and "field_m=" in ln], 5,
                           what="a log() line of task batchmean")
        m = re.search(r"field_m=([0-9.]+) time=(\S+?)\\?\"?$", means[-1])
        self.assertIsNotNone(m, means[-1])
        self.assertAlmostEqual(float(m.group(1)), (10 + 90 + 70) / 3, places=9)
        t = parse_time(m.group(2))
        self.assertEqual(t % 10**9, 0, "align(): whole-second ticks, so whole-second starts")
        self.assertLess(abs(t - (time.time_ns() - 3600 * 10**9)), 5 * 10**9, "start = tick - 1h")
        # nobody streams batchdb: the proxy does not parse writes for it
        self.assertEqual(h.write(self.stack.url, "batchdb", "cpu,host=c v=1\n").status, 204)
        time.sleep(0.3)
        ing = h.kapacitor_stats(self.farad.debug_vars(), "ingress")
        self.assertFalse([t for t, _ in ing if t.get("database") == "batchdb"], ing)

    def test_failing_query_is_an_error_on_every_run_and_the_schedule_goes_on(self):
        h.wait_for(lambda: len(failures(self.log(), "batcherr")) >= 3, 8, what="three failed runs of batcherr")
        f = failures(self.log(), "batcherr")
        self.assertIn("database not found: nosuchdb", f[0][2])
        for start, stop, _ in f:
            self.assertEqual(stop - start, 10 * 10**9, "period(10s)")
        gaps = [b[1] - a[1] for a, b in zip(f, f[1:])]
        # every(1s): on the one-second grid from the first run (a tick the scheduler missed by more
        # than a whole interval on a loaded machine would be skipped, never run late twice)
        for g in gaps:
            self.assertTrue(g > 0 and g % 10**9 == 0, "every(1s) off schedule: %r" % gaps)
        self.assertIn(10**9, gaps)

    def test_cron_ticks_on_even_seconds_with_offset(self):
        h.wait_for(lambda: len(failures(self.log(), "batchcron")) >= 2, 8, what="two runs of batchcron")
        f = failures(self.log(), "batchcron")
        for start, stop, _ in f:
            tick = stop + 10**9  # offset(1s)
            self.assertEqual(tick % (2 * 10**9), 0, "cron */2 seconds: tick %d" % tick)
            self.assertEqual(stop - start, 2 * 10**9)
        self.assertEqual((f[1][1] - f[0][1]) % (2 * 10**9), 0)

    def test_align_counts_from_go_zero_time(self):
        h.wait_for(lambda: len(failures(self.log(), "batchalign")) >= 2, 20, what="two runs of batchalign")
        f = failures(self.log(), "batchalign")
        for start, stop, _ in f:
            self.assertEqual(stop % 10**9, 0)
            s = stop // 10**9
            self.assertEqual((s + GO_ZERO_TO_UNIX_S) % 7, 0, "aligned to 7 s from year 1: %d" % s)
            self.assertNotEqual(s % 7, 0, "not to 7 s from the Unix epoch: %d" % s)
        self.assertEqual((f[1][1] - f[0][1]) % (7 * 10**9), 0)


@h.farad_only
class SlowUpstream(unittest.TestCase):
    def test_hanging_query_times_out_and_overlapping_runs_are_skipped(self):
        up = h.FakeUpstream(hang=True)
        load = h.make_tmpdir("farad-batch-slow")
        os.makedirs(os.path.join(load, "tasks"))
        with open(os.path.join(load, "tasks", "batchslow.tick"), "w") as f:
            f.write(ERR_TICK)
        farad = h.Faradd(up.url, ["-load-dir", load, "-upstream-timeout", "1500ms"]).start()
        try:
            h.wait_for(lambda: len(failures(farad.proc.log_tail(200000), "batchslow")) >= 2, 10,
                       what="two timed-out runs")
            log = farad.proc.log_tail(200000)
            f = failures(log, "batchslow")
            self.assertIn("no answer within 1500 ms (timeout)", f[0][2])
            self.assertRegex(log, r"task batchslow node query1: \d+ run\(s\) skipped: the previous query was still running")
            # the runs after a timeout are still on the one-second grid
            self.assertEqual((f[1][1] - f[0][1]) % 10**9, 0)
            with up.lock:
                n = len([r for r in up.requests if r[1].startswith("/query?")])
            self.assertGreaterEqual(n, 2)
        finally:
            farad.stop()
            up.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
