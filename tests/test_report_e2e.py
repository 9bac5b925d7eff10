#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The periodic report end to end: generator -> sensor -> Redis rollups ->
darkscope-report, against an independent account of the capture.

darkscope-gen writes two consecutive weeks (14 UTC days from Monday
2024-05-20) whose port and country weights switch at the start of the second
week (docs/GENERATOR.md "Phases"), plus a window-5656 campaign with a known
number of sources per day in Japan, the US and China. The weights are chosen
so that the top 5 change: 3389/tcp climbs from 5th to 1st and 445/tcp falls
from 1st to 5th, 8080/tcp enters from 6th, 5555/tcp appears from nothing,
80/tcp and 22/tcp leave; CN overtakes US, IN and RU appear, BR and DE leave.

The capture is replayed into a fresh redis-server by a sensor whose feed is
the generator's prefixes, with geo data from the same ranges file the
generator drew the sources from (country_source prefix, home_country JP),
the watch rule window-5656 and day keys in UTC. darkscope-report then writes
the report of week 2 (its previous period is week 1) as JSON, and the test
compares it with figures computed here from tshark's decoding of the capture
(tests/truth.py) and georef's country of each source over the ranges file:

  - top 5 ports (TCP and UDP together) and top 5 countries: labels, packets
    exactly, rank and previous rank (week 1's full ranking), previous
    packets, IANA service names, distinct sources within 2 % (Redis'
    HyperLogLog estimates, standard error 0.81 %);
  - totals of both weeks: packets exactly, sources within 2 %;
  - the watch rule per day: packets exactly (tshark's SYNs with window
    5656), domestic and overseas distinct sources within 2 % of the
    generator's truth (exact and reported figures are printed);
  - markdown, text and HTML versions exist and name the top port.

Then the rollups' contract (docs/SCHEMA.md "Hours and days"):

  - replaying the same capture again leaves every hour and day key, their
    indexes and every counters hash unchanged;
  - a replay during which Redis is shut down (SHUTDOWN SAVE) and restarted
    ends with the hour and day keys of the uninterrupted run.

The first case checks that bad arguments are rejected. Skipped (77) without
$DS_SHARED_DATA/geo/asn-country-ipv4-num.csv, tshark or redis-server.
"""

import calendar
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import georef  # noqa: E402
import truth  # noqa: E402

RANGES = "asn-country-ipv4-num.csv"
FEED = "darknet"
PREFIXES = ["198.18.0.0/16", "198.19.0.0/16", "2001:db8:d5::/48"]   # the generator's
HOME = "JP"
RULE = "window-5656"
WINDOW = 5656
TOP = 5
TOLERANCE = 0.02

START = "2024-05-20"                    # a Monday: weeks 2024-W21 and 2024-W22
SWITCH = "2024-05-27"
WEEK1 = ["2024-05-%02d" % d_ for d_ in range(20, 27)]
WEEK2 = ["2024-05-%02d" % d_ for d_ in range(27, 32)] + ["2024-06-01", "2024-06-02"]
# Shares of all packets (docs/GENERATOR.md): a port of weight w in a list
# adding up to W gets ~50 % * w / W; 23/tcp gets ~14 % from Mirai whatever
# the list; neighbours in the top 6 are >= 2 % of a week's packets apart.
PORTS_BEFORE = "445:40,80:20,22:16,3389:12,8080:8"
PORTS_AFTER = "3389:40,8080:22,5555:16,445:10,1433:8"
COUNTRIES_BEFORE = "US:36,CN:26,BR:18,JP:12,DE:8"
COUNTRIES_AFTER = "CN:34,IN:24,US:18,RU:14,JP:10"
CAMPAIGN_SOURCES = {"JP": 12, "US": 8, "CN": 10}
CAMPAIGN = "name=w5656,window=%d,sources=%s,packets=3" % (
    WINDOW, ":".join("%s:%d" % kv for kv in CAMPAIGN_SOURCES.items()))
GEN_ARGS = ["--start", START, "--duration", "14d", "--packets", "60000", "--seed", "21",
            "--ports", PORTS_BEFORE, "--countries", COUNTRIES_BEFORE,
            "--switch-at", SWITCH, "--ports-after", PORTS_AFTER,
            "--countries-after", COUNTRIES_AFTER, "--campaign", CAMPAIGN]
NOT_RANKED = ("bogon", "unrouted", "unknown", "other")
SYN, ACK = 0x02, 0x10

WATCH_YAML = """watch:
  - name: %s
    match: {proto: tcp, tcp_flags: "S/SA", window: %d}
""" % (RULE, WINDOW)

checks = d.Checks()


def within(got, want, tol=TOLERANCE):
    return isinstance(got, (int, float)) and abs(got - want) <= tol * want


def config(sock, ranges):
    """A replay configuration: one feed of the generator's prefixes, geo from
    the ranges file (its FIB needs about 140 MiB: 1024 MiB for EAL), the
    watch rule, days in UTC, and minutes kept (retention 0)."""
    text = d.config_text(sock, feeds=[(FEED, PREFIXES)],
                         redis_extra={"retention": "0", "rollup_timezone": "UTC"})
    if "memory_mb: 512" not in text:
        d.die("dstest.config_text no longer writes memory_mb: 512; update this test")
    geo = ("geo:\n  country_source: prefix\n  home_country: %s\n  sources:\n"
           "    - {format: ip-location-db-country, path: %s}\n" % (HOME, json.dumps(ranges)))
    return text.replace("memory_mb: 512", "memory_mb: 1024") + geo + WATCH_YAML


def report_bin():
    return d.program("DARKSCOPE_REPORT", "app/darkscope-report/darkscope-report")


def run_report(sock, args):
    cmd = [report_bin(), "--redis", "unix:" + sock, "--from", WEEK2[0], "--to", WEEK2[-1],
           "--tz", "UTC"] + args
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return p.returncode, p.stderr.decode(errors="replace"), time.monotonic() - t0


# ---------------------------------------------------------------------------
# Case 1: bad arguments

def case_bad_arguments(work, ranges):
    out = os.path.join(work, "never.pcap")
    for args, want in (
            (["--switch-at", "2024-06-03", "--ports-after", "23:1", "--duration", "14d",
              "--start", START], "--switch-at"),
            (["--countries", COUNTRIES_BEFORE], "--country-ranges"),
            (["--country-ranges", ranges, "--countries", "US:36,XX:2"], "XX")):
        p = subprocess.run([d.gen_bin(), "--out", out] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace").strip()
        checks.ok(p.returncode == 2 and want in err and "\n" not in err and
                  not os.path.exists(out),
                  "bad arguments: darkscope-gen %s: exit %s (want 2), one line naming %r: %r"
                  % (" ".join(args[:2]), p.returncode, want, err[:160]))
    # Checked before Redis is reached (an unknown --tz only once sensors are
    # known: see case_report).
    for args, want in ((["--from", WEEK2[0]], "--to"),
                       (["--from", WEEK2[-1], "--to", WEEK2[0]], "--to '%s'" % WEEK2[0]),
                       (["--week", "2024-W22", "--format", "pdf"], "pdf")):
        p = subprocess.run([report_bin(), "--redis", "unix:" + os.path.join(work, "no.sock")] +
                           args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace").strip()
        checks.ok(p.returncode == 2 and want in err and not p.stdout,
                  "bad arguments: darkscope-report %s: exit %s (want 2), stderr names %r: %r"
                  % (" ".join(args), p.returncode, want, err[:160]))


# ---------------------------------------------------------------------------
# The independent account

def decode(pcap, tshark):
    """Every frame as truth.parse_frame() sees it, plus the outer TCP header's
    flags and window (as tests/test_watch_campaign.py reads them)."""
    fields = truth.FIELDS + ["tcp.flags", "tcp.window_size_value"]
    cmd = [tshark, "-r", pcap, "-n", "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,", "-E", "quote=n"]
    for f in fields:
        cmd += ["-e", f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        d.die("tshark failed on %s: %s" % (pcap, p.stderr.decode(errors="replace")[-500:]))
    n = len(truth.FIELDS)
    out = []
    for line in p.stdout.decode("utf-8", errors="replace").splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        fr = truth.parse_frame(cols[:n])
        if fr["kind"] == "ip" and "tcp_dport" in fr:
            fr["tcp_flags"] = int(truth.occ(cols[n])[0], 0) & 0xff
            fr["window"] = int(truth.occ(cols[n + 1])[0])
        out.append(fr)
    return out


class Week:
    """What the sensor's feed saw in one week: packets and source sets per
    port ("23/tcp"), per country (georef's label) and in total."""

    def __init__(self):
        self.packets = 0
        self.sources = set()
        self.ports = {}
        self.countries = {}
        self.minutes = set()
        self.watch = {}             # day -> [packets, set of sources]

    def bump(self, table, label, src):
        e = table.setdefault(label, [0, set()])
        e[0] += 1
        e[1].add(src)


def account(frames, geo):
    """Week 1 and week 2 from the decoded frames. Packets outside the feed's
    prefixes, and frames that are no IP packet, are not the feed's."""
    nets = truth.parse_prefixes(PREFIXES)
    weeks = {day: Week() for day in ("w1", "w2")}
    cc_cache = {}
    others = 0
    for fr in frames:
        day = time.strftime("%Y-%m-%d", time.gmtime(fr["minute"] * 60))
        w = weeks["w1"] if day in WEEK1 else weeks["w2"] if day in WEEK2 else None
        if w is None:
            others += 1
            continue
        w.minutes.add(fr["minute"])
        if fr["kind"] != "ip" or not truth.in_prefixes(fr["dst"], nets):
            continue
        src = fr["src"]
        w.packets += 1
        w.sources.add(src)
        if "tcp_dport" in fr:
            w.bump(w.ports, "%d/tcp" % fr["tcp_dport"], src)
        elif "udp_dport" in fr:
            w.bump(w.ports, "%d/udp" % fr["udp_dport"], src)
        if src not in cc_cache:
            cc_cache[src] = geo.lookup(src)[1]
        w.bump(w.countries, cc_cache[src], src)
        if fr.get("window") == WINDOW and fr["tcp_flags"] & (SYN | ACK) == SYN:
            e = w.watch.setdefault(day, [0, set()])
            e[0] += 1
            e[1].add(src)
    if others:
        d.die("%d frames outside the two weeks: the capture is not what this test made" % others)
    return weeks["w1"], weeks["w2"]


def natural(label):
    """The report's order among equal packets: numbers compared as numbers."""
    head = label.split("/")[0]
    return (0, int(head), label) if head.isdigit() else (1, 0, label)


def ranking(table, skip=()):
    items = [(lab, e[0]) for lab, e in table.items() if e[0] > 0 and lab not in skip]
    items.sort(key=lambda x: (-x[1], natural(x[0])))
    return items


def service(label):
    port, proto = label.split("/")
    try:
        return socket.getservbyport(int(port), proto)
    except OSError:
        return ""


def expected_top(w1, w2, kind):
    """The top 5 of week 2 with week 1's ranks, as the report must show them."""
    skip = NOT_RANKED if kind == "countries" else ()
    table1, table2 = (w1.ports, w2.ports) if kind == "ports" else (w1.countries, w2.countries)
    prev = ranking(table1, skip)
    prev_rank = {lab: i + 1 for i, (lab, _) in enumerate(prev)}
    out = []
    for i, (lab, pk) in enumerate(ranking(table2, skip)[:TOP]):
        e = {"label": lab, "packets": pk, "rank": i + 1, "previous_rank": prev_rank.get(lab),
             "previous_packets": table1.get(lab, [0])[0], "sources": len(table2[lab][1])}
        if kind == "ports":
            e["service"] = service(lab)
        out.append(e)
    return out, [lab for lab, _ in prev[:TOP]]


# ---------------------------------------------------------------------------
# Case 2: the report against the account

def check_scenario(w1, w2):
    """The capture must make the report's previous ranks worth checking: in
    both rankings, some value new to the top 5 and some value that moved."""
    for kind in ("ports", "countries"):
        now, prev_top = expected_top(w1, w2, kind)
        labels = [e["label"] for e in now]
        new = [lab for lab in labels if lab not in prev_top]
        moved = [e["label"] for e in now if e["label"] in prev_top and
                 prev_top.index(e["label"]) + 1 != e["rank"]]
        checks.ok(new and moved, "scenario: %s top 5 week 1 %s -> week 2 %s: new %s, moved %s"
                  % (kind, prev_top, labels, new, moved))


def compare_ranked(doc, w1, w2, kind):
    want, _ = expected_top(w1, w2, kind)
    got = doc.get(kind) or []
    key = "label" if kind == "ports" else "cc"
    checks.eq("%s: entries" % kind, len(got), len(want))
    for g, w in zip(got, want):
        fields = ["packets", "rank", "previous_rank", "previous_packets"]
        if kind == "ports":
            fields.append("service")
            port, proto = w["label"].split("/")
            checks.eq("ports #%d: port, proto" % w["rank"], (g.get("port"), g.get("proto")),
                      (int(port), proto))
        checks.eq("%s #%d: %s and %s" % (kind, w["rank"], key, ", ".join(fields)),
                  [g.get(key)] + [g.get(f) for f in fields],
                  [w["label"]] + [w[f] for f in fields])
        checks.ok(within(g.get("sources"), w["sources"]),
                  "%s #%d %s: distinct sources reported %s, exact %d (within 2 %%)" % (
                      kind, w["rank"], w["label"], g.get("sources"), w["sources"]))


def compare_watch(doc, w2, camp):
    rules = [r for r in doc.get("watch") or [] if r.get("name") == RULE]
    checks.eq("watch: rules named %s" % RULE, len(rules), 1)
    if not rules:
        return
    rule = rules[0]
    packets = sum(e[0] for e in w2.watch.values())
    checks.eq("watch %s: packets of week 2 vs tshark's SYNs with window %d" % (RULE, WINDOW),
              rule.get("packets"), packets)
    days = {e.get("day"): e for e in rule.get("days") or []}
    checks.eq("watch %s: days" % RULE, sorted(days), WEEK2)
    dom_all, ovs_all = set(), set()
    for day in WEEK2:
        t = camp["days"][day]["countries"]
        dom = set(t[HOME]["addresses"])
        ovs = set().union(*(set(c["addresses"]) for cc, c in t.items() if cc != HOME))
        dom_all |= dom
        ovs_all |= ovs
        got = days.get(day, {})
        checks.eq("watch %s %s: packets vs tshark" % (RULE, day), got.get("packets"),
                  w2.watch.get(day, [0])[0])
        checks.ok(within(got.get("domestic"), len(dom)) and
                  within(got.get("overseas"), len(ovs)),
                  "watch %s %s: domestic reported %s exact %d, overseas reported %s exact %d "
                  "(generator's truth, within 2 %%)" % (RULE, day, got.get("domestic"), len(dom),
                                                       got.get("overseas"), len(ovs)))
    checks.ok(within(rule.get("domestic"), len(dom_all)) and
              within(rule.get("overseas"), len(ovs_all)),
              "watch %s week 2: domestic reported %s exact %d, overseas reported %s exact %d"
              % (RULE, rule.get("domestic"), len(dom_all), rule.get("overseas"), len(ovs_all)))


def case_report(sock, work, w1, w2, camp):
    bad = os.path.join(work, "bad.json")
    rc, err, _ = run_report(sock, ["--tz", "Mars/Olympus", "--format", "json", "--out", bad])
    checks.ok(rc == 2 and "Mars/Olympus" in err and not os.path.exists(bad),
              "report --tz Mars/Olympus: exit %d (want 2), stderr names the zone, nothing "
              "written: %r" % (rc, err.strip()[:160]))
    rjson = os.path.join(work, "R.json")
    rc, err, secs = run_report(sock, ["--format", "json", "--out", rjson])
    checks.eq("report json: exit status (stderr %r)" % err.strip()[:300], rc, 0)
    d.log("     report json: %.2f s" % secs)
    try:
        with open(rjson) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        checks.ok(False, "report json: readable: %s" % e)
        return None
    per, prev = doc.get("period", {}), doc.get("previous", {})
    checks.eq("period: from, to, days, tz", [per.get(k) for k in ("from", "to", "days", "tz")],
              [WEEK2[0], WEEK2[-1], 7, "UTC"])
    checks.eq("previous: from, to", [prev.get("from"), prev.get("to")], [WEEK1[0], WEEK1[-1]])
    tot = doc.get("totals", {})
    checks.eq("totals: packets, previous packets (feed %s)" % FEED,
              [tot.get("packets"), tot.get("previous_packets")], [w2.packets, w1.packets])
    checks.ok(within(tot.get("sources"), len(w2.sources)) and
              within(tot.get("previous_sources"), len(w1.sources)),
              "totals: distinct sources reported %s exact %d, previous reported %s exact %d" % (
                  tot.get("sources"), len(w2.sources), tot.get("previous_sources"),
                  len(w1.sources)))
    comp = doc.get("completeness", {})
    checks.eq("completeness: minutes with data of the 10080 expected",
              [comp.get("expected_minutes"), comp.get("minutes")], [10080, len(w2.minutes)])
    compare_ranked(doc, w1, w2, "ports")
    compare_ranked(doc, w1, w2, "countries")
    excluded = {lab: e[0] for lab, e in w2.countries.items() if lab in NOT_RANKED}
    checks.eq("countries_excluded (IPv6 sources have no country in an IPv4 file)",
              {k: v for k, v in (doc.get("countries_excluded") or {}).items() if v},
              excluded)
    compare_watch(doc, w2, camp)
    return doc


def case_formats(sock, work, top_label):
    """The other formats, charts on: each is written and names the top port."""
    for fmt, ext in (("markdown", "md"), ("text", "txt"), ("html", "html")):
        out = os.path.join(work, "R." + ext)
        rc, err, secs = run_report(sock, ["--format", fmt, "--out", out])
        body = open(out, encoding="utf-8", errors="replace").read() \
            if os.path.exists(out) else ""
        checks.ok(rc == 0 and top_label in body,
                  "report %s: exit %d, %d bytes in %.2f s, names the top port %s: %s (stderr %r)"
                  % (fmt, rc, len(body), secs, top_label, top_label in body, err.strip()[:200]))


# ---------------------------------------------------------------------------
# Cases 3 and 4: the rollups' contract

ROLLUP_PATTERNS = ("*:h:*", "*:d:*", "*:hours", "*:days")


def normalized(snap):
    """A snapshot whose HyperLogLogs compare by their registers: bytes 8-15
    of Redis' HLL header cache the last PFCOUNT (and say whether the cache is
    valid), so a PFCOUNT, like the report's, rewrites them without changing
    the set. Everything else is compared as it is."""
    out = {}
    for k, (t, v) in snap.items():
        if t == "string" and v.startswith("HYLL"):
            raw = v.encode("utf-8", "surrogateescape")
            v = raw[:8] + b"\0" * 8 + raw[16:]
        out[k] = (t, v)
    return out


def rollup_snapshot(client, patterns):
    snap = {}
    for pat in patterns:
        snap.update(d.snapshot(client, pat))
    return normalized(snap)


def compare_snapshots(label, got, want):
    diff = d.snapshot_diff(got, want)
    for line in diff:
        d.log("     %s: %s" % (label, line))
    n_hll = sum(1 for t, v in want.values() if t == "string")
    checks.eq("%s: keys (%d, of which %d HyperLogLogs) changed, added or removed" % (
        label, len(want), n_hll), len(diff), 0)


def case_replay_again(server, cfg, pcap, before):
    res = d.run_darkscope(cfg, ["--replay", pcap], timeout=600)
    checks.eq("second replay: exit code", res.rc, 0)
    d.log("     second replay: %.1f s" % res.elapsed)
    with server.client() as c:
        after = rollup_snapshot(c, ROLLUP_PATTERNS + ("*:counters",))
    compare_snapshots("second replay vs first, hour and day keys, indexes, counters",
                      after, before)


def case_outage(cfg_for, pcap, reference, n_minutes):
    """As tests/test_redis_outage.py: Redis goes down (SHUTDOWN SAVE) while the
    sensor replays, stays down 3 s and comes back on the same data."""
    b = d.RedisServer("e2eB").start()
    bg = d.Background(cfg_for(b.sock), ["--replay", pcap])
    written = d.wait_minutes(lambda: d.redis_minute_count(b, FEED), n_minutes // 4, bg,
                             timeout=300, poll=0.01)
    running = bg.running()
    b.stop(save=True)
    checks.ok(running and bg.running() and written is not None and written < n_minutes,
              "outage: Redis shut down while the sensor was replaying, %s of %d minutes in "
              "Redis" % (written, n_minutes))
    time.sleep(3)
    checks.ok(bg.running(), "outage: sensor still running after 3 s without Redis")
    b.start()
    res = bg.wait(600)
    checks.eq("outage: exit code", res.rc, 0)
    with b.client() as c:
        got = rollup_snapshot(c, ROLLUP_PATTERNS)
    compare_snapshots("outage run vs uninterrupted run, hour and day keys and indexes",
                      got, reference)
    b.stop()


# ---------------------------------------------------------------------------

def main():
    ranges = os.path.join(d.shared_data(), "geo", RANGES)
    if not os.path.isfile(ranges):
        d.skip("no geo data %s" % ranges)
    tshark = d.tshark_bin()
    d.redis_server_bin()
    d.darkscope_bin()
    d.gen_bin()
    report_bin()
    t_start = time.monotonic()
    work = d.tmpdir("reporte2e")

    d.log("== bad_arguments")
    case_bad_arguments(work, ranges)

    d.log("== capture and its account")
    pcap = os.path.join(work, "2w.pcap")
    tpath = os.path.join(work, "2w.json")
    d.run_gen(pcap, truth=tpath, extra=["--country-ranges", ranges] + GEN_ARGS)
    with open(tpath) as f:
        tr = json.load(f)
    camp = tr["campaigns"]["w5656"]
    checks.eq("truth: phases (from, to)", [(p["from"], p["to"]) for p in tr["phases"]],
              [(START + "T00:00:00Z", SWITCH + "T00:00:00Z"),
               (SWITCH + "T00:00:00Z", "2024-06-03T00:00:00Z")])
    checks.eq("truth: campaign days and sources per day",
              sorted((k, v["sources"]) for k, v in camp["days"].items()),
              [(k, sum(CAMPAIGN_SOURCES.values())) for k in WEEK1 + WEEK2])
    frames = decode(pcap, tshark)
    checks.eq("tshark: frames vs the truth's packets", len(frames), tr["packets"])
    geo = georef.GeoRef([("ip-location-db-country", ranges)], country_source="prefix",
                        home_country=HOME)
    w1, w2 = account(frames, geo)
    d.log("     week 1: %d packets from %d sources; week 2: %d packets from %d sources" % (
        w1.packets, len(w1.sources), w2.packets, len(w2.sources)))
    check_scenario(w1, w2)

    d.log("== replay")
    server = d.RedisServer("e2eA").start()
    cfg = config(server.sock, ranges)
    res = d.run_darkscope(cfg, ["--replay", pcap], timeout=600)
    checks.eq("first replay: exit code", res.rc, 0)
    if res.rc != 0:
        d.die("the first replay failed; nothing to report on")
    d.log("     first replay: %.1f s" % res.elapsed)
    with server.client() as c:
        days = c.call("ZRANGE", "%s:%s:%s:days" % (d.KEY_PREFIX, d.SENSOR, FEED), "0", "-1")
        n_minutes = c.call("ZCARD", "%s:%s:%s:minutes" % (d.KEY_PREFIX, d.SENSOR, FEED))
        reference = rollup_snapshot(c, ROLLUP_PATTERNS + ("*:counters",))
    checks.eq("day index", days, [x.replace("-", "") for x in WEEK1 + WEEK2])

    d.log("== report")
    doc = case_report(server.sock, work, w1, w2, camp)
    top_label = expected_top(w1, w2, "ports")[0][0]["label"]
    case_formats(server.sock, work, top_label)
    if doc is not None:
        d.log("     report: ports %s; countries %s" % (
            [(p.get("label"), p.get("packets"), p.get("previous_rank"))
             for p in doc.get("ports", [])],
            [(p.get("cc"), p.get("packets"), p.get("previous_rank"))
             for p in doc.get("countries", [])]))

    d.log("== replay_again")
    case_replay_again(server, cfg, pcap, reference)
    server.stop()

    d.log("== outage")
    rollups = {k: v for k, v in reference.items() if not k.endswith(":counters") or
               ":h:" in k or ":d:" in k}
    case_outage(lambda sock: config(sock, ranges), pcap, rollups, n_minutes)
    d.log("     whole test: %.0f s" % (time.monotonic() - t_start))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
