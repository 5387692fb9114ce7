#!/usr/bin/python3
"""The upstream InfluxDB goes away and comes back (issue 2, item 6).

While influxd is down, writes get 503 with a JSON error and /health says fail; nothing that farad
acknowledged with 204 is lost; when influxd is started again (same port, same data) farad
recovers by itself. Also: an upstream that refuses connections, and one that never answers.
All of this needs faradd: skipped in FARAD_ITEST_MODE=direct.
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

DB = "updb"
BATCH = 10


class Writer(threading.Thread):
    """Writes numbered batches (unique timestamps) as fast as answers come; records statuses."""

    def __init__(self, url, max_seconds=45):
        super().__init__(daemon=True)
        self.url = url
        self.stop_ev = threading.Event()
        self.max_seconds = max_seconds
        self.lock = threading.Lock()
        self.results = []  # (batch number, status or exception text, body)

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        n = 0
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            body = "".join("down,w=t seq=%di %d\n" % (n * BATCH + k, n * BATCH + k + 1)
                           for k in range(BATCH))
            try:
                r = h.write(self.url, DB, body, timeout=15)
                res = (n, r.status, r.body)
            except Exception as e:  # noqa: BLE001 - a connection error is a failure, recorded
                res = (n, "exception %r" % e, b"")
            with self.lock:
                self.results.append(res)
            n += 1
            time.sleep(0.01)

    def statuses(self):
        with self.lock:
            return [r[1] for r in self.results]

    def count(self, status, since=0):
        with self.lock:
            return sum(1 for r in self.results[since:] if r[1] == status)


@h.farad_only
class UpstreamDownTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(["-tee-dbrps", DB + ".*", "-upstream-timeout", "3s"])
        h.query(cls.stack.influxd.url, 'CREATE DATABASE "%s"' % DB, method="POST")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def assert_503_json(self, r, what):
        self.assertEqual(r.status, 503, "%s: expected 503, got %r" % (what, r))
        doc = r.json()
        self.assertIsInstance(doc.get("error"), str, "%s: body %r" % (what, r.body))
        self.assertTrue(doc["error"], what)

    def test_down_and_back(self):
        influxd, farad = self.stack.influxd, self.stack.farad
        w = Writer(self.stack.url)
        w.start()
        try:
            h.wait_for(lambda: w.count(204) >= 20, 20, what="20 acknowledged batches")
            influxd.stop()
            down_mark = len(w.statuses())
            h.wait_for(lambda: w.count(503, down_mark) >= 3, 15,
                       what="503 answers while influxd is down")

            # answers while down
            self.assert_503_json(h.write(self.stack.url, DB, "x v=1 1"), "write while down")
            self.assert_503_json(h.write(self.stack.url, DB, "x v=1 1", gzip=True),
                                 "gzip write while down")
            self.assert_503_json(h.query_raw(self.stack.url, "SHOW DATABASES"), "query while down")
            r = h.request(self.stack.url, "GET", "/health")
            self.assertEqual(r.status, 503, repr(r))
            doc = r.json()
            self.assertEqual(doc["status"], "fail", doc)
            self.assertIn("upstream", [c.get("name") for c in doc["checks"]
                                       if c.get("status") == "fail"], doc)
            self.assertEqual(h.request(self.stack.url, "GET", "/ping").status, 204,
                             "/ping is answered by farad itself")

            # back again, same port and data: farad recovers without a restart
            influxd.start()
            up_mark = len(w.statuses())
            h.wait_for(lambda: w.count(204, up_mark) >= 5, 15,
                       what="204 answers after influxd came back")
            h.wait_for(lambda: h.request(self.stack.url, "GET", "/health").status == 200, 5,
                       what="/health 200 after influxd came back")
            self.assertTrue(farad.proc.alive(), "faradd exited")
        finally:
            w.stop_ev.set()
            w.join(20)

        statuses = w.statuses()
        # influxd itself may answer 500 while it shuts down (passed through unchanged); anything
        # else (2xx other than 204, connection errors from farad, 502...) is wrong
        odd = [(s, b) for _, s, b in w.results if s not in (204, 503)
               and not (s == 500 and b.startswith(b'{"error":'))]
        self.assertEqual(odd, [], "writes answered with something other than 204/503/500")
        n500 = [(s, b) for _, s, b in w.results if s == 500]
        if n500:
            sys.stderr.write("upstream-down: influxd answered 500 during shutdown: %r\n" % n500[:3])
        for n, status, body in w.results:
            if status == 503:
                self.assertIn(b'"error"', body, "503 body of batch %d" % n)
        acked = {n * BATCH + k + 1 for n, status, _ in w.results if status == 204
                 for k in range(BATCH)}
        stored = {r["time"] for r in h.rows(influxd.url, 'SELECT "seq" FROM "down"', db=DB)}
        lost = sorted(acked - stored)
        self.assertEqual(lost, [], "%d points acknowledged with 204 are missing from InfluxDB "
                         "(first: %s)" % (len(lost), lost[:10]))
        sys.stderr.write("upstream-down: %d batches: %d x 204, %d x 503, %d points stored\n"
                         % (len(statuses), statuses.count(204), statuses.count(503), len(stored)))


@h.farad_only
class BadUpstreamTest(unittest.TestCase):
    def test_refused(self):
        f = h.Faradd("http://127.0.0.1:%d" % h.free_port(), ["-upstream-timeout", "2s"]).start()
        try:
            t = time.monotonic()
            r = h.write(f.url, "db", "m v=1 1")
            self.assertEqual(r.status, 503, repr(r))
            self.assertIn("error", r.json())
            self.assertEqual(h.query_raw(f.url, "SHOW DATABASES").status, 503)
            r = h.request(f.url, "GET", "/health")
            self.assertEqual((r.status, r.json()["status"]), (503, "fail"), repr(r))
            self.assertLess(time.monotonic() - t, 10, "refused upstream should fail fast")
        finally:
            self.assertEqual(f.stop(), 0, "faradd exit code after SIGTERM")

    def test_timeout(self):
        up = h.FakeUpstream(hang=True)
        f = h.Faradd(up.url, ["-upstream-timeout", "1s"]).start()
        try:
            t = time.monotonic()
            r = h.write(f.url, "db", "m v=1 1", timeout=20)
            dt = time.monotonic() - t
            self.assertEqual(r.status, 503, repr(r))
            self.assertIn("error", r.json())
            self.assertLess(dt, 6, "timeout of 1s took %.1fs" % dt)
            self.assertGreaterEqual(dt, 0.9, "answered 503 before the timeout (%.2fs)" % dt)
        finally:
            try:
                f.stop()
            finally:
                up.stop()

    def test_slow_answer_on_a_kept_alive_connection_is_not_a_connect_timeout(self):
        """A write the upstream answers after longer than upstream.connect_timeout, on a reused
        pooled connection, still gets the upstream's 204 (the connect timer covers connecting only)."""
        delay = {"s": 0}

        def slow(m, p, hd, b):
            time.sleep(delay["s"])
            return (204, {}, b"")

        up = h.FakeUpstream(slow)
        f = h.Faradd(up.url, ["-upstream-connect-timeout", "500ms", "-upstream-timeout", "10s"]).start()
        try:
            self.assertEqual(h.write(f.url, "db", "m v=1 1").status, 204)  # opens the pooled connection
            delay["s"] = 1.2
            r = h.write(f.url, "db", "m v=2 2", timeout=20)
            self.assertEqual(r.status, 204, repr(r))
        finally:
            try:
                f.stop()
            finally:
                up.stop()


if __name__ == "__main__":
    h.main()
