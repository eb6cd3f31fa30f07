"""An 8 GiB gzip bomb against ``enginepools top`` / Profile.read (issue 18, #2).

    python benchmarks/gzip_bomb.py [--inflated-gib 8] [--cap 4G]

Builds the bomb on the fly in a temporary directory: gzip members of 64 MiB
of zeros each (a gzip file may hold several members; gunzip and our reader
inflate them one after the other), ~8 MB on disk for 8 GiB inflated.  Then,
in a child process per measurement, reads it with
``enginepools.pprof.profile.Profile.read`` under ``ENGINEPOOLS_MAX_INFLATED``
= the cap and reports: the error (it must be the one-line cap error), wall
time, and the child's peak RSS (``ru_maxrss``) — also the peak RSS of the
same child reading a small profile (the baseline), so that

    overhead = peak RSS - baseline - cap

is what the reader used beyond the cap's own buffer (target: < 300 MB, and
refused within 5 s).  With the ratio check (ENGINEPOOLS_MAX_INFLATE_RATIO,
default 200) the bomb is refused after 64 MiB of output, long before the cap;
``--ratio 0`` turns the check off to measure the cap alone.  Figures are from
one run on this machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

MiB = 1 << 20
CHILD = r"""
import json, resource, sys, time
from enginepools.pprof.profile import Profile
t = time.perf_counter()
try:
    Profile.read(sys.argv[1])
    err = None
except Exception as e:
    err = f"{type(e).__name__}: {e}"
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"error": err, "seconds": dt, "maxrss_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime}))
"""
# the floor: zlib itself inflating the same members up to the cap, streaming
# (no buffer kept), in a child of its own
ZLIB = r"""
import json, resource, sys, time, zlib
data = open(sys.argv[1], "rb").read()
cap = int(sys.argv[2])
t = time.perf_counter()
n = 0
rest = data
while n <= cap and rest:
    d = zlib.decompressobj(31)
    buf = rest
    while not d.eof and n <= cap:
        n += len(d.decompress(buf, 1 << 20))
        buf = d.unconsumed_tail
    rest = d.unused_data
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": ru.ru_utime + ru.ru_stime, "inflated": n}))
"""


def make_bomb(path: Path, inflated: int, member: int = 64 * MiB) -> None:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    one = c.compress(b"\0" * member) + c.flush()
    with open(path, "wb") as f:
        for _ in range(inflated // member):
            f.write(one)


def child(path: Path, cap: str, code: str = CHILD, *extra: str, ratio: str = "") -> dict:
    env = dict(os.environ, ENGINEPOOLS_MAX_INFLATED=cap, ENGINEPOOLS_MAX_INFLATE_RATIO=ratio)
    out = subprocess.run([sys.executable, "-c", code, str(path), *extra], env=env, capture_output=True, text=True,
                         timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"child failed: {out.stderr}")
    return json.loads(out.stdout)


def parse_size(text: str) -> int:
    mult = {"K": 1 << 10, "M": MiB, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inflated-gib", type=int, default=8)
    ap.add_argument("--cap", default="4G", help="ENGINEPOOLS_MAX_INFLATED for the run (default 4G, the default cap)")
    ap.add_argument("--ratio", default="", help="ENGINEPOOLS_MAX_INFLATE_RATIO for the run (default: unset, i.e. 200; "
                                                "0 checks the cap alone)")
    a = ap.parse_args()
    from enginepools.pprof.profile import ProfileBuilder

    with tempfile.TemporaryDirectory() as d:
        bomb = Path(d) / "bomb.pb.gz"
        t = time.perf_counter()
        make_bomb(bomb, a.inflated_gib << 30)
        made = time.perf_counter() - t
        small = Path(d) / "small.pb.gz"
        b = ProfileBuilder()
        b.add_sample([1, 64, 1, 64], [("f", "f.c", 1), ("main", "m.c", 2)])
        b.build().write(small)
        base = child(small, a.cap, ratio=a.ratio)
        r = child(bomb, a.cap, ratio=a.ratio)
        z = child(bomb, a.cap, ZLIB, str(parse_size(a.cap)))
    cap = parse_size(a.cap)
    over = r["maxrss_kib"] * 1024 - base["maxrss_kib"] * 1024 - cap
    print(f"gzip bomb: {a.inflated_gib} GiB inflated (built in {made:.1f}s), cap {a.cap}, "
          f"ratio limit {a.ratio or 'default (200)'}")
    print(f"  refused: {r['error']}")
    print(f"  time to refusal: {r['seconds']:.2f} s wall, {r['cpu']:.2f} s CPU (target < 5 s); "
          f"zlib alone inflating the same {z['inflated'] >> 20} MiB: {z['seconds']:.2f} s wall, {z['cpu']:.2f} s CPU "
          f"(ratio ours/zlib, CPU: {r['cpu'] / z['cpu']:.2f}); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print(f"  peak RSS: {r['maxrss_kib'] / 1024:.0f} MiB; baseline (small profile): {base['maxrss_kib'] / 1024:.0f} MiB; "
          f"above baseline: {(r['maxrss_kib'] - base['maxrss_kib']) / 1024:.0f} MiB; "
          f"above baseline + cap: {over / MiB:.0f} MiB (target < 300 MB)")
    refused = r["error"] is not None and ("inflates to more than" in r["error"] or "inflates more than" in r["error"])
    ok = refused and over < 300e6
    print("  refused, memory bound met" if ok else "  NOT MET")
    print(f"  5 s: {'met' if r['seconds'] < 5 else 'not met on this (loaded) machine'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
