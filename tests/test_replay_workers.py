# SPDX-License-Identifier: BSD-3-Clause
"""Two workers, one minute: the merge unites what each worker saw.

The sensor runs two worker lcores (an lcore map, so that this works on a
two-CPU machine) and replays two captures, one per worker. The captures come
from the same generator seed and overlap by ten minutes, so in those minutes
both workers count packets from the same sources. For every minute the
merged packets, distinct sources and per-port figures must equal tshark's
figures for the two files taken together: adding the workers' distinct
sources instead of uniting them, or sealing a minute before both workers
have passed it, shows up as a difference.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import test_replay_real as real  # noqa: E402
import truth  # noqa: E402


def main():
    d.darkscope_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()
    work = d.tmpdir("workers")
    a = d.run_gen(os.path.join(work, "a.pcap"), packets=60000, duration="20m",
                  start="2024-05-20T00:00:00Z", seed=11)
    b = d.run_gen(os.path.join(work, "b.pcap"), packets=60000, duration="20m",
                  start="2024-05-20T00:10:00Z", seed=11)

    server = d.RedisServer("workers").start()
    jl = os.path.join(server.dir, "out.jsonl")
    cfg = d.config_text(server.sock, lcores="0@0,1@1,2@1")
    res = d.run_darkscope(cfg, ["--replay", a, b, "--jsonl", jl], timeout=300)
    checks.eq("exit code", res.rc, 0)
    checks.ok("2 worker(s)" in res.err, "the sensor ran two workers: %s" %
              [ln for ln in res.err.splitlines() if "worker(s)" in ln])
    # Each worker's longest burst: reported, and within the time it ran.
    for w in (0, 1):
        burst = re.search(r"worker %d longest burst ([\d.]+) us" % w, res.err)
        ran = re.search(r"worker %d ran ([\d.]+) s" % w, res.err)
        checks.ok(burst is not None and ran is not None and
                  0 < float(burst.group(1)) <= float(ran.group(1)) * 1e6,
                  "worker %d: longest burst %s us within its run of %s s" % (
                      w, burst and burst.group(1), ran and ran.group(1)))

    # The truth of both files together, in time order (neither has late frames).
    frames = sorted(list(truth.frames(a, tshark)) + list(truth.frames(b, tshark)),
                    key=lambda fr: fr["minute"])
    tr = truth.summarize(frames, None, "a+b")
    t = tr["total"]
    d.log("tshark: %d frames, %d packets, %d sources, %d minutes" % (
        t["frames"], t["packets"], t["sources"], t["minutes"]))
    lines = d.read_jsonl(jl)
    idx = d.index_jsonl(lines)
    by_minute = {m: ln for (f, m), ln in idx.items() if f == "all"}
    # The overlap must really put shared sources into both workers' minutes,
    # or the test proves nothing about the union: per file, tshark's distinct
    # sources of those minutes add up to more than the union.
    ta, tb = truth.analyze(a, tshark=tshark), truth.analyze(b, tshark=tshark)
    overlap = sorted(m for m in tr["minutes"] if m in ta["minutes"] and m in tb["minutes"])
    added = sum(ta["minutes"][m]["sources"] + tb["minutes"][m]["sources"] for m in overlap)
    united = sum(tr["minutes"][m]["sources"] for m in overlap)
    checks.eq("minutes both workers saw", len(overlap), 10)
    checks.ok(added > united, "sources of the shared minutes: sum per file %d > union %d" % (
        added, united))
    real.compare_file(checks, "a+b", tr, lines, by_minute)
    with server.client() as c:
        d.compare_json_redis(checks, "a+b", idx, c, feeds=["all"])
    server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
