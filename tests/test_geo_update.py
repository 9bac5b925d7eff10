#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/geo-update, end to end, against the real npm registry.

The script must fetch the pinned ip-location-db packages with npm or, when
npm is missing, with Python alone; check their integrity before extracting;
leave the directory untouched on a mismatch; skip the download when the
directory already holds the pinned version; and treat CAIDA and the NRO as
optional. The expected values come from outside the script: the integrity
strings of the brief (npm's), the row counts and sha256 sums of
../shared/data/SOURCES.md (the same package version), rows the test counts
itself, and the files in $DS_SHARED_DATA/geo when that exists.

The internet sources cannot be reached from the test machines, so they are
served by a local HTTP server laid out like CAIDA's and RIPE's: the real
RouteViews snapshot and a real RIR statistics file from $DS_SHARED_DATA/geo.
Proving "no second download": the second run has npm hidden and every
proxy variable pointing at a closed port, so any download would fail; it
must say so in its log and leave every file's inode and mtime alone.

Cases run in table order, one line per check. Exit 0 when all pass, 1 on
a failure, 77 when registry.npmjs.org cannot be reached.
"""

import functools
import gzip
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dstest  # noqa: E402
from dstest import log, skip  # noqa: E402

ROOT = os.environ.get("DS_SOURCE_ROOT") or os.path.dirname(HERE)
SCRIPT = os.path.join(ROOT, "scripts", "geo-update")
SHARED_GEO = os.path.join(dstest.shared_data(), "geo")

VERSION = "2.3.2026061719"
ASN = "@ip-location-db/asn@" + VERSION
COUNTRY = "@ip-location-db/asn-country@" + VERSION
INTEGRITY = {
    ASN: "sha512-PpqYi7wyEyWwunXBtl+y3Vi403SvNywotWwvmiYCOUtE0SVol/Sf492Ee+eErEznmGapxEQB2SAf"
         "rpXuZ9a+vQ==",
    COUNTRY: "sha512-KN/mUGqf/nwkI0RDvv4knOc5xGXxbooU1MlTXThEJcJVyWxHoCx6oRed8p7NguGKZRpQPmZWdWw/"
             "zslHZsUC6Q==",
}
# name: (lines, sha256), from SOURCES.md.
DATA = {
    "asn-ipv4-num.csv": (411961,
                         "43b77baaa819c8cdb39456dc19d3d7987608379851036597e6a0ef3711086c79"),
    "asn-ipv4.csv": (411961, "76afd7f575bc22d3b3d52f4666fb1ec20c254948829c8f23b1ecc8b8856106d5"),
    "asn-country-ipv4-num.csv": (
        141822, "f49a7da9e06645c989abf365e139e435aba647500f135cffb6743fceab8f2a4b"),
    "asn-country-ipv4.csv": (
        141822, "d0cf73c39299aff17711c5ae104eadaab3b76225dd45140721a1a4e77883f761"),
}
LICENCES = ("DBIP-LICENSE", "MODIFICATIONS", "NRO_LICENSE", "ROUTEVIEWS-LICENSE")
# SOURCES.md: the 2024-04-06 snapshot has 998,042 prefixes; the AFRINIC file
# 3326 asn + 5089 ipv4 + 6604 ipv6 records.
PFX2AS_SHARED = "routeviews-rv2-20240406.pfx2as.gz"
PFX2AS_ROWS = 998042
RIR_SHARED = "delegated-afrinic-extended-20230323"
RIR_RECORDS = 3326 + 5089 + 6604

checks = dstest.Checks()
NO_NPM = dstest.tmpdir("geo-nopath")     # an empty PATH: no npm, no anything


def sha256(path):
    if not os.path.exists(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lines(path, opener=open):
    with opener(path, "rb") as f:
        return sum(1 for _ in f)


def listing(d):
    """Every file under d with (inode, mtime_ns, size)."""
    out = {}
    for base, _, files in os.walk(d):
        for f in files:
            p = os.path.join(base, f)
            st = os.stat(p)
            out[os.path.relpath(p, d)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def run(args, hide_npm=False, extra=None, script=SCRIPT):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DS_GEO_UPDATE_") and k.lower() not in ("no_proxy",)}
    if hide_npm:
        env["PATH"] = NO_NPM
    env.update(extra or {})
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/python3", script] + args, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=900)
    p.elapsed = time.monotonic() - t
    return p


def fetches(p):
    """Tarballs a run fetched, by either method."""
    return p.stdout.count("fetched with npm pack") + p.stdout.count("with urllib")


def show(p):
    for ln in (p.stdout + p.stderr).splitlines()[-12:]:
        log("     | " + ln)


def closed_port():
    """A bound but not listening socket: connections to it are refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


CLOSED = closed_port()


def check_npm_data(tag, d):
    """The four CSVs, the licences and the stamp, against independent values."""
    for name, (want_lines, want_sha) in DATA.items():
        path = os.path.join(d, name)
        if not os.path.isfile(path):
            checks.ok(False, "%s: %s missing" % (tag, name))
            continue
        got_lines, got_sha = lines(path), sha256(path)
        shared = os.path.join(SHARED_GEO, name)
        shared_sha = sha256(shared) if os.path.exists(shared) else want_sha
        checks.ok(got_lines == want_lines and got_sha == want_sha == shared_sha,
                  "%s: %s %d lines (want %d), sha256 %s... (SOURCES.md %s...%s)"
                  % (tag, name, got_lines, want_lines, got_sha[:12], want_sha[:12],
                     ", shared copy %s..." % shared_sha[:12] if os.path.exists(shared) else ""))
    bad = []
    for name in LICENCES:
        path = os.path.join(d, "ip-location-db-licenses", name)
        shared = os.path.join(SHARED_GEO, "ip-location-db-licenses", name)
        if not os.path.isfile(path) or (os.path.exists(shared) and sha256(path) != sha256(shared)):
            bad.append(name)
    checks.eq("%s: licence files missing or unlike the shared copies" % tag, bad, [])
    stamp = os.path.join(d, "ip-location-db.stamp")
    text = open(stamp).read() if os.path.exists(stamp) else ""
    missing = [spec for spec, integrity in INTEGRITY.items()
               if "package %s %s\n" % (spec, integrity) not in text]
    checks.eq("%s: packages whose pinned integrity the stamp lacks" % tag, missing, [])
    # Leftovers of the atomic writes.
    tmp = [f for f in listing(d) if f.endswith(".geo-update-tmp")]
    checks.eq("%s: temporary files left" % tag, tmp, [])


# ---------------------------------------------------------------------------
# Cases

def case_bad_arguments(s):
    target = os.path.join(s["tmp"], "never")
    for args in (["--bogus"], ["--dir"], ["extra"], ["--dir", target, "--no-such"]):
        p = run(args)
        checks.eq("bad arguments %s: exit status" % " ".join(args), p.returncode, 2)
        checks.ok("usage:" in p.stderr, "bad arguments %s: usage on stderr" % " ".join(args))
    checks.ok(not os.path.exists(target), "bad arguments: --dir not created")


def case_mismatch_fresh(s):
    """asn-country's pin is wrong: nothing lands, not even asn's files."""
    d = os.path.join(s["tmp"], "mismatch")
    bad = "sha512-" + "A" * 86 + "=="
    p = run(["--dir", d, "--no-internet"], extra={"DS_GEO_UPDATE_INTEGRITY_ASN_COUNTRY": bad})
    checks.eq("mismatch: exit status", p.returncode, 1)
    err = p.stderr.splitlines()
    checks.eq("mismatch: stderr lines", len(err), 1)
    want = "geo-update: %s: integrity mismatch: expected %s, got %s" % (
        COUNTRY, bad, INTEGRITY[COUNTRY])
    if not checks.ok(err and err[0].startswith(want), "mismatch: message names package, "
                     "expected and actual integrity"):
        show(p)
    checks.eq("mismatch: files in DIR", sorted(listing(d)), [])


def case_urllib(s):
    """npm hidden: Python downloads the tarballs itself."""
    d = s["a"]
    p = run(["--dir", d, "--no-internet"], hide_npm=True)
    s["first_elapsed"] = p.elapsed
    if not checks.eq("urllib: exit status", p.returncode, 0):
        show(p)
    checks.eq("urllib: 'with urllib' lines", p.stdout.count("with urllib"), 2)
    checks.eq("urllib: 'npm pack' lines", p.stdout.count("with npm pack"), 0)
    check_npm_data("urllib", d)
    # The summary's row figures are the script's own; they must agree with ours.
    for name, (want_lines, _) in DATA.items():
        checks.ok(re.search(r"^\s+%s\s+%d\s" % (re.escape(name), want_lines), p.stdout, re.M),
                  "urllib: summary line %s %d rows" % (name, want_lines))
    checks.ok("Route Views" in p.stdout and "DB-IP.com" in p.stdout and "nro.net" in p.stdout,
              "urllib: attribution names Route Views, DB-IP.com and the NRO")
    log("     first run took %.1f s" % p.elapsed)


def case_npm(s):
    if shutil.which("npm") is None:
        log("skip npm path: npm is not installed")
        return
    d = os.path.join(s["tmp"], "npm")
    p = run(["--dir", d, "--no-internet"])
    if not checks.eq("npm: exit status", p.returncode, 0):
        show(p)
    checks.eq("npm: 'fetched with npm pack' lines", p.stdout.count("fetched with npm pack"), 2)
    checks.eq("npm: 'with urllib' lines", p.stdout.count("with urllib"), 0)
    check_npm_data("npm", d)
    shutil.rmtree(d)


def no_network():
    """Environment in which any download fails: proxies at a closed port."""
    port = CLOSED.getsockname()[1]
    proxy = "http://127.0.0.1:%d" % port
    return {"http_proxy": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy}


def case_second_run(s):
    d = s["a"]
    before = listing(d)
    p = run(["--dir", d, "--no-internet"], hide_npm=True, extra=no_network())
    if not checks.eq("second run: exit status", p.returncode, 0):
        show(p)
    checks.ok("nothing to download" in p.stdout, "second run: log says nothing to download")
    checks.eq("second run: fetches", fetches(p), 0)
    checks.eq("second run: stderr", p.stderr, "")
    after = listing(d)
    checks.eq("second run: file count", len(after), len(before))
    changed = [f for f in before if after.get(f) != before[f]]
    checks.eq("second run: files with a new inode or mtime", changed, [])
    log("     second run took %.1f s (first %.1f s)" % (p.elapsed, s["first_elapsed"]))


def case_mismatch_populated(s):
    """A wrong pin on a populated DIR: exit 1, not a byte changed."""
    d = s["a"]
    before = listing(d)
    bad = "sha512-" + "B" * 86 + "=="
    p = run(["--dir", d, "--no-internet"], extra={"DS_GEO_UPDATE_INTEGRITY_ASN": bad})
    checks.eq("mismatch on populated DIR: exit status", p.returncode, 1)
    want = "geo-update: %s: integrity mismatch: expected %s, got %s" % (ASN, bad, INTEGRITY[ASN])
    checks.ok(p.stderr.startswith(want) and p.stderr.count("\n") == 1,
              "mismatch on populated DIR: one line naming %s" % ASN)
    checks.eq("mismatch on populated DIR: files changed",
              [f for f in before if listing(d).get(f) != before[f]], [])


def case_damaged(s):
    """A file that no longer matches the stamp is fetched again."""
    d = s["a"]
    path = os.path.join(d, "asn-country-ipv4.csv")
    with open(path, "ab") as f:
        f.write(b"1.2.3.4,1.2.3.4,ZZ\n")
    p = run(["--dir", d, "--no-internet"])
    if not checks.eq("damaged file: exit status", p.returncode, 0):
        show(p)
    checks.eq("damaged file: fetches", fetches(p), 2)
    checks.eq("damaged file: sha256 restored", sha256(path), DATA["asn-country-ipv4.csv"][1])


def case_force(s):
    d = s["a"]
    before = listing(d)
    p = run(["--dir", d, "--no-internet", "--force"])
    if not checks.eq("--force: exit status", p.returncode, 0):
        show(p)
    checks.eq("--force: fetches", fetches(p), 2)
    after = listing(d)
    renamed = [f for f in DATA if after[f][0] != before[f][0]]
    checks.eq("--force: data files replaced (new inode)", sorted(renamed), sorted(DATA))
    check_npm_data("--force", d)


class Mirror:
    """A local HTTP server laid out like CAIDA's and RIPE's, recording requests."""

    def __init__(self, root):
        self.requests = []
        mirror = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, fmt, *args):
                # log_request() passes (request line, code, size); errors
                # are logged a second time through other formats.
                if fmt.startswith('"%s"'):
                    mirror.requests.append((self.command, self.path, str(args[1])))

        handler = functools.partial(Handler, directory=root)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d/" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def creation_log(entries):
    text = "# seqnum\ttimestamp\tpath\n"
    # Out of order on purpose: the newest is the largest timestamp.
    for seq, ts, path in entries:
        text += "%d\t%d\t%s\n" % (seq, ts, path)
    return text


def case_mirror(s):
    pfx2as = os.path.join(SHARED_GEO, PFX2AS_SHARED)
    rir = os.path.join(SHARED_GEO, RIR_SHARED)
    if not (os.path.exists(pfx2as) and os.path.exists(rir)):
        log("skip internet sources from a mirror: %s or %s absent" % (pfx2as, rir))
        return
    d = s["a"]
    root = os.path.join(s["tmp"], "mirror")
    caida = os.path.join(root, "routing", "routeviews-prefix2as")
    os.makedirs(os.path.join(caida, "2024", "04"))
    os.makedirs(os.path.join(root, "nro"))
    shutil.copy(pfx2as, os.path.join(caida, "2024/04/routeviews-rv2-20240406-1200.pfx2as.gz"))
    shutil.copy(rir, os.path.join(root, "nro", "nro-delegated-stats"))
    with open(os.path.join(caida, "pfx2as-creation.log"), "w") as f:
        f.write(creation_log([
            (4490, 1712373000, "2024/04/routeviews-rv2-20240405-1200.pfx2as.gz"),
            (4491, 1712459400, "2024/04/routeviews-rv2-20240406-1200.pfx2as.gz"),
            (4489, 1712286600, "2024/04/routeviews-rv2-20240404-1200.pfx2as.gz")]))
    m = Mirror(root)
    env = {"DS_GEO_UPDATE_CAIDA_URL": m.url + "routing/routeviews-prefix2as/",
           "DS_GEO_UPDATE_NRO_URL": m.url + "nro/nro-delegated-stats"}
    try:
        p = run(["--dir", d], extra=env)
        if not checks.eq("mirror: exit status", p.returncode, 0):
            show(p)
        got = os.path.join(d, "routeviews-pfx2as.gz")
        nro = os.path.join(d, "nro-delegated-stats")
        checks.ok(os.path.exists(got) and sha256(got) == sha256(pfx2as),
                  "mirror: routeviews-pfx2as.gz is the newest snapshot of the log")
        checks.eq("mirror: routeviews-pfx2as.gz prefixes (SOURCES.md)",
                  lines(got, gzip.open) if os.path.exists(got) else None, PFX2AS_ROWS)
        checks.ok(os.path.exists(nro) and sha256(nro) == sha256(rir),
                  "mirror: nro-delegated-stats saved")
        checks.ok(re.search(r"^\s+routeviews-pfx2as.gz\s+%d\s.*rv2-20240406-1200$" % PFX2AS_ROWS,
                            p.stdout, re.M), "mirror: summary shows %d prefixes, rv2-20240406-1200"
                  % PFX2AS_ROWS)
        checks.ok(re.search(r"^\s+nro-delegated-stats\s+%d\s.*20230323$" % RIR_RECORDS, p.stdout,
                            re.M), "mirror: summary shows %d records of 20230323" % RIR_RECORDS)
        checks.ok("CAIDA" in p.stdout and "routeviews-pfx2as.gz" in p.stdout.split("licences")[-1],
                  "mirror: attribution for the CAIDA file")

        # Again: the log names the same snapshot and the NRO file has not
        # changed (the server answers If-Modified-Since with 304).
        before = listing(d)
        m.requests.clear()
        p = run(["--dir", d], extra=env)
        checks.eq("mirror again: exit status", p.returncode, 0)
        checks.ok("already holds 2024/04/routeviews-rv2-20240406-1200" in p.stdout,
                  "mirror again: CAIDA snapshot not fetched again")
        checks.ok("nro-delegated-stats unchanged" in p.stdout,
                  "mirror again: NRO file unchanged")
        checks.eq("mirror again: requests",
                  sorted((c, path, code) for c, path, code in m.requests),
                  [("GET", "/nro/nro-delegated-stats", "304"),
                   ("GET", "/routing/routeviews-prefix2as/pfx2as-creation.log", "200")])
        checks.eq("mirror again: files changed",
                  [f for f in before if listing(d).get(f) != before[f]], [])

        # Damaged downloads never replace what DIR holds: a newer snapshot
        # that is a truncated gzip, an NRO file missing one record.
        with open(pfx2as, "rb") as f:
            half = f.read()[:1000000]
        with open(os.path.join(caida, "2024/04/routeviews-rv2-20240407-1200.pfx2as.gz"),
                  "wb") as f:
            f.write(half)
        with open(os.path.join(caida, "pfx2as-creation.log"), "a") as f:
            f.write("4492\t1712545800\t2024/04/routeviews-rv2-20240407-1200.pfx2as.gz\n")
        with open(rir) as f:
            rir_lines = f.read().splitlines(True)
        with open(os.path.join(root, "nro", "nro-delegated-stats"), "w") as f:
            f.writelines(rir_lines[:-1])
        p = run(["--dir", d, "--force"], extra=env)
        checks.eq("mirror damaged: exit status", p.returncode, 0)
        checks.ok("not a valid pfx2as file" in p.stderr, "mirror damaged: truncated gzip refused")
        checks.ok("not a valid statistics file" in p.stderr
                  and "announces %d records, the file has %d" % (RIR_RECORDS, RIR_RECORDS - 1)
                  in p.stderr, "mirror damaged: short RIR file refused")
        checks.eq("mirror damaged: routeviews-pfx2as.gz kept", sha256(got), sha256(pfx2as))
        checks.eq("mirror damaged: nro-delegated-stats kept", sha256(nro), sha256(rir))
    finally:
        m.close()


def case_unreachable(s):
    """CAIDA and NRO unreachable (refused; and a 404): one line each, exit 0."""
    d = s["a"]
    before = listing(d)
    port = CLOSED.getsockname()[1]
    p = run(["--dir", d], extra={
        "DS_GEO_UPDATE_CAIDA_URL": "http://127.0.0.1:%d/routeviews-prefix2as/" % port,
        "DS_GEO_UPDATE_NRO_URL": "http://127.0.0.1:%d/nro-delegated-stats" % port})
    if not checks.eq("unreachable: exit status", p.returncode, 0):
        show(p)
    checks.eq("unreachable: 'not reachable' lines", len(re.findall(
        r"^geo-update: (CAIDA RouteViews prefix2as|NRO delegated stats): .* not reachable "
        r"\(.*\); skipped$", p.stdout, re.M)), 2)
    checks.eq("unreachable: stderr", p.stderr, "")
    checks.eq("unreachable: files changed",
              [f for f in before if listing(d).get(f) != before[f]], [])
    # A server that answers 404 (an empty mirror).
    root = os.path.join(s["tmp"], "empty-mirror")
    os.makedirs(root)
    m = Mirror(root)
    try:
        p = run(["--dir", d], extra={
            "DS_GEO_UPDATE_CAIDA_URL": m.url, "DS_GEO_UPDATE_NRO_URL": m.url + "nro"})
    finally:
        m.close()
    checks.eq("HTTP 404: exit status", p.returncode, 0)
    checks.eq("HTTP 404: 'answered HTTP 404' lines", p.stdout.count("answered HTTP 404"), 2)
    p = run(["--dir", d, "--no-internet"])
    checks.ok("skipped (--no-internet)" in p.stdout, "--no-internet: says CAIDA and NRO skipped")


def case_default_dir(s):
    """Without --dir the files go to data/geo under the script's repository."""
    repo = os.path.join(s["tmp"], "repo")
    os.makedirs(os.path.join(repo, "scripts"))
    script = os.path.join(repo, "scripts", "geo-update")
    shutil.copy(SCRIPT, script)
    p = run(["--no-internet"], script=script)
    if not checks.eq("default dir: exit status", p.returncode, 0):
        show(p)
    check_npm_data("default dir", os.path.join(repo, "data", "geo"))


CASES = (
    ("bad arguments", case_bad_arguments),
    ("integrity mismatch, fresh DIR", case_mismatch_fresh),
    ("python download (npm hidden)", case_urllib),
    ("npm pack", case_npm),
    ("second run downloads nothing", case_second_run),
    ("integrity mismatch, populated DIR", case_mismatch_populated),
    ("damaged file fetched again", case_damaged),
    ("--force", case_force),
    ("CAIDA and NRO from a local mirror", case_mirror),
    ("CAIDA and NRO unreachable", case_unreachable),
    ("default directory", case_default_dir),
)


def registry_reachable():
    try:
        with urllib.request.urlopen("https://registry.npmjs.org/-/ping", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True             # it answered
    except (urllib.error.URLError, OSError):
        return False


def main():
    if not os.path.exists(SCRIPT):
        dstest.die("%s missing" % SCRIPT)
    if not registry_reachable():
        skip("https://registry.npmjs.org is not reachable")
    tmp = dstest.tmpdir("geo-update")
    state = {"tmp": tmp, "a": os.path.join(tmp, "a")}
    t0 = time.monotonic()
    for name, fn in CASES:
        log("--- " + name)
        t = time.monotonic()
        fn(state)
        log("     (%.1f s)" % (time.monotonic() - t))
    log("total %.1f s" % (time.monotonic() - t0))
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
