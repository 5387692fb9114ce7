"""Integration-test harness: private influxd 1.6.7 and faradd processes, HTTP helpers.

Stdlib only. Every process started here is registered and killed at exit (atexit, SIGTERM,
SIGINT, and the tearDown paths of the tests), and every temporary directory is removed.

Modes (environment FARAD_ITEST_MODE):
  farad  (default) requests go through faradd, which is started in front of influxd;
  direct requests go straight to influxd; tests that need farad-specific behaviour are
         skipped. Use it to validate the tests themselves against the real InfluxDB.

Other environment: FARAD_BUILD_DIR (default <repo>/build) holds faradd; FARAD_ITEST_KEEP=1
keeps the temporary directories for inspection.
"""

import atexit
import gzip as gzip_mod
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

SOURCE_DIR = os.environ.get(
    "FARAD_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("FARAD_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
MODE = os.environ.get("FARAD_ITEST_MODE", "farad")
if MODE not in ("farad", "direct"):
    raise SystemExit("harness: FARAD_ITEST_MODE must be 'farad' or 'direct', got %r" % MODE)
DIRECT = MODE == "direct"
INFLUXD = os.environ.get("FARAD_INFLUXD", "influxd")
INFLUX_CLI = os.environ.get("FARAD_INFLUX_CLI", "influx")

_procs = []        # every Proc started, for cleanup and for log dumps on failure
_tmpdirs = []      # every temp dir made, removed at exit
_cleaned = False


def farad_only(fn_or_cls):
    """Skips a test (or a whole TestCase) in direct mode."""
    return unittest.skipIf(DIRECT, "needs faradd (FARAD_ITEST_MODE=direct)")(fn_or_cls)


def make_tmpdir(prefix):
    """A fresh temporary directory, removed at exit."""
    d = tempfile.mkdtemp(prefix="farad-itest-%s-" % prefix)
    _tmpdirs.append(d)
    return d


def free_port():
    """A loopback TCP port that was free a moment ago (bind to 0, read it back, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class ProcessExited(AssertionError):
    """A process that wait_for polls has exited: stop polling at once."""


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned) or timeout seconds pass (raises)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except ProcessExited:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last error: %r)"
                                 % (timeout, what, last_exc))
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# HTTP helpers


class Response:
    """Status, headers (lower-cased names) and body of one HTTP response."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        b = self.body if len(self.body) < 400 else self.body[:400] + b"..."
        return "<%d %r>" % (self.status, b)


def request(base, method, path, params=None, body=None, headers=None, timeout=30):
    """One HTTP request to base (http://host:port); never raises on an HTTP error status.

    params is a dict or list of pairs appended as a query string. Connection errors raise.
    """
    u = urllib.parse.urlsplit(base)
    if params:
        path = path + "?" + urllib.parse.urlencode(params)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError):
            # the server may answer (413) and close before the whole body is sent
            pass
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def write(base, db, body, precision=None, rp=None, gzip=False, params=None, headers=None,
          path="/write", timeout=30):
    """POST a line-protocol body to /write (gzip-compressed with Content-Encoding if asked)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    p = [] if db is None else [("db", db)]
    if rp is not None:
        p.append(("rp", rp))
    if precision is not None:
        p.append(("precision", precision))
    if params:
        p.extend(params.items() if isinstance(params, dict) else params)
    h = {"Content-Type": "text/plain; charset=utf-8"}
    if gzip:
        body = gzip_mod.compress(body)
        h["Content-Encoding"] = "gzip"
    h.update(headers or {})
    return request(base, "POST", path, p, body, h, timeout=timeout)


def query_raw(base, q, db=None, method="GET", epoch=None, params=None, headers=None, timeout=30):
    """Runs q via /query (GET query string or POST form body); returns the Response."""
    p = [("q", q)]
    if db is not None:
        p.append(("db", db))
    if epoch is not None:
        p.append(("epoch", epoch))
    if params:
        p.extend(params.items() if isinstance(params, dict) else params)
    if method == "GET":
        return request(base, "GET", "/query", p, headers=headers, timeout=timeout)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    return request(base, "POST", "/query", None, urllib.parse.urlencode(p).encode(), h,
                   timeout=timeout)


def query(base, q, db=None, method="GET", epoch=None, params=None):
    """Runs q via /query and returns the parsed JSON; asserts 200 and no statement error."""
    r = query_raw(base, q, db=db, method=method, epoch=epoch, params=params)
    if r.status != 200:
        raise AssertionError("query %r on %s: status %d, body %r" % (q, base, r.status, r.body))
    doc = r.json()
    for res in doc.get("results", []):
        if "error" in res:
            raise AssertionError("query %r on %s: statement error %r" % (q, base, res["error"]))
    return doc


def rows(base, q, db=None, epoch="ns"):
    """Values of a single-series, single-statement query as a list of dicts (column -> value)."""
    doc = query(base, q, db=db, epoch=epoch)
    out = []
    for res in doc["results"]:
        for s in res.get("series", []):
            cols = s["columns"]
            for v in s["values"]:
                d = dict(zip(cols, v))
                d.update(s.get("tags", {}))
                out.append(d)
    return out


def create_db(base, db):
    query_raw(base, 'CREATE DATABASE "%s"' % db, method="POST")


# ---------------------------------------------------------------------------------------------
# processes


class Proc:
    """One child process with its stderr+stdout captured into a log file."""

    def __init__(self, name, argv, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.logdir = make_tmpdir(name + "-log")
        self.log_path = os.path.join(self.logdir, name + ".log")
        self._log = open(self.log_path, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                  start_new_session=True)
        _procs.append(self)

    def alive(self):
        return self.p.poll() is None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit code."""
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGTERM)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self._log.close()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
        self._log.close()

    def log_tail(self, nbytes=6000):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - nbytes))
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            return "(cannot read %s: %s)" % (self.log_path, e)


INFLUXD_TOML = """\
reporting-enabled = false
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{dir}/meta"
  logging-enabled = false
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false
  index-version = "inmem"
[coordinator]
  write-timeout = "10s"
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = {subscriber}
  http-timeout = "5s"
[continuous_queries]
  enabled = false
  log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  max-body-size = 25000000
[logging]
  level = "warn"
  suppress-logo = true
"""


class Influxd:
    """A private influxd: own temp data dir, loopback ports. Restartable on the same port/dir.

    subscriber=True turns on the [subscriber] service (off by default): influxd then pushes
    writes to the destinations of CREATE SUBSCRIPTION.
    """

    def __init__(self, http_port=None, rpc_port=None, data_dir=None, subscriber=False):
        self.http_port = http_port or free_port()
        self.rpc_port = rpc_port or free_port()
        self.dir = data_dir or make_tmpdir("influxd")
        self.conf = os.path.join(self.dir, "influxd.toml")
        with open(self.conf, "w") as f:
            f.write(INFLUXD_TOML.format(dir=self.dir, http_port=self.http_port,
                                        rpc_port=self.rpc_port,
                                        subscriber="true" if subscriber else "false"))
        self.proc = None
        self.url = "http://127.0.0.1:%d" % self.http_port

    def start(self, timeout=30):
        self.proc = Proc("influxd", [INFLUXD, "run", "-config", self.conf])
        try:
            wait_for(self._pinged, timeout, what="influxd /ping on %s" % self.url)
        except AssertionError:
            raise AssertionError("influxd did not come up on %s; log:\n%s"
                                 % (self.url, self.proc.log_tail()))
        return self

    def _pinged(self):
        if not self.proc.alive():
            raise ProcessExited("influxd exited with %s; log:\n%s"
                                 % (self.proc.p.returncode, self.proc.log_tail()))
        return request(self.url, "GET", "/ping", timeout=2).status == 204

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=15)

    def cli(self, execute, database=None, fmt=None, port=None, timeout=20):
        """Runs `influx -host 127.0.0.1 -port P -execute ...` (port defaults to influxd's)."""
        return influx_cli(port or self.http_port, execute, database=database, fmt=fmt,
                          timeout=timeout)


def influx_cli(port, execute, database=None, fmt=None, timeout=20):
    """Runs the influx CLI against 127.0.0.1:port; returns CompletedProcess (text)."""
    argv = [INFLUX_CLI, "-host", "127.0.0.1", "-port", str(port), "-execute", execute]
    if database:
        argv += ["-database", database]
    if fmt:
        argv += ["-format", fmt]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


class Faradd:
    """A faradd from $FARAD_BUILD_DIR/faradd on free loopback ports in front of an upstream."""

    def __init__(self, upstream, flags=None, proxy_port=None, api_port=None, data_dir=None):
        self.binary = os.path.join(BUILD_DIR, "faradd")
        self.proxy_port = proxy_port or free_port()
        self.api_port = api_port or free_port()
        self.data_dir = data_dir or make_tmpdir("faradd-data")
        self.upstream = upstream
        self.flags = list(flags or [])
        self.url = "http://127.0.0.1:%d" % self.proxy_port
        self.api = "http://127.0.0.1:%d" % self.api_port
        self.proc = None

    def argv(self):
        return [self.binary,
                "-proxy-bind", "127.0.0.1:%d" % self.proxy_port,
                "-api-bind", "127.0.0.1:%d" % self.api_port,
                "-upstream", self.upstream,
                "-data-dir", self.data_dir,
                "-log-level", os.environ.get("FARAD_ITEST_LOG_LEVEL", "info")] + self.flags

    def start(self, timeout=20):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("faradd not found at %s (set FARAD_BUILD_DIR, or run in "
                                 "FARAD_ITEST_MODE=direct)" % self.binary)
        self.proc = Proc("faradd", self.argv())
        try:
            wait_for(self._up, timeout, what="faradd /ping on %s" % self.url)
        except AssertionError as e:
            raise AssertionError("faradd did not come up (%s); argv %s; log:\n%s"
                                 % (e, " ".join(self.argv()), self.proc.log_tail()))
        return self

    def _up(self):
        if not self.proc.alive():
            raise ProcessExited("faradd exited with %s" % self.proc.p.returncode)
        if request(self.url, "GET", "/ping", timeout=2).status != 204:
            return False
        return request(self.api, "GET", "/debug/vars", timeout=2).status == 200

    def stop(self, check=True):
        """Stops faradd (SIGTERM) and returns its exit code.

        With check, asserts a clean exit 0 and no sanitizer report in its log.
        """
        if not self.proc:
            return None
        code = self.proc.stop(timeout=10)
        if check:
            log = self.proc.log_tail(200000)
            bad = [m for m in SANITIZER_MARKS if m in log]
            if code != 0 or bad:
                raise AssertionError("faradd exit code %s after SIGTERM (want 0)%s; log:\n%s"
                                     % (code, ", sanitizer report" if bad else "",
                                        self.proc.log_tail()))
        return code

    def debug_vars(self):
        r = request(self.api, "GET", "/debug/vars", timeout=5)
        if r.status != 200:
            raise AssertionError("GET %s/debug/vars: %r" % (self.api, r))
        return r.json()


def kapacitor_stats(doc, name):
    """Entries of /debug/vars "kapacitor" with the given name, as (tags, values) pairs."""
    out = []
    for v in (doc.get("kapacitor") or {}).values():
        if isinstance(v, dict) and v.get("name") == name:
            out.append((v.get("tags") or {}, v.get("values") or {}))
    return out


class Stack:
    """influxd plus (in farad mode) faradd in front of it. `url` is where clients talk."""

    def __init__(self, farad_flags=None):
        self.influxd = Influxd().start()
        self.farad = None
        if not DIRECT:
            self.farad = Faradd(self.influxd.url, farad_flags).start()
        self.url = self.influxd.url if DIRECT else self.farad.url
        self.port = self.influxd.http_port if DIRECT else self.farad.proxy_port

    def stop(self):
        """Stops both; raises if faradd did not exit cleanly (influxd is stopped regardless)."""
        try:
            if self.farad:
                self.farad.stop()
        finally:
            self.influxd.stop()


# ---------------------------------------------------------------------------------------------
# a scriptable fake upstream (records requests, answers as told), for byte-level checks


class FakeUpstream:
    """A threaded HTTP/1.1 server on loopback recording every request.

    handler(method, path, headers, body) -> (status, headers dict, body bytes); default 204.
    If hang is set, connections are accepted and never answered (a timeout upstream).
    """

    def __init__(self, handler=None, hang=False):
        import http.server

        outer = self
        self.requests = []
        self.handler = handler or (lambda m, p, h, b: (204, {}, b""))
        self.lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    outer.requests.append((self.command, self.path, hdrs, body))
                if hang:
                    time.sleep(30)
                    return
                status, rh, rb = outer.handler(self.command, self.path, hdrs, body)
                self.send_response(status)
                for k, v in rh.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(rb)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(rb)

            def _read_chunked(self):
                out = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_POST = do_HEAD = _do

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True

        self.server = S(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# cleanup and main


def cleanup():
    """Kills every process still running and removes the temp dirs (idempotent)."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for p in _procs:
        try:
            if p.alive():
                p.p.send_signal(signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + 10
    for p in _procs:
        try:
            p.p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.p.kill()
            p.p.wait(5)
    if os.environ.get("FARAD_ITEST_KEEP") != "1":
        for d in _tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


def _on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def dump_logs():
    """Prints the tail of every captured process log (called when a test failed)."""
    for p in _procs:
        sys.stderr.write("\n----- %s (%s), exit %s, log %s -----\n%s\n"
                         % (p.name, " ".join(p.argv), p.p.poll(), p.log_path, p.log_tail()))


def main():
    """unittest.main with a summary, process logs shown on failure, cleanup, exit status."""
    sys.stderr.write("integration mode: %s (build dir %s)\n" % (MODE, BUILD_DIR))
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    ok = prog.result.wasSuccessful()
    if not ok:
        dump_logs()
    cleanup()
    sys.exit(0 if ok else 1)
