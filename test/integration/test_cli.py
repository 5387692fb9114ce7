"""The `farad` CLI against a fake Kapacitor API: the client checked against the CONTRACT.

This test runs the built `farad` against a small Kapacitor API written here in Python
(http.server on 127.0.0.1, a free port). The fake answers as Kapacitor does (KAPACITOR.md section 1
and section 8: status codes, `{"error": "..."}` bodies, link objects, list filtering by
pattern/fields/offset/limit) and records every request: method, path, raw query and JSON body.
The tests assert the exact request sequence and bodies of every subcommand, the printed layout,
the exit codes and the error text, as the kapacitor CLI produces them.

It checks the client alone, against the contract. A second test, against the real faradd API,
comes when that API exists (the lead adds it).

Environment: FARAD_BUILD_DIR (default <repo>/build) holds the `farad` binary.
"""

import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE_DIR = os.environ.get(
    "FARAD_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("FARAD_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
FARAD = os.path.join(BUILD_DIR, "farad")

API = "/kapacitor/v1"
CREATED = "2024-05-01T10:20:30.5Z"
MODIFIED = "2024-05-02T11:00:00Z"
ENABLED_AT = "2024-05-03T12:30:00+02:00"
ZERO_TIME = "0001-01-01T00:00:00Z"
TASK_Q = "dot-view=attributes&replay-id=&script-format=formatted"


def link(kind, id_):
    return {"rel": "self", "href": "%s/%s/%s" % (API, kind, id_)}


class Fake:
    """State and request log of the fake Kapacitor."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.requests = []      # (method, path, raw query, parsed JSON body or None, raw body)
        self.times = []         # monotonic time of each request
        self.tasks = {}
        self.templates = {}
        self.recordings = {}    # id -> dict, plus "_polls" left while running
        self.replays = {}
        self.fail = {}          # (method, path) -> (status, body bytes)
        self.running_polls = 2  # GETs answered "running" (202) before "finished"
        self.end_status = "finished"
        self.end_error = ""
        self.debug_vars = {}
        self.next_id = 1

    def new_task(self, id_, script="stream\n    |from()\n        .measurement('cpu')\n", status="disabled",
                 dbrps=None, vars_=None, template_id="", type_=None, executing=None):
        t = {
            "link": link("tasks", id_), "id": id_, "template-id": template_id,
            "type": type_ or ("batch" if script.lstrip().startswith("batch") else "stream"),
            "dbrps": dbrps if dbrps is not None else [{"db": "telegraf", "rp": "autogen"}],
            "script": script, "vars": vars_ or {}, "dot": "digraph %s {\n}" % id_,
            "status": status, "executing": status == "enabled" if executing is None else executing,
            "error": "", "stats": {}, "created": CREATED, "modified": CREATED,
            "last-enabled": ENABLED_AT if status == "enabled" else ZERO_TIME,
        }
        self.tasks[id_] = t
        return t

    def new_template(self, id_, script="var crit lambda\nstream\n    |from()\n", vars_=None):
        t = {"link": link("templates", id_), "id": id_, "type": "stream", "script": script,
             "vars": vars_ or {}, "dot": "digraph %s {\n}" % id_, "error": "",
             "created": CREATED, "modified": MODIFIED}
        self.templates[id_] = t
        return t

    def calls(self):
        """(method, path?query) of every request, in order."""
        return [(m, p + ("?" + q if q else "")) for m, p, q, _, _ in self.requests]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def reply(self, status, obj=None, raw=None):
        body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        self.send_response(status)
        self.send_header("X-Kapacitor-Version", "1.5.7-fake")
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def error(self, status, msg):
        self.reply(status, {"error": msg})

    def handle_any(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = None
        if raw:
            try:
                body = json.loads(raw.decode())
            except ValueError:
                body = "<invalid JSON>"
        path = urllib.parse.unquote(u.path)
        f = self.fake
        with f.lock:
            f.requests.append((self.command, path, u.query, body, raw))
            f.times.append(time.monotonic())
            if (self.command, path) in f.fail:
                status, b = f.fail[(self.command, path)]
                return self.reply(status, raw=b)
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            return self.route(path, q, body)

    do_GET = do_POST = do_PATCH = do_DELETE = handle_any

    # -- routing, as Kapacitor answers --

    def route(self, path, q, body):
        f = self.fake
        if not path.startswith(API + "/"):
            return self.error(404, "not found")
        parts = path[len(API) + 1:].split("/")
        kind, rest = parts[0], parts[1:]
        m = self.command
        if kind == "debug" and rest == ["vars"] and m == "GET":
            return self.reply(200, f.debug_vars)
        if kind == "loglevel" and m == "POST":
            if body.get("level") not in ("debug", "info", "warn", "error"):
                return self.error(400, "invalid log level %s" % body.get("level"))
            return self.reply(204)
        if kind in ("tasks", "templates"):
            return self.route_tasks(kind, rest, q, body)
        if kind in ("recordings", "replays"):
            return self.route_runs(kind, rest, q, body)
        return self.error(404, "not found")

    def list_items(self, kind, store, q, sort=True):
        pattern = q.get("pattern", [""])[0]
        fields = q.get("fields", [])
        offset = int(q.get("offset", ["0"])[0])
        limit = int(q.get("limit", ["100"])[0])
        items = list(store.values())
        if sort:
            items.sort(key=lambda t: t["id"])
        if pattern:
            items = [t for t in items if fnmatch.fnmatchcase(t["id"], pattern)]
        out = []
        for t in items[offset:offset + limit]:
            if fields:
                out.append({k: v for k, v in t.items() if k in fields or k in ("id", "link")})
            else:
                out.append({k: v for k, v in t.items() if not k.startswith("_")})
        return self.reply(200, {kind: out})

    def route_tasks(self, kind, rest, q, body):
        f = self.fake
        store = f.tasks if kind == "tasks" else f.templates
        m = self.command
        what = "task" if kind == "tasks" else "template"
        if not rest:
            if m == "GET":
                return self.list_items(kind, store, q)
            if m == "POST":
                if body.get("id") in store:
                    return self.error(400, "%s %s already exists" % (what, body["id"]))
                if "INVALID" in body.get("script", ""):
                    return self.error(400, "invalid TICKscript: parser: unexpected INVALID line 1 char 1")
                if kind == "tasks":
                    t = f.new_task(body["id"], script=body.get("script", ""), status=body.get("status", "disabled"),
                                   dbrps=body.get("dbrps", []), vars_=body.get("vars"),
                                   template_id=body.get("template-id", ""), type_=body.get("type"))
                else:
                    t = f.new_template(body["id"], script=body.get("script", ""))
                    if body.get("type"):
                        t["type"] = body["type"]
                return self.reply(200, t)
            return self.error(405, "method not allowed")
        id_ = rest[0]
        t = store.get(id_)
        if m == "DELETE":
            store.pop(id_, None)
            return self.reply(204)
        if t is None:
            return self.error(404, "no %s exists" % what)
        if m == "GET":
            return self.reply(200, t)
        if m == "PATCH":
            if "INVALID" in body.get("script", ""):
                return self.error(400, "invalid TICKscript: parser: unexpected INVALID line 1 char 1")
            for k in ("script", "dbrps", "vars", "template-id", "type"):
                if k in body:
                    t[k] = body[k]
            if "status" in body:
                t["status"] = body["status"]
                t["executing"] = body["status"] == "enabled"
                if body["status"] == "enabled":
                    t["last-enabled"] = ENABLED_AT
            t["modified"] = MODIFIED
            return self.reply(200, t)
        return self.error(405, "method not allowed")

    def route_runs(self, kind, rest, q, body):
        f = self.fake
        store = f.recordings if kind == "recordings" else f.replays
        m = self.command
        if not rest and m == "GET":
            items = sorted(store.values(), key=lambda r: r["date"], reverse=True)  # newest first
            return self.list_items(kind, {r["id"]: r for r in items}, q, sort=False)
        if m == "POST" and (not rest or rest[0] in ("stream", "batch", "query")):
            if kind == "replays" and "task" in body and body["task"] not in f.tasks:
                return self.error(404, "task load: no task exists")  # Kapacitor's text
            id_ = body.get("id") or "gen-%d" % f.next_id
            f.next_id += 1
            r = {"link": link(kind, id_), "id": id_, "date": CREATED, "error": "", "status": "running",
                 "progress": 0, "_polls": f.running_polls}
            if kind == "recordings":
                r.update({"type": rest[0] if rest[0] != "query" else body.get("type"), "size": 0})
            else:
                r.update({"task": body.get("task"), "recording": body.get("recording", ""),
                          "recording-time": body.get("recording-time"), "clock": body.get("clock"), "stats": {}})
            store[id_] = r
            return self.reply(201, {k: v for k, v in r.items() if not k.startswith("_")})
        if len(rest) == 1:
            r = store.get(rest[0])
            if m == "DELETE":
                store.pop(rest[0], None)
                return self.reply(204)
            if r is None:
                return self.error(404, "no %s exists" % kind[:-1])
            if m == "GET":
                if r["status"] == "running":
                    if r["_polls"] > 0:
                        r["_polls"] -= 1
                    else:
                        r["status"], r["error"], r["progress"] = f.end_status, f.end_error, 1
                code = 202 if r["status"] == "running" else 200
                return self.reply(code, {k: v for k, v in r.items() if not k.startswith("_")})
        return self.error(405, "method not allowed")


class CliTest(unittest.TestCase):
    """One fake server for the class; state and the request log are reset per test."""

    @classmethod
    def setUpClass(cls):
        if not os.access(FARAD, os.X_OK):
            raise unittest.SkipTest("no farad binary at %s" % FARAD)
        cls.fake = Fake()
        Handler.fake = cls.fake
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.server.daemon_threads = True
        cls.url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.tmp = tempfile.TemporaryDirectory(prefix="farad-itest-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.tmp.cleanup()

    def setUp(self):
        self.fake.reset()

    def farad(self, *args, env=None, url=True):
        e = {k: v for k, v in os.environ.items() if k not in ("FARAD_URL", "KAPACITOR_URL")}
        e["TZ"] = "UTC"
        e.update(env or {})
        cmd = [FARAD] + (["-url", self.url] if url else []) + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=60, env=e)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def file(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def bodies(self):
        return [b for _, _, _, b, _ in self.fake.requests]

    def ok(self, *args, **kw):
        rc, out, err = self.farad(*args, **kw)
        self.assertEqual(rc, 0, "farad %s: rc %d, stderr %r" % (" ".join(args), rc, err))
        return out

    # ---------------------------------------------------------------- define

    def test_define_new_task_gets_then_posts(self):
        script = "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10)\n"
        tick = self.file("cpu_alert.tick", script)
        self.ok("define", "cpu_alert", "-tick", tick, "-type", "stream", "-dbrp", "telegraf.autogen",
                "-dbrp", "other.rp1")
        self.assertEqual(self.fake.calls(), [("GET", API + "/tasks/cpu_alert?" + TASK_Q),
                                             ("POST", API + "/tasks")])
        body = self.fake.requests[1][3]
        self.assertEqual(list(body.keys()), ["id", "type", "dbrps", "script", "status"])
        self.assertEqual(body, {"id": "cpu_alert", "type": "stream",
                                "dbrps": [{"db": "telegraf", "rp": "autogen"}, {"db": "other", "rp": "rp1"}],
                                "script": script, "status": "disabled"})
        # Go's encoder: '<' escaped, one trailing newline
        raw = self.fake.requests[1][4].decode()
        self.assertIn("\\u003c 10", raw)
        self.assertTrue(raw.endswith("}\n"))
        self.assertEqual(self.fake.tasks["cpu_alert"]["status"], "disabled")

    def test_define_existing_enabled_task_patches_and_reloads(self):
        self.fake.new_task("cpu_alert", status="enabled")
        tick = self.file("new.tick", "stream\n    |from()\n        .measurement('mem')\n")
        self.ok("define", "cpu_alert", "-tick", tick)
        href = API + "/tasks/cpu_alert"
        self.assertEqual(self.fake.calls(), [("GET", href + "?" + TASK_Q), ("PATCH", href), ("PATCH", href),
                                             ("PATCH", href)])
        self.assertEqual(self.bodies()[1:], [{"script": "stream\n    |from()\n        .measurement('mem')\n"},
                                             {"status": "disabled"}, {"status": "enabled"}])

    def test_define_no_reload_and_disabled_task_patch_once(self):
        self.fake.new_task("a", status="enabled")
        self.fake.new_task("b", status="disabled")
        self.ok("define", "a", "-dbrp", "db1.rp1", "-no-reload")
        self.ok("define", "b", "-dbrp", "db2.rp2")
        self.assertEqual([c[0] for c in self.fake.calls()], ["GET", "PATCH", "GET", "PATCH"])
        self.assertEqual(self.bodies()[1], {"dbrps": [{"db": "db1", "rp": "rp1"}]})
        self.assertEqual(self.bodies()[3], {"dbrps": [{"db": "db2", "rp": "rp2"}]})

    def test_define_only_given_fields_empty_patch(self):
        self.fake.new_task("t")
        self.ok("define", "t")
        self.assertEqual(self.fake.requests[1][4], b"{}\n")

    def test_define_quoted_dbrp(self):
        self.ok("define", "q", "-dbrp", '"my.db"."my rp"')
        self.assertEqual(self.bodies()[1]["dbrps"], [{"db": "my.db", "rp": "my rp"}])

    def test_define_bad_dbrp_exits_2_without_requests(self):
        rc, out, err = self.farad("define", "q", "-dbrp", "nodot")
        self.assertEqual(rc, 2)
        self.assertIn('invalid value "nodot" for flag -dbrp: does not contain a \'.\'', err)
        rc, _, err = self.farad("define", "q", "-dbrp", "db.")
        self.assertEqual(rc, 2)
        self.assertIn("dbrp must specify retention policy", err)
        self.assertEqual(self.fake.requests, [])

    def test_define_template_task_with_vars_file(self):
        vars_path = self.file("vars.json", json.dumps({
            "window": {"type": "duration", "value": "1m30s"},
            "every": {"type": "duration", "value": 10000000000},
            "crit": {"type": "lambda", "value": "\"usage_idle\" < 10"},
            "limit": {"type": "int", "value": 5},
            "ratio": {"type": "float", "value": 0.25},
            "level": {"type": "float", "value": 90},
            "measurement": {"type": "string", "value": "cpu", "description": "what to read"},
            "groups": {"type": "list", "value": [{"type": "string", "value": "host"}, {"type": "star", "value": "*"}]},
            "on": {"type": "bool", "value": True},
        }))
        self.ok("define", "from_tmpl", "-template", "generic", "-vars", vars_path, "-dbrp", "telegraf.autogen")
        body = self.bodies()[1]
        self.assertEqual(list(body.keys()), ["id", "template-id", "dbrps", "status", "vars"])
        self.assertEqual(body["template-id"], "generic")
        v = body["vars"]
        self.assertEqual(list(v.keys()), sorted(v.keys()))  # Go marshals maps sorted
        self.assertEqual(v["window"], {"type": "duration", "value": 90000000000, "description": ""})
        self.assertEqual(v["every"], {"type": "duration", "value": 10000000000, "description": ""})
        self.assertEqual(v["crit"]["value"], "\"usage_idle\" < 10")
        self.assertEqual(v["limit"]["value"], 5)
        self.assertEqual(v["ratio"]["value"], 0.25)
        self.assertEqual(v["level"]["value"], 90)
        self.assertEqual(v["measurement"], {"type": "string", "value": "cpu", "description": "what to read"})
        self.assertEqual(v["groups"]["value"], [{"type": "string", "value": "host", "description": ""},
                                                {"type": "star", "value": "*", "description": ""}])
        self.assertIs(v["on"]["value"], True)

    def test_define_bad_vars_fails_before_any_request(self):
        cases = [
            ({"w": {"type": "duration", "value": "ten"}}, "invalid duration string for var w"),
            ({"n": {"type": "int", "value": 1.5}}, "invalid var n: expected int value"),
            ({"x": {"type": "nonsense", "value": 1}}, "unknown VarType nonsense"),
        ]
        for doc, msg in cases:
            path = self.file("bad.json", json.dumps(doc))
            rc, _, err = self.farad("define", "t", "-vars", path)
            self.assertEqual(rc, 3, err)
            self.assertIn("invalid JSON in file %s" % path, err)
            self.assertIn(msg, err)
        rc, _, err = self.farad("define", "t", "-vars", self.file("broken.json", "{not json"))
        self.assertEqual(rc, 3)
        self.assertIn("invalid JSON in file", err)
        rc, _, err = self.farad("define", "t", "-tick", os.path.join(self.tmp.name, "missing.tick"))
        self.assertEqual(rc, 3)
        self.assertIn("missing.tick", err)
        self.assertEqual(self.fake.requests, [])

    def test_define_task_file_yaml_and_json(self):
        y = self.file("task.yaml", "dbrps:\n  - { db: \"telegraf\", rp: \"autogen\"}\ntemplate-id: my_template\n"
                                   "vars:\n  window:\n    type: duration\n    value: 1m\n  crit:\n    type: lambda\n"
                                   "    value: \"\\\"mean\\\" < 10.0\"\n  count:\n    type: int\n    value: 3\n")
        self.ok("define", "my_task", "-file", y)
        body = self.bodies()[1]
        self.assertEqual(list(body.keys()), ["id", "template-id", "dbrps", "status", "vars"])
        self.assertEqual(body["dbrps"], [{"db": "telegraf", "rp": "autogen"}])
        self.assertEqual(body["vars"]["window"]["value"], 60000000000)
        self.assertEqual(body["vars"]["crit"]["value"], "\"mean\" < 10.0")
        self.assertEqual(body["vars"]["count"]["value"], 3)
        # existing task: PATCH carries the id and the file's fields, no status
        self.fake.reset()
        self.fake.new_task("my_task")
        j = self.file("task.json", json.dumps({"id": "my_task", "template-id": "t2",
                                               "dbrps": [{"db": "d", "rp": "r"}]}))
        self.ok("define", "my_task", "-file", j)
        self.assertEqual(self.fake.calls()[1], ("PATCH", API + "/tasks/my_task"))
        self.assertEqual(self.bodies()[1], {"id": "my_task", "template-id": "t2", "dbrps": [{"db": "d", "rp": "r"}]})
        rc, _, err = self.farad("define", "other", "-file", j)
        self.assertEqual(rc, 3)
        self.assertIn("Task id given on command line does not match id in " + j, err)
        rc, _, err = self.farad("define", "x", "-file", self.file("task.txt", "id: x\n"))
        self.assertEqual((rc, err), (3, "bad file extension. Must be YAML or JSON\n"))

    def test_define_server_error_is_printed_exactly(self):
        tick = self.file("bad.tick", "INVALID\n")
        rc, out, err = self.farad("define", "bad", "-tick", tick)
        self.assertEqual(rc, 3)
        self.assertEqual(out, "")
        self.assertEqual(err, "invalid TICKscript: parser: unexpected INVALID line 1 char 1\n")

    def test_define_usage_errors(self):
        rc, _, err = self.farad("define")
        self.assertEqual(rc, 2)
        self.assertIn("Must provide a task ID.", err)
        rc, _, err = self.farad("define", "t", "-bogus")
        self.assertEqual(rc, 2)
        self.assertIn("flag provided but not defined: -bogus", err)
        rc, _, err = self.farad("define", "t", "-type", "streaming")
        self.assertEqual(rc, 2)
        self.assertIn('invalid value "streaming" for flag -type', err)
        rc, _, err = self.farad("define", "t", "-tick")
        self.assertEqual(rc, 2)
        self.assertIn("flag needs an argument: -tick", err)
        self.assertEqual(self.fake.requests, [])

    # ---------------------------------------------------------------- define-template

    def test_define_template_new_and_existing(self):
        tick = self.file("tmpl.tick", "var crit lambda\nstream\n    |from()\n")
        self.ok("define-template", "generic", "-tick", tick, "-type", "stream")
        self.assertEqual(self.fake.calls(), [("GET", API + "/templates/generic?script-format=formatted"),
                                             ("POST", API + "/templates")])
        self.assertEqual(self.bodies()[1], {"id": "generic", "type": "stream",
                                            "script": "var crit lambda\nstream\n    |from()\n"})
        self.fake.requests.clear()
        self.ok("define-template", "generic", "-type", "batch")
        self.assertEqual(self.fake.calls()[1], ("PATCH", API + "/templates/generic"))
        self.assertEqual(self.bodies()[1], {"type": "batch"})

    # ---------------------------------------------------------------- enable / disable / reload

    def test_enable_lists_by_pattern_then_patches_each_link(self):
        for id_ in ("cpu_a", "cpu_b", "mem"):
            self.fake.new_task(id_)
        self.ok("enable", "cpu*")
        self.assertEqual(self.fake.calls(), [
            ("GET", API + "/tasks?dot-view=attributes&fields=link&limit=100&offset=0&pattern=cpu%2A&replay-id="
                          "&script-format=formatted"),
            ("PATCH", API + "/tasks/cpu_a"), ("PATCH", API + "/tasks/cpu_b")])
        self.assertEqual(self.bodies()[1:], [{"status": "enabled"}, {"status": "enabled"}])
        self.assertEqual(self.fake.tasks["mem"]["status"], "disabled")

    def test_enable_unknown_id_lists_nothing_and_exits_0(self):
        rc, out, err = self.farad("enable", "nope")
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertEqual([c[0] for c in self.fake.calls()], ["GET"])
        self.assertIn("pattern=nope", self.fake.calls()[0][1])

    def test_disable_and_reload(self):
        self.fake.new_task("t1", status="enabled")
        self.ok("disable", "t1")
        self.assertEqual(self.fake.calls()[1], ("PATCH", API + "/tasks/t1"))
        self.assertEqual(self.bodies()[1], {"status": "disabled"})
        self.fake.requests.clear()
        self.ok("reload", "t1", "t2")  # t2 unknown: listed, nothing done
        self.assertEqual([(m, p.split("?")[0]) for m, p in self.fake.calls()],
                         [("GET", API + "/tasks"), ("PATCH", API + "/tasks/t1"), ("GET", API + "/tasks"),
                          ("GET", API + "/tasks"), ("PATCH", API + "/tasks/t1"), ("GET", API + "/tasks")])
        self.assertEqual([b for b in self.bodies() if b], [{"status": "disabled"}, {"status": "enabled"}])
        self.assertEqual(self.fake.tasks["t1"]["status"], "enabled")

    def test_enable_pages_of_100(self):
        for i in range(150):
            self.fake.new_task("t%03d" % i)
        self.ok("enable", "*")
        lists = [p for m, p in self.fake.calls() if m == "GET"]
        self.assertEqual(len(lists), 2)
        self.assertIn("offset=0", lists[0])
        self.assertIn("offset=100", lists[1])
        self.assertEqual(sum(1 for m, _ in self.fake.calls() if m == "PATCH"), 150)
        self.assertTrue(all(t["status"] == "enabled" for t in self.fake.tasks.values()))

    def test_enable_error_is_wrapped_with_the_task(self):
        self.fake.new_task("t1")
        self.fake.fail[("PATCH", API + "/tasks/t1")] = (400, b'{"error":"task has no dbrps"}')
        rc, _, err = self.farad("enable", "t1")
        self.assertEqual((rc, err), (3, "enabling task t1: task has no dbrps\n"))
        self.fake.fail = {(("GET", API + "/tasks")): (500, b"boom")}
        rc, _, err = self.farad("enable", "t1")
        self.assertEqual((rc, err), (3, "listing tasks: invalid response: code 500: body: boom\n"))

    def test_enable_without_ids_is_a_usage_error(self):
        rc, _, err = self.farad("enable")
        self.assertEqual(rc, 2)
        self.assertIn("Must pass at least one task ID", err)

    # ---------------------------------------------------------------- delete

    def test_delete_every_kind(self):
        self.fake.new_task("t1")
        self.fake.new_task("t2")
        self.fake.new_template("tm")
        self.ok("delete", "tasks", "t*")
        self.assertEqual(self.fake.calls(), [
            ("GET", API + "/tasks?dot-view=attributes&fields=link&limit=100&offset=0&pattern=t%2A&replay-id="
                          "&script-format=formatted"),
            ("DELETE", API + "/tasks/t1"), ("DELETE", API + "/tasks/t2")])
        self.assertEqual(self.fake.tasks, {})
        self.fake.requests.clear()
        self.ok("delete", "templates", "tm")
        self.assertEqual(self.fake.calls(), [
            ("GET", API + "/templates?fields=link&limit=100&offset=0&pattern=tm&script-format=formatted"),
            ("DELETE", API + "/templates/tm")])
        for kind in ("recordings", "replays"):
            self.fake.requests.clear()
            self.ok("delete", kind, "r1")
            self.assertEqual(self.fake.calls(),
                             [("GET", API + "/%s?fields=link&limit=100&offset=0&pattern=r1" % kind)])

    def test_delete_errors(self):
        rc, _, err = self.farad("delete", "tasks")
        self.assertEqual(rc, 2)
        self.assertIn("Must pass at least one ID", err)
        rc, _, err = self.farad("delete", "things", "x")
        self.assertEqual(rc, 3)
        self.assertIn("cannot delete 'things'", err)
        self.fake.new_task("t1")
        self.fake.fail[("DELETE", API + "/tasks/t1")] = (500, b'{"error": "store unavailable"}')
        rc, _, err = self.farad("delete", "tasks", "t1")
        self.assertEqual((rc, err), (3, "store unavailable\n"))

    # ---------------------------------------------------------------- list

    def test_list_tasks_table(self):
        self.fake.new_task("cpu_alert_long_name", status="enabled",
                           dbrps=[{"db": "telegraf", "rp": "autogen"}, {"db": "t2", "rp": "r"}])
        self.fake.new_task("b", script="batch\n    |query('select 1')\n", dbrps=[])
        out = self.ok("list", "tasks")
        self.assertEqual(self.fake.calls(), [
            ("GET", API + "/tasks?dot-view=attributes&fields=type&fields=status&fields=executing&fields=dbrps"
                          "&limit=100&offset=0&pattern=&replay-id=&script-format=formatted")])
        w = len("cpu_alert_long_name") + 1
        expect = ("ID".ljust(w) + "Type      Status    Executing Databases and Retention Policies\n"
                  + "b".ljust(w) + "batch     disabled  false     []\n"
                  + "cpu_alert_long_name".ljust(w)
                  + 'stream    enabled   true      ["telegraf"."autogen" "t2"."r"]\n')
        self.assertEqual(out, expect)

    def test_list_tasks_patterns_and_empty(self):
        self.assertEqual(self.ok("list", "tasks"), "ID Type      Status    Executing Databases and Retention Policies\n")
        self.fake.new_task("x1")
        self.fake.new_task("y1")
        out = self.ok("list", "tasks", "y*", "x*")
        self.assertEqual([line.split()[0] for line in out.splitlines()[1:]], ["x1", "y1"])  # sorted by ID
        self.assertEqual(len(self.fake.requests), 3)

    def test_list_templates_recordings_replays(self):
        self.fake.new_template("generic", vars_={"window": {"type": "duration", "value": 60000000000},
                                                 "crit": {"type": "lambda", "value": None}})
        out = self.ok("list", "templates")
        self.assertEqual(self.fake.calls()[0][1],
                         API + "/templates?fields=type&fields=vars&limit=100&offset=0&pattern=&script-format=formatted")
        self.assertEqual(out, "ID      Type      Vars                                    \n"
                              "generic stream    crit,window                             \n")
        self.fake.recordings["rec-a"] = {"link": link("recordings", "rec-a"), "id": "rec-a", "type": "stream",
                                         "size": 1234, "date": "2024-05-01T10:20:30Z", "status": "finished",
                                         "error": "", "progress": 1}
        self.fake.recordings["rec-b"] = {"link": link("recordings", "rec-b"), "id": "rec-b", "type": "batch",
                                         "size": 5, "date": "2024-05-02T00:00:00Z", "status": "failed",
                                         "error": "x", "progress": 0.5}
        self.fake.requests.clear()
        out = self.ok("list", "recordings")
        self.assertEqual(self.fake.calls()[0][1], API + "/recordings?fields=type&fields=size&fields=date"
                                                        "&fields=status&limit=100&offset=0&pattern=")
        self.assertEqual(out, "ID    Type    Status    Size      Date                   \n"
                              "rec-b batch   failed    5 B       02 May 24 00:00 UTC    \n"
                              "rec-a stream  finished  1.2 kB    01 May 24 10:20 UTC    \n")
        self.fake.replays["rp1"] = {"link": link("replays", "rp1"), "id": "rp1", "task": "cpu_alert",
                                    "recording": "rec-a", "status": "finished", "clock": "fast",
                                    "date": "2024-05-01T10:20:30Z", "recording-time": False, "error": "",
                                    "progress": 1}
        self.fake.requests.clear()
        out = self.ok("list", "replays", "rp*")
        self.assertEqual(self.fake.calls()[0][1], API + "/replays?fields=task&fields=recording&fields=status"
                                                        "&fields=clock&fields=date&limit=100&offset=0&pattern=rp%2A")
        self.assertEqual(out, "ID  Task      Recording Status   Clock   Date                   \n"
                              "rp1 cpu_alert rec-a     finished fast    01 May 24 10:20 UTC    \n")

    def test_list_errors(self):
        rc, _, err = self.farad("list")
        self.assertEqual(rc, 2)
        rc, _, err = self.farad("list", "widgets")
        self.assertEqual(rc, 3)
        self.assertIn("cannot list 'widgets'", err)

    # ---------------------------------------------------------------- show

    def test_show_layout(self):
        t = self.fake.new_task("cpu_alert", status="enabled")
        t["modified"] = MODIFIED
        out = self.ok("show", "cpu_alert")
        self.assertEqual(self.fake.calls(), [("GET", API + "/tasks/cpu_alert?" + TASK_Q)])
        self.assertEqual(out, "ID: cpu_alert\n"
                              "Error: \n"
                              "Template: \n"
                              "Type: stream\n"
                              "Status: enabled\n"
                              "Executing: true\n"
                              "Created: 01 May 24 10:20 UTC\n"
                              "Modified: 02 May 24 11:00 UTC\n"
                              "LastEnabled: 03 May 24 12:30 +0200\n"
                              "Databases Retention Policies: [\"telegraf\".\"autogen\"]\n"
                              "TICKscript:\n"
                              "stream\n    |from()\n        .measurement('cpu')\n\n"
                              "DOT:\n"
                              "digraph cpu_alert {\n}\n")

    def test_show_vars_replay_and_never_enabled(self):
        self.fake.new_task("tt", template_id="generic", vars_={
            "window": {"type": "duration", "value": 300000000000, "description": ""},
            "crit": {"type": "lambda", "value": "\"usage_idle\" < 10", "description": ""},
            "level": {"type": "float", "value": 1000000, "description": ""},
            "groups": {"type": "list", "value": [{"type": "string", "value": "host"}, {"type": "star"}]},
        })
        out = self.ok("show", "-replay", "rp9", "tt")
        self.assertEqual(self.fake.calls()[0][1],
                         API + "/tasks/tt?dot-view=attributes&replay-id=rp9&script-format=formatted")
        self.assertIn("Template: generic\n", out)
        self.assertIn("LastEnabled: 01 Jan 01 00:00 UTC\n", out)
        vars_block = out[out.index("Vars:\n"):out.index("DOT:\n")]
        self.assertEqual(vars_block,
                         "Vars:\n"
                         + "%-30s%-10s%-40s\n" % ("Name", "Type", "Value")
                         + "%-30s%-10s%-40s\n" % ("crit", "lambda", '"usage_idle" < 10')
                         + "%-30s%-10s%-40s\n" % ("groups", "list", "[host, *]")
                         + "%-30s%-10s%-40s\n" % ("level", "float", "1e+06")
                         + "%-30s%-10s%-40s\n" % ("window", "duration", "5m0s"))

    def test_show_unknown_task(self):
        rc, out, err = self.farad("show", "nope")
        self.assertEqual((rc, out, err), (3, "", "no task exists\n"))
        rc, _, err = self.farad("show")
        self.assertEqual(rc, 2)
        self.assertIn("Must specify one task ID", err)

    def test_show_template(self):
        self.fake.new_template("generic", vars_={
            "crit": {"type": "lambda", "value": None, "description": "critical threshold"},
            "window": {"type": "duration", "value": 60000000000, "description": ""}})
        out = self.ok("show-template", "generic")
        self.assertEqual(self.fake.calls(), [("GET", API + "/templates/generic?script-format=formatted")])
        self.assertEqual(out, "ID: generic\nError: \nType: stream\nCreated: 01 May 24 10:20 UTC\n"
                              "Modified: 02 May 24 11:00 UTC\nTICKscript:\nvar crit lambda\nstream\n    |from()\n\n"
                              "Vars:\n"
                              + "%-30s%-10s%-40s%-40s\n" % ("Name", "Type", "Default Value", "Description")
                              + "%-30s%-10s%-40s%-40s\n" % ("crit", "lambda", "<required>", "critical threshold")
                              + "%-30s%-10s%-40s%-40s\n" % ("window", "duration", "1m0s", "")
                              + "DOT:\ndigraph generic {\n}\n")

    # ---------------------------------------------------------------- record

    def test_record_stream_polls_every_500ms_until_done(self):
        self.fake.new_task("cpu_alert")
        self.fake.running_polls = 2
        before = datetime.now(timezone.utc)
        out = self.ok("record", "stream", "-task", "cpu_alert", "-duration", "20s", "-recording-id", "rec1")
        self.assertEqual(out, "rec1\n")
        self.assertEqual(self.fake.calls(), [("POST", API + "/recordings/stream")] +
                         [("GET", API + "/recordings/rec1")] * 3)
        body = self.bodies()[0]
        self.assertEqual(list(body.keys()), ["id", "task", "stop"])
        self.assertEqual((body["id"], body["task"]), ("rec1", "cpu_alert"))
        stop = parse_rfc3339(body["stop"])
        self.assertLess(abs((stop - (before + timedelta(seconds=20))).total_seconds()), 5)
        gaps = [b - a for a, b in zip(self.fake.times, self.fake.times[1:])]
        self.assertTrue(all(g >= 0.45 for g in gaps), gaps)
        self.assertEqual(self.fake.recordings["rec1"]["status"], "finished")

    def test_record_no_wait_and_generated_id(self):
        out = self.ok("record", "stream", "-task", "t", "-duration", "1m", "-no-wait")
        self.assertEqual(out, "gen-1\n")
        self.assertEqual(self.fake.calls(), [("POST", API + "/recordings/stream")])
        self.assertNotIn("id", self.bodies()[0])

    def test_record_failed_prints_id_then_error(self):
        self.fake.running_polls = 0
        self.fake.end_status, self.fake.end_error = "failed", "postgres: connection refused"
        rc, out, err = self.farad("record", "stream", "-task", "t", "-duration", "1s", "-recording-id", "r2")
        self.assertEqual((rc, out, err), (3, "r2\n", "postgres: connection refused\n"))
        self.fake.reset()
        self.fake.running_polls = 0
        self.fake.end_status = "failed"
        rc, out, err = self.farad("record", "query", "-query", "select 1", "-type", "batch")
        self.assertEqual((rc, err), (3, "recording failed: unknown reason\n"))

    def test_record_batch_and_query_bodies(self):
        self.fake.running_polls = 0
        self.ok("record", "batch", "-task", "b", "-start", "2015-09-01T00:00:00Z", "-stop",
                "2015-09-02T00:00:00.5+02:00", "-no-wait")
        self.assertEqual(self.fake.calls()[0], ("POST", API + "/recordings/batch"))
        self.assertEqual(self.bodies()[0], {"task": "b", "start": "2015-09-01T00:00:00Z",
                                            "stop": "2015-09-02T00:00:00.5+02:00"})
        self.fake.requests.clear()
        before = datetime.now(timezone.utc)
        self.ok("record", "batch", "-task", "b", "-past", "10h", "-recording-id", "rb")
        body = self.bodies()[0]
        self.assertEqual(list(body.keys()), ["id", "task", "start", "stop"])
        start, stop = parse_rfc3339(body["start"]), parse_rfc3339(body["stop"])
        self.assertEqual(stop - start, timedelta(hours=10))
        self.assertLess(abs((stop - before).total_seconds()), 5)
        self.fake.requests.clear()
        self.ok("record", "query", "-query", 'select value from "db"."rp"."m"', "-type", "stream",
                "-cluster", "c1", "-no-wait")
        self.assertEqual(self.fake.calls(), [("POST", API + "/recordings/query")])
        self.assertEqual(self.fake.requests[0][4].decode(),
                         '{"query":"select value from \\"db\\".\\"rp\\".\\"m\\"","type":"stream","cluster":"c1"}\n')

    def test_record_usage_errors(self):
        rc, _, err = self.farad("record", "stream", "-task", "t")
        self.assertEqual(rc, 3)
        self.assertTrue(err.endswith("both task and duration are required\n"), err)
        rc, _, err = self.farad("record", "batch", "-task", "t")
        self.assertTrue(err.endswith("must set one of start or past flags.\n"), err)
        rc, _, err = self.farad("record", "batch", "-task", "t", "-past", "1h", "-start", "2015-09-01T00:00:00Z")
        self.assertTrue(err.endswith("cannot set both start and past flags.\n"), err)
        rc, _, err = self.farad("record", "stream", "-task", "t", "-duration", "soon")
        self.assertEqual((rc, err), (3, "invalid duration soon\n"))
        rc, _, err = self.farad("record", "tape")
        self.assertEqual(rc, 3)
        self.assertIn("Unknown record type \"tape\"", err)
        self.assertEqual(self.fake.requests, [])

    # ---------------------------------------------------------------- replay

    def test_replay_body_and_wait(self):
        self.fake.new_task("cpu_alert")
        self.fake.running_polls = 1
        out = self.ok("replay", "-task", "cpu_alert", "-recording", "rec1")
        self.assertEqual(out, "gen-1\n")
        self.assertEqual(self.fake.requests[0][4].decode(),
                         '{"id":"","recording":"rec1","task":"cpu_alert","recording-time":false,"clock":"fast"}\n')
        self.assertEqual(self.fake.calls(), [("POST", API + "/replays")] + [("GET", API + "/replays/gen-1")] * 2)
        self.fake.requests.clear()
        out = self.ok("replay", "-task", "cpu_alert", "-recording", "rec1", "-real-clock", "-rec-time",
                      "-replay-id", "rp7", "-no-wait")
        self.assertEqual(out, "rp7\n")
        self.assertEqual(self.bodies(), [{"id": "rp7", "recording": "rec1", "task": "cpu_alert",
                                          "recording-time": True, "clock": "real"}])

    def test_replay_errors(self):
        rc, out, err = self.farad("replay", "-task", "missing", "-recording", "r")
        self.assertEqual((rc, out, err), (3, "", "task load: no task exists\n"))
        rc, _, err = self.farad("replay", "-task", "t")
        self.assertTrue(err.endswith("must pass recording ID\n"))
        rc, _, err = self.farad("replay", "-recording", "r")
        self.assertTrue(err.endswith("must pass task ID\n"))
        self.fake.new_task("t")
        self.fake.running_polls = 0
        self.fake.end_status = "failed"
        rc, out, err = self.farad("replay", "-task", "t", "-recording", "r")
        self.assertEqual((rc, out, err), (3, "gen-1\n", "replay failed: unknown reason\n"))

    def test_replay_live(self):
        self.fake.new_task("b")
        self.ok("replay-live", "batch", "-task", "b", "-start", "2020-01-01T00:00:00Z", "-stop",
                "2020-01-02T00:00:00Z", "-no-wait")
        self.assertEqual(self.fake.calls(), [("POST", API + "/replays/batch")])
        self.assertEqual(self.fake.requests[0][4].decode(),
                         '{"task":"b","start":"2020-01-01T00:00:00Z","stop":"2020-01-02T00:00:00Z",'
                         '"recording-time":false,"clock":"fast"}\n')
        self.fake.requests.clear()
        self.fake.running_polls = 0
        out = self.ok("replay-live", "query", "-task", "b", "-query", "select 1", "-cluster", "c", "-rec-time",
                      "-replay-id", "live1")
        self.assertEqual(out, "live1\n")
        self.assertEqual(self.fake.calls(), [("POST", API + "/replays/query"), ("GET", API + "/replays/live1")])
        self.assertEqual(list(self.bodies()[0].items()),
                         [("id", "live1"), ("task", "b"), ("query", "select 1"), ("cluster", "c"),
                          ("recording-time", True), ("clock", "fast")])
        rc, _, err = self.farad("replay-live", "query", "-task", "b")
        self.assertTrue(err.endswith("both query and task are required\n"))

    # ---------------------------------------------------------------- stats, vars, level, version, help

    def debug_vars(self):
        return {
            "cluster_id": "c-1", "server_id": "s-1", "host": "h", "num_tasks": 3, "num_enabled_tasks": 2,
            "num_subscriptions": 1, "platform": "OSS", "version": "0.1.0",
            "kapacitor": {
                "a": {"name": "ingress", "tags": {"database": "telegraf", "retention_policy": "autogen",
                                                  "measurement": "cpu", "task_master": "main"},
                      "values": {"points_received": 1500}},
                "b": {"name": "ingress", "tags": {"database": "db", "retention_policy": "a_very_long_retention",
                                                  "measurement": "m", "task_master": "main"},
                      "values": {"points_received": 7}},
                "c": {"name": "ingress", "tags": {"database": "telegraf", "retention_policy": "autogen",
                                                  "measurement": "cpu", "task_master": "replay-1"},
                      "values": {"points_received": 99}},
                "d": {"name": "edges", "tags": {"task_master": "main"}, "values": {}},
            },
        }

    def test_stats(self):
        self.fake.debug_vars = self.debug_vars()
        out = self.ok("stats", "general")
        self.assertEqual(self.fake.calls(), [("GET", API + "/debug/vars")])
        self.assertEqual(out, "".join("%-30s%-30s\n" % kv for kv in [
            ("ClusterID:", "c-1"), ("ServerID:", "s-1"), ("Host:", "h"), ("Tasks:", "3"), ("Enabled Tasks:", "2"),
            ("Subscriptions:", "1"), ("Platform:", "OSS"), ("Version:", "0.1.0")]))
        out = self.ok("stats", "ingress")
        w = len("a_very_long_retention") + 1
        self.assertEqual(out, "Database " + "Retention Policy".ljust(w) + "Measurement Points Received\n"
                         + "db       " + "a_very_long_retention".ljust(w) + "m           " + "%15d\n" % 7
                         + "telegraf " + "autogen".ljust(w) + "cpu         " + "%15d\n" % 1500)
        rc, _, err = self.farad("stats")
        self.assertEqual(rc, 3)
        self.assertTrue(err.endswith("must provide a stats category\n"))

    def test_vars_prints_the_body(self):
        self.fake.debug_vars = {"cluster_id": "c-1", "num_tasks": 0}
        out = self.ok("vars")
        self.assertEqual(json.loads(out), {"cluster_id": "c-1", "num_tasks": 0})
        self.assertEqual(self.fake.calls(), [("GET", API + "/debug/vars")])

    def test_level(self):
        self.ok("level", "debug")
        self.assertEqual(self.fake.calls(), [("POST", API + "/loglevel")])
        self.assertEqual(self.fake.requests[0][4], b'{"level":"debug"}\n')
        rc, _, err = self.farad("level", "loud")
        self.assertEqual((rc, err), (3, "invalid log level loud\n"))
        rc, _, err = self.farad("level")
        self.assertEqual(rc, 2)

    def test_version_help_and_unknown_command(self):
        rc, out, _ = self.farad("version", url=False)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^farad OSS \S+ \(git: \S+ \S+\)\n$")
        rc, _, err = self.farad("help", "define")
        self.assertEqual(rc, 0)
        self.assertIn("Usage: farad define <task ID> [options]", err)
        self.assertIn("-no-reload", err)
        rc, _, err = self.farad("help")
        self.assertEqual(rc, 1)
        self.assertIn("Commands:", err)
        rc, _, err = self.farad("frobnicate")
        self.assertEqual(rc, 1)
        self.assertIn("Unknown command frobnicate", err)
        rc, _, err = self.farad()
        self.assertEqual(rc, 1)
        self.assertIn("Error: Must pass a command.", err)
        rc, _, err = self.farad("test", url=False)  # eng-core's offline runner, dispatched from the same table
        self.assertNotEqual(rc, 0)
        self.assertIn("-tick", err)
        self.assertEqual(self.fake.requests, [])

    # ---------------------------------------------------------------- URL and transport

    def test_url_precedence(self):
        dead = "http://127.0.0.1:1"
        self.fake.new_task("t")
        rc, out, err = self.farad("show", "t", url=False, env={"FARAD_URL": self.url, "KAPACITOR_URL": dead})
        self.assertEqual(rc, 0, err)
        rc, out, err = self.farad("show", "t", url=False, env={"KAPACITOR_URL": self.url})
        self.assertEqual(rc, 0, err)
        rc, out, err = self.farad("-url", self.url, "show", "t", url=False, env={"FARAD_URL": dead})
        self.assertEqual(rc, 0, err)
        rc, out, err = self.farad("-url=" + dead, "show", "t", url=False, env={"FARAD_URL": self.url})
        self.assertEqual(rc, 3)
        self.assertIn("127.0.0.1:1", err)
        self.assertEqual(len(self.fake.requests), 3)

    def test_bad_url_and_non_json_error(self):
        rc, _, err = self.farad("-url", "ftp://host", "list", "tasks", url=False)
        self.assertEqual((rc, err), (4, "Unsupported protocol scheme: ftp, your address must start with http:// "
                                        "or https://\n"))
        self.fake.fail[("GET", API + "/tasks/t")] = (502, b"<html>bad gateway</html>")
        rc, _, err = self.farad("show", "t")
        self.assertEqual((rc, err), (3, "invalid response: code 502: body: <html>bad gateway</html>\n"))


def parse_rfc3339(s):
    """datetime of an RFC 3339 string with up to 9 fractional digits."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", s)
    if m is None:
        raise AssertionError("not RFC 3339: %r" % s)
    base = datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    return base + timedelta(microseconds=int(frac))


if __name__ == "__main__":
    unittest.main(verbosity=2)
