# SPDX-License-Identifier: BSD-3-Clause
"""After a run every mbuf is back in its pool.

At teardown darkscope stops and closes its ports (the PMD then gives back
what its rx rings held) and counts, pool by pool, the mbufs still in use
(main.c, check_mbufs()). It logs "mbufs all returned", or one ERR line per
pool "mempool NAME: N mbufs in use at exit (0 expected)". A lost mbuf is a
packet path that forgot rte_pktmbuf_free() (a drop, an early return on a
malformed header, the tail segments of a chained frame); it would starve
the ports in a long run.

Cases, each a replay with --no-redis and --jsonl:
 1. Bad arguments: a missing capture and --replay without a file are refused
    (exit 2) before any port exists, and no mbuf line is printed.
 2. A hostile capture written here: truncated and malformed Ethernet, VLAN,
    IPv4, IPv6, TCP, UDP and ICMP headers, fragments, frames of 0 and 1 byte,
    jumbo frames that net_pcap delivers as chains of several mbufs, and
    seeded random garbage; more frames than the pool holds, so that a leak
    per packet would also show as missing packets.
 3. The same capture together with a darkscope-gen capture (valid traffic,
    VLAN tags, IPv6), two ports in one run.
 4. Every real capture of ../shared/data/pcap in one run (skipped without).

Each case checks the exit status, the log line, and that the sensor received
every frame of the files (rx_packets summed over the JSON lines against the
records counted in the files here).
"""

import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

ALL_RETURNED = "mbufs all returned"
IN_USE = "mbufs in use at exit"
START = 1716163200          # 2024-05-20T00:00:00Z
MAC = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def eth(ethertype, payload):
    return MAC + struct.pack("!H", ethertype) + payload


def ipv4(proto, payload, ihl=5, total=None, frag=0, options=b""):
    total = 20 + len(options) + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total & 0xffff, 1, frag, 64, proto, 0,
                    bytes([203, 0, 113, 9]), bytes([198, 18, 1, 2])) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(doff=5, options=b"", flags=0x02, payload=b""):
    return struct.pack("!HHIIBBHHH", 40000, 23, 1, 0, doff << 4, flags, 1024, 0, 0) + \
        options + payload


def ipv6(nxt, payload, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, plen & 0xffff, nxt, 64,
                       bytes.fromhex("20010db8000000000000000000000009"),
                       bytes.fromhex("20010db800d500000000000000000001")) + payload


def hostile_frames(seed=7, n_random=3000):
    """Frames a decoder must survive; a few are well-formed for contrast."""
    f = [
        b"", b"\x02", MAC,                                       # no room for a type
        eth(0x0800, b""), eth(0x0800, b"\x45" + b"\0" * 9),      # IPv4 cut short
        eth(0x0800, ipv4(6, tcp(), ihl=3)),                      # IHL below 5
        eth(0x0800, ipv4(6, tcp(), ihl=15)),                     # IHL past the frame
        eth(0x0800, ipv4(6, tcp(), total=1500)),                 # total length past it
        eth(0x0800, ipv4(6, tcp(), total=10)),                   # total below the header
        eth(0x0800, ipv4(6, tcp(doff=2))),                       # TCP offset below 5
        eth(0x0800, ipv4(6, tcp(doff=15))),                      # options past the end
        eth(0x0800, ipv4(6, tcp(doff=8, options=b"\x02\x00\x05\xb4\x03\x03\x07\x01"
                                                 b"\x01\x00\x00\x00"))),  # MSS length 0
        eth(0x0800, ipv4(6, tcp(doff=6, options=b"\x08\x0a\x00\x00"))),  # length past end
        eth(0x0800, ipv4(6, tcp(doff=6, options=b"\x02\x04\x05\xb4"))),  # well-formed SYN
        eth(0x0800, ipv4(6, tcp()[:12])),                        # TCP cut short
        eth(0x0800, ipv4(17, b"\x9c\x40\x00")),                  # UDP cut short
        eth(0x0800, ipv4(17, struct.pack("!HHHH", 1, 53, 8, 0))),  # well-formed UDP
        eth(0x0800, ipv4(1, b"\x08")),                           # ICMP cut short
        eth(0x0800, ipv4(6, tcp(), frag=0x2000)),                # first fragment
        eth(0x0800, ipv4(6, b"x" * 24, frag=0x0064)),            # a later fragment
        eth(0x0800, ipv4(6, b"", frag=0x1fff)),                  # last offset, empty
        eth(0x0800, ipv4(47, b"\0" * 4)),                        # an unknown protocol
        eth(0x0800, ipv4(6, tcp(), options=b"\x07\x27" + b"\0" * 2)),  # IP option too long
        eth(0x86dd, b"\x60\0\0"),                                # IPv6 cut short
        eth(0x86dd, ipv6(6, tcp(), plen=4000)),                  # payload length past it
        eth(0x86dd, ipv6(0, b"\x00\xff" + b"\0" * 6 + tcp())),   # hop-by-hop past the end
        eth(0x86dd, ipv6(0, b"\x00\x00" + b"\0" * 4)),           # chain that never ends
        eth(0x86dd, ipv6(44, b"\x06\x00\x00\x01\0\0\0\x01" + tcp())),  # fragment header
        eth(0x86dd, ipv6(58, b"\x80")),                          # ICMPv6 cut short
        eth(0x8100, b"\x00\x01"),                                # VLAN tag cut short
        eth(0x8100, (b"\x00\x01\x81\x00" * 40)[:-2] + b"\x08\x00" + ipv4(6, tcp())),  # tags
        eth(0x88a8, b"\x00\x01\x81\x00\x00\x02\x08\x00" + ipv4(6, tcp())),  # QinQ
        eth(0x0806, b"\0" * 28),                                 # ARP: not IP
        # Jumbo frames: net_pcap copies them into chains of 2 KiB mbufs.
        eth(0x0800, ipv4(17, struct.pack("!HHHH", 1, 53, 8980, 0) + b"j" * 8972)),
        eth(0x86dd, ipv6(6, tcp(payload=b"J" * 19000))),
        eth(0x0800, b"\x4f" + b"\xff" * 12000),
    ]
    rnd = random.Random(seed)
    for _ in range(n_random):
        body = bytes(rnd.getrandbits(8) for _ in range(rnd.choice((8, 20, 40, 64, 300))))
        kind = rnd.choice((0x0800, 0x86dd, 0x8100, 0x0800))
        if kind == 0x0800:
            body = bytes([0x40 | (body[0] & 15)]) + body[1:]
        elif kind == 0x86dd:
            body = bytes([0x60]) + body[1:]
        f.append(eth(kind, body))
    return f


def write_pcap(path, frames, repeat):
    """A classic pcap (microseconds, Ethernet); returns the number of records."""
    n = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for r in range(repeat):
            for i, fr in enumerate(frames):
                us = (r * len(frames) + i) * 3000     # about 3 minutes in all
                out.write(struct.pack("<IIII", START + us // 1000000, us % 1000000,
                                      len(fr), max(len(fr), 60)))
                out.write(fr)
                n += 1
    return n


def frames_in(files):
    return sum(len(d.read_pcap(f)[1]) for f in files)


def replay(checks, label, files, frames):
    jl = os.path.join(d.tmpdir("mbuf"), "out.jsonl")
    cfg = d.config_text(redis_enabled=False)
    res = d.run_darkscope(cfg, ["--no-redis", "--jsonl", jl, "--replay"] + list(files),
                          timeout=600)
    checks.eq("%s: exit code" % label, res.rc, 0)
    d.log("     %s: %d file(s), %d frames, took %.1f s" % (label, len(files), frames,
                                                           res.elapsed))
    returned = [ln for ln in res.err.splitlines() if ALL_RETURNED in ln]
    in_use = [ln.strip() for ln in res.err.splitlines() if IN_USE in ln]
    checks.eq("%s: '%s' lines in the log" % (label, ALL_RETURNED), len(returned), 1)
    checks.eq("%s: pools with mbufs in use at exit" % label, in_use, [])
    lines = d.read_jsonl(jl) if os.path.exists(jl) else []
    checks.eq("%s: rx_packets summed over minutes vs records in the files" % label,
              d.sum_counter(lines, "rx_packets"), frames)
    return lines


def case_bad_arguments(checks, work):
    cfg = d.config_text(redis_enabled=False)
    missing = os.path.join(work, "missing.pcap")
    for label, args in (("missing capture", ["--replay", missing]),
                        ("--replay without a file", ["--replay"])):
        r = d.run_darkscope(cfg, ["--no-redis"] + args, timeout=60, quiet=True)
        checks.eq("bad arguments: %s: exit code" % label, r.rc, 2)
        checks.eq("bad arguments: %s: mbuf lines" % label,
                  sum(ALL_RETURNED in ln or IN_USE in ln for ln in r.err.splitlines()), 0)


def main():
    d.darkscope_bin()
    d.gen_bin()
    checks = d.Checks()
    work = d.tmpdir("mbuf")

    case_bad_arguments(checks, work)

    hostile = os.path.join(work, "hostile.pcap")
    n_hostile = write_pcap(hostile, hostile_frames(), repeat=6)
    lines = replay(checks, "hostile", [hostile], n_hostile)
    bad = d.sum_counter(lines, "malformed") + d.sum_counter(lines, "non_ip")
    checks.ok(bad > n_hostile // 2, "hostile: malformed + non_ip %d of %d frames (more than "
              "half are damaged)" % (bad, n_hostile))

    gen = d.run_gen(os.path.join(work, "gen.pcap"), packets=50000, duration="5m", seed=11)
    replay(checks, "hostile + darkscope-gen", [hostile, gen], frames_in([hostile, gen]))

    pcap_dir = os.path.join(d.shared_data(), "pcap")
    real = sorted(os.path.join(pcap_dir, f) for f in os.listdir(pcap_dir)
                  if f.endswith((".pcap", ".trace"))) if os.path.isdir(pcap_dir) else []
    if real:
        replay(checks, "real captures", real, frames_in(real))
    else:
        d.log("     no capture in %s: the real-capture case is skipped" % pcap_dir)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
