# SPDX-License-Identifier: BSD-3-Clause
"""Redis going away must cost nothing when replaying, and exactly what the
drop policy says otherwise.

 0. Bad arguments and the drain contract: an unparsable --redis URL exits
    2; with no Redis at all and a short drain_timeout the sensor exits 3.
 1. Reference: a generated capture of many minutes (1,000,000 packets over
    600 minutes) replayed into server A without interruption.
 2. Outage: the same capture into server B; as soon as a few minutes are in
    B, B is shut down (SHUTDOWN SAVE) while the sensor is still running,
    kept down ~3 s, and started again on the same socket and data directory.
    The sensor must exit 0 and B must end up key for key equal to A.
 3. Drop policy: queue_full drop_oldest, queue_minutes 5, Redis down for the
    whole replay of a 20-minute capture. Redis is started only after the
    sensor has sealed every minute (all JSON lines written) and is waiting
    in its drain. Redis must then hold exactly the last 5 minutes, and the
    sensor's log must report the 15 dropped minutes.

Timing counters (worker.N.cycles, worker.N.busy_cycles) are left out of the
snapshot comparison; they measure the run, not the traffic.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEED = "all"


def case_bad_arguments(checks, work):
    cfg = d.config_text(os.path.join(work, "absent.sock"),
                        redis_extra={"drain_timeout": "3s"})
    r = d.run_darkscope(cfg, ["--redis", "redis://host:notaport/0", "--replay", "/dev/null"],
                        timeout=60, quiet=True)
    checks.eq("bad arguments: --redis redis://host:notaport/0: exit code", r.rc, 2)
    cap = d.run_gen(os.path.join(work, "small.pcap"), packets=2000, duration="3m", seed=5)
    r = d.run_darkscope(cfg, ["--replay", cap], timeout=120, quiet=True)
    checks.eq("no Redis, drain_timeout 3s: exit code (sealed minutes undelivered)", r.rc, 3)
    checks.ok(r.elapsed < 60, "no Redis, drain_timeout 3s: the sensor gave up after %.1f s"
              % r.elapsed)


def reference(checks, cap):
    a = d.RedisServer("refA").start()
    res = d.run_darkscope(d.config_text(a.sock), ["--replay", cap], timeout=400)
    checks.eq("reference run: exit code", res.rc, 0)
    if res.rc != 0:
        d.die("the reference run failed")
    with a.client() as c:
        snap = d.snapshot(c)
        n = len(d.redis_minutes(c, FEED))
    d.log("     reference run: %.1f s, %d minutes, %d keys" % (res.elapsed, n, len(snap)))
    checks.eq("reference run: minutes in Redis", n, 600)
    a.stop()
    return snap, res.elapsed


def outage(checks, cap, snap_a):
    b = d.RedisServer("outB").start()
    bg = d.Background(d.config_text(b.sock), ["--replay", cap])
    written = d.wait_minutes(lambda: d.redis_minute_count(b, FEED), 3, bg)
    running_at_stop = bg.running()
    t_stop = time.monotonic() - bg.t0
    b.stop(save=True)
    running_after_stop = bg.running()
    checks.ok(running_at_stop and running_after_stop,
              "outage: sensor running when Redis was shut down (%.2f s into the run, "
              "%s minutes written): %s" % (t_stop, written, running_at_stop and running_after_stop))
    checks.ok(written is not None and written < 600,
              "outage: minutes in Redis when it went down: %s < 600" % written)
    time.sleep(3)
    running_during = bg.running()
    checks.ok(running_during, "outage: sensor still running after 3 s without Redis: %s"
              % running_during)
    b.start()
    after_restart = d.redis_minute_count(b, FEED)
    d.log("     outage: minutes in Redis after the restart (from dump.rdb, the sensor may "
          "already be writing again): %s" % after_restart)
    res = bg.wait(300)
    checks.eq("outage: exit code", res.rc, 0)
    for line in [ln for ln in res.err.splitlines() if re.search(r"redis", ln, re.I)][:10]:
        d.log("     sensor log: %s" % line)
    with b.client() as c:
        snap_b = d.snapshot(c)
        n = len(d.redis_minutes(c, FEED))
    d.log("     outage: minutes before the outage %s, after the run %d" % (written, n))
    diff = d.snapshot_diff(snap_b, snap_a)
    for line in diff:
        d.log("     B vs A: %s" % line)
    checks.eq("outage: keys in B vs A", len(snap_b), len(snap_a))
    checks.eq("outage: snapshot differences B vs A", len(diff), 0)
    b.stop()


def drop_policy(checks, work):
    cap = d.run_gen(os.path.join(work, "drop.pcap"), packets=20000, duration="20m", seed=7)
    c_srv = d.RedisServer("dropC")          # not started: Redis is down
    jl = os.path.join(c_srv.dir, "drop.jsonl")
    cfg = d.config_text(c_srv.sock, redis_extra={
        "queue_full": "drop_oldest", "queue_minutes": "5", "drain_timeout": "90s"})
    bg = d.Background(cfg, ["--replay", cap, "--jsonl", jl])
    # All 20 minutes sealed = 20 JSON lines (one feed); then the sensor can
    # only be in its drain, waiting for Redis.
    sealed = d.wait_minutes(lambda: d.jsonl_lines(jl), 20, bg, timeout=60, poll=0.05)
    time.sleep(1.0)
    waiting = bg.running()
    checks.ok(waiting and sealed == 20,
              "drop policy: all minutes sealed (%s JSON lines of 20) and the sensor waiting "
              "for Redis: %s" % (sealed, waiting))
    if not waiting:
        res = bg.wait(5)
        d.log("     drop policy: the sensor exited %s before Redis came up; stderr:\n%s" % (
            res.rc, res.stderr_tail()))
        return
    c_srv.start()
    res = bg.wait(150)
    checks.eq("drop policy: exit code after Redis came up", res.rc, 0)
    all_lines = d.read_jsonl(jl)
    minutes = sorted(ln["minute"] for ln in all_lines if ln["feed"] == FEED)
    checks.eq("drop policy: minutes in the JSON lines", len(minutes), 20)
    last5 = [d.minute_key(m) for m in minutes[-5:]]
    with c_srv.client() as c:
        have = d.redis_minutes(c, FEED)
        checks.eq("drop policy: minutes in Redis", have, last5)
        hashes = sorted(k.split(":")[3] for k in c.call("KEYS", "%s:%s:%s:2*" % (
            d.KEY_PREFIX, d.SENSOR, FEED)) if k.count(":") == 3)
        checks.eq("drop policy: minute hashes in Redis", hashes, last5)
        idx = {k: v for k, v in d.index_jsonl(all_lines).items()
               if d.minute_key(k[1]) in last5}
        d.compare_json_redis(checks, "drop policy", idx, c, feeds=[FEED])
    drop_lines = [ln for ln in res.err.splitlines() if re.search(r"drop", ln, re.I)]
    for ln in drop_lines[:10]:
        d.log("     sensor log: %s" % ln)
    checks.ok(any(re.search(r"\b15\b", ln) for ln in drop_lines),
              "drop policy: a log line reports 15 dropped minutes: %s" % (
                  any(re.search(r"\b15\b", ln) for ln in drop_lines)))
    totals = [d._num(ln["counters"].get("redis.dropped_total")) for ln in all_lines
              if ln["feed"] == FEED]
    d.log("     drop policy: counters redis.dropped_total per minute: %s" % totals)
    c_srv.stop()


def main():
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("outage")
    case_bad_arguments(checks, work)
    cap = d.run_gen(os.path.join(work, "many.pcap"), packets=1000000, duration="600m", seed=3)
    snap_a, _ = reference(checks, cap)
    outage(checks, cap, snap_a)
    drop_policy(checks, work)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
