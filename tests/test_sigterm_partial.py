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
        server.stop()
    finally:
        ns.delete()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
