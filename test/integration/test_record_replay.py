#!/usr/bin/python3
"""Record and replay (issue 6) against a real PostgreSQL and influxd, through the farad CLI.

A task loaded with -load-dir alerts (.log() to a file). A stream recording taken while data
flows through the proxy holds exactly the points written (checked with SQL, typed values via
jsonb_typeof); replaying it fires the alert handler again with the same events; two captured
replays give identical outputs; PostgreSQL stopped during a recording fails it with the error
while ingest goes on.
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from pg import Postgres  # noqa: E402

NOW = (time.time_ns() // 10**9 - 600) * 10**9

ALERT = """dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .id('cpu:{{ index .Tags "host" }}')
        .message('{{ .ID }} is {{ .Level }}: {{ index .Fields "usage_idle" }}')
        .crit(lambda: "usage_idle" < 10.0)
        .log('%s')
"""

POINTS = [("a", 95.0, 1, "ok", "true"), ("b", 5.5, 2, "low", "false"), ("a", 3.0, 3, "low", "true"),
          ("b", 50.0, 4, "ok", "false")]


def lines(offset):
    return "".join('cpu,host=%s,cpu=cpu-total usage_idle=%s,n=%di,state="%s",up=%s %d\n'
                   % (host, idle, n, st, up, NOW + (offset + i) * 10**9)
                   for i, (host, idle, n, st, up) in enumerate(POINTS))


@h.farad_only
class RecordReplay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.dir = h.make_tmpdir("farad-rr")
        os.makedirs(os.path.join(cls.dir, "tasks"))
        cls.alerts = os.path.join(cls.dir, "alerts.log")
        with open(os.path.join(cls.dir, "tasks", "cpu_alert.tick"), "w") as f:
            f.write(ALERT % cls.alerts)
        cls.stack = h.Stack(["-load-dir", cls.dir, "-pg", cls.pg.dsn])
        cls.farad = cls.stack.farad
        h.create_db(cls.stack.url, "telegraf")

        def running():  # the load directory is applied by the API thread, after start
            r = h.request(cls.farad.api, "GET", "/kapacitor/v1/tasks/cpu_alert")
            return r.status == 200 and r.json().get("executing") is True
        h.wait_for(running, 20, what="task cpu_alert running")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
        finally:
            cls.pg.destroy()

    # --- helpers ---

    def cli(self, *args, timeout=60):
        env = dict(os.environ, FARAD_URL=self.farad.api)
        return subprocess.run([os.path.join(h.BUILD_DIR, "farad")] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=env)

    def cli_bg(self, *args):
        env = dict(os.environ, FARAD_URL=self.farad.api)
        return subprocess.Popen([os.path.join(h.BUILD_DIR, "farad")] + list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def events(self):
        if not os.path.exists(self.alerts):
            return []
        with open(self.alerts) as f:
            return [json.loads(line) for line in f if line.strip()]

    def api(self, method, path, body=None):
        return h.request(self.farad.api, method, "/kapacitor/v1" + path,
                         body=json.dumps(body).encode() if body is not None else None,
                         headers={"Content-Type": "application/json"} if body is not None else None)

    def wait_done(self, kind, rid, timeout=30):
        out = {}

        def done():
            r = self.api("GET", "/%s/%s" % (kind, rid))
            out["r"] = r
            return r.status == 200
        h.wait_for(done, timeout, what="%s %s done" % (kind, rid))
        return out["r"].json()

    def record(self, offset, rid, duration="3s"):
        """Records cpu_alert for `duration` while 4 points are written through the proxy."""
        p = self.cli_bg("record", "stream", "-task", "cpu_alert", "-duration", duration, "-recording-id", rid)
        h.wait_for(lambda: self.api("GET", "/recordings/" + rid).status == 202, 10, what="recording running")
        r = h.write(self.stack.url, "telegraf", lines(offset))
        self.assertEqual(r.status, 204, r)
        out, err = p.communicate(timeout=30)
        return p.returncode, out.strip(), err

    # --- tests (run in name order) ---

    def test_1_stream_recording_holds_exactly_the_points(self):
        before = len(self.events())
        code, out, err = self.record(0, "rec1")
        self.assertEqual((code, out), (0, "rec1"), err)
        h.wait_for(lambda: len(self.events()) >= before + 2, 10, what="live alerts")
        rows = self.pg.sql("select measurement, tags->>'host', tags->>'cpu', fields->>'usage_idle', time_ns,"
                           " jsonb_typeof(fields->'usage_idle'), jsonb_typeof(fields->'state'),"
                           " jsonb_typeof(fields->'up'), fields->>'n', db, rp"
                           " from farad.recording_points where recording_id = 'rec1' order by seq").splitlines()
        self.assertEqual(len(rows), len(POINTS), rows)
        for i, (row, (host, idle, n, st, up)) in enumerate(zip(rows, POINTS)):
            self.assertEqual(row.split("|"), ["cpu", host, "cpu-total", repr(idle), str(NOW + i * 10**9),
                                              "number", "string", "boolean", str(n), "telegraf", "autogen"])
        # ints stay ints in jsonb: n is 1, not 1.0
        self.assertEqual(self.pg.sql("select fields->'n' from farad.recording_points where recording_id = 'rec1'"
                                     " order by seq limit 1"), "1")
        doc = self.api("GET", "/recordings/rec1").json()
        self.assertEqual((doc["status"], doc["type"], doc["error"], doc["progress"]), ("finished", "stream", "", 1.0))
        self.assertGreater(doc["size"], 0)
        self.assertEqual(doc["link"]["href"], "/kapacitor/v1/recordings/rec1")
        listed = self.cli("list", "recordings", "rec1")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("rec1", listed.stdout)
        self.assertIn("finished", listed.stdout)

    def test_2_replay_fires_the_alert_again(self):
        live = self.events()
        crit = [e for e in live if e["level"] == "CRITICAL"]
        self.assertGreaterEqual(len(crit), 2, live)
        before = len(live)
        r = self.cli("replay", "-recording", "rec1", "-task", "cpu_alert", "-rec-time", "-replay-id", "rp1")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "rp1"), r.stderr)
        h.wait_for(lambda: len(self.events()) >= before + 3, 10, what="replayed alerts")
        replayed = self.events()[before:]
        # same events as live (recording time kept): two criticals and the recovery of b
        key = lambda e: (e["id"], e["level"], e["message"], e["time"])  # noqa: E731
        self.assertEqual([key(e) for e in replayed], [key(e) for e in live[:len(replayed)]])
        doc = self.wait_done("replays", "rp1")
        self.assertEqual((doc["status"], doc["task"], doc["recording"], doc["clock"]), ("finished", "cpu_alert", "rec1", "fast"))
        self.assertEqual(doc["stats"]["node-stats"]["alert2"]["alerts_triggered"], 3, doc["stats"])
        listed = self.cli("list", "replays")
        self.assertIn("rp1", listed.stdout)

    def test_3_captured_replays_are_identical(self):
        before = len(self.events())
        outs = []
        for rid in ("cap1", "cap2"):
            r = self.api("POST", "/replays", {"id": rid, "task": "cpu_alert", "recording": "rec1",
                                              "recording-time": True, "clock": "fast", "capture": True})
            self.assertEqual(r.status, 201, r)
            doc = self.wait_done("replays", rid)
            self.assertEqual(doc["status"], "finished", doc)
            outs.append(self.pg.sql("select seq, kind, time, payload from farad.replay_outputs"
                                    " where replay_id = '%s' order by seq" % rid))
        self.assertEqual(outs[0], outs[1])
        kinds = [line.split("|")[1] for line in outs[0].splitlines()]
        self.assertEqual(kinds.count("alert"), 3, outs[0])
        n = self.pg.sql("select count(*) from farad.replay_outputs where replay_id = 'cap1'"
                        " and payload->>'level' = 'CRITICAL'")
        self.assertEqual(n, "2")
        time.sleep(0.5)
        self.assertEqual(len(self.events()), before, "a capturing replay fired the handler")

    def test_3b_real_clock_and_shifted_time(self):
        t0 = time.monotonic()
        r = self.api("POST", "/replays", {"id": "real1", "task": "cpu_alert", "recording": "rec1",
                                          "clock": "real", "capture": True})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", "real1")
        took = time.monotonic() - t0
        self.assertEqual((doc["status"], doc["clock"], doc["recording-time"]), ("finished", "real", False))
        # the 4 points span 3 s of data: a real-clock replay takes that long
        self.assertGreaterEqual(took, 2.9)
        self.assertLess(took, 20)
        # recording-time false: the data seems to begin now (10 minutes later than recorded)
        first = int(self.pg.sql("select (extract(epoch from min(time)))::bigint from farad.replay_outputs"
                                " where replay_id = 'real1'"))
        self.assertLess(abs(first - time.time()), 60)
        self.assertGreater(first - NOW // 10**9, 500)

    def test_4_errors_and_delete(self):
        self.assertEqual(self.api("GET", "/recordings/nope").status, 404)
        self.assertEqual(self.api("POST", "/replays", {"task": "cpu_alert", "recording": "nope"}).status, 404)
        self.assertEqual(self.api("POST", "/replays", {"task": "nope", "recording": "rec1"}).status, 404)
        r = self.api("POST", "/replays", {"task": "cpu_alert", "recording": "rec1", "clock": "slow"})
        self.assertEqual(r.status, 400)
        self.assertIn("clock", r.json()["error"])
        r = self.api("POST", "/recordings/batch", {"task": "cpu_alert"})
        self.assertEqual((r.status, r.json()["error"]), (400, "must provide start time"))
        r = self.api("POST", "/recordings/query", {"query": "select * from cpu", "type": "stream"})
        self.assertEqual(r.status, 400)
        self.assertIn("could not determine database and retention policy", r.json()["error"])
        lst = self.api("GET", "/recordings?pattern=rec*&fields=status").json()["recordings"]
        self.assertEqual([sorted(x) for x in lst], [["id", "link", "status"]] * len(lst))
        self.assertIn("rec1", [x["id"] for x in lst])
        self.assertEqual(self.api("DELETE", "/replays/cap2").status, 204)
        self.assertEqual(self.api("GET", "/replays/cap2").status, 404)
        self.assertEqual(self.pg.sql("select count(*) from farad.replay_outputs where replay_id = 'cap2'"), "0")

    def test_5_query_recording_and_replay(self):
        q = 'select usage_idle, n from "telegraf"."autogen"."cpu" where time >= %d' % NOW
        r = self.cli("record", "query", "-query", q, "-type", "stream", "-recording-id", "q1")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "q1"), r.stderr)
        n = int(self.pg.sql("select count(*) from farad.recording_points where recording_id = 'q1'"))
        self.assertEqual(n, len(POINTS))
        self.assertEqual(self.pg.sql("select jsonb_typeof(fields->'n') || ':' || (fields->>'n') from farad.recording_points"
                                     " where recording_id = 'q1' order by seq limit 1"), "number:1")
        r = self.api("POST", "/replays/query", {"id": "live1", "task": "cpu_alert", "query": q,
                                                "recording-time": True, "clock": "fast", "capture": True})
        self.assertEqual(r.status, 201, r)
        doc = self.wait_done("replays", "live1")
        self.assertEqual(doc["status"], "finished", doc)
        self.assertEqual(self.pg.sql("select count(*) from farad.replay_outputs where replay_id = 'live1'"
                                     " and kind = 'alert'"), "3")

    def test_5b_define_edit_and_replay_a_disabled_task(self):
        """The issue's workflow: define a task (disabled), replay the recording against it, edit, again."""
        tick = os.path.join(self.dir, "cpu_alert2.tick")
        counts = []
        for threshold in ("10.0", "60.0"):
            with open(tick, "w") as f:
                f.write(ALERT.replace("10.0", threshold) % os.path.join(self.dir, "alerts2.log"))
            r = self.cli("define", "cpu_alert2", "-tick", tick)
            self.assertEqual(r.returncode, 0, r.stderr)
            rid = "edit-" + threshold.replace(".", "_")
            r = self.api("POST", "/replays", {"id": rid, "task": "cpu_alert2", "recording": "rec1",
                                              "recording-time": True, "clock": "fast", "capture": True})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(self.wait_done("replays", rid)["status"], "finished")
            counts.append(self.pg.sql("select count(*) from farad.replay_outputs where replay_id = '%s'"
                                      " and payload->>'level' = 'CRITICAL'" % rid))
        # below 10: b at 5.5 and a at 3.0; below 60: b at 50.0 too
        self.assertEqual(counts, ["2", "3"])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "alerts2.log")), "a capturing replay fired .log()")
        r = self.cli("enable", "cpu_alert2")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_6_postgres_stopped_fails_the_recording_and_ingest_goes_on(self):
        before = len(self.events())
        p = self.cli_bg("record", "stream", "-task", "cpu_alert", "-duration", "4s", "-recording-id", "down1")
        h.wait_for(lambda: self.api("GET", "/recordings/down1").status == 202, 10, what="recording running")
        self.pg.stop()
        try:
            r = h.write(self.stack.url, "telegraf", lines(100))
            self.assertEqual(r.status, 204, r)
            h.wait_for(lambda: len(self.events()) >= before + 2, 10, what="live alerts while PostgreSQL is down")
            out, err = p.communicate(timeout=30)
            self.assertNotEqual(p.returncode, 0, out)
            doc = self.api("GET", "/recordings/down1").json()
            self.assertEqual(doc["status"], "failed", doc)
            self.assertTrue("COPY" in doc["error"] or "PostgreSQL" in doc["error"], doc["error"])
            self.assertIn(doc["error"][:40], err)
            # a replay cannot be checked against a recording that PostgreSQL holds: 503, not 404
            r = self.api("POST", "/replays", {"task": "cpu_alert", "recording": "not-in-memory"})
            self.assertEqual(r.status, 503, r)
            self.assertIn("looking for recording not-in-memory", r.json()["error"])
        finally:
            self.pg.start()
        h.wait_for(lambda: self.pg.sql("select status from farad.recordings where id = 'down1'") == "failed", 15,
                   what="the failed row written once PostgreSQL is back")


if __name__ == "__main__":
    unittest.main(verbosity=2)
