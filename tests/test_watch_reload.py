# SPDX-License-Identifier: BSD-3-Clause
"""Watch rules reloaded under load: new rules count, a bad rule set is refused.

A generated capture is replayed in a loop by DPDK's net_pcap (infinite_rx=1)
as a live port with clock minutes, so the sensor counts millions of packets
per minute. The test rewrites the sensor's configuration file and sends
SIGHUP at minute boundaries, so that every whole minute runs under one rule
set:

  minute A   rule `telnet` (TCP SYN to port 23) only;
  minute B   SIGHUP just after it starts: `telnet` and `ssh` (SYN to 22);
             later in B, SIGHUP with a rule set that does not parse: the log
             names FILE:LINE:COL and says the current rules stay;
  then SIGTERM a few seconds into the next minute.

Checks: minute A has `telnet` and no `ssh`; minute B has both, with `telnet`
at the same share of the minute's TCP SYNs to port 23 as in A (the failed
reload changed nothing); the share of `ssh` among SYNs to port 22 in B is 1
but for the second or so before the reload took effect; every minute's rule
packets are at most the matching port's SYNs; rx_packets equals what the
port received.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402

FEED = "dark"
TELNET = ("telnet", "    match: {proto: tcp, dst_port: 23, tcp_flags: S/SA}")
SSH = ("ssh", "    match: {proto: tcp, dst_port: 22, tcp_flags: S/SA}")
BAD = ("broken", "    match: {proto: tcp, window: 70000}")


def config_with(base, rules):
    lines = [base.rstrip("\n"), "watch:"]
    for name, match in rules:
        lines.append("  - name: %s" % name)
        lines.append(match)
    return "\n".join(lines) + "\n"


def rewrite(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def wait_for_second(sec):
    """Sleep until the wall clock's second of the minute is sec."""
    now = time.time()
    target = (now // 60) * 60 + sec
    if target <= now:
        target += 60
    time.sleep(target - now)
    return int(target // 60)


def wait_log(bg, pattern, count, timeout=30.0):
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and bg.running():
        found = rx.findall(bg.stderr())
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return rx.findall(bg.stderr())


def dim(line, name):
    return {k: d._num(v["packets"]) for k, v in (line["dims"].get(name) or {}).items()}


def main():
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    checks = d.Checks()
    work = d.tmpdir("watchreload")
    cap = d.run_gen(os.path.join(work, "loop.pcap"), packets=20000, duration="10m", seed=23)
    server = d.RedisServer("watchreload").start()
    base = d.config_text(server.sock, feeds=[(FEED, d.GEN_PREFIXES)],
                         ports=[("loop", "net_pcap0,rx_pcap=%s,infinite_rx=1" % cap)],
                         time_source="clock")
    jl = os.path.join(work, "out.jsonl")

    # First case: a rule set that does not parse stops a start, naming the place.
    res = d.run_darkscope(config_with(base, [BAD]), ["--jsonl", jl], timeout=60, quiet=True)
    checks.eq("bad arguments: a start with an invalid rule: exit code", res.rc, 2)
    checks.ok(re.search(r"\.yaml:\d+:\d+: watch\[0\]\.match\.window: ", res.err) is not None,
              "bad arguments: the message names FILE:LINE:COL and watch[0].match.window: %s"
              % res.err.strip().splitlines()[-1:])

    # Start late in a minute: the next minute (A) runs whole under `telnet`.
    wait_for_second(50)
    bg = d.Background(config_with(base, [TELNET]), ["--jsonl", jl])
    minute_a = wait_for_second(0) + 0   # minute A starts now
    time.sleep(1)
    checks.ok(bg.running(), "the sensor runs")
    # Minute B: add `ssh` just after it starts.
    wait_for_second(0)
    rewrite(bg.config_path, config_with(base, [TELNET, SSH]))
    bg.signal(signal.SIGHUP)
    added = wait_log(bg, r"watch: (\d+) rule\(s\) active", 1)
    checks.eq("SIGHUP with telnet + ssh: rules active per the log", added[-1:], ["2"])
    # Later in B: a rule set that does not parse.
    time.sleep(15)
    rewrite(bg.config_path, config_with(base, [TELNET, SSH, BAD]))
    bg.signal(signal.SIGHUP)
    failed = wait_log(bg, r"watch: reload failed, the current rules stay(.*)$", 1)
    fail_line = [ln for ln in bg.stderr().splitlines() if "reload failed" in ln]
    checks.ok(len(failed) == 1 and any(re.search(r"\.yaml:\d+:\d+: watch\[2\]\.match\.window",
                                                 ln) for ln in fail_line),
              "SIGHUP with a bad rule: refused, FILE:LINE:COL named: %s" % fail_line[:2])
    # A few seconds into the minute after B, stop.
    wait_for_second(5)
    bg.signal(signal.SIGTERM)
    res = bg.wait(90)
    checks.eq("SIGTERM: exit code", res.rc, 0)

    lines = [ln for ln in d.read_jsonl(jl) if ln["feed"] == FEED]
    by_min = {d.minute_epoch(ln["minute"]) // 60: ln for ln in lines}
    minute_b = minute_a + 1
    la, lb = by_min.get(minute_a), by_min.get(minute_b)
    checks.ok(la is not None and lb is not None, "minutes A and B written")
    if la is None or lb is None:
        server.stop()
        return checks.finish()
    wa, wb = dim(la, "watch"), dim(lb, "watch")
    d.log("     minute A: %s packets, watch %s" % (la["packets"], wa))
    d.log("     minute B: %s packets, watch %s" % (lb["packets"], wb))
    checks.ok(wa.get("telnet", 0) > 0 and "ssh" not in wa,
              "minute A: telnet counted (%s), ssh not (%s)" % (wa.get("telnet"), wa.get("ssh")))
    checks.ok(wb.get("telnet", 0) > 0 and wb.get("ssh", 0) > 0,
              "minute B: both counted: telnet %s, ssh %s" % (wb.get("telnet"), wb.get("ssh")))

    # Shares: rule packets over the SYNs of their port (tcp_syn_* is per SYN, but per port
    # only tcp_dst_port exists, which counts every TCP packet: use it as the upper bound
    # and compare the telnet share between the two minutes).
    pa, pb = dim(la, "tcp_dst_port"), dim(lb, "tcp_dst_port")
    for name, port, ln in (("telnet", "23", la), ("telnet", "23", lb), ("ssh", "22", lb)):
        w = dim(ln, "watch").get(name, 0)
        checks.ok(w <= dim(ln, "tcp_dst_port").get(port, 0),
                  "%s %s: rule packets %d <= TCP packets to port %s %d" % (
                      ln["minute"][11:16], name, w, port, dim(ln, "tcp_dst_port").get(port, 0)))
    share_a = wa["telnet"] / pa["23"]
    share_b = wb["telnet"] / pb["23"]
    checks.ok(abs(share_a - share_b) < 0.01,
              "telnet share of port-23 TCP packets: A %.4f, B %.4f (the bad reload left it)"
              % (share_a, share_b))
    # ssh in B: all but the part of B before the reload took effect (about a second).
    ssh_share = wb["ssh"] / pb["22"]
    checks.ok(ssh_share > 0.9, "ssh share of port-22 TCP packets in B %.4f > 0.9" % ssh_share)

    rx = d.sum_counter(lines, "rx_packets")
    port_rx = re.findall(r"port loop: rx (\d+) packets", res.err)
    checks.ok(port_rx and int(port_rx[-1]) == rx,
              "rx_packets summed over minutes %d == the port's rx %s" % (rx, port_rx[-1:]))
    server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
