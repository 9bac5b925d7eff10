# SPDX-License-Identifier: BSD-3-Clause
"""A live port whose link goes down and up keeps being polled and counted.

The set-up of test_live_afpacket.py: a namespace with a veth pair a <-> b,
darkscope on `net_af_packet0,iface=a`, frames sent from b. The frames are
built here, so the truth is known by construction: UDP to the feed's prefix
(and a tenth as many outside it), one destination port per phase:

    phase      link                         UDP port   frames   reach the sensor
    before     up                           1001       500+50   yes
    a down     `ip link set a down`         2002       300+30   no (a is down)
    between    up again                     3003       500+50   yes
    b down     `ip link set b down` (a has  4004       300+30   no (no carrier)
               no carrier)
    after      up again                     5005       500+50   yes

Each link stays down DOWN_S seconds. Expected, summed over the minutes the
sensor wrote (wall-clock minutes, so only sums compare), in the JSON lines
and in Redis alike: packets == the feed frames of the three up phases, per
UDP port exactly those counts and nothing on 2002 or 4004, outside and
rx_packets likewise; the counter port.veth.link_down sums to 2; the sensor
logged each link change with the port and interface name, was still
running after the second flap and exits 0 on SIGTERM.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEEDS = [("dark", ["198.18.0.0/16"])]
RATE = 2000             # frames per second, far below what af_packet drops at
DOWN_S = 4.0
PHASES = [              # (name, UDP port, frames to the feed, link taken down or None)
    ("before", 1001, 500, None),
    ("a down", 2002, 300, "a"),
    ("between", 3003, 500, None),
    ("b down", 4004, 300, "b"),
    ("after", 5005, 500, None),
]


def phase_pcap(work, name, port, n):
    """n frames to the feed's prefix and n // 10 to 10.0.0.0/8 (outside)."""
    frames = []
    for i in range(n):
        frames.append(d.udp_frame((203, 0, 113, i % 250 + 1), (198, 18, i // 256 % 256, i % 256),
                                40000 + i % 1000, port))
        if i % 10 == 0:
            frames.append(d.udp_frame((203, 0, 113, 7), (10, 0, i // 256 % 256, i % 256),
                                    40000, port))
    path = os.path.join(work, "%s.pcap" % name.replace(" ", "-"))
    d.write_pcap(path, frames)
    return path, n, n // 10 + (1 if n % 10 else 0)


def case_bad_arguments(checks, ns, server):
    """An af_packet port on an interface that does not exist cannot start."""
    cfg = d.config_text(server.sock, feeds=FEEDS, time_source="clock",
                        ports=[("veth", "net_af_packet0,iface=nosuchif0")])
    r = d.run_darkscope(cfg, [], timeout=60, netns=ns.name, quiet=True)
    checks.ok(r.rc in (1, 2), "bad arguments: af_packet on a missing interface: exit code %s "
              "in (1, 2)" % r.rc)


def wait_log(bg, text, count, timeout=10.0):
    """Wait until the sensor's stderr holds `text` at least `count` times."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bg.stderr().count(text) >= count:
            return True
        time.sleep(0.1)
    return False


def udp_port_packets(lines):
    out = {}
    for ln in lines:
        for label, e in (ln["dims"].get("udp_dst_port") or {}).items():
            out[label] = out.get(label, 0) + d._num(e["packets"])
    return out


def flap_case(checks, ns, server, work):
    jl = os.path.join(work, "flap.jsonl")
    dev = {"a": ns.a, "b": ns.b}
    bg = d.start_live_sensor(ns, server.sock, FEEDS, jl)
    up_text = "port veth: link up on %s" % ns.a
    down_text = "port veth: link down on %s" % ns.a
    checks.ok(wait_log(bg, up_text, 1), "the sensor logged the link up at start: %r" % up_text)
    want = {"packets": 0, "outside": 0, "frames": 0}
    want_ports = {}
    downs = 0
    for name, port, n, down in PHASES:
        pcap, n_feed, n_out = phase_pcap(work, name, port, n)
        rx0, _ = ns.link_stats(ns.a)
        if down:
            ns.sh("ip", "link", "set", dev[down], "down")
            downs += 1
            t0 = time.monotonic()
            checks.ok(wait_log(bg, down_text, downs),
                      "%s: the sensor logged %r (%d times)" % (name, down_text, downs))
        sent = ns.send_pcap(ns.b, pcap, RATE)
        if down:
            time.sleep(max(0.0, DOWN_S - (time.monotonic() - t0)))
            rx1, _ = ns.link_stats(ns.a)
            checks.eq("%s: frames received by the kernel on %s while down" % (name, ns.a),
                      rx1 - rx0, 0)
            d.log("     %s: %d of %d frames sent without error while down (%d errors)" % (
                name, sent["sent"], n_feed + n_out, sent["n_errors"]))
            ns.sh("ip", "link", "set", dev[down], "up")
            checks.ok(wait_log(bg, up_text, downs + 1),
                      "%s: the sensor logged %r after the link came back" % (name, up_text))
            checks.ok(bg.running(), "%s: the sensor is still running" % name)
            # The kernel re-attaches the packet socket on NETDEV_UP; a veth
            # carrier follows at once. Leave it a moment anyway.
            time.sleep(0.5)
            continue
        time.sleep(1.0)
        rx1, _ = ns.link_stats(ns.a)
        checks.eq("%s: frames sent from %s" % (name, ns.b), sent["sent"], n_feed + n_out)
        checks.eq("%s: frames received by the kernel on %s" % (name, ns.a), rx1 - rx0,
                  n_feed + n_out)
        want["packets"] += n_feed
        want["outside"] += n_out
        want["frames"] += n_feed + n_out
        want_ports[str(port)] = n_feed
    time.sleep(1.0)
    checks.ok(bg.running(), "the sensor is still running after %d link flaps" % downs)
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    checks.eq("SIGTERM: exit code", res.rc, 0)
    if not os.path.exists(jl):
        d.die("no JSON lines written; nothing to compare")
    lines = d.read_jsonl(jl)
    d.check_jsonl_shape(checks, "flap", lines, ["dark"])
    dark = [ln for ln in lines if ln["feed"] == "dark"]
    d.log("     %d minutes written: %s" % (len(dark), [
        "%s partial=%s packets=%s" % (ln["minute"][:16], ln["partial"], ln["packets"])
        for ln in dark]))
    checks.eq("packets summed over minutes vs feed frames sent while up",
              d.sum_field(dark, "packets"), want["packets"])
    checks.eq("counters outside summed", d.sum_counter(lines, "outside"), want["outside"])
    checks.eq("counters rx_packets summed vs frames sent while up",
              d.sum_counter(lines, "rx_packets"), want["frames"])
    checks.eq("counters port.veth.rx_packets summed", d.sum_counter(lines, "port.veth.rx_packets"),
              want["frames"])
    checks.eq("counters port.veth.link_down summed", d.sum_counter(lines, "port.veth.link_down"),
              downs)
    checks.eq("counters port.veth.imissed summed", d.sum_counter(lines, "port.veth.imissed"), 0)
    checks.eq("packets per UDP destination port (nothing on the down phases' 2002, 4004)",
              udp_port_packets(dark), want_ports)
    checks.eq("link down log lines", res.err.count(down_text), downs)
    checks.eq("link up log lines (start + after each flap)", res.err.count(up_text), downs + 1)
    with server.client() as c:
        rp = 0
        for mk in d.redis_minutes(c, "dark"):
            r = d.redis_feed_minute(c, "dark", mk)
            rp += r["packets"] if r else 0
        checks.eq("Redis packets summed over the minutes index", rp, want["packets"])
        d.compare_json_redis(checks, "flap", d.index_jsonl(lines), c, feeds=["dark"])


def main():
    d.need_root_and_ip()
    d.darkscope_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("flap")
    ns = d.NetNs().create()
    try:
        server = d.RedisServer("flap").start()
        case_bad_arguments(checks, ns, server)
        flap_case(checks, ns, server, work)
        server.stop()
    finally:
        ns.delete()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
