#!/usr/bin/python3
"""Kapacitor's task API on faradd's API port (issue 5 items 1-3 and 6), over real HTTP.

Without a database (definitions in memory, the sidecar case): every route and status code of
KAPACITOR.md §1/§8 that farad implements, malformed requests, templates, httpOut, debug/vars,
loglevel and a load directory picked up on SIGHUP. With a private PostgreSQL: tasks survive a
restart (enabled and running), and while PostgreSQL is down ingest and running tasks go on, API
changes get 503 and succeed again once it is back.
"""

import json
import os
import signal
import sys
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from pg import Postgres  # noqa: E402

V1 = "/kapacitor/v1"
NOW = (time.time_ns() // 10**9 - 60) * 10**9

CPU_SCRIPT = """stream
  |from()
    .measurement('cpu')
  |where(lambda: "v" > 0)
  |httpOut('out')
"""

TEMPLATE = """// which measurement
var measurement string
// the smallest value kept
var low = 5
var period = 10s
stream
  |from()
    .measurement(measurement)
  |where(lambda: "v" > low)
  |httpOut('out')
"""


def api(farad, method, path, body=None, params=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return h.request(farad.api, method, path, params=params, body=data)


def define(farad, tid, script=CPU_SCRIPT, dbrps=(("db1", "autogen"),), **extra):
    body = {"id": tid, "script": script, "dbrps": [{"db": d, "rp": r} for d, r in dbrps]}
    body.update(extra)
    return api(farad, "POST", V1 + "/tasks", body)


def write_api(farad, db, lines):
    r = h.request(farad.api, "POST", "/write", params={"db": db, "rp": "autogen"}, body=lines.encode())
    assert r.status == 204, r


def httpout(farad, tid, name="out"):
    r = api(farad, "GET", "%s/tasks/%s/%s" % (V1, tid, name))
    return r.status, (r.json() if r.status == 200 else None)


def series_values(doc):
    return [v for s in (doc or {}).get("series") or [] for v in s["values"]]


class Base(unittest.TestCase):
    def assertError(self, r, status, contains=None):
        self.assertEqual(r.status, status, r)
        self.assertIn("X-Kapacitor-Version".lower(), {k.lower() for k in r.headers}, r)
        doc = r.json()
        self.assertIsInstance(doc.get("error"), str, r)
        if contains:
            self.assertIn(contains, doc["error"])
        return doc


@h.farad_only
class ApiTasksMemoryTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.upstream = h.FakeUpstream()
        cls.farad = h.Faradd(cls.upstream.url, ["-api-max-body", "64KiB"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.farad.stop()
        cls.upstream.stop()

    def test_ping_routes_and_version_header(self):
        for path in (V1 + "/ping", "/kapacitor/v1preview/ping"):
            r = api(self.farad, "GET", path)
            self.assertEqual(r.status, 204, r)
            hdrs = {k.lower(): v for k, v in r.headers.items()}
            self.assertTrue(hdrs.get("x-kapacitor-version", "").startswith("farad-"), r.headers)
        r = api(self.farad, "GET", V1 + "/:routes")
        self.assertEqual(r.status, 200)
        routes = r.json()
        self.assertIn("POST /kapacitor/v1/tasks", routes)
        self.assertEqual(routes["GET /kapacitor/v1/tasks/:id"], {"method": "GET", "pattern": "/kapacitor/v1/tasks/:id"})
        r = api(self.farad, "GET", V1 + "/nowhere")
        self.assertError(r, 404, "unknown path")

    def test_create_get_delete(self):
        r = define(self.farad, "crud1")
        self.assertEqual(r.status, 200, r)
        t = r.json()
        self.assertEqual(t["link"], {"rel": "self", "href": "/kapacitor/v1/tasks/crud1"})
        self.assertEqual((t["id"], t["type"], t["status"], t["executing"], t["error"]),
                         ("crud1", "stream", "disabled", False, ""))
        self.assertEqual(t["dbrps"], [{"db": "db1", "rp": "autogen"}])
        self.assertEqual(t["template-id"], "")
        self.assertEqual(t["vars"], {})
        self.assertEqual(t["stats"], {})
        self.assertEqual(t["last-enabled"], "0001-01-01T00:00:00Z")
        self.assertRegex(t["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(t["created"], t["modified"])
        # canonical form: 4-space indents, properties under their node
        self.assertEqual(t["script"], "stream\n    |from()\n        .measurement('cpu')\n"
                                      "    |where(lambda: \"v\" > 0)\n    |httpOut('out')\n")
        self.assertIn("stream0 -> from1;", t["dot"])
        r = api(self.farad, "GET", V1 + "/tasks/crud1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["script"], t["script"])
        r = api(self.farad, "GET", V1 + "/tasks/crud1", params={"script-format": "raw"})
        self.assertEqual(r.json()["script"], CPU_SCRIPT)
        self.assertError(api(self.farad, "GET", V1 + "/tasks/crud1", params={"script-format": "pretty"}), 400)
        self.assertError(api(self.farad, "GET", V1 + "/tasks/crud1", params={"dot-view": "boxes"}), 400)
        r = api(self.farad, "DELETE", V1 + "/tasks/crud1")
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b"")
        self.assertError(api(self.farad, "GET", V1 + "/tasks/crud1"), 404, "no task exists")
        # DELETE answers 204 always, also for an id that never existed
        self.assertEqual(api(self.farad, "DELETE", V1 + "/tasks/crud1").status, 204)
        self.assertEqual(api(self.farad, "DELETE", V1 + "/tasks/never-was").status, 204)
        self.assertError(api(self.farad, "PATCH", V1 + "/tasks/never-was", {"status": "enabled"}), 404)

    def test_list_newest_first_pattern_fields_offset_limit(self):
        ids = ["lst-%d" % i for i in range(5)]
        for i in ids:
            self.assertEqual(define(self.farad, i).status, 200)
            time.sleep(0.002)
        r = api(self.farad, "GET", V1 + "/tasks", params={"pattern": "lst-*"})
        self.assertEqual(r.status, 200)
        got = [t["id"] for t in r.json()["tasks"]]
        self.assertEqual(got, list(reversed(ids)))
        # fields: only those plus id and link; repeatable
        r = h.request(self.farad.api, "GET", V1 + "/tasks?pattern=lst-%2A&fields=status&fields=type")
        for t in r.json()["tasks"]:
            self.assertEqual(set(t), {"id", "link", "status", "type"})
        r = api(self.farad, "GET", V1 + "/tasks", params={"pattern": "lst-*", "offset": "1", "limit": "2"})
        self.assertEqual([t["id"] for t in r.json()["tasks"]], ["lst-3", "lst-2"])
        r = api(self.farad, "GET", V1 + "/tasks", params={"pattern": "lst-[13]", "fields": "link"})
        self.assertEqual(sorted(t["id"] for t in r.json()["tasks"]), ["lst-1", "lst-3"])
        r = api(self.farad, "GET", V1 + "/tasks", params={"pattern": "nothing-like-this"})
        self.assertEqual(r.json(), {"tasks": []})
        self.assertError(api(self.farad, "GET", V1 + "/tasks", params={"limit": "-1"}), 400, "limit")
        self.assertError(api(self.farad, "GET", V1 + "/tasks", params={"offset": "x"}), 400, "offset")
        for i in ids:
            api(self.farad, "DELETE", V1 + "/tasks/" + i)

    def test_malformed_requests(self):
        f = self.farad
        self.assertError(api(f, "POST", V1 + "/tasks", raw=b'{"id": "x", '), 400, "invalid JSON")
        self.assertError(api(f, "POST", V1 + "/tasks", raw=b'[1, 2]'), 400, "invalid JSON")
        self.assertError(api(f, "POST", V1 + "/tasks", {"id": "x", "script": 42}), 400, "script")
        self.assertError(api(f, "POST", V1 + "/tasks", {"id": "x", "script": CPU_SCRIPT, "dbrps": "db1"}), 400, "dbrps")
        self.assertError(api(f, "POST", V1 + "/tasks", {"id": "x", "script": CPU_SCRIPT, "status": 1}), 400, "status")
        self.assertError(define(f, "x", type="river"), 400, "unknown task type river")
        self.assertError(define(f, "x", status="running"), 400, "invalid status")
        # an invalid script: Kapacitor's text with the line and char, and the place as fields
        doc = self.assertError(define(f, "x", script="stream\n  |from()\n    .measurement(\"cpu\")\n"), 400,
                               "invalid TICKscript: line 3 char")
        self.assertEqual(doc["line"], 3)
        doc = self.assertError(define(f, "x", script="stream\n  |from(\n"), 400, "invalid TICKscript: ")
        self.assertIn("line", doc["error"])
        self.assertError(define(f, "x", script="stream\n  |nosuchnode()\n"), 400, "line 2 char")
        self.assertError(define(f, "x", dbrps=()), 400, "must specify dbrp")
        self.assertError(define(f, "x", script='dbrp "a"."b"\n' + CPU_SCRIPT), 400, "implicitly and explicitly")
        self.assertError(define(f, "x", script=CPU_SCRIPT.replace("stream", "batch", 1)), 400)
        self.assertError(define(f, "x", type="batch"), 400, "does not match")
        self.assertError(api(f, "POST", V1 + "/tasks", {"id": "x", "dbrps": [{"db": "a", "rp": "b"}]}), 400,
                         "must provide TICKscript")
        for bad in ("bad id", "a/b", "semi;colon", "quote\"", "tab\tid"):
            self.assertError(define(f, bad), 400, "task ID must contain only letters, numbers, '-', '.' and '_'")
        # a body over api.max_body (64KiB here): 413 with a JSON error
        big = {"id": "big", "script": CPU_SCRIPT + "// " + "x" * 70000 + "\n", "dbrps": [{"db": "a", "rp": "b"}]}
        self.assertError(api(f, "POST", V1 + "/tasks", big), 413, "api.max_body")
        self.assertError(api(f, "PUT", V1 + "/tasks"), 405, "use GET or POST on /tasks")
        self.assertError(api(f, "PUT", V1 + "/templates"), 405, "use GET or POST on /templates")
        self.assertError(api(f, "PUT", V1 + "/tasks/x"), 405, "use GET, PATCH or DELETE on /tasks/ID")
        self.assertError(api(f, "PUT", V1 + "/templates/x"), 405, "use GET, PATCH or DELETE on /templates/ID")
        self.assertError(api(f, "POST", V1 + "/tasks/x/out"), 405, "httpOut endpoints answer GET")
        self.assertError(api(f, "GET", V1 + "/templates/x/y"), 404, "no template exists")
        self.assertError(api(f, "PATCH", V1 + "/templates/x", raw=b'[1]'), 400, "invalid JSON")
        # none of them made a task
        r = api(f, "GET", V1 + "/tasks", params={"pattern": "x"})
        self.assertEqual(r.json()["tasks"], [])
        # an existing id
        self.assertEqual(define(f, "dup").status, 200)
        self.assertError(define(f, "dup"), 400, "already exists")
        api(f, "DELETE", V1 + "/tasks/dup")

    def test_ids(self):
        f = self.farad
        for good in ("tâche-1.x_y", "Ünïcode", "a.b-c_9"):
            r = define(f, good)
            self.assertEqual(r.status, 200, (good, r))
            self.assertEqual(r.json()["link"]["href"], "/kapacitor/v1/tasks/" + good)
            self.assertEqual(api(f, "GET", V1 + "/tasks/" + quote(good)).status, 200, good)
            self.assertEqual(api(f, "DELETE", V1 + "/tasks/" + quote(good)).status, 204)
        # no id: a random UUID
        r = api(f, "POST", V1 + "/tasks", {"script": CPU_SCRIPT, "dbrps": [{"db": "a", "rp": "b"}]})
        self.assertEqual(r.status, 200, r)
        self.assertRegex(r.json()["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        api(f, "DELETE", V1 + "/tasks/" + r.json()["id"])

    def test_enable_run_stats_httpout_disable(self):
        f = self.farad
        self.assertEqual(define(f, "run1", dbrps=(("rundb", "autogen"),)).status, 200)
        status, _ = httpout(f, "run1")
        self.assertEqual(status, 404)  # not running
        r = api(f, "PATCH", V1 + "/tasks/run1", {"status": "enabled"})
        self.assertEqual(r.status, 200, r)
        t = r.json()
        self.assertEqual((t["status"], t["executing"]), ("enabled", True))
        self.assertNotEqual(t["last-enabled"], "0001-01-01T00:00:00Z")
        self.assertEqual(t["stats"]["task-stats"], {"throughput": 0.0})
        self.assertEqual(httpout(f, "run1"), (200, {"series": None}))
        write_api(f, "rundb", "cpu,host=a v=3 %d\ncpu,host=a v=-1 %d\nmem,host=a v=9 %d\n" % (NOW, NOW + 1, NOW + 2))
        h.wait_for(lambda: httpout(f, "run1")[1] and series_values(httpout(f, "run1")[1]), 10, what="httpOut result")
        doc = httpout(f, "run1")[1]
        self.assertEqual(doc["series"][0]["name"], "cpu")
        self.assertEqual(doc["series"][0]["tags"], {"host": "a"})
        self.assertEqual(series_values(doc)[0][1:], [3])
        self.assertEqual(httpout(f, "run1", "nope")[0], 404)
        t = api(f, "GET", V1 + "/tasks/run1").json()
        ns = t["stats"]["node-stats"]
        self.assertEqual(set(ns), {"stream0", "from1", "where2", "http_out3"})
        self.assertEqual(ns["from1"]["emitted"], 2)      # cpu points only
        self.assertEqual(ns["where2"]["collected"], 2)
        self.assertEqual(ns["where2"]["emitted"], 1)     # v > 0
        for k in ("avg_exec_time_ns", "collected", "emitted", "errors", "working_cardinality"):
            self.assertIn(k, ns["where2"])
        self.assertIn('graph [throughput="', t["dot"])
        self.assertIn('where2 [avg_exec_time_ns=', t["dot"])
        self.assertIn('collected="2"', t["dot"])
        lab = api(f, "GET", V1 + "/tasks/run1", params={"dot-view": "labels"}).json()["dot"]
        self.assertIn('where2 [label="where2\\n', lab)
        self.assertIn("collected: 2", lab)
        # debug/vars: task counts and stats entries
        dv = f.debug_vars()
        self.assertGreaterEqual(dv["num_tasks"], 1)
        self.assertGreaterEqual(dv["num_enabled_tasks"], 1)
        nodes = [(tg, v) for tg, v in h.kapacitor_stats(dv, "nodes") if tg.get("task") == "run1"]
        self.assertEqual({tg["node"] for tg, _ in nodes}, {"stream0", "from1", "where2", "http_out3"})
        tasks = [v for tg, v in h.kapacitor_stats(dv, "task") if tg.get("task") == "run1"]
        self.assertEqual(tasks[0]["points_in"], 2)  # only cpu is routed to it (from() names cpu)
        # disable: stops, stats {}, httpOut gone
        r = api(f, "PATCH", V1 + "/tasks/run1", {"status": "disabled"})
        self.assertEqual((r.json()["status"], r.json()["executing"], r.json()["stats"]), ("disabled", False, {}))
        self.assertEqual(httpout(f, "run1")[0], 404)
        dv2 = f.debug_vars()
        self.assertEqual(dv2["num_enabled_tasks"], dv["num_enabled_tasks"] - 1)
        api(f, "DELETE", V1 + "/tasks/run1")
        self.assertEqual(f.debug_vars()["num_tasks"], dv["num_tasks"] - 1)

    def test_patch_fields(self):
        f = self.farad
        self.assertEqual(define(f, "pt1", status="enabled").status, 200)
        first = api(f, "GET", V1 + "/tasks/pt1").json()
        time.sleep(0.01)
        r = api(f, "PATCH", V1 + "/tasks/pt1", {"dbrps": [{"db": "other", "rp": "rp2"}]})
        self.assertEqual(r.status, 200, r)
        t = r.json()
        self.assertEqual(t["dbrps"], [{"db": "other", "rp": "rp2"}])
        self.assertEqual(t["created"], first["created"])
        self.assertGreater(t["modified"], first["modified"])
        self.assertEqual(t["last-enabled"], first["last-enabled"])  # no status change, no restart
        self.assertError(api(f, "PATCH", V1 + "/tasks/pt1", {"script": "stream|from(\n"}), 400, "invalid TICKscript")
        self.assertEqual(api(f, "GET", V1 + "/tasks/pt1").json()["dbrps"], [{"db": "other", "rp": "rp2"}])
        api(f, "DELETE", V1 + "/tasks/pt1")

    def test_vars_on_a_plain_task(self):
        f = self.farad
        script = "var low = 10\nvar every = 5m\n" + CPU_SCRIPT.replace('"v" > 0', '"v" > low')
        r = define(f, "vars1", script=script, vars={"low": {"type": "int", "value": 20},
                                                    "every": {"type": "duration", "value": "90s"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["vars"], {"low": {"type": "int", "value": 20},
                                            "every": {"type": "duration", "value": 90 * 10**9}})
        self.assertError(define(f, "vars2", script=script, vars={"low": {"type": "string", "value": "x"}}), 400)
        self.assertError(define(f, "vars3", script=script, vars={"low": {"type": "weird", "value": 1}}), 400)
        self.assertError(define(f, "vars4", script=script, vars=[1]), 400, "vars")
        api(f, "DELETE", V1 + "/tasks/vars1")

    def test_templates(self):
        f = self.farad
        r = api(f, "POST", V1 + "/templates", {"id": "tpl1", "script": TEMPLATE})
        self.assertEqual(r.status, 200, r)
        t = r.json()
        self.assertEqual(t["link"], {"rel": "self", "href": "/kapacitor/v1/templates/tpl1"})
        self.assertEqual(t["type"], "stream")
        self.assertEqual(t["vars"]["measurement"], {"type": "string", "value": None, "description": "which measurement"})
        self.assertEqual(t["vars"]["low"], {"type": "int", "value": 5, "description": "the smallest value kept"})
        self.assertEqual(t["vars"]["period"], {"type": "duration", "value": 10 * 10**9, "description": ""})
        self.assertIn("from1 -> where2;", t["dot"])
        self.assertError(api(f, "POST", V1 + "/templates", {"id": "tpl1", "script": TEMPLATE}), 400, "already exists")
        self.assertError(api(f, "POST", V1 + "/templates", {"id": "tplbad", "script": "stream|from(\n"}), 400,
                         "invalid TICKscript")
        self.assertError(api(f, "GET", V1 + "/templates/nope"), 404, "no template exists")
        # a task from it; a missing required var fails
        body = {"id": "fromtpl", "template-id": "tpl1", "dbrps": [{"db": "tpldb", "rp": "autogen"}],
                "vars": {"measurement": {"type": "string", "value": "cpu"}}, "status": "enabled"}
        self.assertError(api(f, "POST", V1 + "/tasks", dict(body, id="novars", vars={})), 400, 'missing value for var "measurement"')
        self.assertError(api(f, "POST", V1 + "/tasks", dict(body, id="badtype",
                                                            vars={"measurement": {"type": "int", "value": 1}})), 400,
                         "invalid type supplied for measurement")
        self.assertError(api(f, "POST", V1 + "/tasks", dict(body, id="notpl", **{"template-id": "nope"})), 400, "template")
        r = api(f, "POST", V1 + "/tasks", body)
        self.assertEqual(r.status, 200, r)
        task = r.json()
        self.assertEqual((task["template-id"], task["executing"]), ("tpl1", True))
        self.assertEqual(task["vars"], {"measurement": {"type": "string", "value": "cpu"}})
        write_api(f, "tpldb", "cpu v=4 %d\ncpu v=7 %d\n" % (NOW, NOW + 1))
        h.wait_for(lambda: series_values(httpout(f, "fromtpl")[1]), 10, what="template task output")
        self.assertEqual([v[1] for v in series_values(httpout(f, "fromtpl")[1])], [7])  # low = 5
        # a PATCH that breaks one of its tasks changes nothing (all or nothing)
        broken = TEMPLATE.replace("var low = 5", "var low = 5\nvar extra string").replace(
            '"v" > low', '"v" > low AND "host" != extra')
        doc = self.assertError(api(f, "PATCH", V1 + "/templates/tpl1", {"script": broken}), 400,
                               "error reloading associated task fromtpl")
        self.assertIn('missing value for var "extra"', doc["error"])
        self.assertEqual(api(f, "GET", V1 + "/templates/tpl1").json()["vars"]["measurement"]["type"], "string")
        # a good PATCH redefines its tasks
        r = api(f, "PATCH", V1 + "/templates/tpl1", {"script": TEMPLATE.replace("var low = 5", "var low = 50")})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["vars"]["low"]["value"], 50)
        t2 = api(f, "GET", V1 + "/tasks/fromtpl", params={"script-format": "raw"}).json()
        self.assertIn("var low = 50", t2["script"])
        # the running task was restarted with it: fresh counters, and the new low filters
        self.assertEqual(t2["stats"]["node-stats"]["where2"]["collected"], 0)
        write_api(f, "tpldb", "cpu v=20 %d\ncpu v=60 %d\n" % (NOW + 2, NOW + 3))
        h.wait_for(lambda: api(f, "GET", V1 + "/tasks/fromtpl").json()["stats"]["node-stats"]["where2"]["collected"] == 2,
                   10, what="2 points through the redefined task")
        self.assertEqual(api(f, "GET", V1 + "/tasks/fromtpl").json()["stats"]["node-stats"]["where2"]["emitted"], 1)
        # list templates
        r = api(f, "GET", V1 + "/templates", params={"pattern": "tpl*", "fields": "type"})
        self.assertEqual(r.json()["templates"], [{"link": {"rel": "self", "href": "/kapacitor/v1/templates/tpl1"},
                                                   "id": "tpl1", "type": "stream"}])
        # DELETE orphans the task: it stays, cannot be enabled again
        self.assertEqual(api(f, "DELETE", V1 + "/templates/tpl1").status, 204)
        self.assertEqual(api(f, "DELETE", V1 + "/templates/tpl1").status, 204)
        self.assertEqual(api(f, "PATCH", V1 + "/tasks/fromtpl", {"status": "disabled"}).status, 200)
        self.assertError(api(f, "PATCH", V1 + "/tasks/fromtpl", {"status": "enabled"}), 400, "template")
        self.assertEqual(api(f, "DELETE", V1 + "/tasks/fromtpl").status, 204)

    def test_loglevel(self):
        r = api(self.farad, "POST", V1 + "/loglevel", {"level": "debug"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(api(self.farad, "POST", V1 + "/loglevel", {"level": "info"}).status, 204)
        self.assertError(api(self.farad, "POST", V1 + "/loglevel", {"level": "loud"}), 400, "loud")
        self.assertError(api(self.farad, "POST", V1 + "/loglevel", raw=b"level=debug"), 400, "invalid JSON")

    def test_preview_prefix(self):
        self.assertEqual(define(self.farad, "pv1").status, 200)
        r = api(self.farad, "GET", "/kapacitor/v1preview/tasks/pv1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["id"], "pv1")
        self.assertEqual(api(self.farad, "DELETE", "/kapacitor/v1preview/tasks/pv1").status, 204)


@h.farad_only
class LoadDirTest(Base):
    def test_load_dir_at_start_and_on_sighup(self):
        d = h.make_tmpdir("loaddir")
        os.makedirs(os.path.join(d, "tasks"))
        os.makedirs(os.path.join(d, "templates"))
        with open(os.path.join(d, "tasks", "from_tick.tick"), "w") as fh:
            fh.write('dbrp "ld"."autogen"\n' + CPU_SCRIPT)
        with open(os.path.join(d, "tasks", "broken.tick"), "w") as fh:
            fh.write('dbrp "ld"."autogen"\nstream|from(\n')
        up = h.FakeUpstream()
        f = h.Faradd(up.url, ["-load-dir", d]).start()
        try:
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/from_tick").status == 200, 10, what="from_tick loaded")
            t = api(f, "GET", V1 + "/tasks/from_tick").json()
            self.assertEqual((t["status"], t["executing"], t["loaded-from-file"]), ("enabled", True, True))
            self.assertEqual(t["dbrps"], [{"db": "ld", "rp": "autogen"}])
            self.assertEqual(api(f, "GET", V1 + "/tasks/broken").status, 404)
            write_api(f, "ld", "cpu v=2 %d\n" % NOW)
            h.wait_for(lambda: series_values(httpout(f, "from_tick")[1]), 10, what="loaded task runs")
            # a template, a YAML and a JSON task built from it; the .tick file goes away
            with open(os.path.join(d, "templates", "ldtpl.tick"), "w") as fh:
                fh.write(TEMPLATE)
            with open(os.path.join(d, "tasks", "from_yaml.yaml"), "w") as fh:
                fh.write("template-id: ldtpl\ndbrps:\n  - db: ld\n    rp: autogen\nvars:\n"
                         "  measurement:\n    type: string\n    value: mem\n  low:\n    type: int\n    value: 1\n")
            with open(os.path.join(d, "tasks", "ignored_name.json"), "w") as fh:
                json.dump({"id": "from_json", "template-id": "ldtpl", "dbrps": [{"db": "ld", "rp": "autogen"}],
                           "vars": {"measurement": {"type": "string", "value": "disk"}}}, fh)
            os.unlink(os.path.join(d, "tasks", "from_tick.tick"))
            f.proc.p.send_signal(signal.SIGHUP)
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/from_yaml").status == 200, 10, what="yaml task loaded")
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/from_json").status == 200, 10, what="json task loaded")
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/from_tick").status == 404, 10, what="from_tick removed")
            y = api(f, "GET", V1 + "/tasks/from_yaml").json()
            self.assertEqual((y["template-id"], y["status"], y["executing"], y["loaded-from-file"]),
                             ("ldtpl", "enabled", True, True))
            self.assertEqual(y["vars"]["low"], {"type": "int", "value": 1})
            self.assertEqual(api(f, "GET", V1 + "/templates/ldtpl").status, 200)
            write_api(f, "ld", "mem v=3 %d\ndisk v=8 %d\n" % (NOW + 5, NOW + 6))
            h.wait_for(lambda: series_values(httpout(f, "from_yaml")[1]), 10, what="yaml task runs")
            h.wait_for(lambda: series_values(httpout(f, "from_json")[1]), 10, what="json task runs")
            self.assertEqual([v[1] for v in series_values(httpout(f, "from_json")[1])], [8])
        finally:
            f.stop()
            up.stop()


@h.farad_only
class ApiTasksPostgresTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.upstream = h.FakeUpstream()

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        cls.pg.destroy()

    def faradd(self, **kw):
        return h.Faradd(self.upstream.url, ["-pg", self.pg.dsn, "-pg-reconnect-max", "200ms"], **kw).start()

    def test_restart_keeps_tasks_enabled_and_running(self):
        f = self.faradd()
        try:
            h.wait_for(lambda: define(f, "rs_probe").status == 200, 20, what="store loaded")
            self.assertEqual(define(f, "rs_on", dbrps=(("rsdb", "autogen"),), status="enabled").status, 200)
            self.assertEqual(define(f, "rs_off", dbrps=(("rsdb", "autogen"),)).status, 200)
            r = api(f, "POST", V1 + "/templates", {"id": "rs_tpl", "script": TEMPLATE})
            self.assertEqual(r.status, 200, r)
            r = api(f, "POST", V1 + "/tasks", {"id": "rs_tt", "template-id": "rs_tpl", "status": "enabled",
                                               "dbrps": [{"db": "rsdb", "rp": "autogen"}],
                                               "vars": {"measurement": {"type": "string", "value": "mem"}}})
            self.assertEqual(r.status, 200, r)
            before = {t["id"]: t for t in api(f, "GET", V1 + "/tasks").json()["tasks"]}
            self.assertEqual(api(f, "DELETE", V1 + "/tasks/rs_probe").status, 204)
            self.assertEqual(self.pg.sql("select count(*) from farad.tasks where id like 'rs_%'"), "3")
        finally:
            f.stop()
        f = self.faradd(api_port=f.api_port)
        try:
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/rs_tt").status == 200, 20, what="tasks back")
            after = {t["id"]: t for t in api(f, "GET", V1 + "/tasks").json()["tasks"]}
            self.assertNotIn("rs_probe", after)
            for tid in ("rs_on", "rs_off", "rs_tt"):
                for k in ("status", "script", "dbrps", "vars", "template-id", "created", "last-enabled", "type"):
                    self.assertEqual(after[tid][k], before[tid][k], (tid, k))
            self.assertEqual((after["rs_on"]["executing"], after["rs_off"]["executing"], after["rs_tt"]["executing"]),
                             (True, False, True))
            write_api(f, "rsdb", "cpu v=1 %d\nmem v=6 %d\n" % (NOW, NOW + 1))
            h.wait_for(lambda: series_values(httpout(f, "rs_on")[1]), 10, what="restored task runs")
            h.wait_for(lambda: series_values(httpout(f, "rs_tt")[1]), 10, what="restored template task runs")
            self.assertEqual(api(f, "GET", V1 + "/templates/rs_tpl").status, 200)
        finally:
            f.stop()

    def test_postgres_outage(self):
        f = self.faradd()
        try:
            h.wait_for(lambda: define(f, "out_on", dbrps=(("outdb", "autogen"),), status="enabled").status == 200,
                       20, what="store loaded")
            write_api(f, "outdb", "cpu v=1 %d\n" % NOW)
            h.wait_for(lambda: len(series_values(httpout(f, "out_on")[1])) == 1, 10, what="task output")
            self.pg.stop()
            # ingest (API /write and the proxy's tee) and the running task go on
            write_api(f, "outdb", "cpu v=2 %d\n" % (NOW + 10))
            h.wait_for(lambda: series_values(httpout(f, "out_on")[1])[0][1] == 2, 10, what="task goes on")
            r = h.write(f.url, "outdb", b"cpu v=3 %d\n" % (NOW + 20), rp="autogen")
            self.assertEqual(r.status, 204, r)
            h.wait_for(lambda: series_values(httpout(f, "out_on")[1])[0][1] == 3, 10, what="proxy tee goes on")
            # changes need the store: 503 with a JSON error; reads still answer
            doc = self.assertError(define(f, "out_new"), 503)
            self.assertIn("PostgreSQL", doc["error"])
            self.assertError(api(f, "PATCH", V1 + "/tasks/out_on", {"status": "disabled"}), 503)
            self.assertError(api(f, "DELETE", V1 + "/tasks/out_on"), 503)
            self.assertEqual(api(f, "GET", V1 + "/tasks/out_on").json()["executing"], True)
            self.assertEqual(api(f, "GET", V1 + "/tasks", params={"pattern": "out_new"}).json()["tasks"], [])
            self.pg.start()
            h.wait_for(lambda: define(f, "out_new").status == 200, 30, what="changes succeed again")
            self.assertEqual(self.pg.sql("select status from farad.tasks where id = 'out_on'"), "enabled")
            self.assertEqual(api(f, "DELETE", V1 + "/tasks/out_new").status, 204)
        finally:
            if not self.pg.running():
                self.pg.start()
            f.stop()

    def test_store_down_at_start(self):
        f = self.faradd()
        try:
            h.wait_for(lambda: define(f, "ds_on", dbrps=(("dsdb", "autogen"),), status="enabled").status == 200,
                       20, what="store loaded")
        finally:
            f.stop()
        self.pg.stop()
        try:
            f = self.faradd(api_port=f.api_port)
            self.assertError(define(f, "ds_new"), 503, "not loaded from PostgreSQL yet")
        finally:
            self.pg.start()
        try:
            h.wait_for(lambda: api(f, "GET", V1 + "/tasks/ds_on").status == 200, 30, what="definitions loaded late")
            self.assertEqual(api(f, "GET", V1 + "/tasks/ds_on").json()["executing"], True)
            h.wait_for(lambda: define(f, "ds_new").status == 200, 10, what="changes accepted")
        finally:
            f.stop()


if __name__ == "__main__":
    h.main()
