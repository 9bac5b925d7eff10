# SPDX-License-Identifier: BSD-3-Clause
"""The sensor keys its sample of sources at start, except when replaying.

lib/hist keys its hashes with seeds (ds_hist.h, "Keyed hashes"); test_hist
shows what the keys do to aimed keys. This test shows that the sensor sets
them: a sampled minute keeps the sources its sample hash chooses, and with
a random seed drawn at start two runs over the same packets keep different
sources, while two replays (--replay, no sample seed) keep the same ones.

A spray of 30 000 SYNs from random sources within one minute, to random
windows, with a pair table of 1 024 slots (limits.source_pairs), so that
the minute is sampled at a high level and keeps about a hundred sources.
Which ones shows in the windows whose sources estimate is not 0 (a kept
source's window): two independent samples share almost none of them.

  - replayed twice: the same sources_sampling and the same per-window
    sources, every count equal;
  - twice on a live port (net_pcap without --replay, packet timestamps,
    SIGTERM once the capture is read): packets equal the SYNs in both, the
    minute sampled in both, and the sets of windows with sources differ;
  - each run's estimate of the feed's sources within 5 standard errors of
    the 30 000 distinct sources.
"""

import math
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

PACKETS = 30000
LIMITS = "limits: {source_pairs: 1024}\n"
FEEDS = [("dark", d.GEN_PREFIXES)]


def minute_of(checks, tag, jl):
    """The feed's one minute: (packets, sources, sampling, {window: sources > 0})."""
    lines = [ln for ln in d.read_jsonl(jl) if ln["feed"] == "dark" and ln["packets"]]
    checks.eq("%s: minutes with packets" % tag, len(lines), 1)
    if len(lines) != 1:
        return None
    ln = lines[0]
    wins = {w: e["sources"] for w, e in ln["dims"]["tcp_syn_window"].items() if e["sources"]}
    d.log("     %s: packets %d, sources %d, sources_sampling %d, windows with sources %d" % (
        tag, ln["packets"], ln["sources"], ln["sources_sampling"], len(wins)))
    return ln["packets"], ln["sources"], ln["sources_sampling"], wins


def check_estimate(checks, tag, m):
    packets, sources, k, _ = m
    checks.eq("%s: packets vs SYNs sent" % tag, packets, PACKETS)
    checks.ok(k >= 4, "%s: the minute is sampled (sources_sampling %d >= 4)" % (tag, k))
    tol = 5 * math.sqrt((2 ** k - 1) / float(PACKETS))
    err = abs(sources - PACKETS) / float(PACKETS)
    checks.ok(err <= tol, "%s: sources estimate %d vs %d distinct (%.1f %%, 5 standard errors "
              "%.1f %%)" % (tag, sources, PACKETS, 100 * err, 100 * tol))


def replay(checks, pcap, work, i):
    jl = os.path.join(work, "replay-%d.jsonl" % i)
    cfg = d.config_text(None, feeds=FEEDS, redis_enabled=False) + LIMITS
    res = d.run_darkscope(cfg, ["--replay", pcap, "--jsonl", jl], timeout=120)
    checks.eq("replay %d: exit code" % i, res.rc, 0)
    return minute_of(checks, "replay %d" % i, jl)


def live(checks, pcap, work, i):
    jl = os.path.join(work, "live-%d.jsonl" % i)
    cfg = d.config_text(None, feeds=FEEDS, redis_enabled=False, time_source="packet",
                        ports=[("pcap", "net_pcap0,rx_pcap=%s" % pcap)]) + LIMITS
    bg = d.Background(cfg, ["--jsonl", jl])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and " polls " not in bg.stderr() and bg.running():
        time.sleep(0.1)
    time.sleep(3)               # 30 000 frames take milliseconds
    bg.signal(signal.SIGTERM)
    res = bg.wait(60)
    checks.eq("live %d: SIGTERM: exit code" % i, res.rc, 0)
    return minute_of(checks, "live %d" % i, jl)


def main():
    d.darkscope_bin()
    d.gen_bin()
    checks = d.Checks()
    work = d.tmpdir("seeds")
    pcap = d.run_gen(os.path.join(work, "spray.pcap"), packets=PACKETS, duration="1m",
                     seed=5, extra=["--spray"])

    r = [replay(checks, pcap, work, i) for i in (1, 2)]
    if None not in r:
        for i, m in enumerate(r):
            check_estimate(checks, "replay %d" % (i + 1), m)
        checks.ok(r[0] == r[1], "replays: the same sample twice (sources %d and %d, sampling "
                  "%d and %d, windows with sources %d and %d, equal: %s)" % (
                      r[0][1], r[1][1], r[0][2], r[1][2], len(r[0][3]), len(r[1][3]),
                      r[0][3] == r[1][3]))

    v = [live(checks, pcap, work, i) for i in (1, 2)]
    if None not in v:
        for i, m in enumerate(v):
            check_estimate(checks, "live %d" % (i + 1), m)
        a, b = set(v[0][3]), set(v[1][3])
        checks.ok(a and b and len(a & b) < min(len(a), len(b)) / 2,
                  "live runs: different samples: windows with sources %d and %d, %d in both" % (
                      len(a), len(b), len(a & b)))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
