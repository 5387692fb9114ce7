#!/usr/bin/python3
"""Every `farad` CLI subcommand of the task workflow end to end against a real faradd (issue 5
item 6, "Done when"): define / enable / show / list / disable / delete, define-template,
show-template, define -template -vars, define -file, reload, stats general|ingress, vars, level,
version. A task whose alert fires for points written through the proxy writes its events to a
file (alert .log() handler). Runs once without a database and once with a private PostgreSQL
(where the definitions also survive a restart of faradd).
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

FARAD = os.path.join(h.BUILD_DIR, "farad")
NOW = (time.time_ns() // 10**9 - 600) * 10**9

ALERT = """stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .id('cpu:{{ index .Tags "host" }}')
        .message('{{ .ID }} is {{ .Level }}')
        .crit(lambda: "usage_idle" < 10.0)
        .log('%s')
"""

TEMPLATE = """// the measurement to watch
var measurement string
var limit = 10.0
stream
    |from()
        .measurement(measurement)
    |alert()
        .crit(lambda: "value" > limit)
        .log('%s')
"""


class CliBase:  # a mixin: the two TestCases below run it without and with PostgreSQL
    flags = []

    @classmethod
    def setUpClass(cls):
        cls.dir = h.make_tmpdir("farad-cli")
        cls.upstream = h.FakeUpstream()
        cls.start_faradd()

    @classmethod
    def start_faradd(cls, api_port=None):
        cls.farad = h.Faradd(cls.upstream.url, cls.flags, api_port=api_port).start()

    @classmethod
    def tearDownClass(cls):
        cls.farad.stop()
        cls.upstream.stop()

    def cli(self, *args, ok=True):
        r = subprocess.run([FARAD, "-url", self.farad.api] + list(args), capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        if ok:
            self.assertEqual(r.returncode, 0, "farad %s: exit %d\nstdout:%s\nstderr:%s"
                             % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def path(self, name, text):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def events(self, path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def task(self, tid):
        r = h.request(self.farad.api, "GET", "/kapacitor/v1/tasks/" + tid)
        return r.json() if r.status == 200 else None

    def write(self, body):
        r = h.write(self.farad.url, "telegraf", body.encode(), rp="autogen")
        self.assertEqual(r.status, 204, r)

    def test_workflow(self):
        alerts = os.path.join(self.dir, "alerts-%s.log" % type(self).__name__)
        tick = self.path("cpu_alert.tick", ALERT % alerts)
        self.cli("define", "cpu_alert", "-tick", tick, "-dbrp", "telegraf.autogen")
        t = self.task("cpu_alert")
        self.assertEqual((t["status"], t["dbrps"]), ("disabled", [{"db": "telegraf", "rp": "autogen"}]))
        self.cli("enable", "cpu_alert")
        self.assertTrue(self.task("cpu_alert")["executing"])

        self.write("".join("cpu,host=%s usage_idle=%s %d\n" % (host, idle, NOW + i * 10**9)
                           for i, (host, idle) in enumerate([("a", 95.0), ("b", 5.5), ("a", 3.0)])))
        h.wait_for(lambda: len(self.events(alerts)) >= 2, 15, what="two alert events in %s" % alerts)
        ev = self.events(alerts)
        self.assertEqual([(e["id"], e["level"]) for e in ev[:2]], [("cpu:b", "CRITICAL"), ("cpu:a", "CRITICAL")])
        self.assertEqual(ev[0]["message"], "cpu:b is CRITICAL")

        out = self.cli("show", "cpu_alert").stdout
        for want in ("ID: cpu_alert", "Status: enabled", "Executing: true", "Databases Retention Policies: [\"telegraf\".\"autogen\"]",
                     "TICKscript:", ".crit(lambda: \"usage_idle\" < 10.0)", "DOT:", "digraph cpu_alert",
                     "alerts_triggered=\"2\"", "crits_triggered=\"2\"", "throughput="):
            self.assertIn(want, out)
        out = self.cli("list", "tasks").stdout
        self.assertRegex(out, r"(?m)^ID\s+Type\s+Status\s+Executing\s+Databases and Retention Policies")
        self.assertRegex(out, r'(?m)^cpu_alert\s+stream\s+enabled\s+true\s+\["telegraf"\."autogen"\]')
        self.assertIn("cpu_alert", self.cli("list", "tasks", "cpu_*").stdout)
        self.assertNotIn("cpu_alert", self.cli("list", "tasks", "mem_*").stdout)

        # define again while enabled: the CLI disables and enables it (reload); reload itself
        before = self.task("cpu_alert")["last-enabled"]
        time.sleep(0.01)
        self.cli("define", "cpu_alert", "-tick", tick)
        self.assertGreater(self.task("cpu_alert")["last-enabled"], before)
        self.cli("reload", "cpu_alert")
        self.assertTrue(self.task("cpu_alert")["executing"])

        self.cli("disable", "cpu_alert")
        t = self.task("cpu_alert")
        self.assertEqual((t["status"], t["executing"]), ("disabled", False))
        self.assertIn("Status: disabled", self.cli("show", "cpu_alert").stdout)

        # templates: define-template, show-template, a task from it with -vars, another with -file
        talerts = os.path.join(self.dir, "talerts-%s.log" % type(self).__name__)
        self.cli("define-template", "generic", "-tick", self.path("generic.tick", TEMPLATE % talerts))
        out = self.cli("show-template", "generic").stdout
        self.assertIn("ID: generic", out)
        self.assertRegex(out, r"(?m)^measurement\s+string\s+<required>\s+the measurement to watch")
        self.assertRegex(out, r"(?m)^limit\s+float\s+10\s")
        vars_path = self.path("vars.json", json.dumps({"measurement": {"type": "string", "value": "temp"}}))
        self.cli("define", "temp_alert", "-template", "generic", "-vars", vars_path, "-dbrp", "telegraf.autogen")
        self.cli("enable", "temp_alert")
        file_path = self.path("task.yaml", "id: disk_alert\ntemplate-id: generic\ndbrps:\n  - db: telegraf\n"
                                           "    rp: autogen\nvars:\n  measurement:\n    type: string\n"
                                           "    value: disk\n  limit:\n    type: float\n    value: 90.0\n")
        self.cli("define", "disk_alert", "-file", file_path)
        self.assertEqual(self.task("disk_alert")["template-id"], "generic")
        self.assertIn("generic", self.cli("list", "templates").stdout)
        self.write("temp value=12.5 %d\ndisk value=95 %d\n" % (NOW + 100 * 10**9, NOW + 101 * 10**9))
        h.wait_for(lambda: len(self.events(talerts)) >= 1, 15, what="template task alert")
        self.assertEqual(self.events(talerts)[0]["level"], "CRITICAL")
        out = self.cli("show", "temp_alert").stdout
        self.assertIn("Template: generic", out)

        # stats, vars, level, version
        out = self.cli("stats", "general").stdout
        self.assertRegex(out, r"(?m)^Tasks:\s+3\s*$")
        self.assertRegex(out, r"(?m)^Enabled Tasks:\s+1\s*$")
        out = self.cli("stats", "ingress").stdout
        self.assertRegex(out, r"(?m)^telegraf\s+autogen\s+cpu\s+3\b")
        doc = json.loads(self.cli("vars").stdout)
        self.assertEqual(doc["num_tasks"], 3)
        self.cli("level", "debug")
        self.cli("level", "info")
        r = self.cli("level", "shouting", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("shouting", r.stderr)
        self.assertIn("farad", self.cli("version").stdout.lower())

        # errors come back with the server's text and a non-zero exit
        bad = self.path("bad.tick", "stream\n    |from()\n        .measurement(\"cpu\")\n")
        r = self.cli("define", "bad_task", "-tick", bad, "-dbrp", "telegraf.autogen", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid TICKscript: line 3 char", r.stderr)
        r = self.cli("show", "no_such_task", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no task exists", r.stderr)

        if self.flags:  # with PostgreSQL: a restart keeps them
            port = self.farad.api_port
            type(self).farad.stop()
            type(self).start_faradd(api_port=port)
            h.wait_for(lambda: self.task("temp_alert") is not None, 20, what="definitions after restart")
            self.assertTrue(self.task("temp_alert")["executing"])
            self.assertFalse(self.task("cpu_alert")["executing"])
            self.assertEqual(self.task("disk_alert")["template-id"], "generic")

        # delete: tasks by glob, the template
        self.cli("delete", "tasks", "*_alert")
        self.assertEqual(json.loads(self.cli("vars").stdout)["num_tasks"], 0)
        self.cli("delete", "templates", "generic")
        self.assertNotIn("generic", self.cli("list", "templates").stdout)
        self.cli("delete", "tasks", "no_such_task")  # Kapacitor's CLI: nothing to do, exit 0


@h.farad_only
class CliMemoryTest(CliBase, unittest.TestCase):
    flags = []


@h.farad_only
class CliPostgresTest(CliBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.flags = ["-pg", cls.pg.dsn]
        super().setUpClass()
        h.wait_for(lambda: h.request(cls.farad.api, "POST", "/kapacitor/v1/tasks", body=b"{}").status == 400, 20,
                   what="store loaded")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.pg.destroy()


if __name__ == "__main__":
    h.main()
