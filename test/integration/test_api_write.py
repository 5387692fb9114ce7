#!/usr/bin/python3
"""The API listener's /write (the subscription target, issue 5 item 1 and issue 7).

Points POSTed to the API port reach the engine (counted in /debug/vars) and never go upstream:
nothing is stored in InfluxDB, so farad can be a subscriber and the write proxy at once.
Kapacitor's answers: 204; 400 without db or with bad lines (good lines still counted).
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOW = (time.time_ns() // 10**9 - 60) * 10**9


def tee_values(doc, db, rp):
    for tags, values in h.kapacitor_stats(doc, "tee"):
        if tags.get("database") == db and tags.get("retention_policy") == rp:
            return values
    return {}


@h.farad_only
class ApiWriteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack()
        cls.farad = cls.stack.farad
        h.create_db(cls.stack.influxd.url, "subdb")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_points_reach_the_engine_not_upstream(self):
        body = "".join("cpu,host=h%d v=%d %d\n" % (i % 3, i, NOW + i) for i in range(25))
        for path in ("/write", "/kapacitor/v1/write"):
            r = h.request(self.farad.api, "POST", path, params={"db": "subdb", "rp": "autogen"},
                          body=body.encode())
            self.assertEqual(r.status, 204, r)
        h.wait_for(lambda: tee_values(self.farad.debug_vars(), "subdb", "autogen").get("points_received") == 50,
                   10, what="50 points counted")
        stored = h.query(self.stack.influxd.url, "SELECT count(v) FROM cpu", db="subdb")
        self.assertNotIn("series", stored["results"][0], "the API write must not go upstream: %r" % stored)

    def test_gzip_and_precision(self):
        r = h.request(self.farad.api, "POST", "/write", params={"db": "subgz", "precision": "s"},
                      body=__import__("gzip").compress(b"mem used=1i 1700000000\n"),
                      headers={"Content-Encoding": "gzip"})
        self.assertEqual(r.status, 204, r)
        h.wait_for(lambda: tee_values(self.farad.debug_vars(), "subgz", "autogen").get("points_received") == 1,
                   10, what="gzip point counted under the default rp")

    def test_errors(self):
        r = h.request(self.farad.api, "POST", "/write", body=b"cpu v=1 1\n")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "database is required"})
        r = h.request(self.farad.api, "POST", "/write", params={"db": "suberr"},
                      body=b"cpu v=1 1\nbad line\ncpu v=2 2\n")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"error": "unable to parse 'bad line': invalid field format"})
        h.wait_for(lambda: tee_values(self.farad.debug_vars(), "suberr", "autogen").get("points_received") == 2,
                   10, what="the good lines of a partly bad body counted")
        self.assertEqual(tee_values(self.farad.debug_vars(), "suberr", "autogen").get("parse_errors"), 1)
        r = h.request(self.farad.api, "POST", "/write", params={"db": "x", "precision": "us"}, body=b"cpu v=1 1\n")
        self.assertEqual(r.status, 400)
        r = h.request(self.farad.api, "GET", "/write", params={"db": "x"})
        self.assertEqual(r.status, 405)


if __name__ == "__main__":
    h.main()
