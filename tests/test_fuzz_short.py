#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A short run of every libFuzzer target (tests/fuzz, docs/FUZZING.md).

The fuzz targets need clang, libFuzzer and a build in which every library is
instrumented, so this test makes that build itself, next to the one it runs
from: <build>/fuzz-short, configured with CC=clang and -Dfuzz=true (kept
between runs, so a second run only rebuilds what changed). It then writes the
seed corpus (tests/fuzz/make_corpus.py: frames of the real captures, the
configuration files, slices of the geo data, tests/fuzz/seeds) into a
temporary directory and runs each target on it for a few seconds.

Cases, one line each:
  0. bad arguments: a target given an input file that does not exist must
     fail (so a target that never runs cannot pass), and the corpus writer
     must refuse a missing output directory argument;
  1. every input in tests/fuzz/seeds/<target>/ (hand-written seeds and the
     regression inputs of bugs the fuzzers found) runs once, clean;
  2. every target fuzzes for FUZZ_SECONDS (default 8) from the corpus.
A case fails on any non-zero exit (libFuzzer exits 77 after a crash, a leak or
a sanitizer report, which must not reach meson as "skipped"), and on any
sanitizer or crash line in the output. The executions, exec/s and coverage of
each run are printed. Exit 77 when clang or libFuzzer is missing.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("DS_SOURCE_ROOT") or os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))
BUILD = os.environ.get("DS_BUILD_ROOT") or os.path.join(SRC, "build")
SECONDS = int(os.environ.get("FUZZ_SECONDS", "8"))

TARGETS = ["decode", "config", "watch", "geo_pfx2as", "geo_pfx2as_gz", "geo_iploc_asn",
           "geo_iploc_country", "geo_rir", "geo_maxmind_asn", "geo_maxmind_country"]
BAD = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                 r"libFuzzer)|runtime error:|SUMMARY: |deadly signal|==\d+==ERROR")


def dict_of(target):
    name = "config.dict" if target in ("config", "watch") else \
        "geo.dict" if target.startswith("geo_") else None
    return ["-dict=" + os.path.join(SRC, "tests", "fuzz", name)] if name else []


def skip(msg):
    print("skip: " + msg)
    sys.exit(77)


def have_libfuzzer(clang, tmp):
    src = os.path.join(tmp, "probe.c")
    with open(src, "w") as f:
        f.write("#include <stddef.h>\n#include <stdint.h>\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                "{ (void)d; (void)n; return 0; }\n")
    r = subprocess.run([clang, "-fsanitize=fuzzer,address,undefined", src, "-o",
                        os.path.join(tmp, "probe")], capture_output=True, text=True)
    return r.returncode == 0


def build(clang):
    """Configure (once) and build <build>/fuzz-short; returns its path."""
    bdir = os.path.join(BUILD, "fuzz-short")
    env = dict(os.environ, CC=clang)
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        shutil.rmtree(bdir, ignore_errors=True)
        r = subprocess.run(["meson", "setup", bdir, SRC, "-Dfuzz=true"], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stdout[-3000:] + r.stderr[-3000:])
            print("FAIL build: meson setup -Dfuzz=true")
            sys.exit(1)
    t0 = time.time()
    r = subprocess.run(["ninja", "-C", bdir] +
                       ["tests/fuzz/fuzz_" + t for t in TARGETS],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-5000:] + r.stderr[-3000:])
        print("FAIL build: ninja")
        sys.exit(1)
    print("ok   build: %d targets in %s (%.0f s)" % (len(TARGETS), bdir, time.time() - t0))
    return bdir


def run(exe, args, timeout):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    try:
        r = subprocess.run([exe] + args, capture_output=True, text=True, env=env,
                           timeout=timeout, errors="replace")
    except subprocess.TimeoutExpired:
        return 1, "timed out after %d s" % timeout
    return r.returncode, r.stdout + r.stderr


def stats(out):
    """Executions, exec/s, cov and ft from -print_final_stats and the last status line."""
    def last(pat):
        m = re.findall(pat, out)
        return m[-1] if m else "?"
    return (last(r"stat::number_of_executed_units:\s+(\d+)"),
            last(r"stat::average_exec_per_sec:\s+(\d+)"),
            last(r"cov: (\d+)"), last(r"ft: (\d+)"))


def main():
    clang = shutil.which("clang") or shutil.which("clang-14")
    if clang is None:
        skip("clang not found (Debian: clang libclang-rt-14-dev)")
    if shutil.which("meson") is None or shutil.which("ninja") is None:
        skip("meson or ninja not found")
    failures = 0
    tmp = tempfile.mkdtemp(prefix="ds-fuzz-")
    try:
        if not have_libfuzzer(clang, tmp):
            skip("clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing?)")
        bdir = build(clang)
        exe = {t: os.path.join(bdir, "tests", "fuzz", "fuzz_" + t) for t in TARGETS}

        # 0. Bad arguments are refused.
        code, out = run(exe["decode"], [os.path.join(tmp, "no-such-input")], 60)
        ok = code != 0
        r = subprocess.run([sys.executable, os.path.join(SRC, "tests", "fuzz",
                                                         "make_corpus.py")],
                           capture_output=True, text=True)
        ok = ok and r.returncode != 0
        print("%s bad arguments: missing input refused (exit %d), corpus writer without "
              "an output dir refused (exit %d)" % ("ok  " if ok else "FAIL", code,
                                                    r.returncode))
        failures += not ok

        corpus = os.path.join(tmp, "corpus")
        r = subprocess.run([sys.executable, os.path.join(SRC, "tests", "fuzz",
                                                         "make_corpus.py"), corpus],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            print("FAIL corpus: make_corpus.py exited %d" % r.returncode)
            return 1
        print("ok   corpus: " + ", ".join(" ".join(l.split()[:2]) for l in
                                           r.stdout.splitlines()))

        # 1. The repository's seeds and regression inputs, once each.
        for t in TARGETS:
            d = os.path.join(SRC, "tests", "fuzz", "seeds", t)
            files = sorted(os.path.join(corpus, t, f) for f in os.listdir(
                os.path.join(corpus, t)) if f.startswith("repo-"))
            if not os.path.isdir(d) or not files:
                continue
            code, out = run(exe[t], files, 120)
            ok = code == 0 and not BAD.search(out)
            print("%s seeds %s: %d inputs from tests/fuzz/seeds, once each (exit %d)" % (
                "ok  " if ok else "FAIL", t, len(files), code))
            if not ok:
                print(out[-4000:])
            failures += not ok

        # 2. A short fuzzing run of each target.
        for t in TARGETS:
            art = os.path.join(tmp, "artifacts-" + t) + os.sep
            os.makedirs(art)
            args = dict_of(t) + ["-max_total_time=%d" % SECONDS, "-print_final_stats=1",
                                 "-rss_limit_mb=2048", "-timeout=30",
                                 "-artifact_prefix=" + art, os.path.join(corpus, t)]
            code, out = run(exe[t], args, SECONDS + 300)
            ok = code == 0 and not BAD.search(out)
            execs, rate, cov, ft = stats(out)
            print("%s fuzz %s: %s s, %s execs (%s/s), cov %s, ft %s (exit %d)" % (
                "ok  " if ok else "FAIL", t, SECONDS, execs, rate, cov, ft, code))
            if not ok:
                print(out[-6000:])
                for f in os.listdir(art):
                    print("  input that failed: %s (kept)" % os.path.join(art, f))
                    keep = os.path.join(BUILD, "fuzz-short", "failed-" + t + "-" + f)
                    shutil.copy(os.path.join(art, f), keep)
                    print("  copied to %s" % keep)
            failures += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
