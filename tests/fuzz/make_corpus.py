#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the seed corpus of every fuzz target into OUTDIR/<target>/.

    python3 tests/fuzz/make_corpus.py OUTDIR [--packets N] [--lines N]

Seeds are made at run time, never stored in the repository:
  decode       one file per Ethernet frame: the first N packets (default 200)
               of every capture in $DS_SHARED_DATA/pcap (classic pcap, micro-
               or nanosecond, either byte order), plus a few frames built here
               for what the captures lack (VLAN tags, IPv4 options and
               fragments, IPv6 extension headers, ICMPv6)
  config       config/*.yaml and the YAML texts written inline in
               tests/test_config.c and tests/test_sig.c
  watch        the `watch:` sections of those files, as the target expects
               them (what follows "watch:")
  geo_*        slices of N lines (default 200; the start and the middle) of
               the files in $DS_SHARED_DATA/geo, each with an options byte
               (plain, gzip, derive; see tests/fuzz/fuzz_geo.c); the
               pfx2as_gz target gets gzip files, whole and cut short
  every target also gets tests/fuzz/seeds/<target>/* (small hand-written
  seeds, e.g. MaxMind files, of which no public copy is in the shared data,
  and regression inputs of bugs the fuzzers found).

$DS_SHARED_DATA defaults to <source>/../shared/data; when it is absent only
the repository's seeds are written. Prints one line per target with the
number of seeds. Standard library only.
"""

import argparse
import gzip
import os
import re
import struct
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

GEO_TARGETS = {
    # target: (files in shared/data/geo, True when the first line is a header to keep)
    "geo_pfx2as": (["routeviews-rv2-20240406.pfx2as.gz"], False),
    "geo_iploc_asn": (["asn-ipv4.csv", "asn-ipv4-num.csv"], False),
    "geo_iploc_country": (["asn-country-ipv4.csv", "asn-country-ipv4-num.csv"], False),
    "geo_rir": (["delegated-afrinic-extended-20230323", "delegated-apnic-extended-20160131",
                 "delegated-lacnic-extended-20230323"], True),
}
TARGETS = ["decode", "config", "watch", "geo_pfx2as", "geo_pfx2as_gz", "geo_iploc_asn",
           "geo_iploc_country", "geo_rir", "geo_maxmind_asn", "geo_maxmind_country"]

# fuzz_geo.c options byte
OPT_GZIP = 0x01
OPT_DERIVE = 0x10


class Corpus:
    def __init__(self, root):
        self.root = root
        self.count = {}

    def add(self, target, data, name=None):
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        n = self.count.get(target, 0)
        self.count[target] = n + 1
        with open(os.path.join(d, name or "seed-%05d" % n), "wb") as f:
            f.write(data)


# ---------------------------------------------------------------------------------------------
# Packets

def pcap_frames(path, limit):
    """The first `limit` frames of a classic pcap file (bytes as captured)."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return []
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            return []  # pcapng or not a capture: not ours to seed from
        frames = []
        while len(frames) < limit:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = struct.unpack(endian + "IIII", rec)[2]
            data = f.read(incl)
            if len(data) < incl:
                break
            frames.append(data)
        return frames


def eth(ethertype, payload, vlans=()):
    h = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    for tpid, vid in vlans:
        h += struct.pack(">HH", tpid, vid)
    return h + struct.pack(">H", ethertype) + payload


def ipv4(proto, l4, opts=b"", frag=0, ttl=64, ident=1, src=b"\xcb\x00\x71\x07",
         dst=b"\xc6\x12\x00\x17"):
    ihl = 5 + len(opts) // 4
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(l4), ident, frag, ttl,
                       proto, 0, src, dst) + opts + l4


def ipv6(nxt, rest):
    src = bytes.fromhex("20010db8000000000000000000000001")
    dst = bytes.fromhex("20010db800d500000000000000000002")
    return struct.pack(">IHBB", 0x60000000, len(rest), nxt, 64) + src + dst + rest


def tcp(flags=0x02, opts=b"", sport=40000, dport=23, seq=0xc6120017, window=5656):
    doff = 5 + len(opts) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, doff << 4, flags, window, 0,
                       0) + opts


def built_frames():
    """Frames for layers the public captures do not show."""
    # MSS, NOP, WS, SACK permitted, NOP, NOP, then EOL and its padding
    syn_opts = bytes.fromhex("020405b40103030704020101") + bytes(8)
    udp = struct.pack(">HHHH", 53, 3702, 11, 0) + b"abc"
    return [
        eth(0x8100, b""),                                                 # VLAN cut short
        eth(0x0800, ipv4(6, tcp(opts=syn_opts)), [(0x8100, 100)]),
        eth(0x0800, ipv4(17, udp), [(0x88a8, 10), (0x8100, 20)]),
        eth(0x0800, ipv4(6, tcp(), opts=b"\x94\x04\x00\x00")),           # router alert
        eth(0x0800, ipv4(6, tcp(), frag=0x2000)),                         # first fragment
        eth(0x0800, ipv4(6, b"\x00" * 16, frag=0x0010)),                  # later fragment
        eth(0x0800, ipv4(1, b"\x0b\x00\x00\x00\x00\x00\x00\x00", ttl=250)),
        eth(0x86dd, ipv6(6, tcp(opts=bytes.fromhex("020405a0")))),
        eth(0x86dd, ipv6(0, b"\x3a\x00\x01\x04\x00\x00\x00\x00" +        # hop-by-hop, ICMPv6
                         b"\x80\x00\x00\x00\x00\x01\x00\x01")),
        eth(0x86dd, ipv6(44, b"\x11\x00\x00\x01\x00\x00\x00\x07" + udp)),  # fragment header
        eth(0x0806, bytes(28)),                                           # ARP: not IP
    ]


def seed_packets(c, shared, limit):
    pdir = os.path.join(shared, "pcap")
    if os.path.isdir(pdir):
        for name in sorted(os.listdir(pdir)):
            for fr in pcap_frames(os.path.join(pdir, name), limit):
                c.add("decode", fr)
    for fr in built_frames():
        c.add("decode", fr)


# ---------------------------------------------------------------------------------------------
# YAML

C_STRING = r'"(?:[^"\\\n]|\\.)*"'


def c_unescape(lit):
    """The bytes of a C string literal (the escapes the tests use)."""
    body = lit[1:-1]
    return re.sub(r'\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)', lambda m: _esc(m.group(1)),
                  body).encode("latin-1", "replace")


def _esc(e):
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "0": "\0"}
    if e in simple:
        return simple[e]
    if e[0] == "x":
        return chr(int(e[1:], 16))
    if e[0] in "01234567":
        return chr(int(e, 8))
    return e


def inline_yaml(path):
    """YAML texts written as runs of adjacent C string literals (and macros) in a test."""
    text = open(path, encoding="utf-8", errors="replace").read()
    text = text.replace("\\\n", " ")
    macros = {}
    for m in re.finditer(r'#define\s+(\w+)\s+((?:%s\s*)+)' % C_STRING, text):
        macros[m.group(1)] = b"".join(c_unescape(s) for s in re.findall(C_STRING, m.group(2)))
    item = r'(?:%s|\b(?:%s)\b)' % (C_STRING, "|".join(map(re.escape, macros)) or "(?!)")
    out = []
    for m in re.finditer(r'%s(?:\s*%s)*' % (item, item), text):
        parts = re.findall(item, m.group(0))
        data = b"".join(c_unescape(p) if p.startswith('"') else macros[p] for p in parts)
        if b":" in data and b"\n" in data and len(data) > 12:
            out.append(data)
    return out


def watch_section(yaml_text):
    """What follows a top-level "watch:" up to the next top-level key, or None."""
    m = re.search(rb"(?m)^watch:", yaml_text)
    if m is None:
        return None
    rest = yaml_text[m.end():]
    end = re.search(rb"(?m)^[A-Za-z_]", rest)
    return rest[:end.start()] if end else rest


def seed_yaml(c):
    texts = []
    cdir = os.path.join(SRC, "config")
    for name in sorted(os.listdir(cdir)):
        if name.endswith(".yaml"):
            texts.append(open(os.path.join(cdir, name), "rb").read())
    for t in ("test_config.c", "test_sig.c"):
        p = os.path.join(SRC, "tests", t)
        if os.path.exists(p):
            texts.extend(inline_yaml(p))
    seen = set()
    for t in texts:
        if t in seen:
            continue
        seen.add(t)
        c.add("config", t)
        w = watch_section(t)
        if w is not None and w.strip():
            c.add("watch", w)


# ---------------------------------------------------------------------------------------------
# Geo

def read_lines(path, start, n):
    """Lines [start, start + n) of a plain or gzip file; start < 0: from the middle."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        if start < 0 and not path.endswith(".gz"):
            f.seek(os.path.getsize(path) // 2)
            f.readline()  # to a line start
            start = 0
        elif start < 0:
            start = 400000  # about the middle of the RouteViews table
        out = []
        for i, line in enumerate(f):
            if i >= start:
                out.append(line)
                if len(out) == n:
                    break
        return b"".join(out)


def rir_header(path):
    with open(path, "rb") as f:
        for line in f:
            if not line.startswith(b"#"):
                return line
    return b""


def seed_geo(c, shared, nlines):
    gdir = os.path.join(shared, "geo")
    if not os.path.isdir(gdir):
        return
    for target, (files, rir) in GEO_TARGETS.items():
        for name in files:
            p = os.path.join(gdir, name)
            if not os.path.exists(p):
                continue
            head = read_lines(p, 0, nlines)
            mid = read_lines(p, -1, nlines)
            if rir:
                mid = rir_header(p) + mid
            for data in (head, mid):
                c.add(target, bytes([OPT_DERIVE]) + data)
            c.add(target, bytes([OPT_GZIP | OPT_DERIVE]) + head[:4000])
            c.add(target, bytes([0x02 << 1]) + mid[:4000])  # provides: prefix_country only
            if target == "geo_pfx2as":
                gz = gzip.compress(head, mtime=0)
                c.add("geo_pfx2as_gz", gz)
                c.add("geo_pfx2as_gz", gzip.compress(mid, mtime=0))
                c.add("geo_pfx2as_gz", gz[:len(gz) // 2])      # cut short
                c.add("geo_pfx2as_gz", gz[:-4] + b"\x00\x00\x00\x00")  # wrong length


def seed_repo(c):
    """tests/fuzz/seeds/<target>/*: as they are, except that the geo targets' text files
    (*.csv, *.txt) get the options byte (plain, derive), and maxmind-country's
    NAME.blocks.csv and NAME.locations.csv are joined into one input."""
    sdir = os.path.join(SRC, "tests", "fuzz", "seeds")
    for target in TARGETS:
        d = os.path.join(sdir, target)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            if name.endswith(".locations.csv"):
                continue
            if name.endswith(".blocks.csv") and target == "geo_maxmind_country":
                loc = os.path.join(d, name[:-len(".blocks.csv")] + ".locations.csv")
                with open(loc, "rb") as f:
                    data += b"\0" + f.read()
            if target.startswith("geo_") and target != "geo_pfx2as_gz" and \
                    name.endswith((".csv", ".txt")):
                c.add(target, bytes([OPT_DERIVE]) + data, "repo-" + name)
                c.add(target, bytes([OPT_GZIP]) + data, "repo-gz-" + name)
            else:
                c.add(target, data, "repo-" + name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--packets", type=int, default=200, help="frames per capture")
    ap.add_argument("--lines", type=int, default=200, help="lines per geo slice")
    a = ap.parse_args()
    shared = os.environ.get("DS_SHARED_DATA") or os.path.join(SRC, "..", "shared", "data")
    c = Corpus(a.outdir)
    seed_packets(c, shared, a.packets)
    seed_yaml(c)
    seed_geo(c, shared, a.lines)
    seed_repo(c)
    for t in TARGETS:
        os.makedirs(os.path.join(a.outdir, t), exist_ok=True)
        print("%-20s %6d seeds" % (t, c.count.get(t, 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
