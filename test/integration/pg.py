"""Private PostgreSQL 15 clusters for integration tests, through scripts/pg.sh.

Stdlib only. Each cluster lives in its own temporary directory (unix socket there, no TCP), is
stopped at exit (atexit; harness.py turns SIGTERM and SIGINT into an exit) and its directory
removed.

    from pg import Postgres
    pg = Postgres().start()          # pg.dsn: "host=/tmp/... port=5432 user=postgres dbname=farad"
    pg.sql("select 1")               # -> "1" (psql -At output, stripped)
    pg.stop(); pg.start()            # same cluster and data, for outage tests

Environment: FARAD_ITEST_KEEP=1 keeps the directories; FARAD_PG_BIN as in scripts/pg.sh.
"""

import atexit
import os
import shutil
import subprocess
import tempfile

SOURCE_DIR = os.environ.get(
    "FARAD_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PG_SH = os.path.join(SOURCE_DIR, "scripts", "pg.sh")
PG_BIN = os.environ.get("FARAD_PG_BIN", "/usr/lib/postgresql/15/bin")

_clusters = []


class Postgres:
    """One private cluster; start() and stop() may be called repeatedly on the same data."""

    def __init__(self, fast=True):
        # short path: the socket path must fit in 107 bytes; /tmp is searchable by the server user
        self.dir = tempfile.mkdtemp(prefix="farad-pg-", dir="/tmp")
        self.fast = fast
        self.dsn = None
        _clusters.append(self)

    def _run(self, verb, timeout=120):
        env = dict(os.environ)
        if self.fast:
            env["FARAD_PG_FAST"] = "1"
        r = subprocess.run(["bash", PG_SH, verb, self.dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout, env=env)
        if r.returncode != 0:
            raise AssertionError("scripts/pg.sh %s %s failed (%d): %s%s"
                                 % (verb, self.dir, r.returncode, r.stderr, self.log_tail()))
        return r.stdout.strip()

    def start(self):
        """Starts the cluster (initdb the first time) and returns self; sets self.dsn."""
        self.dsn = self._run("start")
        return self

    def stop(self):
        """Fast shutdown; a no-op when it is not running."""
        self._run("stop")

    def running(self):
        r = subprocess.run(["bash", PG_SH, "status", self.dir], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        return r.returncode == 0

    def sql(self, query, timeout=60):
        """Runs one query with psql -At; returns its stripped output, raises on error."""
        r = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-At", "-v",
                            "ON_ERROR_STOP=1", "-d", self.dsn, "-c", query],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("psql %r on %s: %s" % (query, self.dsn, r.stderr))
        return r.stdout.strip()

    def log_tail(self, nbytes=4000):
        path = os.path.join(self.dir, "postgres.log")
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - nbytes))
                return "\n--- %s ---\n%s" % (path, f.read().decode("utf-8", "replace"))
        except OSError:
            return ""

    def destroy(self):
        """Stops the cluster and removes its directory (unless FARAD_ITEST_KEEP=1)."""
        try:
            if os.path.exists(self.dir):
                self.stop()
        except Exception:  # noqa: BLE001 - cleanup goes on
            pass
        if os.environ.get("FARAD_ITEST_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def stop_all():
    """Stops and removes every cluster started in this process."""
    while _clusters:
        _clusters.pop().destroy()


atexit.register(stop_all)


if __name__ == "__main__":
    # self-check: python3 test/integration/pg.py
    pg = Postgres().start()
    try:
        assert pg.sql("select 40 + 2") == "42", "psql did not answer 42"
        pg.stop()
        assert not pg.running(), "cluster still running after stop"
        pg.start()
        assert pg.sql("select current_database()") == "farad"
        print("pg.py: ok (%s)" % pg.dsn)
    finally:
        stop_all()
