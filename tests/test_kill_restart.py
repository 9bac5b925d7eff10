# SPDX-License-Identifier: BSD-3-Clause
"""A sensor killed with SIGKILL in the middle of a replay and started again on
the same capture leaves Redis exactly as one clean run does.

The minutes written before the kill are written again by the second run;
the Lua script rewrites a minute with absolute values and applies only the
new-minus-old difference to its hour and day (docs/SCHEMA.md, "Sums are
applied exactly once"), so nothing may be doubled, and the second run covers
every minute, so nothing may be missing. SIGKILL gives the sensor no chance to
write a partial minute: no minute may be marked partial either.

 0. Bad arguments: a capture that does not exist exits 2 and writes nothing.
 1. Reference: a generated capture (1,000,000 packets over 300 simulated
    minutes) replayed into server A without interruption.
 2. Kill: the same capture into server B; as soon as at least 5 minutes are
    in B (and fewer than all), the sensor is killed with SIGKILL.
 3. Restart: the same capture again into B, to the end. B must equal A key
    for key, hours and days included, counters included (a replayed minute
    holds no timing of the run).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEED = "all"
MINUTES = 300


def case_bad_arguments(checks, work):
    with d.RedisServer("killArgs") as s:
        r = d.run_darkscope(d.config_text(s.sock),
                            ["--replay", os.path.join(work, "absent.pcap")],
                            timeout=60, quiet=True)
        checks.eq("bad arguments: missing capture: exit code", r.rc, 2)
        with s.client() as c:
            checks.eq("bad arguments: keys written to Redis", c.call("DBSIZE"), 0)


def partial_minutes(snap):
    return sorted(k for k, (t, v) in snap.items()
                  if t == "hash" and k.endswith(":counters") and v.get("partial") not in
                  (None, "0"))


def main():
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("killrestart")
    case_bad_arguments(checks, work)
    cap = d.run_gen(os.path.join(work, "long.pcap"), packets=1000000,
                    duration="%dm" % MINUTES, seed=23)

    a = d.RedisServer("killA").start()
    res = d.run_darkscope(d.config_text(a.sock), ["--replay", cap], timeout=400)
    checks.eq("reference run: exit code", res.rc, 0)
    if res.rc != 0:
        d.die("the reference run failed")
    with a.client() as c:
        snap_a = d.snapshot(c)
        n_a = len(d.redis_minutes(c, FEED))
    d.log("     reference run: %.1f s, %d minutes, %d keys" % (res.elapsed, n_a, len(snap_a)))
    checks.eq("reference run: minutes in Redis", n_a, MINUTES)
    a.stop()

    b = d.RedisServer("killB").start()
    bg = d.Background(d.config_text(b.sock), ["--replay", cap])
    written = d.wait_minutes(lambda: d.redis_minute_count(b, FEED), 5, bg)
    running = bg.running()
    bg.proc.kill()
    bg.proc.wait()
    after_kill = d.redis_minute_count(b, FEED)
    checks.ok(running, "kill: the sensor was running when killed (%.2f s in, %s minutes "
              "written)" % (time.monotonic() - bg.t0, written))
    checks.ok(after_kill is not None and 5 <= after_kill < MINUTES,
              "kill: minutes in Redis after SIGKILL: 5 <= %s < %d" % (after_kill, MINUTES))

    res = d.run_darkscope(d.config_text(b.sock), ["--replay", cap], timeout=400)
    checks.eq("restart: exit code", res.rc, 0)
    with b.client() as c:
        snap_b = d.snapshot(c)
        n_b = len(d.redis_minutes(c, FEED))
    checks.eq("restart: minutes in Redis", n_b, MINUTES)
    checks.eq("restart: partial minutes", partial_minutes(snap_b), [])
    diff = d.snapshot_diff(snap_b, snap_a)
    for line in diff:
        d.log("     B vs A: %s" % line)
    checks.eq("restart: keys in B vs A", len(snap_b), len(snap_a))
    checks.eq("restart: snapshot differences B vs A (hours and days included)", len(diff), 0)
    b.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
