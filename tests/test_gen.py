#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""System test of darkscope-gen, the synthetic darknet traffic generator.

The generator's output is the input of the demo and of most other system
tests, so this test checks it with decoders that share no code with it:
a pcap record walker written here (format, lengths, timestamps) and tshark
(protocol validity, checksums, traffic mix). The --truth summary is compared
with tshark's counts, never with numbers the generator printed elsewhere.

Campaigns (--campaign) are checked against the ranges file itself, read here
with bisect, and the spray (--spray) against tshark's view of every option
layout. The phases (--ports, --countries, --switch-at and their -after
forms) are checked the same way: the rank order of the ports and of the
source countries tshark sees on each side of the switch is the order of the
weights given, and the truth's per-day counts are tshark's. The campaign and
country cases need $DS_SHARED_DATA/geo/asn-country-ipv4-num.csv and are
skipped without it.

Cases run in table order and print one line each. The first case checks that
bad arguments are rejected. Cases that need tshark are skipped when $TSHARK is
unset; if every case that ran passed but some were skipped, the exit status
is 77. Exit 1 on any failure.
"""

import bisect
import datetime
import hashlib
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

GEN = os.environ.get("DARKSCOPE_GEN")
TSHARK = os.environ.get("TSHARK")
SHARED = os.environ.get("DS_SHARED_DATA", "")
RANGES = os.path.join(SHARED, "geo", "asn-country-ipv4-num.csv")

START = 1716163200              # 2024-05-20T00:00:00Z, the default --start
DEFAULT_PREFIXES = [ipaddress.ip_network("198.18.0.0/16"),
                    ipaddress.ip_network("198.19.0.0/16")]
DEFAULT_PREFIX6 = ipaddress.ip_network("2001:db8:d5::/48")
MAIN_PACKETS = 100000
TOP5 = [23, 8728, 6379, 80, 22]
CHECKSUM_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                  "-o", "udp.check_checksum:TRUE"]
# Checksum status values of Wireshark 4: 0 bad, 1 good, 2 unverified, 3 not present.
BAD_CHECKSUM = ("ip.checksum.status == 0 || tcp.checksum.status == 0 || "
                "udp.checksum.status == 0 || icmp.checksum.status == 0 || "
                "icmpv6.checksum.status == 0")
BROKEN = '_ws.malformed || _ws.expert.severity >= "Error"'


class Skip(Exception):
    pass


def gen(args, check=True):
    p = subprocess.run([GEN] + args, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"darkscope-gen {' '.join(args)}: exit {p.returncode}: "
                             f"{p.stderr.strip()}")
    return p


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_pcap(path):
    """Header fields and one (ts_ns, caplen, length, frame) tuple per record."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise AssertionError(f"{path}: {len(data)} bytes, no pcap header")
    magic, vmaj, vmin, _zone, _sigfigs, snaplen, linktype = struct.unpack_from("<IHHiIII",
                                                                                data, 0)
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        raise AssertionError(f"{path}: magic {magic:#x}")
    mult = 1 if magic == 0xa1b23c4d else 1000
    recs = []
    off = 24
    while off < len(data):
        if off + 16 > len(data):
            raise AssertionError(f"{path}: record header cut at {off}")
        sec, frac, caplen, length = struct.unpack_from("<IIII", data, off)
        off += 16
        if off + caplen > len(data):
            raise AssertionError(f"{path}: record cut at {off}")
        recs.append((sec * 1000000000 + frac * mult, caplen, length, data[off:off + caplen]))
        off += caplen
    return {"magic": magic, "version": (vmaj, vmin), "snaplen": snaplen,
            "linktype": linktype}, recs


def count_records(path):
    """Record count only, for big files."""
    n = 0
    with open(path, "rb") as f:
        f.seek(24)
        while True:
            h = f.read(16)
            if not h:
                return n
            f.seek(struct.unpack("<IIII", h)[2], 1)
            n += 1


def tshark(args):
    p = subprocess.run([TSHARK, "-n"] + args, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError(f"tshark {' '.join(args)}: exit {p.returncode}: "
                             f"{p.stderr.strip()[-300:]}")
    return p.stdout


def tshark_count(path, display_filter, prefs=()):
    out = tshark(list(prefs) + ["-r", path, "-Y", display_filter, "-T", "fields",
                                "-e", "frame.number"])
    return len(out.split())


FIELDS = ["frame.time_epoch", "eth.type", "ieee8021ad.id", "vlan.id", "ip.src", "ip.dst",
          "ip.id", "ip.proto", "ipv6.src", "ipv6.dst", "ipv6.nxt", "tcp.flags",
          "tcp.dstport", "tcp.seq_raw", "tcp.option_kind", "udp.dstport", "icmp.type",
          "icmp.code", "icmpv6.type", "ip.checksum.status", "tcp.checksum.status",
          "udp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status"]


def first(v):
    """First occurrence of a field: ICMP errors repeat the IP fields of their quote."""
    return v.split(",")[0] if v else ""


def tshark_rows(path):
    out = tshark(CHECKSUM_PREFS + ["-r", path, "-T", "fields", "-E", "separator=|"] +
                 sum((["-e", f] for f in FIELDS), []))
    rows = []
    for line in out.splitlines():
        v = line.split("|")
        if len(v) != len(FIELDS):
            raise AssertionError(f"tshark row with {len(v)} fields: {line!r}")
        rows.append(dict(zip(FIELDS, v)))
    return rows


def tshark_rows_fields(path, fields):
    out = tshark(["-r", path, "-T", "fields", "-E", "separator=|"] +
                 sum((["-e", f] for f in fields), []))
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines()]


def epoch_ns(s):
    sec, _, frac = s.partition(".")
    return int(sec) * 1000000000 + int((frac + "000000000")[:9])


def summarise(rows, prefixes, prefix6):
    """The traffic as tshark decoded it, in the truth file's terms."""
    s = {"packets": len(rows), "vlan": 0, "qinq": 0, "ipv4": 0, "ipv6": 0, "tcp": 0,
         "udp": 0, "icmp": 0, "icmpv6": 0, "syn": 0, "synack": 0, "rst": 0, "rstack": 0,
         "outside": 0, "mirai": 0, "zmap": 0, "masscan": 0, "syn_ports": {},
         "udp_ports": {}, "icmp": 0, "icmp_tc": {}, "icmp6_types": {}, "layouts": {},
         "ts": [], "src4": set(), "src6": set(), "zmap_dst": {}, "masscan_dst": {},
         "checksum_good": {}, "checksum_bad": 0, "bad_tags": 0}
    for r in rows:
        s["ts"].append(epoch_ns(r["frame.time_epoch"]))
        etype = r["eth.type"]
        if etype == "0x8100":
            s["vlan"] += 1
            s["bad_tags"] += r["vlan.id"] != "100"
        elif etype == "0x88a8":
            s["qinq"] += 1
            s["bad_tags"] += r["ieee8021ad.id"] != "200" or r["vlan.id"] != "100"
        for f in FIELDS:
            if f.endswith("checksum.status"):
                for st in r[f].split(",") if r[f] else []:
                    if st == "0":
                        s["checksum_bad"] += 1
                    elif st == "1":
                        s["checksum_good"][f] = s["checksum_good"].get(f, 0) + 1
        if r["ip.src"]:
            s["ipv4"] += 1
            src = ipaddress.ip_address(first(r["ip.src"]))
            dst = ipaddress.ip_address(first(r["ip.dst"]))
            s["src4"].add(src)
            proto = int(first(r["ip.proto"]))
            s["outside"] += not any(dst in p for p in prefixes)
        elif r["ipv6.src"]:
            s["ipv6"] += 1
            src = ipaddress.ip_address(r["ipv6.src"])
            dst = ipaddress.ip_address(r["ipv6.dst"])
            s["src6"].add(src)
            proto = int(r["ipv6.nxt"])
            s["outside"] += dst not in prefix6
        else:
            raise AssertionError(f"frame without IP: {r}")
        if proto == 6:
            s["tcp"] += 1
            flags = int(r["tcp.flags"], 16)
            dport = int(r["tcp.dstport"])
            if flags & 0x12 == 0x02:
                s["syn"] += 1
                s["syn_ports"][dport] = s["syn_ports"].get(dport, 0) + 1
                layout = r["tcp.option_kind"] or "none"
                s["layouts"][layout] = s["layouts"].get(layout, 0) + 1
                if dst.version == 4:
                    seq = int(r["tcp.seq_raw"])
                    ipid = int(first(r["ip.id"]), 16)
                    d = int(dst)
                    s["mirai"] += seq == d
                    if ipid == 54321:
                        s["zmap"] += 1
                        s["zmap_dst"].setdefault(src, []).append(dst)
                    if ipid == (d ^ dport ^ seq) & 0xffff:
                        s["masscan"] += 1
                        s["masscan_dst"].setdefault(src, []).append(dst)
            elif flags & 0x12 == 0x12:
                s["synack"] += 1
            if flags & 0x04:
                s["rstack" if flags & 0x10 else "rst"] += 1
        elif proto == 17:
            s["udp"] += 1
            port = int(r["udp.dstport"])
            s["udp_ports"][port] = s["udp_ports"].get(port, 0) + 1
        elif proto == 1:
            s["icmp"] += 1
            tc = f"{first(r['icmp.type'])}/{first(r['icmp.code'])}"
            s["icmp_tc"][tc] = s["icmp_tc"].get(tc, 0) + 1
        elif proto == 58:
            s["icmpv6"] += 1
            t = r["icmpv6.type"]
            s["icmp6_types"][t] = s["icmp6_types"].get(t, 0) + 1
    return s


def expect_equal(what, got, want, errors):
    if got != want:
        errors.append(f"{what}: tshark {got} != truth {want}")


class CountryRanges:
    """An ip-location-db asn-country file, looked up with bisect: IPv4 rows only."""

    def __init__(self, path):
        self.starts, self.ends, self.ccs = [], [], []
        with open(path) as f:
            for line in f:
                start, end, cc = line.strip().split(",")
                if ":" in start:
                    continue
                self.starts.append(self.addr(start))
                self.ends.append(self.addr(end))
                self.ccs.append(cc)

    @staticmethod
    def addr(v):
        return int(ipaddress.ip_address(v)) if "." in v else int(v)

    def lookup(self, a):
        i = bisect.bisect_right(self.starts, int(a)) - 1
        return self.ccs[i] if i >= 0 and int(a) <= self.ends[i] else None


def tcp_window(frame):
    """The TCP window of an IPv4 TCP frame (tags skipped), else None."""
    off, etype = 12, struct.unpack_from("!H", frame, 12)[0]
    while etype in (0x8100, 0x88a8):
        off += 4
        etype = struct.unpack_from("!H", frame, off)[0]
    ip = off + 2
    if etype != 0x0800 or frame[ip + 9] != 6:
        return None
    return struct.unpack_from("!H", frame, ip + (frame[ip] & 0x0f) * 4 + 14)[0]


def utc_day(ns):
    return datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime(
        "%Y-%m-%d")


# ---- cases -----------------------------------------------------------------

def case_bad_args(ctx):
    out = os.path.join(ctx["tmp"], "never.pcap")
    cases = [
        (["--out", out, "--bogus"], "--bogus"),
        (["--out", out, "--prefix", "300.1.0.0/16"], "--prefix"),
        (["--out", out, "--prefix", "198.18.0.0"], "--prefix"),
        (["--out", out, "--prefix", "198.18.0.1/16"], "--prefix"),
        (["--out", out, "--prefix", "198.18.0.0/33"], "--prefix"),
        (["--out", out, "--prefix", "44.0.0.0/8", "--prefix", "44.1.0.0/16"], "--prefix"),
        (["--out", out, "--prefix6", "2001:db8::/200"], "--prefix6"),
        (["--out", out, "--prefix6", "2001:zz8::/48"], "--prefix6"),
        (["--out", out, "--duration", "10x"], "--duration"),
        (["--out", out, "--duration", "0s"], "--duration"),
        (["--out", out, "--duration", "m"], "--duration"),
        (["--out", out, "--packets", "0"], "--packets"),
        (["--out", out, "--packets", "-5"], "--packets"),
        (["--out", out, "--packets", "1e6"], "--packets"),
        (["--out", out, "--packets", "abc"], "--packets"),
        (["--out", out, "--seed", "-1"], "--seed"),
        (["--out", out, "--start", "2024-02-30"], "--start"),
        (["--out", out, "--start", "yesterday"], "--start"),
        (["--out", out, "--outside-share", "1.5"], "--outside-share"),
        (["--out", out, "--nanosecond=yes"], "--nanosecond"),
        (["--out", out, "stray"], "stray"),
        (["--packets", "10"], "--out"),
        (["--out"], "--out"),
        (["--out", out, "--spray=1"], "--spray"),
    ]
    # Campaigns: the spec, and the ranges file (small ones written here).
    d = ctx["tmp"]
    files = {"small.csv": "1.0.0.0,1.0.0.255,AU\n16777472,16778239,CN\n2.0.0.0,2.0.0.7,JP\n",
             "badline.csv": "1.0.0.0,1.0.0.255,AU\n1.0.1.0,zz,CN\n",
             "order.csv": "1.0.1.0,1.0.3.255,CN\n1.0.0.0,1.0.0.255,AU\n",
             "badcc.csv": "::1,::2,AU\n16777216,16777471,A1\n"}
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    small = os.path.join(d, "small.csv")
    ok = "name=w,window=5656,sources=JP:4,packets=2"
    camp = ["--out", out, "--country-ranges", small, "--campaign"]
    # Phases: weights, their dependencies and the switch time.
    many = ",".join(f"{p}:1" for p in range(1, 65))
    at = "2024-05-20T00:05:00Z"
    cases += [
        (["--out", out, "--ports", "23"], "'23'"),
        (["--out", out, "--ports", "0:5"], "'0:5'"),
        (["--out", out, "--ports", "23:0"], "'23:0'"),
        (["--out", out, "--ports", "23:10001"], "'23:10001'"),
        (["--out", out, "--ports", "23:1,23:2"], "23 twice"),
        (["--out", out, "--ports", "23:1,,80:2"], "not ''"),
        (["--out", out, "--ports", many], "at most 63 ports"),
        (["--out", out, "--ports", "23:1", "--ports", "80:1"], "once"),
        (["--out", out, "--countries", "US:1"], "--country-ranges"),
        (["--out", out, "--country-ranges", small, "--countries", "USA:1"], "'USA:1'"),
        (["--out", out, "--country-ranges", small, "--countries", "jp:1,JP:2"], "JP twice"),
        (["--out", out, "--country-ranges", small, "--countries", "JP:1"],
         "usable addresses of JP"),
        (["--out", out, "--ports-after", "23:1"], "--switch-at"),
        (["--out", out, "--switch-at", at], "--ports-after"),
        (["--out", out, "--switch-at", "2024-05-20T00:10:00Z", "--ports-after", "23:1"],
         "--switch-at '2024-05-20T00:10:00Z'"),
        (["--out", out, "--switch-at", "2024-05-20", "--ports-after", "23:1"],
         "--switch-at '2024-05-20'"),
        (["--out", out, "--switch-at", "noon", "--ports-after", "23:1"], "'noon'"),
        (["--out", out, "--country-ranges", small, "--switch-at", at,
          "--countries-after", "JP:1"], "--countries as well"),
        (["--out", out, "--spray", "--ports", "23:1"], "--spray"),
    ]
    cases += [
        (["--out", out, "--campaign", ok], "--country-ranges"),
        (camp + [ok + ",colour=red"], "colour"),
        (camp + ["name=w,window=5656,sources=J1:4,packets=2"], "J1"),
        (camp + ["name=w,window=5656,sources=JPN:4,packets=2"], "JPN"),
        (camp + ["name=w,window=5656,sources=JP:0,packets=2"], "sources="),
        (camp + ["name=w,window=5656,sources=JP,packets=2"], "sources="),
        (camp + ["name=w,window=5656,sources=JP:4,packets=0"], "packets="),
        (camp + ["name=w,sources=JP:4,packets=2"], "window="),
        (camp + ["name=w,window=0,sources=JP:4,packets=2"], "window="),
        (camp + ["window=5656,sources=JP:4,packets=2"], "name="),
        (camp + [ok + ",dports=0"], "dports="),
        (camp + [ok, "--campaign", ok], "name="),
        (camp + ["name=w,window=5656,sources=XX:4,packets=2"], "XX"),
        (camp + ["name=w,window=5656,sources=JP:9,packets=2"], "found 8"),
        (["--out", out, "--campaign", ok, "--country-ranges", f"{d}/absent.csv"],
         "--country-ranges"),
        (["--out", out, "--campaign", ok, "--country-ranges", f"{d}/badline.csv"],
         "badline.csv:2:9"),
        (["--out", out, "--campaign", ok, "--country-ranges", f"{d}/order.csv"],
         "order.csv:2:1"),
        (["--out", out, "--campaign", ok, "--country-ranges", f"{d}/badcc.csv"],
         "badcc.csv:2:19"),
    ]
    for args, name in cases:
        p = gen(args, check=False)
        err = p.stderr.strip()
        if p.returncode != 2:
            raise AssertionError(f"{args}: exit {p.returncode}, want 2 ({err!r})")
        if "\n" in err or name not in err:
            raise AssertionError(f"{args}: want one line naming {name}, got {err!r}")
        if os.path.exists(out):
            raise AssertionError(f"{args}: rejected run created {out}")
    p = gen(["--help"], check=False)
    if p.returncode != 0 or any(o not in p.stdout for o in ("--outside-share", "--campaign",
                                                               "--country-ranges", "--spray",
                                                               "--ports", "--countries",
                                                               "--switch-at")):
        raise AssertionError(f"--help: exit {p.returncode}, stdout {p.stdout[:80]!r}")
    # The smallest valid campaign runs on the small file: 4 of JP's 8 addresses.
    gen(camp + [ok])
    return f"{len(cases)} bad command lines exit 2 with one line; --help exits 0"


def case_determinism(ctx):
    d = ctx["tmp"]
    base = ["--packets", "20000", "--seed", "7"]
    gen(["--out", f"{d}/a.pcap"] + base)
    gen(["--out", f"{d}/b.pcap", "--truth", f"{d}/b.json"] + base)
    gen(["--out", f"{d}/c.pcap", "--packets", "20000", "--seed", "8"])
    with open(f"{d}/stdout.pcap", "wb") as f:
        p = subprocess.run([GEN, "--out", "-"] + base, stdout=f, stderr=subprocess.PIPE,
                           timeout=300)
    if p.returncode != 0:
        raise AssertionError(f"--out -: exit {p.returncode}")
    a, b, c, s = (sha256(f"{d}/{n}.pcap") for n in ("a", "b", "c", "stdout"))
    if a != b:
        raise AssertionError("same arguments (with and without --truth) gave different files")
    if a != s:
        raise AssertionError("--out - differs from --out FILE")
    if a == c:
        raise AssertionError("--seed 7 and --seed 8 gave the same file")
    return f"seed 7 twice: sha256 {a[:16]}..; seed 8: {c[:16]}.."


def case_format(ctx):
    hdr, recs = read_pcap(ctx["main"])
    errors = []
    if hdr["magic"] != 0xa1b2c3d4 or hdr["version"] != (2, 4) or hdr["linktype"] != 1:
        errors.append(f"header {hdr}")
    if len(recs) != MAIN_PACKETS:
        errors.append(f"{len(recs)} records, want {MAIN_PACKETS}")
    short = sum(1 for r in recs if r[1] != r[2] or r[1] < 60 or r[1] > hdr["snaplen"])
    if short:
        errors.append(f"{short} records with caplen != len or under 60 bytes")
    ts = [r[0] for r in recs]
    span = (START * 10**9, (START + 600) * 10**9)
    if any(b < a for a, b in zip(ts, ts[1:])):
        errors.append("timestamps decrease")
    if ts[0] < span[0] or ts[-1] >= span[1]:
        errors.append(f"timestamps {ts[0]}..{ts[-1]} outside {span}")
    truth = ctx["truth"]
    if (truth["first_ts_ns"], truth["last_ts_ns"]) != (ts[0], ts[-1]):
        errors.append(f"truth first/last {truth['first_ts_ns']}/{truth['last_ts_ns']} != "
                      f"pcap {ts[0]}/{ts[-1]}")
    if errors:
        raise AssertionError("; ".join(errors))
    return (f"{len(recs)} records, caplen == len >= 60, timestamps non-decreasing in "
            f"[start, start+10m), first {ts[0] - span[0]} ns after start")


def case_spans(ctx):
    """Date-only --start, multi-day and short spans: instants fill the span, in order."""
    d = ctx["tmp"]
    results = []
    for start, start_s, dur, dur_s in (("2024-05-20", START, "3d", 3 * 86400),
                                       ("2023-12-31T23:59:00Z", 1704067140, "90s", 90),
                                       ("2024-05-20T06:00:00Z", START + 21600, "2h", 7200)):
        path = f"{d}/span.pcap"
        gen(["--out", path, "--start", start, "--duration", dur, "--packets", "5000"])
        _, recs = read_pcap(path)
        ts = [r[0] for r in recs]
        lo, hi = start_s * 10**9, (start_s + dur_s) * 10**9
        if len(ts) != 5000 or any(b < a for a, b in zip(ts, ts[1:])):
            raise AssertionError(f"{start} {dur}: {len(ts)} records or unordered")
        if ts[0] < lo or ts[-1] >= hi:
            raise AssertionError(f"{start} {dur}: {ts[0]}..{ts[-1]} outside [{lo}, {hi})")
        # 5000 sorted uniforms: the first and last gaps to the ends are ~span/5000.
        if ts[0] - lo > (hi - lo) // 500 or hi - ts[-1] > (hi - lo) // 500:
            raise AssertionError(f"{start} {dur}: instants do not fill the span")
        results.append(dur)
    return "spans " + ", ".join(results) + " filled in order"


def case_nanosecond(ctx):
    path = os.path.join(ctx["tmp"], "ns.pcap")
    gen(["--out", path, "--packets", "5000", "--nanosecond"])
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != bytes.fromhex("4d3cb2a1"):
        raise AssertionError(f"magic bytes {magic.hex()}, want 4d3cb2a1")
    _, recs = read_pcap(path)
    sub_us = sum(1 for r in recs if r[0] % 1000)
    if sub_us < 4000:
        raise AssertionError(f"only {sub_us} of 5000 timestamps use the nanoseconds")
    if not TSHARK:
        return "magic 0xa1b23c4d, ns timestamps (tshark absent: not read back)"
    n = len(tshark(["-r", path, "-T", "fields", "-e", "frame.time_epoch"]).split())
    if n != 5000:
        raise AssertionError(f"tshark read {n} packets, want 5000")
    return (f"magic 0xa1b23c4d, {sub_us} of 5000 timestamps not whole microseconds, "
            "tshark reads 5000")


def case_tshark_controls(ctx):
    """The validity filters find a malformed frame and a bad checksum when there is one."""
    if not TSHARK:
        raise Skip("tshark absent")
    path = os.path.join(ctx["tmp"], "control.pcap")
    eth = bytes.fromhex("020000d50001020000d500fe0800")

    def ipv4(total_len, ident):
        h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total_len, ident, 0, 64, 6, 0,
                                  bytes([5, 6, 7, 8]), bytes([198, 18, 0, 1])))
        s = sum(struct.unpack("!10H", bytes(h)))
        s = (s & 0xffff) + (s >> 16)
        s = (s & 0xffff) + (s >> 16)
        h[10:12] = struct.pack("!H", ~s & 0xffff)
        return bytes(h)

    # An IPv4 header claiming 80 bytes of which 28 are there: malformed.
    cut = eth + ipv4(80, 1) + bytes([1, 2, 3, 4] * 2)
    # A whole TCP SYN with a wrong TCP checksum (0x0001).
    tcp = struct.pack("!HHIIBBHHH", 1234, 23, 1, 0, 0x50, 0x02, 1024, 1, 0)
    syn = eth + ipv4(40, 2) + tcp + b"\0" * 6
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for frame in (cut, syn):
            f.write(struct.pack("<IIII", START, 0, len(frame), len(frame)) + frame)
    broken = tshark_count(path, BROKEN)
    bad = tshark_count(path, BAD_CHECKSUM, CHECKSUM_PREFS)
    if broken < 1 or bad != 1:
        raise AssertionError(f"control: {broken} malformed (want >= 1), {bad} bad checksums "
                             "(want 1)")
    return "a cut IPv4 datagram is malformed and a bad TCP checksum is caught"


def case_valid(ctx):
    if not TSHARK:
        raise Skip("tshark absent")
    broken = tshark_count(ctx["main"], BROKEN)
    bad = tshark_count(ctx["main"], BAD_CHECKSUM, CHECKSUM_PREFS)
    s = ctx["tshark"]
    good = s["checksum_good"]
    missing = [f for f in FIELDS if f.endswith("checksum.status") and not good.get(f)]
    if broken or bad or s["checksum_bad"] or missing:
        raise AssertionError(f"{broken} malformed/error frames, {bad} bad checksums, "
                             f"no good checksum for {missing}")
    return ("no malformed frame, no bad checksum; good: " +
            ", ".join(f"{k.split('.')[0]} {v}" for k, v in sorted(good.items())))


def case_mix(ctx):
    if not TSHARK:
        raise Skip("tshark absent")
    s = ctx["tshark"]
    errors = []
    if s["packets"] != MAIN_PACKETS:
        errors.append(f"{s['packets']} packets")
    top = sorted(s["syn_ports"].items(), key=lambda kv: (-kv[1], kv[0]))
    if [p for p, _ in top[:5]] != TOP5:
        errors.append(f"top SYN ports {top[:6]}")
    # "23 first by a clear margin".
    if top[0][1] < 2 * top[1][1]:
        errors.append(f"port 23 leads by too little: {top[:2]}")
    for name, lo in (("mirai", 1), ("zmap", 1), ("masscan", 1), ("vlan", 1), ("qinq", 1),
                     ("ipv6", 1), ("udp", 1), ("icmp", 1), ("icmpv6", 1), ("synack", 1),
                     ("rst", 1), ("rstack", 1), ("outside", 1)):
        if s[name] < lo:
            errors.append(f"no {name}")
    if s["bad_tags"]:
        errors.append(f"{s['bad_tags']} tagged frames with wrong VIDs")
    # Shares, loosely: VLAN ~5 %, QinQ ~1 %, IPv6 ~2 %, outside ~1 %.
    for name, want in (("vlan", 0.05), ("qinq", 0.01), ("ipv6", 0.02), ("outside", 0.01),
                       ("udp", 0.08)):
        share = s[name] / s["packets"]
        if not 0.7 * want < share < 1.3 * want:
            errors.append(f"{name} share {share:.4f}, want about {want}")
    for tc in ("8/0", "3/1", "3/3"):
        if not s["icmp_tc"].get(tc):
            errors.append(f"no ICMP {tc}")
    if not s["icmp6_types"].get("128"):
        errors.append("no ICMPv6 echo request")
    want_udp = {53, 123, 161, 1900, 5060, 11211, 3702, 137, 389, 19}
    if set(s["udp_ports"]) != want_udp:
        errors.append(f"UDP ports {sorted(s['udp_ports'])}")
    layouts = {"2,4,8,1,3": "Linux", "2,1,3,1,1,4": "Windows", "2": "MSS", "none": "none"}
    for lay, name in layouts.items():
        if s["layouts"].get(lay, 0) < 100:
            errors.append(f"few SYNs with the {name} option layout: {s['layouts'].get(lay)}")
    # Each sweeper walks a permutation: within the darknet, no address twice.
    for kind in ("zmap_dst", "masscan_dst"):
        for src, dsts in s[kind].items():
            inside = [a for a in dsts if any(a in p for p in DEFAULT_PREFIXES)]
            if len(inside) > 100 and len(set(inside)) != len(inside):
                errors.append(f"{kind} source {src} repeats addresses")
    if errors:
        raise AssertionError("; ".join(errors))
    return (f"top SYN ports {[p for p, _ in top[:5]]} ({top[0][1]}..{top[4][1]}), "
            f"mirai {s['mirai']}, zmap {s['zmap']}, masscan {s['masscan']}, "
            f"vlan {s['vlan']}, qinq {s['qinq']}, ipv6 {s['ipv6']}, synack {s['synack']}, "
            f"rst {s['rst']}+{s['rstack']}")


def case_addresses(ctx):
    """Sources are public and outside the darknet; destinations inside unless outside."""
    if not TSHARK:
        raise Skip("tshark absent")
    s = ctx["tshark"]
    bad4 = [a for a in s["src4"] if not a.is_global or a.is_multicast or
            any(a in p for p in DEFAULT_PREFIXES)]
    bad6 = [a for a in s["src6"] if not a.is_global or a in DEFAULT_PREFIX6 or
            a in ipaddress.ip_network("2001:db8::/32")]
    if bad4 or bad6:
        raise AssertionError(f"non-public sources: {bad4[:5]} {bad6[:5]}")
    ts = s["ts"]
    if any(b < a for a, b in zip(ts, ts[1:])) or ts[0] < START * 10**9 or \
            ts[-1] >= (START + 600) * 10**9:
        raise AssertionError("tshark timestamps unordered or outside the span")
    return (f"{len(s['src4'])} IPv4 and {len(s['src6'])} IPv6 sources, all public; "
            f"tshark timestamps ordered within the span")


def case_truth(ctx):
    """The --truth summary equals tshark's counts."""
    if not TSHARK:
        raise Skip("tshark absent")
    s, t = ctx["tshark"], ctx["truth"]
    errors = []
    expect_equal("packets", s["packets"], t["packets"], errors)
    expect_equal("vlan", s["vlan"], t["frames"]["vlan"], errors)
    expect_equal("qinq", s["qinq"], t["frames"]["qinq"], errors)
    expect_equal("ipv4", s["ipv4"], t["ip"]["ipv4"], errors)
    expect_equal("ipv6", s["ipv6"], t["ip"]["ipv6"], errors)
    expect_equal("outside", s["outside"], t["outside"], errors)
    for k in ("tcp", "udp", "icmp", "icmpv6"):
        expect_equal(k, s[k], t["proto"][k], errors)
    for k in ("syn", "synack", "rst", "rstack"):
        expect_equal(k, s[k], t["tcp"][k], errors)
    expect_equal("mirai", s["mirai"], t["fingerprints"]["mirai_syn"], errors)
    expect_equal("zmap", s["zmap"], t["fingerprints"]["zmap_id_syn"], errors)
    expect_equal("masscan", s["masscan"], t["fingerprints"]["masscan_id_syn"], errors)
    truth_ports = {int(k): v for k, v in t["tcp_syn_dst_ports"].items()}
    top = sorted(s["syn_ports"].items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    for port, n in top:
        expect_equal(f"SYN port {port}", n, truth_ports.get(port), errors)
    expect_equal("UDP ports", s["udp_ports"],
                 {int(k): v for k, v in t["udp_dst_ports"].items()}, errors)
    expect_equal("kind packets", sum(k["packets"] for k in t["kinds"].values()), t["packets"],
                 errors)
    expect_equal("distinct IPv4+IPv6 sources", len(s["src4"]) + len(s["src6"]), t["sources"],
                 errors)
    if errors:
        raise AssertionError("; ".join(errors))
    return (f"packets, vlan, qinq, ipv6 {t['ip']['ipv6']}, outside {t['outside']}, "
            f"protocols, flags, fingerprints, top 20 SYN ports, UDP ports and "
            f"{t['sources']} sources agree")


def case_custom_prefixes(ctx):
    if not TSHARK:
        raise Skip("tshark absent")
    d = ctx["tmp"]
    prefixes = [ipaddress.ip_network("44.0.0.0/16"), ipaddress.ip_network("45.1.2.0/24")]
    prefix6 = ipaddress.ip_network("2a0b:d5::/32")
    path, truth_path = f"{d}/custom.pcap", f"{d}/custom.json"
    gen(["--out", path, "--truth", truth_path, "--packets", "20000", "--seed", "3",
         "--prefix", str(prefixes[0]), "--prefix", str(prefixes[1]),
         "--prefix6", str(prefix6), "--outside-share", "0.2"])
    with open(truth_path) as f:
        t = json.load(f)
    s = summarise(tshark_rows(path), prefixes, prefix6)
    errors = []
    expect_equal("outside", s["outside"], t["outside"], errors)
    if not 0.18 < s["outside"] / s["packets"] < 0.22:
        errors.append(f"outside share {s['outside'] / s['packets']:.3f}, want about 0.2")
    if t["prefixes"] != [str(p) for p in prefixes] or t["prefix6"] != str(prefix6):
        errors.append(f"truth prefixes {t['prefixes']} {t['prefix6']}")
    bad = [a for a in s["src4"] if any(a in p for p in prefixes)]
    if bad:
        errors.append(f"sources inside the darknet: {bad[:5]}")
    if errors:
        raise AssertionError("; ".join(errors))
    return f"two prefixes and a /32 IPv6 prefix, outside {s['outside']} of 20000 (truth agrees)"


def case_throughput(ctx):
    path = os.path.join(ctx["tmp"], "big.pcap")
    n = 2000000
    t0 = time.monotonic()
    gen(["--out", path, "--packets", str(n)])
    wall = time.monotonic() - t0
    got = count_records(path)
    size = os.path.getsize(path)
    os.unlink(path)
    if got != n:
        raise AssertionError(f"{got} records, want {n}")
    return f"{n} packets, {size / 1e6:.0f} MB in {wall:.2f} s: {n / wall / 1e6:.2f} M packets/s"


# Two campaigns over three UTC days (noon to noon plus a day). 65535 is a
# window of the mix (OS profiles, Mirai, ZMap): the campaign must take it over.
CAMPAIGNS = {
    "w5656": {"window": 5656, "sources": {"JP": 40, "US": 25, "CN": 30}, "packets": 4,
              "dports": [23]},
    "w65535": {"window": 65535, "sources": {"DE": 10, "JP": 5}, "packets": 2,
               "dports": [23, 80, 8080]},
}
CAMPAIGN_BASE = ["--start", "2024-05-20T12:00:00Z", "--duration", "2d", "--packets", "20000",
                 "--seed", "5"]
CAMPAIGN_DAYS = ["2024-05-20", "2024-05-21", "2024-05-22"]


def campaign_arg(name):
    c = CAMPAIGNS[name]
    sources = ":".join(f"{cc}:{n}" for cc, n in c["sources"].items())
    return (f"name={name},window={c['window']},sources={sources},packets={c['packets']},"
            f"dports={':'.join(map(str, c['dports']))}")


def case_campaign(ctx):
    """Per UTC day and country, the window-W sources tshark sees are the truth's."""
    if not os.path.exists(RANGES):
        raise Skip(f"{RANGES} absent")
    if not TSHARK:
        raise Skip("tshark absent")
    d = ctx["tmp"]
    path, truth_path = f"{d}/camp.pcap", f"{d}/camp.json"
    args = CAMPAIGN_BASE + ["--country-ranges", RANGES]
    for name in CAMPAIGNS:
        args += ["--campaign", campaign_arg(name)]
    gen(["--out", path, "--truth", truth_path] + args)
    with open(truth_path) as f:
        truth = json.load(f)
    ranges = CountryRanges(RANGES)
    _, recs = read_pcap(path)
    errors = []

    ts = [r[0] for r in recs]
    lo = int(datetime.datetime(2024, 5, 20, 12, tzinfo=datetime.timezone.utc).timestamp())
    if any(b < a for a, b in zip(ts, ts[1:])):
        errors.append("timestamps decrease")
    if ts[0] < lo * 10**9 or ts[-1] >= (lo + 2 * 86400) * 10**9:
        errors.append(f"timestamps {ts[0]}..{ts[-1]} outside the two days from {lo}")
    want_packets = 20000 + sum(c["packets"] for c in truth["campaigns"].values())
    if len(recs) != want_packets or truth["packets"] != want_packets:
        errors.append(f"{len(recs)} records, truth {truth['packets']}, want {want_packets}")

    rows = tshark_rows_fields(path, ["frame.time_epoch", "ip.src", "ip.dst", "ip.ttl",
                                     "ip.proto", "tcp.flags", "tcp.window_size_value",
                                     "tcp.dstport", "tcp.option_kind", "tcp.options.mss_val"])
    by_window = {c["window"]: name for name, c in CAMPAIGNS.items()}
    seen = {name: {} for name in CAMPAIGNS}     # name -> day -> src -> packets
    wrong = []
    for r in rows:
        if first(r["ip.proto"]) != "6" or not r["tcp.window_size_value"]:
            continue
        name = by_window.get(int(first(r["tcp.window_size_value"])))
        if not name:
            continue
        c, src = CAMPAIGNS[name], ipaddress.ip_address(first(r["ip.src"]))
        dst = ipaddress.ip_address(first(r["ip.dst"]))
        ttl = int(first(r["ip.ttl"]))
        if (int(r["tcp.flags"], 16) & 0x12 != 0x02 or r["tcp.option_kind"] != "2" or
                r["tcp.options.mss_val"] != "1460" or not 39 <= ttl <= 59 or
                int(r["tcp.dstport"]) not in c["dports"] or
                not any(dst in p for p in DEFAULT_PREFIXES) or
                not src.is_global or any(src in p for p in DEFAULT_PREFIXES)):
            wrong.append(r)
            continue
        day = utc_day(epoch_ns(r["frame.time_epoch"]))
        per_day = seen[name].setdefault(day, {})
        per_day[src] = per_day.get(src, 0) + 1

    if wrong:
        errors.append(f"{len(wrong)} packets with a campaign window are no campaign SYN, "
                      f"e.g. {wrong[0]}")
    for name, c in CAMPAIGNS.items():
        t = truth["campaigns"].get(name)
        if not t or t["window"] != c["window"] or t["sources_per_day"] != c["sources"]:
            errors.append(f"{name}: truth {t and {k: t[k] for k in ('window', 'sources_per_day')}}")
            continue
        if sorted(t["days"]) != CAMPAIGN_DAYS or sorted(seen[name]) != CAMPAIGN_DAYS:
            errors.append(f"{name}: days truth {sorted(t['days'])} tshark {sorted(seen[name])}")
            continue
        for day in CAMPAIGN_DAYS:
            td, sd = t["days"][day], seen[name][day]
            if len(sd) != td["sources"] or td["sources"] != sum(c["sources"].values()):
                errors.append(f"{name} {day}: {len(sd)} window-{c['window']} sources, "
                              f"truth {td['sources']}")
            if sum(sd.values()) != td["packets"]:
                errors.append(f"{name} {day}: {sum(sd.values())} packets, truth "
                              f"{td['packets']}")
            # Countries by the independent lookup; the addresses must be the truth's.
            by_cc = {}
            for src, n in sd.items():
                cc = ranges.lookup(src)
                by_cc.setdefault(cc, {})[src] = n
            if set(by_cc) != set(c["sources"]):
                errors.append(f"{name} {day}: countries {sorted(map(str, by_cc))}")
            for cc, want in c["sources"].items():
                got, tc = by_cc.get(cc, {}), td["countries"][cc]
                if (len(got) != want or tc["sources"] != want or
                        sum(got.values()) != tc["packets"] or
                        tc["packets"] != want * c["packets"] or
                        sorted(got) != [ipaddress.ip_address(a) for a in tc["addresses"]]):
                    errors.append(f"{name} {day} {cc}: tshark {len(got)} sources "
                                  f"{sum(got.values())} packets, truth {tc['sources']} "
                                  f"{tc['packets']}, want {want}")
        if sum(sum(v.values()) for v in seen[name].values()) != t["packets"]:
            errors.append(f"{name}: packets with window {c['window']} != truth {t['packets']}")

    # Determinism: the same arguments, the same bytes.
    gen(["--out", f"{d}/camp2.pcap", "--truth", f"{d}/camp2.json"] + args)
    if sha256(path) != sha256(f"{d}/camp2.pcap") or \
            sha256(truth_path) != sha256(f"{d}/camp2.json"):
        errors.append("same arguments gave a different pcap or truth")
    if errors:
        raise AssertionError("; ".join(errors[:8]))
    days = {n: [truth["campaigns"][n]["days"][x]["sources"] for x in CAMPAIGN_DAYS]
            for n in CAMPAIGNS}
    return (f"{len(recs)} packets; per-day sources {days} and per-country counts and "
            f"addresses match tshark and the ranges file; no other packet uses 5656 or "
            f"65535; sha256 {sha256(path)[:16]}.. twice")


def case_campaign_added(ctx):
    """A campaign adds its packets and leaves every other packet as it was."""
    if not os.path.exists(RANGES):
        raise Skip(f"{RANGES} absent")
    d = ctx["tmp"]
    gen(["--out", f"{d}/plain.pcap"] + CAMPAIGN_BASE)
    gen(["--out", f"{d}/plus.pcap", "--country-ranges", RANGES, "--campaign",
         campaign_arg("w5656")] + CAMPAIGN_BASE)
    _, plain = read_pcap(f"{d}/plain.pcap")
    _, plus = read_pcap(f"{d}/plus.pcap")
    rest = [r for r in plus if tcp_window(r[3]) != 5656]
    added = len(plus) - len(rest)
    want = 3 * sum(CAMPAIGNS["w5656"]["sources"].values()) * CAMPAIGNS["w5656"]["packets"]
    same = [(r[0], r[3]) for r in rest] == [(r[0], r[3]) for r in plain]
    if not same or added != want:
        raise AssertionError(f"{added} packets added (want {want}); the others equal the "
                             f"plain run: {same}")
    return (f"{added} campaign packets merged in; the other {len(rest)} are byte for byte "
            "the plain run's")


# Two UTC days, the weights switching at the second midnight. No port of
# the specs is Mirai's (23, 2323), whose 13.5 % of all packets would top any
# list; neighbouring weights are 5 points apart, about 2.2 % of all packets,
# well above what the other kinds add to a port (IPv6 SYNs to 22 and 80, the
# sweepers' ports: 0.6 % at most) and above the noise of 20000 packets.
PHASE_SWITCH = "2024-05-21"
PHASES = [
    {"ports": {445: 30, 80: 25, 22: 20, 3389: 15, 8080: 10},
     "countries": {"US": 40, "CN": 30, "BR": 20, "JP": 10}},
    {"ports": {3389: 30, 8080: 25, 445: 20, 5555: 15, 22: 10},
     "countries": {"CN": 35, "IN": 25, "US": 20, "RU": 12, "JP": 8}},
]
PHASE_ARGS = ["--duration", "2d", "--packets", "40000", "--seed", "11",
              "--switch-at", PHASE_SWITCH]


def weights_arg(w):
    return ",".join(f"{k}:{v}" for k, v in w.items())


def rank_order(counts, keys):
    """keys ordered by counts, most first (ties by key)."""
    return sorted(keys, key=lambda k: (-counts.get(k, 0), str(k)))


def tshark_days(rows, ranges, switch_ns):
    """From tshark's rows: SYNs per port and IPv4 packets per source country
    on each side of the switch, and the truth's per-day figures."""
    syn_ports = [{}, {}]
    cc_packets = [{}, {}]
    days = {}
    for r in rows:
        ts = epoch_ns(r["frame.time_epoch"])
        phase = int(ts >= switch_ns)
        day = days.setdefault(utc_day(ts), {"packets": 0, "outside": 0, "tcp_dst_ports": {},
                                            "src_countries": {}})
        day["packets"] += 1
        cc = None
        if r["ip.src"]:
            dst = ipaddress.ip_address(first(r["ip.dst"]))
            inside = any(dst in p for p in DEFAULT_PREFIXES)
            proto = first(r["ip.proto"])
            cc = ranges.lookup(ipaddress.ip_address(first(r["ip.src"]))) or "none"
            cc_packets[phase][cc] = cc_packets[phase].get(cc, 0) + 1
        else:
            inside = ipaddress.ip_address(r["ipv6.dst"]) in DEFAULT_PREFIX6
            proto = r["ipv6.nxt"]
        if not inside:
            day["outside"] += 1
            continue
        if cc:
            day["src_countries"][cc] = day["src_countries"].get(cc, 0) + 1
        # The outer header only: an ICMP error's quoted TCP header is no TCP packet.
        if proto == "6":
            port = first(r["tcp.dstport"])
            day["tcp_dst_ports"][port] = day["tcp_dst_ports"].get(port, 0) + 1
            if int(first(r["tcp.flags"]), 16) & 0x12 == 0x02:
                syn_ports[phase][int(port)] = syn_ports[phase].get(int(port), 0) + 1
    return syn_ports, cc_packets, days


def case_phases(ctx):
    """--ports/--countries before and after --switch-at: tshark's rank order of
    the ports and of the source countries (bisect on the ranges file) on each
    side is the order of the weights given, and no packet before the switch
    comes from a country only named after it (nor the reverse); the truth's
    phases are the arguments and its per-day figures tshark's; same
    arguments, same bytes."""
    if not os.path.exists(RANGES):
        raise Skip(f"{RANGES} absent")
    if not TSHARK:
        raise Skip("tshark absent")
    d = ctx["tmp"]
    path, truth_path = f"{d}/phases.pcap", f"{d}/phases.json"
    args = PHASE_ARGS + ["--country-ranges", RANGES,
                         "--ports", weights_arg(PHASES[0]["ports"]),
                         "--ports-after", weights_arg(PHASES[1]["ports"]),
                         "--countries", weights_arg(PHASES[0]["countries"]),
                         "--countries-after", weights_arg(PHASES[1]["countries"])]
    gen(["--out", path, "--truth", truth_path] + args)
    with open(truth_path) as f:
        truth = json.load(f)
    switch_ns = int(datetime.datetime.fromisoformat(PHASE_SWITCH).replace(
        tzinfo=datetime.timezone.utc).timestamp()) * 10**9
    rows = tshark_rows_fields(path, ["frame.time_epoch", "ip.src", "ip.dst", "ip.proto",
                                     "ipv6.dst", "ipv6.nxt", "tcp.flags", "tcp.dstport"])
    syn_ports, cc_packets, days = tshark_days(rows, CountryRanges(RANGES), switch_ns)
    errors = []
    orders = []
    for phase, spec in enumerate(PHASES):
        # The specs list their keys by weight, heaviest first.
        got = rank_order(syn_ports[phase], spec["ports"])
        if got != list(spec["ports"]):
            errors.append(f"phase {phase}: SYN ports ranked "
                          f"{[(p, syn_ports[phase].get(p)) for p in got]}, want "
                          f"{list(spec['ports'])}")
        got_cc = rank_order(cc_packets[phase], cc_packets[phase])
        if got_cc != list(spec["countries"]):
            errors.append(f"phase {phase}: IPv4 source countries ranked "
                          f"{[(c, cc_packets[phase][c]) for c in got_cc]}, want "
                          f"{list(spec['countries'])}")
        orders.append(f"ports {[(p, syn_ports[phase].get(p)) for p in got]}, countries "
                      f"{[(c, cc_packets[phase][c]) for c in got_cc]}")
    want_phases = [{"from": "2024-05-20T00:00:00Z", "to": "2024-05-21T00:00:00Z"},
                   {"from": "2024-05-21T00:00:00Z", "to": "2024-05-22T00:00:00Z"}]
    for w, spec in zip(want_phases, PHASES):
        w["scan_ports"] = {str(k): v for k, v in spec["ports"].items()}
        w["countries"] = spec["countries"]
    if truth.get("phases") != want_phases:
        errors.append(f"truth phases {truth.get('phases')}, want {want_phases}")
    got_days = truth.get("days", {})
    if sorted(got_days) != sorted(days):
        errors.append(f"truth days {sorted(got_days)}, tshark {sorted(days)}")
    for day in sorted(days):
        for key in ("packets", "outside", "tcp_dst_ports", "src_countries"):
            g, t = got_days.get(day, {}).get(key), days[day][key]
            if g == t:
                continue
            if isinstance(g, dict):
                diff = sorted((k, g.get(k), t.get(k)) for k in set(g) | set(t)
                              if g.get(k) != t.get(k))
                errors.append(f"{day} {key} (key, truth, tshark): {diff[:5]}")
            else:
                errors.append(f"{day} {key}: truth {g} != tshark {t}")

    # Determinism: the same arguments, the same bytes.
    gen(["--out", f"{d}/phases2.pcap", "--truth", f"{d}/phases2.json"] + args)
    if sha256(path) != sha256(f"{d}/phases2.pcap") or \
            sha256(truth_path) != sha256(f"{d}/phases2.json"):
        errors.append("same arguments gave a different pcap or truth")
    if errors:
        raise AssertionError("; ".join(errors[:8]))
    return (f"{len(rows)} packets; before the switch {orders[0]}; after {orders[1]}; the "
            f"truth's phases and per-day ports and countries agree; same bytes twice")


SPRAY_PACKETS = 100000


def case_spray(ctx):
    """Every packet a clean SYN; layouts and windows as many and as diverse as the truth says."""
    if not TSHARK:
        raise Skip("tshark absent")
    d = ctx["tmp"]
    path, truth_path = f"{d}/spray.pcap", f"{d}/spray.json"
    gen(["--out", path, "--truth", truth_path, "--spray", "--packets", str(SPRAY_PACKETS)])
    with open(truth_path) as f:
        t = json.load(f)
    errors = []
    broken = tshark_count(path, BROKEN)
    bad = tshark_count(path, BAD_CHECKSUM, CHECKSUM_PREFS)
    if broken or bad:
        errors.append(f"{broken} malformed/error frames, {bad} bad checksums")
    rows = tshark_rows_fields(path, ["ip.src", "ip.dst", "tcp.flags", "tcp.window_size_value",
                                     "tcp.option_kind", "tcp.hdr_len"])
    layouts, windows, kinds = set(), set(), set()
    not_syn = eol_inside = 0
    for r in rows:
        if not r["tcp.flags"] or int(r["tcp.flags"], 16) & 0x12 != 0x02:
            not_syn += 1
            continue
        seq = r["tcp.option_kind"]
        layouts.add(seq)
        windows.add(int(r["tcp.window_size_value"]))
        ks = seq.split(",") if seq else []
        kinds.update(int(k) for k in ks)
        # EOL, when present, is the last byte: every decoder sees the same layout.
        eol_inside += "0" in ks[:-1]
        src = ipaddress.ip_address(r["ip.src"])
        dst = ipaddress.ip_address(r["ip.dst"])
        if not src.is_global or src.is_multicast or any(src in p for p in DEFAULT_PREFIXES) or \
                not any(dst in p for p in DEFAULT_PREFIXES):
            errors.append(f"bad addresses {src} -> {dst}")
            break
    s = t.get("spray", {})
    if len(rows) != SPRAY_PACKETS or not_syn:
        errors.append(f"{len(rows)} packets, {not_syn} not SYN")
    if eol_inside:
        errors.append(f"{eol_inside} layouts with an option after EOL")
    expect_equal("packets", len(rows), s.get("packets"), errors)
    expect_equal("distinct layouts", len(layouts), s.get("layouts"), errors)
    expect_equal("distinct windows", len(windows), s.get("windows"), errors)
    if not s.get("layouts_exact"):
        errors.append("truth layouts not exact")
    if len(layouts) <= 10000 or len(windows) <= 50000:
        errors.append(f"too little diversity: {len(layouts)} layouts, {len(windows)} windows")
    unknown = [k for k in kinds if 9 <= k <= 254]
    if not {0, 1, 2, 3, 4, 8} <= kinds or len(unknown) < 200:
        errors.append(f"option kinds {sorted(kinds)[:12]}.., {len(unknown)} of 9-254")
    if errors:
        raise AssertionError("; ".join(errors[:8]))
    return (f"{len(rows)} SYNs, none malformed; {len(layouts)} layouts and {len(windows)} "
            f"windows (truth agrees), {len(unknown)} kinds of 9-254, EOL only last")


def case_spray_throughput(ctx):
    path = os.path.join(ctx["tmp"], "spray-big.pcap")
    n = 1000000
    t0 = time.monotonic()
    gen(["--out", path, "--spray", "--packets", str(n)])
    wall = time.monotonic() - t0
    got = count_records(path)
    os.unlink(path)
    if got != n:
        raise AssertionError(f"{got} records, want {n}")
    return f"{n} spray packets in {wall:.2f} s: {n / wall / 1e6:.2f} M packets/s"


CASES = [
    ("bad_args", case_bad_args),
    ("determinism", case_determinism),
    ("format", case_format),
    ("spans", case_spans),
    ("nanosecond", case_nanosecond),
    ("tshark_controls", case_tshark_controls),
    ("valid", case_valid),
    ("mix", case_mix),
    ("addresses", case_addresses),
    ("truth", case_truth),
    ("custom_prefixes", case_custom_prefixes),
    ("campaign", case_campaign),
    ("campaign_added", case_campaign_added),
    ("phases", case_phases),
    ("spray", case_spray),
    ("throughput", case_throughput),
    ("spray_throughput", case_spray_throughput),
]


def main():
    if not GEN or not os.access(GEN, os.X_OK):
        print(f"DARKSCOPE_GEN not set or not executable: {GEN!r}")
        return 1
    failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="ds-test-gen-") as tmp:
        ctx = {"tmp": tmp, "main": os.path.join(tmp, "main.pcap")}
        gen(["--out", ctx["main"], "--truth", os.path.join(tmp, "main.json")])
        with open(os.path.join(tmp, "main.json")) as f:
            ctx["truth"] = json.load(f)
        if TSHARK:
            ctx["tshark"] = summarise(tshark_rows(ctx["main"]), DEFAULT_PREFIXES,
                                      DEFAULT_PREFIX6)
        for name, fn in CASES:
            try:
                print(f"ok   {name}: {fn(ctx)}", flush=True)
            except Skip as e:
                skipped += 1
                print(f"skip {name}: {e}", flush=True)
            except AssertionError as e:
                failed += 1
                print(f"FAIL {name}: {e}", flush=True)
    if failed:
        return 1
    return 77 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
