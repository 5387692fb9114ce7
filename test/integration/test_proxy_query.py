#!/usr/bin/python3
"""Queries, /ping and /health through farad (issue 2, item 6).

Run: /usr/bin/python3 test/integration/test_proxy_query.py   (FARAD_ITEST_MODE=direct to check
the tests themselves against influxd alone).
"""

import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

DB = "qdb"
N = 25                    # points in measurement "cpu"
T0 = 1_600_000_000        # seconds


class QueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack(["-tee-dbrps", DB + ".*"])
        cls.url = cls.stack.url
        cls.influx = cls.stack.influxd.url
        h.query(cls.influx, 'CREATE DATABASE "%s"' % DB, method="POST")
        body = "".join("cpu,host=h%d,dc=%s usage=%s,n=%di %d\n"
                       % (k % 3, "eu" if k % 2 else "us", k * 0.5, k, (T0 + k) * 10**9)
                       for k in range(N))
        r = h.write(cls.influx, DB, body)
        assert r.status == 204, r

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def same_as_direct(self, r, method, q, **kw):
        """In farad mode the same query sent straight to influxd answers byte-identically."""
        if h.DIRECT:
            return
        d = h.query_raw(self.influx, q, method=method, **kw)
        self.assertEqual((r.status, r.body), (d.status, d.body),
                         "farad's answer to %s %r differs from influxd's" % (method, q))
        for k in ("content-type", "x-influxdb-version", "x-influxdb-build"):
            self.assertEqual(r.headers.get(k), d.headers.get(k), "header %s" % k)

    def test_get_and_post_form(self):
        q = 'SELECT count("usage") FROM "cpu"'
        for method in ("GET", "POST"):
            with self.subTest(method=method):
                r = h.query_raw(self.url, q, db=DB, method=method)
                self.assertEqual(r.status, 200, repr(r))
                s = r.json()["results"][0]["series"][0]
                self.assertEqual(s["columns"], ["time", "count"])
                self.assertEqual(s["values"], [["1970-01-01T00:00:00Z", N]])
                self.same_as_direct(r, method, q, db=DB)

    def test_rfc3339_and_epochs(self):
        q = 'SELECT "usage" FROM "cpu" WHERE time >= %ds ORDER BY time LIMIT 3' % (T0 + 1)
        r = h.query_raw(self.url, q, db=DB)
        self.assertEqual(r.json()["results"][0]["series"][0]["values"],
                         [["2020-09-13T12:26:41Z", 0.5], ["2020-09-13T12:26:42Z", 1],
                          ["2020-09-13T12:26:43Z", 1.5]])
        for epoch, div in (("ns", 1), ("u", 10**3), ("ms", 10**6), ("s", 10**9),
                           ("m", 60 * 10**9), ("h", 3600 * 10**9)):
            with self.subTest(epoch=epoch):
                r = h.query_raw(self.url, q, db=DB, epoch=epoch)
                self.assertEqual(r.status, 200, repr(r))
                vals = r.json()["results"][0]["series"][0]["values"]
                self.assertEqual([v[0] for v in vals],
                                 [(T0 + k) * 10**9 // div for k in (1, 2, 3)])
                self.same_as_direct(r, "GET", q, db=DB, epoch=epoch)

    def test_group_by_tags(self):
        q = 'SELECT sum("n") FROM "cpu" GROUP BY "host"'
        r = h.query_raw(self.url, q, db=DB, method="POST")
        series = r.json()["results"][0]["series"]
        got = {s["tags"]["host"]: s["values"][0][1] for s in series}
        self.assertEqual(got, {"h%d" % j: sum(k for k in range(N) if k % 3 == j) for j in range(3)})
        self.same_as_direct(r, "POST", q, db=DB)

    def test_multi_statement(self):
        q = 'SELECT count("n") FROM "cpu"; SHOW MEASUREMENTS; SELECT max("n") FROM "cpu" WHERE "dc" = \'eu\''
        r = h.query_raw(self.url, q, db=DB, method="POST")
        self.assertEqual(r.status, 200, repr(r))
        res = r.json()["results"]
        self.assertEqual([x["statement_id"] for x in res], [0, 1, 2])
        self.assertEqual(res[0]["series"][0]["values"][0][1], N)
        self.assertEqual(res[1]["series"][0]["values"], [["cpu"]])
        self.assertEqual(res[2]["series"][0]["values"][0][1], max(k for k in range(N) if k % 2))
        self.same_as_direct(r, "POST", q, db=DB)

    def test_chunked(self):
        q = 'SELECT "n" FROM "cpu"'
        params = {"chunked": "true", "chunk_size": "4"}
        r = h.query_raw(self.url, q, db=DB, epoch="s", params=params)
        self.assertEqual(r.status, 200, repr(r))
        docs = [json.loads(x) for x in r.body.decode().split("\n") if x.strip()]
        self.assertGreaterEqual(len(docs), (N + 3) // 4, "expected several JSON documents")
        vals = [v for d in docs for s in d["results"][0].get("series", []) for v in s["values"]]
        self.assertEqual(vals, [[T0 + k, k] for k in range(N)])
        self.assertTrue(all(len(s["values"]) <= 4 for d in docs
                            for s in d["results"][0].get("series", [])))
        self.same_as_direct(r, "GET", q, db=DB, epoch="s", params=params)

    def test_chunked_streams_incrementally(self):
        """Documents are readable one by one from the socket (not only after the whole body)."""
        u = h.urllib.parse.urlencode({"q": 'SELECT "n" FROM "cpu"', "db": DB, "chunked": "true",
                                      "chunk_size": "5", "epoch": "ns"})
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10)
        try:
            conn.request("GET", "/query?" + u)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            first = resp.readline()
            self.assertEqual(len(json.loads(first)["results"][0]["series"][0]["values"]), 5)
            rest = [x for x in resp.read().split(b"\n") if x.strip()]
            self.assertGreaterEqual(len(rest), 4)
        finally:
            conn.close()

    def test_statement_error_is_200(self):
        q = 'SELECT * FROM "nosuchdb".."m"'
        r = h.query_raw(self.url, q)
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json(), {"results": [{"statement_id": 0,
                                                 "error": "database not found: nosuchdb"}]})
        self.same_as_direct(r, "GET", q)

    def test_parse_error_is_400(self):
        q = 'SELECT * FRM "cpu"'
        for method in ("GET", "POST"):
            with self.subTest(method=method):
                r = h.query_raw(self.url, q, db=DB, method=method)
                self.assertEqual(r.status, 400, repr(r))
                self.assertEqual(r.body, b'{"error":"error parsing query: found FRM, expected '
                                         b'FROM at line 1, char 10"}\n')
                self.same_as_direct(r, method, q, db=DB)

    def test_missing_q(self):
        r = h.request(self.url, "GET", "/query", {"db": DB})
        self.assertEqual(r.status, 400, repr(r))
        self.assertEqual(r.json(), {"error": 'missing required parameter "q"'})

    def test_ddl_through_proxy(self):
        r = h.query_raw(self.url, 'CREATE DATABASE "made_by_query"', method="POST")
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.json(), {"results": [{"statement_id": 0}]})
        names = [v[0] for v in h.query(self.influx, "SHOW DATABASES")["results"][0]["series"][0]["values"]]
        self.assertIn("made_by_query", names)

    def test_cli_query(self):
        r = h.influx_cli(self.stack.port, 'SELECT count("n") FROM "cpu"', database=DB, fmt="csv")
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertEqual(r.stdout.strip().splitlines(), ["name,time,count", "cpu,0,%d" % N])

    def test_large_result(self):
        body = "".join("big v=%di %d\n" % (k, k) for k in range(20000))
        h.query(self.influx, 'CREATE DATABASE "bigdb"', method="POST")
        self.assertEqual(h.write(self.influx, "bigdb", body).status, 204)
        r = h.query_raw(self.url, 'SELECT "v" FROM "big"', db="bigdb", epoch="ns")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["results"][0]["series"][0]["values"],
                         [[k, k] for k in range(20000)])

    def test_csv_accept(self):
        q = 'SELECT "n" FROM "cpu" WHERE "host" = \'h1\' LIMIT 2'
        r = h.query_raw(self.url, q, db=DB, headers={"Accept": "application/csv"})
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.text().splitlines(), ["name,tags,time,n",
                                                 "cpu,,%d,1" % ((T0 + 1) * 10**9),
                                                 "cpu,,%d,4" % ((T0 + 4) * 10**9)])
        self.same_as_direct(r, "GET", q, db=DB, headers={"Accept": "application/csv"})

    def test_gzip_response(self):
        import gzip
        q = 'SELECT "n" FROM "cpu"'
        r = h.query_raw(self.url, q, db=DB, epoch="s", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200, repr(r))
        self.assertEqual(r.headers.get("content-encoding"), "gzip", r.headers)
        doc = json.loads(gzip.decompress(r.body))
        self.assertEqual(doc["results"][0]["series"][0]["values"], [[T0 + k, k] for k in range(N)])

    # -- ping and health --------------------------------------------------------------------
    # -- ping and health --------------------------------------------------------------------

    def test_ping(self):
        for method in ("GET", "HEAD"):
            with self.subTest(method=method):
                r = h.request(self.url, method, "/ping")
                self.assertEqual(r.status, 204, repr(r))
                self.assertEqual(r.body, b"")
                # clients read it: python-influxdb's ping() returns it, the influx CLI shows it
                self.assertTrue(r.headers.get("x-influxdb-version"),
                                "/ping without X-Influxdb-Version: %s" % r.headers)

    @h.farad_only
    def test_ping_verbose(self):
        r = h.request(self.url, "GET", "/ping", {"verbose": "true"})
        self.assertEqual(r.status, 200, repr(r))
        self.assertIsInstance(r.json().get("version"), str)

    @h.farad_only
    def test_health(self):
        r = h.request(self.url, "GET", "/health")
        self.assertEqual(r.status, 200, repr(r))
        doc = r.json()
        self.assertEqual(doc["name"], "farad")
        self.assertEqual(doc["status"], "pass")
        self.assertEqual(doc["message"], "ready for queries and writes")
        self.assertIn({"name": "upstream", "status": "pass"},
                      [{k: c.get(k) for k in ("name", "status")} for c in doc["checks"]])
        self.assertIsInstance(doc["version"], str)

    def test_keepalive_many_requests(self):
        """Many requests on one keep-alive connection all answer correctly."""
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10)
        try:
            t = time.monotonic()
            for k in range(200):
                q = h.urllib.parse.urlencode({"q": 'SELECT "n" FROM "cpu" WHERE time = %ds' % (T0 + k % N),
                                              "db": DB, "epoch": "s"})
                conn.request("GET", "/query?" + q)
                resp = conn.getresponse()
                doc = json.loads(resp.read())
                self.assertEqual(doc["results"][0]["series"][0]["values"], [[T0 + k % N, k % N]])
            self.assertLess(time.monotonic() - t, 20)
        finally:
            conn.close()


@h.farad_only
class CommandTest(unittest.TestCase):
    def test_version_and_config(self):
        import subprocess
        faradd = h.Faradd("http://127.0.0.1:1").binary
        r = subprocess.run([faradd, "version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, repr(r))
        self.assertRegex(r.stdout.strip(), r"^faradd \S+$")
        r = subprocess.run([faradd, "config"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, repr(r))
        for key in ("proxy:", "api:", "upstream:", "bind:"):
            self.assertIn(key, r.stdout)

    def test_sigint_exits_zero(self):
        import signal
        s = h.Stack([])
        try:
            self.assertEqual(h.request(s.url, "GET", "/ping").status, 204)
            s.farad.proc.p.send_signal(signal.SIGINT)
            self.assertEqual(s.farad.proc.p.wait(10), 0, s.farad.proc.log_tail())
        finally:
            s.stop()


if __name__ == "__main__":
    h.main()
