#!/usr/bin/python3
"""The engine behind the tee (issue 4): faradd -load-dir starts the tasks of DIR/tasks/*.tick, the
proxy parses writes for their db.rp without any -tee-dbrps, and a task's log() line shows up for
points written through the proxy. Also `farad test` on a small script and data, exact output.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BASE_NS = (time.time_ns() // 10**9 - 3600) * 10**9

ALERT_TICK = """dbrp "engdb"."autogen"

stream
    |from()
        .measurement('cpu')
    |where(lambda: "usage_idle" < 10)
    |log()
"""

WHERE_TICK = """dbrp "engdb2"."autogen"

stream
    |from()
        .measurement('cpu')
    |where(lambda: "usage_idle" < 10)
"""


def ingress(doc):
    out = {}
    for tags, values in h.kapacitor_stats(doc, "ingress"):
        out[(tags.get("database"), tags.get("retention_policy"), tags.get("measurement"))] = values
    return out


class FaradTestCommand(unittest.TestCase):
    def test_exact_output_in_time_order(self):
        d = h.make_tmpdir("farad-test")
        tick = os.path.join(d, "cpu.tick")
        data = os.path.join(d, "points.lp")
        with open(tick, "w") as f:
            f.write(WHERE_TICK.replace("engdb2", "telegraf"))
        with open(data, "w") as f:
            f.write("cpu,host=b usage_idle=5 30\n"
                    "cpu,host=a usage_idle=50 10\n"
                    "mem,host=a used=3i 15\n"
                    "cpu,host=a usage_idle=2.5 20\n"
                    "cpu,host=c usage_idle=1i 20\n")
        r = subprocess.run([os.path.join(h.BUILD_DIR, "farad"), "test", "-tick", tick, "-dbrp",
                            "telegraf.autogen", "-data", data], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "cpu,host=a usage_idle=2.5 20\n"
                                   "cpu,host=c usage_idle=1i 20\n"
                                   "cpu,host=b usage_idle=5 30\n")
        # data of another db.rp is not the task's
        r = subprocess.run([os.path.join(h.BUILD_DIR, "farad"), "test", "-tick", tick, "-dbrp",
                            "other.autogen", "-data", data], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        r = subprocess.run([os.path.join(h.BUILD_DIR, "farad"), "test", "-tick", tick + ".missing",
                            "-data", data], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open " + tick + ".missing", r.stderr)


@h.farad_only
class EngineTeeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.load = h.make_tmpdir("farad-load")
        os.makedirs(os.path.join(cls.load, "tasks"))
        with open(os.path.join(cls.load, "tasks", "engwhere.tick"), "w") as f:
            f.write(WHERE_TICK)
        with open(os.path.join(cls.load, "tasks", "englog.tick"), "w") as f:
            f.write(ALERT_TICK)
        cls.stack = h.Stack(["-load-dir", cls.load, "-engine-threads", "2"])
        cls.farad = cls.stack.farad
        for db in ("engdb", "engdb2", "engother"):
            h.create_db(cls.stack.influxd.url, db)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_tasks_loaded_and_their_dbrp_teed_without_tee_dbrps(self):
        r = h.request(self.farad.api, "GET", "/kapacitor/v1/tasks/engwhere")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["status"], r.json()["executing"]), ("enabled", True))
        body = "".join("cpu,host=h%d usage_idle=%d %d\n" % (k, k, BASE_NS + k) for k in range(7))
        self.assertEqual(h.write(self.stack.url, "engdb2", body).status, 204)
        self.assertEqual(h.write(self.stack.url, "engother", body).status, 204)

        def counted():
            ing = ingress(self.farad.debug_vars())
            v = ing.get(("engdb2", "autogen", "cpu"))
            return v is not None and v.get("points_received") == 7
        h.wait_for(counted, 5, what="ingress count of engdb2.autogen.cpu")
        ing = ingress(self.farad.debug_vars())
        self.assertNotIn(("engother", "autogen", "cpu"), ing, "a db.rp no task wants is not parsed")
        # the upstream got every point either way
        self.assertEqual(len(h.rows(self.stack.influxd.url, "SELECT * FROM cpu", db="engdb2")), 7)

    def test_log_line_for_points_written_through_the_proxy(self):
        body = ("cpu,host=a usage_idle=50 %d\n" % (BASE_NS + 1)
                + "cpu,host=b usage_idle=3 %d\n" % (BASE_NS + 2))
        self.assertEqual(h.write(self.stack.url, "engdb", body).status, 204)

        def logged():
            return "task englog node log3:" in self.farad.proc.log_tail(100000)
        h.wait_for(logged, 5, what="the log() line of task englog")
        log = self.farad.proc.log_tail(100000)
        lines = [ln for ln in log.splitlines() if "task englog node log3:" in ln]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("host", lines[0])
        self.assertIn("usage_idle", lines[0])


@h.farad_only
class TeeBatchesComeBackTest(unittest.TestCase):
    """Writes answered 503 while influxd is down hand their tee batch back, on both paths (bodies
    forwarded before their parse, and bodies stamped before forwarding): with a 4-slot tee ring,
    a single lost batch would starve the tee once influxd is back."""

    def test_outage_does_not_leak_tee_batches(self):
        load = h.make_tmpdir("farad-load")
        os.makedirs(os.path.join(load, "tasks"))
        with open(os.path.join(load, "tasks", "engwhere.tick"), "w") as f:
            f.write(WHERE_TICK)
        stack = h.Stack(["-load-dir", load, "-tee-ring-slots", "4"])
        try:
            h.create_db(stack.influxd.url, "engdb2")
            stack.influxd.stop()
            for k in range(12):
                stamped = h.write(stack.url, "engdb2", "cpu usage_idle=1 %d\n" % (BASE_NS + k))
                unstamped = h.write(stack.url, "engdb2", "cpu usage_idle=2\n")
                self.assertEqual((stamped.status, unstamped.status), (503, 503), (stamped, unstamped))
            stack.influxd.start()
            h.wait_for(lambda: h.write(stack.url, "engdb2", "warmup v=1 %d\n" % BASE_NS).status == 204,
                       15, what="influxd back")
            for k in range(10):
                body = "".join("cpu,host=h%d usage_idle=%d %d\n" % (j, j, BASE_NS + 100 + 3 * k + j) for j in range(3))
                self.assertEqual(h.write(stack.url, "engdb2", body).status, 204)
            self.assertEqual(h.write(stack.url, "engdb2", "cpu,host=x usage_idle=7\n").status, 204)

            def counted():
                v = ingress(stack.farad.debug_vars()).get(("engdb2", "autogen", "cpu"))
                return v is not None and v.get("points_received") == 31
            h.wait_for(counted, 10, what="31 points of engdb2.autogen.cpu received by the engine")
            self.assertEqual(len(h.rows(stack.influxd.url, "SELECT * FROM cpu", db="engdb2")), 31)
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
