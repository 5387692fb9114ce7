#!/usr/bin/python3
"""farad as an InfluxDB subscription target (issue 7 item 2), against the real influxd 1.6.7.

influxd runs with [subscriber] enabled. faradd -subscribe links itself on start (SHOW DATABASES,
SHOW RETENTION POLICIES, SHOW SUBSCRIPTIONS, CREATE SUBSCRIPTION), every subs.sync_interval and
on POST /kapacitor/v1/subscriptions; it drops its own subscriptions on a clean stop. Each test
gives its faradd its own databases (subs.include) so the tests do not see each other's.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOW = (time.time_ns() // 10**9 - 120) * 10**9
SYNC = "500ms"


def subscriptions(influx_url):
    """SHOW SUBSCRIPTIONS as a list of dicts: db, rp, name, mode, destinations."""
    doc = h.query(influx_url, "SHOW SUBSCRIPTIONS")
    out = []
    for s in doc["results"][0].get("series", []):
        for v in s["values"]:
            d = dict(zip(s["columns"], v))
            out.append({"db": s["name"], "rp": d["retention_policy"], "name": d["name"],
                        "mode": d["mode"], "destinations": d["destinations"]})
    return out


def ours(influx_url, name):
    return sorted(((s["db"], s["rp"]), s["mode"], tuple(s["destinations"]))
                  for s in subscriptions(influx_url) if s["name"] == name)


def tee_points(doc, db, rp="autogen"):
    for tags, values in h.kapacitor_stats(doc, "tee"):
        if tags.get("database") == db and tags.get("retention_policy") == rp:
            return values.get("points_received", 0)
    return 0


def subs_stats(doc):
    for tags, values in h.kapacitor_stats(doc, "subscriptions"):
        return tags, values
    raise AssertionError("no subscriptions entry in /debug/vars: %r" % doc)


def body(n, first=0, measurement="cpu"):
    return "".join("%s,host=h%d v=%d %d\n" % (measurement, i % 4, i, NOW + i)
                   for i in range(first, first + n))


def exactly(farad, db, want, settle=1.5, base=0):
    """Waits until farad counted `want` points for db.autogen (past `base`), then checks no more
    arrive."""
    h.wait_for(lambda: tee_points(farad.debug_vars(), db) >= base + want, 20,
               what="%d points of %s counted by farad" % (want, db))
    time.sleep(settle)
    got = tee_points(farad.debug_vars(), db) - base
    if got != want:
        raise AssertionError("%s: farad counted %d points, want exactly %d" % (db, got, want))


def primed(farad, influx_url, db):
    """Waits until influxd pushes db.autogen's writes to farad: its subscriber service picks a new
    or changed subscription up on its own time (seconds under load), so a probe point
    (measurement `probe`) is written until farad counts one. Returns farad's count then, for
    exactly(..., base=)."""
    def seen():
        h.write(influx_url, db, "probe v=1 %d\n" % NOW)
        time.sleep(0.3)
        return tee_points(farad.debug_vars(), db) > 0
    h.wait_for(seen, 30, what="influxd pushing %s to farad" % db)
    time.sleep(1)  # copies of the probe still in flight
    return tee_points(farad.debug_vars(), db)


@h.farad_only
class SubscriptionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.influxd = h.Influxd(subscriber=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.influxd.stop()

    def setUp(self):
        self.farads = []

    def tearDown(self):
        for f in self.farads:
            if f.proc and f.proc.alive():
                f.stop(check=False)

    def farad(self, dbs, flags=(), **kw):
        f = h.Faradd(self.influxd.url, ["-subscribe", "-subs-sync-interval", SYNC,
                                        "-subs-include", ",".join("%s.*" % d for d in dbs)]
                     + list(flags), **kw)
        self.farads.append(f)
        return f.start()

    def name_of(self, f):
        tags, _ = subs_stats(f.debug_vars())
        return tags["name"]

    def linked(self, f, n):
        h.wait_for(lambda: f.debug_vars()["num_subscriptions"] == n, 20,
                   what="faradd linked on %d db.rp" % n)

    def test_created_on_start_with_the_advertised_url(self):
        url = self.influxd.url
        h.create_db(url, "s1")
        h.query_raw(url, 'CREATE RETENTION POLICY "week" ON "s1" DURATION 7d REPLICATION 1', method="POST")
        h.create_db(url, "_kapacitor")
        f = self.farad(["s1", "_kapacitor"])
        self.linked(f, 2)
        name = self.name_of(f)
        self.assertRegex(name, r"^farad-[0-9a-f]{16}$")
        with open(os.path.join(f.data_dir, "subs.id")) as fh:
            self.assertEqual("farad-" + fh.read().strip(), name)
        self.assertEqual(ours(url, name), [(("s1", "autogen"), "ANY", (f.api,)),
                                           (("s1", "week"), "ANY", (f.api,))])
        # _kapacitor.autogen is excluded by default, even though subs.include selects it
        self.assertEqual([s for s in subscriptions(url) if s["db"] == "_kapacitor"], [])
        _, v = subs_stats(f.debug_vars())
        self.assertEqual((v["links"], v["errors"], v["linked"]), (2, 0, True))

    def test_writes_to_influxd_reach_farad_exactly_once(self):
        url = self.influxd.url
        h.create_db(url, "s2")
        f = self.farad(["s2"])
        self.linked(f, 1)
        base = primed(f, url, "s2")
        for k in range(5):
            self.assertEqual(h.write(url, "s2", body(40, k * 40)).status, 204)
        exactly(f, "s2", 200, base=base)
        ingress = [v["points_received"] for t, v in h.kapacitor_stats(f.debug_vars(), "ingress")
                   if t.get("database") == "s2" and t.get("measurement") == "cpu"]
        self.assertEqual(ingress, [200])
        # nothing pushed to farad went back upstream: influxd holds the 200 points once
        n = h.rows(url, "SELECT count(v) FROM cpu", db="s2")[0]["count"]
        self.assertEqual(n, 200)

    def test_a_point_reached_both_ways_counts_once(self):
        """The proxy tees every db.rp (tee.dbrps=*) but not a subscribed one: the push counts it."""
        url = self.influxd.url
        h.create_db(url, "s3")
        h.create_db(url, "s3x")
        f = self.farad(["s3"], ["-tee-dbrps", "*"])
        self.linked(f, 1)
        base = primed(f, url, "s3")
        self.assertEqual(h.write(f.url, "s3", body(30)).status, 204)        # through the proxy
        self.assertEqual(h.write(url, "s3", body(20, 100)).status, 204)     # straight to influxd
        exactly(f, "s3", 50, base=base)
        # a db.rp not subscribed (subs.include) is still teed by the proxy, once
        self.assertEqual(h.write(f.url, "s3x", body(7)).status, 204)
        exactly(f, "s3x", 7)

    def test_no_duplicate_after_restart_none_after_clean_stop(self):
        url = self.influxd.url
        h.create_db(url, "s4")
        f = self.farad(["s4"])
        self.linked(f, 1)
        name = self.name_of(f)
        # an unclean end (SIGKILL) leaves the subscription; the restart (same data_dir) adopts it
        f.proc.kill()
        self.assertEqual(len(ours(url, name)), 1)
        g = self.farad(["s4"], api_port=f.api_port, proxy_port=f.proxy_port, data_dir=f.data_dir)
        h.wait_for(lambda: subs_stats(g.debug_vars())[1]["syncs"] >= 2, 20, what="two syncs")
        self.assertEqual(self.name_of(g), name)
        self.assertEqual(ours(url, name), [(("s4", "autogen"), "ANY", (g.api,))])
        self.assertEqual(subs_stats(g.debug_vars())[1]["links"], 0, "the restart created a subscription")
        base = primed(g, url, "s4")
        self.assertEqual(h.write(url, "s4", body(25)).status, 204)
        exactly(g, "s4", 25, base=base)
        # a clean stop drops ours
        t0 = time.monotonic()
        g.stop()
        self.assertLess(time.monotonic() - t0, 8)
        self.assertEqual([s for s in subscriptions(url) if s["name"] == name], [])
        self.assertIn("dropped 1 of ours", g.proc.log_tail())

    def test_drop_on_stop_off_keeps_them(self):
        url = self.influxd.url
        h.create_db(url, "s5")
        f = self.farad(["s5"], ["-subs-drop-on-stop", "false"])
        self.linked(f, 1)
        name = self.name_of(f)
        f.stop()
        self.assertEqual(len(ours(url, name)), 1)
        g = self.farad(["s5"], data_dir=f.data_dir)  # new API port: the destination is repaired
        h.wait_for(lambda: ours(url, name) == [(("s5", "autogen"), "ANY", (g.api,))], 20,
                   what="destination moved to the new API port")
        self.assertEqual(len([s for s in subscriptions(url) if s["db"] == "s5"]), 1)
        self.assertEqual(subs_stats(g.debug_vars())[1]["repairs"], 1)

    def test_wrong_destination_repaired_on_sync(self):
        url = self.influxd.url
        h.create_db(url, "s6")
        f = self.farad(["s6"])
        self.linked(f, 1)
        name = self.name_of(f)
        h.query(url, 'DROP SUBSCRIPTION "%s" ON "s6"."autogen"' % name, method="POST")
        h.query(url, "CREATE SUBSCRIPTION \"%s\" ON \"s6\".\"autogen\" DESTINATIONS ALL "
                     "'http://127.0.0.1:1'" % name, method="POST")
        h.wait_for(lambda: ours(url, name) == [(("s6", "autogen"), "ANY", (f.api,))], 20,
                   what="the wrong destination repaired")
        self.assertGreaterEqual(subs_stats(f.debug_vars())[1]["repairs"], 1)
        base = primed(f, url, "s6")
        self.assertEqual(h.write(url, "s6", body(12)).status, 204)
        exactly(f, "s6", 12, base=base)

    def test_excluded_ones_of_ours_are_dropped(self):
        url = self.influxd.url
        h.create_db(url, "s7")
        h.create_db(url, "s7b")
        f = self.farad(["s7", "s7b"])
        self.linked(f, 2)
        name = self.name_of(f)
        f.stop(check=True)
        g = self.farad(["s7", "s7b"], ["-subs-exclude", "s7b.*"], data_dir=f.data_dir)
        # the clean stop dropped both; the new config links s7 only
        h.wait_for(lambda: ours(url, name) == [(("s7", "autogen"), "ANY", (g.api,))], 20,
                   what="only s7 subscribed")
        # one of ours left on an excluded db.rp (by hand here) is dropped on sync
        h.query(url, "CREATE SUBSCRIPTION \"%s\" ON \"s7b\".\"autogen\" DESTINATIONS ANY '%s'"
                % (name, g.api), method="POST")
        h.wait_for(lambda: ours(url, name) == [(("s7", "autogen"), "ANY", (g.api,))], 20,
                   what="ours on the excluded s7b dropped")
        self.assertGreaterEqual(subs_stats(g.debug_vars())[1]["drops"], 1)

    def test_stale_subscriptions_of_others_dropped_on_request(self):
        url = self.influxd.url
        h.create_db(url, "s8")
        alive = h.FakeUpstream()
        try:
            dead = "http://127.0.0.1:%d" % h.free_port()
            for n, dest in (("farad-dead", dead), ("farad-alive", alive.url), ("other-dead", dead)):
                h.query(url, "CREATE SUBSCRIPTION \"%s\" ON \"s8\".\"autogen\" DESTINATIONS ANY '%s'"
                        % (n, dest), method="POST")
            f = self.farad(["s8"])
            self.linked(f, 1)
            name = self.name_of(f)
            self.assertIn("farad-dead", [s["name"] for s in subscriptions(url)])  # not without asking
            r = h.request(f.api, "POST", "/kapacitor/v1/subscriptions")
            self.assertEqual(r.status, 204, r)
            h.wait_for(lambda: subs_stats(f.debug_vars())[1]["stale_dropped"] == 1, 20,
                       what="one stale subscription dropped")
            # the sweep probes in SHOW SUBSCRIPTIONS order: farad-alive may come after farad-dead's drop
            h.wait_for(lambda: any(p == "/ping" for m, p, hd, b in alive.requests), 20,
                       what="farad-alive's destination probed")
            time.sleep(0.2)  # the probe's answer back in faradd, past the decision to keep it
            names = sorted(s["name"] for s in subscriptions(url) if s["db"] == "s8")
            # only farad-* with no live destination: not another tool's, not a live farad's, not ours
            self.assertEqual(names, sorted(["farad-alive", "other-dead", name]))
            self.assertEqual(subs_stats(f.debug_vars())[1]["stale_dropped"], 1)
            for n in ("farad-alive", "other-dead"):
                h.query(url, 'DROP SUBSCRIPTION "%s" ON "s8"."autogen"' % n, method="POST")
        finally:
            alive.stop()

    def test_upstream_absent_at_start_then_linked(self):
        late = h.Influxd(subscriber=True)
        f = h.Faradd(late.url, ["-subscribe", "-subs-sync-interval", SYNC])
        self.farads.append(f)
        f.start()  # serves without its upstream
        time.sleep(1.5)
        tags, v = subs_stats(f.debug_vars())
        self.assertEqual((v["linked"], v["num_subscriptions"]), (False, 0))
        self.assertGreaterEqual(v["errors"], 1)
        late.start()
        try:
            h.create_db(late.url, "s9")
            h.wait_for(lambda: f.debug_vars()["num_subscriptions"] == 1, 30,
                       what="linked once the upstream came")
            self.assertEqual(ours(late.url, tags["name"]), [(("s9", "autogen"), "ANY", (f.api,))])
            base = primed(f, late.url, "s9")
            self.assertEqual(h.write(late.url, "s9", body(9)).status, 204)
            exactly(f, "s9", 9, base=base)
            f.stop()
            self.assertEqual(ours(late.url, tags["name"]), [])
        finally:
            late.stop()

    def test_advertise_flag_and_post_when_off(self):
        url = self.influxd.url
        h.create_db(url, "s10")
        f = self.farad(["s10"], ["-advertise", "http://127.0.0.1:%d" % 9, "-subs-mode", "ALL",
                                 "-subs-name", "farad-fixed"])
        h.wait_for(lambda: f.debug_vars()["num_subscriptions"] == 1, 20, what="linked")
        self.assertEqual(ours(url, "farad-fixed"), [(("s10", "autogen"), "ALL", ("http://127.0.0.1:9",))])
        self.assertFalse(os.path.exists(os.path.join(f.data_dir, "subs.id")))
        f.stop()
        self.assertEqual(ours(url, "farad-fixed"), [])
        off = h.Faradd(url)
        self.farads.append(off)
        off.start()
        r = h.request(off.api, "POST", "/kapacitor/v1/subscriptions")
        self.assertEqual(r.status, 400, r)
        self.assertIn("subscriptions are off", r.json()["error"])
        self.assertEqual(off.debug_vars()["num_subscriptions"], 0)
        self.assertEqual([s for s in subscriptions(url) if s["name"].startswith("farad-") and s["db"] == "s10"], [])


if __name__ == "__main__":
    h.main()
