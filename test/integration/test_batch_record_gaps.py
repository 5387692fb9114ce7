#!/usr/bin/python3
"""Batch recordings against a scripted upstream (issue 6, the gaps after it): batches without points
and a query that never answers.

- A series whose rows are all null makes a batch without points (as in Kapacitor). A batch
  recording keeps it (Kapacitor's .brpl holds it): a farad.recording_batches row with points = 0
  and no points. The replay of the recording skips it (Kapacitor's replay drops batches without
  points when reading the file); replay-live batch sends it on to the task (Kapacitor's does).
- Deleting a batch recording whose query is in flight aborts the query: the job ends at once and
  leaves no rows; faradd records again afterwards.
"""

import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from pg import Postgres  # noqa: E402

S = 10**9
T0 = (time.time_ns() // S // 60) * 60 * S - 3600 * S  # the ticks: T0, T0 + 10 s, T0 + 20 s

NUL_TICK = """dbrp "fdb"."autogen"

batch
    |query('SELECT v FROM "fdb"."autogen"."nul"')
        .period(10s)
        .every(10s)
        .groupBy('host')
    |eval(lambda: "v" * 2.0)
        .as('v2')
"""

HANG_TICK = """dbrp "fdb"."autogen"

batch
    |query('SELECT v FROM "fdb"."autogen"."hang"')
        .period(1s)
        .every(1s)
    |log()
"""


def rfc(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // S))


def answer_nul(q):
    """Every run: host a's rows all null (a batch without points), host b one point."""
    doc = {"results": [{"statement_id": 0, "series": [
        {"name": "nul", "tags": {"host": "a"}, "columns": ["time", "v"], "values": [[T0 - 5 * S, None],
                                                                                  [T0 - 4 * S, None]]},
        {"name": "nul", "tags": {"host": "b"}, "columns": ["time", "v"], "values": [[T0 - 5 * S, 1.5]]},
    ]}]}
    return json.dumps(doc).encode()


def upstream(method, path, headers, body):
    u = urllib.parse.urlparse(path)
    if u.path == "/ping":
        return 204, {"X-Influxdb-Version": "1.6.7"}, b""
    q = urllib.parse.parse_qs(u.query).get("q", [""])[0]
    if '"hang"' in q:
        time.sleep(20)  # longer than the test waits for the deleted recording's job to end
        return 200, {"Content-Type": "application/json"}, b'{"results":[{"statement_id":0}]}'
    if '"nul"' in q:
        return 200, {"Content-Type": "application/json"}, answer_nul(q)
    return 200, {"Content-Type": "application/json"}, b'{"results":[{"statement_id":0}]}'


@h.farad_only
class BatchRecordGaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.up = h.FakeUpstream(upstream)
        cls.farad = None
        try:
            cls.farad = h.Faradd(cls.up.url, ["-pg", cls.pg.dsn]).start()
            for name, script in (("nul", NUL_TICK), ("hang", HANG_TICK)):
                r = cls.api_static("POST", "/tasks", {"id": name, "script": script, "status": "disabled"})
                assert r.status == 200, r
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.farad is not None:
                cls.farad.stop()
        finally:
            cls.up.stop()
            cls.pg.destroy()

    @classmethod
    def api_static(cls, method, path, body=None):
        return h.request(cls.farad.api, method, "/kapacitor/v1" + path,
                         body=json.dumps(body).encode() if body is not None else None,
                         headers={"Content-Type": "application/json"} if body is not None else None)

    def api(self, method, path, body=None):
        return self.api_static(method, path, body)

    def wait_done(self, kind, rid, timeout=30):
        out = {}

        def done():
            out["r"] = self.api("GET", "/%s/%s" % (kind, rid))
            return out["r"].status == 200
        h.wait_for(done, timeout, what="%s %s done" % (kind, rid))
        return out["r"].json()

    def run_replay(self, path, body):
        r = self.api("POST", path, body)
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", body["id"])
        self.assertEqual(doc["status"], "finished", doc)
        return doc["stats"]["node-stats"]

    def rows_of(self, rid):
        return [int(self.pg.sql("select count(*) from farad.%s where %s = '%s'" % (t, col, rid)))
                for t, col in (("recordings", "id"), ("recording_batches", "recording_id"),
                               ("recording_blocks", "recording_id"))]

    def test_1_batches_without_points(self):
        rng = {"start": rfc(T0), "stop": rfc(T0 + 20 * S)}
        r = self.api("POST", "/recordings/batch", dict(rng, id="e1", task="nul"))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_done("recordings", "e1")["status"], "finished")
        # three runs, two batches each: host a's without points is kept as a row with points = 0
        got = self.pg.sql("select batch_seq || ':' || points || ':' || (batch_group like '%host=a%')"
                          " from farad.recording_batches where recording_id = 'e1' order by batch_seq").split("\n")
        self.assertEqual(got, ["0:0:true", "1:1:false", "2:0:true", "3:1:false", "4:0:true", "5:1:false"])
        self.assertEqual(self.pg.sql("select string_agg(batch_seq || '=' || (fields->>'v'), ',' order by seq)"
                                     " from farad.recording_points where recording_id = 'e1'"), "1=1.5,3=1.5,5=1.5")
        # the replay of the recording skips them; replay-live batch sends them on
        rec = self.run_replay("/replays", {"id": "er1", "task": "nul", "recording": "e1"})
        self.assertEqual((rec["query1"]["batches_queried"], rec["query1"]["points_queried"]), (3, 3))
        live = self.run_replay("/replays/batch", dict(rng, id="el1", task="nul"))
        self.assertEqual((live["query1"]["batches_queried"], live["query1"]["points_queried"]), (6, 3))
        # the eval after the query passes every batch on: the empty ones too in replay-live
        self.assertEqual(rec["eval2"]["emitted"], 3)
        self.assertEqual(live["eval2"]["emitted"], 6)

    def test_2_delete_aborts_a_query_in_flight(self):
        r = self.api("POST", "/recordings/batch", {"id": "h1", "task": "hang", "past": "1h"})
        self.assertEqual(r.status, 201, r)
        h.wait_for(lambda: any('"hang"' in urllib.parse.unquote_plus(p) for _, p, _, _ in list(self.up.requests)),
                   10, what="the first query upstream")
        time.sleep(0.3)
        self.assertEqual(self.api("GET", "/recordings/h1").status, 202)
        began = time.monotonic()
        self.assertEqual(self.api("DELETE", "/recordings/h1").status, 204)
        self.assertLess(time.monotonic() - began, 3)
        # the job ends well before the upstream would answer (20 s)
        h.wait_for(lambda: "recording h1 was deleted while running: stopped, its rows removed"
                   in self.farad.proc.log_tail(200000), 5, what="the deleted recording's job to end")
        self.assertLess(time.monotonic() - began, 6)
        self.assertEqual(self.rows_of("h1"), [0, 0, 0])
        self.assertEqual(self.api("GET", "/recordings/h1").status, 404)
        # faradd records again, under the same id too
        r = self.api("POST", "/recordings/batch", {"id": "h1", "task": "nul", "start": rfc(T0), "stop": rfc(T0)})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_done("recordings", "h1")["status"], "finished")
        self.assertEqual(self.rows_of("h1")[:2], [1, 2])


if __name__ == "__main__":
    h.main()
