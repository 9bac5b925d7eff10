#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drops on a live port: darkscope on af_packet at 0.8 x its maximum rate.

net_pcap cannot drop (it waits for the worker), so the pipeline benchmark
cannot show a sensor keeping up. This one uses a port that can: a veth pair
in a network namespace it creates, darkscope on `net_af_packet0,iface=a`
with the pipeline benchmark's configuration (every dimension, geo, the
signatures, four watch rules, Redis on), and bench_send (bench_send.c)
sending the mix capture's frames out of b through an AF_PACKET socket,
pinned to CPU 0 (the worker has CPU 1, the control thread shares CPU 0):

 1. maximum: the sender as fast as it can for --max-seconds; the maximum is
    what darkscope received over that time.
 2. 0.8 x that rate, paced, across --boundaries wall-clock minute
    boundaries.

Each phase starts a new sensor and first sends --warmup seconds at
WARMUP_PPS. On this VM (a PVM guest) the first pass over the socket's ring
and the mbufs is slow: the first touch of each 4 KiB page of the process,
even one already mapped, costs a fill of the hypervisor's shadow page table,
3.0-3.3 us a page (a populated 32 MiB mapping read one byte a page; under
0.1 us on the second pass), and the ring alone is 8 192 pages:
the first 0.2-0.4 s of traffic at 0.63 Mpps lost 15 000-35 000 frames with a
16 384-frame ring, 45 000-86 000 with a 65 536-frame one (more pages to go
through once), and none with the warm-up.
A sensor starts once and then runs for months; the target is about a running
one. The warm-up's frames count in every figure below (sent, received,
lost); the maximum is the received frames less the warm-up's, over the
seconds of the flat-out send.

For each it prints frames sent, frames darkscope received (the port's rx
packets), the frames lost between them (veth or socket ring: nothing else
is in the path), imissed and rx_nombuf, and the rx packets the minute keys
in Redis add up to, which must equal the port's. Needs root (namespaces).

The af_packet PMD of DPDK 22.11 does not count the frames its socket's ring
drops; darkscope reads them from the socket (PACKET_STATISTICS) into the
port's imissed, so the frames lost must equal imissed, and the line says
whether they do. --framecnt sets the ring's size (the PMD's default, 512
frames, is under a millisecond here).

Usage: bench_live.py [--packets N] [--max-seconds S] [--boundaries N]
                     [--framecnt N] [--warmup S]
Environment: DARKSCOPE, DARKSCOPE_GEN (meson sets them), BENCH_SEND (default:
the build's bench/bench_send),
REDIS_SERVER, DS_SHARED_DATA.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
import dstest as d  # noqa: E402
import bench_pipeline as bp  # noqa: E402

WARMUP_PPS = 200000             # well below what the cold worker keeps up with


def live_config(tmp, pcap, geo, redis_sock, iface, framecnt, tag):
    """The pipeline benchmark's configuration, on an af_packet port."""
    prefix, text = bp.sensor_config(tmp, pcap, False, 1024, 16384, 32, geo, redis_sock, tag)
    old = '"net_pcap0,rx_pcap=%s,infinite_rx=1"' % pcap
    if old not in text:
        raise RuntimeError("unexpected pipeline configuration:\n" + text)
    return prefix, text.replace(old, '"net_af_packet0,iface=%s,framecnt=%d"' % (iface, framecnt))


def phase(ns, server, cfg, sender, pcap, pps, seconds=None, boundaries=0, warmup=0.0):
    """One sensor run: warmup seconds at WARMUP_PPS, then the sender at pps (0:
    flat out) for seconds, or when None across that many minute boundaries;
    its figures."""
    bg = d.Background(cfg, [], netns=ns.name)
    deadline = time.monotonic() + 300
    while " polls " not in bg.stderr() or not ns.packet_socket_on(ns.a):
        if not bg.running() or time.monotonic() > deadline:
            bg.signal(signal.SIGKILL)
            d.die("darkscope did not start:\n%s" % bg.stderr()[-3000:])
        time.sleep(0.2)
    time.sleep(1.0)
    a_rx0 = ns.link_stats(ns.a)[0]
    warm = {"sent": 0, "errors": 0}
    if warmup > 0:
        warm = json.loads(ns.sh("taskset", "-c", "0", sender, ns.b, pcap, "%d" % WARMUP_PPS,
                                "%.1f" % warmup))
    if seconds is None:
        # Across the boundaries asked for, ending 5 s into the minute after.
        seconds = 60 * boundaries + (60 - time.time() % 60) + 5
    # Paced, the sender runs at real-time priority on CPU 0, so that it keeps
    # its rate while the control thread merges and Redis writes a minute
    # there; it sleeps whenever it is ahead, which leaves them the rest. Flat
    # out it would starve them (and measured less: 0.55 Mpps against 0.79-0.95).
    rt = ["chrt", "-f", "10"] if pps > 0 else []
    out = ns.sh("taskset", "-c", "0", *rt, sender, ns.b, pcap, "%.0f" % pps, "%.1f" % seconds)
    sent = json.loads(out)
    time.sleep(2.0)             # what is still in the socket's ring
    a_rx = ns.link_stats(ns.a)[0] - a_rx0
    bg.signal(signal.SIGINT)
    res = bg.wait(300)
    m = bp.PORT_RE.search(res.err)
    if res.rc != 0 or m is None:
        d.die("darkscope run failed (%s):\n%s" % (res.rc, res.err[-3000:]))
    rx, imissed, nombuf = (int(x) for x in m.groups())
    stats = bp.exit_stats(res.err)
    written, _ = bp.port_totals_ok(server, {"rx": rx})
    return {"sent": warm["sent"] + sent["sent"], "warmup": warm["sent"],
            "seconds": sent["seconds"], "send_errors": warm["errors"] + sent["errors"],
            "veth_rx": a_rx, "rx": rx, "imissed": imissed, "rx_nombuf": nombuf,
            "redis": written, "boundaries": stats["crossed"], "burst_us": stats["burst_us"]}


def show(name, r):
    lost = r["sent"] - r["rx"]
    d.log("  %s: sent %d warm-up frames, then %d in %.1f s (%.3f Mpps); darkscope rx %d"
          " (%.3f Mpps after the warm-up), lost %d"
          " (%.4f %%); veth rx %d; imissed %d (%s), rx_nombuf %d; minute boundaries %d; longest"
          " burst %.1f us; Redis per-port total %d (%s)" % (
              name, r["warmup"], r["sent"] - r["warmup"], r["seconds"],
              (r["sent"] - r["warmup"]) / r["seconds"] / 1e6, r["rx"],
              (r["rx"] - r["warmup"]) / r["seconds"] / 1e6, lost, 100.0 * lost / max(1, r["sent"]),
              r["veth_rx"], r["imissed"],
              "= lost" if r["imissed"] == lost else "DIFFERS from lost %d" % lost,
              r["rx_nombuf"], r["boundaries"], r["burst_us"],
              r["redis"],
              "= rx" if r["redis"] == r["rx"] else "DIFFERS from rx %d" % r["rx"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=200000)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--boundaries", type=int, default=3)
    ap.add_argument("--framecnt", type=int, default=16384,
                    help="frames in the af_packet socket's ring (the PMD's default is 512)")
    ap.add_argument("--warmup", type=float, default=5.0,
                    help="seconds at %d frames/s before each phase" % WARMUP_PPS)
    args = ap.parse_args()
    d.need_root_and_ip()
    sender = os.path.abspath(os.environ.get("BENCH_SEND") or os.path.join(
        os.environ.get("DS_BUILD_ROOT", "build"), "bench", "bench_send"))
    ns = d.NetNs().create()
    server = d.RedisServer("live").start()
    tmp = d.tmpdir("live")
    geo, geo_name = bp.geo_section(tmp)
    pcap = os.path.join(tmp, "mix.pcap")
    subprocess.run([d.gen_bin(), "--out", pcap, "--packets", str(args.packets), "--seed", "11"],
                   check=True)
    d.log("# live: af_packet on a veth pair (framecnt %d), %d-frame mix capture in a loop;"
          " geo: %s; warm-up %.0f s at %d frames/s" % (args.framecnt, args.packets, geo_name,
                                                   args.warmup, WARMUP_PPS))
    bad = 0
    _, cfg = live_config(tmp, pcap, geo, server.sock, ns.a, args.framecnt, "live-max")
    top = phase(ns, server, cfg, sender, pcap, 0, args.max_seconds, warmup=args.warmup)
    show("maximum", top)
    with server.client() as c:
        c.call("FLUSHDB")
    rate = 0.8 * (top["rx"] - top["warmup"]) / top["seconds"]
    _, cfg = live_config(tmp, pcap, geo, server.sock, ns.a, args.framecnt, "live-80")
    r = phase(ns, server, cfg, sender, pcap, rate, boundaries=args.boundaries,
              warmup=args.warmup)
    show("0.8 x maximum (%.3f Mpps)" % (rate / 1e6), r)
    bad += r["redis"] != r["rx"] or top["redis"] != top["rx"]
    d.log("# drops at 0.8 x maximum across %d minute boundaries: %d of %d frames" % (
        r["boundaries"], r["sent"] - r["rx"], r["sent"]))
    server.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
