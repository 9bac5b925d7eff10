# SPDX-License-Identifier: BSD-3-Clause
"""Replaying a capture twice leaves Redis exactly as replaying it once.

docs/SCHEMA.md promises idempotent writes: each minute is one MULTI/EXEC
that deletes the minute's keys and writes absolute values. So:

 1. A generated capture (200000 packets over 30 minutes, two feeds) is
    replayed into a fresh redis-server; the whole keyspace is snapshotted.
 2. Stale content is planted in a few of the minute's keys (an extra summary
    field, stray members of :sources sets, one of a dimension that has no key),
    then the same capture is replayed again into the same server. The snapshot
    (minutes, hours and days) must equal the first one: nothing doubled, nothing
    planted survived.
 3. `--replay A B` with B covering the minutes after A's must give, minute
    by minute, what replaying A alone and B alone gave.

Everything is compared, counters included: a replayed minute stores only
figures of the capture, never timings of the run (docs/SCHEMA.md, Counters).

The first replay runs with the sensor's logs at debug level (README,
"Running it"): each of its minutes must be named once as merged and once as
written to Redis, each write with its encode, a part of it; the other
replays, at the default level, name none.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEEDS = [("dark4", ["198.18.0.0/16", "198.19.0.0/16"]), ("dark6", ["2001:db8:d5::/48"])]
FEED_NAMES = [f for f, _ in FEEDS]


def case_bad_arguments(checks, server):
    cfg = d.config_text(server.sock, feeds=FEEDS)
    r = d.run_darkscope(cfg, ["--redis", "ftp://nowhere/0", "--replay", "/dev/null"],
                        timeout=60, quiet=True)
    checks.eq("bad arguments: --redis ftp://nowhere/0: exit code", r.rc, 2)
    r = d.run_darkscope(cfg, ["--jsonl"], timeout=60, quiet=True)
    checks.eq("bad arguments: --jsonl without a path: exit code", r.rc, 2)
    with server.client() as c:
        checks.eq("bad arguments: keys written to Redis", c.call("DBSIZE"), 0)


DEBUG_LOGS = '"--log-level=darkscope*:debug"'   # as README's "Running it" shows
MERGED = re.compile(r"darkscope: minute (\S+) merged in [0-9.]+ ms")
WRITTEN = re.compile(r"darkscope\.redis: minute (\S+) written in ([0-9.]+) ms "
                     r"\(encode ([0-9.]+) ms\)")


def replay(checks, label, server, files, jl, debug=False):
    """Replay files; with debug, the sensor's two log types at debug level
    must name each minute once as merged and once as written (README,
    "Running it"), and without it not at all."""
    args = ["--replay"] + list(files) + ["--jsonl", jl, "--redis", "unix:" + server.sock]
    # The configuration points elsewhere: --redis must win.
    cfg = d.config_text("/nonexistent/ds-redis.sock", feeds=FEEDS)
    if debug:
        cfg = cfg.replace('extra_args: ["--no-shconf"]',
                          'extra_args: ["--no-shconf", %s]' % DEBUG_LOGS)
    res = d.run_darkscope(cfg, args, timeout=300)
    checks.eq("%s: exit code" % label, res.rc, 0)
    if res.rc != 0:
        d.die("%s: the sensor failed; nothing further can be compared" % label)
    d.log("     %s: took %.1f s" % (label, res.elapsed))
    lines = d.read_jsonl(jl)
    merged, written = MERGED.findall(res.err), WRITTEN.findall(res.err)
    if debug:
        minutes = sorted({ln["minute"] for ln in lines})
        checks.eq("%s: minutes the debug log names as merged" % label, sorted(merged), minutes)
        checks.eq("%s: minutes the debug log names as written" % label,
                  sorted(w[0] for w in written), minutes)
        # The encode is part of the write, and takes some time in all.
        checks.eq("%s: writes whose encode took longer than the write" % label,
                  [w for w in written if float(w[2]) > float(w[1])], [])
        encode_ms = sum(float(w[2]) for w in written)
        checks.ok(encode_ms > 0, "%s: the encodes took %.1f ms in all" % (label, encode_ms))
    else:
        checks.eq("%s: merge and write lines without debug logs" % label,
                  len(merged) + len(written), 0)
    return lines


def consistency(checks, label, lines):
    """Every frame is in exactly one place: a feed, outside, non_ip or malformed."""
    rx = d.sum_counter(lines, "rx_packets")
    parts = (sum(d.sum_field(lines, "packets", f) for f in FEED_NAMES) +
             d.sum_counter(lines, "outside") + d.sum_counter(lines, "non_ip") +
             d.sum_counter(lines, "malformed"))
    checks.eq("%s: rx_packets vs feed packets + outside + non_ip + malformed" % label, rx, parts)
    return rx


def comparable(line):
    """What two runs over the same minute must agree on."""
    # Ports are named after the order of the captures on the command line,
    # so port.* figures of "A B" and "A" alone name different ports.
    ctr = {k: v for k, v in (line.get("counters") or {}).items() if not k.startswith("port.")}
    return {"packets": line["packets"], "bytes": line["bytes"], "sources": line["sources"],
            "partial": line["partial"], "sources_sampling": line["sources_sampling"],
            "dims": d.norm_dims(line["dims"]), "counters": ctr}


def main():
    d.darkscope_bin()
    d.gen_bin()
    checks = d.Checks()
    work = d.tmpdir("twice")

    server = d.RedisServer("twice").start()
    case_bad_arguments(checks, server)

    cap = d.run_gen(os.path.join(work, "a.pcap"), packets=200000, duration="30m", seed=11)
    lines1 = replay(checks, "first replay", server, [cap], os.path.join(work, "1.jsonl"),
                    debug=True)
    d.check_jsonl_shape(checks, "first replay", lines1, FEED_NAMES)
    rx = consistency(checks, "first replay", lines1)
    checks.eq("first replay: rx_packets summed vs packets generated", rx, 200000)
    minutes1 = sorted({ln["minute"] for ln in lines1})
    checks.eq("first replay: minutes written", len(minutes1), 30)
    with server.client() as c:
        d.compare_json_redis(checks, "first replay", d.index_jsonl(lines1), c, feeds=FEED_NAMES)
        snap1 = d.snapshot(c)
        d.log("     first replay: %d keys" % len(snap1))
        checks.ok(len(snap1) > 30 * 4, "first replay: keys in Redis %d > %d" % (
            len(snap1), 30 * 4))

        # Stale content a non-idempotent writer would leave behind. Planted where the
        # rollup script does not read old values to apply differences to the hour
        # and day (it does read the summary's sums, the packets zsets and the
        # counters): an extra summary field, and stray members of :sources zsets.
        mk = d.minute_key(minutes1[len(minutes1) // 2])
        base = "%s:%s:dark4:%s" % (d.KEY_PREFIX, d.SENSOR, mk)
        c.call("HSET", base, "planted", "1")
        c.call("ZADD", base + ":tcp_dst_port:sources", "7", "64999")
        c.call("ZADD", base + ":icmp6:sources", "3", "255/255")
        d.log("     planted stale values in minute %s of feed dark4" % mk)

    lines2 = replay(checks, "second replay", server, [cap], os.path.join(work, "2.jsonl"))
    with server.client() as c:
        snap2 = d.snapshot(c)
        diff = d.snapshot_diff(snap2, snap1)
        for line in diff:
            d.log("     second vs first: %s" % line)
        checks.eq("second replay: keys in Redis vs first", len(snap2), len(snap1))
        checks.eq("second replay: snapshot differences from the first", len(diff), 0)
    idx1, idx2 = d.index_jsonl(lines1), d.index_jsonl(lines2)
    differ = [k for k in idx1 if k not in idx2 or comparable(idx1[k]) != comparable(idx2[k])]
    checks.eq("second replay: JSON feed-minutes differing from the first (of %d)" % len(idx1),
              len(differ), 0)
    server.stop()

    # Two captures in one command, B after A.
    a = d.run_gen(os.path.join(work, "b1.pcap"), packets=40000, duration="10m",
                  start="2024-05-20T00:00:00Z", seed=21)
    b = d.run_gen(os.path.join(work, "b2.pcap"), packets=40000, duration="10m",
                  start="2024-05-20T00:10:00Z", seed=22)
    scratch = d.RedisServer("scratch").start()
    la = replay(checks, "A alone", scratch, [a], os.path.join(work, "a.jsonl"))
    lb = replay(checks, "B alone", scratch, [b], os.path.join(work, "b.jsonl"))
    scratch.stop()
    both = d.RedisServer("both").start()
    lab = replay(checks, "A B together", both, [a, b], os.path.join(work, "ab.jsonl"))
    ia, ib, iab = d.index_jsonl(la), d.index_jsonl(lb), d.index_jsonl(lab)
    ma = {m for _, m in ia}
    mb = {m for _, m in ib}
    mab = {m for _, m in iab}
    checks.eq("A B together: A's minutes present (of %d)" % len(ma), len(ma & mab), len(ma))
    checks.eq("A B together: B's minutes present (of %d)" % len(mb), len(mb & mab), len(mb))
    checks.eq("A B together: minutes neither in A nor in B", sorted(mab - ma - mb), [])
    checks.eq("A B together: minutes shared by A and B (generator ranges overlap)",
              sorted(ma & mb), [])
    want = dict(ia)
    want.update(ib)
    differ = [k for k in want if k not in iab or comparable(iab[k]) != comparable(want[k])]
    for k in differ[:5]:
        got = comparable(iab[k]) if k in iab else {}
        exp = comparable(want[k])
        fields = sorted(f for f in exp if got.get(f) != exp[f])
        for f in fields:
            g, w = got.get(f), exp[f]
            if isinstance(w, dict) and isinstance(g, dict):
                sub = sorted(x for x in set(g) | set(w) if g.get(x) != w.get(x))[:5]
                g = {x: g.get(x) for x in sub}
                w = {x: w.get(x) for x in sub}
            d.log("     A B together %s %s %s: together %s alone %s" % (
                k[0], k[1][:16], f, d.fmt(g), d.fmt(w)))
    checks.eq("A B together: feed-minutes differing from A alone / B alone (of %d)" % len(want),
              len(differ), 0)
    checks.eq("A B together: rx_packets summed", d.sum_counter(lab, "rx_packets"), 80000)
    with both.client() as c:
        for f in FEED_NAMES:
            checks.eq("A B together: feed %s minutes in the Redis index" % f,
                      len(d.redis_minutes(c, f)), len(ma | mb))
        d.compare_json_redis(checks, "A B together", iab, c, feeds=FEED_NAMES)
        checks.eq("A B together: Redis %s:%s:feeds" % (d.KEY_PREFIX, d.SENSOR),
                  sorted(c.call("SMEMBERS", "%s:%s:feeds" % (d.KEY_PREFIX, d.SENSOR))),
                  sorted(FEED_NAMES))
    both.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
