# SPDX-License-Identifier: BSD-3-Clause
"""Independent reference for darkscope's source address -> (AS, country, home).

The system tests judge the sensor's src_asn, src_country and src_home
histograms with this module, so it shares no code and no data structure with
lib/geo: it reads the same public files with its own parsing (Python's csv
and gzip modules) and answers from the rules of docs/GEO.md and
docs/CONFIG.md (geo section), written down here independently:

  bogon    special-purpose source space (BOGONS4 / BOGONS6 below, written
           from the IANA special-purpose address registries, RFC 6890 and
           its successors, plus multicast): AS "bogon", country "bogon",
           home "unknown", whatever the files say
  one file the smallest range that contains the address gives its value
           (the first listed among equal ranges); for prefix data that is
           longest-prefix match, done here with one dict per prefix length
           (network -> value); range data (ip-location-db, RIR records) is
           flattened into disjoint ranges by that rule and bisected
  layering per kind of data, the first source in geo.sources order that
           covers the address gives the value
  AS       the first number of the origin list ("24151_24409" -> 24151);
           not covered: "unrouted" (AS 0, "no origin", is labelled
           "unrouted" too)
  country  country_source prefix: the layered prefix_country value
           ("unrouted" when no file covers the address, "unknown" for ZZ);
           country_source asn: the AS's registry country (asn_country data,
           first source and first line win), else with derive_asn_country the
           country holding most of the AS's addresses in the layered
           prefix_country data (ties: the alphabetically first code), else
           "unknown"; an address without AS: "unrouted"
  home     "domestic" when the country is home_country, "overseas" for any
           other real country, "unknown" for bogon/unrouted/unknown; absent
           when home_country is unset
  IPv6     bogon space as above, every other source "unknown" (no IPv6 data)

The derivation is computed by a method of its own: each source is flattened
into disjoint intervals by painting its ranges from the largest to the
smallest over the pieces cut at every range boundary, the sources are
layered by subtracting what the layers above cover, and the AS map is swept
against the country map, adding up addresses per (AS, country). The point
lookups of prefix data use the per-length dicts instead, and selfcheck()
compares the two methods on sample addresses.

Performance: loading the full RouteViews table (1 M prefixes) takes a few
seconds; a lookup is at most one dict probe per prefix length present.

CLI:  python3 tests/georef.py [--country-source asn|prefix] [--home CC]
          [--no-derive] --source FORMAT:PATH[:provides,...]... ADDRESS...
"""

import bisect
import csv
import gzip
import io
import ipaddress
import re
import sys

BOGON = "bogon"
UNROUTED = "unrouted"
UNKNOWN = "unknown"

FORMATS = {
    "caida-pfx2as": ("prefix_asn",),
    "ip-location-db-asn": ("prefix_asn",),
    "ip-location-db-country": ("prefix_country",),
    "rir-delegated": ("prefix_country", "asn_country"),
}

# IANA IPv4 Special-Purpose Address Registry, the entries that are not
# globally reachable (RFC 6890, 6598, 7335, 8155, 7526 ...), plus multicast
# (RFC 5771), which is never a unicast source. 192.0.0.0/24 is taken as the
# registry's block entry says (not globally reachable) although two anycast
# /32s inside it are; the deprecated 6to4 relay anycast block is kept.
BOGONS4 = [
    "0.0.0.0/8",            # "this network" (and 0.0.0.0/32)
    "10.0.0.0/8",           # private use
    "100.64.0.0/10",        # shared address space
    "127.0.0.0/8",          # loopback
    "169.254.0.0/16",       # link local
    "172.16.0.0/12",        # private use
    "192.0.0.0/24",         # IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
    "192.0.2.0/24",         # documentation TEST-NET-1
    "192.88.99.0/24",       # deprecated 6to4 relay anycast (RFC 7526)
    "192.168.0.0/16",       # private use
    "198.18.0.0/15",        # benchmarking
    "198.51.100.0/24",      # documentation TEST-NET-2
    "203.0.113.0/24",       # documentation TEST-NET-3
    "224.0.0.0/4",          # multicast
    "240.0.0.0/4",          # reserved, with 255.255.255.255/32 limited broadcast
]

# IANA IPv6 Special-Purpose Address Registry, not globally reachable, plus
# multicast. 2001::/23 is taken whole like 192.0.0.0/24 above.
BOGONS6 = [
    "::/128",               # unspecified
    "::1/128",              # loopback
    "::ffff:0:0/96",        # IPv4-mapped
    "64:ff9b:1::/48",       # local-use IPv4/IPv6 translation
    "100::/64",             # discard-only
    "2001::/23",            # IETF protocol assignments
    "2001:db8::/32",        # documentation
    "3fff::/20",            # documentation (RFC 9637)
    "5f00::/16",            # SRv6 SIDs (RFC 9602)
    "fc00::/7",             # unique local
    "fe80::/10",            # link-local unicast
    "ff00::/8",             # multicast
]

_BOGONS4 = sorted((int(n.network_address), int(n.broadcast_address))
                  for n in map(ipaddress.IPv4Network, BOGONS4))
_BOGONS6 = [ipaddress.IPv6Network(n) for n in BOGONS6]
_BOGON4_FIRSTS = [f for f, _ in _BOGONS4]


def is_bogon4(a):
    i = bisect.bisect_right(_BOGON4_FIRSTS, a) - 1
    return i >= 0 and a <= _BOGONS4[i][1]


def is_bogon6(addr):
    a = ipaddress.IPv6Address(addr)
    return any(a in n for n in _BOGONS6)


# ---------------------------------------------------------------------------
# Reading the files

def open_text(path):
    """A text stream of the file, through gzip when it starts with gzip's magic."""
    with open(path, "rb") as f:
        magic = f.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def dotted(s):
    parts = s.split(".")
    if len(parts) != 4:
        raise ValueError("not a dotted quad: %r" % s)
    v = 0
    for p in parts:
        n = int(p)
        if not 0 <= n <= 255:
            raise ValueError("not a dotted quad: %r" % s)
        v = v << 8 | n
    return v


def address(s):
    """ip-location-db: dotted quad or a plain number."""
    return int(s) if s.isdigit() else dotted(s)


class PrefixData:
    """Prefix data: one dict per prefix length, network -> value."""

    def __init__(self):
        self.by_len = {}
        self.count = 0

    def add(self, net, length, value):
        d = self.by_len.setdefault(length, {})
        self.count += 1
        if net not in d:                # the first line of a duplicate prefix wins
            d[net] = value

    def finish(self):
        self.lengths = sorted(self.by_len, reverse=True)
        self.masks = [(length, self.by_len[length], (0xffffffff << (32 - length)) & 0xffffffff)
                      for length in self.lengths]

    def lookup(self, a):
        for _length, d, mask in self.masks:
            v = d.get(a & mask)
            if v is not None:
                return v
        return None

    def ranges(self):
        """(first, last, value, position) of every kept prefix."""
        out = []
        pos = 0
        for length, d in self.by_len.items():
            size = 1 << (32 - length)
            for net, v in d.items():
                out.append((net, net + size - 1, v, pos))
                pos += 1
        return out


class RangeData:
    """Range data, flattened by the smallest-range rule (flatten()) and looked up
    by bisection. ip-location-db's ranges are disjoint but for one pair that
    overlaps without nesting (in asn-ipv4*.csv)."""

    def __init__(self):
        self.items = []

    def add(self, first, last, value):
        if last < first:
            raise ValueError("range ends before it starts: %d-%d" % (first, last))
        self.items.append((first, last, value, len(self.items)))

    def finish(self):
        self.overlaps = 0
        end = -1
        for f, l, _, _ in sorted(self.items):
            if f <= end:
                self.overlaps += 1
            end = max(end, l)
        self.flat = flatten(self.items)
        self.firsts = [r[0] for r in self.flat]

    def lookup(self, a):
        i = bisect.bisect_right(self.firsts, a) - 1
        if i >= 0 and a <= self.flat[i][1]:
            return self.flat[i][2]
        return None

    def ranges(self):
        return list(self.items)


def read_pfx2as(path):
    asn = PrefixData()
    with open_text(path) as f:
        for line in f:
            cols = line.split()
            if not cols:
                continue
            if len(cols) != 3:
                raise ValueError("%s: bad line %r" % (path, line[:80]))
            if ":" in cols[0]:
                continue
            length = int(cols[1])
            net = dotted(cols[0])
            # "209_3356,6223": MOAS and AS sets; the first number counts.
            asn.add(net, length, int(re.split(r"[_,]", cols[2])[0]))
    asn.finish()
    return asn


def read_iploc(path, kind):
    data = RangeData()
    with open_text(path) as f:
        for row in csv.reader(f):
            if not row:
                continue
            if ":" in row[0] or ":" in row[1]:
                continue
            first, last = address(row[0]), address(row[1])
            if kind == "asn":
                data.add(first, last, int(row[2]))
            else:
                cc = row[2].upper()
                data.add(first, last, UNKNOWN if cc == "ZZ" else cc)
    data.finish()
    return data


def read_rir(path, want_prefix, want_asn):
    """rir-delegated: (RangeData of ipv4 records or None, [(asn, cc)] in file order)."""
    ranges = RangeData() if want_prefix else None
    asn_cc = []
    seen_version = False
    with open_text(path) as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("|")
            if not seen_version:
                seen_version = True         # version|registry|serial|records|...
                continue
            if len(cols) >= 6 and cols[1] == "*" and cols[5] == "summary":
                continue
            cc, typ, start, value, status = cols[1], cols[2], cols[3], cols[4], cols[6]
            if typ == "ipv6" or status in ("available", "reserved"):
                continue
            if cc in ("", "ZZ"):
                continue
            cc = cc.upper()
            if typ == "asn" and want_asn:
                first = int(start)
                for a in range(first, first + int(value)):
                    asn_cc.append((a, cc))
            elif typ == "ipv4" and want_prefix:
                first = dotted(start)
                ranges.add(first, first + int(value) - 1, cc)
    if ranges is not None:
        ranges.finish()
    return ranges, asn_cc


# ---------------------------------------------------------------------------
# Whole-space maps, for the derivation

def flatten(ranges):
    """Disjoint sorted (first, last, value) where each address carries the value
    of the smallest range containing it (the first listed among equal ranges).
    ranges: (first, last, value, position), nested, overlapping or not.

    Paint by size: cut the space at every range boundary, then paint the
    ranges from the largest to the smallest (among equal sizes, the last
    listed first), each over the pieces it spans; what is painted last, the
    smallest range, stays."""
    bounds = sorted({r[0] for r in ranges} | {r[1] + 1 for r in ranges})
    index = {b: i for i, b in enumerate(bounds)}
    vals = [None] * len(bounds)
    for f, l, v, _pos in sorted(ranges, key=lambda r: (r[0] - r[1], -r[3])):
        i, j = index[f], index[l + 1]
        vals[i:j] = [v] * (j - i)
    out = []
    for k in range(len(bounds) - 1):
        v = vals[k]
        if v is None:
            continue
        if out and out[-1][2] == v and out[-1][1] + 1 == bounds[k]:
            out[-1] = (out[-1][0], bounds[k + 1] - 1, v)
        else:
            out.append((bounds[k], bounds[k + 1] - 1, v))
    return out


def overlay(upper, lower):
    """upper, then the parts of lower that upper leaves uncovered (both sorted, disjoint)."""
    pieces = []
    i = 0
    n = len(upper)
    for lf, ll, v in lower:
        while i < n and upper[i][1] < lf:
            i += 1
        s = lf
        k = i
        while k < n and upper[k][0] <= ll:
            if upper[k][0] > s:
                pieces.append((s, upper[k][0] - 1, v))
            s = max(s, upper[k][1] + 1)
            k += 1
        if s <= ll:
            pieces.append((s, ll, v))
    return sorted(upper + pieces)


def address_shares(as_map, cc_map):
    """{(AS, country): addresses} over the intersection of two disjoint sorted maps,
    real countries and ASes only."""
    shares = {}
    i = j = 0
    while i < len(as_map) and j < len(cc_map):
        af, al, av = as_map[i]
        cf, cl, cv = cc_map[j]
        lo, hi = max(af, cf), min(al, cl)
        if lo <= hi and av != BOGON and len(cv) == 2:
            shares[(av, cv)] = shares.get((av, cv), 0) + hi - lo + 1
        if al < cl:
            i += 1
        else:
            j += 1
    return shares


# ---------------------------------------------------------------------------
# The reference

class Source:
    def __init__(self, fmt, path, provides=None):
        if fmt not in FORMATS:
            raise ValueError("unknown or unsupported format %r (have %s)" % (
                fmt, ", ".join(sorted(FORMATS))))
        provides = tuple(provides or FORMATS[fmt])
        bad = [p for p in provides if p not in FORMATS[fmt]]
        if bad or not provides:
            raise ValueError("%s cannot provide %s" % (fmt, bad or "nothing"))
        self.fmt, self.path, self.provides = fmt, path, provides
        self.prefix_asn = self.prefix_cc = None
        self.asn_cc = []
        if fmt == "caida-pfx2as":
            self.prefix_asn = read_pfx2as(path)
        elif fmt == "ip-location-db-asn":
            self.prefix_asn = read_iploc(path, "asn")
        elif fmt == "ip-location-db-country":
            self.prefix_cc = read_iploc(path, "cc")
        else:
            self.prefix_cc, self.asn_cc = read_rir(path, "prefix_country" in provides,
                                                   "asn_country" in provides)

    def __repr__(self):
        return "%s %s" % (self.fmt, self.path)


class GeoRef:
    """sources: [(format, path)] or [(format, path, provides)], in precedence order."""

    def __init__(self, sources, country_source="asn", home_country="",
                 derive_asn_country=True):
        if country_source not in ("asn", "prefix"):
            raise ValueError("country_source must be asn or prefix, got %r" % country_source)
        if home_country and not re.fullmatch(r"[A-Z]{2}", home_country):
            raise ValueError("home_country must be two letters A-Z, got %r" % home_country)
        self.sources = [s if isinstance(s, Source) else Source(*s) for s in sources]
        self.country_source = country_source
        self.home = home_country or None
        self.asn_layers = [s.prefix_asn for s in self.sources if s.prefix_asn is not None]
        self.cc_layers = [s.prefix_cc for s in self.sources if s.prefix_cc is not None]
        self.registry = {}
        for s in self.sources:
            for a, cc in s.asn_cc:
                self.registry.setdefault(a, cc)
        self.derived = {}
        # No AS data at all: a miss is "unknown", not "unrouted".
        self.has_asn = any((layer.count if isinstance(layer, PrefixData) else
                            len(layer.items)) for layer in self.asn_layers)
        if country_source == "asn" and derive_asn_country:
            self.derive()

    # Layered point lookups.
    def asn_of(self, a):
        for layer in self.asn_layers:
            v = layer.lookup(a)
            if v is not None:
                return v
        return None

    def cc_of(self, a):
        for layer in self.cc_layers:
            v = layer.lookup(a)
            if v is not None:
                return v
        return None

    def layered_map(self, layers):
        cur = [(f, l, BOGON) for f, l in _BOGONS4]
        for layer in layers:
            cur = overlay(cur, flatten(layer.ranges()))
        return cur

    def derive(self):
        """Country of each AS without a registry country: most addresses wins."""
        self.as_map = self.layered_map(self.asn_layers)
        self.cc_map = self.layered_map(self.cc_layers)
        best = {}
        for (asn, cc), n in address_shares(self.as_map, self.cc_map).items():
            if asn in self.registry:
                continue
            b = best.get(asn)
            if b is None or n > b[0] or (n == b[0] and cc < b[1]):
                best[asn] = (n, cc)
        self.derived = {asn: cc for asn, (_, cc) in best.items()}

    def home_of(self, cc):
        if self.home is None:
            return None
        if len(cc) != 2:
            return UNKNOWN
        return "domestic" if cc == self.home else "overseas"

    def lookup4(self, a):
        """(AS label, country label, home label or None) of an IPv4 source (int)."""
        if is_bogon4(a):
            return BOGON, BOGON, self.home_of(BOGON)
        asn = self.asn_of(a)
        miss = UNROUTED if self.has_asn else UNKNOWN
        if asn is None:
            as_label = miss
        else:
            as_label = UNROUTED if asn == 0 else str(asn)
        if self.country_source == "prefix":
            cc = self.cc_of(a)
            if cc is None:
                cc = UNROUTED
        elif asn is None:
            cc = miss
        else:
            cc = self.registry.get(asn) or self.derived.get(asn) or UNKNOWN
        return as_label, cc, self.home_of(cc)

    def lookup(self, addr):
        """(AS, country, home) of a source address written as text (IPv4 or IPv6)."""
        if ":" in addr:
            if is_bogon6(addr):
                return BOGON, BOGON, self.home_of(BOGON)
            return UNKNOWN, UNKNOWN, self.home_of(UNKNOWN)
        return self.lookup4(dotted(addr))

    def selfcheck(self, addresses):
        """Differences between the per-length dict lookups and the flattened,
        layered maps of derive() for the given IPv4 addresses (ints); empty
        when they agree. Needs derive() to have run."""
        out = []
        for name, layers, m in (("asn", self.asn_layers, self.as_map),
                                ("country", self.cc_layers, self.cc_map)):
            firsts = [r[0] for r in m]
            for a in addresses:
                i = bisect.bisect_right(firsts, a) - 1
                flat = m[i][2] if i >= 0 and a <= m[i][1] else None
                point = BOGON if is_bogon4(a) else (
                    self.asn_of(a) if name == "asn" else self.cc_of(a))
                if flat != point:
                    out.append((name, str(ipaddress.IPv4Address(a)), point, flat))
        return out


def main(argv):
    srcs = []
    cs = "asn"
    home = ""
    derive = True
    addrs = []
    args = list(argv)
    try:
        while args:
            a = args.pop(0)
            if a == "--source":
                parts = args.pop(0).split(":")
                srcs.append((parts[0], parts[1], parts[2].split(",") if len(parts) > 2
                             else None))
            elif a == "--country-source":
                cs = args.pop(0)
            elif a == "--home":
                home = args.pop(0)
            elif a == "--no-derive":
                derive = False
            elif a.startswith("-"):
                raise ValueError("unknown option %s" % a)
            else:
                addrs.append(a)
        ref = GeoRef(srcs, cs, home, derive)
    except (ValueError, IndexError, OSError) as e:
        print("georef.py: %s" % e, file=sys.stderr)
        print("usage: georef.py [--country-source asn|prefix] [--home CC] [--no-derive] "
              "--source FORMAT:PATH[:provides,...]... ADDRESS...", file=sys.stderr)
        return 2
    for a in addrs:
        print("%s\t%s" % (a, "\t".join(str(x) for x in ref.lookup(a))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
