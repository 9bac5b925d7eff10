# SPDX-License-Identifier: BSD-3-Clause
"""Replay every real capture of ../shared/data/pcap and compare with tshark.

Each capture is replayed alone (`darkscope --replay FILE --jsonl PATH`) into
a fresh redis-server with one feed `all` (0.0.0.0/0 and ::/0), so that every
well-formed IP frame is a packet of the feed. For every minute the sensor's
packets, bytes, distinct sources and its proto, tcp_dst_port and
udp_dst_port histograms (packets and distinct sources per value) must equal
what tests/truth.py derives from tshark's dissection of the same file; no
minute with traffic may be missing or extra; the counters must account for
every frame of the file (rx_packets, rx_bytes, non_ip, malformed per reason,
outside, late); and the JSON lines and Redis must hold the same numbers for
every feed-minute.

Captures spanning many minutes (days, for some) print one line per field
with the number of minutes compared and the sums; captures of a few minutes
print one line per minute and field. Every difference is printed with the
minute, the field, the sensor's value and tshark's.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import truth  # noqa: E402

# Print per-minute lines for captures of at most this many minutes.
PER_MINUTE_LINES = 3

SUMMARY_FIELDS = ("packets", "bytes", "sources")
COUNTER_FIELDS = (("rx_packets", "frames"), ("rx_bytes", "rx_bytes"), ("non_ip", "non_ip"),
                  ("malformed", "malformed"), ("outside", "outside"))
COMPARED_DIMS = ("proto", "tcp_dst_port", "udp_dst_port")


def case_bad_arguments(checks):
    """The first case: the sensor rejects what it cannot replay."""
    server = d.RedisServer("bad").start()
    cfg = d.config_text(server.sock)
    r = d.run_darkscope(cfg, ["--replay"], timeout=60, quiet=True)
    checks.eq("bad arguments: --replay without a file: exit code", r.rc, 2)
    r = d.run_darkscope(cfg, ["--no-such-option"], timeout=60, quiet=True)
    checks.eq("bad arguments: unknown option: exit code", r.rc, 2)
    missing = "/nonexistent/ds-%d.pcap" % os.getpid()
    r = d.run_darkscope(cfg, ["--replay", missing, "--jsonl", "-"], timeout=120, quiet=True)
    checks.ok(r.rc in (1, 2) and missing in r.err,
              "bad arguments: missing capture: exit code %s in (1, 2), path named on stderr: %s"
              % (r.rc, missing in r.err))
    checks.eq("bad arguments: missing capture: bytes of JSON lines on stdout", len(r.out), 0)
    with server.client() as c:
        checks.eq("bad arguments: keys written to Redis", c.call("DBSIZE"), 0)
    server.stop()


def dim_table(dims, dim):
    """{label: (packets, sources[, bytes])} of a JSON line's or truth's dimension."""
    out = {}
    for label, e in (dims.get(dim) or {}).items():
        t = (d._num(e.get("packets")), d._num(e.get("sources")))
        if dim == "proto":
            t += (d._num(e.get("bytes")),)
        out[str(label)] = t
    return out


def compare_file(checks, name, tr, lines, sensor_by_minute):
    """Every per-minute comparison between the sensor and the truth of one file."""
    tmins = tr["minutes"]
    total = tr["total"]
    # Minutes: every minute with frames must be there; a minute the sensor
    # wrote without any frame (a gap it chose to fill) is shown, and must be
    # empty.
    smins = set(sensor_by_minute)
    missing = sorted(set(tmins) - smins)
    extra = sorted(smins - set(tmins))
    extra_busy = [m for m in extra if d._num(sensor_by_minute[m]["packets"]) or
                  d._num((sensor_by_minute[m].get("counters") or {}).get("rx_packets"))]
    checks.eq("%s: minutes with frames present (of %d)" % (name, len(tmins)),
              len(set(tmins) & smins), len(tmins))
    if missing:
        d.log("     %s: minutes missing: %s" % (name, missing[:10]))
    checks.eq("%s: extra minutes carrying traffic" % name, len(extra_busy), 0)
    if extra_busy:
        d.log("     %s: extra minutes with traffic: %s" % (name, extra_busy[:10]))
    if extra:
        d.log("     %s: %d empty minutes written between frames (not compared)" % (
            name, len(extra)))
    common = [m for m in sorted(tmins) if m in smins]
    few = len(tmins) <= PER_MINUTE_LINES

    def per_field(field, got_of, want_of):
        diffs = []
        gsum = wsum = 0
        for m in common:
            g, w = got_of(m), want_of(m)
            gsum += g or 0
            wsum += w or 0
            if few:
                checks.eq("%s %s: %s" % (name, m[:16], field), g, w)
            elif g != w:
                diffs.append((m, g, w))
        if not few:
            for m, g, w in diffs[:10]:
                d.log("     %s %s: %s sensor %s tshark %s" % (name, m[:16], field, g, w))
            checks.ok(not diffs, "%s: %s in %d minutes: sum %s %s %s, minutes differing %d" % (
                name, field, len(common), gsum, "==" if gsum == wsum else "!=", wsum,
                len(diffs)))

    for f in SUMMARY_FIELDS:
        per_field(f, lambda m, f=f: d._num(sensor_by_minute[m][f]),
                  lambda m, f=f: tmins[m][f])
    for cf, tf in COUNTER_FIELDS:
        per_field("counters." + cf,
                  lambda m, cf=cf: d._num((sensor_by_minute[m].get("counters") or {}).get(cf)),
                  lambda m, tf=tf: tmins[m][tf])

    for dim in COMPARED_DIMS:
        diffs = []
        nvals = 0
        for m in common:
            g = dim_table(sensor_by_minute[m].get("dims") or {}, dim)
            w = dim_table(tmins[m], dim)
            nvals += len(w)
            if g != w:
                bad = sorted(set(g) ^ set(w) | {k for k in set(g) & set(w) if g[k] != w[k]},
                             key=lambda x: (len(x), x))
                diffs.append((m, len(g), len(w), [(b, g.get(b), w.get(b)) for b in bad[:4]]))
        what = "(packets, sources, bytes)" if dim == "proto" else "(packets, sources)"
        for m, ng, nw, bad in diffs[:10]:
            d.log("     %s %s: %s values %d vs %d; label: sensor %s tshark: %s" % (
                name, m[:16], dim, ng, nw, what, bad))
        checks.ok(not diffs, "%s: %s %s of %d values in %d minutes, minutes differing %d" % (
            name, dim, what, nvals, len(common), len(diffs)))

    # Totals over the whole file.
    rx = d.sum_counter(lines, "rx_packets")
    checks.eq("%s: counters rx_packets summed over minutes vs frames in file" % name,
              rx, total["frames"])
    mal = {}
    for ctr in d.counters_by_minute(lines).values():
        for reason in d.MALFORMED_REASONS:
            v = d._num(ctr.get("malformed." + reason, 0)) or 0
            if v:
                mal[reason] = mal.get(reason, 0) + v
    absent = [r for r in d.MALFORMED_REASONS
              if any("malformed." + r not in c for c in d.counters_by_minute(lines).values())]
    checks.eq("%s: malformed reasons absent from some minute's counters" % name, absent, [])
    checks.eq("%s: malformed by reason (sensor vs tshark)" % name, mal,
              total["malformed_reasons"])
    checks.eq("%s: counters late summed (tshark: frames older than the newest minute)" % name,
              d.sum_counter(lines, "late"), total["late"])
    checks.eq("%s: counters fragments summed vs later fragments per tshark" % name,
              d.sum_counter(lines, "fragments"), total["later_fragments"])
    partial = [ln["minute"] for ln in lines if ln.get("partial")]
    checks.eq("%s: partial minutes in a replay to the end" % name, len(partial), 0)
    sampled = [ln["minute"] for ln in lines if ln.get("sources_sampling")]
    checks.eq("%s: minutes with sources_sampling != 0" % name, len(sampled), 0)


def main():
    pcap_dir = os.path.join(d.shared_data(), "pcap")
    if not os.path.isdir(pcap_dir):
        d.skip("no capture directory %s" % pcap_dir)
    files = sorted(f for f in os.listdir(pcap_dir) if f.endswith((".pcap", ".trace")))
    if not files:
        d.skip("no .pcap or .trace file in %s" % pcap_dir)
    d.darkscope_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()

    case_bad_arguments(checks)

    for name in files:
        path = os.path.join(pcap_dir, name)
        tr = truth.analyze(path, tshark=tshark)
        t = tr["total"]
        d.log("---- %s: tshark: %d frames, %d packets, %d sources, %d minutes, non_ip %d, "
              "malformed %s" % (name, t["frames"], t["packets"], t["sources"], t["minutes"],
                                t["non_ip"], t["malformed_reasons"] or 0))
        server = d.RedisServer("real").start()
        jl = os.path.join(server.dir, "out.jsonl")
        # retention 0: some captures span days, and the minutes index is
        # trimmed to the retention before the newest minute.
        cfg = d.config_text(server.sock, redis_extra={"retention": "0"})
        res = d.run_darkscope(cfg, ["--replay", path, "--jsonl", jl], timeout=300)
        checks.eq("%s: exit code" % name, res.rc, 0)
        if not os.path.exists(jl):
            d.log("     %s: no JSON lines written; nothing to compare" % name)
            server.stop()
            continue
        d.log("     %s: replay took %.1f s" % (name, res.elapsed))
        lines = d.read_jsonl(jl)
        d.check_jsonl_shape(checks, name, lines, ["all"])
        idx = d.index_jsonl(lines)
        by_minute = {m: ln for (f, m), ln in idx.items() if f == "all"}
        compare_file(checks, name, tr, lines, by_minute)
        with server.client() as c:
            d.compare_json_redis(checks, name, idx, c, feeds=["all"])
            checks.eq("%s: Redis %s:sensors" % (name, d.KEY_PREFIX),
                      c.call("SMEMBERS", "%s:sensors" % d.KEY_PREFIX), [d.SENSOR])
            checks.eq("%s: Redis %s:%s:feeds" % (name, d.KEY_PREFIX, d.SENSOR),
                      c.call("SMEMBERS", "%s:%s:feeds" % (d.KEY_PREFIX, d.SENSOR)), ["all"])
        server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
