# SPDX-License-Identifier: BSD-3-Clause
"""SIGTERM in the middle of a minute writes that minute, marked partial.

Live setup of test_live_afpacket.py (namespace, veth pair, af_packet port,
clock time). The test waits for the start of a wall-clock minute after the
sensor's first one, so that the minute under test is partial only because
of the signal (the first minute after a start is partial anyway), sends a
generated capture's frames within the first seconds of it, and sends
SIGTERM some seconds later, well before the minute ends.

Expected: exit 0; that minute's JSON line has "partial": true and its Redis
hash partial "1" (the counters hash too), with every frame sent to the
feed's prefixes counted in it; the minutes before it carry no packets.

Then a restart inside that minute (docs/SCHEMA.md, "A restart inside a
minute"): a second sensor starts in the same minute, receives another
capture's frames and is stopped the same way. Its first minute is a join:
Redis must hold for that minute the two runs' JSON lines summed, value by
value (packets, bytes, sources; counters but the running totals), and its
hour both runs' packets; the second run's own JSON line only its frames.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import truth  # noqa: E402

PACKETS = 3000
RATE = 1500
FEEDS = [("dark", d.GEN_PREFIXES)]


def case_bad_arguments(checks, server):
    """A live configuration whose feed names no valid prefix is refused."""
    cfg = d.config_text(server.sock, feeds=[("dark", ["198.18.0.1/16"])], time_source="clock",
                        ports=[("veth", "net_af_packet0,iface=lo")])
    r = d.run_darkscope(cfg, [], timeout=60, quiet=True)
    checks.eq("bad arguments: feed prefix with host bits set: exit code", r.rc, 2)


def summed(a, b):
    """Two runs' JSON lines of one feed-minute as a join leaves it in Redis,
    in the shape of dstest.redis_feed_minute()."""
    da, db = d.norm_dims(a["dims"]), d.norm_dims(b["dims"])
    dims = {}
    for dim in d.DIMS:
        dims[dim] = {}
        for label in set(da[dim]) | set(db[dim]):
            ea, eb = da[dim].get(label, {}), db[dim].get(label, {})
            dims[dim][label] = {k: ea.get(k, 0) + eb.get(k, 0) for k in set(ea) | set(eb)}
    ca = {k: d._num(v) for k, v in a["counters"].items()}
    cb = {k: d._num(v) for k, v in b["counters"].items()}
    counters = {k: cb[k] if k.endswith("_total") and k in cb else ca.get(k, 0) + cb.get(k, 0)
                for k in set(ca) | set(cb)}
    return {"packets": a["packets"] + b["packets"], "bytes": a["bytes"] + b["bytes"],
            "sources": a["sources"] + b["sources"],
            "sources_sampling": max(a["sources_sampling"], b["sources_sampling"]),
            "partial": True, "dims": dims, "counters": counters}


def case_restart_in_minute(checks, ns, server, cap2, t2, line_a, test_minute, work):
    """A second sensor started and stopped inside the minute of line_a."""
    iso = truth.minute_iso(test_minute)
    jl = os.path.join(work, "restart.jsonl")
    bg = d.start_live_sensor(ns, server.sock, FEEDS, jl)
    sent = ns.send_pcap(ns.b, cap2, RATE)
    checks.eq("restart: frames sent", sent["sent"], t2["frames"])
    time.sleep(2)
    now = time.time()
    checks.ok(int(now) // 60 == test_minute,
              "restart: second sensor sent to and stopped in minute %s (second %.1f of %s)" % (
                  iso[:16], now % 60, truth.minute_iso(int(now) // 60)[:16]))
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    checks.eq("restart: SIGTERM: exit code", res.rc, 0)
    lines = [ln for ln in d.read_jsonl(jl) if ln["feed"] == "dark"] if os.path.exists(jl) else []
    line_b = next((ln for ln in lines if ln["minute"] == iso), None)
    if not checks.ok(line_b is not None, "restart: JSON line of minute %s present" % iso[:16]):
        return
    checks.eq("restart: its own JSON line: packets vs its frames to the feed",
              line_b["packets"], t2["packets"])
    want = summed(line_a, line_b)
    mk = d.minute_key(iso)
    with server.client() as c:
        r = d.redis_feed_minute(c, "dark", mk)
        if not checks.ok(r is not None, "restart: Redis hash of minute %s" % iso[:16]):
            return
        d.log("     joined minute: packets %s = %s + %s, %d TCP ports" % (
            r["packets"], line_a["packets"], line_b["packets"],
            len(r["dims"]["tcp_dst_port"])))
        for f in ("packets", "bytes", "sources", "sources_sampling", "partial"):
            checks.eq("restart: Redis %s of the joined minute" % f, r[f], want[f])
        for dim in d.DIMS:
            bad = sorted(k for k in set(r["dims"][dim]) | set(want["dims"][dim])
                         if r["dims"][dim].get(k) != want["dims"][dim].get(k))
            checks.ok(not bad, "restart: %s of the joined minute: values that differ %s" % (
                dim, ["%s redis %s want %s" % (k, r["dims"][dim].get(k),
                                               want["dims"][dim].get(k)) for k in bad[:3]]))
        checks.eq("restart: Redis counters of the joined minute", r["counters"],
                  want["counters"])
        hour = c.call("HGET", "%s:%s:dark:h:%s" % (d.KEY_PREFIX, d.SENSOR, mk[:10]), "packets")
        checks.eq("restart: hour's packets: both runs'", d._num(hour),
                  line_a["packets"] + line_b["packets"])


def main():
    d.need_root_and_ip()
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()
    work = d.tmpdir("sigterm")

    cap = d.run_gen(os.path.join(work, "live.pcap"), packets=PACKETS, duration="1m", seed=23)
    t = truth.analyze(cap, prefixes=d.GEN_PREFIXES, tshark=tshark)["total"]
    d.log("     tshark: %d frames, %d in the feed, %d outside" % (
        t["frames"], t["packets"], t["outside"]))
    cap2 = d.run_gen(os.path.join(work, "restart.pcap"), packets=PACKETS, duration="1m",
                     seed=29)
    t2 = truth.analyze(cap2, prefixes=d.GEN_PREFIXES, tshark=tshark)["total"]

    ns = d.NetNs().create()
    try:
        server = d.RedisServer("sigterm").start()
        case_bad_arguments(checks, server)
        jl = os.path.join(work, "sigterm.jsonl")
        bg = d.start_live_sensor(ns, server.sock, FEEDS, jl)
        # Next minute boundary + 1 s: the first minute is over and the frames
        # (PACKETS / RATE s) and the signal fit well inside the new minute.
        start_minute = int(time.time()) // 60
        target = (start_minute + 1) * 60 + 1
        d.log("     waiting %.0f s for the next minute" % max(0, target - time.time()))
        time.sleep(max(0, target - time.time()))
        sent = ns.send_pcap(ns.b, cap, RATE)
        checks.eq("sender: frames sent", sent["sent"], t["frames"])
        time.sleep(2)
        now = time.time()
        test_minute = int(now) // 60
        checks.ok(test_minute == start_minute + 1 and now % 60 < 50,
                  "SIGTERM at second %.1f of the minute the frames were sent in: %s" % (
                      now % 60, test_minute == start_minute + 1))
        bg.signal(signal.SIGTERM)
        res = bg.wait(90)
        checks.eq("SIGTERM: exit code", res.rc, 0)
        if not os.path.exists(jl):
            d.die("no JSON lines written")
        lines = [ln for ln in d.read_jsonl(jl) if ln["feed"] == "dark"]
        iso = truth.minute_iso(test_minute)
        d.log("     minutes written: %s" % ["%s partial=%s packets=%s" % (
            ln["minute"][:16], ln["partial"], ln["packets"]) for ln in lines])
        line = next((ln for ln in lines if ln["minute"] == iso), None)
        if not checks.ok(line is not None, "JSON line of minute %s present" % iso[:16]):
            return checks.finish()
        checks.eq("%s JSON partial" % iso[:16], line["partial"], True)
        checks.eq("%s JSON packets vs frames to the feed's prefixes" % iso[:16],
                  line["packets"], t["packets"])
        checks.eq("%s JSON counters rx_packets vs frames sent" % iso[:16],
                  d._num(line["counters"].get("rx_packets")), sent["sent"])
        checks.eq("%s is the last minute written" % iso[:16], lines[-1]["minute"], iso)
        before = sum(d._num(ln["packets"]) for ln in lines if ln["minute"] < iso)
        checks.eq("packets in minutes before %s" % iso[:16], before, 0)
        with server.client() as c:
            r = d.redis_feed_minute(c, "dark", d.minute_key(iso))
            if checks.ok(r is not None, "Redis hash of minute %s present" % iso[:16]):
                checks.eq("%s Redis partial" % iso[:16], r["raw_hash"].get("partial"), "1")
                checks.eq("%s Redis counters partial" % iso[:16], r["counters_partial"], "1")
                checks.eq("%s Redis packets" % iso[:16], r["packets"], t["packets"])
            d.compare_json_redis(checks, "sigterm", d.index_jsonl(d.read_jsonl(jl)), c,
                                 feeds=["dark"])
        case_restart_in_minute(checks, ns, server, cap2, t2, line, test_minute, work)
        server.stop()
    finally:
        ns.delete()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
