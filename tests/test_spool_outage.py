# SPDX-License-Identifier: BSD-3-Clause
"""The durable spool: minutes that outlast the memory queue while Redis is
down go to disk, reach Redis in full when it returns, and survive a SIGKILL.

 0. Bad arguments: --check-config with redis.spool_dir naming a regular
    file, a directory under a file, or one whose nearest existing ancestor
    is a file exits 2 with a message naming the key and the reason. (A
    missing spool directory is created at start, with its parents: the spool
    directory of the outage case below does not exist beforehand.)
 1. Reference: a generated capture of 60 simulated minutes (60,000 packets)
    replayed into server A without interruption.
 2. Outage: the same capture with queue_minutes 3 and a spool directory
    while server B is down. Every minute is sealed (60 JSON lines) with at
    most 3 + 1 minutes in memory, so at least 56 files must be in the spool
    while the sensor waits in its drain. B is then started: the sensor must
    exit 0, the spool must be empty, and B must equal A key for key.
 3. Kill: the same with server C down; once every minute is sealed the
    sensor is killed with SIGKILL, leaving its spool behind (the minutes still
    in memory are lost with it, as they would be without a spool). A corrupt
    file and a torn one of the sensor are planted next to the spool files, C is
    started and the sensor started again with an empty capture. It must
    deliver exactly the spooled minutes, each equal key for key to A's, set
    the two planted files aside in bad/ with a log line naming each, and
    leave the spool empty.

The counters redis.spooled_total and redis.spool_bad_total (present only
with a spool, running totals of the run) are left out of the comparison;
everything else, hours and days included, is compared.
"""

import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEED = "all"
MINUTES = 60
QUEUE = 3
RUN_COUNTERS = ("redis.spooled_total", "redis.spool_bad_total")


def strip_run_counters(snap):
    """The snapshot without the spool's running totals (hash fields)."""
    out = {}
    for k, (t, v) in snap.items():
        if t == "hash":
            v = {f: x for f, x in v.items() if f not in RUN_COUNTERS}
        out[k] = (t, v)
    return out


def spool_files(directory):
    if not os.path.isdir(directory):
        return []
    return sorted(f for f in os.listdir(directory) if f.endswith(".spool"))


def case_bad_arguments(checks, work):
    plain = os.path.join(work, "plain-file")
    with open(plain, "w") as f:
        f.write("not a directory\n")
    for label, path, want in (("a regular file", plain, "not a directory"),
                              ("a directory under a file", os.path.join(plain, "spool"),
                               "is not a directory"),
                              ("under a missing directory under a file",
                               os.path.join(plain, "absent", "spool"),
                               "is not a directory")):
        cfg = d.write_config(d.config_text(os.path.join(work, "absent.sock"),
                                           redis_extra={"spool_dir": path}))
        p = d.subprocess.run([d.darkscope_bin(), "--check-config", cfg],
                             stdout=d.subprocess.PIPE, stderr=d.subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace").strip()
        checks.eq("bad arguments: spool_dir %s: --check-config exit code" % label,
                  p.returncode, 2)
        checks.ok("redis.spool_dir" in err and want in err,
                  "bad arguments: the message names redis.spool_dir and says %r: %s"
                  % (want, err))


def reference(checks, cap):
    a = d.RedisServer("spoolA").start()
    res = d.run_darkscope(d.config_text(a.sock), ["--replay", cap], timeout=300)
    checks.eq("reference run: exit code", res.rc, 0)
    if res.rc != 0:
        d.die("the reference run failed")
    with a.client() as c:
        snap = d.snapshot(c)
        n = len(d.redis_minutes(c, FEED))
    checks.eq("reference run: minutes in Redis", n, MINUTES)
    a.stop()
    return snap


def spool_config(sock, spool):
    return d.config_text(sock, redis_extra={
        "queue_minutes": str(QUEUE), "spool_dir": spool, "spool_max_mb": "64",
        "drain_timeout": "120s", "retry_max": "200ms"})


def outage(checks, work, cap, snap_a):
    b = d.RedisServer("spoolB")          # not started: Redis is down
    spool = os.path.join(work, "var", "lib", "spool-b")
    jl = os.path.join(work, "outage.jsonl")
    bg = d.Background(spool_config(b.sock, spool), ["--replay", cap, "--jsonl", jl])
    sealed = d.wait_minutes(lambda: d.jsonl_lines(jl), MINUTES, bg, poll=0.05)
    time.sleep(0.5)
    files = spool_files(spool)
    waiting = bg.running()
    checks.ok(waiting and sealed == MINUTES,
              "outage: all %d minutes sealed (%s) with Redis down, sensor waiting in its "
              "drain: %s" % (MINUTES, sealed, waiting))
    checks.ok(len(files) >= MINUTES - QUEUE - 1,
              "outage: files in the spool while Redis is down: %d >= %d"
              % (len(files), MINUTES - QUEUE - 1))
    if not waiting:
        res = bg.wait(5)
        d.log("     outage: the sensor exited %s early; stderr:\n%s" % (res.rc,
                                                                       res.stderr_tail()))
        return
    b.start()
    res = bg.wait(180)
    checks.eq("outage: exit code after Redis came up", res.rc, 0)
    warned = [x for x in res.err.splitlines() if "does not answer at start" in x]
    checks.ok(warned and "then the spool" in warned[0],
              "outage: a Redis down at start is a warning naming the queue and the spool, "
              "not an error: %s" % warned[:1])
    for ln in [x for x in res.err.splitlines() if re.search(r"spool", x, re.I)][:6]:
        d.log("     sensor log: %s" % ln)
    checks.eq("outage: spool files left after delivery", spool_files(spool), [])
    with b.client() as c:
        snap_b = d.snapshot(c)
        n = len(d.redis_minutes(c, FEED))
    checks.eq("outage: minutes in Redis", n, MINUTES)
    spooled = [d._num(x["counters"].get("redis.spooled_total"))
               for x in d.read_jsonl(jl) if x["feed"] == FEED]
    d.log("     outage: redis.spooled_total in the last minutes sealed: %s" % spooled[-5:])
    checks.ok(spooled and spooled[-1] >= MINUTES - QUEUE - 1,
              "outage: the minutes' counter redis.spooled_total reaches %s >= %d"
              % (spooled[-1] if spooled else None, MINUTES - QUEUE - 1))
    diff = d.snapshot_diff(strip_run_counters(snap_b), strip_run_counters(snap_a))
    for line in diff:
        d.log("     B vs A: %s" % line)
    checks.eq("outage: keys in B vs A", len(snap_b), len(snap_a))
    checks.eq("outage: snapshot differences B vs A", len(diff), 0)
    b.stop()


def empty_pcap(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    return path


def minute_of_file(name):
    # SENSOR.YYYYMMDDHHMM.SEQ.spool
    return name.split(".")[-3]


def kill_and_restart(checks, work, cap, snap_a):
    c_srv = d.RedisServer("spoolC")      # not started
    spool = os.path.join(work, "spool-c")
    jl = os.path.join(work, "kill.jsonl")
    bg = d.Background(spool_config(c_srv.sock, spool), ["--replay", cap, "--jsonl", jl])
    sealed = d.wait_minutes(lambda: d.jsonl_lines(jl), MINUTES, bg, poll=0.05)
    time.sleep(0.5)
    running = bg.running()
    bg.proc.kill()
    bg.proc.wait()
    files = spool_files(spool)
    checks.ok(running and sealed == MINUTES,
              "kill: the sensor was running with all %s minutes sealed when killed: %s"
              % (sealed, running))
    checks.ok(len(files) >= MINUTES - QUEUE - 1,
              "kill: files in the spool after SIGKILL: %d >= %d"
              % (len(files), MINUTES - QUEUE - 1))
    spooled_minutes = sorted({minute_of_file(f) for f in files})
    # A corrupt file and a torn one, named like the sensor's own.
    corrupt = "%s.%s.9999999998.spool" % (d.SENSOR, spooled_minutes[0])
    with open(os.path.join(spool, corrupt), "wb") as f:
        f.write(b"DSSPOOL\n" + os.urandom(200))
    torn = "%s.%s.9999999999.spool" % (d.SENSOR, spooled_minutes[-1])
    with open(os.path.join(spool, files[-1]), "rb") as f:
        whole = f.read()
    with open(os.path.join(spool, torn), "wb") as f:
        f.write(whole[:len(whole) // 2])

    c_srv.start()
    empty = empty_pcap(os.path.join(work, "empty.pcap"))
    res = d.run_darkscope(spool_config(c_srv.sock, spool), ["--replay", empty], timeout=180)
    checks.eq("kill: restarted sensor with an empty capture: exit code", res.rc, 0)
    for ln in [x for x in res.err.splitlines() if re.search(r"spool", x, re.I)][:6]:
        d.log("     sensor log: %s" % ln)
    for name in (corrupt, torn):
        logged = [x for x in res.err.splitlines() if name in x and "bad" in x]
        checks.ok(logged, "kill: planted %s set aside and logged: %s" % (
            name, logged[0] if logged else None))
        checks.ok(os.path.exists(os.path.join(spool, "bad", name)),
                  "kill: %s is in %s/bad/" % (name, os.path.basename(spool)))
    checks.eq("kill: spool files left after delivery", spool_files(spool), [])
    with c_srv.client() as c:
        snap_c = d.snapshot(c)
        have = d.redis_minutes(c, FEED)
    checks.eq("kill: minutes in Redis are exactly the spooled ones", have, spooled_minutes)
    # Minute-level keys of the spooled minutes must equal the reference run's.
    pick = set(spooled_minutes)

    def minute_keys(snap):
        return {k: v for k, v in snap.items() if set(k.split(":")) & pick}
    got, want = strip_run_counters(minute_keys(snap_c)), strip_run_counters(minute_keys(snap_a))
    diff = d.snapshot_diff(got, want)
    for line in diff:
        d.log("     C vs A: %s" % line)
    d.log("     kill: %d keys of %d spooled minutes compared" % (len(want), len(pick)))
    checks.ok(len(want) >= len(pick), "kill: reference keys of the spooled minutes: %d"
              % len(want))
    checks.eq("kill: snapshot differences C vs A over the spooled minutes", len(diff), 0)
    c_srv.stop()


def main():
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("spool")
    case_bad_arguments(checks, work)
    cap = d.run_gen(os.path.join(work, "sixty.pcap"), packets=60000, duration="%dm" % MINUTES,
                    seed=17)
    snap_a = reference(checks, cap)
    outage(checks, work, cap, snap_a)
    kill_and_restart(checks, work, cap, snap_a)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
