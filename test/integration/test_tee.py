#!/usr/bin/python3
"""The tee's counters at /debug/vars (issue 2, items 5 and 6).

With -tee-dbrps, points written through farad are counted per db/rp/measurement exactly
(Kapacitor's "ingress" entries) and per db/rp ("tee" entries); other databases are not counted;
bad lines count as parse_errors. Needs faradd: skipped in FARAD_ITEST_MODE=direct.
"""

import collections
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TEE_LIST = "teedb.*,tee2.autogen,teedef.*"


BASE_NS = (time.time_ns() // 10**9 - 3600) * 10**9  # recent: inside every retention policy


def lines(measurement, n, start, tag="a"):
    return "".join("%s,t=%s v=%di %d\n" % (measurement, tag, start + k, BASE_NS + start + k)
                   for k in range(n))


def ingress(doc):
    """{(db, rp, measurement): values} of the ingress entries (asserting Kapacitor's tags)."""
    out = {}
    for tags, values in h.kapacitor_stats(doc, "ingress"):
        assert tags.get("task_master") == "main", tags
        key = (tags.get("database"), tags.get("retention_policy"), tags.get("measurement"))
        assert key not in out, "duplicate ingress entry %s" % (key,)
        out[key] = values
    return out


def tee(doc):
    """{(db, rp): values} of the tee entries."""
    out = {}
    for tags, values in h.kapacitor_stats(doc, "tee"):
        key = (tags.get("database"), tags.get("retention_policy"))
        assert key not in out, "duplicate tee entry %s" % (key,)
        out[key] = values
    return out


@h.farad_only
class TeeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(["-tee-dbrps", TEE_LIST])
        cls.farad = cls.stack.farad
        cls.influx = cls.stack.influxd.url
        for q in ('CREATE DATABASE "teedb"', 'CREATE DATABASE "tee2"', 'CREATE DATABASE "untee"',
                  'CREATE DATABASE "teedef"',
                  'CREATE RETENTION POLICY "r2" ON "teedb" DURATION 1000d REPLICATION 1',
                  'CREATE RETENTION POLICY "other" ON "tee2" DURATION 1000d REPLICATION 1'):
            h.query(cls.influx, q, method="POST")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def settle(self, check, timeout=5):
        """Waits (bounded) until check(doc) passes, then checks it still holds 0.7 s later."""
        last = [None]

        def ok():
            doc = self.farad.debug_vars()
            try:
                check(doc)
                return True
            except AssertionError as e:
                last[0] = e
                return False
        try:
            h.wait_for(ok, timeout, interval=0.1, what="/debug/vars counters")
        except AssertionError:
            raise AssertionError("counters did not reach the expected values within %ss: %s"
                                 % (timeout, last[0]))
        time.sleep(0.7)
        check(self.farad.debug_vars())

    def test_debug_vars_shape(self):
        doc = self.farad.debug_vars()
        for k in ("version", "host", "kapacitor"):
            self.assertIn(k, doc)
        self.assertIsInstance(doc["kapacitor"], dict)

    def test_counts_exact(self):
        # (db, rp, body, gzip, expected HTTP status)
        writes = [
            ("teedb", "autogen", lines("cpu", 4, 1000), False, 204),
            ("teedb", "autogen", lines("cpu", 3, 2000), True, 204),
            ("teedb", "autogen", lines("cpu", 2, 3000) + lines("mem", 3, 3000), False, 204),
            ("teedb", "r2", lines("cpu", 5, 4000), False, 204),
            ("tee2", "autogen", lines("disk", 4, 5000), False, 204),
            ("tee2", "autogen", lines("disk", 2, 5500, tag="b"), True, 204),
            ("tee2", "other", lines("disk", 2, 6000), False, 204),   # rp not in the list
            ("untee", "autogen", lines("cpu", 6, 7000), False, 204),  # db not in the list
            ("untee", None, lines("cpu", 6, 7100), False, 204),
            # bad lines: 3 good + 2 bad -> InfluxDB's partial write; tee: 3 points, 2 parse errors
            ("teedb", "autogen", lines("bad", 2, 8000) + "no fields here\n" + lines("bad", 1, 8100)
             + "bad,t=x v=1 notatime\n", False, 400),
        ]
        for db, rp, body, gz, status in writes:
            r = h.write(self.stack.url, db, body, rp=rp, gzip=gz)
            self.assertEqual(r.status, status, "write to %s.%s: %r" % (db, rp, r))

        want_ingress = {
            ("teedb", "autogen", "cpu"): 4 + 3 + 2,
            ("teedb", "autogen", "mem"): 3,
            ("teedb", "autogen", "bad"): 3,
            ("teedb", "r2", "cpu"): 5,
            ("tee2", "autogen", "disk"): 6,
        }
        want_tee = {  # points, batches, parse errors, plain bytes (None: has gzip bodies)
            ("teedb", "autogen"): (4 + 3 + 5 + 3, 4, 2),
            ("teedb", "r2"): (5, 1, 0),
            ("tee2", "autogen"): (6, 2, 0),
        }

        def check(doc):
            got = {k: v.get("points_received") for k, v in ingress(doc).items()
                   if k[0] != "teedef"}
            self.assertEqual(got, want_ingress, "ingress points_received")
            t = {k: v for k, v in tee(doc).items() if k[0] != "teedef"}
            self.assertEqual(set(t), set(want_tee), "tee entries")
            for key, (points, batches, perr) in want_tee.items():
                v = t[key]
                self.assertEqual((v.get("points_received"), v.get("batches_received"),
                                  v.get("parse_errors")), (points, batches, perr),
                                 "tee %s (points, batches, parse_errors)" % (key,))
                self.assertEqual((v.get("batches_dropped"), v.get("points_dropped")), (0, 0),
                                 "tee %s drops" % (key,))
                self.assertGreater(v.get("bytes_received", 0), 0, "tee %s bytes" % (key,))
        self.settle(check)
        r2 = tee(self.farad.debug_vars())[("teedb", "r2")]
        self.assertEqual(r2["bytes_received"], len(writes[3][2].encode()),
                         "bytes_received of one plain body")

        # InfluxDB got everything as well (the tee is a copy, not a diversion)
        n = h.rows(self.influx, 'SELECT count("v") FROM "cpu"', db="teedb")
        self.assertEqual(n[0]["count"], 9)
        n = h.rows(self.influx, 'SELECT count("v") FROM "cpu"', db="untee")
        self.assertEqual(n[0]["count"], 12)

        # one more write moves exactly its counters
        r = h.write(self.stack.url, "teedb", lines("mem", 7, 9000), rp="autogen")
        self.assertEqual(r.status, 204)
        want_ingress[("teedb", "autogen", "mem")] += 7
        want_tee[("teedb", "autogen")] = (4 + 3 + 5 + 3 + 7, 5, 2)
        self.settle(check)

    def test_default_rp(self):
        r = h.write(self.stack.url, "teedef", lines("defrp", 2, 100))
        self.assertEqual(r.status, 204, repr(r))

        def check(doc):
            got = {k: v.get("points_received") for k, v in ingress(doc).items()
                   if k[2] == "defrp"}
            self.assertEqual(len(got), 1, got)
            (db, rp, _), n = got.popitem()
            self.assertEqual((db, n), ("teedef", 2))
            self.assertIn(rp, ("", "autogen"), "retention_policy tag for the default rp")
        self.settle(check)


@h.farad_only
class TeeStarTest(unittest.TestCase):
    def test_star_tees_everything(self):
        s = h.Stack(["-tee-dbrps", "*"])
        try:
            counts = collections.Counter()
            for k, db in enumerate(("s1", "s2", "s3")):
                h.query(s.influxd.url, 'CREATE DATABASE "%s"' % db, method="POST")
                r = h.write(s.url, db, lines("m%d" % k, k + 1, 10), rp="autogen")
                self.assertEqual(r.status, 204, repr(r))
                counts[(db, "autogen", "m%d" % k)] = k + 1

            def ok():
                got = {k: v.get("points_received") for k, v in ingress(s.farad.debug_vars()).items()}
                return got == dict(counts)
            h.wait_for(ok, 5, interval=0.1, what="ingress counts %s" % dict(counts))
        finally:
            s.stop()

    def test_other_list_tees_nothing(self):
        s = h.Stack(["-tee-dbrps", "nothere.autogen"])
        try:
            h.query(s.influxd.url, 'CREATE DATABASE "n1"', method="POST")
            self.assertEqual(h.write(s.url, "n1", lines("m", 5, 1), rp="autogen").status, 204)
            time.sleep(1.0)
            doc = s.farad.debug_vars()
            self.assertEqual(ingress(doc), {})
            self.assertEqual({k: v for k, v in tee(doc).items() if v.get("points_received")}, {})
        finally:
            s.stop()


if __name__ == "__main__":
    h.main()
