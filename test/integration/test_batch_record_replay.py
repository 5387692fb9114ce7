#!/usr/bin/python3
"""Batch recordings, their replays and replay-live batch (issue 6) against real influxd and PostgreSQL.

Points spread over the past 75 minutes are written into influxd. A batch task (a query with
every/period and groupBy(time, host), an eval leaf and an alert) is defined with the CLI. A batch
recording (CLI `-past 1h`, and the API with a fixed start/stop) holds exactly the rows influxd
returns for the task's queries over the same runs (checked with SQL through
farad.recording_points and farad.recording_batches); replaying it twice with capture gives
identical outputs whose points are 2 * the means influxd computes and whose alerts are host a's;
replay-live batch over the same range gives the same outputs; errors keep Kapacitor's texts.
"""

import datetime
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from pg import Postgres  # noqa: E402

S = 10**9
NOW_S = time.time_ns() // S
FIRST_S = (NOW_S // 60) * 60 - 75 * 60  # points every 30 s from here to a minute ago
N = 148
MEAN_Q = 'SELECT mean("value") AS mean, max("value") AS max FROM "bdb"."autogen"."mem"'
COUNT_Q = 'SELECT count("value") AS n FROM "bdb"."autogen"."mem"'

TASK = """dbrp "bdb"."autogen"

var q = batch
    |query('%s')
        .period(10m)
        .every(10m)
        .groupBy(time(5m), 'host')

q
    |eval(lambda: "mean" * 2.0)
        .as('double')

q
    |alert()
        .id('mem:{{ index .Tags "host" }}')
        .message('{{ .ID }} is {{ .Level }}')
        .crit(lambda: "max" > 85.0)

batch
    |query('%s')
        .period(10m)
        .every(20m)
        .groupBy('host')
    |eval(lambda: "n" + 1.0)
        .as('n1')
""" % (MEAN_Q, COUNT_Q)

STREAM_TASK = """dbrp "bdb"."autogen"

stream
    |from()
        .measurement('mem')
    |log()
"""


def points():
    out = []
    for i in range(N):
        t = (FIRST_S + i * 30) * S
        out.append("mem,host=a value=%d %d" % ((i % 10) * 10, t))
        out.append("mem,host=b value=%d %d" % (50 + i % 3, t))
    return "\n".join(out) + "\n"


def rfc(ns):
    return datetime.datetime.fromtimestamp(ns / S, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@h.farad_only
class BatchRecordReplay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.dir = h.make_tmpdir("farad-brr")
        cls.stack = h.Stack(["-pg", cls.pg.dsn])
        cls.farad = cls.stack.farad
        h.create_db(cls.stack.url, "bdb")
        r = h.write(cls.stack.influxd.url, "bdb", points())
        assert r.status == 204, r
        for name, script in (("bt", TASK), ("st", STREAM_TASK)):
            path = os.path.join(cls.dir, name + ".tick")
            with open(path, "w") as f:
                f.write(script)
            r = cls.cli_static("define", name, "-tick", path)
            assert r.returncode == 0, r.stderr
        # a fixed range: ticks at START + k*10m up to and including STOP
        cls.start = (FIRST_S + 20 * 60) * S
        cls.stop = cls.start + 40 * 60 * S

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
        finally:
            cls.pg.destroy()

    # --- helpers ---

    @classmethod
    def cli_static(cls, *args, timeout=60):
        env = dict(os.environ, FARAD_URL=cls.farad.api)
        return subprocess.run([os.path.join(h.BUILD_DIR, "farad")] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=env)

    def cli(self, *args, timeout=60):
        return self.cli_static(*args, timeout=timeout)

    def api(self, method, path, body=None):
        return h.request(self.farad.api, method, "/kapacitor/v1" + path,
                         body=json.dumps(body).encode() if body is not None else None,
                         headers={"Content-Type": "application/json"} if body is not None else None)

    def wait_done(self, kind, rid, timeout=60):
        out = {}

        def done():
            r = self.api("GET", "/%s/%s" % (kind, rid))
            out["r"] = r
            return r.status == 200
        h.wait_for(done, timeout, what="%s %s done" % (kind, rid))
        return out["r"].json()

    def influx_rows(self, start, stop):
        """What influxd answers for the task's query over [start, stop): (host, time, mean, max) rows."""
        q = "%s WHERE time >= '%s' AND time < '%s' GROUP BY time(5m), \"host\"" % (MEAN_Q, rfc(start), rfc(stop))
        doc = h.query(self.stack.influxd.url, q, db="bdb", epoch="ns")
        out = []
        for res in doc["results"]:
            for s in res.get("series", []):
                for v in s["values"]:
                    if v[1] is None and v[2] is None:
                        continue  # an empty bucket: Kapacitor drops rows without values
                    out.append((s["tags"]["host"], v[0], v[1], v[2]))
        return out

    def expected_runs(self, start, stop):
        runs = []
        t = start
        while t <= stop:
            runs.append(self.influx_rows(t - 10 * 60 * S, t))
            t += 10 * 60 * S
        return runs

    def outputs(self, rid):
        return self.pg.sql("select seq, kind, time, payload from farad.replay_outputs where replay_id = '%s'"
                           " order by seq" % rid)

    def replay(self, rid, body):
        r = self.api("POST", "/replays", dict(body, id=rid))
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", rid)
        self.assertEqual(doc["status"], "finished", doc)
        return doc

    # --- tests (run in name order) ---

    def test_1_cli_past_recording_holds_what_influxd_returns(self):
        r = self.cli("record", "batch", "-task", "bt", "-past", "1h", "-recording-id", "b1")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "b1"), r.stderr)
        doc = self.api("GET", "/recordings/b1").json()
        self.assertEqual((doc["type"], doc["status"], doc["error"]), ("batch", "finished", ""), doc)
        runs = self.pg.sql("select distinct start_ns || ' ' || stop_ns from farad.recording_batches"
                           " where recording_id = 'b1' and query_node = 0").split("\n")
        runs = sorted(tuple(int(x) for x in line.split()) for line in runs)
        # -past 1h: 7 runs 10 minutes apart, each over 10 minutes
        self.assertEqual(len(runs), 7, runs)
        self.assertEqual({b - a for a, b in runs}, {10 * 60 * S})
        self.assertEqual({runs[i + 1][1] - runs[i][1] for i in range(6)}, {10 * 60 * S})
        want = sum(len(self.influx_rows(a, b)) for a, b in runs)
        self.assertGreater(want, 20)
        # the second query node: every 20m, one count per host and run
        n1_runs = int(self.pg.sql("select count(distinct stop_ns) from farad.recording_batches"
                                  " where recording_id = 'b1' and query_node = 1"))
        self.assertEqual(n1_runs, 4)
        want += 2 * n1_runs
        got = int(self.pg.sql("select count(*) from farad.recording_points where recording_id = 'b1'"))
        self.assertEqual(got, want, "per run: recorded %s; influxd %s" % (
            self.pg.sql("select query_node, start_ns, stop_ns, count(*), sum(points) from farad.recording_batches"
                        " where recording_id = 'b1' group by 1, 2, 3 order by 1, 2"),
            [(a, b, len(self.influx_rows(a, b))) for a, b in runs]))
        self.assertEqual(doc["points"], want)
        self.assertEqual(self.pg.sql("select count(*) from farad.recording_points where recording_id = 'b1'"
                                     " and (batch_seq is null or batch_group is null or query_node is null)"), "0")
        self.assertEqual(self.pg.sql("select string_agg(distinct batch_group, ',' order by batch_group)"
                                     " from farad.recording_points where recording_id = 'b1'"), "host=a,host=b")
        self.assertEqual(self.pg.sql("select string_agg(distinct query_node::text, ',') from farad.recording_points"
                                     " where recording_id = 'b1'"), "0,1")
        # counts of the second node are what influxd counts; its batches' tmax is the run's end
        for line in self.pg.sql("select b.start_ns, b.stop_ns, b.tmax_ns, p.tags->>'host', p.fields->>'n', p.time_ns"
                                " from farad.recording_batches b join farad.recording_points p"
                                " on p.recording_id = b.recording_id and p.batch_seq = b.batch_seq"
                                " where b.recording_id = 'b1' and b.query_node = 1").split("\n"):
            start, stop, tmax, host, n, t = line.split("|")
            self.assertEqual(tmax, stop)
            self.assertEqual(int(t), int(start))  # an aggregate without time grouping: the range start
            q = "%s WHERE time >= '%s' AND time < '%s' AND host = '%s'" % (COUNT_Q, rfc(int(start)), rfc(int(stop)), host)
            self.assertEqual(float(n), h.rows(self.stack.influxd.url, q, db="bdb")[0]["n"])
        # every batch of points has its row, with the same group and node
        self.assertEqual(self.pg.sql(
            "select count(*) from (select distinct batch_seq, batch_group, query_node from farad.recording_points"
            " where recording_id = 'b1') p left join farad.recording_batches b on b.recording_id = 'b1'"
            " and b.batch_seq = p.batch_seq and b.batch_group = p.batch_group and b.query_node = p.query_node"
            " where b.batch_seq is null"), "0")

    def test_2_api_recording_fixed_range(self):
        r = self.api("POST", "/recordings/batch", {"id": "b2", "task": "bt", "start": rfc(self.start),
                                                   "stop": rfc(self.stop), "cluster": ""})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["type"], r.json()["id"]), ("batch", "b2"))
        doc = self.wait_done("recordings", "b2")
        self.assertEqual(doc["status"], "finished", doc)
        runs = self.expected_runs(self.start, self.stop)
        self.assertEqual(len(runs), 5)
        want = [row for run in runs for row in run]
        got = self.pg.sql("select tags->>'host', time_ns, fields->>'mean', fields->>'max', batch_seq"
                          " from farad.recording_points where recording_id = 'b2' and query_node = 0"
                          " order by seq").split("\n")
        got = [line.split("|") for line in got]
        self.assertEqual([(g[0], int(g[1]), float(g[2]), float(g[3])) for g in got], want)
        # batch_seq counts up by batch: one batch per run and host
        self.assertEqual(len({int(g[4]) for g in got}), 2 * len(runs))
        seqs = self.pg.sql("select string_agg(distinct batch_seq::text, ',') from farad.recording_points"
                           " where recording_id = 'b2'")
        # ticks of both nodes (5 + 3), two hosts each: batches 0..15 in tick order
        self.assertEqual(sorted(int(x) for x in seqs.split(",")), list(range(16)))
        # tmax: the last point's time (the query groups by time)
        self.assertEqual(self.pg.sql("select count(*) from farad.recording_batches b where recording_id = 'b2'"
                                     " and query_node = 0 and tmax_ns <> (select max(time_ns) from farad.recording_points p"
                                     " where p.recording_id = 'b2' and p.batch_seq = b.batch_seq)"), "0")

    def expected_points(self):
        """eval's output: double = 2 * mean per host and 5m bucket, for every run of the fixed range."""
        return [(host, t, 2 * mean) for run in self.expected_runs(self.start, self.stop)
                for host, t, mean, mx in run]

    def captured_points(self, rid):
        rows = self.pg.sql("select payload->>'line' from farad.replay_outputs where replay_id = '%s'"
                           " and kind = 'point' and payload->>'line' like '%% double=%%' order by seq" % rid).split("\n")
        out = []
        for line in rows:
            key, field, ts = line.split(" ")
            self.assertTrue(key.startswith("mem,host="), line)
            name, value = field.split("=")
            self.assertEqual(name, "double", line)
            out.append((key.split("=")[1], int(ts), float(value)))
        return out

    def test_3_replays_with_capture_are_identical_and_right(self):
        for rid in ("br1", "br2"):
            doc = self.replay(rid, {"task": "bt", "recording": "b2", "recording-time": True, "clock": "fast",
                                    "capture": True})
            stats = doc["stats"]["node-stats"]
            self.assertEqual(stats["query1"]["batches_queried"], 10, stats)
            self.assertEqual(stats["query4"]["batches_queried"], 6, stats)
        self.assertEqual(self.outputs("br1"), self.outputs("br2"))
        want = self.expected_points()
        got = self.captured_points("br1")
        self.assertEqual(len(got), len(want))
        for g, w in zip(got, want):
            self.assertEqual(g[:2], w[:2])
            self.assertAlmostEqual(g[2], w[2], places=9)
        alerts = [json.loads(x) for x in self.pg.sql(
            "select payload from farad.replay_outputs where replay_id = 'br1' and kind = 'alert' order by seq").split("\n")]
        self.assertGreater(len(alerts), 0)
        # host a reaches 90 in every 5 minutes, host b never passes 52
        self.assertEqual({(a["id"], a["level"]) for a in alerts}, {("mem:a", "CRITICAL")})
        self.assertEqual(alerts[0]["message"], "mem:a is CRITICAL")

    def test_3b_shifted_time_starts_now(self):
        self.replay("br3", {"task": "bt", "recording": "b2", "clock": "fast", "capture": True})
        got = self.captured_points("br3")
        want = self.expected_points()
        self.assertEqual(len(got), len(want))
        shift = got[0][1] - want[0][1]
        self.assertLess(abs(got[0][1] / S - time.time()), 120)
        self.assertEqual([g[1] - shift for g in got], [w[1] for w in want])

    def test_4_replay_live_batch_gives_the_same_outputs(self):
        r = self.api("POST", "/replays/batch", {"id": "lb1", "task": "bt", "start": rfc(self.start),
                                                "stop": rfc(self.stop), "recording-time": True, "clock": "fast",
                                                "capture": True})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", "lb1")
        self.assertEqual(doc["status"], "finished", doc)
        self.assertEqual(doc["recording"], "")
        self.assertEqual(self.outputs("lb1").replace("lb1", "x"), self.outputs("br1").replace("br1", "x"))
        # through the CLI too (fires for real: no capture)
        r = self.cli("replay-live", "batch", "-task", "bt", "-start", rfc(self.start), "-stop", rfc(self.stop),
                     "-rec-time", "-replay-id", "lb2")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "lb2"), r.stderr)
        doc = self.api("GET", "/replays/lb2").json()
        self.assertEqual(doc["stats"]["node-stats"]["query1"]["points_queried"], len(self.expected_points()))

    def test_5_errors(self):
        # Kapacitor's texts and codes (services/replay/service.go; "no task exists" is its task store's)
        r = self.api("POST", "/recordings/batch", {"task": "nope", "start": rfc(self.start)})
        self.assertEqual((r.status, r.json()["error"]), (404, "no task exists"))
        r = self.api("POST", "/recordings/stream", {"task": "nope", "stop": rfc(self.stop)})
        self.assertEqual((r.status, r.json()["error"]), (404, "no task exists"))
        r = self.api("POST", "/recordings/batch", {"task": "bt"})
        self.assertEqual((r.status, r.json()["error"]), (400, "must provide start time"))
        r = self.api("POST", "/replays/batch", {"task": "bt", "stop": rfc(self.stop)})
        self.assertEqual((r.status, r.json()["error"]), (400, "must provide start time"))
        # a batch recording of a stream task is made, and fails
        r = self.api("POST", "/recordings/batch", {"id": "sb1", "task": "st", "past": "1h"})
        self.assertEqual((r.status, r.json()["type"]), (201, "batch"), r)
        doc = self.wait_done("recordings", "sb1")
        self.assertEqual((doc["status"], doc["error"]), ("failed", "wrong task type"))
        # a replay of a batch recording with a stream task, and the reverse, are made and fail on the
        # other file format in Kapacitor: its texts
        r = self.api("POST", "/replays", {"id": "wr1", "task": "st", "recording": "b2"})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", "wr1")
        self.assertEqual((doc["status"], doc["error"]),
                         ("failed", "found recording of wrong type, check task type matches recording."))
        r = self.api("POST", "/recordings/query", {"id": "sq1", "type": "stream", "query":
                                                   'SELECT value FROM "bdb"."autogen"."mem" WHERE time > now() - 1h'})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_done("recordings", "sq1")["status"], "finished")
        r = self.api("POST", "/replays", {"id": "wr2", "task": "bt", "recording": "sq1"})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", "wr2")
        self.assertEqual((doc["status"], doc["error"]),
                         ("failed", "found recording of wrong type, check task type matches recording."))
        self.assertEqual(self.pg.sql("select count(*) from farad.replay_outputs where replay_id in ('wr1', 'wr2')"),
                         "0")
        # a missing task comes first, then a missing recording, then the clock
        r = self.api("POST", "/replays", {"task": "nope", "recording": "nope", "clock": "slow"})
        self.assertEqual((r.status, r.json()["error"]), (404, "task load: no task exists"))
        r = self.api("POST", "/replays", {"task": "bt", "recording": "nope", "clock": "slow"})
        self.assertEqual((r.status, r.json()["error"]), (404, "recording not found: no recording exists"))
        r = self.api("POST", "/replays", {"task": "bt", "recording": "b2", "clock": "slow"})
        self.assertEqual(r.status, 400)
        r = self.api("POST", "/replays/query", {"task": "nope", "query": MEAN_Q})
        self.assertEqual((r.status, r.json()["error"]), (404, "task load: no task exists"))
        r = self.api("POST", "/replays/batch", {"task": "nope", "past": "1h"})
        self.assertEqual((r.status, r.json()["error"]), (404, "task load: no task exists"))
        r = self.api("POST", "/replays/batch", {"task": "st", "past": "1h"})
        self.assertEqual((r.status, r.json()["error"]), (400, "cannot replay batch against stream task: st"))
        self.assertEqual(self.api("GET", "/replays").json()["replays"][0]["id"], "wr2")  # nothing made
        r = self.api("POST", "/recordings/batch", {"task": "bt", "past": "soon"})
        self.assertEqual(r.status, 400)
        self.assertIn("soon", r.json()["error"])
        # a query error fails the recording with influxd's text
        bad = TASK.replace('"bdb"."autogen"."mem"', '"bdb"."autogen"."mem" WHERE nosuchfn(x)')
        path = os.path.join(self.dir, "bad.tick")
        with open(path, "w") as f:
            f.write(bad)
        r = self.cli("define", "badq", "-tick", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.api("POST", "/recordings/batch", {"id": "bad1", "task": "badq", "past": "30m"})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("recordings", "bad1")
        self.assertEqual(doc["status"], "failed", doc)
        self.assertIn("query over [", doc["error"])
        # deleting a batch recording deletes its batches
        self.assertEqual(self.api("DELETE", "/recordings/b1").status, 204)
        self.assertEqual(self.pg.sql("select count(*) from farad.recording_batches where recording_id = 'b1'"), "0")
        self.assertEqual(self.pg.sql("select count(*) from farad.recording_points where recording_id = 'b1'"), "0")

    def test_6_real_clock_paces_batches_by_their_last_point(self):
        t0 = (FIRST_S + 5) * S  # between two points of "mem": a measurement of its own, 1 s apart
        r = h.write(self.stack.influxd.url, "bdb", "".join("fast,host=a v=%d %d\n" % (i, t0 + i * S) for i in range(4)))
        self.assertEqual(r.status, 204, r)
        path = os.path.join(self.dir, "fast.tick")
        with open(path, "w") as f:
            f.write('dbrp "bdb"."autogen"\n\nbatch\n    |query(\'SELECT v FROM "bdb"."autogen"."fast"\')\n'
                    "        .period(2s)\n        .every(2s)\n    |eval(lambda: \"v\" * 10.0)\n        .as('v10')\n")
        self.assertEqual(self.cli("define", "fast", "-tick", path).returncode, 0)
        # runs [t0, t0+2s) and [t0+2s, t0+4s): two batches of two points, the last one 3 s after the first
        r = self.api("POST", "/recordings/batch", {"id": "f1", "task": "fast", "start": rfc(t0 + 2 * S),
                                                   "stop": rfc(t0 + 4 * S)})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_done("recordings", "f1")["status"], "finished")
        self.assertEqual(self.pg.sql("select string_agg(batch_seq || ':' || (fields->>'v'), ',' order by seq)"
                                     " from farad.recording_points where recording_id = 'f1'"),
                         "0:0.0,0:1.0,1:2.0,1:3.0")
        began = time.monotonic()
        self.replay("fr1", {"task": "fast", "recording": "f1", "clock": "real", "recording-time": True,
                            "capture": True})
        took = time.monotonic() - began
        self.assertGreaterEqual(took, 2.5)
        self.assertLess(took, 15)
        lines = self.pg.sql("select payload->>'line' from farad.replay_outputs where replay_id = 'fr1'"
                            " order by seq").split("\n")
        self.assertEqual(lines, ["fast v10=%d %d" % (i * 10, t0 + i * S) for i in range(4)])

    def rows_of(self, rid):
        """Rows a recording has in each of its tables."""
        return [int(self.pg.sql("select count(*) from farad.%s where %s = '%s'" % (t, col, rid)))
                for t, col in (("recordings", "id"), ("recording_batches", "recording_id"),
                               ("recording_blocks", "recording_id"))]

    def test_7_delete_while_recording_stops_it_and_leaves_no_rows(self):
        # one query run a second over 30 days: far more runs than the test could wait for
        path = os.path.join(self.dir, "slow.tick")
        with open(path, "w") as f:
            f.write('dbrp "bdb"."autogen"\n\nbatch\n    |query(\'SELECT value FROM "bdb"."autogen"."mem"\')\n'
                    "        .period(1s)\n        .every(1s)\n    |log()\n")
        self.assertEqual(self.cli("define", "slow", "-tick", path).returncode, 0)
        r = self.api("POST", "/recordings/batch", {"id": "del1", "task": "slow", "past": "720h"})
        self.assertEqual(r.status, 201, r)
        time.sleep(1.5)
        self.assertEqual(self.api("GET", "/recordings/del1").status, 202)  # still running
        self.assertEqual(self.rows_of("del1")[0], 1)
        began = time.monotonic()
        self.assertEqual(self.api("DELETE", "/recordings/del1").status, 204)
        self.assertLess(time.monotonic() - began, 5)
        self.assertEqual(self.api("GET", "/recordings/del1").status, 404)
        listed = self.api("GET", "/recordings").json()["recordings"]
        self.assertNotIn("del1", [x["id"] for x in listed])
        # the job stops at its next query; once it has ended, its rows are removed (again)
        log = self.farad.proc.log_path
        h.wait_for(lambda: "recording del1 was deleted while running: stopped, its rows removed"
                   in open(log, errors="replace").read(), 10, what="the deleted recording's job to end")
        self.assertEqual(self.rows_of("del1"), [0, 0, 0])
        time.sleep(1)  # nothing writes them back later
        self.assertEqual(self.rows_of("del1"), [0, 0, 0])
        self.assertIn("batch recording del1 of task slow: failed", open(log, errors="replace").read())
        # faradd is fine: the same id records again, the same rows as b2 over the same range
        self.assertEqual(h.request(self.farad.url, "GET", "/ping").status, 204)
        r = self.api("POST", "/recordings/batch", {"id": "del1", "task": "bt", "start": rfc(self.start),
                                                   "stop": rfc(self.stop)})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_done("recordings", "del1")["status"], "finished")
        pts = "select count(*) from farad.recording_points where recording_id = '%s'"
        self.assertGreater(int(self.pg.sql(pts % "b2")), 0)
        self.assertEqual(self.pg.sql(pts % "del1"), self.pg.sql(pts % "b2"))
        self.assertEqual(self.rows_of("del1")[:2], [1, 16])
        self.assertEqual(self.api("DELETE", "/recordings/del1").status, 204)
        self.assertEqual(self.rows_of("del1"), [0, 0, 0])


if __name__ == "__main__":
    h.main()
