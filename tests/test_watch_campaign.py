# SPDX-License-Identifier: BSD-3-Clause
"""A window-5656 campaign over three UTC days: watch rule, geo split and the
hour/day HyperLogLogs, against the generator's truth and tshark.

darkscope-gen writes three UTC days of background traffic plus a campaign
whose SYNs all carry window 5656: every day 40 fresh sources in Japan, 25 in
the US and 30 in China, 4 SYNs each, their addresses drawn from the
ip-location-db country file (docs/GENERATOR.md "Campaigns"); --truth lists
every day's addresses per country. The capture is replayed into a fresh
redis-server with that same file as geo data (country_source prefix,
home_country JP) and one watch rule, window-5656 (TCP, SYN without ACK,
window 5656).

Checks, each figure against an independent one:
  - per minute, the `watch` packets and sources, and the `watch_country` /
    `watch_home` values, equal tshark's SYNs (no ACK) with window 5656 in the
    outer TCP header, whose countries come from the truth's address lists;
  - tshark finds exactly the truth's campaign packets with that window, all
    from that day's campaign addresses: nothing else matches the rule;
  - straight from Redis, per UTC day: PFCOUNT of
    d:DAY:watch_home:window-5656/domestic is the truth's JP sources of the
    day, .../overseas its US + CN sources, watch_country:window-5656/XX its
    sources of XX, watch:window-5656 all of them; the label sets of the day
    list exactly these; every hour key equals tshark's distinct sources of
    that hour, and one PFCOUNT over a day's 24 hour keys equals the day's.
    Redis' HyperLogLog is an estimate; for sets of 25-95 it is exact in
    practice, and a difference is reported with its figures, not tolerated;
  - replaying the same capture again leaves every hour and day key
    (HyperLogLogs and label sets) byte for byte as it was.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import truth  # noqa: E402

RULE = "window-5656"
WINDOW = 5656
HOME = "JP"
COUNTRIES = {"JP": 40, "US": 25, "CN": 30}
PACKETS_PER_SOURCE = 4
CAMPAIGN = "name=w5656,window=%d,sources=%s,packets=%d" % (
    WINDOW, ":".join("%s:%d" % kv for kv in COUNTRIES.items()), PACKETS_PER_SOURCE)
BACKGROUND_PACKETS = 20000
DURATION = "3d"
RANGES = "asn-country-ipv4-num.csv"
SYN, ACK = 0x02, 0x10

WATCH_YAML = """watch:
  - name: %s
    match: {proto: tcp, tcp_flags: "S/SA", window: %d}
""" % (RULE, WINDOW)


def geo_yaml(ranges):
    return ("geo:\n  country_source: prefix\n  home_country: %s\n  sources:\n"
            "    - {format: ip-location-db-country, path: %s}\n" % (HOME, json.dumps(ranges)))


def config(redis_sock, ranges):
    """dstest's replay configuration with room for the geo tables (the
    country file's FIB takes about 140 MiB), geo and the watch rule."""
    text = d.config_text(redis_sock, redis_extra={"retention": "0"})
    if "memory_mb: 512" not in text:
        d.die("dstest.config_text no longer writes memory_mb: 512; update this test")
    return text.replace("memory_mb: 512", "memory_mb: 1024") + geo_yaml(ranges) + WATCH_YAML


def case_bad_arguments(checks, ranges):
    """The first case: a campaign without its country file, a country with no
    sources, and watch rules that could never match are refused."""
    work = d.tmpdir("watchbad")
    out = os.path.join(work, "x.pcap")
    for args, want in (
            (["--campaign", CAMPAIGN], "--country-ranges"),
            (["--campaign", "name=w,window=5656,sources=JP:0,packets=2",
              "--country-ranges", ranges], "JP:'0'")):
        p = subprocess.run([d.gen_bin(), "--out", out] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace")
        checks.ok(p.returncode == 2 and want in err and not os.path.exists(out),
                  "bad arguments: darkscope-gen %s: exit %s (want 2), stderr names %r: %s, "
                  "no file written: %s" % (" ".join(args[:2]), p.returncode, want, want in err,
                                           not os.path.exists(out)))
    base = d.config_text(None, redis_enabled=False)
    for match, want in (('{proto: udp, window: 5656}', "watch[0].match.window"),
                        ('{proto: tcp, tcp_flags: "SA/S"}', "watch[0].match.tcp_flags")):
        path = d.write_config(base + "watch:\n  - name: bad\n    match: %s\n" % match, work)
        p = subprocess.run([d.darkscope_bin(), "--check-config", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace")
        checks.ok(p.returncode == 2 and want in err,
                  "bad arguments: watch match %s: exit %s (want 2), stderr names %s: %s" % (
                      match, p.returncode, want, want in err))


def tshark_syns(path, tshark):
    """Every frame as truth.parse_frame() sees it, with the outer TCP
    header's flags and window; minutes as truth.summarize() assigns them."""
    fields = truth.FIELDS + ["tcp.flags", "tcp.window_size_value"]
    cmd = [tshark, "-r", path, "-n", "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,", "-E", "quote=n"]
    for f in fields:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        d.die("tshark failed on %s: %s" % (path, proc.stderr.decode(errors="replace")[-500:]))
    n = len(truth.FIELDS)
    out = []
    newest = None
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        fr = truth.parse_frame(cols[:n])
        m = fr["minute"]
        if newest is not None and m < newest:
            m = newest
        newest = m if newest is None else max(newest, m)
        fr["minute"] = m
        # The n-th tcp field belongs to the n-th TCP layer: the first is the
        # outer header when truth.py found one (it set tcp_dport).
        if fr["kind"] == "ip" and "tcp_dport" in fr:
            fr["tcp_flags"] = int(truth.occ(cols[n])[0], 0) & 0xff
            fr["window"] = int(truth.occ(cols[n + 1])[0])
        out.append(fr)
    return out


def day_of(minute):
    return time.strftime("%Y%m%d", time.gmtime(minute * 60))


def hour_of(minute):
    return time.strftime("%Y%m%d%H", time.gmtime(minute * 60))


def reference(frames, country_of):
    """Per minute {dim: {label: [packets, sources]}} of the rule's matches,
    and per (period, dim, label) the source set (period: hour or day)."""
    minutes = {}
    periods = {}
    for fr in frames:
        if fr["kind"] != "ip" or fr.get("window") != WINDOW:
            continue
        if fr["tcp_flags"] & (SYN | ACK) != SYN:
            continue
        cc = country_of.get(fr["src"], "??")
        home = "domestic" if cc == HOME else "overseas"
        mm = minutes.setdefault(truth.minute_iso(fr["minute"]), {})
        for dim, label in (("watch", RULE), ("watch_country", "%s/%s" % (RULE, cc)),
                           ("watch_home", "%s/%s" % (RULE, home))):
            e = mm.setdefault(dim, {}).setdefault(label, [0, set()])
            e[0] += 1
            e[1].add(fr["src"])
            for period in ("h:" + hour_of(fr["minute"]), "d:" + day_of(fr["minute"])):
                periods.setdefault((period, dim, label), set()).add(fr["src"])
    return minutes, periods


def sensor_table(line, dim):
    return {str(k): (d._num(e.get("packets")), d._num(e.get("sources")))
            for k, e in ((line or {}).get("dims", {}).get(dim) or {}).items()}


def compare_minutes(checks, by_minute, ref_minutes):
    """Per minute and watch dimension, every value: packets and sources."""
    minutes = sorted(set(ref_minutes) | {m for m, ln in by_minute.items()
                                         if any(sensor_table(ln, dim) for dim in
                                                ("watch", "watch_country", "watch_home"))})
    for dim in ("watch", "watch_country", "watch_home"):
        diffs = []
        sums = {}
        for m in minutes:
            g = sensor_table(by_minute.get(m), dim)
            w = {k: (v[0], len(v[1])) for k, v in ref_minutes.get(m, {}).get(dim, {}).items()}
            for lab in set(g) | set(w):
                s = sums.setdefault(lab, [0, 0])
                s[0] += (g.get(lab) or (0, 0))[0] or 0
                s[1] += (w.get(lab) or (0, 0))[0]
            if g != w:
                diffs.append((m, g, w))
        for m, g, w in diffs[:10]:
            d.log("     %s %s (packets, sources): sensor %s reference %s" % (m[:16], dim, g, w))
        checks.ok(not diffs, "%s in %d minutes with matches: packets per label (sensor, "
                  "reference) %s; minutes differing %d" % (
                      dim, len(minutes), ", ".join("%s %d/%d" % (k, v[0], v[1])
                                                  for k, v in sorted(sums.items())),
                      len(diffs)))


def hll_keys(client):
    """Every hour and day key of the feed (HyperLogLogs and label sets)."""
    snap = {}
    for pattern in ("h:*", "d:*"):
        snap.update(d.snapshot(client, "%s:%s:all:%s" % (d.KEY_PREFIX, d.SENSOR, pattern)))
    return snap


def key(period, dim, label=None):
    """An hour or day HyperLogLog (with label) or its label set (without)."""
    k = "%s:%s:all:%s:hll:%s" % (d.KEY_PREFIX, d.SENSOR, period, dim)
    return k if label is None else k + ":" + label


def check_days(checks, client, camp, periods):
    """PFCOUNT of the day keys against the truth's address lists."""
    for day_iso, day in sorted(camp["days"].items()):
        dk = "d:" + day_iso.replace("-", "")
        addrs = {cc: set(c["addresses"]) for cc, c in day["countries"].items()}
        overseas = set().union(*(a for cc, a in addrs.items() if cc != HOME))
        others = "+".join(cc for cc in COUNTRIES if cc != HOME)
        want = {("watch_home", RULE + "/domestic"): (len(addrs.get(HOME, ())), HOME),
                ("watch_home", RULE + "/overseas"): (len(overseas), others),
                ("watch", RULE): (len(set().union(*addrs.values())), "+".join(COUNTRIES))}
        for cc in COUNTRIES:
            want[("watch_country", "%s/%s" % (RULE, cc))] = (len(addrs.get(cc, ())), cc)
        for (dim, label), (n, whose) in sorted(want.items()):
            got = client.call("PFCOUNT", key(dk, dim, label))
            checks.eq("day %s: PFCOUNT %s:%s vs the truth's %s sources" % (
                day_iso, dim, label, whose), got, n)
            # tshark's sources of the day agree with the truth (a sanity check of both).
            checks.eq("day %s: tshark's sources of %s:%s vs the truth's" % (day_iso, dim, label),
                      len(periods.get((dk, dim, label), ())), n)
        for dim in ("watch", "watch_country", "watch_home"):
            got = sorted(client.call("SMEMBERS", key(dk, dim)))
            checks.eq("day %s: labels of %s" % (day_iso, key(dk, dim)), got,
                      sorted(lab for (dm, lab) in want if dm == dim))


def check_hours(checks, client, camp, periods):
    """Every hour key against tshark; the 24 hour keys of a day merged by one
    PFCOUNT against the day key."""
    hour_bad = []
    n_hours = 0
    for (period, dim, label), srcs in sorted(periods.items()):
        if not period.startswith("h:"):
            continue
        n_hours += 1
        got = client.call("PFCOUNT", key(period, dim, label))
        if got != len(srcs):
            hour_bad.append((period, dim, label, got, len(srcs)))
    for b in hour_bad[:10]:
        d.log("     %s %s:%s: PFCOUNT %d, tshark %d" % b)
    checks.ok(not hour_bad, "hour HyperLogLogs equal to tshark's distinct sources of the hour: "
              "%d of %d" % (n_hours - len(hour_bad), n_hours))
    # No hour key beyond the reference's, none missing.
    cursor = "0"
    found = set()
    while True:
        cursor, batch = client.call("SCAN", cursor, "MATCH", key("h:*", "watch*"), "COUNT", "1000")
        found.update(batch)
        if cursor == "0":
            break
    want_keys = set()
    for (p, dim, lab) in periods:
        if p.startswith("h:"):
            want_keys |= {key(p, dim), key(p, dim, lab)}
    extra = sorted(found - want_keys)
    missing = sorted(want_keys - found)
    checks.eq("hour keys (HyperLogLogs and label sets) in Redis %d, reference %d; extra" % (
        len(found), len(want_keys)), extra[:5], [])
    checks.eq("hour keys missing from Redis", missing[:5], [])
    for day_iso in sorted(camp["days"]):
        day = day_iso.replace("-", "")
        hours = ["h:%s%02d" % (day, h) for h in range(24)]
        for dim, label in (("watch_home", RULE + "/domestic"), ("watch_home", RULE + "/overseas"),
                           ("watch", RULE)) + tuple(("watch_country", "%s/%s" % (RULE, cc))
                                                   for cc in COUNTRIES):
            merged = client.call("PFCOUNT", *[key(h, dim, label) for h in hours])
            daily = client.call("PFCOUNT", key("d:" + day, dim, label))
            checks.eq("day %s: PFCOUNT over its 24 hour keys of %s:%s vs the day key" % (
                day_iso, dim, label), merged, daily)


def main():
    geo_dir = os.path.join(d.shared_data(), "geo")
    ranges = os.path.join(geo_dir, RANGES)
    if not os.path.isfile(ranges):
        d.skip("no geo data %s" % ranges)
    tshark = d.tshark_bin()
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()

    case_bad_arguments(checks, ranges)

    work = d.tmpdir("watch")
    pcap = os.path.join(work, "w5656.pcap")
    tpath = os.path.join(work, "w5656.json")
    d.run_gen(pcap, packets=BACKGROUND_PACKETS, duration=DURATION, truth=tpath,
              extra=["--country-ranges", ranges, "--campaign", CAMPAIGN])
    with open(tpath) as f:
        tr = json.load(f)
    camp = tr["campaigns"]["w5656"]
    d.log("capture: %d packets from %s for %d s; campaign: %d packets, %d sources, days %s" % (
        tr["packets"], tr["start"], tr["duration_s"], camp["packets"], camp["sources"],
        ", ".join("%s %d/%d" % (k, v["packets"], v["sources"]) for k, v in camp["days"].items())))
    checks.eq("truth: UTC days the campaign spans", len(camp["days"]), 3)
    checks.eq("truth: campaign packets (3 days x 95 sources x 4)", camp["packets"],
              3 * sum(COUNTRIES.values()) * PACKETS_PER_SOURCE)

    # Addresses -> country, and (day, address) pairs of the campaign.
    country_of = {}
    day_addr = set()
    for day_iso, day in camp["days"].items():
        for cc, c in day["countries"].items():
            for a in c["addresses"]:
                country_of[a] = cc
                day_addr.add((day_iso.replace("-", ""), a))

    frames = tshark_syns(pcap, tshark)
    matches = [fr for fr in frames if fr["kind"] == "ip" and fr.get("window") == WINDOW
               and fr["tcp_flags"] & (SYN | ACK) == SYN]
    outside = [fr for fr in matches if (day_of(fr["minute"]), fr["src"]) not in day_addr]
    checks.eq("tshark: SYNs (no ACK) with window %d vs the truth's campaign packets" % WINDOW,
              len(matches), camp["packets"])
    checks.eq("tshark: such SYNs not from that day's campaign addresses", len(outside), 0)
    ref_minutes, periods = reference(frames, country_of)

    server = d.RedisServer("watch").start()
    jl = os.path.join(work, "run1.jsonl")
    res = d.run_darkscope(config(server.sock, ranges), ["--replay", pcap, "--jsonl", jl],
                          timeout=600)
    checks.eq("first replay: exit code", res.rc, 0)
    if res.rc != 0 or not os.path.exists(jl):
        d.die("the first replay failed; nothing to compare")
    d.log("     first replay took %.1f s" % res.elapsed)
    lines = d.read_jsonl(jl)
    by_minute = {ln["minute"]: ln for ln in lines if ln.get("feed") == "all"}
    total = sum((sensor_table(ln, "watch").get(RULE) or (0, 0))[0] for ln in lines)
    checks.eq("sensor: watch %s packets over all %d minutes vs the truth's campaign packets"
              % (RULE, len(by_minute)), total, camp["packets"])
    compare_minutes(checks, by_minute, ref_minutes)

    with server.client() as c:
        check_days(checks, c, camp, periods)
        check_hours(checks, c, camp, periods)
        before = hll_keys(c)
        n_hll = sum(1 for t, _ in before.values() if t == "string")
        n_sets = sum(1 for t, _ in before.values() if t == "set")
        # P:S:F:h|d:PERIOD:hll:DIM:LABEL
        n_watch = sum(1 for k, (t, _) in before.items()
                      if t == "string" and len(k.split(":")) > 7 and k.split(":")[5] == "hll"
                      and k.split(":")[6].startswith("watch"))
        d.log("     hour and day keys after the first replay: %d HyperLogLogs (%d of watch "
              "values; the others of the feeds and their other dimensions), %d label sets"
              % (n_hll, n_watch, n_sets))
        checks.eq("watch HyperLogLogs written vs the reference's (hour or day, value) pairs",
                  n_watch, len(periods))

    res = d.run_darkscope(config(server.sock, ranges), ["--replay", pcap], timeout=600)
    checks.eq("second replay: exit code", res.rc, 0)
    with server.client() as c:
        after = hll_keys(c)
        for line in d.snapshot_diff(after, before):
            d.log("     second replay: " + line)
        changed = sum(1 for k in set(before) | set(after) if before.get(k) != after.get(k))
        checks.eq("second replay: hour and day keys changed, added or removed (of %d)" % (
            len(before)), changed, 0)
    server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
