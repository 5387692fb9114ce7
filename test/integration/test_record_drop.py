#!/usr/bin/python3
"""A stream recording whose buffer is too small (record.stream_buffer, issue 6): under load it
drops points, counts them and ends `failed` with an error saying how many were lost, and
recorded + lost = written; ingest is not affected: every write proxied reaches influxd.
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from pg import Postgres  # noqa: E402

NOW = (time.time_ns() // 10**9 - 3600) * 10**9
WRITES, PER_WRITE = 20, 500


@h.farad_only
class RecordDrop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.stack = h.Stack(["-pg", cls.pg.dsn, "-record-stream-buffer", "4KiB"])
        cls.farad = cls.stack.farad
        h.create_db(cls.stack.url, "telegraf")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
        finally:
            cls.pg.destroy()

    def api(self, method, path, body=None):
        return h.request(self.farad.api, method, "/kapacitor/v1" + path,
                         body=json.dumps(body).encode() if body is not None else None,
                         headers={"Content-Type": "application/json"} if body is not None else None)

    def test_small_buffer_drops_counts_and_fails(self):
        r = self.api("POST", "/tasks", {"id": "cpu_pass", "type": "stream", "status": "enabled",
                                        "dbrps": [{"db": "telegraf", "rp": "autogen"}],
                                        "script": "stream\n    |from()\n        .measurement('cpu')\n"})
        self.assertIn(r.status, (200, 201), r)
        env = dict(os.environ, FARAD_URL=self.farad.api)
        p = subprocess.Popen([os.path.join(h.BUILD_DIR, "farad"), "record", "stream", "-task", "cpu_pass",
                              "-duration", "4s", "-recording-id", "drop1"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        h.wait_for(lambda: self.api("GET", "/recordings/drop1").status == 202, 10, what="recording running")
        for w in range(WRITES):
            body = "".join("cpu,host=h%d usage_idle=%d.5,n=%di %d\n" % (i % 10, i, i, NOW + (w * PER_WRITE + i) * 10**6)
                           for i in range(PER_WRITE))
            r = h.write(self.stack.url, "telegraf", body)
            self.assertEqual(r.status, 204, r)
        p.communicate(timeout=30)
        doc = {}

        def ended():
            r = self.api("GET", "/recordings/drop1")
            doc.update(r.json())
            return r.status == 200
        h.wait_for(ended, 20, what="recording drop1 ended")
        self.assertEqual(doc["status"], "failed", doc)
        m = re.match(r"lost (\d+) points: the recording's buffer \(4096 bytes\)", doc["error"])
        self.assertIsNotNone(m, doc)
        lost = int(m.group(1))
        self.assertGreater(lost, 0)
        recorded = int(self.pg.sql("select count(*) from farad.recording_points where recording_id = 'drop1'"))
        self.assertEqual(recorded + lost, WRITES * PER_WRITE, doc)
        self.assertEqual(doc["points_dropped"], lost)
        # ingest went on: influxd has every point written through the proxy
        res = h.query(self.stack.influxd.url, "select count(n) from cpu", db="telegraf")
        self.assertEqual(res["results"][0]["series"][0]["values"][0][1], WRITES * PER_WRITE, res)


if __name__ == "__main__":
    unittest.main()
