#!/usr/bin/python3
"""A first stream task end to end in the daemon (issue 4, "Done when"): Telegraf-shaped writes go
through the proxy, a task loaded with -load-dir alerts, its .log() handler writes the event JSON
to a file; a second task's influxDBOut writes derived points to the upstream InfluxDB through
farad's own writer (never through the tee: they are not teed again).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOW = (time.time_ns() // 10**9 - 600) * 10**9

ALERT = """dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
        .groupBy('host')
    |alert()
        .id('cpu:{{ index .Tags "host" }}')
        .message('{{ .ID }} is {{ .Level }}: {{ index .Fields "usage_idle" }}')
        .crit(lambda: "usage_idle" < 10.0)
        .log('%s')
"""

DERIVE = """dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
    |eval(lambda: 100.0 - "usage_idle")
        .as('usage_busy')
    |influxDBOut()
        .database('derived')
        .retentionPolicy('autogen')
        .measurement('cpu_busy')
        .buffer(1)
        .create()
"""


@h.farad_only
class EngineEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.make_tmpdir("farad-load")
        os.makedirs(os.path.join(cls.dir, "tasks"))
        cls.alerts = os.path.join(cls.dir, "alerts.log")
        with open(os.path.join(cls.dir, "tasks", "cpu_alert.tick"), "w") as f:
            f.write(ALERT % cls.alerts)
        with open(os.path.join(cls.dir, "tasks", "cpu_busy.tick"), "w") as f:
            f.write(DERIVE)
        cls.stack = h.Stack(["-load-dir", cls.dir])
        cls.farad = cls.stack.farad
        cls.influx = cls.stack.influxd.url
        h.create_db(cls.stack.url, "telegraf")

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def test_alert_and_influxdbout(self):
        body = "".join("cpu,host=%s,cpu=cpu-total usage_idle=%s %d\n" % (host, idle, NOW + i * 10**9)
                       for i, (host, idle) in enumerate([("a", 95.0), ("b", 5.5), ("a", 3.0), ("b", 50.0)]))
        r = h.write(self.stack.url, "telegraf", body)
        self.assertEqual(r.status, 204, r)

        def events():
            if not os.path.exists(self.alerts):
                return []
            with open(self.alerts) as f:
                return [json.loads(line) for line in f if line.strip()]

        h.wait_for(lambda: len(events()) >= 3, 15, what="3 alert events in %s" % self.alerts)
        ev = events()
        self.assertEqual([(e["id"], e["level"]) for e in ev],
                         [("cpu:b", "CRITICAL"), ("cpu:a", "CRITICAL"), ("cpu:b", "OK")])
        self.assertEqual(ev[0]["message"], "cpu:b is CRITICAL: 5.5")
        self.assertEqual(ev[2]["previousLevel"], "CRITICAL")
        self.assertEqual(ev[0]["data"]["series"][0]["tags"]["host"], "b")

        def busy():
            res = h.query(self.influx, "SELECT usage_busy FROM cpu_busy ORDER BY time", db="derived", epoch="ns")
            series = res["results"][0].get("series") or []
            return series[0]["values"] if series else []

        h.wait_for(lambda: len(busy()) == 4, 20, what="4 derived points in InfluxDB")
        self.assertEqual([v[1] for v in busy()], [5.0, 94.5, 97.0, 50.0])
        self.assertEqual([v[0] for v in busy()], [NOW + i * 10**9 for i in range(4)])
        # farad's own writes are not teed: the derived db never shows up in the ingress counters
        doc = self.farad.debug_vars()
        dbs = {tags.get("database") for tags, _ in h.kapacitor_stats(doc, "ingress")}
        self.assertIn("telegraf", dbs)
        self.assertNotIn("derived", dbs)


if __name__ == "__main__":
    h.main()
