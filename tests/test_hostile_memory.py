# SPDX-License-Identifier: BSD-3-Clause
"""Hostile input: every pattern a sender controls keeps resident memory under
the bound the configuration implies, and every packet is counted where the
pattern says it belongs.

Four captures of PACKETS frames each over 4 minutes, built here so that the
truth is known by construction (the option-layout spray is
test_spray_memory.py's):

  sources     TCP SYNs from uniformly random sources over all of IPv4, to
              random darknet addresses
  ports       TCP SYNs and UDP datagrams to uniformly random destination
              ports 1-65535, from 1000 sources
  fragments   IPv4 UDP datagrams in fragments: first fragments (MF, offset 0,
              UDP header), later fragments at random offsets, overlapping ones
              (same id, offsets inside an earlier fragment), tiny ones (8
              bytes), and IPv6 later fragments (fragment header, offset > 0)
  malformed   one defect a frame, in turn, for each of the decoder's 17
              reasons: truncated at every layer (Ethernet, VLAN, IPv4, IPv6,
              extension header, TCP, UDP, ICMP), three VLAN tags, bad IP
              versions, IHL < 5, total length < header, TCP data offset < 5
              or past the segment, bad option lengths (0, 1, past the
              options), UDP length < 8, extension chains longer than 8

Each is replayed by its own sensor process with test_spray_memory.py's small
limits (its config()) into redis-server and JSON lines. Checked per pattern:
  - rx_packets == frames; malformed.REASON == the frames built with that
    defect (0 for the other patterns), malformed == their sum, non_ip == 0;
  - sources: packets == SYNs; the source table sampled (sources_sampling > 0
    in every minute) instead of growing;
  - ports: packets per TCP and per UDP destination port, summed over the
    minutes, equal the counts built, value by value;
  - fragments: the counter `fragments` == later fragments built, packets ==
    all fragments, UDP packets == first fragments;
  - peak resident (the sensor's "memory: peak resident" line, and VmHWM read
    from /proc while it runs) <= resident at start + workers x 2 minute
    buffers + M, with M test_spray_memory.bound_terms() over this pattern
    set's value space and full pair tables, + its FIXED_MARGIN; the bound is
    printed term by term.
"""

import os
import random
import re
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import test_spray_memory as spray  # noqa: E402

PACKETS = int(os.environ.get("DS_HOSTILE_PACKETS", "1000000"))
SPAN_S = 240
MINUTES = 4
START = 1767225600          # 2026-01-01T00:00:00Z, a minute boundary
MIB = 1 << 20

# Values a feed-minute can hold across these patterns: every TCP and UDP
# destination port and every SYN window, the capped layouts and
# fingerprints with `other`, IP protocols, ICMP and ICMPv6 types/codes, the
# signatures. No geo is configured.
VALUE_SPACE = 3 * 65536 + (spray.LIMITS["syn_option_layouts"] + 1) + \
    (spray.LIMITS["tcp_fingerprints"] + 1) + 256 + 2 * 65536 + 15

ETH = b"\x02\x00\x00\xd5\x00\x01\x02\x00\x00\xd5\x00\xfe"
DARK4 = (198 << 24) | (18 << 16)        # 198.18.0.0/15
DARK6 = bytes.fromhex("20010db800d5") + bytes(10)
VMHWM = re.compile(r"VmHWM:\s+(\d+) kB")


def ipv4(src, dst, proto, payload, frag=0, ident=0, ihl=5, version=4, totlen=None):
    opts = bytes(4 * (ihl - 5)) if ihl > 5 else b""
    tl = 20 + len(opts) + len(payload) if totlen is None else totlen
    return struct.pack("!BBHHHBBHII", version << 4 | ihl, 0, tl, ident, frag, 64, proto, 0,
                       src, dst) + opts + payload


def ipv6(nh, payload, src=bytes.fromhex("20010db8ffff") + bytes(9) + b"\x01", plen=None):
    pl = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28, pl, nh, 64) + src + DARK6[:14] + b"\x00\x01" + payload


def tcp_syn(sport, dport, opts=b"", doff=None):
    off = (20 + len(opts)) // 4 if doff is None else doff
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, off << 4, 0x02, 1024, 0, 0) + opts


def udp(sport, dport, payload=b"\x00" * 8, ulen=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if ulen is None else ulen,
                       0) + payload


def eth(l3, etype=0x0800):
    return ETH + struct.pack("!H", etype) + l3


def dark4(r):
    return DARK4 | r.getrandbits(17)


def build_sources(r, n, truth):
    for _ in range(n):
        yield eth(ipv4(r.getrandbits(32), dark4(r), 6, tcp_syn(r.randint(1024, 65535), 23)))
    truth["syn"] = n


def build_ports(r, n, truth):
    tcp, udpc = {}, {}
    for i in range(n):
        src = 0x0b000000 | r.randrange(1000)
        port = r.randint(1, 65535)
        if i % 2 == 0:
            tcp[str(port)] = tcp.get(str(port), 0) + 1
            yield eth(ipv4(src, dark4(r), 6, tcp_syn(40000, port)))
        else:
            udpc[str(port)] = udpc.get(str(port), 0) + 1
            yield eth(ipv4(src, dark4(r), 17, udp(40000, port)))
    truth["tcp_ports"], truth["udp_ports"] = tcp, udpc


def build_fragments(r, n, truth):
    first = later = 0
    for i in range(n):
        src, dst, ident = r.getrandbits(32), dark4(r), r.getrandbits(16)
        k = i % 5
        if k == 0:      # first fragment: UDP header and 24 bytes, more to come
            first += 1
            yield eth(ipv4(src, dst, 17, udp(r.randint(1, 65535), 53, bytes(24), ulen=1400),
                           frag=0x2000, ident=ident))
            continue
        later += 1
        if k == 1:      # a later fragment at a random offset, the last or not
            off = r.randint(1, 8000)
            yield eth(ipv4(src, dst, 17, bytes(64), frag=(0x2000 if r.random() < .5 else 0) | off,
                           ident=ident))
        elif k == 2:    # overlapping: starts inside a 32-byte first fragment's data
            yield eth(ipv4(src, dst, 17, bytes(48), frag=0x2000 | 2, ident=ident))
        elif k == 3:    # tiny: 8 bytes
            yield eth(ipv4(src, dst, 17, bytes(8), frag=0x2000 | r.randint(1, 8190),
                           ident=ident))
        else:           # IPv6 later fragment
            fh = struct.pack("!BBHI", 17, 0, (r.randint(1, 8000) << 3) | 1, ident)
            yield eth(ipv6(44, fh + bytes(16)), 0x86dd)
    truth["first"], truth["later"] = first, later


def malformed_frames(r):
    """(reason, frame) builders, one per reason, each a random variant."""
    s, t = r.getrandbits(32), dark4(r)

    def hbh(nh, n8):        # hop-by-hop-like extension header of (n8 + 1) * 8 bytes
        return struct.pack("!BB", nh, n8) + bytes(6 + 8 * n8)
    return [
        ("eth_trunc", lambda: (ETH + b"\x08\x00")[:r.randint(0, 13)]),
        ("vlan_trunc", lambda: ETH + b"\x81\x00" + b"\x00\x64\x08"[:r.randint(0, 3)]),
        ("vlan_depth", lambda: ETH + b"\x88\xa8\x00\xc8\x81\x00\x00\x64\x81\x00\x00\x01\x08\x00" +
         ipv4(s, t, 17, udp(1, 2))),
        ("ipv4_trunc", lambda: eth(ipv4(s, t, 17, udp(1, 2))[:r.randint(0, 19)])),
        ("ipv4_version", lambda: eth(ipv4(s, t, 17, udp(1, 2), version=r.choice((0, 5, 6, 15))))),
        ("ipv4_ihl", lambda: eth(ipv4(s, t, 17, udp(1, 2), ihl=r.randint(0, 4)))),
        ("ipv4_totlen", lambda: eth(ipv4(s, t, 17, udp(1, 2), totlen=r.randint(0, 19)))),
        ("ipv6_trunc", lambda: eth(ipv6(17, udp(1, 2))[:r.randint(0, 39)], 0x86dd)),
        ("ipv6_version", lambda: eth(b"\x40" + ipv6(17, udp(1, 2))[1:], 0x86dd)),
        ("ipv6_ext_trunc", lambda: eth(ipv6(0, hbh(17, 4)[:r.randint(0, 39)]), 0x86dd)),
        ("ipv6_ext_depth", lambda: eth(ipv6(60, b"".join(hbh(60, 0) for _ in range(8)) +
                                            hbh(17, 0) + udp(1, 2)), 0x86dd)),
        ("tcp_trunc", lambda: eth(ipv4(s, t, 6, tcp_syn(1, 80)[:r.randint(0, 19)]))),
        ("tcp_doff", lambda: eth(ipv4(s, t, 6, tcp_syn(1, 80, doff=r.choice((0, 1, 4, 6, 15)))))),
        ("tcp_opt", lambda: eth(ipv4(s, t, 6, tcp_syn(1, 80, r.choice((
            b"\x02\x00\x00\x00", b"\x03\x01\x00\x00", b"\x01\x01\x08\x0c\x00\x00\x00\x00",
            b"\x02\x04\x05\xb4\x04")) + b"\x00" * 3)))),
        ("udp_trunc", lambda: eth(ipv4(s, t, 17, udp(1, 2)[:r.randint(0, 7)]))),
        ("udp_len", lambda: eth(ipv4(s, t, 17, udp(1, 2, ulen=r.randint(0, 7))))),
        ("icmp_trunc", lambda: eth(ipv4(s, t, 1, b"\x08\x00\x00"[:r.randint(0, 3)]))),
    ]


def build_malformed(r, n, truth):
    counts = {}
    table = None
    for i in range(n):
        if i % 17 == 0:
            table = malformed_frames(r)
        reason, make = table[i % 17]
        counts[reason] = counts.get(reason, 0) + 1
        yield make()
    truth["malformed"] = counts


PATTERNS = [("sources", build_sources), ("ports", build_ports),
            ("fragments", build_fragments), ("malformed", build_malformed)]


def write_capture(path, builder, n, seed):
    """A pcap of n frames spread evenly over SPAN_S seconds; returns the truth."""
    r = random.Random(seed)
    truth = {}
    rec = struct.Struct("<IIII")
    buf = bytearray()
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(builder(r, n, truth)):
            us = i * SPAN_S * 1000000 // n
            buf += rec.pack(START + us // 1000000, us % 1000000, len(fr), len(fr))
            buf += fr
            if len(buf) > (4 << 20):
                f.write(buf)
                buf.clear()
        f.write(buf)
    return truth


class HwmSampler(threading.Thread):
    """VmHWM of the sensor's process, sampled every 50 ms while it runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.pid = None
        self.kib = 0
        self.stop = False

    def run(self):
        while not self.stop:
            if self.pid:
                try:
                    with open("/proc/%d/status" % self.pid) as f:
                        m = VMHWM.search(f.read())
                    if m:
                        self.kib = max(self.kib, int(m.group(1)))
                except OSError:
                    pass
            time.sleep(0.05)


def case_bad_arguments(checks):
    """The sensor refuses a capture that is not a pcap file (exit != 0), and a
    limit the tables cannot take (exit 2, naming the key)."""
    work = d.tmpdir("hostilebad")
    bad = os.path.join(work, "not-a.pcap")
    with open(bad, "wb") as f:
        f.write(b"\x00" * 100)
    r = d.run_darkscope(spray.config(None), ["--replay", bad], timeout=60, quiet=True)
    checks.ok(r.rc not in (0, None), "bad arguments: replay of a file that is not a pcap: "
              "exit %s (want != 0)" % r.rc)
    path = d.write_config(d.config_text(None, redis_enabled=False) +
                          "limits: {source_pairs: 1000}\n", work)
    p = subprocess.run([d.darkscope_bin(), "--check-config", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode(errors="replace")
    checks.ok(p.returncode == 2 and "limits.source_pairs" in err,
              "bad arguments: limits.source_pairs: 1000: exit %s (want 2), names the key: %s" % (
                  p.returncode, "limits.source_pairs" in err))


def run_pattern(checks, name, builder, seed, work):
    pcap = os.path.join(work, "%s.pcap" % name)
    t0 = time.monotonic()
    truth = write_capture(pcap, builder, PACKETS, seed)
    d.log("---- %s: %d frames, %.1f MB, built in %.1f s" % (
        name, PACKETS, os.path.getsize(pcap) / 1e6, time.monotonic() - t0))
    server = d.RedisServer("hostile").start()
    jl = os.path.join(work, "%s.jsonl" % name)
    sampler = HwmSampler()
    sampler.start()
    bg = d.Background(spray.config(server.sock), ["--replay", pcap, "--jsonl", jl])
    sampler.pid = bg.proc.pid
    res = bg.wait(900)
    sampler.stop = True
    sampler.join()
    server.stop()
    os.unlink(pcap)
    checks.eq("%s: exit code" % name, res.rc, 0)
    lines = d.read_jsonl(jl) if os.path.exists(jl) else []
    feed = [ln for ln in lines if ln["feed"] == "all"]
    mal = truth.get("malformed", {})
    checks.eq("%s: counters rx_packets summed vs frames" % name,
              d.sum_counter(lines, "rx_packets"), PACKETS)
    got = {k: d.sum_counter(lines, "malformed." + k) for k in d.MALFORMED_REASONS}
    want = {k: mal.get(k, 0) for k in d.MALFORMED_REASONS}
    bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    checks.ok(not bad, "%s: malformed.REASON summed == frames built with that defect, all 17 "
              "reasons (%d malformed); differing: %s" % (name, sum(want.values()), bad))
    checks.eq("%s: counters malformed summed" % name, d.sum_counter(lines, "malformed"),
              sum(want.values()))
    checks.eq("%s: counters non_ip summed" % name, d.sum_counter(lines, "non_ip"), 0)
    packets = d.sum_field(feed, "packets")
    if name == "sources":
        checks.eq("%s: packets summed vs SYNs" % name, packets, truth["syn"])
        k = [ln.get("sources_sampling") or 0 for ln in feed]
        checks.ok(len(k) == MINUTES and min(k) > 0,
                  "%s: every one of %d minutes sampled its sources: sources_sampling %s" % (
                      name, MINUTES, k))
    elif name == "ports":
        checks.eq("%s: packets summed" % name, packets, PACKETS)
        for dim, key in (("tcp_dst_port", "tcp_ports"), ("udp_dst_port", "udp_ports")):
            got = {}
            for ln in feed:
                for label, e in (ln["dims"].get(dim) or {}).items():
                    got[label] = got.get(label, 0) + d._num(e["packets"])
            diff = [p for p in set(got) | set(truth[key]) if got.get(p) != truth[key].get(p)]
            checks.ok(not diff, "%s: %s: %d values, %d packets; values whose packets differ "
                      "from those built: %d %s" % (name, dim, len(got), sum(got.values()),
                                                  len(diff), diff[:5]))
    elif name == "fragments":
        checks.eq("%s: counters fragments summed vs later fragments built" % name,
                  d.sum_counter(lines, "fragments"), truth["later"])
        checks.eq("%s: packets summed vs every fragment" % name, packets, PACKETS)
        udp_pk = sum(d._num(e["packets"]) for ln in feed
                     for e in (ln["dims"].get("udp_dst_port") or {}).values())
        checks.eq("%s: UDP port packets vs first fragments" % name, udp_pk, truth["first"])
    else:
        checks.eq("%s: packets summed (none decodable)" % name, packets, 0)
    start, peak = spray.MEM_START.search(res.err), spray.MEM_PEAK.search(res.err)
    if not (start and peak):
        checks.ok(False, "%s: the sensor logged its memory lines" % name)
        return
    workers, nbuf, x, y = int(start.group(1)), int(start.group(2)), float(start.group(3)), \
        float(start.group(4))
    z = float(peak.group(1))
    hwm = sampler.kib / 1024.0
    terms = spray.bound_terms(VALUE_SPACE, workers * spray.LIMITS["source_pairs"], MINUTES)
    margin = (sum(t for _, t in terms) + spray.FIXED_MARGIN) / MIB
    bound = y + workers * nbuf * x + margin
    d.log("     %s: replay %.1f s; resident at start %.1f MiB, %d worker(s) x %d buffers of "
          "%.1f MiB, margin %.1f MiB (%s; fixed %.0f MiB): bound %.1f MiB" % (
              name, res.elapsed, y, workers, nbuf, x, margin,
              "; ".join("%s %.1f" % (w.split(":")[0], v / float(MIB)) for w, v in terms),
              spray.FIXED_MARGIN / MIB, bound))
    checks.ok(z <= bound and hwm <= bound,
              "%s: peak resident %.1f MiB (sensor) / VmHWM sampled %.1f MiB <= bound %.1f MiB" % (
                  name, z, hwm, bound))


def main():
    d.darkscope_bin()
    d.redis_server_bin()
    checks = d.Checks()
    case_bad_arguments(checks)
    work = d.tmpdir("hostile")
    for i, (name, builder) in enumerate(PATTERNS):
        run_pattern(checks, name, builder, 7001 + i, work)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
