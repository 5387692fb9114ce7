#!/usr/bin/python3
"""The farad CLI end to end against a real faradd (issue 5, item 6): the Kapacitor workflow of
define / enable / show / list / disable / delete, templates, stats, vars, level and version, with a
task whose alert fires for points written through the proxy (test_cli.py checks the client's
exact requests against the contract; this one checks that client and server agree).
"""

import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FARAD = os.path.join(h.BUILD_DIR, "farad")
NOW = (time.time_ns() // 10**9 - 300) * 10**9

TICK = """stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .id('cpu:{{ index .Tags "host" }}')
        .crit(lambda: "usage_idle" < 10.0)
        .log('%s')
"""

TEMPLATE = """var measurement string
var crit float
stream
    |from()
        .measurement(measurement)
    |alert()
        .crit(lambda: "v" > crit)
"""


@h.farad_only
class CliEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = h.Stack()
        cls.farad = cls.stack.farad
        cls.dir = h.make_tmpdir("farad-cli-e2e")
        cls.alerts = os.path.join(cls.dir, "alerts.log")
        h.create_db(cls.stack.url, "telegraf")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def cli(self, *args, ok=True):
        r = subprocess.run([FARAD, "-url", self.farad.api] + list(args), capture_output=True, text=True, timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, "farad %s: %s %s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def test_workflow(self):
        tick = os.path.join(self.dir, "cpu_alert.tick")
        with open(tick, "w") as f:
            f.write(TICK % self.alerts)
        self.cli("define", "cpu_alert", "-tick", tick, "-dbrp", "telegraf.autogen")
        out = self.cli("list", "tasks").stdout
        self.assertRegex(out, r"cpu_alert\s+stream\s+disabled\s+false\s+\[\"telegraf\".\"autogen\"\]")
        self.cli("enable", "cpu_alert")
        body = "cpu,host=a usage_idle=50 %d\ncpu,host=b usage_idle=2 %d\n" % (NOW, NOW + 10**9)
        self.assertEqual(h.write(self.stack.url, "telegraf", body).status, 204)
        h.wait_for(lambda: os.path.exists(self.alerts) and os.path.getsize(self.alerts) > 0, 15, what="alert event")
        with open(self.alerts) as f:
            ev = json.loads(f.readline())
        self.assertEqual((ev["id"], ev["level"]), ("cpu:b", "CRITICAL"))
        show = self.cli("show", "cpu_alert").stdout
        self.assertIn("ID: cpu_alert", show)
        self.assertIn("Status: enabled", show)
        self.assertIn("Executing: true", show)
        self.assertRegex(show, r'alert\d+ \[.*crits_triggered="1"')
        self.cli("disable", "cpu_alert")
        self.assertIn("Status: disabled", self.cli("show", "cpu_alert").stdout)
        self.cli("delete", "tasks", "cpu_alert")
        r = self.cli("show", "cpu_alert", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no task exists", (r.stdout + r.stderr).lower())

    def test_templates_and_misc(self):
        tmpl = os.path.join(self.dir, "generic.tick")
        with open(tmpl, "w") as f:
            f.write(TEMPLATE)
        self.cli("define-template", "generic", "-tick", tmpl)
        self.assertIn("ID: generic", self.cli("show-template", "generic").stdout)
        vars_ = os.path.join(self.dir, "vars.json")
        with open(vars_, "w") as f:
            json.dump({"measurement": {"type": "string", "value": "temp"}, "crit": {"type": "float", "value": 80}}, f)
        self.cli("define", "temp_alert", "-template", "generic", "-vars", vars_, "-dbrp", "telegraf.autogen")
        show = self.cli("show", "temp_alert").stdout
        self.assertIn("Template: generic", show)
        self.assertRegex(show, r"measurement\s+string\s+temp")  # the template's script, the task's vars
        self.assertRegex(show, r"crit\s+float\s+80")
        # an invalid script is refused with the server's error and a non-zero exit
        bad = os.path.join(self.dir, "bad.tick")
        with open(bad, "w") as f:
            f.write("stream|from().where(lambda: \"v\" > )\n")
        r = self.cli("define", "bad", "-tick", bad, "-dbrp", "telegraf.autogen", ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid TICKscript", r.stdout + r.stderr)
        self.assertIn("Host:", self.cli("stats", "general").stdout)
        self.assertIn("num_tasks", self.cli("vars").stdout)
        self.cli("level", "debug")
        self.cli("level", "info")
        self.assertIn("0.1.0", self.cli("version").stdout)
        self.cli("delete", "tasks", "temp_alert")
        self.cli("delete", "templates", "generic")


if __name__ == "__main__":
    h.main()
