#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""darkscope --check-config, end to end.

Runs the real program ($DARKSCOPE) the way an operator does before a restart:
the reference configuration must pass (exit 0, "FILE: OK" on stdout), and a
broken file must fail with exit status 2 and exactly one line on stderr,
"FILE:LINE:COL: KEY: message", whose position and key point at the mistake.
The positions are counted by hand from the snippets below (1-based), not
taken from the program's output. --check-config must not start EAL, so this
runs without hugepages, NICs or root.

Exits 0 on success, 1 on failure, 77 (skipped) when $DARKSCOPE is not built.
"""

import os
import re
import subprocess
import sys
import tempfile

# The smallest valid file ends most snippets.
FEED = "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n"

failures = 0


def report(ok, name, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + "check_config: " + name
          + ("" if ok or not detail else ": " + detail))
    if not ok:
        failures += 1


def run(exe, args, cwd=None):
    return subprocess.run([exe] + args, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def expect_error(exe, name, path, line, col, key, message_start, cwd=None, arg=None):
    """The file at path (given to darkscope as arg) must be refused with one precise line."""
    arg = path if arg is None else arg
    p = run(exe, ["--check-config", arg], cwd=cwd)
    problems = []
    if p.returncode != 2:
        problems.append("exit status %d, want 2" % p.returncode)
    if p.stdout != "":
        problems.append("stdout %r, want nothing" % p.stdout)
    lines = p.stderr.splitlines()
    if len(lines) != 1 or not p.stderr.endswith("\n"):
        problems.append("stderr %r, want exactly one line" % p.stderr)
    else:
        # The file as given, then LINE:COL: KEY: message. Keys never hold ':'.
        m = re.fullmatch(re.escape(arg) + r":(\d+):(\d+): ([^:]+): (.+)", lines[0])
        if m is None:
            problems.append("stderr %r is not FILE:LINE:COL: KEY: message" % lines[0])
        else:
            got = (int(m.group(1)), int(m.group(2)), m.group(3))
            if got != (line, col, key):
                problems.append("position and key %r, want %r" % (got, (line, col, key)))
            if not m.group(4).startswith(message_start):
                problems.append("message %r, want it to start with %r"
                                % (m.group(4), message_start))
    report(not problems, name, "; ".join(problems))


def main():
    exe = os.environ.get("DARKSCOPE")
    root = os.environ.get("DS_SOURCE_ROOT",
                          os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if not exe or not os.access(exe, os.X_OK):
        print("skip check_config: $DARKSCOPE is not an executable (%r)" % exe)
        return 77
    reference = os.path.join(root, "config", "darkscope.yaml")

    # Bad arguments first: --check-config without its FILE is refused, nothing is "OK".
    p = run(exe, ["--check-config"])
    report(p.returncode != 0 and "OK" not in p.stdout, "--check-config without FILE is refused",
           "exit status %d, stdout %r" % (p.returncode, p.stdout))

    p = run(exe, ["--check-config", reference])
    want = reference + ": OK\n"
    report(p.returncode == 0 and p.stdout == want and p.stderr == "",
           "config/darkscope.yaml is valid",
           "exit status %d, stdout %r (want %r), stderr %r"
           % (p.returncode, p.stdout, want, p.stderr))

    with tempfile.TemporaryDirectory(prefix="ds_check_config_") as tmp:
        def write(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        path = write("unknown_key.yaml", "sensor:\n  id: x\nredis:\n  prot: 6379\n" + FEED)
        expect_error(exe, "unknown key", path, 4, 3, "redis.prot",
                     "unknown key (expected one of: enabled, host, port,")

        path = write("bad_type.yaml", "redis:\n  port: http\n" + FEED)
        expect_error(exe, "value of the wrong type", path, 2, 9, "redis.port",
                     'expected an integer 1-65535, got "http"')

        path = write("not_a_list.yaml", "feeds:\n  name: a\n")
        expect_error(exe, "mapping where a list is expected", path, 2, 3, "feeds",
                     "expected a list of 1-64 feeds, got a mapping")

        path = write("syntax.yaml", "redis:\n  port: 1\n bad: 2\n" + FEED)
        expect_error(exe, "YAML syntax error", path, 3, 2, "yaml",
                     "did not find expected key")

        path = write("host_bits.yaml", "feeds:\n  - name: a\n    prefixes: [198.18.1.0/16]\n")
        expect_error(exe, "prefix with host bits", path, 3, 16, "feeds[0].prefixes[0]",
                     "198.18.1.0/16: host bits set (did you mean 198.18.0.0/16?)")

        path = os.path.join(tmp, "no_such_file.yaml")
        expect_error(exe, "missing file", path, 1, 1, "file",
                     "cannot open: No such file or directory")

        # The message names the file exactly as it was given on the command line.
        write("relative.yaml", "redis:\n  port: 0\n" + FEED)
        expect_error(exe, "relative path kept as given", None, 2, 9, "redis.port",
                     'expected an integer 1-65535, got "0"', cwd=tmp, arg="relative.yaml")

    print("%s: %d failure(s)" % ("FAIL" if failures else "PASS", failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
