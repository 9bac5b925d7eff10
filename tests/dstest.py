# SPDX-License-Identifier: BSD-3-Clause
"""Shared helpers of darkscope's end-to-end system tests (standard library only).

Every system test runs the real programs against a real redis-server that it
starts itself in a temporary directory, and compares what the sensor wrote
with an independent account of the traffic (tests/truth.py, built on
tshark). This module holds what the tests share:

  Checks        one printed line per comparison, the exit status at the end
  Redis         a tiny RESP2 client over a unix socket
  RedisServer   a throw-away redis-server that can be stopped and restarted
                on the same socket and data directory (outage tests)
  snapshot()    every key of a server with its value, for run-to-run equality
  Darkscope     configuration files, one-shot runs and background runs
  jsonl / Redis readers of docs/SCHEMA.md, and a comparison of the two sinks
  NetNs         a network namespace with a veth pair for live capture
  pcap reader and an AF_PACKET sender (`python3 dstest.py send ...`, run in
                the namespace with `ip netns exec`)

Exit codes follow meson: 0 pass, 1 fail, 77 skip.
"""

import atexit
import calendar
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))

# Sensor id, feed and key prefix every test configuration uses.
SENSOR = "test"
KEY_PREFIX = "ds"

DIMS = ("proto", "tcp_dst_port", "udp_dst_port", "icmp", "icmp6",
        "tcp_syn_window", "tcp_syn_options", "src_country", "src_asn", "src_home")

MALFORMED_REASONS = (
    "eth_trunc", "vlan_trunc", "vlan_depth", "ipv4_trunc", "ipv4_version",
    "ipv4_ihl", "ipv4_totlen", "ipv6_trunc", "ipv6_version", "ipv6_ext_trunc",
    "ipv6_ext_depth", "tcp_trunc", "tcp_doff", "tcp_opt", "udp_trunc",
    "udp_len", "icmp_trunc")


# ---------------------------------------------------------------------------
# Outcome of a test

def log(msg):
    print(msg, flush=True)


def skip(reason):
    log("SKIP: " + reason)
    sys.exit(SKIP)


def die(reason):
    """A failure that makes every further check meaningless."""
    log("FAIL: " + reason)
    sys.exit(1)


class Checks:
    """Counts checks and prints one line per check with the figures compared."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def ok(self, cond, line):
        if cond:
            self.passed += 1
            log("ok   " + line)
        else:
            self.failed += 1
            self.failures.append(line)
            log("FAIL " + line)
        return bool(cond)

    def eq(self, label, got, want):
        """got is the sensor's figure, want the independent one."""
        if got == want:
            return self.ok(True, "%s %s == %s" % (label, fmt(got), fmt(want)))
        return self.ok(False, "%s %s != %s (sensor != expected)" % (label, fmt(got), fmt(want)))

    def finish(self):
        log("%d checks passed, %d failed" % (self.passed, self.failed))
        if self.failed:
            log("failed checks:")
            for f in self.failures[:50]:
                log("  " + f)
        return 1 if self.failed else 0


def fmt(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        s = json.dumps(v, sort_keys=True)
        return s if len(s) <= 200 else s[:200] + "..."
    return str(v)


# ---------------------------------------------------------------------------
# Environment

def program(var, default_rel=None, required=True):
    """Path of a program from the environment (meson sets them all)."""
    path = os.environ.get(var)
    if not path and default_rel:
        root = os.environ.get("DS_BUILD_ROOT", os.path.join(HERE, "..", "build"))
        path = os.path.join(root, default_rel)
    if not path or not os.access(path, os.X_OK):
        if required:
            die("%s not set or not executable (%r)" % (var, path))
        return None
    return path


def darkscope_bin():
    return program("DARKSCOPE", "app/darkscope/darkscope")


def gen_bin():
    return program("DARKSCOPE_GEN", "app/darkscope-gen/darkscope-gen")


def redis_server_bin():
    path = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if not path:
        skip("redis-server not found (REDIS_SERVER unset and not in PATH)")
    return path


def tshark_bin():
    path = os.environ.get("TSHARK") or shutil.which("tshark")
    if not path:
        skip("tshark not found (TSHARK unset and not in PATH)")
    return path


def shared_data():
    d = os.environ.get("DS_SHARED_DATA") or os.path.join(HERE, "..", "..", "shared", "data")
    return d


_tmpdirs = []


def _on_sigterm(signum, frame):
    """meson's timeout sends SIGTERM: leave through atexit, which stops the
    sensor and redis-server and deletes the namespace."""
    log("FAIL: terminated by signal %d" % signum)
    sys.exit(1)


signal.signal(signal.SIGTERM, _on_sigterm)


def tmpdir(tag="ds"):
    """A temporary directory removed at exit."""
    d = tempfile.mkdtemp(prefix="%s-%d-" % (tag, os.getpid()))
    _tmpdirs.append(d)
    return d


@atexit.register
def _cleanup_tmpdirs():
    if os.environ.get("DS_KEEP_TMP"):
        return
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# RESP2 client

class RedisError(Exception):
    """An error reply ("-ERR ...") from the server."""


class Redis:
    """Minimal blocking RESP2 client on a unix socket."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by redis-server")
        return line[:-2]

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("short bulk reply")
            return data[:-2].decode("utf-8", errors="surrogateescape")
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._reply() for _ in range(n)]
        raise ConnectionError("bad reply type %r" % line[:20])

    def call(self, *args):
        self.sock.sendall(self.encode(args))
        r = self._reply()
        if isinstance(r, RedisError):
            raise r
        return r


# ---------------------------------------------------------------------------
# Throw-away redis-server

class RedisServer:
    """redis-server in a temp dir, unix socket only, no persistence unless asked.

    stop(save=True) shuts it down with SHUTDOWN SAVE so that start() on the
    same directory loads the same data again: a Redis outage, not a loss.
    """

    def __init__(self, tag="redis"):
        self.bin = redis_server_bin()
        self.dir = tmpdir(tag)
        self.sock = os.path.join(self.dir, "redis.sock")
        self.proc = None
        self.starts = 0

    def start(self, timeout=10.0):
        self.starts += 1
        logf = open(os.path.join(self.dir, "redis-%d.log" % self.starts), "wb")
        self.proc = subprocess.Popen(
            [self.bin, "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700",
             "--dir", self.dir, "--dbfilename", "dump.rdb", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--databases", "16"],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        _servers.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die("redis-server exited at start (%d), see %s" % (self.proc.returncode, self.dir))
            try:
                with Redis(self.sock, timeout=1.0) as c:
                    # Ready once the data set is loaded, not merely listening.
                    if c.call("PING") == "PONG":
                        return self
            except (OSError, ConnectionError, RedisError):
                pass
            time.sleep(0.02)
        die("redis-server did not answer PING within %.0f s" % timeout)

    def client(self):
        return Redis(self.sock)

    def stop(self, save=False, timeout=20.0):
        if self.proc is None:
            return
        try:
            with Redis(self.sock, timeout=timeout) as c:
                try:
                    c.call("SHUTDOWN", "SAVE" if save else "NOSAVE")
                except (ConnectionError, OSError):
                    pass        # the expected outcome: the server closed the socket
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if save and not os.path.exists(os.path.join(self.dir, "dump.rdb")):
            die("SHUTDOWN SAVE left no dump.rdb in %s" % self.dir)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(save=False)


_servers = []


@atexit.register
def _kill_servers():
    """A test that died half-way leaves no redis-server behind."""
    for s in _servers:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def snapshot(client, match="*"):
    """Every key -> (type, value); hashes as dicts, zsets as member->score dicts,
    sets as sorted lists, lists as lists. TTLs are not part of it, nor the
    `rev` of an hour's or a day's hash: it counts the period's writes (a replay
    or a restart adds to it), the sensor's check before it sends a period whole
    (docs/SCHEMA.md), not content."""
    keys = set()
    cursor = "0"
    while True:
        cursor, batch = client.call("SCAN", cursor, "MATCH", match, "COUNT", "1000")
        keys.update(batch)
        if cursor == "0":
            break
    snap = {}
    for k in sorted(keys):
        t = client.call("TYPE", k)
        if t == "string":
            v = client.call("GET", k)
        elif t == "hash":
            flat = client.call("HGETALL", k)
            v = dict(zip(flat[0::2], flat[1::2]))
            if re.search(r":[hd]:\d+$", k):
                v.pop("rev", None)
        elif t == "zset":
            flat = client.call("ZRANGE", k, "0", "-1", "WITHSCORES")
            v = {m: float(s) for m, s in zip(flat[0::2], flat[1::2])}
        elif t == "set":
            v = sorted(client.call("SMEMBERS", k))
        elif t == "list":
            v = client.call("LRANGE", k, "0", "-1")
        elif t == "none":
            continue            # expired between SCAN and TYPE
        else:
            v = "<%s>" % t
        snap[k] = (t, v)
    return snap


def snapshot_diff(a, b, limit=10):
    """Human-readable differences between two snapshots (a: got, b: expected)."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in a:
            lines.append("missing key %s" % k)
        elif k not in b:
            lines.append("extra key %s" % k)
        elif a[k] != b[k]:
            ta, va = a[k]
            tb, vb = b[k]
            if ta != tb:
                lines.append("%s: type %s != %s" % (k, ta, tb))
            elif isinstance(va, dict):
                fields = sorted(set(va) | set(vb), key=str)
                diffs = ["%s %s != %s" % (f, va.get(f), vb.get(f))
                         for f in fields if va.get(f) != vb.get(f)]
                lines.append("%s: %s" % (k, "; ".join(diffs[:5])))
            else:
                lines.append("%s: %s != %s" % (k, fmt(va), fmt(vb)))
        if len(lines) >= limit:
            lines.append("...")
            break
    return lines


# ---------------------------------------------------------------------------
# Minutes

def minute_key(iso):
    """'2018-03-29T20:13:00Z' -> '201803292013' (the Redis form)."""
    return iso[0:4] + iso[5:7] + iso[8:10] + iso[11:13] + iso[14:16]


def minute_iso(key):
    """'201803292013' -> '2018-03-29T20:13:00Z'."""
    return "%s-%s-%sT%s:%s:00Z" % (key[0:4], key[4:6], key[6:8], key[8:10], key[10:12])


def minute_epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


# ---------------------------------------------------------------------------
# darkscope

_config_seq = itertools.count()
_file_prefixes = []


@atexit.register
def _cleanup_runtime_dirs():
    """EAL makes a runtime directory per --file-prefix even with --no-shconf;
    ours are unique to this process, so they go when it ends."""
    bases = ["/var/run/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    bases.append("/tmp/dpdk")
    for prefix in _file_prefixes:
        for base in bases:
            shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)


def config_text(redis_sock=None, feeds=None, ports=None, time_source="auto",
                redis_extra=None, sensor=SENSOR, redis_enabled=True, lcores="auto"):
    """A small YAML configuration that runs on a laptop: no hugepages, auto lcores.

    feeds: list of (name, [prefixes]); default one feed 'all' of everything.
    ports: list of (name, device) or (name, device, rx_queues) for live capture.
    redis_extra: dict of extra redis keys (queue_full, queue_minutes, ...).
    lcores: eal.lcores, e.g. an lcore map "0@0,1@1,2@1" for two workers on two CPUs.
    """
    n = next(_config_seq)
    _file_prefixes.append("ds-%d-%d" % (os.getpid(), n))
    feeds = feeds or [("all", ["0.0.0.0/0", "::/0"])]
    redis = {"enabled": "true" if redis_enabled else "false",
             "unix_socket": redis_sock or "/nonexistent/redis.sock",
             "retention": "1d", "queue_minutes": "120", "queue_full": "auto",
             "drain_timeout": "60s"}
    redis.update(redis_extra or {})
    lines = [
        "# written by tests/dstest.py",
        "sensor: {id: %s}" % sensor,
        "eal: {lcores: %s, huge_pages: false, memory_mb: 512, "
        "file_prefix: ds-%d-%d, extra_args: [\"--no-shconf\"]}" % (
            json.dumps(lcores), os.getpid(), n),
        "capture: {time_source: %s, stats_interval: 0}" % time_source,
    ]
    if ports:
        lines.append("ports:")
        for port in ports:
            name, dev, queues = (tuple(port) + (1,))[:3]
            lines.append("  - {name: %s, device: %s, rx_queues: %d}" % (
                name, json.dumps(dev), queues))
    lines.append("feeds:")
    for name, prefixes in feeds:
        lines.append("  - {name: %s, prefixes: [%s]}" % (
            name, ", ".join(json.dumps(p) for p in prefixes)))
    lines.append("redis: {%s}" % ", ".join("%s: %s" % kv for kv in redis.items()))
    return "\n".join(lines) + "\n"


class Result:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.err, self.elapsed = rc, out, err, elapsed

    def stderr_tail(self, n=40):
        return "\n".join(self.err.splitlines()[-n:])


def write_config(text, directory=None):
    d = directory or tmpdir("dscfg")
    path = os.path.join(d, "darkscope-%d.yaml" % next(_config_seq))
    with open(path, "w") as f:
        f.write(text)
    return path


def darkscope_cmd(config_path, args, netns=None):
    cmd = [darkscope_bin(), "--config", config_path] + list(args)
    if netns:
        cmd = ["ip", "netns", "exec", netns] + cmd
    return cmd


def run_darkscope(config, args, timeout=300, netns=None, quiet=False):
    """Run the sensor to its end. config: YAML text. Returns a Result; prints
    the sensor's stderr when it did not exit 0."""
    path = write_config(config)
    t0 = time.monotonic()
    try:
        p = subprocess.run(darkscope_cmd(path, args, netns), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace")
        log("darkscope did not finish within %d s; stderr:\n%s" % (timeout, err[-4000:]))
        return Result(None, (e.stdout or b"").decode(errors="replace"), err, timeout)
    res = Result(p.returncode, p.stdout.decode(errors="replace"),
                 p.stderr.decode(errors="replace"), time.monotonic() - t0)
    if res.rc != 0 and not quiet:
        log("darkscope exited %s; stderr (last lines):\n%s" % (res.rc, res.stderr_tail()))
    return res


class Background:
    """The sensor running in the background, stderr collected to a file."""

    def __init__(self, config, args, netns=None):
        self.dir = tmpdir("dsrun")
        self.config_path = write_config(config, self.dir)
        self.err_path = os.path.join(self.dir, "stderr.log")
        self.out_path = os.path.join(self.dir, "stdout.log")
        self.cmd = darkscope_cmd(self.config_path, args, netns)
        with open(self.err_path, "wb") as ef, open(self.out_path, "wb") as of:
            self.proc = subprocess.Popen(self.cmd, stdout=of, stderr=ef,
                                         stdin=subprocess.DEVNULL)
        self.t0 = time.monotonic()
        _background.append(self)

    def running(self):
        return self.proc.poll() is None

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout=120):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log("darkscope still running after %d s; killing it" % timeout)
            self.proc.kill()
            self.proc.wait()
            rc = None
        res = Result(rc, self.stdout(), self.stderr(), time.monotonic() - self.t0)
        if rc != 0:
            log("darkscope exited %s; stderr (last lines):\n%s" % (rc, res.stderr_tail()))
        return res


_background = []


@atexit.register
def _kill_background():
    for b in _background:
        if b.proc.poll() is None:
            b.proc.kill()
            b.proc.wait()


def run_gen(out, packets=None, duration=None, start=None, seed=None, prefixes=None,
            prefix6=None, truth=None, extra=None, timeout=300):
    """Write a synthetic capture with darkscope-gen; dies when it fails."""
    cmd = [gen_bin(), "--out", out]
    for p in prefixes or []:
        cmd += ["--prefix", p]
    if prefix6:
        cmd += ["--prefix6", prefix6]
    if start:
        cmd += ["--start", start]
    if duration:
        cmd += ["--duration", duration]
    if packets is not None:
        cmd += ["--packets", str(packets)]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if truth:
        cmd += ["--truth", truth]
    cmd += list(extra or [])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0 or not os.path.exists(out):
        die("darkscope-gen failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                                   p.stderr.decode(errors="replace")))
    return out


# ---------------------------------------------------------------------------
# Sinks: JSON lines and Redis, both as {(feed, minute_iso): line-like dict}

def read_jsonl(path):
    """Every JSON line of the file, parsed. Dies on a line that is not JSON."""
    lines = []
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                lines.append(json.loads(line))
            except ValueError as e:
                die("%s:%d: not JSON (%s): %r" % (path, n, e, line[:200]))
    return lines


def jsonl_lines(path):
    """Complete lines of a JSON-lines file the sensor is still writing (0 before it
    exists): with one feed, the minutes sealed so far. A line without its closing
    brace is still being written and is not counted."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for ln in f.read().splitlines() if ln.endswith("}"))


def index_jsonl(lines, sensor=SENSOR):
    """{(feed, minute): line}; duplicates are reported by check_jsonl_shape()."""
    out = {}
    for ln in lines:
        if ln.get("sensor") == sensor:
            out[(ln.get("feed"), ln.get("minute"))] = ln
    return out


def check_jsonl_shape(checks, label, lines, feeds):
    """Every line carries the schema's keys; one line per feed and minute."""
    keys = ("sensor", "feed", "minute", "partial", "sources_sampling", "packets", "bytes",
            "sources", "dims", "counters")
    bad = [ln for ln in lines if any(k not in ln for k in keys)
           or any(d not in ln.get("dims", {}) for d in DIMS)]
    checks.eq("%s: JSON lines lacking a schema key" % label, len(bad), 0)
    seen = {}
    for ln in lines:
        seen.setdefault((ln.get("feed"), ln.get("minute")), 0)
        seen[(ln.get("feed"), ln.get("minute"))] += 1
    dups = sum(1 for v in seen.values() if v > 1)
    checks.eq("%s: duplicate (feed, minute) JSON lines" % label, dups, 0)
    minutes = sorted({m for _, m in seen})
    missing = [(f, m) for m in minutes for f in feeds if (f, m) not in seen]
    checks.eq("%s: minutes lacking a line for some feed (feeds %s)" % (label, ",".join(feeds)),
              len(missing), 0)


def redis_minutes(client, feed, sensor=SENSOR, prefix=KEY_PREFIX):
    """Minutes (Redis form) in the feed's index, oldest first."""
    return client.call("ZRANGE", "%s:%s:%s:minutes" % (prefix, sensor, feed), "0", "-1")


def redis_minute_count(server, feed, sensor=SENSOR, prefix=KEY_PREFIX):
    """Minutes in the feed's index of a RedisServer, or None while it is unreachable.

    Outage tests ask while the server is being stopped and started: a refused
    connection or an error reply is an answer ("not now"), not a failure."""
    try:
        with Redis(server.sock, timeout=2.0) as c:
            return c.call("ZCARD", "%s:%s:%s:minutes" % (prefix, sensor, feed))
    except (OSError, ConnectionError, RedisError):
        return None


def wait_minutes(count, n, bg, timeout=120, poll=0.005):
    """Poll count() until it reports at least n minutes, the Background sensor bg
    exits, or timeout seconds pass, then return count()'s last answer (None if it
    was never asked, or had no answer).

    count is how the test sees the sensor's progress: redis_minute_count() of a
    server, or jsonl_lines() while Redis is down. The tests act
    (kill the sensor, stop Redis) the moment n minutes are there, so the default
    poll is short: a whole replay may take only a few seconds."""
    got = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and bg.running():
        got = count()
        if got is not None and got >= n:
            break
        time.sleep(poll)
    return got


def _zset(client, key):
    flat = client.call("ZRANGE", key, "0", "-1", "WITHSCORES")
    return {m: float(s) for m, s in zip(flat[0::2], flat[1::2])}


def _hash(client, key):
    flat = client.call("HGETALL", key)
    return dict(zip(flat[0::2], flat[1::2]))


def _num(v):
    """Redis strings and JSON numbers to one comparable form."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() else v
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            f = float(v)
            return int(f) if f.is_integer() else f
        except (TypeError, ValueError):
            return v


def redis_feed_minute(client, feed, minute_key_, sensor=SENSOR, prefix=KEY_PREFIX):
    """One feed-minute read from Redis into the shape of a JSON line
    (numbers as ints), or None when the summary hash is absent."""
    base = "%s:%s:%s:%s" % (prefix, sensor, feed, minute_key_)
    h = _hash(client, base)
    if not h:
        return None
    line = {"sensor": sensor, "feed": feed, "minute": minute_iso(minute_key_),
            "partial": h.get("partial") == "1",
            "sources_sampling": _num(h.get("sources_sampling")),
            "packets": _num(h.get("packets")), "bytes": _num(h.get("bytes")),
            "sources": _num(h.get("sources")), "dims": {}, "raw_hash": h}
    for dim in DIMS:
        pk = _zset(client, "%s:%s" % (base, dim))
        sr = _zset(client, "%s:%s:sources" % (base, dim))
        d = {}
        for label in set(pk) | set(sr):
            d[label] = {"packets": _num(pk.get(label)), "sources": _num(sr.get(label))}
        if dim == "proto":
            by = _zset(client, "%s:proto:bytes" % base)
            for label in set(by) | set(d):
                d.setdefault(label, {"packets": None, "sources": None})
                d[label]["bytes"] = _num(by.get(label))
        line["dims"][dim] = d
    ctr = _hash(client, "%s:%s:%s:counters" % (prefix, sensor, minute_key_))
    line["counters_partial"] = ctr.pop("partial", None)
    line["counters"] = {k: _num(v) for k, v in ctr.items()}
    return line


def norm_dims(dims):
    """JSON dims with ints, for comparison with redis_feed_minute()."""
    out = {}
    for dim in DIMS:
        out[dim] = {str(label): {k: _num(v) for k, v in e.items()}
                    for label, e in (dims or {}).get(dim, {}).items()}
    return out


def compare_json_redis(checks, label, jl_index, client, sensor=SENSOR, feeds=None):
    """The JSON lines and Redis hold the same feed-minutes with the same numbers.

    Prints one summary line per feed (and one line per difference found)."""
    feeds = feeds or sorted({f for f, _ in jl_index})
    for feed in feeds:
        jmins = sorted(minute_key(m) for f, m in jl_index if f == feed)
        rmins = redis_minutes(client, feed, sensor)
        checks.eq("%s feed %s: minutes in Redis index vs JSON lines" % (label, feed),
                  len(rmins), len(jmins))
        if set(rmins) != set(jmins):
            only_r = sorted(set(rmins) - set(jmins))[:5]
            only_j = sorted(set(jmins) - set(rmins))[:5]
            checks.ok(False, "%s feed %s: minutes only in Redis %s, only in JSON %s" % (
                label, feed, only_r, only_j))
        diffs = []
        compared = 0
        for mk in jmins:
            j = jl_index[(feed, minute_iso(mk))]
            r = redis_feed_minute(client, feed, mk, sensor)
            if r is None:
                diffs.append("%s: no summary hash in Redis" % minute_iso(mk))
                continue
            compared += 1
            for f in ("packets", "bytes", "sources", "sources_sampling", "partial"):
                if _num(j.get(f)) != _num(r[f]):
                    diffs.append("%s %s: redis %s json %s" % (minute_iso(mk), f, r[f], j.get(f)))
            jd = norm_dims(j.get("dims"))
            for dim in DIMS:
                if jd[dim] != r["dims"][dim]:
                    bad = sorted(set(jd[dim]) ^ set(r["dims"][dim]) |
                                 {k for k in set(jd[dim]) & set(r["dims"][dim])
                                  if jd[dim][k] != r["dims"][dim][k]}, key=str)[:3]
                    diffs.append("%s %s: values %s differ (redis %s json %s)" % (
                        minute_iso(mk), dim, bad,
                        [r["dims"][dim].get(b) for b in bad], [jd[dim].get(b) for b in bad]))
            jc = {k: _num(v) for k, v in (j.get("counters") or {}).items()}
            if jc != r["counters"]:
                ks = sorted(set(jc) | set(r["counters"]))
                bad = [k for k in ks if jc.get(k) != r["counters"].get(k)][:5]
                diffs.append("%s counters %s: redis %s json %s" % (
                    minute_iso(mk), bad, [r["counters"].get(k) for k in bad],
                    [jc.get(k) for k in bad]))
            if r["counters_partial"] != ("1" if j.get("partial") else "0"):
                diffs.append("%s counters partial: redis %s json %s" % (
                    minute_iso(mk), r["counters_partial"], j.get("partial")))
        for d in diffs[:20]:
            log("     %s feed %s: %s" % (label, feed, d))
        checks.eq("%s feed %s: feed-minutes where Redis != JSON (of %d compared)" % (
            label, feed, compared), len(diffs), 0)


def sum_field(lines, field, feed=None):
    return sum(_num(ln.get(field)) or 0 for ln in lines if feed is None or ln["feed"] == feed)


def counters_by_minute(lines):
    """{minute: counters} (counters are the same in every feed's line)."""
    out = {}
    for ln in lines:
        out.setdefault(ln["minute"], ln.get("counters") or {})
    return out


def sum_counter(lines, name):
    return sum(_num(c.get(name, 0)) or 0 for c in counters_by_minute(lines).values())


# ---------------------------------------------------------------------------
# pcap files

def read_pcap(path):
    """(linktype, [(ts_sec, ts_frac_ns, frame bytes)]) of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: too short for a pcap header" % path)
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        raise ValueError("%s: not a classic pcap file" % path)
    endian, mult = table[magic]
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    frames = []
    while off + 16 <= len(data):
        sec, frac, caplen, _wirelen = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append((sec, frac * mult, data[off:off + caplen]))
        off += caplen
    return linktype, frames


def _ip_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def udp_frame(src, dst, sport, dport, payload=b"darkscope test"):
    """An Ethernet II / IPv4 (checksummed) / UDP frame; src, dst: 4 octets."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                               bytes(src), bytes(dst)))
    struct.pack_into("!H", ip, 10, _ip_checksum(bytes(ip)))
    eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    return eth + bytes(ip) + udp


def write_pcap(path, frames, t=None):
    """A little-endian microsecond pcap of Ethernet frames, 1 us apart."""
    t = int(time.time()) if t is None else t
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", t + i // 1000000, i % 1000000, len(fr), len(fr)))
            f.write(fr)
    return path


def send_frames(iface, pcap, rate):
    """Send every frame of the pcap out of iface through an AF_PACKET socket,
    about `rate` frames per second. Returns (sent, errors)."""
    _, frames = read_pcap(pcap)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent = 0
    errors = []
    t0 = time.monotonic()
    for i, (_, _, fr) in enumerate(frames):
        # Pace against the start time so that the average rate holds.
        due = t0 + i / float(rate)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            if s.send(fr) == len(fr):
                sent += 1
            else:
                errors.append((i, "short send"))
        except OSError as e:
            errors.append((i, str(e)))
    s.close()
    return sent, errors


# ---------------------------------------------------------------------------
# Network namespace with a veth pair (live capture tests)

def need_root_and_ip():
    if os.geteuid() != 0:
        skip("needs root to create a network namespace")
    if not shutil.which("ip"):
        skip("needs ip (iproute2)")


def _ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), p.stderr.decode().strip()))
    return p.stdout.decode()


class NetNs:
    """A namespace holding a veth pair a <-> b, both up, IPv6 off, no addresses:
    nothing but what the test sends crosses the link."""

    def __init__(self):
        tag = "%d" % (os.getpid() % 100000)
        self.name = "dstest" + tag
        self.a = "dsa" + tag
        self.b = "dsb" + tag
        self.created = False

    def create(self):
        try:
            _ip("netns", "add", self.name)
        except RuntimeError as e:
            skip("cannot create a network namespace: %s" % e)
        self.created = True
        atexit.register(self.delete)
        # Off before the links exist, so they never send router solicitations
        # or MLD reports.
        for k in ("all", "default"):
            self.sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % k, check=False)
        _ip("-n", self.name, "link", "add", self.a, "type", "veth", "peer", "name", self.b)
        for dev in (self.a, self.b):
            self.sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev)
            # Room for QinQ-tagged full-size frames.
            _ip("-n", self.name, "link", "set", dev, "mtu", "9000")
            _ip("-n", self.name, "link", "set", dev, "up")
        return self

    def sh(self, *cmd, check=True):
        p = subprocess.run(["ip", "netns", "exec", self.name] + list(cmd),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.decode().strip()))
        return p.stdout.decode()

    def ifindex(self, dev):
        return int(self.sh("cat", "/sys/class/net/%s/ifindex" % dev).strip())

    def packet_socket_on(self, dev):
        """True when some AF_PACKET socket of the namespace is bound to dev."""
        idx = self.ifindex(dev)
        for line in self.sh("cat", "/proc/net/packet").splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 5 and cols[4] == str(idx):
                return True
        return False

    def link_stats(self, dev):
        out = self.sh("cat", "/sys/class/net/%s/statistics/rx_packets" % dev,
                      "/sys/class/net/%s/statistics/tx_packets" % dev)
        rx, tx = (int(x) for x in out.split())
        return rx, tx

    def send_pcap(self, dev, pcap, rate):
        """Send a capture's frames out of dev from inside the namespace."""
        p = subprocess.run(["ip", "netns", "exec", self.name, sys.executable,
                            os.path.abspath(__file__), "send", dev, pcap, str(rate)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if p.returncode != 0:
            die("sender failed: %s" % p.stderr.decode(errors="replace"))
        return json.loads(p.stdout.decode())

    def delete(self):
        if self.created:
            subprocess.run(["ip", "netns", "del", self.name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.created = False


def start_live_sensor(ns, redis_sock, feeds, jsonl, timeout=30.0, queues=1, lcores="auto",
                      dev_args="", ports=None):
    """Start darkscope on the namespace's veth end a; wait until it listens.

    queues > 1 opens that many af_packet sockets (qpairs, a PACKET_FANOUT
    group) as that many receive queues of the port; dev_args is appended to
    the device string (",framecnt=64"). ports, a list of (name, device) on
    end a, replaces the one port those make.

    The af_packet PMD opens its socket while EAL probes the port, before the
    workers poll, so after the socket appears we give the sensor a little
    longer; frames that arrive meanwhile wait in the socket's ring."""
    dev = "net_af_packet0,iface=%s" % ns.a
    if queues > 1:
        dev += ",qpairs=%d" % queues
    dev += dev_args
    cfg = config_text(redis_sock, feeds=feeds, ports=ports or [("veth", dev, queues)],
                      time_source="clock", lcores=lcores)
    bg = Background(cfg, ["--jsonl", jsonl], netns=ns.name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not bg.running():
            res = bg.wait(1)
            die("darkscope exited (%s) before listening; stderr:\n%s" % (
                res.rc, res.stderr_tail()))
        if ns.packet_socket_on(ns.a):
            time.sleep(2.0)
            if not bg.running():
                res = bg.wait(1)
                die("darkscope exited (%s) at start; stderr:\n%s" % (res.rc, res.stderr_tail()))
            return bg
        time.sleep(0.1)
    bg.signal(signal.SIGKILL)
    die("darkscope opened no packet socket on %s within %.0f s; stderr:\n%s" % (
        ns.a, timeout, bg.stderr()[-3000:]))


GEN_PREFIXES = ["198.18.0.0/16", "198.19.0.0/16", "2001:db8:d5::/48"]


def main(argv):
    """`dstest.py send IFACE PCAP RATE`: the sender run inside the namespace."""
    if len(argv) == 4 and argv[0] == "send":
        sent, errors = send_frames(argv[1], argv[2], float(argv[3]))
        json.dump({"sent": sent, "errors": errors[:20], "n_errors": len(errors)}, sys.stdout)
        return 0
    print("usage: dstest.py send IFACE PCAP RATE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
