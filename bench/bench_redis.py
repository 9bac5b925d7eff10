#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Runs bench_redis (the heaviest minute's Redis write, bench_redis.c) against
a throw-away redis-server, then prints the server's own time per command, so
that the write's cost can be split between the commands of its transaction.

Usage: bench_redis.py [BENCH_REDIS_PROGRAM] (meson passes it; default
build/bench/bench_redis). Environment: REDIS_SERVER.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import dstest as d  # noqa: E402


def main():
    prog = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("DS_BUILD_ROOT", "build"), "bench", "bench_redis")
    server = d.RedisServer("bench-redis").start()
    try:
        rc = subprocess.call([prog, server.sock])
        if rc != 0:
            return rc
        with server.client() as c:
            stats = c.call("INFO", "commandstats")
        rows = []
        for line in stats.splitlines():
            if not line.startswith("cmdstat_"):
                continue
            name, _, fields = line[len("cmdstat_"):].partition(":")
            f = dict(kv.split("=", 1) for kv in fields.split(","))
            rows.append((int(f["usec"]), name, int(f["calls"])))
        print("server time by command (all writes above; EXEC includes the commands"
              " below it, EVALSHA those the script ran):")
        for usec, name, calls in sorted(rows, reverse=True)[:12]:
            print("  %-18s %8d calls %10.1f ms" % (name, calls, usec / 1000.0))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
