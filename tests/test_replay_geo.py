# SPDX-License-Identifier: BSD-3-Clause
"""Replay every real capture with geo data and compare src_asn, src_country
and src_home with an independent reference.

Each capture of ../shared/data/pcap is replayed alone
(`darkscope --replay FILE --jsonl PATH`) into a fresh redis-server with one
feed `all` (0.0.0.0/0 and ::/0), under two geo configurations that cover
both ways of choosing a source's country:

  (a) caida-pfx2as, ip-location-db-asn, ip-location-db-country;
      country_source prefix, home_country JP
  (b) caida-pfx2as, the three rir-delegated files (asn_country only),
      ip-location-db-country; country_source asn, derive_asn_country,
      home_country US

The reference is tests/georef.py (its own parsing of the same files, its own
longest-prefix match, layering and country derivation) applied to the
source address of every IP frame as tshark decodes it (tests/truth.py), per
minute with truth.py's rule for late frames. For every minute and every
value of the three dimensions, packets and distinct sources must be equal;
the JSON lines and Redis must hold the same numbers.

Before any of that, the reference itself is checked against figures
published with the data (../shared/data/SOURCES.md) and against its own
second method (flattened maps vs per-length lookups).

One line per capture, configuration and dimension with the number of values
compared; every difference is printed with minute, value, sensor and
reference.
"""

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import georef  # noqa: E402
import truth  # noqa: E402

GEO_DIMS = ("src_asn", "src_country", "src_home")
PFX2AS = "routeviews-rv2-20240406.pfx2as.gz"
IPLOC_ASN = "asn-ipv4-num.csv"
IPLOC_CC = "asn-country-ipv4-num.csv"
RIR = ("delegated-afrinic-extended-20230323", "delegated-lacnic-extended-20230323",
       "delegated-apnic-extended-20160131")

# (tag, country_source, home_country, derive, [(format, file, provides or None)])
CONFIGS = [
    ("a", "prefix", "JP", True,
     [("caida-pfx2as", PFX2AS, None), ("ip-location-db-asn", IPLOC_ASN, None),
      ("ip-location-db-country", IPLOC_CC, None)]),
    ("b", "asn", "US", True,
     [("caida-pfx2as", PFX2AS, None)] +
     [("rir-delegated", f, ["asn_country"]) for f in RIR] +
     [("ip-location-db-country", IPLOC_CC, None)]),
]

# ../shared/data/SOURCES.md, "Cross-check" and the lbnl_scanNG_23-tcp.pcap row.
FACT_PCAP = "lbnl_scanNG_23-tcp.pcap"
FACTS = {"sources": 1242, "pfx2as": 1210, "ip-location-db asn": 1229,
         "asn-country": 1236, "both resolve": 1206, "same AS": 1148}
FACT_TOP_CC = [("BR", 325), ("US", 238), ("CN", 203), ("KR", 109), ("RU", 71)]
FACT_TOP_AS = [27699, 14061, 4837, 4134, 4766]
BACKSCATTER = "ncsa_bro-simple-scan_backscatter.trace"
BACKSCATTER_VICTIM = ("202.229.120.98", "2514", "JP")


def geo_yaml(cfg, geo_dir):
    tag, cs, home, derive, sources = cfg
    lines = ["geo:", "  country_source: %s" % cs, "  home_country: %s" % home,
             "  derive_asn_country: %s" % ("true" if derive else "false"), "  sources:"]
    for fmt, name, provides in sources:
        item = "    - {format: %s, path: %s" % (fmt, json.dumps(os.path.join(geo_dir, name)))
        if provides:
            item += ", provides: [%s]" % ", ".join(provides)
        lines.append(item + "}")
    return "\n".join(lines) + "\n"


def config_with_geo(redis_sock, geo_text):
    """dstest's replay configuration with room for the geo tables, and geo."""
    text = d.config_text(redis_sock, redis_extra={"retention": "0"})
    if "memory_mb: 512" not in text:
        d.die("dstest.config_text no longer writes memory_mb: 512; update this test")
    return text.replace("memory_mb: 512", "memory_mb: 1024") + geo_text


def case_bad_arguments(checks, geo_dir, pcap):
    """The first case: the reference and the sensor refuse what they cannot use."""
    refused = [
        ("an unknown format", lambda: georef.GeoRef([("no-such-format", "/x")])),
        ("ip-location-db-asn providing asn_country",
         lambda: georef.Source("ip-location-db-asn", "/x", ["asn_country"])),
        ("country_source by-magic", lambda: georef.GeoRef([], "by-magic")),
        ("home_country jp", lambda: georef.GeoRef([], "asn", "jp")),
    ]
    for what, make in refused:
        try:
            make()
            ok = False
        except ValueError:
            ok = True
        checks.ok(ok, "bad arguments: georef refuses %s" % what)

    server = d.RedisServer("geobad").start()
    work = d.tmpdir("geobad")
    # Host bits set on line 2: the loader must stop the start and name file:line.
    bad = os.path.join(work, "bad.pfx2as")
    with open(bad, "w") as f:
        f.write("1.0.0.0\t24\t13335\n1.0.5.0\t22\t38803\n")
    bad_geo = ("geo:\n  sources:\n    - {format: caida-pfx2as, path: %s}\n" % json.dumps(bad))
    jl = os.path.join(work, "bad.jsonl")
    r = d.run_darkscope(config_with_geo(server.sock, bad_geo),
                        ["--replay", pcap, "--jsonl", jl], timeout=120, quiet=True)
    checks.eq("bad arguments: malformed geo file: exit code", r.rc, 2)
    want = "%s:2: prefix:" % bad
    checks.ok(want in r.err, "bad arguments: malformed geo file: stderr names %r" % want)
    checks.ok(not os.path.exists(jl) or os.path.getsize(jl) == 0,
              "bad arguments: malformed geo file: no JSON lines written")
    missing = os.path.join(work, "absent.csv")
    miss_geo = ("geo:\n  sources:\n    - {format: ip-location-db-asn, path: %s}\n"
                % json.dumps(missing))
    r = d.run_darkscope(config_with_geo(server.sock, miss_geo),
                        ["--replay", pcap, "--jsonl", jl], timeout=120, quiet=True)
    checks.eq("bad arguments: missing geo file: exit code", r.rc, 2)
    checks.ok("geo.sources[0].path" in r.err and missing in r.err,
              "bad arguments: missing geo file: stderr names geo.sources[0].path and the file")
    with server.client() as c:
        checks.eq("bad arguments: keys written to Redis", c.call("DBSIZE"), 0)
    server.stop()


def case_reference_facts(checks, refs, sources, frames_of):
    """The reference reproduces figures published with the data (SOURCES.md)."""
    frs = frames_of[FACT_PCAP]
    srcs = {f["src"] for f in frs if f.get("src")}
    p2a = sources[PFX2AS].prefix_asn
    ipa = sources[IPLOC_ASN].prefix_asn
    ipc = sources[IPLOC_CC].prefix_cc
    m1 = {s: p2a.lookup(georef.dotted(s)) for s in srcs}
    m2 = {s: ipa.lookup(georef.dotted(s)) for s in srcs}
    m3 = {s: ipc.lookup(georef.dotted(s)) for s in srcs}
    both = [s for s in srcs if m1[s] is not None and m2[s] is not None]
    got = {"sources": len(srcs), "pfx2as": sum(v is not None for v in m1.values()),
           "ip-location-db asn": sum(v is not None for v in m2.values()),
           "asn-country": sum(v is not None for v in m3.values()),
           "both resolve": len(both), "same AS": sum(m1[s] == m2[s] for s in both)}
    for k, want in FACTS.items():
        checks.eq("reference: %s: %s (SOURCES.md)" % (FACT_PCAP, k), got[k], want)
    # Top countries by packets (every frame with a source, as SOURCES.md counts).
    cc = {}
    asn = {}
    for f in frs:
        if f.get("src"):
            a = georef.dotted(f["src"])
            c = ipc.lookup(a)
            cc[c] = cc.get(c, 0) + 1
            n = p2a.lookup(a)
            if n is not None:
                asn[n] = asn.get(n, 0) + 1
    top_cc = sorted(((k, v) for k, v in cc.items() if k), key=lambda kv: -kv[1])[:5]
    checks.eq("reference: %s: top countries by packets (SOURCES.md)" % FACT_PCAP,
              top_cc, FACT_TOP_CC)
    top_as = [k for k, _ in sorted(asn.items(), key=lambda kv: -kv[1])[:5]]
    checks.eq("reference: %s: top ASes by packets (SOURCES.md)" % FACT_PCAP, top_as,
              FACT_TOP_AS)
    bs = {f["src"] for f in frames_of[BACKSCATTER] if f.get("src") and ":" not in f["src"]}
    agree = sum(1 for s in bs if p2a.lookup(georef.dotted(s)) is not None and
                p2a.lookup(georef.dotted(s)) == ipa.lookup(georef.dotted(s)))
    checks.eq("reference: %s: sources that resolve and agree (SOURCES.md: all 203)" %
              BACKSCATTER, (len(bs), agree), (203, 203))
    ip, asn_label, cc_label = BACKSCATTER_VICTIM
    checks.eq("reference: %s (the DoS victim of %s): AS, country" % (ip, BACKSCATTER),
              refs["a"].lookup(ip)[:2], (asn_label, cc_label))
    # The two methods of the reference agree: per-length dicts and ranges
    # (lookups) vs painted, layered maps (derivation), on every capture's
    # IPv4 sources and on random addresses.
    addrs = set()
    for frs_ in frames_of.values():
        addrs |= {georef.dotted(f["src"]) for f in frs_ if f.get("src") and ":" not in f["src"]}
    rnd = random.Random(6890)
    addrs |= {rnd.getrandbits(32) for _ in range(20000)}
    diffs = refs["b"].selfcheck(sorted(addrs))
    for x in diffs[:10]:
        d.log("     reference: %s %s: lookup %s, flattened map %s" % x)
    checks.eq("reference: lookup vs flattened maps on %d addresses: differences" % len(addrs),
              len(diffs), 0)


def reference_minutes(frs, ref):
    """{minute_iso: {dim: {label: (packets, sources)}}} and {minute_iso: packets}."""
    cache = {}
    acc = {}
    packets = {}
    newest = None
    for fr in frs:
        # truth.summarize(): a frame older than the newest minute seen so far
        # is tallied into that newest minute.
        m = fr["minute"]
        if newest is not None and m < newest:
            m = newest
        newest = m if newest is None else max(newest, m)
        mi = truth.minute_iso(m)
        mm = acc.setdefault(mi, {dim: {} for dim in GEO_DIMS})
        packets.setdefault(mi, 0)
        if fr["kind"] != "ip":
            continue
        packets[mi] += 1
        src = fr["src"]
        geo = cache.get(src)
        if geo is None:
            geo = cache[src] = ref.lookup(src)
        for dim, label in zip(GEO_DIMS, geo):
            if label is None:
                continue
            e = mm[dim].setdefault(label, [0, set()])
            e[0] += 1
            e[1].add(src)
    out = {m: {dim: {k: (v[0], len(v[1])) for k, v in dims.items()}
               for dim, dims in mm.items()} for m, mm in acc.items()}
    return out, packets


def sensor_dim(line, dim):
    return {str(k): (d._num(v.get("packets")), d._num(v.get("sources")))
            for k, v in ((line or {}).get("dims") or {}).get(dim, {}).items()}


def compare(checks, label, by_minute, ref_minutes, ref_packets):
    minutes = sorted(set(by_minute) | set(ref_minutes))
    pk_diffs = [(m, d._num((by_minute.get(m) or {}).get("packets")) or 0, ref_packets.get(m, 0))
                for m in minutes
                if (d._num((by_minute.get(m) or {}).get("packets")) or 0) != ref_packets.get(m, 0)]
    for m, g, w in pk_diffs[:5]:
        d.log("     %s %s: feed packets sensor %s tshark %s" % (label, m, g, w))
    checks.eq("%s: minutes whose feed packets differ from tshark (of %d)" % (label, len(minutes)),
              len(pk_diffs), 0)
    for dim in GEO_DIMS:
        nvals = 0
        diffs = []
        for m in minutes:
            g = sensor_dim(by_minute.get(m), dim)
            w = (ref_minutes.get(m) or {}).get(dim, {})
            nvals += len(set(g) | set(w))
            for k in sorted(set(g) | set(w)):
                if g.get(k) != w.get(k):
                    diffs.append((m, k, g.get(k), w.get(k)))
        for m, k, g, w in diffs[:10]:
            d.log("     %s %s: %s value %s: sensor (packets, sources) %s reference %s" % (
                label, m, dim, k, g, w))
        checks.ok(not diffs, "%s: %s (packets, sources) of %d values in %d minutes, "
                  "values differing %d" % (label, dim, nvals, len(minutes), len(diffs)))


def main():
    data = d.shared_data()
    pcap_dir = os.path.join(data, "pcap")
    geo_dir = os.path.join(data, "geo")
    if not os.path.isdir(pcap_dir):
        d.skip("no capture directory %s" % pcap_dir)
    needed = [PFX2AS, IPLOC_ASN, IPLOC_CC] + list(RIR)
    absent = [n for n in needed if not os.path.exists(os.path.join(geo_dir, n))]
    if absent:
        d.skip("geo data missing in %s: %s" % (geo_dir, ", ".join(absent)))
    files = sorted(f for f in os.listdir(pcap_dir) if f.endswith((".pcap", ".trace")))
    if FACT_PCAP not in files or BACKSCATTER not in files:
        d.skip("%s or %s missing from %s" % (FACT_PCAP, BACKSCATTER, pcap_dir))
    d.darkscope_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()
    t0 = time.monotonic()

    case_bad_arguments(checks, geo_dir, os.path.join(pcap_dir, FACT_PCAP))

    # The reference, once per configuration; each file is read once.
    sources = {}
    refs = {}
    for tag, cs, home, derive, srcs in CONFIGS:
        objs = []
        for fmt, name, provides in srcs:
            key = name if provides is None else (name, tuple(provides))
            if key not in sources:
                sources[key] = georef.Source(fmt, os.path.join(geo_dir, name), provides)
            objs.append(sources[key])
        refs[tag] = georef.GeoRef(objs, cs, home, derive)
    d.log("     reference built in %.1f s: (b) %d ASes with a registry country, %d derived" % (
        time.monotonic() - t0, len(refs["b"].registry), len(refs["b"].derived)))
    frames_of = {name: truth.frames(os.path.join(pcap_dir, name), tshark) for name in files}
    case_reference_facts(checks, refs, sources, frames_of)

    for cfg in CONFIGS:
        tag = cfg[0]
        geo_text = geo_yaml(cfg, geo_dir)
        for name in files:
            path = os.path.join(pcap_dir, name)
            label = "%s (%s)" % (name, tag)
            ref_minutes, ref_packets = reference_minutes(frames_of[name], refs[tag])
            server = d.RedisServer("geo").start()
            jl = os.path.join(server.dir, "out.jsonl")
            res = d.run_darkscope(config_with_geo(server.sock, geo_text),
                                  ["--replay", path, "--jsonl", jl], timeout=300)
            checks.eq("%s: exit code (%.1f s)" % (label, res.elapsed), res.rc, 0)
            if not os.path.exists(jl):
                d.log("     %s: no JSON lines written; nothing to compare" % label)
                server.stop()
                continue
            lines = d.read_jsonl(jl)
            idx = d.index_jsonl(lines)
            by_minute = {m: ln for (f, m), ln in idx.items() if f == "all"}
            compare(checks, label, by_minute, ref_minutes, ref_packets)
            with server.client() as c:
                d.compare_json_redis(checks, label, idx, c, feeds=["all"])
            server.stop()
    d.log("     total %.0f s" % (time.monotonic() - t0))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
