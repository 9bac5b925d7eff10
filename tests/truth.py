# SPDX-License-Identifier: BSD-3-Clause
"""Independent per-minute truth for a capture, decoded by tshark.

The system tests compare what darkscope counted with what this script
counts, so it must not share any code or any idea of "decoding" with the
sensor: every field comes from Wireshark's dissectors (tshark 4.x). This
file only turns tshark's per-frame fields into the figures of
docs/SCHEMA.md, following the sensor's documented definitions:

  minute   floor(packet time / 60 s), UTC
  packets  well-formed frames with an IPv4 or IPv6 header reached through
           Ethernet II and at most two VLAN tags (a third tag is vlan_depth)
  bytes    captured length, Ethernet header included
  sources  distinct outer source addresses
  proto    IPv4 protocol, or the IPv6 next header after the extension headers
  ports    TCP/UDP destination port of the OUTER transport header only, and
           only when it directly follows the outer IP header (an ICMP error
           quoting a TCP header has no port; neither has a later fragment)
  late     a frame older than the newest minute seen so far is tallied into
           that newest minute, as the sensor does
  malformed  frames the sensor's decoder must reject (docs/SCHEMA.md
           reasons), recognised by what tshark reports about them (see
           MALFORMED_RULES); they are not packets of any feed. Example: four
           frames of lbnl_scanNG_23-tcp.pcap state an IPv4 total length of
           40 bytes but carry a 24-byte TCP header whose last 4 bytes lie in
           the Ethernet padding (tcp_doff)

Why frame.protocols drives the decoding: tshark's field values of a frame
are listed per field name, so for an ICMP error quoting IP+TCP, or for
IPv6-in-IPv4, "first ip.src" or "first tcp.dstport" can belong to the
inner packet. The protocol path ("eth:ethertype:vlan:ethertype:ip:icmp:ip:
tcp") says which layer is outer; the n-th occurrence of a field belongs to
the n-th layer of its protocol.

CLI:  python3 tests/truth.py [--prefix CIDR]... FILE   (JSON on stdout)
Module: analyze(path, prefixes=None) -> dict (same JSON shape).
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

# Order matters: parse_line() indexes the columns by position.
FIELDS = [
    "frame.time_epoch",
    "frame.cap_len",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ip.proto",
    "ip.frag_offset",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.nxt",
    "ipv6.hopopts.nxt",
    "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt",
    "ipv6.fraghdr.offset",
    "ipv6.dstopts.nxt",
    "ah.next_header",
    "tcp.dstport",
    "udp.dstport",
    "_ws.malformed",
    "_ws.expert.message",
]

# tshark layer names of IPv6 extension headers, and the field that holds
# each one's next header; the sensor follows these (and AH) to the L4 header.
IPV6_EXT = {
    "ipv6.hopopts": "ipv6.hopopts.nxt",
    "ipv6.routing": "ipv6.routing.nxt",
    "ipv6.fraghdr": "ipv6.fraghdr.nxt",
    "ipv6.dstopts": "ipv6.dstopts.nxt",
    "ah": "ah.next_header",
}

# Layer names tshark gives to 802.1Q / 802.1ad / 0x9100 tags.
VLAN_LAYERS = ("vlan", "ieee8021ad")
MAX_VLAN = 2

DIMS = ("proto", "tcp_dst_port", "udp_dst_port")

# The sensor rejects a frame as malformed for the reasons of docs/SCHEMA.md.
# tshark says the same things in its own words: an exception while
# dissecting a layer ("[Malformed Packet: TCP]") or an expert message. Each
# entry: (reason, layer the outer header must be, text tshark prints).
# Checked in order; the first match names the reason. Messages about the
# transport layer are only believed when that transport header is the outer
# one (an ICMP error's quoted TCP header is often cut short, legitimately).
MALFORMED_RULES = [
    ("eth_trunc", None, "[Malformed Packet: Ethernet]"),
    ("vlan_trunc", None, "[Malformed Packet: VLAN]"),
    ("vlan_trunc", None, "[Malformed Packet: IEEE 802.1ad]"),
    ("ipv4_version", None, "Bogus IPv4 version"),
    ("ipv4_ihl", "ip", "Bogus IP header length"),
    ("ipv4_totlen", "ip", "Bogus IP length"),
    ("ipv4_trunc", "ip", "[Malformed Packet: IPv4]"),
    ("ipv6_version", None, "Bogus IPv6 version"),
    ("ipv6_ext_trunc", "ipv6", "[Malformed Packet: IPv6 Hop-by-Hop"),
    ("ipv6_ext_trunc", "ipv6", "[Malformed Packet: IPv6 Routing"),
    ("ipv6_ext_trunc", "ipv6", "[Malformed Packet: IPv6 Fragment"),
    ("ipv6_ext_trunc", "ipv6", "[Malformed Packet: IPv6 Destination"),
    ("ipv6_trunc", "ipv6", "[Malformed Packet: IPv6]"),
    ("tcp_doff", "tcp", "Bogus TCP header length"),
    ("tcp_doff", "tcp", "does not contain a full TCP header"),
    ("tcp_trunc", "tcp", "[Malformed Packet: TCP]"),
    ("tcp_opt", "tcp", "with too-short option length"),
    ("tcp_opt", "tcp", "says option goes past end of options"),
    ("udp_len", "udp", r"Bad length value \d+ < 8"),
    ("udp_trunc", "udp", "[Malformed Packet: UDP]"),
    ("icmp_trunc", "icmp", "[Malformed Packet: ICMP]"),
    ("icmp_trunc", "icmpv6", "[Malformed Packet: ICMPv6]"),
]
MALFORMED_RULES = [(r, l, re.compile(p if p.startswith("Bad length") else re.escape(p)))
                   for r, l, p in MALFORMED_RULES]


def minute_iso(minute):
    """Minute number (epoch // 60) -> '2018-03-29T20:13:00Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(minute * 60))


def find_tshark():
    return os.environ.get("TSHARK") or shutil.which("tshark")


def tshark_lines(path, tshark=None):
    """Run tshark once over the capture and yield one list of columns per frame.

    Every occurrence of a field is kept (occurrence=a, joined by ','), because
    which occurrence is the outer one depends on the protocol path.
    """
    tshark = tshark or find_tshark()
    if not tshark:
        raise FileNotFoundError("tshark not found (set TSHARK)")
    cmd = [tshark, "-r", path, "-n",
           "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
           "-E", "aggregator=,", "-E", "quote=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    # tshark warns on stderr when run as root; only its exit status matters.
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if proc.returncode != 0:
        err = [ln for ln in proc.stderr.decode(errors="replace").splitlines()
               if ln.strip() and not ln.startswith("Running as user")]
        raise RuntimeError("tshark failed on %s: %s" % (path, " ".join(err)))
    for line in proc.stdout.decode("utf-8", errors="replace").splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        yield cols


def occ(value):
    """All occurrences of one field ('' -> [])."""
    return value.split(",") if value else []


def malformed_reason(notes, l3, l4):
    """The sensor's malformed reason tshark's notes imply, or None.

    notes: tshark's _ws.malformed and _ws.expert.message text of the frame;
    l3 / l4: tshark layer names of the outer IP header and of the layer
    right after it (after IPv6 extension headers).
    """
    if not notes:
        return None
    for reason, layer, pattern in MALFORMED_RULES:
        if layer is not None and layer not in (l3, l4):
            continue
        if pattern.search(notes):
            return reason
    return None


def parse_frame(cols):
    """One frame's columns -> a dict with the figures the sensor counts.

    kind: 'ip', 'non_ip' or 'malformed' (then 'reason' names it).
    """
    c = dict(zip(FIELDS, cols))
    t = c["frame.time_epoch"]
    sec = int(t.split(".")[0]) if t else 0
    notes = (c["_ws.malformed"] + " " + c["_ws.expert.message"]).strip()
    fr = {
        "minute": sec // 60,
        "cap_len": int(c["frame.cap_len"] or 0),
        "kind": "non_ip",
    }
    layers = c["frame.protocols"].split(":")
    l3 = l4 = ""
    # Ethernet II, then tags, each followed by tshark's 'ethertype' layer.
    i = 2
    n_vlan = 0
    if layers[:2] == ["eth", "ethertype"]:
        while i < len(layers) and layers[i] in VLAN_LAYERS:
            n_vlan += 1
            i += 1
            if i < len(layers) and layers[i] == "ethertype":
                i += 1
        if i < len(layers):
            l3 = layers[i]
    if n_vlan > MAX_VLAN:
        fr.update(kind="malformed", reason="vlan_depth")
        return fr
    if l3 not in ("ip", "ipv6"):
        reason = malformed_reason(notes, "", "")
        if reason:
            fr.update(kind="malformed", reason=reason)
        return fr
    fr["kind"] = "ip"
    fr["vlans"] = n_vlan
    later_fragment = False
    if l3 == "ip":
        fr["version"] = 4
        fr["src"] = (occ(c["ip.src"]) or [""])[0]
        fr["dst"] = (occ(c["ip.dst"]) or [""])[0]
        fr["proto"] = int((occ(c["ip.proto"]) or ["-1"])[0])
        later_fragment = occ(c["ip.frag_offset"])[:1] not in ([], ["0"])
        i += 1
    else:
        fr["version"] = 6
        fr["src"] = (occ(c["ipv6.src"]) or [""])[0]
        fr["dst"] = (occ(c["ipv6.dst"]) or [""])[0]
        nxt = int((occ(c["ipv6.nxt"]) or ["-1"])[0])
        used = {name: 0 for name in IPV6_EXT.values()}
        i += 1
        # Follow the outer header's extension headers in order; the n-th
        # layer of a kind owns the n-th occurrence of its next-header field.
        while i < len(layers) and layers[i] in IPV6_EXT:
            field = IPV6_EXT[layers[i]]
            vals = occ(c[field])
            if used[field] < len(vals):
                nxt = int(vals[used[field]])
            if layers[i] == "ipv6.fraghdr" and used[field] == 0:
                later_fragment = occ(c["ipv6.fraghdr.offset"])[:1] not in ([], ["0"])
            used[field] += 1
            i += 1
        fr["proto"] = nxt
    l4 = layers[i] if i < len(layers) and not later_fragment else ""
    reason = malformed_reason(notes, l3, l4)
    if reason or not fr["src"]:
        fr.update(kind="malformed", reason=reason or "unknown")
        return fr
    # The first tcp/udp layer is the outer one only when it follows the
    # outer IP header directly; then it owns the first occurrence.
    if fr["proto"] == 6 and l4 == "tcp" and c["tcp.dstport"]:
        fr["tcp_dport"] = int(occ(c["tcp.dstport"])[0])
    elif fr["proto"] == 17 and l4 == "udp" and c["udp.dstport"]:
        fr["udp_dport"] = int(occ(c["udp.dstport"])[0])
    fr["later_fragment"] = later_fragment
    return fr


def parse_prefixes(prefixes):
    return [ipaddress.ip_network(p) for p in (prefixes or [])]


def in_prefixes(addr, nets):
    a = ipaddress.ip_address(addr)
    return any(a.version == n.version and a in n for n in nets)


def frames(path, tshark=None):
    """Every frame of the capture, decoded (see parse_frame)."""
    return [parse_frame(cols) for cols in tshark_lines(path, tshark)]


def _bump(table, key, src, nbytes=None):
    e = table.setdefault(key, {"packets": 0, "sources": set()})
    e["packets"] += 1
    e["sources"].add(src)
    if nbytes is not None:
        e["bytes"] = e.get("bytes", 0) + nbytes


def summarize(frs, prefixes=None, path=""):
    """Aggregate decoded frames into the per-minute figures of one feed.

    prefixes: the feed's prefixes (None = every address, like a feed of
    0.0.0.0/0 and ::/0). IP frames outside them count as 'outside'.
    """
    nets = parse_prefixes(prefixes) if prefixes else None
    minutes = {}
    total = {"frames": 0, "rx_bytes": 0, "non_ip": 0, "malformed": 0, "ip": 0,
             "packets": 0, "bytes": 0, "outside": 0, "late": 0,
             "later_fragments": 0, "malformed_reasons": {}}
    newest = None
    for fr in frs:
        m = fr["minute"]
        if newest is not None and m < newest:
            total["late"] += 1
            m = newest
        newest = m if newest is None else max(newest, m)
        mm = minutes.setdefault(m, {
            "frames": 0, "rx_bytes": 0, "non_ip": 0, "malformed": 0, "outside": 0,
            "packets": 0, "bytes": 0, "sources": set(),
            "proto": {}, "tcp_dst_port": {}, "udp_dst_port": {}})
        total["frames"] += 1
        total["rx_bytes"] += fr["cap_len"]
        mm["frames"] += 1
        mm["rx_bytes"] += fr["cap_len"]
        if fr["kind"] == "non_ip":
            total["non_ip"] += 1
            mm["non_ip"] += 1
            continue
        if fr["kind"] == "malformed":
            total["malformed"] += 1
            mm["malformed"] += 1
            r = total["malformed_reasons"]
            r[fr["reason"]] = r.get(fr["reason"], 0) + 1
            continue
        total["ip"] += 1
        if nets is not None and not in_prefixes(fr["dst"], nets):
            total["outside"] += 1
            mm["outside"] += 1
            continue
        if fr["later_fragment"]:
            total["later_fragments"] += 1
        total["packets"] += 1
        total["bytes"] += fr["cap_len"]
        src = fr["src"]
        mm["packets"] += 1
        mm["bytes"] += fr["cap_len"]
        mm["sources"].add(src)
        _bump(mm["proto"], str(fr["proto"]), src, fr["cap_len"])
        if "tcp_dport" in fr:
            _bump(mm["tcp_dst_port"], str(fr["tcp_dport"]), src)
        if "udp_dport" in fr:
            _bump(mm["udp_dst_port"], str(fr["udp_dport"]), src)
    out = {}
    all_sources = set()
    for m in sorted(minutes):
        mm = minutes[m]
        all_sources |= mm["sources"]
        mm["sources"] = len(mm["sources"])
        for dim in DIMS:
            for e in mm[dim].values():
                e["sources"] = len(e["sources"])
        out[minute_iso(m)] = mm
    total["sources"] = len(all_sources)
    total["minutes"] = len(out)
    return {"file": path, "prefixes": list(prefixes or []), "total": total,
            "minutes": out}


def analyze(path, prefixes=None, tshark=None):
    """Per-minute truth of one capture (see the module comment)."""
    return summarize(frames(path, tshark), prefixes, path)


def main(argv):
    prefixes = []
    files = []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--prefix" and args:
            prefixes.append(args.pop(0))
        elif a.startswith("-"):
            print("usage: truth.py [--prefix CIDR]... FILE...", file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print("usage: truth.py [--prefix CIDR]... FILE...", file=sys.stderr)
        return 2
    try:
        parse_prefixes(prefixes)
    except ValueError as e:
        print("truth.py: bad prefix: %s" % e, file=sys.stderr)
        return 2
    for f in files:
        try:
            res = analyze(f, prefixes or None)
        except (OSError, RuntimeError) as e:
            print("truth.py: %s" % e, file=sys.stderr)
            return 1
        json.dump(res, sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
