#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark: the whole sensor on one worker core against dpdk-testpmd rxonly.

What it does (docs/PERFORMANCE.md has the figures of one run and how to read
them):

 1. Captures from darkscope-gen, --packets each (default 1 000 000):
    `mix`, the generator's darknet model (about 75 % 60-78-byte TCP SYNs,
    VLAN and QinQ tags, IPv6, UDP, ICMP, backscatter), and `worst`, its
    --spray (every packet a SYN from a source uniform over the public IPv4
    space, random port, random option layout and window: every geo lookup
    misses the cache and every dictionary overflows).
 2. A real-size prefix table: ../shared/data/geo's RouteViews pfx2as and
    ip-location-db country ranges (country_source: prefix, so two FIB
    lookups per packet) when present, else a generated pfx2as file of
    1 000 000 prefixes.
 3. For each memory mode (--no-huge, and hugepages when /dev/hugepages is
    mounted with enough free pages) and each capture, in the same run:
    dpdk-testpmd --forward-mode=rxonly on `net_pcap0,rx_pcap=FILE,infinite_rx=1`
    with the same EAL flags and burst, then darkscope with one worker on the
    same vdev: every dimension, geo, the signatures and four watch rules,
    Redis on (a local redis-server, unix socket), --duration seconds each.
 4. A longer darkscope run (--boundaries minute boundaries, default 3) on
    the worst capture, for the heaviest minute's merge and Redis write and
    the worker's longest stall at the minute swap.
 5. Correctness: for every darkscope run, the per-port totals it wrote to
    Redis equal the rx packets of the port.
 6. Scaling: one worker against two on a port with two rx queues (each
    replaying its own --scaling-packets worst-case capture), Redis off, the
    control thread sharing the first worker's CPU. Flushes off means no
    minute's merge either: each run starts early enough in a wall-clock
    minute to end inside it, and is repeated when a worker still swapped
    minutes. --scaling-rounds pairs of runs, alternated; the median ratio.

It prints one table; nothing is asserted about speed (timing is noisy on
shared machines). Exit status 1 only when a run fails or counts disagree.

Usage: bench_pipeline.py [--packets N] [--duration S] [--boundaries N]
                         [--modes nohuge,huge] [--captures mix,worst]
                         [--scaling-packets N] [--scaling-rounds N]
Environment: DARKSCOPE, DARKSCOPE_GEN, REDIS_SERVER, DS_SHARED_DATA (as meson
sets them), TESTPMD (default: dpdk-testpmd from PATH).
"""

import argparse
import glob
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import dstest as d  # noqa: E402

MBUF_BYTES = 2432               # one 2 KiB mbuf with its header and headroom, in the pool
WATCH = """watch:
  - name: window-5656
    match: {proto: tcp, tcp_flags: S/SA, window: 5656}
  - name: telnet-mirai-ttl
    match: {proto: tcp, dst_port: [23, 2323], seq_eq_dst: true, ttl: 30-64}
  - name: rdp-nmap
    match: {proto: tcp, dst_port: 3389, window: 1024, options: "MSS"}
  - name: udp-amplifiers
    match: {proto: udp, dst_port: [53, 123, 161, 389, 1900, 11211]}
"""


def log(msg):
    print(msg, flush=True)


def hugepages_free():
    """2 MiB pages free, when hugetlbfs is mounted at /dev/hugepages."""
    try:
        with open("/proc/mounts") as f:
            if not any(" /dev/hugepages hugetlbfs " in line for line in f):
                return 0
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            return int(f.read())
    except OSError:
        return 0


def make_pfx2as(path, n, seed=7):
    """n distinct random prefixes /8../24 of public-looking space, random origin ASes."""
    rnd = random.Random(seed)
    seen = set()
    with open(path, "w") as f:
        while len(seen) < n:
            plen = rnd.choice((16, 18, 19, 20, 21, 22, 22, 23, 24, 24, 24, 24))
            addr = rnd.getrandbits(32) & (0xffffffff << (32 - plen)) & 0xffffffff
            if (addr >> 24) in (0, 10, 127) or addr >> 28 >= 14 or (addr, plen) in seen:
                continue
            seen.add((addr, plen))
            f.write("%d.%d.%d.%d\t%d\t%d\n" % (addr >> 24, addr >> 16 & 255, addr >> 8 & 255,
                                               addr & 255, plen, rnd.randrange(1, 400000)))


def geo_section(tmp):
    shared = d.shared_data()
    pfx = os.path.join(shared, "geo", "routeviews-rv2-20240406.pfx2as.gz") if shared else None
    cc = os.path.join(shared, "geo", "asn-country-ipv4-num.csv") if shared else None
    if pfx and os.path.exists(pfx) and os.path.exists(cc):
        return ("geo:\n  country_source: prefix\n  home_country: JP\n  sources:\n"
                "    - {format: caida-pfx2as, path: %s}\n"
                "    - {format: ip-location-db-country, path: %s}\n" % (pfx, cc),
                "RouteViews pfx2as 2024-04-06 + ip-location-db country (country_source prefix)")
    path = os.path.join(tmp, "generated.pfx2as")
    make_pfx2as(path, 1000000)
    return ("geo:\n  country_source: asn\n  home_country: JP\n  sources:\n"
            "    - {format: caida-pfx2as, path: %s}\n" % path,
            "generated pfx2as, 1 000 000 prefixes (../shared/data absent)")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def worker_cpu(pid):
    """CPU seconds the process's lcore worker thread (rte-worker-N) has run.

    The machine is shared: a busy neighbour takes time from the worker, and
    wall-clock rates would measure the neighbour. Packets per CPU second of
    the worker thread measure the worker, for testpmd and darkscope alike.
    """
    total = 0.0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if not f.read().startswith("rte-worker"):
                    continue
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return total


def release_prefix(prefix):
    """What a DPDK process of this file prefix leaves behind: its runtime
    directory, and its hugepage files. EAL keeps those after exit (unless
    --huge-unlink), and the pages stay taken until the next process of the
    same prefix reuses them; every run here has a prefix of its own, so
    without this a harness run took 2 179 of 3 300 pages with it."""
    shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[2:3] == ["hugetlbfs"]]
    for mnt in mounts:
        for path in glob.glob(os.path.join(mnt, prefix + "map_*")):
            try:
                os.unlink(path)
            except OSError:
                pass


def eal_flags(huge, memory_mb, prefix):
    flags = ["-m", str(memory_mb), "--no-pci", "--no-shconf", "--file-prefix", prefix]
    if not huge:
        flags.insert(0, "--no-huge")
    return flags


def run_testpmd(testpmd, pcap, huge, memory_mb, mbufs, burst, seconds):
    """Median Rx-pps of testpmd's per-second statistics after two seconds of
    warm-up, and packets per CPU second of its forwarding thread."""
    prefix = "bench-pmd-%d" % os.getpid()
    cmd = [testpmd, "-l", "0,1"] + eal_flags(huge, memory_mb, prefix) + [
        "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap, "--",
        "--forward-mode=rxonly", "--burst=%d" % burst, "--total-num-mbufs=%d" % mbufs,
        "--nb-cores=1", "--rxq=1", "--txq=1", "--stats-period=1", "--no-lsc-interrupt"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    pps = []
    t_end = None
    for raw in p.stdout:
        line = raw.decode(errors="replace")
        m = re.search(r"Rx-pps:\s+(\d+)", line)
        if m:
            if t_end is None:
                t_end = time.monotonic() + seconds
            pps.append(int(m.group(1)))
            if time.monotonic() >= t_end:
                break
    cpu = worker_cpu(p.pid)
    p.send_signal(signal.SIGINT)
    rest = p.stdout.read().decode(errors="replace")
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    total = [int(x) for x in re.findall(r"RX-packets:\s+(\d+)\s+RX-dropped", rest)]
    release_prefix(prefix)
    samples = [x for x in pps[2:] if x > 0]
    if not samples or not total or cpu <= 0:
        raise RuntimeError("testpmd printed no Rx-pps (exit %s): %s" % (p.returncode, cmd))
    return statistics.median(samples), total[-1] / cpu


def sensor_config(tmp, pcap, huge, memory_mb, mbufs, burst, geo, redis_sock, tag):
    prefix = "bench-ds-%d-%s" % (os.getpid(), tag)
    return prefix, """sensor: {id: bench}
eal:
  lcores: "0,1"
  main_lcore: 0
  huge_pages: %s
  memory_mb: %d
  file_prefix: %s
  extra_args: ["--no-shconf"]
capture: {burst: %d, mbufs: %d, time_source: clock, stats_interval: 0}
ports:
  - {name: pcap, device: "net_pcap0,rx_pcap=%s,infinite_rx=1"}
feeds:
  - name: darknet
    prefixes: [198.18.0.0/15, "2001:db8:d5::/48"]
redis: {unix_socket: %s, retention: 1h, queue_minutes: 10}
%s%s""" % ("true" if huge else "false", memory_mb, prefix, burst, mbufs, pcap, redis_sock,
           geo, WATCH)


STAGE_RE = re.compile(r"worker 0 stages: decode ([\d.]+), lookup ([\d.]+), count ([\d.]+), "
                      r"rx and other ([\d.]+) cycles/packet; (\d+) minute swaps, longest "
                      r"([\d.]+) us")
WORKER_RE = re.compile(r"worker 0 \(lcore \d+\): (\d+) packets, ([\d.]+) s busy")
PORT_RE = re.compile(r"port pcap: rx (\d+) packets \d+ bytes, imissed (\d+), rx_nombuf (\d+)")
HEAVY_RE = re.compile(r"heaviest minute: merge ([\d.]+) ms, redis write ([\d.]+) ms")
RUN_RE = re.compile(r"worker 0 ran ([\d.]+) s")
BURST_RE = re.compile(r"worker 0 longest burst ([\d.]+) us")
# Every worker's cycles per packet and swaps; opening its first minute counts as one.
SWAPS_RE = re.compile(r"worker \d+ stages: decode ([\d.]+), lookup ([\d.]+), count ([\d.]+), "
                      r"rx and other ([\d.]+) cycles/packet; (\d+) minute swaps")


def exit_stats(text):
    """From a run's exit statistics: minute boundaries the workers crossed
    (-1: no stage line), each worker's cycles per packet, and worker 0's
    longest burst in us (-1: not printed)."""
    found = SWAPS_RE.findall(text)
    burst = BURST_RE.search(text)
    return {"crossed": max(int(x[4]) for x in found) - 1 if found else -1,
            "cycles_each": [sum(float(v) for v in x[:4]) for x in found],
            "burst_us": float(burst.group(1)) if burst else -1.0}


def run_sensor(darkscope, cfg_path, seconds, workers=1):
    """Run the sensor for `seconds` after its workers started, SIGINT, parse the exit log."""
    err_path = cfg_path + ".log"
    with open(err_path, "wb") as ef:
        p = subprocess.Popen([darkscope, "--config", cfg_path], stdout=subprocess.DEVNULL,
                             stderr=ef, stdin=subprocess.DEVNULL)
        # Start-up (loading the capture into mbufs, building the geo tables) is not timed.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 300 and p.poll() is None:
            with open(err_path, errors="replace") as f:
                if f.read().count(" polls ") >= workers:
                    break
            time.sleep(0.2)
        time.sleep(seconds)
        cpu = worker_cpu(p.pid)
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    with open(err_path, errors="replace") as f:
        text = f.read()
    # Every worker's own wall-clock rate over its run, summed: the sensor's rate.
    res = {"rc": p.returncode, "log": err_path, "cpu_s": cpu,
           "mpps_all": sum(float(x) for x in re.findall(r"worker \d+ ran [\d.]+ s, ([\d.]+) Mpps",
                                                        text))}
    for key, rx, names in (("stages", STAGE_RE, ("decode", "lookup", "count", "other", "swaps",
                                                 "swap_us")),
                           ("worker", WORKER_RE, ("packets", "busy_s")),
                           ("port", PORT_RE, ("rx", "imissed", "rx_nombuf")),
                           ("heavy", HEAVY_RE, ("merge_ms", "redis_ms")),
                           ("run", RUN_RE, ("run_s",))):
        m = None
        for m in rx.finditer(text):
            pass
        if m is None:
            raise RuntimeError("no '%s' line in %s (exit %s):\n%s" % (
                key, err_path, p.returncode, text[-3000:]))
        for n, v in zip(names, m.groups()):
            res[n] = float(v)
    res.update(exit_stats(text))
    return res


def port_totals_ok(server, run):
    """Per-port rx of every minute written equals the port's rx packets."""
    with server.client() as c:
        total = 0
        # Minute keys only (ds:bench:YYYYMMDDHHMM:counters); hours and days hold sums too.
        for key in c.call("KEYS", "ds:bench:*:counters"):
            if not re.fullmatch(rb"ds:bench:\d{12}:counters", key if isinstance(key, bytes)
                                else key.encode()):
                continue
            v = c.call("HGET", key, "port.pcap.rx_packets")
            total += int(v or 0)
        c.call("FLUSHDB")
    return total, int(run["rx"])


def run_sensor_in_minute(darkscope, cfg_path, seconds, workers):
    """run_sensor(), started and ended inside one wall-clock minute: no worker
    swaps a minute, so the control thread merges none while it is measured.
    Tried three times; the result says how many boundaries the last crossed."""
    for _ in range(3):
        # Start-up (capture into mbufs, geo tables) takes a few seconds; start
        # at the top of a minute unless there is ample time left in this one.
        left = 60 - time.time() % 60
        if left < seconds + 30:
            time.sleep(left + 0.5)
        r = run_sensor(darkscope, cfg_path, seconds, workers=workers)
        if r["crossed"] == 0:
            break
    return r


def scaling(args, darkscope, gen, tmp, geo, huge):
    """One worker against two, Redis off, the control thread sharing the first
    worker's CPU (lcore map 0@0,1@0,2@1: this machine has two). Each run has
    two rx queues, each replaying its own copy of a worst-case capture; one
    worker polls both, or each worker one."""
    pcaps = []
    for k in range(2):
        path = os.path.join(tmp, "scale%d.pcap" % k)
        subprocess.run([gen, "--out", path, "--packets", str(args.scaling_packets), "--seed",
                        str(21 + k), "--spray"], check=True)
        pcaps.append(path)
    mbufs = 2 * args.scaling_packets + 8192
    memory_mb = max(1024, (2 * mbufs * MBUF_BYTES >> 20) + 1536)
    rates, bad = {1: [], 2: []}, 0
    for rnd, n in [(rnd, n) for rnd in range(args.scaling_rounds) for n in (1, 2)]:
        prefix = "bench-scale-%d-%d" % (os.getpid(), n)
        rx = "[{port: pcap, queue: 0}, {port: pcap, queue: 1}]"
        workers = ("  - {lcore: 1, rx: %s}\n" % rx if n == 1 else
                   "  - {lcore: 1, rx: [{port: pcap, queue: 0}]}\n"
                   "  - {lcore: 2, rx: [{port: pcap, queue: 1}]}\n")
        text = """sensor: {id: bench}
eal:
  lcores: "0@0,1@0,2@1"
  main_lcore: 0
  huge_pages: %s
  memory_mb: %d
  file_prefix: %s
  extra_args: ["--no-shconf"]
capture: {burst: %d, mbufs: %d, time_source: clock, stats_interval: 0}
ports:
  - {name: pcap, device: "net_pcap0,rx_pcap=%s,rx_pcap=%s,infinite_rx=1", rx_queues: 2,
     rss: false}
workers:
%sfeeds:
  - name: darknet
    prefixes: [198.18.0.0/15, "2001:db8:d5::/48"]
redis: {enabled: false}
%s%s""" % ("true" if huge else "false", memory_mb, prefix, args.burst, mbufs, pcaps[0],
           pcaps[1], workers, geo, WATCH)
        cfg = os.path.join(tmp, "scale%d.yaml" % n)
        with open(cfg, "w") as f:
            f.write(text)
        r = run_sensor_in_minute(darkscope, cfg, args.duration, n)
        release_prefix(prefix)
        bad += r["rc"] != 0
        rates[n].append(r["mpps_all"])
        log("  round %d, %d worker(s): %.2f Mpps (port rx %d; cycles/pkt of each worker %s;"
            " minute boundaries crossed: %d)" % (
                rnd + 1, n, r["mpps_all"], r["rx"],
                " ".join("%.0f" % c for c in r["cycles_each"]), r["crossed"]))
    ratios = [two / one for one, two in zip(rates[1], rates[2])]
    log("# scaling: two workers deliver %.2f x one worker (median of %d rounds: %s)" % (
        statistics.median(ratios), len(ratios), ", ".join("%.2f" % x for x in ratios)))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=1000000)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per measured run")
    ap.add_argument("--boundaries", type=int, default=3,
                    help="minute boundaries of the long run (0: skip it)")
    ap.add_argument("--modes", default="nohuge,huge")
    ap.add_argument("--captures", default="mix,worst")
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--scaling-packets", type=int, default=300000,
                    help="packets per queue of the one- vs two-worker runs (0: skip them)")
    ap.add_argument("--scaling-rounds", type=int, default=3,
                    help="pairs of one- and two-worker runs, alternated")
    args = ap.parse_args()

    darkscope = d.darkscope_bin()
    gen = d.gen_bin()
    testpmd = os.environ.get("TESTPMD") or shutil.which("dpdk-testpmd")
    if not testpmd:
        d.skip("dpdk-testpmd not found (Debian package dpdk-dev: apt-get install dpdk-dev)")
    server = d.RedisServer("bench")
    server.start()
    tmp = d.tmpdir("bench")
    geo, geo_name = geo_section(tmp)
    mbufs = args.packets + 8192
    # Without hugepages EAL needs about twice the pool's size (its 4 KiB-page
    # segments are not packed); with them the same figure leaves room to spare.
    memory_mb = max(1024, (2 * mbufs * MBUF_BYTES >> 20) + 1536)
    modes = []
    for mode in args.modes.split(","):
        if mode == "huge" and hugepages_free() * 2 < memory_mb:
            log("# hugepages: %d free 2 MiB pages, %d MiB needed: skipping the hugepage runs"
                " (as root: echo %d > /proc/sys/vm/nr_hugepages; mount -t hugetlbfs nodev "
                "/dev/hugepages)" % (hugepages_free(), memory_mb, memory_mb // 2 + 64))
            continue
        modes.append(mode)

    caps = {}
    for name in args.captures.split(","):
        path = os.path.join(tmp, name + ".pcap")
        extra = ["--spray"] if name == "worst" else []
        subprocess.run([gen, "--out", path, "--packets", str(args.packets), "--seed", "11"]
                       + extra, check=True)
        caps[name] = path
    log("# %d packets per capture; geo: %s; burst %d; %d s per run; mbufs %d, memory %d MiB"
        % (args.packets, geo_name, args.burst, args.duration, mbufs, memory_mb))

    rows, bad = [], 0
    for mode in modes:
        huge = mode == "huge"
        for name, pcap in caps.items():
            pmd, pmd_cpu = run_testpmd(testpmd, pcap, huge, memory_mb, mbufs, args.burst,
                                       args.duration)
            prefix, text = sensor_config(tmp, pcap, huge, memory_mb, mbufs, args.burst, geo,
                                         server.sock, "%s-%s" % (mode, name))
            cfg = os.path.join(tmp, "%s-%s.yaml" % (mode, name))
            with open(cfg, "w") as f:
                f.write(text)
            r = run_sensor(darkscope, cfg, args.duration)
            release_prefix(prefix)
            written, rx = port_totals_ok(server, r)
            ok = r["rc"] == 0 and written == rx
            bad += not ok
            mpps = r["packets"] / r["run_s"] / 1e6
            ds_cpu = r["packets"] / r["cpu_s"] / 1e6
            # The share of the wall clock the worker had the CPU: stage cycles are
            # TSC differences, so a descheduled worker inflates them by 1/share.
            share = min(1.0, r["cpu_s"] / r["run_s"])
            st = [r[k] * share for k in ("decode", "lookup", "count", "other")]
            rows.append((mode, name, pmd / 1e6, mpps, pmd_cpu / 1e6, ds_cpu,
                         ds_cpu / (pmd_cpu / 1e6), sum(st), st[0], st[1], st[2], st[3],
                         "%.0f %%" % (100 * share), int(r["imissed"]), int(r["rx_nombuf"]),
                         "yes" if ok else "NO (%d of %d)" % (written, rx)))
            log("  %s %s: testpmd %.2f Mpps (%.2f per worker CPU s), darkscope %.2f Mpps "
                "(%.2f per worker CPU s) (log %s)" % (mode, name, pmd / 1e6, pmd_cpu / 1e6,
                                                      mpps, ds_cpu, r["log"]))

    heads = ("memory", "capture", "testpmd Mpps wall", "darkscope Mpps wall",
             "testpmd Mpps/CPU", "darkscope Mpps/CPU", "ratio (CPU)", "cycles/pkt",
             "decode", "lookup", "count", "rx+other", "worker CPU share", "imissed",
             "rx_nombuf", "Redis = rx")
    fmt = "| " + " | ".join(["%s"] * len(heads)) + " |"
    log("")
    log(fmt % heads)
    log("|" + "---|" * len(heads))
    for row in rows:
        log(fmt % tuple(("%.2f" % v) if isinstance(v, float) else v for v in row))

    if args.boundaries > 0 and "worst" in caps:
        mode = modes[-1]
        prefix, text = sensor_config(tmp, caps["worst"], mode == "huge", memory_mb, mbufs,
                                     args.burst, geo, server.sock, "long")
        cfg = os.path.join(tmp, "long.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        # Sealing needs the minute after the last boundary to start: run past it.
        secs = 60 * args.boundaries + (60 - time.time() % 60) + 5
        log("\n# long run: worst capture, %s, %.0f s, %d minute boundaries" % (
            mode, secs, args.boundaries))
        r = run_sensor(darkscope, cfg, secs)
        release_prefix(prefix)
        written, rx = port_totals_ok(server, r)
        bad += not (r["rc"] == 0 and written == rx)
        log("  %.2f Mpps; heaviest minute: merge %.1f ms, Redis write %.1f ms (%.2f %% of the "
            "minute); %d minute swaps, longest worker stall %.1f us; longest burst %.1f us;"
            " imissed %d, rx_nombuf %d; Redis per-port total %d of rx %d" % (
                r["packets"] / r["run_s"] / 1e6, r["merge_ms"], r["redis_ms"],
                (r["merge_ms"] + r["redis_ms"]) / 600.0, r["swaps"], r["swap_us"],
                r["burst_us"], r["imissed"], r["rx_nombuf"], written, rx))
    if args.scaling_packets > 0:
        bad += scaling(args, darkscope, gen, tmp, geo, modes[-1] == "huge")
    server.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
