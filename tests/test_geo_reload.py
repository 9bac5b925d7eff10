# SPDX-License-Identifier: BSD-3-Clause
"""Geo tables reloaded under sustained load: no packet lost, old table kept on failure.

A generated capture is replayed in a loop by DPDK's net_pcap
(`infinite_rx=1`) as a live port, with clock time and one feed over the
generator's prefixes, at whatever rate the worker sustains (millions of
packets per second). The geo sources are copies in the test's temporary
directory, so that the test can damage and restore them. During a run of
about half a minute:

  1. SIGHUP several times with valid files: each reload is logged as done;
  2. one file is replaced by its first 2000 lines and a malformed line, then
     SIGHUP: the log names file:line and says the current table stays;
  3. the file is restored and /darkscope/reload is sent over the DPDK
     telemetry socket; /darkscope/stats then shows the reloads and the one
     failure;
  4. SIGTERM: exit 0.

Throughout, /darkscope/stats is sampled: the packet count must grow between
every two samples (the workers never stall while the control thread builds
a table).

Checks on what the sensor wrote: rx_packets summed over minutes equals what
the port received (its exit log line, and port.NAME.rx_packets); in every
minute feed packets + outside + non_ip + malformed == rx_packets and the
values of src_country, src_asn and src_home add up to the feed's packets.

Why the old table is shown to stay active: one worker reads one queue that
repeats the capture in order, so a minute's feed packets are a contiguous
run of the capture's feed packets repeated. With N feed packets in the
minute, P in the capture and p_v of them with value v (per tests/georef.py
on tshark's decode, the valid files), the sensor's count of v must lie
within p_v of N * p_v / P, and every minute holding a whole loop has exactly
the capture's distinct sources per value. Had the damaged file been loaded
(most sources would turn "unrouted") or any table other than the valid one
been used for more than an instant, some value would leave its bound by
millions of packets. The per-minute shares of unrouted and unknown
countries are printed next to the reference's.
"""

import json
import os
import re
import shutil
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstest as d  # noqa: E402
import georef  # noqa: E402
import truth  # noqa: E402

GEO_DIMS = ("src_asn", "src_country", "src_home")
FEED = "dark"
PORT = "loop"
PACKETS = 20000
VALID_SIGHUPS = 3
CORRUPT_KEEP = 2000          # lines kept in the damaged file; the next one is bad
BAD_LINE = "1.2.3.0,1.2.3.255,JPN"
# format, file, and whether the test damages it
SOURCES = [("caida-pfx2as", "routeviews-rv2-20240406.pfx2as.gz", False),
           ("ip-location-db-asn", "asn-ipv4-num.csv", False),
           ("ip-location-db-country", "asn-country-ipv4-num.csv", True)]
HOME = "JP"


class Telemetry:
    """DPDK's telemetry socket: SOCK_SEQPACKET, one JSON reply per command."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.info = json.loads(self.sock.recv(65536).decode())

    def cmd(self, command):
        self.sock.send(command.encode())
        return json.loads(self.sock.recv(65536).decode())[command]

    def close(self):
        self.sock.close()


def telemetry_paths(prefix):
    """Where EAL puts the telemetry socket: its runtime directory, /var/run/dpdk for
    root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk."""
    bases = ["/var/run/dpdk"] if os.geteuid() == 0 else []
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    bases.append("/tmp/dpdk")
    return [os.path.join(b, prefix, "dpdk_telemetry.v2") for b in bases]


def config(redis_sock, pcap, geo_dir):
    text = d.config_text(redis_sock, feeds=[(FEED, d.GEN_PREFIXES)],
                         ports=[(PORT, "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap)],
                         time_source="clock")
    if "memory_mb: 512" not in text:
        d.die("dstest.config_text no longer writes memory_mb: 512; update this test")
    # A reload holds two tables at once.
    text = text.replace("memory_mb: 512", "memory_mb: 2048")
    m = re.search(r"file_prefix: ([^,}]+)", text)
    geo = ["geo:", "  country_source: prefix", "  home_country: %s" % HOME, "  sources:"]
    for fmt, name, _ in SOURCES:
        geo.append("    - {format: %s, path: %s}" % (fmt, json.dumps(os.path.join(geo_dir, name))))
    return text + "\n".join(geo) + "\n", m.group(1)


def damage(path, original):
    """The first CORRUPT_KEEP lines of the original, then a malformed line."""
    with open(original, "r") as src, open(path + ".tmp", "w") as dst:
        for i, line in enumerate(src):
            if i == CORRUPT_KEEP:
                break
            dst.write(line)
        dst.write(BAD_LINE + "\n")
    os.replace(path + ".tmp", path)


def restore(path, original):
    shutil.copyfile(original, path + ".tmp")
    os.replace(path + ".tmp", path)


def wait_log(bg, pattern, count, timeout=60.0):
    """Wait until the sensor's stderr matches pattern count times; the matches."""
    rx = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while True:
        found = rx.findall(bg.stderr())
        if len(found) >= count:
            return found
        if not bg.running() or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def reference(pcap, tshark, geo_dir):
    """Per value of each geo dim: (feed packets, distinct sources) in one loop of the capture."""
    nets = truth.parse_prefixes(d.GEN_PREFIXES)
    feed = [f for f in truth.frames(pcap, tshark)
            if f["kind"] == "ip" and truth.in_prefixes(f["dst"], nets)]
    ref = georef.GeoRef([(fmt, os.path.join(geo_dir, name)) for fmt, name, _ in SOURCES],
                        "prefix", HOME)
    cache = {}
    per = {dim: {} for dim in GEO_DIMS}
    for f in feed:
        geo = cache.get(f["src"])
        if geo is None:
            geo = cache[f["src"]] = ref.lookup(f["src"])
        for dim, label in zip(GEO_DIMS, geo):
            e = per[dim].setdefault(label, [0, set()])
            e[0] += 1
            e[1].add(f["src"])
    return len(feed), {dim: {k: (v[0], len(v[1])) for k, v in vals.items()}
                       for dim, vals in per.items()}


def case_bad_arguments(checks, server, pcap, geo_dir, original):
    """The first case: a sensor whose geo file does not load refuses to start."""
    path = os.path.join(geo_dir, SOURCES[2][1])
    damage(path, original)
    text, _ = config(server.sock, pcap, geo_dir)
    jl = os.path.join(server.dir, "bad.jsonl")
    r = d.run_darkscope(text, ["--jsonl", jl], timeout=60, quiet=True)
    restore(path, original)
    checks.eq("bad arguments: damaged geo file at start: exit code", r.rc, 2)
    want = "%s:%d: cc:" % (path, CORRUPT_KEEP + 1)
    checks.ok(want in r.err, "bad arguments: damaged geo file at start: stderr names %r" % want)
    checks.ok(not os.path.exists(jl) or os.path.getsize(jl) == 0,
              "bad arguments: damaged geo file at start: no JSON lines written")


class Sampler:
    """/darkscope/stats packets over time; every sample must exceed the last."""

    def __init__(self, tel):
        self.tel = tel
        self.t0 = time.monotonic()
        self.samples = []

    def sample(self, note=""):
        s = self.tel.cmd("/darkscope/stats")
        self.samples.append((time.monotonic() - self.t0, s["packets"], note))
        return s

    def run_for(self, seconds, note=""):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            # Sleep first: a sample taken right after the caller's own
            # sample() may see no new burst yet (slow sanitized builds).
            time.sleep(0.25)
            self.sample(note)


def main():
    geo_shared = os.path.join(d.shared_data(), "geo")
    absent = [n for _, n, _ in SOURCES if not os.path.exists(os.path.join(geo_shared, n))]
    if absent:
        d.skip("geo data missing in %s: %s" % (geo_shared, ", ".join(absent)))
    d.darkscope_bin()
    d.gen_bin()
    d.redis_server_bin()
    tshark = d.tshark_bin()
    checks = d.Checks()
    work = d.tmpdir("georeload")
    geo_dir = os.path.join(work, "geo")
    os.mkdir(geo_dir)
    for _, name, _ in SOURCES:
        shutil.copyfile(os.path.join(geo_shared, name), os.path.join(geo_dir, name))
    damaged = os.path.join(geo_dir, SOURCES[2][1])
    original = os.path.join(geo_shared, SOURCES[2][1])

    pcap = d.run_gen(os.path.join(work, "loop.pcap"), packets=PACKETS, duration="1m", seed=11)
    loop_feed, ref = reference(pcap, tshark, geo_dir)
    d.log("     capture: %d frames, %d to the feed; reference per loop: %s" % (
        PACKETS, loop_feed, ", ".join("%s %d" % (k, v[0]) for k, v in sorted(
            ref["src_country"].items(), key=lambda kv: -kv[1][0])[:6])))

    server = d.RedisServer("georeload").start()
    case_bad_arguments(checks, server, pcap, geo_dir, original)

    text, prefix = config(server.sock, pcap, geo_dir)
    jl = os.path.join(work, "reload.jsonl")
    bg = d.Background(text, ["--jsonl", jl])
    started = wait_log(bg, r"worker \d+ on lcore \d+ polls", 1, timeout=60)
    sock_path = None
    deadline = time.monotonic() + 10
    while sock_path is None and time.monotonic() < deadline:
        sock_path = next((p for p in telemetry_paths(prefix) if os.path.exists(p)), None)
        time.sleep(0.05)
    if not started or sock_path is None:
        bg.signal(signal.SIGKILL)
        d.die("sensor did not start (no worker line or no telemetry socket in %s); "
              "stderr:\n%s" % (telemetry_paths(prefix), bg.stderr()[-3000:]))
    tel = Telemetry(sock_path)
    samp = Sampler(tel)
    samp.run_for(2.0, "start")
    reload_times = []

    def reload_and_wait(trigger, what, pattern, n):
        t = time.monotonic()
        trigger()
        found = wait_log(bg, pattern, n, timeout=60)
        took = time.monotonic() - t
        reload_times.append((what, round(samp.samples[-1][0], 1), round(took, 2)))
        samp.run_for(1.5, what)
        return found, took

    done = r"geo: reloaded \(generation (\d+)\)"
    failed = r"geo: reload failed, the current table stays: (.*)$"
    for i in range(VALID_SIGHUPS):
        found, took = reload_and_wait(lambda: bg.signal(signal.SIGHUP), "SIGHUP %d" % (i + 1),
                                      done, i + 1)
        checks.eq("SIGHUP %d with valid files: reloads logged as done (%.2f s)" % (i + 1, took),
                  len(found), i + 1)

    damage(damaged, original)
    found, took = reload_and_wait(lambda: bg.signal(signal.SIGHUP), "SIGHUP damaged", failed, 1)
    want = "%s:%d: cc: expected a two-letter country code, got \"JPN\"" % (damaged,
                                                                           CORRUPT_KEEP + 1)
    checks.eq("SIGHUP with a damaged file: failure logged with file:line (%.2f s)" % took,
              found[:1], [want])
    samp.run_for(4.0, "damaged file, old table")
    checks.eq("SIGHUP with a damaged file: reloads logged as done (unchanged)",
              len(re.findall(done, bg.stderr())), VALID_SIGHUPS)

    restore(damaged, original)
    reply = []
    found, took = reload_and_wait(lambda: reply.append(tel.cmd("/darkscope/reload")),
                                  "telemetry reload", done, VALID_SIGHUPS + 1)
    checks.eq("/darkscope/reload: reply", reply, ["reload requested"])
    checks.eq("/darkscope/reload after the restore: reloads logged as done (%.2f s)" % took,
              len(found), VALID_SIGHUPS + 1)
    stats = samp.sample("stats")
    checks.eq("/darkscope/stats geo_reloads", stats.get("geo_reloads"), VALID_SIGHUPS + 2)
    checks.eq("/darkscope/stats geo_reload_failures", stats.get("geo_reload_failures"), 1)
    # The generation of the table in force, as the last "reloaded" line names it.
    checks.eq("/darkscope/stats geo_generation vs the last reload logged",
              stats.get("geo_generation"), int(found[-1]) if found else None)
    samp.run_for(2.0, "after")
    tel.close()
    bg.signal(signal.SIGTERM)
    res = bg.wait(120)
    checks.eq("exit code after SIGTERM", res.rc, 0)

    # The workers never stalled: the count grew between every two samples.
    stalls = [(a, b) for a, b in zip(samp.samples, samp.samples[1:]) if b[1] <= a[1]]
    for a, b in stalls[:5]:
        d.log("     no progress between %.2f s (%d, %s) and %.2f s (%d, %s)" % (
            a[0], a[1], a[2], b[0], b[1], b[2]))
    rates = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(samp.samples, samp.samples[1:])]
    checks.ok(not stalls and len(samp.samples) > 20,
              "packets grew between all %d telemetry samples (rate min %.2f, max %.2f Mpps)"
              % (len(samp.samples), min(rates) / 1e6, max(rates) / 1e6))
    for what, at, took in reload_times:
        d.log("     %-18s at %5.1f s: logged after %.2f s" % (what, at, took))
    d.log("     tables built (log, start and each good reload): %s ms" % ", ".join(
        re.findall(r"geo: .* built in (\d+) ms", res.err)))

    lines = d.read_jsonl(jl) if os.path.exists(jl) else []
    d.check_jsonl_shape(checks, "reload run", lines, [FEED])
    m = re.search(r"port %s: rx (\d+) packets" % PORT, res.err)
    port_rx = int(m.group(1)) if m else None
    checks.eq("rx_packets summed over minutes vs the port's rx at exit",
              d.sum_counter(lines, "rx_packets"), port_rx)
    checks.eq("port.%s.rx_packets summed over minutes vs the port's rx at exit" % PORT,
              d.sum_counter(lines, "port.%s.rx_packets" % PORT), port_rx)

    idx = d.index_jsonl(lines)
    minutes = sorted(m for f, m in idx if f == FEED)
    checks.ok(len(minutes) >= 1, "minutes written: %d" % len(minutes))
    for mi in minutes:
        ln = idx[(FEED, mi)]
        c = ln["counters"]
        n = d._num(ln["packets"])
        tag = "minute %s%s" % (mi[11:16], " (partial)" if ln["partial"] else "")
        checks.eq("%s: feed %d + outside + non_ip + malformed vs rx_packets" % (tag, n),
                  n + c["outside"] + c["non_ip"] + c["malformed"], c["rx_packets"])
        workers = {k: v for k, v in c.items() if re.fullmatch(r"worker\.\d+\.packets", k)}
        checks.ok(workers and all(v > 0 for v in workers.values()),
                  "%s: packets per worker %s" % (tag, workers))
        loops = n / float(loop_feed)
        for dim in GEO_DIMS:
            got = {k: (d._num(v["packets"]), d._num(v["sources"]))
                   for k, v in ln["dims"][dim].items()}
            checks.eq("%s: %s packets summed vs feed packets" % (tag, dim),
                      sum(p for p, _ in got.values()), n)
            out = []
            for k in sorted(set(got) | set(ref[dim])):
                p_v, s_v = ref[dim].get(k, (0, 0))
                g_p, g_s = got.get(k, (0, 0))
                if abs(g_p - loops * p_v) > p_v:
                    out.append("%s packets %d, expected %.0f +- %d" % (k, g_p, loops * p_v, p_v))
                elif n >= loop_feed and g_s != s_v:
                    out.append("%s sources %d, expected %d" % (k, g_s, s_v))
            for o in out[:5]:
                d.log("     %s: %s %s" % (tag, dim, o))
            checks.ok(not out, "%s: %s: %d values within one loop of %.1f loops x reference "
                      "(sources exact), off %d" % (tag, dim, len(set(got) | set(ref[dim])),
                                                   loops, len(out)))
        share = {k: d._num(ln["dims"]["src_country"].get(k, {}).get("packets", 0)) / float(n)
                 for k in ("unrouted", "unknown")} if n else {}
        d.log("     %s: rx %d, feed %d packets; unrouted %.4f%% unknown %.4f%% of the feed; "
              "reference %.4f%% %.4f%%" % (
                  tag, c["rx_packets"], n,
                  100 * share.get("unrouted", 0), 100 * share.get("unknown", 0),
                  100.0 * ref["src_country"].get("unrouted", (0, 0))[0] / loop_feed,
                  100.0 * ref["src_country"].get("unknown", (0, 0))[0] / loop_feed))
    with server.client() as cl:
        d.compare_json_redis(checks, "reload run", idx, cl, feeds=[FEED])
    server.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
