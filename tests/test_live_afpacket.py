# SPDX-License-Identifier: BSD-3-Clause
"""Live capture through DPDK's af_packet PMD on a veth pair.

A network namespace holds a veth pair a <-> b with IPv6 off and no
addresses, so the kernel sends nothing on it. darkscope runs inside the
namespace on `net_af_packet0,iface=a` with the clock as time source and one
feed of the generator's prefixes. The frames of a generated capture (5000
packets, some VLAN/QinQ, some IPv6, ~1% to addresses outside the prefixes)
are sent from b through an AF_PACKET socket at a modest pace; then the
sensor gets SIGTERM.

It runs twice: one receive queue polled by one worker, then two queues
(af_packet qpairs=2, a PACKET_FANOUT group spreading flows like RSS) polled
by two workers (an lcore map, so two workers fit on a two-CPU machine),
whose minutes the control thread merges. Then the socket's ring is made
to drop frames, on one port and on two ports sharing the interface, and
every frame dropped must be in a port's imissed.

Expected, summed over the minutes the sensor wrote (wall-clock minutes, so
only sums compare): packets == frames in the feed's prefixes, outside ==
frames outside them, rx_packets == frames sent, and per protocol / TCP port
/ UDP port the packets of tshark's dissection (tests/truth.py). The JSON
lines and Redis must agree.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import truth  # noqa: E402

PACKETS = 5000
RATE = 2000             # frames per second: far below what af_packet drops at
RING_FRAMES = 64        # the ring of the drop case: far fewer frames than are sent
FEEDS = [("dark", d.GEN_PREFIXES)]


def case_bad_arguments(checks, ns, server):
    """An af_packet port on an interface that does not exist cannot start."""
    cfg = d.config_text(server.sock, feeds=FEEDS, time_source="clock",
                        ports=[("veth", "net_af_packet0,iface=nosuchif0")])
    r = d.run_darkscope(cfg, [], timeout=60, netns=ns.name, quiet=True)
    checks.ok(r.rc in (1, 2), "bad arguments: af_packet on a missing interface: exit code %s "
              "in (1, 2)" % r.rc)


def dim_packets(lines, dim):
    """{label: packets} summed over minutes."""
    out = {}
    for ln in lines:
        for label, e in (ln["dims"].get(dim) or {}).items():
            out[label] = out.get(label, 0) + d._num(e["packets"])
    return out


def truth_dim_packets(tr, dim):
    out = {}
    for mm in tr["minutes"].values():
        for label, e in mm[dim].items():
            out[label] = out.get(label, 0) + e["packets"]
    return out


def live_case(checks, ns, server, cap, tr, work, label, queues, lcores):
    """Send the capture through the veth pair to a live sensor and compare."""
    t = tr["total"]
    jl = os.path.join(work, "%s.jsonl" % label.replace(" ", "-"))
    with server.client() as c:
        c.call("FLUSHALL")
    rx0, _ = ns.link_stats(ns.a)
    bg = d.start_live_sensor(ns, server.sock, FEEDS, jl, queues=queues, lcores=lcores)
    sent = ns.send_pcap(ns.b, cap, RATE)
    checks.eq("%s: sender: frames sent" % label, sent["sent"], t["frames"])
    if sent["n_errors"]:
        d.log("     sender errors: %s" % sent["errors"])
    time.sleep(2)
    rx1, _ = ns.link_stats(ns.a)
    checks.eq("%s: kernel: frames received on %s" % (label, ns.a), rx1 - rx0, t["frames"])
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    checks.eq("%s: SIGTERM: exit code" % label, res.rc, 0)
    checks.ok("imissed counts the drops of %d packet socket ring(s)" % queues in res.err,
              "%s: the sensor found the PMD's %d socket(s) (log line)" % (label, queues))
    if not os.path.exists(jl):
        d.die("no JSON lines written; nothing to compare")
    lines = d.read_jsonl(jl)
    d.check_jsonl_shape(checks, label, lines, ["dark"])
    dark = [ln for ln in lines if ln["feed"] == "dark"]
    d.log("     %s: %d minutes written: %s" % (label, len(dark), [
        "%s partial=%s packets=%s" % (ln["minute"][:16], ln["partial"], ln["packets"])
        for ln in dark]))
    checks.eq("%s: packets summed over minutes vs frames to the feed's prefixes" % label,
              d.sum_field(dark, "packets"), t["packets"])
    checks.eq("%s: bytes summed over minutes" % label, d.sum_field(dark, "bytes"), t["bytes"])
    checks.eq("%s: counters outside summed vs frames outside the prefixes" % label,
              d.sum_counter(lines, "outside"), t["outside"])
    checks.eq("%s: counters port.veth.outside summed" % label,
              d.sum_counter(lines, "port.veth.outside"), t["outside"])
    checks.eq("%s: counters rx_packets summed vs frames sent" % label,
              d.sum_counter(lines, "rx_packets"), sent["sent"])
    checks.eq("%s: counters non_ip summed" % label, d.sum_counter(lines, "non_ip"), t["non_ip"])
    checks.eq("%s: counters malformed summed" % label, d.sum_counter(lines, "malformed"),
              t["malformed"])
    checks.eq("%s: counters port.veth.imissed summed" % label,
              d.sum_counter(lines, "port.veth.imissed"), 0)
    if queues > 1:
        # Both queues and both workers must have carried traffic, or the
        # merge of two workers' minutes was not exercised.
        per_q = [d.sum_counter(lines, "port.veth.q%d.rx_packets" % q) for q in range(queues)]
        per_w = [v for k, v in sorted(d.counters_by_minute(lines).items())]
        workers = {}
        for ctr in per_w:
            for k, v in ctr.items():
                if k.startswith("worker.") and k.endswith(".packets"):
                    workers[k] = workers.get(k, 0) + d._num(v)
        checks.ok(all(per_q) and sum(per_q) == sent["sent"],
                  "%s: frames per queue %s, all queues used, sum == %d" % (
                      label, per_q, sent["sent"]))
        checks.ok(len(workers) == queues and all(workers.values()),
                  "%s: frames per worker %s" % (label, workers))
    for dim in ("proto", "tcp_dst_port", "udp_dst_port"):
        got = dim_packets(dark, dim)
        want = truth_dim_packets(tr, dim)
        bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        checks.ok(not bad, "%s: %s packets per value summed over minutes: %d values, "
                  "sum %d == %d, values differing %d %s" % (
                      label, dim, len(want), sum(got.values()), sum(want.values()), len(bad),
                      [(k, got.get(k), want.get(k)) for k in bad[:5]]))
    checks.ok(dark and dark[-1]["partial"],
              "%s: the minute in progress at SIGTERM is partial: %s" % (
                  label, dark[-1]["partial"] if dark else None))
    with server.client() as c:
        rp = 0
        for mk in d.redis_minutes(c, "dark"):
            r = d.redis_feed_minute(c, "dark", mk)
            rp += r["packets"] if r else 0
        checks.eq("%s: Redis packets summed over the minutes index" % label, rp, t["packets"])
        d.compare_json_redis(checks, label, d.index_jsonl(lines), c, feeds=["dark"])


def send_while_stopped(checks, label, bg, ns, cap, t):
    """Send the capture while the sensor is stopped (SIGSTOP), so that its
    rings fill and drop the rest; then continue it, and end it with SIGTERM
    once it has read the rings. Returns (frames sent, kernel rx on a, Result)."""
    rx0, _ = ns.link_stats(ns.a)
    bg.signal(signal.SIGSTOP)
    try:
        sent = ns.send_pcap(ns.b, cap, 2 * RATE)
        time.sleep(1)
        rx1, _ = ns.link_stats(ns.a)
    finally:
        bg.signal(signal.SIGCONT)
    checks.eq("%s: sender: frames sent" % label, sent["sent"], t["frames"])
    time.sleep(2)
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    checks.eq("%s: SIGTERM: exit code" % label, res.rc, 0)
    return sent["sent"], rx1 - rx0, res


def case_ring_drops(checks, ns, server, cap, tr, work):
    """Frames the socket's ring drops are counted, not lost silently.

    The af_packet PMD of DPDK 22.11 counts no drops; the sensor reads them
    from its sockets (PACKET_STATISTICS) into the port's imissed. Here the
    sensor, on a ring of RING_FRAMES frames, is stopped (SIGSTOP) while the
    capture is sent: the kernel fills the ring and drops the rest. After
    SIGCONT each frame sent must be either received or in imissed, in the
    minutes' counters and in the exit statistics alike."""
    label = "ring drops"
    t = tr["total"]
    jl = os.path.join(work, "ring-drops.jsonl")
    with server.client() as c:
        c.call("FLUSHALL")
    bg = d.start_live_sensor(ns, server.sock, FEEDS, jl, dev_args=",framecnt=%d" % RING_FRAMES)
    checks.ok("imissed counts the drops of 1 packet socket ring(s)" in bg.stderr(),
              "%s: the sensor found the PMD's socket (log line)" % label)
    sent, kernel_rx, res = send_while_stopped(checks, label, bg, ns, cap, t)
    checks.eq("%s: kernel: frames received on %s" % (label, ns.a), kernel_rx, sent)
    if not os.path.exists(jl):
        d.die("no JSON lines written; nothing to compare")
    lines = d.read_jsonl(jl)
    rx = d.sum_counter(lines, "rx_packets")
    missed = d.sum_counter(lines, "port.veth.imissed")
    d.log("     %s: sent %d, received %d, imissed %d" % (label, sent, rx, missed))
    checks.eq("%s: counters rx_packets + port.veth.imissed summed vs frames sent" % label,
              rx + missed, sent)
    checks.ok(0 < rx <= RING_FRAMES,
              "%s: frames received %d: the ring's, at most %d" % (label, rx, RING_FRAMES))
    m = re.search(r"port veth: rx (\d+) packets \d+ bytes, imissed (\d+)", res.err)
    checks.ok(m is not None and int(m.group(1)) + int(m.group(2)) == sent,
              "%s: exit statistics rx + imissed == %d: %s" % (
                  label, sent, m.group(0) if m else "no port line"))
    with server.client() as c:
        d.compare_json_redis(checks, label, d.index_jsonl(lines), c, feeds=["dark"])


def case_two_ports_one_interface(checks, ns, server, cap, tr, work):
    """Two af_packet ports on one interface: each counts its own ring's drops.

    The PMD puts the sockets of both ports in one fanout group, so the
    kernel shares the frames between them as between the queues of one
    port, each into its own 64-frame ring. The sensor is stopped while the
    capture is sent, as in case_ring_drops. Each ring then drops, so each
    port must report drops of its own, and the ports' rx + imissed must add
    up to the frames sent: a port that took the other's socket too would
    report all the drops, and the other none."""
    label = "two ports"
    t = tr["total"]
    jl = os.path.join(work, "two-ports.jsonl")
    ports = [("v%d" % i, "net_af_packet%d,iface=%s,framecnt=%d" % (i, ns.a, RING_FRAMES))
             for i in range(2)]
    bg = d.start_live_sensor(ns, server.sock, FEEDS, jl, ports=ports)
    for name, _ in ports:
        checks.ok("port %s: imissed counts the drops of 1 packet socket ring(s)" % name
                  in bg.stderr(), "%s: port %s found its one socket (log line)" % (label, name))
    sent, _, res = send_while_stopped(checks, label, bg, ns, cap, t)
    total = 0
    for name, _ in ports:
        m = re.search(r"port %s: rx (\d+) packets \d+ bytes, imissed (\d+)" % name, res.err)
        rx, missed = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        total += rx + missed
        checks.ok(m is not None and rx <= RING_FRAMES and missed > 0,
                  "%s: port %s: at most its ring received (%d) and it counted drops (%d): %s" % (
                      label, name, rx, missed, m.group(0) if m else "no port line"))
    checks.eq("%s: both ports' rx + imissed vs frames sent" % label, total, sent)


def main():
    d.need_root_and_ip()
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()
    work = d.tmpdir("live")

    cap = d.run_gen(os.path.join(work, "live.pcap"), packets=PACKETS, duration="1m", seed=17)
    tr = truth.analyze(cap, prefixes=d.GEN_PREFIXES, tshark=tshark)
    t = tr["total"]
    d.log("     tshark: %d frames, %d in the feed, %d outside, %d non-IP, malformed %s" % (
        t["frames"], t["packets"], t["outside"], t["non_ip"], t["malformed_reasons"] or 0))

    ns = d.NetNs().create()
    try:
        server = d.RedisServer("live").start()
        case_bad_arguments(checks, ns, server)
        live_case(checks, ns, server, cap, tr, work, "live", 1, "auto")
        live_case(checks, ns, server, cap, tr, work, "live 2 queues", 2, "0@0,1@1,2@1")
        case_ring_drops(checks, ns, server, cap, tr, work)
        case_two_ports_one_interface(checks, ns, server, cap, tr, work)
        server.stop()
    finally:
        ns.delete()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
