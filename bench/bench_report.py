#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark: darkscope-report over a quarter of day rollups.

Fills a throw-away redis-server with what a sensor keeps for one feed over a
quarter (2024Q3, 92 days) and, by default, over the 92 days before it (the
report's previous period): the day keys of docs/SCHEMA.md "Hours and days",
written directly as tests/test_report.py does. Then times
`darkscope-report --quarter 2024Q3` as text, JSON and HTML with charts (and
JSON without, for comparison), and prints the seconds. It asserts nothing:
timing is noisy on shared machines; tests/test_report.py holds the budget.

Sizes per day, chosen to look like a busy /16 telescope: 2000 TCP ports,
300 UDP ports, 150 countries (and bogon, unrouted, unknown), 3000 ASes, 400
TCP fingerprints, 20 signatures, 20 watch rules, every value with packets
falling off with its rank. HyperLogLogs, as the sensor keeps them
(`redis.hll_values`): the feed's, and one per value for the --hll-values
values of each dimension with most packets (all signatures and watch rules,
with their domestic and overseas halves), of a few hundred to several
thousand sources (dense encoding from about 1500 on). To fill quickly, the
HyperLogLogs are copies (SET of the raw value) of 64 templates built with
PFADD, a template chosen per key by rank and day, so a value's figure over
the quarter is a union of several different sets, as in real data.

Usage: bench_report.py [--hll-values N] [--no-previous] [--runs N]
Environment: DARKSCOPE_REPORT, REDIS_SERVER (as meson sets them).
"""

import argparse
import calendar
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import dstest  # noqa: E402

P, SENSOR, FEED = "ds", "bench", "darknet"
QUARTER = "2024Q3"
Q_FIRST = calendar.timegm((2024, 7, 1, 0, 0, 0))
Q_DAYS = 92
N_TCP, N_UDP, N_CC, N_ASN, N_FP, N_SIG, N_WATCH = 2000, 300, 150, 3000, 400, 20, 20
TEMPLATES = 64


def pipeline(client, cmds, chunk=1000):
    """Send commands in chunks and read every reply; die on an error reply."""
    for i in range(0, len(cmds), chunk):
        part = cmds[i:i + chunk]
        client.sock.sendall(b"".join(client.encode(c) for c in part))
        for c in part:
            r = client._reply()
            if isinstance(r, dstest.RedisError):
                dstest.die("redis refused %s: %s" % (c[:2], r))


def templates(client, rnd):
    """Raw HyperLogLogs of 64 source sets, 200 to 8000 addresses, smallest first."""
    out = []
    for t in range(TEMPLATES):
        n = int(200 * (40 ** (t / (TEMPLATES - 1))))
        base = rnd.randrange(1 << 24)
        addrs = ["%d.%d.%d.%d" % (1 + (base + k) % 223, (base + 7 * k) >> 8 & 255,
                                  (base + 13 * k) & 255, k & 255) for k in range(n)]
        client.call("DEL", "bench:scratch")
        pipeline(client, [["PFADD", "bench:scratch"] + addrs[i:i + 1000]
                          for i in range(0, n, 1000)])
        raw = client.call("GET", "bench:scratch")
        out.append((n, raw.encode("utf-8", "surrogateescape")))
    client.call("DEL", "bench:scratch")
    return out


def packets_by_rank(rank, top, day_rnd):
    """Zipf-like: the first value top packets a day, rank r about top / r^1.1."""
    return max(1, int(top / (rank + 1) ** 1.1 * day_rnd.uniform(0.8, 1.25)))


def labels():
    rnd = random.Random(7)
    popular = [23, 445, 22, 80, 3389, 8080, 443, 6379, 8728, 2323, 5555, 1433, 3306, 81,
               8081, 37215, 52869, 7547, 9200, 60001, 5900, 25, 21, 8443, 2222]
    tcp = popular + rnd.sample([p for p in range(1, 65536) if p not in popular],
                               N_TCP - len(popular))
    udp = [53, 123, 161, 1900, 5060, 11211, 3702, 137, 389, 19] + \
        rnd.sample(range(1024, 65536), N_UDP - 10)
    ccs = ["%s%s" % (chr(65 + i // 26), chr(65 + i % 26)) for i in range(N_CC)]
    asns = [str(a) for a in rnd.sample(range(1000, 400000), N_ASN)]
    fps = ["%d:%d:1460:7:MSS,SACK,TS,NOP,WS" % (64 if i % 3 else 128, 1024 + 37 * i)
           for i in range(N_FP)]
    sigs = ["sig%02d" % i for i in range(N_SIG)]
    rules = ["rule-%02d" % i for i in range(N_WATCH)]
    return {"tcp_dst_port": [str(p) for p in tcp], "udp_dst_port": [str(p) for p in udp],
            "src_country": ccs, "src_asn": asns, "tcp_fingerprint": fps,
            "signature": sigs, "watch": rules}


TOP_PACKETS = {"tcp_dst_port": 4000000, "udp_dst_port": 400000, "src_country": 3000000,
               "src_asn": 1500000, "tcp_fingerprint": 2000000, "signature": 800000,
               "watch": 50000}


def day_commands(day_index, t, lab, tpl, hll_values):
    """Every key of one day; returns (commands, HyperLogLog keys)."""
    rnd = random.Random(day_index)
    base = "%s:%s:%s:d:%s" % (P, SENSOR, FEED, time.strftime("%Y%m%d", time.gmtime(t)))
    cmds = []
    n_hll = 0
    total = 0

    def hll(key, rank, small=False):
        nonlocal n_hll
        # Big values get big sets; the day shifts the choice among neighbours.
        top = TEMPLATES - 1 - min(TEMPLATES - 1, rank * 2)
        i = max(0, min(TEMPLATES - 1, top - rnd.randrange(8) - (24 if small else 0)))
        cmds.append(["SET", key, tpl[i][1]])
        n_hll += 1

    for dim, values in lab.items():
        # Each day shuffles the ranks a little: rankings move between periods.
        order = sorted(range(len(values)), key=lambda i: i + rnd.gauss(0, 3 + i * 0.2))
        pk = {values[i]: packets_by_rank(r, TOP_PACKETS[dim], rnd) for r, i in enumerate(order)}
        if dim == "src_country":
            pk.update(bogon=20000, unrouted=8000, unknown=3000)
        if dim in ("tcp_dst_port", "udp_dst_port"):
            total += sum(pk.values())
        zadd = ["ZADD", "%s:%s" % (base, dim)]
        for label, v in pk.items():
            zadd += [v, label]
        cmds.append(zadd)
        kept = values if dim in ("signature", "watch") else \
            [values[i] for i in order[:hll_values]]
        members = []
        for r, label in enumerate(kept):
            hll("%s:hll:%s:%s" % (base, dim, label), r)
            members.append(label)
        if dim in ("signature", "watch"):
            home = "signature_home" if dim == "signature" else "watch_home"
            for r, label in enumerate(values):
                for side in ("domestic", "overseas"):
                    hll("%s:hll:%s:%s/%s" % (base, home, label, side), r, small=True)
            cmds.append(["SADD", "%s:hll:%s" % (base, home)] +
                        ["%s/%s" % (v, s) for v in values for s in ("domestic", "overseas")])
        if members:
            cmds.append(["SADD", "%s:hll:%s" % (base, dim)] + members)
    hll(base + ":hll", 0)
    cmds.append(["ZADD", base + ":proto", int(total * 0.9), "6", int(total * 0.08), "17",
                 int(total * 0.02), "1"])
    cmds.append(["HSET", base, "packets", total, "bytes", total * 62, "minutes", 1440,
                 "partial", 0])
    cmds.append(["HSET", "%s:%s:d:%s:counters" % (P, SENSOR, base.rsplit(":", 1)[1]),
                 "rx_packets", total, "malformed", rnd.randrange(100), "port.p0.imissed", 0,
                 "port.p0.rx_nombuf", 0, "redis.dropped_total", 0,
                 "redis.rollup_skipped_total", 0, "minutes", 1440, "partial", 0])
    cmds.append(["ZADD", "%s:%s:%s:days" % (P, SENSOR, FEED), t,
                 time.strftime("%Y%m%d", time.gmtime(t))])
    return cmds, n_hll


def fill(client, hll_values, previous):
    rnd = random.Random(1)
    t0 = time.monotonic()
    tpl = templates(client, rnd)
    lab = labels()
    pipeline(client, [["SADD", P + ":sensors", SENSOR], ["SADD", "%s:%s:feeds" % (P, SENSOR), FEED],
                      ["HSET", "%s:%s:meta" % (P, SENSOR), "rollup_timezone", "UTC",
                       "hll_values", hll_values, "signatures_version", "1"]])
    first = Q_FIRST - (Q_DAYS * 86400 if previous else 0)
    days = 2 * Q_DAYS if previous else Q_DAYS
    n_cmds = n_hll = 0
    for i in range(days):
        cmds, n = day_commands(i, first + 86400 * i, lab, tpl, hll_values)
        pipeline(client, cmds)
        n_cmds += len(cmds)
        n_hll += n
    info = client.call("INFO", "memory")
    used = [ln.split(":", 1)[1] for ln in info.splitlines()
            if ln.startswith("used_memory_human:")]
    print("filled %d days (%s) in %.1f s: %d commands, %d keys, %d HyperLogLogs "
          "(templates of %d to %d sources), Redis memory %s" % (
              days, "the quarter and the previous period" if previous else "the quarter",
              time.monotonic() - t0, n_cmds, client.call("DBSIZE"), n_hll, tpl[0][0],
              tpl[-1][0], used[0].strip() if used else "?"), flush=True)


def time_report(report, sock, out_dir, fmt, charts, runs):
    """Best and all wall times of `runs` runs."""
    ext = {"text": "txt", "json": "json", "html": "html"}[fmt]
    out = os.path.join(out_dir, "%s%s.%s" % (QUARTER, "" if charts else "-nocharts", ext))
    args = [report, "--redis", "unix:" + sock, "--quarter", QUARTER, "--format", fmt,
            "--out", out] + ([] if charts else ["--no-charts"])
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append(time.monotonic() - t0)
        if p.returncode != 0:
            print("darkscope-report %s: exit %d: %s" % (fmt, p.returncode,
                                                        p.stderr.decode(errors="replace")[-300:]))
            break
    size = os.path.getsize(out) if os.path.exists(out) else 0
    made = ""
    if fmt == "json" and size:
        with open(out) as f:
            doc = json.load(f)
        made = ", %d charts drawn" % sum(1 for c in doc.get("charts", []) if c.get("made"))
    print("report %-4s %-10s best %6.2f s, runs %s, %d bytes%s" % (
        fmt, "charts" if charts else "no charts", min(times),
        " ".join("%.2f" % t for t in times), size, made), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Time darkscope-report over a quarter.")
    ap.add_argument("--hll-values", type=int, default=100,
                    help="values per dimension and day with a HyperLogLog (default 100)")
    ap.add_argument("--no-previous", action="store_true",
                    help="fill only the quarter, not the 92 days before it")
    ap.add_argument("--runs", type=int, default=3, help="runs per format (default 3)")
    a = ap.parse_args()
    if a.hll_values < 0 or a.runs < 1:
        ap.error("--hll-values must be >= 0 and --runs >= 1")
    report = dstest.program("DARKSCOPE_REPORT", "app/darkscope-report/darkscope-report")
    if not shutil.which(os.environ.get("GNUPLOT") or "gnuplot"):
        print("note: gnuplot not found: charts are written as data and scripts only")
    print("%d CPUs; darkscope-report %s" % (os.cpu_count() or 0, report))
    server = dstest.RedisServer("benchreport").start()
    with server.client() as c:
        fill(c, a.hll_values, not a.no_previous)
    out_dir = tempfile.mkdtemp(prefix="bench-report-", dir=server.dir)
    for fmt, charts in (("text", True), ("json", True), ("html", True), ("json", False)):
        time_report(report, server.sock, out_dir, fmt, charts, a.runs)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
