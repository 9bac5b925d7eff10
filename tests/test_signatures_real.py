# SPDX-License-Identifier: BSD-3-Clause
"""Built-in signatures and SYN fingerprints on every real capture, against tshark.

Each capture of ../shared/data/pcap is replayed alone into a fresh
redis-server with one feed `all` (0.0.0.0/0 and ::/0) and no geo data. For
EVERY minute and EVERY built-in signature, the `signature` dimension's
packets and distinct sources must equal an independent reference written
here from the rules of lib/sig/ds_sig.h (and the special-purpose lists of
docs/GEO.md): every field comes from tshark's dissection, never from the
sensor's decoder. Likewise the `tcp_fingerprint` dimension (docs/SCHEMA.md
"TTL:WINDOW:MSS:WSCALE:LAYOUT") per value. tests/truth.py decides which
frames are packets at all (malformed and non-IP frames count for no
dimension), which header is the outer one, and which minute a frame is
tallied into; the reference only adds the signature rules on top.

Redis must hold the same signature and fingerprint sorted sets as the JSON
lines, and the day HyperLogLogs of every signature the distinct sources of
that UTC day (exact for small sets; within three standard errors of Redis'
estimator, 3 x 0.81 %, above SMALL_HLL sources).

The figures ../shared/data/SOURCES.md states are checked on the captures it
names them for: the reference must reproduce them over all frames (as
SOURCES.md counted), and the sensor's figures must equal the part of them
that lies in frames the sensor counts.

The real captures never exercise some rules (SYN+FIN, TCP port 0, TTL 199
against 200, ICMPv6, IPv6 bogons), so three more captures go through the
same comparison: darkscope-gen's mix, a darkscope-gen spray of random SYNs
(tens of thousands of distinct fingerprints) and CRAFTED, one packet a
minute at each rule's edge, whose signatures are also written down by hand:
the sensor, the reference and the hand must agree packet by packet.

The rules the reference implements (ds_sig.h, version "1"); "SYN" is SYN
set and ACK clear, TCP/UDP/ICMP fields need the outer transport header
right after the outer IP header (a later fragment has none):
  mirai        SYN, IPv4, seq == destination address
  zmap         SYN, IPv4, IP ID 54321
  masscan      SYN, IPv4, IP ID == (dst ^ dport ^ seq) & 0xffff
  nmap_syn     SYN, window 1024, option kinds exactly [MSS]
  backscatter_synack  SYN and ACK;  backscatter_rst  RST set
  backscatter_icmp    ICMPv4 type 0 3 4 5 11 12 14 16 18, ICMPv6 1-4 129
  backscatter_dns     UDP source port 53;  backscatter  any of these four
  spoof_src_eq_dst    source == destination (IPv4 or IPv6)
  spoof_high_ttl      TTL / hop limit >= 200 and not masscan (any packet)
  spoof_src_octet     IPv4 source ending in .0 or .255
  spoof_port0         TCP or UDP source or destination port 0
  spoof_flags         TCP flags SYN+FIN, SYN+RST, FIN+RST, none, or
                      FIN+PSH+URG without ACK (low 8 flag bits)
  spoof_bogon         source in the special-purpose space of docs/GEO.md
"""

import ipaddress
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import truth  # noqa: E402

SIGNATURES = ("mirai", "zmap", "masscan", "nmap_syn", "backscatter", "backscatter_synack",
              "backscatter_rst", "backscatter_icmp", "backscatter_dns", "spoof_src_eq_dst",
              "spoof_high_ttl", "spoof_src_octet", "spoof_port0", "spoof_flags",
              "spoof_bogon")
SIGNATURES_VERSION = "1"

# tshark fields the signature rules read, after truth.FIELDS in one run.
SIG_FIELDS = ["ip.id", "ip.ttl", "ipv6.hlim", "tcp.srcport", "tcp.seq_raw", "tcp.flags",
              "tcp.window_size_value", "tcp.option_kind", "tcp.options.mss_val",
              "tcp.options.wscale.shift", "udp.srcport", "icmp.type", "icmpv6.type"]

BOGONS = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/127", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
    "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "ff00::/8")]

ICMP4_BACKSCATTER = {0, 3, 4, 5, 11, 12, 14, 16, 18}
ICMP6_BACKSCATTER = {1, 2, 3, 4, 129}
OPT_NAMES = {0: "EOL", 1: "NOP", 2: "MSS", 3: "WS", 4: "SACK", 5: "SACKB", 8: "TS"}
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

# Generated captures replayed after the real ones (darkscope-gen, seed 1).
GENERATED = (("generated-mix.pcap", []), ("generated-spray.pcap", ["--spray"]))
GENERATED_PACKETS = 30000

CRAFTED_PCAP = "crafted-edges.pcap"

# Per-label lines for the fingerprints of MIRAI_PCAP (its 634 labels are all
# compared by one check).
TOP_LABELS = 15

# Day HyperLogLogs of at most this many sources must count them exactly.
SMALL_HLL = 200
HLL_TOLERANCE = 3 * 0.0081

# What SOURCES.md says, counted over every frame of the file.
MIRAI_PCAP = "lbnl_scanNG_23-tcp.pcap"
SOURCES_MD = {
    MIRAI_PCAP: {"syn": 1556, "mirai": 798, "mirai_sources": 542},
    "seriouszyx_zmap.pcap": {"syn": 10000, "zmap": 10000},
    "esnet_masscan_tcp_0_1000_20190821.pcap": {"syn": 1001, "masscan": 1001},
    "seriouszyx_masscan.pcap": {"syn": 600, "masscan": 600},
    "ncsa_bro-simple-scan_backscatter.trace": {"synack": 3431, "rst": 1310, "udp": 2,
                                               "icmp": 28},
}


# ---------------------------------------------------------------------------
# Reference

def tshark_rows(path, tshark):
    """One tshark run: (truth.parse_frame() of the frame, {field: occurrences}).

    The command is truth.tshark_lines()'s, with SIG_FIELDS appended, so that
    the frame classification is exactly truth.py's."""
    fields = truth.FIELDS + SIG_FIELDS
    cmd = [tshark, "-r", path, "-n", "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,", "-E", "quote=n"]
    for f in fields:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (
            path, proc.stderr.decode(errors="replace")[-500:]))
    rows = []
    n = len(truth.FIELDS)
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        extra = {f: truth.occ(v) for f, v in zip(fields, cols)}
        extra["frame.protocols"] = cols[truth.FIELDS.index("frame.protocols")]
        rows.append((truth.parse_frame(cols[:n]), extra))
    return rows


def outer_l4(protocols):
    """tshark's layer right after the outer IP header and its IPv6 extension
    headers ('' when there is none): as truth.parse_frame() walks it."""
    layers = protocols.split(":")
    i = 2
    while i < len(layers) and layers[i] in truth.VLAN_LAYERS + ("ethertype",):
        i += 1
    if i >= len(layers) or layers[i] not in ("ip", "ipv6"):
        return ""
    i += 1
    while i < len(layers) and layers[i] in truth.IPV6_EXT:
        i += 1
    return layers[i] if i < len(layers) else ""


def first_int(x, field, default=None):
    v = x[field]
    return int(v[0], 0) if v else default


def option_kinds(x):
    """Option kinds of the outer TCP header as a decoder that stops after
    the first EOL sees them (tshark lists every zero byte after it)."""
    kinds = [int(k, 0) for k in x["tcp.option_kind"]]
    if 0 in kinds:
        kinds = kinds[:kinds.index(0) + 1]
    return kinds


def layout_label(kinds):
    return ",".join(OPT_NAMES.get(k, str(k)) for k in kinds) if kinds else "none"


def is_bogon(addr):
    return any(addr.version == n.version and addr in n for n in BOGONS)


def signatures_of(fr, x):
    """The set of signature names the rules give the frame (an IP packet)."""
    sigs = set()
    src = ipaddress.ip_address(fr["src"])
    dst = ipaddress.ip_address(fr["dst"])
    v4 = fr["version"] == 4
    ttl = first_int(x, "ip.ttl" if v4 else "ipv6.hlim", 0)
    l4 = "" if fr["later_fragment"] else outer_l4(x["frame.protocols"])
    masscan = False
    if "tcp_dport" in fr:
        flags = first_int(x, "tcp.flags") & 0xff
        dport = fr["tcp_dport"]
        sport = first_int(x, "tcp.srcport")
        seq = first_int(x, "tcp.seq_raw")
        window = first_int(x, "tcp.window_size_value")
        syn = flags & (SYN | ACK) == SYN
        if syn and v4:
            dst4 = int(dst)
            ip_id = first_int(x, "ip.id")
            if seq == dst4:
                sigs.add("mirai")
            if ip_id == 54321:
                sigs.add("zmap")
            if ip_id == (dst4 ^ dport ^ seq) & 0xffff:
                sigs.add("masscan")
                masscan = True
        if syn and window == 1024 and option_kinds(x) == [2]:
            sigs.add("nmap_syn")
        if flags & (SYN | ACK) == SYN | ACK:
            sigs.add("backscatter_synack")
        if flags & RST:
            sigs.add("backscatter_rst")
        if (flags & (SYN | FIN) == SYN | FIN or flags & (SYN | RST) == SYN | RST or
                flags & (FIN | RST) == FIN | RST or flags == 0 or
                flags & (FIN | PSH | URG | ACK) == FIN | PSH | URG):
            sigs.add("spoof_flags")
        if sport == 0 or dport == 0:
            sigs.add("spoof_port0")
    elif "udp_dport" in fr:
        sport = first_int(x, "udp.srcport")
        if sport == 53:
            sigs.add("backscatter_dns")
        if sport == 0 or fr["udp_dport"] == 0:
            sigs.add("spoof_port0")
    elif fr["proto"] == 1 and l4 == "icmp":
        if first_int(x, "icmp.type") in ICMP4_BACKSCATTER:
            sigs.add("backscatter_icmp")
    elif fr["proto"] == 58 and l4 == "icmpv6":
        if first_int(x, "icmpv6.type") in ICMP6_BACKSCATTER:
            sigs.add("backscatter_icmp")
    if sigs & {"backscatter_synack", "backscatter_rst", "backscatter_icmp", "backscatter_dns"}:
        sigs.add("backscatter")
    if ttl >= 200 and not masscan:
        sigs.add("spoof_high_ttl")
    if src == dst:
        sigs.add("spoof_src_eq_dst")
    if v4 and (int(src) & 0xff) in (0, 255):
        sigs.add("spoof_src_octet")
    if is_bogon(src):
        sigs.add("spoof_bogon")
    return sigs


def fingerprint_of(fr, x):
    """The tcp_fingerprint label of a SYN (no ACK) with a TCP header, else None."""
    if "tcp_dport" not in fr:
        return None
    flags = first_int(x, "tcp.flags") & 0xff
    if flags & (SYN | ACK) != SYN:
        return None
    ttl = first_int(x, "ip.ttl" if fr["version"] == 4 else "ipv6.hlim", 0)
    ttl_class = 64 if ttl <= 64 else 128 if ttl <= 128 else 255
    # tshark gives a value only for an option of the RFC's length; a second
    # one overrides the first, as a decoder walking the options in order does.
    mss = x["tcp.options.mss_val"]
    ws = x["tcp.options.wscale.shift"]
    return "%d:%d:%s:%s:%s" % (ttl_class, first_int(x, "tcp.window_size_value"),
                               str(int(mss[-1], 0)) if mss else "-",
                               str(int(ws[-1], 0)) if ws else "-",
                               layout_label(option_kinds(x)))


def reference(rows):
    """Per minute (ISO) {'signature': {label: [packets, set of sources]},
    'tcp_fingerprint': {...}}, and per (UTC day, signature) the source set.

    Minutes as truth.summarize() assigns them: a frame older than the newest
    minute seen is tallied into that newest minute."""
    minutes = {}
    days = {}
    newest = None
    for fr, x in rows:
        m = fr["minute"]
        if newest is not None and m < newest:
            m = newest
        newest = m if newest is None else max(newest, m)
        if fr["kind"] != "ip":
            continue
        mm = minutes.setdefault(truth.minute_iso(m), {"signature": {}, "tcp_fingerprint": {}})
        day = time.strftime("%Y%m%d", time.gmtime(m * 60))
        for s in signatures_of(fr, x):
            e = mm["signature"].setdefault(s, [0, set()])
            e[0] += 1
            e[1].add(fr["src"])
            days.setdefault((day, s), set()).add(fr["src"])
        fp = fingerprint_of(fr, x)
        if fp is not None:
            e = mm["tcp_fingerprint"].setdefault(fp, [0, set()])
            e[0] += 1
            e[1].add(fr["src"])
    return minutes, days


def all_frames_figures(rows):
    """SOURCES.md's way: every IPv4 frame by its outer transport header,
    malformed or not (an ICMP error quoting a SYN-ACK is no SYN-ACK)."""
    out = {"syn": 0, "mirai": 0, "zmap": 0, "masscan": 0, "synack": 0, "rst": 0, "udp": 0,
           "icmp": 0, "mirai_src": set(), "mirai_malformed": 0, "syn_malformed": 0}
    for fr, x in rows:
        l4 = outer_l4(x["frame.protocols"])
        if "ip" not in x["frame.protocols"].split(":"):
            continue
        if l4 == "udp":
            out["udp"] += 1
        if l4 == "icmp":
            out["icmp"] += 1
        if l4 != "tcp" or not x["tcp.flags"] or not x["ip.dst"]:
            continue
        flags = first_int(x, "tcp.flags") & 0xff
        if flags & (SYN | ACK) == SYN | ACK:
            out["synack"] += 1
        if flags & RST:
            out["rst"] += 1
        if flags & (SYN | ACK) != SYN:
            continue
        out["syn"] += 1
        if fr["kind"] == "malformed":
            out["syn_malformed"] += 1
        src = x["ip.src"][0]
        dst4 = int(ipaddress.ip_address(x["ip.dst"][0]))
        seq, ip_id = first_int(x, "tcp.seq_raw"), first_int(x, "ip.id")
        dport = first_int(x, "tcp.dstport")
        if seq == dst4:
            out["mirai"] += 1
            out["mirai_src"].add(src)
            if fr["kind"] == "malformed":
                out["mirai_malformed"] += 1
        if ip_id == 54321:
            out["zmap"] += 1
        if ip_id == (dst4 ^ dport ^ seq) & 0xffff:
            out["masscan"] += 1
    return out


# ---------------------------------------------------------------------------
# Crafted packets: the rules' edges, one packet per minute

def _csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def _ip4(src, dst, proto, payload, ttl=64, ident=0x1234, frag=0):
    """IPv4 header (valid checksum) + payload; frag: offset in 8-byte units."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, ttl, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
    return b"\x08\x00", hdr + payload


def _ip6(src, dst, nh, payload, hlim=64):
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim,
                      ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    return b"\x86\xdd", hdr + payload


def _pseudo(src, dst, proto, length):
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if a.version == 4:
        return a.packed + b.packed + struct.pack("!BBH", 0, proto, length)
    return a.packed + b.packed + struct.pack("!IxxxB", length, proto)


def _l4(src, dst, proto, seg, at):
    """Fill the checksum at byte `at` of a TCP/UDP/ICMPv6 segment."""
    c = _csum(_pseudo(src, dst, proto, len(seg)) + seg) if proto != 1 else _csum(seg)
    if proto == 17 and c == 0:
        c = 0xffff
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def _tcp(src, dst, sport, dport, flags, seq=1000, window=29200, opts=b""):
    doff = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, doff << 4, flags, window, 0, 0) + opts
    return _l4(src, dst, 6, seg, 16)


def _udp(src, dst, sport, dport, payload=b"\0\0\0\0"):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return _l4(src, dst, 17, seg, 6)


def _icmp(src, dst, typ, code=0, body=b"\0" * 8, v6=False):
    seg = struct.pack("!BBH", typ, code, 0) + body
    return _l4(src, dst, 58, seg, 2) if v6 else _l4(src, dst, 1, seg, 2)


S4, D4 = "203.178.1.7", "44.31.5.9"       # public addresses: a source, a darknet one
S6, D6 = "2a00:1450::7", "2001:db8:d5::9"
MSS = b"\x02\x04\x05\xb4"


def tcp4(flags, src=S4, dst=D4, sport=40000, dport=23, ttl=64, ident=0x1234, **kw):
    return _ip4(src, dst, 6, _tcp(src, dst, sport, dport, flags, **kw), ttl=ttl, ident=ident)


def tcp6(flags, src=S6, dst=D6, sport=40000, dport=23, hlim=64, **kw):
    return _ip6(src, dst, 6, _tcp(src, dst, sport, dport, flags, **kw), hlim=hlim)


def masscan_id(dst, dport, seq):
    return (int(ipaddress.IPv4Address(dst)) ^ dport ^ seq) & 0xffff


# (what, (ethertype, IP datagram), signatures the rules of ds_sig.h give it)
CRAFTED = [
    ("SYN, plain", tcp4(SYN), set()),
    ("SYN+FIN", tcp4(SYN | FIN), {"spoof_flags"}),
    ("no flags", tcp4(0), {"spoof_flags"}),
    ("FIN+PSH+URG", tcp4(FIN | PSH | URG), {"spoof_flags"}),
    ("FIN+PSH+URG+ACK", tcp4(FIN | PSH | URG | ACK), set()),
    ("SYN+RST", tcp4(SYN | RST), {"spoof_flags", "backscatter", "backscatter_rst"}),
    ("FIN+RST+ACK", tcp4(FIN | RST | ACK), {"spoof_flags", "backscatter", "backscatter_rst"}),
    ("RST+ACK", tcp4(RST | ACK), {"backscatter", "backscatter_rst"}),
    ("SYN+ACK", tcp4(SYN | ACK), {"backscatter", "backscatter_synack"}),
    ("SYN+ECE+CWR", tcp4(SYN | 0xc0), set()),
    ("SYN, source port 0", tcp4(SYN, sport=0), {"spoof_port0"}),
    ("SYN, destination port 0", tcp4(SYN, dport=0), {"spoof_port0"}),
    ("UDP from port 53", _ip4(S4, D4, 17, _udp(S4, D4, 53, 33000)),
     {"backscatter", "backscatter_dns"}),
    ("UDP to port 0", _ip4(S4, D4, 17, _udp(S4, D4, 33000, 0)), {"spoof_port0"}),
    ("UDP to port 53", _ip4(S4, D4, 17, _udp(S4, D4, 33000, 53)), set()),
    ("IPv4 source == destination", tcp4(SYN, src=D4), {"spoof_src_eq_dst"}),
    ("IPv6 source == destination", tcp6(SYN, src=D6), {"spoof_src_eq_dst", "spoof_bogon"}),
    ("ICMP echo reply", _ip4(S4, D4, 1, _icmp(S4, D4, 0)), {"backscatter", "backscatter_icmp"}),
    ("ICMP echo request", _ip4(S4, D4, 1, _icmp(S4, D4, 8)), set()),
    ("ICMP timestamp request", _ip4(S4, D4, 1, _icmp(S4, D4, 13, body=b"\0" * 16)), set()),
    ("ICMP timestamp reply", _ip4(S4, D4, 1, _icmp(S4, D4, 14, body=b"\0" * 16)),
     {"backscatter", "backscatter_icmp"}),
    ("ICMP address mask reply", _ip4(S4, D4, 1, _icmp(S4, D4, 18)),
     {"backscatter", "backscatter_icmp"}),
    ("ICMPv6 unreachable", _ip6(S6, D6, 58, _icmp(S6, D6, 1, body=b"\0" * 4 + _ip6(
        D6, "2a00:1450::8", 59, b"")[1], v6=True)), {"backscatter", "backscatter_icmp"}),
    ("ICMPv6 echo reply", _ip6(S6, D6, 58, _icmp(S6, D6, 129, v6=True)),
     {"backscatter", "backscatter_icmp"}),
    ("ICMPv6 echo request", _ip6(S6, D6, 58, _icmp(S6, D6, 128, v6=True)), set()),
    ("TTL 199", tcp4(SYN, ttl=199), set()),
    ("TTL 200", tcp4(SYN, ttl=200), {"spoof_high_ttl"}),
    ("IPv6 hop limit 200", tcp6(SYN, hlim=200), {"spoof_high_ttl"}),
    ("masscan SYN, TTL 255", tcp4(SYN, ttl=255, seq=777, dport=3389,
                                  ident=masscan_id(D4, 3389, 777)), {"masscan"}),
    ("masscan formula on a SYN+ACK", tcp4(SYN | ACK, seq=777, dport=3389,
                                          ident=masscan_id(D4, 3389, 777)),
     {"backscatter", "backscatter_synack"}),
    ("Mirai SYN", tcp4(SYN, seq=int(ipaddress.IPv4Address(D4))), {"mirai"}),
    ("ZMap SYN", tcp4(SYN, ident=54321, ttl=250), {"zmap", "spoof_high_ttl"}),
    ("nmap SYN: window 1024, MSS", tcp4(SYN, window=1024, opts=MSS), {"nmap_syn"}),
    ("window 1024, MSS,NOP,NOP,NOP", tcp4(SYN, window=1024, opts=MSS + b"\x01" * 4), set()),
    ("window 1024, MSS,EOL + NOP padding", tcp4(SYN, window=1024, opts=MSS + b"\x00\x01\x01\x01"),
     set()),
    ("IPv6 nmap SYN", tcp6(SYN, window=1024, opts=MSS), {"nmap_syn"}),
    ("IPv6 SYN, dport ^ seq == 0, seq == 0", tcp6(SYN, dport=80, seq=80), set()),
    ("IPv4 later fragment of a SYN+FIN, TTL 250",
     _ip4(S4, D4, 6, struct.pack("!HHIIBBHHH", 0, 0, 0, 0, 0x50, SYN | FIN, 0, 0, 0),
          ttl=250, frag=185), {"spoof_high_ttl"}),
    ("source x.x.x.0", tcp4(SYN, src="203.178.1.0"), {"spoof_src_octet"}),
    ("source x.x.x.255", tcp4(SYN, src="203.178.1.255"), {"spoof_src_octet"}),
    ("source 10.1.2.3", tcp4(SYN, src="10.1.2.3"), {"spoof_bogon"}),
    ("source 100.127.255.254", tcp4(SYN, src="100.127.255.254"), {"spoof_bogon"}),
    ("source 100.128.0.1", tcp4(SYN, src="100.128.0.1"), set()),
    ("source 192.0.1.1", tcp4(SYN, src="192.0.1.1"), set()),
    ("source 192.0.2.1", tcp4(SYN, src="192.0.2.1"), {"spoof_bogon"}),
    ("source 198.19.255.1", tcp4(SYN, src="198.19.255.1"), {"spoof_bogon"}),
    ("source 224.0.0.1", tcp4(SYN, src="224.0.0.1"), {"spoof_bogon"}),
    ("IPv6 source fe80::1", tcp6(SYN, src="fe80::1"), {"spoof_bogon"}),
    ("IPv6 source 2001:1ff::1", tcp6(SYN, src="2001:1ff::1"), {"spoof_bogon"}),
    ("IPv6 source 2001:200::1", tcp6(SYN, src="2001:200::1"), set()),
]
CRAFTED_START = 1716163200          # 2024-05-20T00:00:00Z


def write_crafted(path):
    """The CRAFTED frames, one a minute, as a classic microsecond pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, (_, (etype, ip), _) in enumerate(CRAFTED):
            frame = b"\x02\x00\x00\xd5\x00\x01\x02\x00\x00\xd5\x00\xfe" + etype + ip
            frame += b"\0" * max(0, 60 - len(frame))
            f.write(struct.pack("<IIII", CRAFTED_START + 60 * i + 1, 0, len(frame), len(frame)))
            f.write(frame)
    return path


def check_crafted(checks, rows, by_minute):
    """Each crafted packet: the reference gives the hand-written set, and the
    sensor's minute of that packet holds exactly that set."""
    for i, (what, _, want) in enumerate(CRAFTED):
        fr, x = rows[i]
        ref = signatures_of(fr, x) if fr["kind"] == "ip" else {"<%s>" % fr["kind"]}
        minute = truth.minute_iso(CRAFTED_START // 60 + i)
        got = set(sensor_table(by_minute.get(minute) or {}, "signature"))
        checks.ok(ref == want == got, "crafted %02d %s: sensor %s, reference %s, by hand %s" % (
            i, what, sorted(got), sorted(ref), sorted(want)))

# ---------------------------------------------------------------------------
# Sensor side

def sensor_table(line, dim):
    """{label: (packets, sources)} of one JSON line's dimension."""
    return {str(k): (d._num(e.get("packets")), d._num(e.get("sources")))
            for k, e in ((line.get("dims") or {}).get(dim) or {}).items()}


def ref_table(mm, dim):
    return {k: (v[0], len(v[1])) for k, v in ((mm or {}).get(dim) or {}).items()}


def redis_table(client, minute_iso, dim):
    base = "%s:%s:all:%s:%s" % (d.KEY_PREFIX, d.SENSOR, d.minute_key(minute_iso), dim)
    pk = d._zset(client, base)
    sr = d._zset(client, base + ":sources")
    return {k: (d._num(pk.get(k)), d._num(sr.get(k))) for k in set(pk) | set(sr)}


def case_bad_arguments(checks):
    """The first case: limits the fingerprint table cannot take are refused
    with the key named, and the reference refuses a file that is no capture."""
    work = d.tmpdir("sigbad")
    base = d.config_text(None, redis_enabled=False)
    for key, value, want in (("tcp_fingerprints", "0", "limits.tcp_fingerprints"),
                             ("tcp_fingerprints", "70000", "limits.tcp_fingerprints"),
                             ("syn_option_layouts", "x", "limits.syn_option_layouts")):
        path = d.write_config(base + "limits: {%s: %s}\n" % (key, value), work)
        p = subprocess.run([d.darkscope_bin(), "--check-config", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode(errors="replace")
        checks.ok(p.returncode == 2 and want in err,
                  "bad arguments: limits.%s: %s: exit %s (want 2), stderr names %s: %s" % (
                      key, value, p.returncode, want, want in err))
    junk = os.path.join(work, "junk.pcap")
    with open(junk, "wb") as f:
        f.write(b"this is not a capture file\n" * 4)
    try:
        tshark_rows(junk, d.tshark_bin())
        refused = False
    except RuntimeError:
        refused = True
    checks.ok(refused, "bad arguments: the tshark reference refuses a file that is no capture")


def compare_dim(checks, name, dim, by_minute, ref_minutes, labels_of_interest=None):
    """Every minute's values of one dimension: packets and sources per label.

    One check covers every (label, minute) cell; a line per label (sums over
    the minutes, minutes that differ) is printed for labels_of_interest, or
    for the TOP_LABELS largest when it is None. The first differences are
    printed with their minute."""
    minutes = sorted(set(by_minute) | set(ref_minutes))
    per_label = {}
    diffs = []
    for m in minutes:
        g = sensor_table(by_minute[m], dim) if m in by_minute else {}
        w = ref_table(ref_minutes.get(m), dim)
        for lab in set(g) | set(w):
            e = per_label.setdefault(lab, [0, 0, 0, 0, 0])
            gp, gs = g.get(lab, (0, 0))
            wp, ws = w.get(lab, (0, 0))
            e[0] += gp or 0
            e[1] += wp
            e[2] += gs or 0
            e[3] += ws
            if (gp, gs) != (wp, ws):
                e[4] += 1
                diffs.append((m, lab, (gp, gs), (wp, ws)))
    for m, lab, g, w in diffs[:10]:
        d.log("     %s %s: %s %s (packets, sources): sensor %s reference %s" % (
            name, m[:16], dim, lab, g, w))
    if labels_of_interest is None:
        labels = sorted(per_label, key=lambda k: (-per_label[k][1], k))[:TOP_LABELS]
    else:
        labels = labels_of_interest
    for lab in labels:
        e = per_label.get(lab)
        if e is None:
            continue
        checks.ok(e[4] == 0, "%s: %s %s in %d minutes: packets %d %s %d, sources summed over "
                  "minutes %d %s %d, minutes differing %d" % (
                      name, dim, lab, len(minutes), e[0], "==" if e[0] == e[1] else "!=", e[1],
                      e[2], "==" if e[2] == e[3] else "!=", e[3], e[4]))
    gsum = sum(e[0] for e in per_label.values())
    wsum = sum(e[1] for e in per_label.values())
    checks.eq("%s: %s, all %d labels in %d minutes: packets %d %s %d; (label, minute) cells "
              "differing" % (name, dim, len(per_label), len(minutes), gsum,
                             "==" if gsum == wsum else "!=", wsum), len(diffs), 0)
    return per_label


def check_hll(checks, name, client, days):
    """The day HyperLogLog of every (day, signature) against the reference."""
    exact_bad = []
    approx_bad = []
    n_exact = n_approx = 0
    for (day, sig), srcs in sorted(days.items()):
        key = "%s:%s:all:d:%s:hll:signature:%s" % (d.KEY_PREFIX, d.SENSOR, day, sig)
        got = client.call("PFCOUNT", key)
        want = len(srcs)
        if want <= SMALL_HLL:
            n_exact += 1
            if got != want:
                exact_bad.append((day, sig, got, want))
        else:
            n_approx += 1
            err = abs(got - want) / float(want)
            d.log("     %s: day %s signature %s: PFCOUNT %d, reference %d sources (%.2f %%)" % (
                name, day, sig, got, want, 100 * err))
            if err > HLL_TOLERANCE:
                approx_bad.append((day, sig, got, want))
    for b in exact_bad[:10]:
        d.log("     %s: day %s signature %s: PFCOUNT %d, reference %d" % ((name,) + b))
    checks.ok(not exact_bad, "%s: day HyperLogLogs of <= %d sources equal to the reference: "
              "%d of %d" % (name, SMALL_HLL, n_exact - len(exact_bad), n_exact))
    if n_approx:
        checks.ok(not approx_bad, "%s: day HyperLogLogs above %d sources within %.2f %%: "
                  "%d of %d" % (name, SMALL_HLL, 100 * HLL_TOLERANCE,
                                n_approx - len(approx_bad), n_approx))
    # Nothing the reference lacks: the set of labels per day lists exactly its signatures.
    sets_bad = []
    for day in sorted({dy for dy, _ in days}):
        want = sorted(s for dy, s in days if dy == day)
        got = sorted(client.call("SMEMBERS", "%s:%s:all:d:%s:hll:signature" % (
            d.KEY_PREFIX, d.SENSOR, day)))
        if got != want:
            sets_bad.append((day, got, want))
    for day, got, want in sets_bad[:5]:
        d.log("     %s: day %s label set: redis %s reference %s" % (name, day, got, want))
    checks.eq("%s: days whose signature label set differs from the reference" % name,
              len(sets_bad), 0)


def file_sources(client, days, sig):
    """Distinct sources of a signature over the whole capture: one PFCOUNT
    over its day keys (what a reader of the schema would do)."""
    keys = ["%s:%s:all:d:%s:hll:signature:%s" % (d.KEY_PREFIX, d.SENSOR, day, s)
            for day, s in sorted(days) if s == sig]
    return client.call("PFCOUNT", *keys) if keys else 0


def check_sources_md(checks, name, rows, per_label, fps, days, client, n_minutes):
    """SOURCES.md's figures: the reference reproduces them over all frames,
    the sensor equals the part in frames it counts."""
    facts = SOURCES_MD.get(name)
    if not facts:
        return
    allf = all_frames_figures(rows)
    sens = {lab: e[0] for lab, e in per_label.items()}
    if "mirai" in facts:
        checks.eq("%s: SOURCES.md: Mirai SYNs over all frames (reference)" % name,
                  allf["mirai"], facts["mirai"])
        checks.eq("%s: SOURCES.md: Mirai sources over all frames (reference)" % name,
                  len(allf["mirai_src"]), facts["mirai_sources"])
        malformed = sum(1 for fr, _ in rows if fr["kind"] == "malformed")
        ref_src = set()
        for (_, s), srcs in days.items():
            if s == "mirai":
                ref_src |= srcs
        d.log("     %s: %d malformed frames, of which %d are Mirai SYNs; Mirai in counted "
              "frames: %d SYNs from %d sources" % (name, malformed, allf["mirai_malformed"],
                                                   allf["mirai"] - allf["mirai_malformed"],
                                                   len(ref_src)))
        checks.eq("%s: sensor mirai packets vs SOURCES.md's %d less the %d malformed" % (
            name, facts["mirai"], allf["mirai_malformed"]), sens.get("mirai", 0),
            facts["mirai"] - allf["mirai_malformed"])
        # The capture lies in one minute, whose sources are exact; the day
        # HyperLogLog is an estimate (printed).
        checks.eq("%s: minutes of the capture (so its sources are one minute's)" % name,
                  n_minutes, 1)
        checks.eq("%s: sensor mirai sources of the minute vs reference over the capture" % name,
                  per_label.get("mirai", [0, 0, 0])[2], len(ref_src))
        d.log("     %s: mirai sources by PFCOUNT of the day key: %d (an estimate)" % (
            name, file_sources(client, days, "mirai")))
    for fig, sig in (("zmap", "zmap"), ("masscan", "masscan"), ("synack", "backscatter_synack"),
                     ("rst", "backscatter_rst")):
        if fig in facts:
            checks.eq("%s: SOURCES.md: %s over all frames (reference)" % (name, fig),
                      allf[fig], facts[fig])
            checks.eq("%s: sensor %s packets vs SOURCES.md %s" % (name, sig, fig),
                      sens.get(sig, 0), facts[fig])
    if "syn" in facts:
        checks.eq("%s: SOURCES.md: SYNs over all frames (reference)" % name,
                  allf["syn"], facts["syn"])
        checks.eq("%s: sensor tcp_fingerprint packets vs SOURCES.md's %d SYNs less the %d "
                  "malformed" % (name, facts["syn"], allf["syn_malformed"]),
                  sum(e[0] for e in fps.values()), facts["syn"] - allf["syn_malformed"])
    if "icmp" in facts:
        checks.eq("%s: SOURCES.md: ICMP frames (reference)" % name, allf["icmp"], facts["icmp"])
        checks.eq("%s: SOURCES.md: UDP frames (reference)" % name, allf["udp"], facts["udp"])
        d.log("     %s: backscatter %d packets: synack %d, rst %d, icmp %d, dns %d; sources over "
              "the capture: backscatter %d, synack %d, rst %d" % (
                  name, sens.get("backscatter", 0), sens.get("backscatter_synack", 0),
                  sens.get("backscatter_rst", 0), sens.get("backscatter_icmp", 0),
                  sens.get("backscatter_dns", 0), file_sources(client, days, "backscatter"),
                  file_sources(client, days, "backscatter_synack"),
                  file_sources(client, days, "backscatter_rst")))
        checks.eq("%s: sensor backscatter packets vs synack + rst + icmp + dns of the "
                  "reference (disjoint here)" % name, sens.get("backscatter", 0),
                  sum(per_label.get(s, [0, 0])[1] for s in (
                      "backscatter_synack", "backscatter_rst", "backscatter_icmp",
                      "backscatter_dns")))


def main():
    pcap_dir = os.path.join(d.shared_data(), "pcap")
    if not os.path.isdir(pcap_dir):
        d.skip("no capture directory %s" % pcap_dir)
    files = sorted(f for f in os.listdir(pcap_dir) if f.endswith((".pcap", ".trace")))
    if not files:
        d.skip("no .pcap or .trace file in %s" % pcap_dir)
    tshark = d.tshark_bin()
    d.darkscope_bin()
    d.redis_server_bin()
    checks = d.Checks()

    case_bad_arguments(checks)

    # The real captures never carry some marks (SYN+FIN, TCP port 0, TTLs
    # 199/200, ICMP unreachable to a darknet, IPv6): two generated captures
    # (the generator's mix, a spray of random SYNs) and a crafted one (each
    # rule's edges, one packet a minute, with the signatures expected by
    # hand) follow the real ones through the same comparison.
    work = d.tmpdir("siggen")
    paths = [os.path.join(pcap_dir, f) for f in files]
    for gname, extra in GENERATED:
        paths.append(d.run_gen(os.path.join(work, gname), packets=GENERATED_PACKETS,
                               extra=extra))
    crafted = write_crafted(os.path.join(work, CRAFTED_PCAP))
    paths.append(crafted)

    for path in paths:
        name = os.path.basename(path)
        rows = tshark_rows(path, tshark)
        ref_minutes, days = reference(rows)
        tot = {}
        for mm in ref_minutes.values():
            for lab, (n, _) in mm["signature"].items():
                tot[lab] = tot.get(lab, 0) + n
        d.log("---- %s: tshark: %d frames, %d minutes with packets; reference signatures: %s"
              % (name, len(rows), len(ref_minutes),
                 ", ".join("%s %d" % (s, tot[s]) for s in SIGNATURES if s in tot) or "none"))
        server = d.RedisServer("sig").start()
        jl = os.path.join(server.dir, "out.jsonl")
        cfg = d.config_text(server.sock, redis_extra={"retention": "0"})
        res = d.run_darkscope(cfg, ["--replay", path, "--jsonl", jl], timeout=300)
        checks.eq("%s: exit code" % name, res.rc, 0)
        if not os.path.exists(jl):
            d.log("     %s: no JSON lines written; nothing to compare" % name)
            server.stop()
            continue
        lines = d.read_jsonl(jl)
        by_minute = {ln["minute"]: ln for ln in lines if ln.get("feed") == "all"}
        versions = sorted({str(ln.get("signatures_version")) for ln in lines})
        checks.eq("%s: signatures_version of the %d JSON lines" % (name, len(lines)),
                  versions, [SIGNATURES_VERSION])
        foreign = sorted({lab for ln in lines for lab in sensor_table(ln, "signature")}
                         - set(SIGNATURES))
        checks.eq("%s: signature labels outside the built-in names" % name, foreign, [])
        per_label = compare_dim(checks, name, "signature", by_minute, ref_minutes,
                                labels_of_interest=SIGNATURES)
        quiet = [s for s in SIGNATURES if s not in per_label]
        d.log("     %s: signatures neither the sensor nor the reference saw in any minute: %s"
              % (name, ", ".join(quiet) or "none"))
        fps = compare_dim(checks, name, "tcp_fingerprint", by_minute, ref_minutes,
                          labels_of_interest=None if name == MIRAI_PCAP else [])
        if name != MIRAI_PCAP and fps:
            top = sorted(fps.items(), key=lambda kv: -kv[1][1])[:3]
            d.log("     %s: top fingerprints (label: sensor, reference packets): %s" % (
                name, "; ".join("%s: %d, %d" % (k, e[0], e[1]) for k, e in top)))
        with server.client() as c:
            rdiff = []
            for m in sorted(by_minute):
                for dim in ("signature", "tcp_fingerprint"):
                    if redis_table(c, m, dim) != sensor_table(by_minute[m], dim):
                        rdiff.append((m, dim))
            for m, dim in rdiff[:5]:
                d.log("     %s %s: %s differs between Redis and JSON" % (name, m[:16], dim))
            checks.eq("%s: minutes whose signature / tcp_fingerprint sorted sets differ "
                      "between Redis and JSON (of %d)" % (name, len(by_minute)), len(rdiff), 0)
            check_hll(checks, name, c, days)
            check_sources_md(checks, name, rows, per_label, fps, days, c, len(by_minute))
        if path == crafted:
            check_crafted(checks, rows, by_minute)
        server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
