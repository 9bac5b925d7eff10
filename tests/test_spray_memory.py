# SPDX-License-Identifier: BSD-3-Clause
"""Hostile input: a spray of SYNs with random option layouts and windows
keeps resident memory under the configured bound, with the overflow counted.

darkscope-gen --spray writes SYNs from uniformly random sources with random
windows, TTLs, ports and option layouts (a million hold ~300 000 layouts and
all 65 536 windows). Two sprays over the same 4 minutes, 100 000 and
1 000 000 packets, are replayed with one configuration whose limits are
small (LIMITS) into a real redis-server and JSON lines. The sensor logs

    memory: N worker(s) x 2 minute buffers of U MiB (limits; X MiB mapped), resident now Y MiB
    memory: peak resident Z MiB

and the test checks, per run:
  - every minute, tcp_syn_options and tcp_fingerprint list at most their
    bound of named values (the limit per worker, times the workers) plus
    `other`, `other` has packets, and the packets over all values of each,
    and of tcp_syn_window, equal the minute's SYNs counted here from the
    pcap bytes (nothing dropped); the minute's values over all dimensions
    stay within VALUE_SPACE, all a SYN can produce under these limits;
  - sources_sampling is printed; the million must be sampled (> 0) in every
    minute, and its source estimates stay within 5 standard errors of the
    exact distinct sources;
  - Z <= Y + N x 2 x X + M, M the merge scratch, rollups and outputs that
    the bounded value space and full pair tables can need (bound_terms() at
    VALUE_SPACE values, printed term by term) plus FIXED_MARGIN;
and across the runs Z(1M) <= Z(100k) + G, G the growth of bound_terms()
from the values and pairs the 100k run's minutes held to those of the 1M
run's: ten times the input may only fill the value-sized structures further
and the pair tables up to their cap, not add per-packet state (which would
add PER_PACKET_MIB).
"""

import collections
import json
import math
import os
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

# A sanitized build (scripts/test --sanitize): AddressSanitizer keeps freed
# memory in a quarantine of 256 MiB by default to catch use after free, which
# the resident bounds below would count as the sensor's. 16 MiB still catches
# the recent frees and keeps the bounds meaningful.
if os.environ.get("DS_SANITIZED"):
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16"

SIZES = (100000, 1000000)
DURATION = "4m"
MINUTES = 4
LIMITS = {"source_pairs": 262144, "syn_option_layouts": 256, "tcp_fingerprints": 512,
          "src_asns": 1024}
MIB = 1 << 20

# Values one feed-minute of SYNs can have: every TCP destination port and
# every window (65536 each), the capped layouts and fingerprints with
# `other`, the IP protocols and the 15 signatures. No geo is configured.
VALUE_SPACE = 2 * 65536 + (LIMITS["syn_option_layouts"] + 1) + \
    (LIMITS["tcp_fingerprints"] + 1) + 256 + 15

# A pair table that grew with the packets instead of sampling would hold
# the 900 000 further SYNs' pairs (6 at least) in 8-byte keys at most half
# full: this many MiB more.
PER_PACKET_MIB = 900000 * 6 * 16 // MIB

# (value, source) pairs a SYN can add at most: proto, tcp_dst_port,
# tcp_syn_window, tcp_syn_options, tcp_fingerprint, the feed's sources and
# two signatures.
PAIRS_PER_SYN = 8

# X is what a buffer maps (its arrays rounded up to whole 2 MiB pages, all
# of it written at start, so all of it resident), not what its arrays use.
MEM_START = re.compile(r"memory: (\d+) worker\(s\) x (\d+) minute buffers of [0-9.]+ MiB "
                       r"\(limits; ([0-9.]+) MiB mapped\), resident now ([0-9.]+) MiB")
MEM_PEAK = re.compile(r"memory: peak resident ([0-9.]+) MiB")


def pow2_at_least(n):
    p = 1
    while p < n:
        p <<= 1
    return p


def bound_terms(values, pairs, minutes):
    """What the control thread may hold beyond the workers' minute buffers
    (bytes, term by term) for a capture of `minutes` minutes whose minutes
    have up to `values` values and `pairs` (value, source) pairs."""
    return [
        ("merge accumulators: 48 B a slot, table at most half full, a power of two",
         48 * pow2_at_least(2 * values + 2)),
        ("merge pair union: 8 B a slot, twice the pairs, a power of two",
         8 * pow2_at_least(2 * pairs + 2)),
        ("distinct sources kept for signatures: 4 B a pair", 4 * pairs),
        ("rollups in flight: 32 B a value, every minute of the capture", 32 * values * minutes),
        ("one JSON line: 48 B a value, buffer doubled", 2 * 48 * values),
        ("one Redis transaction: 2 members of 48 B a value, buffer doubled", 2 * 2 * 48 * values),
    ]


# Threads' stacks, hiredis, libpcap and libyaml buffers, allocator slack.
FIXED_MARGIN = 16 * MIB


def config(redis_sock):
    text = d.config_text(redis_sock, redis_extra={"retention": "0"})
    return text + "limits: {%s}\n" % ", ".join("%s: %d" % kv for kv in LIMITS.items())


def pcap_syns(path):
    """Per minute (epoch // 60): SYNs without ACK, and their distinct sources,
    read straight from the pcap bytes (spray frames: Ethernet II, IPv4, TCP;
    anything else is counted apart and fails the run)."""
    syns = collections.Counter()
    sources = collections.defaultdict(set)
    other = 0
    with open(path, "rb") as f:
        head = f.read(24)
        if head[:4] != b"\xd4\xc3\xb2\xa1":
            d.die("%s: expected a little-endian microsecond pcap" % path)
        rec = struct.Struct("<IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, _, caplen, _ = rec.unpack(h)
            fr = f.read(caplen)
            if len(fr) < 34 or fr[12:14] != b"\x08\x00" or fr[23] != 6:
                other += 1
                continue
            ihl = (fr[14] & 0x0f) * 4
            flags = fr[14 + ihl + 13] if len(fr) > 14 + ihl + 13 else 0
            if flags & 0x12 != 0x02:
                other += 1
                continue
            m = sec // 60
            syns[m] += 1
            sources[m].add(fr[26:30])
    return syns, {m: len(s) for m, s in sources.items()}, other


def case_bad_arguments(checks):
    """The first case: a spray of no packets and limits the tables cannot
    take are refused."""
    work = d.tmpdir("spraybad")
    out = os.path.join(work, "x.pcap")
    p = subprocess.run([d.gen_bin(), "--out", out, "--spray", "--packets", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    checks.ok(p.returncode == 2 and "--packets" in err and not os.path.exists(out),
              "bad arguments: darkscope-gen --spray --packets 0: exit %s (want 2), stderr names "
              "--packets: %s" % (p.returncode, "--packets" in err))
    base = d.config_text(None, redis_enabled=False)
    for key, value in (("source_pairs", "1000"), ("source_pairs", "300000"),
                       ("syn_option_layouts", "0"), ("tcp_fingerprints", "65536")):
        path = d.write_config(base + "limits: {%s: %s}\n" % (key, value), work)
        p = subprocess.run([d.darkscope_bin(), "--check-config", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace")
        checks.ok(p.returncode == 2 and "limits." + key in err,
                  "bad arguments: limits.%s: %s: exit %s (want 2), stderr names limits.%s: %s" % (
                      key, value, p.returncode, key, "limits." + key in err))


def check_minutes(checks, tag, lines, syns, distinct, workers):
    """Caps, `other`, nothing dropped, bounded values, sampling per minute."""
    caps = {"tcp_syn_options": LIMITS["syn_option_layouts"] * workers,
            "tcp_fingerprint": LIMITS["tcp_fingerprints"] * workers}
    by_minute = {d.minute_epoch(ln["minute"]) // 60: ln for ln in lines if ln["feed"] == "all"}
    checks.eq("%s: minutes written vs minutes with SYNs in the pcap" % tag,
              sorted(by_minute), sorted(syns))
    sampled = []
    for m in sorted(syns):
        ln = by_minute.get(m)
        if ln is None:
            continue
        iso = ln["minute"][11:16]
        dims = ln["dims"]
        for dim, cap in caps.items():
            vals = dims.get(dim) or {}
            named = len([k for k in vals if k != "other"])
            other = (vals.get("other") or {}).get("packets", 0)
            total = sum(e["packets"] for e in vals.values())
            checks.ok(named <= cap and other > 0 and total == syns[m],
                      "%s %s: %s: %d named values (cap %d) + other with %d packets; packets "
                      "over all values %d %s %d SYNs in the pcap" % (
                          tag, iso, dim, named, cap, other, total,
                          "==" if total == syns[m] else "!=", syns[m]))
        win = sum(e["packets"] for e in (dims.get("tcp_syn_window") or {}).values())
        n_values = sum(len(v) for v in dims.values())
        checks.ok(win == syns[m] and ln["packets"] == syns[m] and n_values <= VALUE_SPACE,
                  "%s %s: tcp_syn_window packets %d, minute packets %d, SYNs in the pcap %d; "
                  "values over all dimensions %d <= %d" % (
                      tag, iso, win, ln["packets"], syns[m], n_values, VALUE_SPACE))
        k = ln.get("sources_sampling") or 0
        sampled.append(k)
        if k > 0:
            # kept ~ Binomial(n, 2^-k): the estimate kept x 2^k has a relative
            # standard error of sqrt((2^k - 1) / n).
            n = distinct[m]
            tol = 5 * math.sqrt((2 ** k - 1) / float(n))
            err = abs(ln["sources"] - n) / float(n)
            checks.ok(err <= tol, "%s %s: sources_sampling %d: estimated sources %d, exact %d "
                      "(%.2f %%, 5 standard errors %.2f %%)" % (
                          tag, iso, k, ln["sources"], n, 100 * err, 100 * tol))
        else:
            checks.eq("%s %s: sources_sampling 0: sources vs exact distinct sources" % (
                tag, iso), ln["sources"], distinct[m])
    d.log("     %s: sources_sampling per minute: %s" % (tag, sampled))
    return sampled


def run_one(checks, n, work):
    tag = "spray %d" % n
    pcap = os.path.join(work, "spray-%d.pcap" % n)
    tpath = os.path.join(work, "spray-%d.json" % n)
    d.run_gen(pcap, packets=n, duration=DURATION, truth=tpath, extra=["--spray"])
    with open(tpath) as f:
        sp = json.load(f)["spray"]
    syns, distinct, other = pcap_syns(pcap)
    d.log("---- %s: %d bytes; truth: %d layouts, %d windows; pcap: %d SYNs in %d minutes, "
          "%d other frames" % (tag, os.path.getsize(pcap), sp["layouts"], sp["windows"],
                               sum(syns.values()), len(syns), other))
    checks.eq("%s: SYNs (no ACK) read from the pcap vs packets asked" % tag,
              sum(syns.values()), n)
    server = d.RedisServer("spray").start()
    jl = os.path.join(work, "spray-%d.jsonl" % n)
    res = d.run_darkscope(config(server.sock), ["--replay", pcap, "--jsonl", jl], timeout=600)
    checks.eq("%s: exit code" % tag, res.rc, 0)
    server.stop()
    os.unlink(pcap)
    start = MEM_START.search(res.err)
    peak = MEM_PEAK.search(res.err)
    if not (start and peak):
        checks.ok(False, "%s: the sensor logged its memory lines (start %s, peak %s)" % (
            tag, bool(start), bool(peak)))
        return None
    workers, nbuf, x, y = int(start.group(1)), int(start.group(2)), float(start.group(3)), \
        float(start.group(4))
    z = float(peak.group(1))
    d.log("     %s: replay %.1f s; %d worker(s) x %d buffers of %.1f MiB, resident at start "
          "%.1f MiB, peak %.1f MiB" % (tag, res.elapsed, workers, nbuf, x, y, z))
    lines = d.read_jsonl(jl)
    sampled = check_minutes(checks, tag, lines, syns, distinct, workers)
    # M: the bound of the whole value space and of full pair tables.
    cap_pairs = workers * LIMITS["source_pairs"]
    terms = bound_terms(VALUE_SPACE, cap_pairs, MINUTES)
    margin = (sum(t for _, t in terms) + FIXED_MARGIN) / MIB
    d.log("     %s: margin M for %d values and %d pairs a minute: %s; fixed %.1f MiB" % (
        tag, VALUE_SPACE, cap_pairs, "; ".join("%s %.1f MiB" % (w, t / float(MIB))
                                               for w, t in terms), FIXED_MARGIN / MIB))
    bound = y + workers * nbuf * x + margin
    checks.ok(z <= bound, "%s: peak resident %.1f MiB <= resident at start %.1f + %d x %d x "
              "%.1f MiB buffers + margin %.1f MiB = %.1f MiB (peak above start + buffers: "
              "%.1f MiB)" % (tag, z, y, workers, nbuf, x, margin, bound,
                             z - y - workers * nbuf * x))
    values = max(sum(len(v) for v in ln["dims"].values()) for ln in lines)
    pairs = min(cap_pairs, PAIRS_PER_SYN * max(syns.values()))
    return {"z": z, "sampled": sampled, "values": values, "pairs": pairs}


def main():
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()

    case_bad_arguments(checks)

    work = d.tmpdir("spray")
    runs = {}
    for n in SIZES:
        runs[n] = run_one(checks, n, work)
    small, big = runs[SIZES[0]], runs[SIZES[-1]]
    if big is not None:
        checks.ok(big["sampled"] and min(big["sampled"]) > 0,
                  "spray %d: every minute sampled its sources (sources_sampling %s): the pair "
                  "table of %d slots did not grow" % (SIZES[-1], big["sampled"],
                                                      LIMITS["source_pairs"]))
    if small is not None and big is not None:
        # Ten times the SYNs may only fill the value-sized structures further
        # (the minutes' values grew from small to big) and the pair tables up
        # to their cap: the growth of bound_terms() between the two.
        t_small = bound_terms(small["values"], small["pairs"], MINUTES)
        t_big = bound_terms(big["values"], big["pairs"], MINUTES)
        growth = [(w, b - a) for (w, a), (_, b) in zip(t_small, t_big)]
        allowed = sum(g for _, g in growth) / MIB
        d.log("     growth allowed from %d to %d values and %d to %d pairs a minute: %s" % (
            small["values"], big["values"], small["pairs"], big["pairs"],
            "; ".join("%s %+.1f MiB" % (w.split(":")[0], g / float(MIB)) for w, g in growth)))
        checks.ok(big["z"] <= small["z"] + allowed,
                  "peak resident of %d SYNs %.1f MiB <= that of %d SYNs %.1f MiB + %.1f MiB "
                  "(grew %.1f MiB; per-packet state would add >= %d MiB)" % (
                      SIZES[-1], big["z"], SIZES[0], small["z"], allowed,
                      big["z"] - small["z"], PER_PACKET_MIB))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
