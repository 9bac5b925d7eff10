# SPDX-License-Identifier: BSD-3-Clause
"""Secrets and attack surface: the Redis password is never logged or written
anywhere, and the sensor opens no listening network socket.

A network namespace holds a veth pair (as in test_live_afpacket.py) and a
redis-server started with --requirepass PASSWORD, a random string made for
this run. darkscope runs live on the veth's end a with statistics logged
every second and JSON lines; frames are sent from b; the sensor gets SIGHUP
(a reload), its telemetry socket is asked every command it lists, then it
gets SIGTERM. Cases:

  env    the password in redis.password_env, Redis over its unix socket;
  file   the password in redis.password_file, Redis over TCP on 127.0.0.1
         (an outbound connection, at most one, which is allowed);
  wrong  a wrong password: darkscope asks Redis once at start, so it stops
         there with exit 2 and an error naming AUTH (not a password), before
         it counts a packet; no key in Redis, and neither the wrong nor the
         right password printed.

In every case the password (whole, and its first and last 8 characters)
must not appear in: stdout, stderr, the JSON lines, any key name or value of
any Redis database (SCAN, then GET / HGETALL / ZRANGE / SMEMBERS / LRANGE and
DUMP of each key), the telemetry replies, the sensor's command line, and the
command line and environment of any child process of the sensor.

While the sensor runs its sockets are listed (/proc/PID/fd -> socket:[inode])
and looked up in /proc/PID/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}: no TCP
socket in LISTEN, no UDP or raw socket at all, TCP only ESTABLISHED to the
Redis port, and the only listening unix socket is DPDK's telemetry socket
(dpdk_telemetry.v2 under the EAL runtime directory).
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEEDS = [("dark", ["198.18.0.0/16"])]
PASSWORD = "ds-S3cret-" + secrets.token_hex(12)
WRONG = "ds-Wr0ng-" + secrets.token_hex(12)
ENV = "DS_TEST_REDIS_PASSWORD"
FRAMES = 400
RATE = 1000
REDIS_PORT = 16379
TCP_LISTEN = "0A"
TCP_ESTABLISHED = "01"
UNIX_ACCEPTCON = 0x10000


def needles(pw):
    return [pw, pw[:8], pw[-8:]]


def leaks(text, pws):
    """The needles of the passwords found in text."""
    return [n for pw in pws for n in needles(pw) if n in text]


class SecretRedis:
    """redis-server inside the namespace, password required, on a unix socket
    and on 127.0.0.1:REDIS_PORT of the namespace."""

    def __init__(self, ns):
        self.ns = ns
        self.dir = d.tmpdir("secredis")
        self.sock = os.path.join(self.dir, "redis.sock")
        self.proc = None

    def start(self):
        self.ns.sh("ip", "link", "set", "lo", "up")
        log = open(os.path.join(self.dir, "redis.log"), "wb")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, d.redis_server_bin(), "--port",
             str(REDIS_PORT), "--bind", "127.0.0.1", "--unixsocket", self.sock,
             "--unixsocketperm", "700", "--dir", self.dir, "--save", "", "--appendonly", "no",
             "--requirepass", PASSWORD],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with self.client() as c:
                    if c.call("PING") == "PONG":
                        return self
            except (OSError, ConnectionError, d.RedisError):
                pass
            time.sleep(0.05)
        d.die("redis-server with requirepass did not start, see %s" % self.dir)

    def client(self):
        c = d.Redis(self.sock)
        c.call("AUTH", PASSWORD)
        return c

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None


def redis_everything(server):
    """(number of keys, one text of every key name and value of every database)."""
    parts = []
    n = 0
    with server.client() as c:
        for db in range(16):
            c.call("SELECT", db)
            cursor = "0"
            while True:
                cursor, keys = c.call("SCAN", cursor, "COUNT", 1000)
                for k in keys:
                    n += 1
                    parts.append(k)
                    t = c.call("TYPE", k)
                    if t == "string":
                        parts.append(c.call("GET", k) or "")
                    elif t == "hash":
                        parts.extend(c.call("HGETALL", k))
                    elif t == "zset":
                        parts.extend(c.call("ZRANGE", k, 0, -1, "WITHSCORES"))
                    elif t == "set":
                        parts.extend(c.call("SMEMBERS", k))
                    elif t == "list":
                        parts.extend(c.call("LRANGE", k, 0, -1))
                    parts.append(c.call("DUMP", k) or "")
                if cursor == "0":
                    break
    return n, "\n".join(str(p) for p in parts)


def proc_net(pid, name):
    """Rows of /proc/PID/net/NAME (the sensor's network namespace), split."""
    try:
        with open("/proc/%d/net/%s" % (pid, name)) as f:
            return [ln.split() for ln in f.read().splitlines()[1:]]
    except OSError:
        return []


def socket_inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def inet_port(addr):
    return int(addr.split(":")[1], 16)


def check_sockets(checks, tag, pid, tcp_redis):
    """The sensor's sockets by kind; returns the telemetry socket path or None."""
    inodes = socket_inodes(pid)
    found = {}
    problems = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        for row in proc_net(pid, table):
            if len(row) > 9 and row[9] in inodes:
                found.setdefault(table, []).append(row)
                st = row[3]
                if table.startswith("tcp"):
                    if st == TCP_LISTEN:
                        problems.append("%s LISTEN on port %d" % (table, inet_port(row[1])))
                    elif not (tcp_redis is not False and st == TCP_ESTABLISHED and
                              inet_port(row[2]) == REDIS_PORT):
                        problems.append("%s state %s local %s remote %s" % (
                            table, st, row[1], row[2]))
                else:
                    problems.append("%s socket local port %d" % (table, inet_port(row[1])))
    listening = []
    for row in proc_net(pid, "unix"):
        if len(row) > 6 and row[6] in inodes:
            found.setdefault("unix", []).append(row)
            if int(row[3], 16) & UNIX_ACCEPTCON:
                listening.append(row[7] if len(row) > 7 else "(no path)")
    n_tcp = len(found.get("tcp", [])) + len(found.get("tcp6", []))
    d.log("     %s: %d sockets: %s; listening unix sockets %s" % (
        tag, len(inodes), {k: len(v) for k, v in sorted(found.items())}, listening))
    checks.ok(not problems, "%s: no listening, bound or unexpected TCP/UDP/raw socket: %s" % (
        tag, problems))
    if tcp_redis is None:
        # The writer connects when it has a minute to write, and a refused
        # AUTH closes the connection until the next retry: at most one.
        checks.ok(n_tcp <= 1, "%s: outbound TCP connections to Redis %d <= 1" % (tag, n_tcp))
    else:
        checks.eq("%s: outbound TCP connections to Redis" % tag, n_tcp, 1 if tcp_redis else 0)
    tele = [p for p in listening if p.endswith("/dpdk_telemetry.v2") and "/dpdk/" in p]
    checks.ok(len(listening) == 1 and len(tele) == 1,
              "%s: the only listening unix socket is DPDK telemetry's: %s" % (tag, listening))
    return tele[0] if tele else None


def telemetry_replies(path):
    """Every command the telemetry socket lists, asked without and with ",0"."""
    replies = []

    def ask(s, cmd):
        s.send(cmd.encode())
        replies.append(s.recv(1 << 20).decode(errors="replace"))
        return replies[-1]

    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    replies.append(s.recv(1 << 16).decode(errors="replace"))
    cmds = json.loads(ask(s, "/"))["/"]
    for cmd in cmds:
        if cmd == "/darkscope/reload":
            continue        # SIGHUP is sent separately
        ask(s, cmd)
        ask(s, cmd + ",0")
    s.close()
    return cmds, replies


def children_text(pid):
    """Command lines and environments of the sensor's child processes."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            for name in ("cmdline", "environ"):
                with open("/proc/%s/%s" % (p, name), "rb") as f:
                    out.append(f.read().decode(errors="replace"))
        except (OSError, ValueError, IndexError):
            continue
    return len(out) // 2, "\n".join(out)


def sensor_config(server, mode, work):
    extra = {"retention": "1h", "drain_timeout": "60s"}
    if mode == "env":
        extra.update({"unix_socket": json.dumps(server.sock), "password_env": ENV})
    else:
        pw_file = os.path.join(work, "redis-password-%s" % mode)
        with open(pw_file, "w") as f:
            f.write((PASSWORD if mode == "file" else WRONG) + "\n")
        os.chmod(pw_file, 0o600)
        extra.update({"unix_socket": '""', "host": "127.0.0.1", "port": str(REDIS_PORT),
                      "password_file": json.dumps(pw_file)})
    text = d.config_text(server.sock, feeds=FEEDS, time_source="clock",
                         ports=[("veth", "net_af_packet0,iface=%s" % server.ns.a)],
                         redis_extra=extra)
    return text.replace("stats_interval: 0", "stats_interval: 1s")


def case_bad_arguments(checks, work, pcap):
    """password_env and password_file together, and an unset variable, are refused
    naming the key, not a password."""
    base = d.config_text(None, redis_extra={"password_env": ENV,
                                            "password_file": json.dumps("/nonexistent")})
    path = d.write_config(base, work)
    p = subprocess.run([d.darkscope_bin(), "--check-config", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    checks.ok(p.returncode == 2 and "mutually exclusive" in err,
              "bad arguments: password_env and password_file: exit %s (want 2), stderr says "
              "mutually exclusive: %s" % (p.returncode, "mutually exclusive" in err))
    env = dict(os.environ)
    env.pop(ENV, None)
    cfg = d.write_config(d.config_text("/nonexistent/redis.sock",
                                       redis_extra={"password_env": ENV}), work)
    p = subprocess.run([d.darkscope_bin(), "--config", cfg, "--replay", pcap], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    checks.ok(p.returncode not in (0, None) and ENV in err and "not set" in err,
              "bad arguments: password_env names an unset variable: exit %s (want != 0), "
              "stderr names %s and 'not set': %s" % (p.returncode, ENV, ENV in err))


def case_wrong_password(checks, ns, server, work):
    """A refused AUTH is a configuration error found at start: exit 2, no password shown."""
    tag = "wrong"
    with server.client() as c:
        c.call("FLUSHALL")
    os.environ.pop(ENV, None)
    jl = os.path.join(work, "wrong.jsonl")
    bg = d.Background(sensor_config(server, "wrong", work), ["--jsonl", jl], netns=ns.name)
    res = bg.wait(60)
    auth = [ln for ln in res.err.splitlines() if "AUTH refused" in ln]
    checks.eq("%s: exit code at start (configuration error)" % tag, res.rc, 2)
    checks.ok(auth and "WRONGPASS" in auth[0],
              "%s: stderr names the refused AUTH and its code: %s" % (tag, auth[:1]))
    checks.ok("polls" not in res.err,
              "%s: no worker was started (stopped before counting)" % tag)
    n_keys, values = redis_everything(server)
    checks.eq("%s: keys in Redis with a wrong password" % tag, n_keys, 0)
    for what, text in (("stdout", res.out), ("stderr", res.err), ("Redis", values)):
        found = leaks(text, [PASSWORD, WRONG])
        checks.ok(not found, "%s: no password in %s (%d bytes): %s" % (
            tag, what, len(text), found))


def run_case(checks, ns, server, mode, work, pcap):
    tag = mode
    jl = os.path.join(work, "%s.jsonl" % mode)
    with server.client() as c:
        c.call("FLUSHALL")
    if mode == "env":
        os.environ[ENV] = PASSWORD
    else:
        os.environ.pop(ENV, None)
    cfg = sensor_config(server, mode, work)
    bg = d.Background(cfg, ["--jsonl", jl], netns=ns.name)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and bg.running() and not ns.packet_socket_on(ns.a):
        time.sleep(0.1)
    time.sleep(2.0)
    if not bg.running():
        res = bg.wait(1)
        d.die("%s: darkscope exited (%s) at start:\n%s" % (tag, res.rc, res.stderr_tail()))
    pid = bg.proc.pid
    sent = ns.send_pcap(ns.b, pcap, RATE)
    checks.eq("%s: frames sent" % tag, sent["sent"], FRAMES)
    time.sleep(1.5)            # at least one statistics line after the frames
    tele_path = check_sockets(checks, tag, pid, tcp_redis=False if mode == "env" else None)
    texts = {}
    if tele_path:
        cmds, replies = telemetry_replies(tele_path)
        texts["telemetry replies"] = "\n".join(replies)
        checks.ok("/darkscope/stats" in cmds and any('"packets"' in r for r in replies),
                  "%s: telemetry answered %d commands, /darkscope/stats among them" % (
                      tag, len(cmds)))
    bg.signal(signal.SIGHUP)
    time.sleep(1.5)
    n_children, texts["children's cmdline and environ"] = children_text(pid)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        texts["the sensor's cmdline"] = f.read().decode(errors="replace")
    if mode != "env":
        # The file cases never put a password in the environment.
        with open("/proc/%d/environ" % pid, "rb") as f:
            texts["the sensor's environ (password in a file)"] = f.read().decode(
                errors="replace")
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    texts["stdout"] = res.out
    texts["stderr"] = res.err
    with open(jl, errors="replace") as f:
        texts["JSON lines"] = f.read()
    n_keys, texts["Redis keys and values"] = redis_everything(server)
    d.log("     %s: %d child processes, %d Redis keys, %d stderr lines, %d stats lines" % (
        tag, n_children, n_keys, len(res.err.splitlines()), res.err.count("stats: ")))
    for what, text in sorted(texts.items()):
        found = leaks(text, [PASSWORD, WRONG])
        checks.ok(not found, "%s: no password in %s (%d bytes): %s" % (
            tag, what, len(text), found))
    checks.ok(res.err.count("stats: ") >= 2, "%s: statistics were logged (%d times)" % (
        tag, res.err.count("stats: ")))
    checks.eq("%s: exit code" % tag, res.rc, 0)
    lines = d.read_jsonl(jl)
    dark = [ln for ln in lines if ln["feed"] == "dark"]
    checks.eq("%s: packets in the JSON lines" % tag, d.sum_field(dark, "packets"), FRAMES)
    with server.client() as c:
        rp = sum((d.redis_feed_minute(c, "dark", mk) or {"packets": 0})["packets"]
                 for mk in d.redis_minutes(c, "dark"))
    checks.eq("%s: packets in Redis (written with the password)" % tag, rp, FRAMES)
    checks.ok(n_keys > 0, "%s: Redis holds %d keys to search" % (tag, n_keys))


def main():
    d.need_root_and_ip()
    d.darkscope_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("secrets")
    pcap = d.write_pcap(os.path.join(work, "frames.pcap"), [
        d.udp_frame((203, 0, 113, i % 200 + 1), (198, 18, 0, i % 256), 40000, 53)
        for i in range(FRAMES)])
    case_bad_arguments(checks, work, pcap)
    ns = d.NetNs().create()
    try:
        server = SecretRedis(ns).start()
        with d.Redis(server.sock) as c:
            try:
                c.call("SET", "probe", "x")
                checks.ok(False, "redis-server requires a password: SET without AUTH refused")
            except d.RedisError as e:
                checks.ok("NOAUTH" in str(e), "redis-server requires a password: %s" % e)
        for mode in ("env", "file"):
            run_case(checks, ns, server, mode, work, pcap)
        case_wrong_password(checks, ns, server, work)
        server.stop()
    finally:
        ns.delete()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
