#!/usr/bin/python3
"""Writes through farad land in InfluxDB exactly (issue 2, item 6).

Run: /usr/bin/python3 test/integration/test_proxy_write.py   (FARAD_ITEST_MODE=direct to check
the tests themselves against influxd alone).
"""

import base64
import gzip
import http.client
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TEED = "wdb"      # teed database (-tee-dbrps wdb.*): parsed, lines without time stamped by farad
RAW = "rawdb"     # not teed: forwarded untouched

UNIT_NS = {"n": 1, "u": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def precision_body(measurement, unit, n=5):
    """n lines of every field type and escaped tags, timestamps in `unit`; plus expected rows."""
    base = 1_600_000_000 * 10**9 // UNIT_NS[unit]
    lines, expect = [], []
    for k in range(n):
        ts = base + k
        lines.append('%s,host=h%d,region=eu\\ west f=%s,i=%di,s="str \\"q\\" %d",b=%s %d'
                     % (measurement, k, 1.5 + k, k - 2, k, "true" if k % 2 == 0 else "false", ts))
        expect.append({"time": ts * UNIT_NS[unit], "host": "h%d" % k, "region": "eu west",
                       "f": 1.5 + k, "i": k - 2, "s": 'str "q" %d' % k, "b": k % 2 == 0})
    return "\n".join(lines) + "\n", expect


def sort_rows(rs):
    return sorted(rs, key=lambda r: (r["time"], str(r.get("host"))))


class WriteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(["-tee-dbrps", TEED + ".*"])
        cls.url = cls.stack.url
        cls.influx = cls.stack.influxd.url   # read back directly from InfluxDB
        for db in (TEED, RAW, "pydb"):
            r = h.influx_cli(cls.stack.port, 'CREATE DATABASE "%s"' % db)
            assert r.returncode == 0, "influx CLI CREATE DATABASE %s via %s: %r" % (db, cls.url, r)

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def stored(self, db, measurement, rp=None):
        src = '"%s"."%s"."%s"' % (db, rp, measurement) if rp else '"%s"' % measurement
        return sort_rows(h.rows(self.influx, "SELECT * FROM %s" % src, db=db))

    def assert_204(self, r, what):
        self.assertEqual(r.status, 204, "%s: expected 204, got %r" % (what, r))
        self.assertEqual(r.body, b"", what)

    # -- database creation and the CLI -----------------------------------------------------

    def test_cli_created_databases(self):
        doc = h.query(self.influx, "SHOW DATABASES")
        names = [v[0] for v in doc["results"][0]["series"][0]["values"]]
        for db in (TEED, RAW, "pydb"):
            self.assertIn(db, names)

    def test_cli_insert(self):
        r = h.influx_cli(self.stack.port, "INSERT cli,src=influx v=7i 1234567890", database=RAW)
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertEqual(self.stored(RAW, "cli"), [{"time": 1234567890, "src": "influx", "v": 7}])
        r = h.influx_cli(self.stack.port, "SELECT v FROM cli", database=RAW, fmt="json")
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertIn('"values":[[1234567890,7]]', r.stdout.replace(" ", ""))

    # -- every precision, plain and gzip ----------------------------------------------------

    def test_precisions_plain_and_gzip(self):
        for db in (TEED, RAW):
            for unit in UNIT_NS:
                for gz in (False, True):
                    m = "prec_%s_%s" % (unit, "gz" if gz else "plain")
                    body, expect = precision_body(m, unit)
                    with self.subTest(db=db, precision=unit, gzip=gz):
                        self.assert_204(h.write(self.url, db, body, precision=unit, gzip=gz),
                                        "write %s precision=%s gzip=%s" % (db, unit, gz))
                        self.assertEqual(self.stored(db, m), expect)

    def test_default_precision_is_ns(self):
        body, expect = precision_body("prec_default", "n")
        self.assert_204(h.write(self.url, TEED, body), "write without precision")
        self.assertEqual(self.stored(TEED, "prec_default"), expect)

    # -- lines without a timestamp ----------------------------------------------------------

    def _stamp_case(self, db, m, precision, gz):
        unit = UNIT_NS[precision or "n"]
        lines = ["%s,k=%d v=%di" % (m, k, k) for k in range(6)]
        fixed_ns = 1_500_000_000 * 10**9
        lines.insert(3, "%s,k=fixed v=99i %d" % (m, fixed_ns // unit))  # keeps its own time
        vars_before = self._tee_points(db) if not h.DIRECT and db == TEED else None
        t0 = time.time_ns()
        r = h.write(self.url, db, "\n".join(lines), precision=precision, gzip=gz)
        t1 = time.time_ns()
        self.assert_204(r, "write of unstamped lines to %s" % db)
        got = self.stored(db, m)
        self.assertEqual(len(got), 7, got)
        fixed = [g for g in got if g["k"] == "fixed"]
        self.assertEqual(fixed[0]["time"], fixed_ns)
        stamped = [g for g in got if g["k"] != "fixed"]
        times = {g["time"] for g in stamped}
        self.assertEqual(len(times), 1, "all lines of one body get one timestamp: %s" % times)
        t = times.pop()
        self.assertTrue(t0 // unit * unit <= t <= t1,
                        "stamped time %d not within the request window [%d, %d]" % (t, t0, t1))
        self.assertEqual(t % unit, 0, "stamp is not in precision %s: %d" % (precision, t))
        self.assertEqual(sorted(g["v"] for g in stamped), list(range(6)))
        if vars_before is not None:
            want = vars_before + 7
            h.wait_for(lambda: self._tee_points(db) == want, 5,
                       what="tee points_received for %s to reach %d" % (db, want))

    def _tee_points(self, db):
        total = 0
        for tags, values in h.kapacitor_stats(self.stack.farad.debug_vars(), "tee"):
            if tags.get("database") == db:
                total += values.get("points_received", 0)
        return total

    def test_unstamped_lines_ns_teed(self):
        self._stamp_case(TEED, "stamp_ns", None, False)

    def test_unstamped_lines_s_gzip_teed(self):
        self._stamp_case(TEED, "stamp_s", "s", True)

    def test_unstamped_lines_ms_untouched(self):
        self._stamp_case(RAW, "stamp_ms", "ms", False)

    # -- errors -----------------------------------------------------------------------------

    def _direct_same(self, r, db, body, **kw):
        """In farad mode: the same request sent straight to influxd answers identically."""
        if h.DIRECT:
            return
        d = h.write(self.influx, db, body, **kw)
        self.assertEqual((r.status, r.body), (d.status, d.body),
                         "farad's answer differs from influxd's own")
        for k in ("x-influxdb-version", "x-influxdb-build", "content-type"):
            self.assertEqual(r.headers.get(k), d.headers.get(k), "header %s" % k)

    def test_partial_write(self):
        body = "pw,t=a v=1 1000\nthis is not line protocol\npw,t=b v=2 2000\n"
        for gz in (False, True):
            with self.subTest(gzip=gz):
                r = h.write(self.url, TEED, body, gzip=gz)
                self.assertEqual(r.status, 400, repr(r))
                self.assertEqual(r.json(), {"error": "partial write: unable to parse "
                                            "'this is not line protocol': invalid field format "
                                            "dropped=0"})
                self.assertEqual(self.stored(TEED, "pw"),
                                 [{"time": 1000, "t": "a", "v": 1}, {"time": 2000, "t": "b", "v": 2}])
                self._direct_same(r, TEED, body, gzip=gz)

    def test_type_conflict_partial_write(self):
        h.write(self.url, RAW, "tc v=1 1")
        body = "tc v=\"str\" 2\ntc v=3 3\n"
        r = h.write(self.url, RAW, body)
        self.assertEqual(r.status, 400, repr(r))
        self.assertTrue(r.json()["error"].startswith(
            'partial write: field type conflict: input field "v" on measurement "tc" is type '
            'string, already exists as type float'), r.body)
        self.assertEqual(self.stored(RAW, "tc"), [{"time": 1, "v": 1}, {"time": 3, "v": 3}])

    def test_unknown_database(self):
        for db in ("nosuchdb", TEED + "x"):
            with self.subTest(db=db):
                r = h.write(self.url, db, "m v=1 1")
                self.assertEqual(r.status, 404, repr(r))
                self.assertEqual(r.body, b'{"error":"database not found: \\"%s\\""}\n'
                                 % db.encode())
                self._direct_same(r, db, "m v=1 1")

    def test_missing_db_param(self):
        r = h.write(self.url, None, "m v=1 1")
        self.assertEqual(r.status, 400, repr(r))
        self.assertEqual(r.json(), {"error": "database is required"})

    def test_body_too_large(self):
        line = b"big,host=server01 value=1.0 %d\n"
        body = b"".join(line % i for i in range(1, 400001))
        body += b"big v=2 1\n" * ((26 * 1000 * 1000 - len(body)) // 10 + 1)
        self.assertGreater(len(body), 26_000_000)
        r = h.write(self.url, TEED, body, timeout=60)
        self.assertEqual(r.status, 413, repr(r))
        self.assertEqual(r.json(), {"error": "Request Entity Too Large"})
        time.sleep(0.3)
        self.assertEqual(self.stored(TEED, "big"), [])
        # and the connection-level state is fine afterwards
        self.assert_204(h.write(self.url, TEED, "afterbig v=1 1"), "write after a 413")

    def test_empty_body(self):
        self.assert_204(h.write(self.url, TEED, ""), "empty body")
        self.assert_204(h.write(self.url, RAW, "# only a comment\n\n"), "comment-only body")

    def test_request_id_echoed(self):
        r = h.write(self.url, RAW, "rid v=1 1", headers={"X-Request-Id": "itest-rid-42"})
        self.assert_204(r, "write with X-Request-Id")
        self.assertEqual(r.headers.get("x-request-id"), "itest-rid-42", r.headers)
        self.assertEqual(r.headers.get("request-id"), "itest-rid-42", r.headers)
        self.assertTrue(r.headers.get("x-influxdb-version"), r.headers)

    def test_chunked_request_body(self):
        """A body sent with Transfer-Encoding: chunked (no Content-Length) is written whole."""
        parts = [("chk,part=%d v=%di %d\n" % (k, k, 1000 + k)).encode() for k in range(50)]
        for db in (TEED, RAW):
            with self.subTest(db=db):
                u = h.urllib.parse.urlsplit(self.url)
                conn = h.http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                try:
                    conn.request("POST", "/write?db=" + db, body=iter(parts),
                                 headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
                    resp = conn.getresponse()
                    self.assertEqual((resp.status, resp.read()), (204, b""))
                finally:
                    conn.close()
                self.assertEqual([r["time"] for r in self.stored(db, "chk")],
                                 [1000 + k for k in range(50)])

    def test_parallel_writers(self):
        import threading
        errors, nthreads, nreq = [], 6, 30

        def worker(w):
            for k in range(nreq):
                body = "".join("par,w=%d v=%di %d\n" % (w, j, (w * nreq + k) * 100 + j)
                               for j in range(100))
                r = h.write(self.url, TEED if w % 2 else RAW, body, gzip=(k % 3 == 0))
                if r.status != 204:
                    errors.append((w, k, r))
        ts = [threading.Thread(target=worker, args=(w,)) for w in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])
        for db, ws in ((TEED, [w for w in range(nthreads) if w % 2]),
                       (RAW, [w for w in range(nthreads) if not w % 2])):
            n = h.rows(self.influx, 'SELECT count("v") FROM "par"', db=db)
            self.assertEqual(n[0]["count"], len(ws) * nreq * 100, db)

    # -- auth passed through (influxd runs without auth) ------------------------------------

    def test_auth_params_pass_through(self):
        cases = [
            ({"u": "alice", "p": "secret"}, {}),
            ({}, {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}),
            ({}, {"Authorization": "Token alice:secret"}),
            ({"consistency": "one"}, {}),
        ]
        for k, (params, headers) in enumerate(cases):
            with self.subTest(params=params, headers=headers):
                r = h.write(self.url, TEED, "authm,case=%d v=1 %d" % (k, 100 + k), params=params,
                            headers=headers)
                self.assert_204(r, "write with %s %s" % (params, headers))
        self.assertEqual(len(self.stored(TEED, "authm")), len(cases))

    def test_explicit_rp(self):
        h.query(self.influx, 'CREATE RETENTION POLICY "short" ON "%s" DURATION 1000d '
                'REPLICATION 1' % TEED, method="POST")
        self.assert_204(h.write(self.url, TEED, "rpm v=5 %d" % (time.time_ns() - 10**9),
                                rp="short"), "write to rp short")
        self.assertEqual(len(self.stored(TEED, "rpm", rp="short")), 1)
        self.assertEqual(self.stored(TEED, "rpm"), [], "landed in the default rp")
        r = h.write(self.url, TEED, "rpm v=5 1", rp="nosuchrp")
        self.assertEqual(r.status, 500, repr(r))
        self.assertEqual(r.json(), {"error": "retention policy not found: nosuchrp"})

    # -- the python3-influxdb client --------------------------------------------------------

    def test_python_influxdb_client(self):
        import influxdb
        c = influxdb.InfluxDBClient(host="127.0.0.1", port=self.stack.port, database="pydb",
                                    username="u", password="p", timeout=10)
        try:
            self.assertTrue(c.ping())
            pts = [{"measurement": "pyc", "tags": {"host": "h%d" % k},
                    "time": 1_600_000_000_000 + k, "fields": {"v": float(k), "n": k}}
                   for k in range(20)]
            self.assertTrue(c.write_points(pts, time_precision="ms"))
            self.assertTrue(c.write_points(["pyl,host=x v=1.5 1600000000"], time_precision="s",
                                           protocol="line"))
            got = self.stored("pydb", "pyc")
            self.assertEqual(got, [{"time": (1_600_000_000_000 + k) * 10**6, "host": "h%d" % k,
                                    "v": float(k), "n": k} for k in range(20)])
            self.assertEqual(self.stored("pydb", "pyl"),
                             [{"time": 1_600_000_000 * 10**9, "host": "x", "v": 1.5}])
            rs = c.query('SELECT count("v") FROM "pyc"')
            self.assertEqual(list(rs.get_points())[0]["count"], 20)
            with self.assertRaises(influxdb.exceptions.InfluxDBClientError) as cm:
                c.write_points(["pyc v=1 1", "garbage"], protocol="line")
            self.assertEqual(cm.exception.code, 400)
        finally:
            c.close()

    # -- /api/v2/write (farad translates to the 1.x /write) ---------------------------------

    @h.farad_only
    def test_api_v2_write(self):
        h.query(self.influx, 'CREATE RETENTION POLICY "v2rp" ON "%s" DURATION 1000d '
                'REPLICATION 1' % RAW, method="POST")
        base_s = int(time.time()) - 3600
        for k, unit in enumerate(("ns", "us", "ms", "s")):
            mult = {"ns": 10**9, "us": 10**6, "ms": 10**3, "s": 1}[unit]
            ts = (base_s + k) * mult
            with self.subTest(precision=unit):
                r = h.write(self.url, None, "v2m,p=%s v=%di %d" % (unit, k, ts), path="/api/v2/write",
                            params={"bucket": RAW + "/v2rp", "org": "anyorg", "precision": unit},
                            headers={"Authorization": "Token alice:secret"})
                self.assert_204(r, "/api/v2/write precision=%s" % unit)
        got = self.stored(RAW, "v2m", rp="v2rp")
        self.assertEqual(got, [{"time": (base_s + k) * 10**9, "p": u, "v": k}
                               for k, u in enumerate(("ns", "us", "ms", "s"))])
        self.assertEqual(self.stored(RAW, "v2m"), [], "v2 write landed in the default rp")
        # bucket "db/" means the default retention policy
        r = h.write(self.url, None, "v2d v=1 5", path="/api/v2/write",
                    params={"bucket": RAW + "/", "org": "o"})
        self.assert_204(r, "/api/v2/write bucket=db/")
        self.assertEqual(self.stored(RAW, "v2d"), [{"time": 5, "v": 1}])
        r = h.write(self.url, None, "v2m v=1 1", path="/api/v2/write",
                    params={"bucket": "nosuchdb/autogen", "org": "o"})
        self.assertEqual(r.status, 404, repr(r))
        self.assertEqual(r.json(), {"error": 'database not found: "nosuchdb"'})


@h.farad_only
class MaxBodyTest(unittest.TestCase):
    def test_proxy_max_body_flag(self):
        s = h.Stack(["-proxy-max-body", "4096"])
        try:
            h.query(s.influxd.url, 'CREATE DATABASE "mb"', method="POST")
            ok = "".join("mb v=%di %d\n" % (k, k) for k in range(400))[:4090]
            ok = ok[:ok.rindex("\n") + 1]
            self.assertEqual(h.write(s.url, "mb", ok).status, 204)
            big = ok + "x" * (4097 - len(ok))
            r = h.write(s.url, "mb", big)
            self.assertEqual(r.status, 413, repr(r))
            self.assertEqual(r.json(), {"error": "Request Entity Too Large"})
            self.assertEqual(h.write(s.url, "mb", ok, gzip=True).status, 204)
        finally:
            s.stop()


@h.farad_only
class ForwardingTest(unittest.TestCase):
    """Byte-level checks against a fake upstream that records what farad forwards."""

    @classmethod
    def setUpClass(cls):
        cls.answer = (204, {}, b"")
        cls.up = h.FakeUpstream(lambda m, p, hd, b: cls.answer)
        cls.farad = h.Faradd(cls.up.url, ["-tee-dbrps", "teed.*"]).start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.farad.stop()
        finally:
            cls.up.stop()

    def last_write(self):
        with self.up.lock:
            ws = [r for r in self.up.requests if r[0] == "POST"]
        self.assertTrue(ws, "nothing was forwarded")
        return ws[-1]

    def test_untouched_body_and_params(self):
        body = b"m,t=a v=1\nm v=2 17\n# comment\n\n  m v=3\n"
        for db in ("other", "teed"):
            for gz in (False, True):
                with self.subTest(db=db, gzip=gz):
                    sent = gzip.compress(body) if gz else body
                    r = h.write(self.farad.url, db, sent if gz else body, precision="ms",
                                rp="r1", params={"consistency": "all", "u": "us", "p": "pw"},
                                headers={"Content-Encoding": "gzip"} if gz else {})
                    self.assertEqual(r.status, 204, repr(r))
                    m, path, hd, fwd = self.last_write()
                    self.assertTrue(path.startswith("/write?"), path)
                    q = dict(h.urllib.parse.parse_qsl(path.split("?", 1)[1]))
                    self.assertEqual(q, {"db": db, "rp": "r1", "precision": "ms",
                                         "consistency": "all", "u": "us", "p": "pw"})
                    if db == "other":
                        self.assertEqual(fwd, sent, "untouched body changed in forwarding")
                        if gz:
                            self.assertEqual(hd.get("content-encoding"), "gzip")

    def test_teed_body_stamped_once(self):
        body = b"m,t=a v=1\nm v=2 17\nm,t=b v=3\n"
        t0 = time.time_ns()
        r = h.write(self.farad.url, "teed", body, precision="ms")
        t1 = time.time_ns()
        self.assertEqual(r.status, 204, repr(r))
        _, _, hd, fwd = self.last_write()
        if hd.get("content-encoding") == "gzip":
            fwd = gzip.decompress(fwd)
        lines = fwd.split(b"\n")
        self.assertEqual(lines[1], b"m v=2 17", "a timestamped line changed")
        self.assertTrue(lines[0].startswith(b"m,t=a v=1 "), lines[0])
        self.assertTrue(lines[2].startswith(b"m,t=b v=3 "), lines[2])
        ts0, ts2 = int(lines[0].split(b" ")[-1]), int(lines[2].split(b" ")[-1])
        self.assertEqual(ts0, ts2, "one stamp per body")
        self.assertTrue(t0 // 10**6 <= ts0 <= t1 // 10**6,
                        "stamp %d ms not within [%d, %d] ms" % (ts0, t0 // 10**6, t1 // 10**6))

    def test_upstream_errors_returned_unchanged(self):
        cases = [
            (401, {"Content-Type": "application/json", "WWW-Authenticate": 'Basic realm="InfluxDB"',
                   "X-Influxdb-Version": "1.6.7", "Request-Id": "rid-1"},
             b'{"error":"authorization failed"}\n'),
            (403, {"Content-Type": "application/json", "X-Influxdb-Error": "forbidden",
                   "X-Influxdb-Version": "1.6.7"},
             b'{"error":"\\"bob\\" user is not authorized to write to database \\"db\\""}\n'),
            (500, {"Content-Type": "application/json", "X-Influxdb-Version": "1.6.7"},
             b'{"error":"timeout"}\n'),
        ]
        for status, hdrs, body in cases:
            with self.subTest(status=status):
                type(self).answer = (status, hdrs, body)
                try:
                    r = h.write(self.farad.url, "teed", "m v=1 1")
                finally:
                    type(self).answer = (204, {}, b"")
                self.assertEqual((r.status, r.body), (status, body))
                for k, v in hdrs.items():
                    self.assertEqual(r.headers.get(k.lower()), v, "header %s" % k)


if __name__ == "__main__":
    h.main()
