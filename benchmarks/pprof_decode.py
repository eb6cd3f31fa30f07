"""Decode speed of a large pprof profile: enginepools (C decoder) against
google/pprof's own parser (``profile.ParseData``, what go tool pprof runs).

    python benchmarks/pprof_decode.py [-mb 60] [-reps 3] [-no_go]

Builds a synthetic heap profile of at least ``-mb`` MB uncompressed (samples
with 10–30 frames, four values, string and numeric labels; locations with
inline lines), writes it raw and gzip'd, then times, best of ``-reps``:

* ours: ``Profile.from_bytes`` (C decode into numpy arrays, incl. validation);
* pprof: the profile package vendored in GOROOT, copied into a throwaway Go
  module so the exact parser go tool pprof uses is timed on the same bytes
  (skipped when `go` is missing).

Prints MB/s of uncompressed profile for both and the ratio (ours / pprof),
from this one run; for ours also by CPU time, and gzip'd with the inflater in
use (ISA-L; a big stream is inflated in a thread while the C decoder parses
it) and, for comparison, inflated first and parsed after, and with the zlib
fallback.  The machine is shared (the load average is printed): compare the
ratio, not the MB/s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from enginepools.pprof.profile import Profile  # noqa: E402

GO_MAIN = r'''
package main

import (
	"fmt"
	"os"
	"time"

	"pprofbench/profile"
)

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	best := time.Duration(1 << 62)
	var n int
	for i := 0; i < REPS; i++ {
		t := time.Now()
		p, err := profile.ParseData(data)
		if err != nil {
			panic(err)
		}
		if d := time.Since(t); d < best {
			best = d
		}
		n = len(p.Sample)
	}
	fmt.Println(best.Seconds(), n)
}
'''


def synthetic(target_mb: float, seed: int = 7, n_samples: int | None = None,
              frames: tuple[int, int] = (10, 31)) -> Profile:
    """A profile shaped like a big real heap profile, built as arrays: about
    `target_mb` MB, or exactly `n_samples` samples of `frames` [lo, hi) frames."""
    rng = np.random.default_rng(seed)
    n_fn = 20_000
    n_loc = 120_000
    strings = [""] + ["alloc_objects", "count", "alloc_space", "bytes", "inuse_objects", "inuse_space",
                      "space", "pool", "size_class", "hash", "tar", "strbuf", "/bin/app"]
    base = len(strings)
    strings += [f"github.com/example/service/pkg{i % 97}.(*Type{i % 13}).Method{i}" for i in range(n_fn)]
    strings += [f"/src/service/pkg{i}/file{i}.go" for i in range(97)]
    fn_name = np.arange(base, base + n_fn, dtype=np.int64)
    fn_file = base + n_fn + (np.arange(n_fn) % 97)
    lines_per = rng.choice([1, 1, 1, 2, 3], size=n_loc)
    line_off = np.zeros(n_loc + 1, dtype=np.int64)
    np.cumsum(lines_per, out=line_off[1:])
    n_lines = int(line_off[-1])
    if n_samples is None:
        n_samples = int(target_mb * 1e6 / 62) + 1  # ~62 bytes per sample as encoded
    frames = rng.integers(frames[0], frames[1], size=n_samples)
    loc_off = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(frames, out=loc_off[1:])
    loc_ids = rng.zipf(1.3, size=int(loc_off[-1])) % n_loc + 1
    vals = np.empty((n_samples, 4), dtype=np.int64)
    vals[:, 0] = rng.integers(1, 100, n_samples)
    vals[:, 1] = vals[:, 0] * rng.integers(16, 1 << 16, n_samples)
    vals[:, 2] = vals[:, 0] // 2
    vals[:, 3] = vals[:, 1] // 2
    lab_off = np.arange(0, 2 * n_samples + 1, 2, dtype=np.int64)
    lk = np.tile(np.array([8, 9], dtype=np.int64), n_samples)
    ls = np.zeros(2 * n_samples, dtype=np.int64)
    ls[0::2] = rng.integers(10, 13, n_samples)
    ln = np.zeros(2 * n_samples, dtype=np.int64)
    ln[1::2] = 1 << rng.integers(8, 20, n_samples)
    lu = np.zeros(2 * n_samples, dtype=np.int64)
    lu[1::2] = 4
    return Profile(
        strings=strings, sample_types=[("alloc_objects", "count"), ("alloc_space", "bytes"),
                                       ("inuse_objects", "count"), ("inuse_space", "bytes")],
        values=vals, sample_loc_offsets=loc_off, sample_loc_ids=loc_ids.astype(np.uint64),
        sample_label_offsets=lab_off, label_key=lk, label_str=ls, label_num=ln, label_unit=lu,
        location_id=np.arange(1, n_loc + 1, dtype=np.uint64), location_mapping=np.ones(n_loc, dtype=np.uint64),
        location_address=(0x400000 + 16 * np.arange(n_loc)).astype(np.uint64),
        location_folded=np.zeros(n_loc, dtype=np.bool_), location_line_offsets=line_off,
        line_function=(rng.integers(0, n_fn, n_lines) + 1).astype(np.uint64),
        line_line=rng.integers(1, 2000, n_lines).astype(np.int64),
        function_id=np.arange(1, n_fn + 1, dtype=np.uint64), function_name=fn_name,
        function_system_name=fn_name, function_filename=fn_file.astype(np.int64),
        function_start_line=np.zeros(n_fn, dtype=np.int64),
        mapping_id=np.array([1], dtype=np.uint64), mapping_start=np.array([0x400000], dtype=np.uint64),
        mapping_limit=np.array([0x4000000], dtype=np.uint64), mapping_offset=np.zeros(1, dtype=np.uint64),
        mapping_filename=np.array([13], dtype=np.int64), mapping_build_id=np.zeros(1, dtype=np.int64),
        mapping_flags=np.array([7], dtype=np.uint8), period_type=("space", "bytes"), period=524288,
    )


def best_of(reps: int, fn, clock=time.perf_counter) -> float:
    """Best time of `reps` calls by `clock` (time.process_time: this
    process's CPU time, steadier than wall time on a shared machine)."""
    best = float("inf")
    for _ in range(reps):
        t = clock()
        fn()
        best = min(best, clock() - t)
    return best


def go_parse_seconds(path: Path, reps: int) -> float | None:
    if shutil.which("go") is None:
        return None
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    vend = Path(goroot) / "src/cmd/vendor/github.com/google/pprof/profile"
    if not vend.is_dir():
        return None
    with tempfile.TemporaryDirectory() as d:
        mod = Path(d)
        (mod / "go.mod").write_text("module pprofbench\n\ngo 1.19\n")
        (mod / "profile").mkdir()
        for f in vend.glob("*.go"):
            if not f.name.endswith("_test.go"):
                shutil.copy(f, mod / "profile" / f.name)
        (mod / "main.go").write_text(GO_MAIN.replace("REPS", str(reps)))
        env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOPROXY="off")
        subprocess.run(["go", "build", "-o", "bench", "."], cwd=mod, env=env, check=True)
        out = subprocess.run([str(mod / "bench"), str(path)], capture_output=True, text=True, check=True).stdout
        return float(out.split()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-mb", type=float, default=60.0, help="uncompressed size to aim for (default 60)")
    ap.add_argument("-reps", type=int, default=3, help="repetitions, best is kept (default 3)")
    ap.add_argument("-no_go", action="store_true", help="skip the go tool pprof baseline (slow: ~8 s a parse)")
    a = ap.parse_args()
    prof = synthetic(a.mb)
    raw = prof.to_bytes(compress=False)
    gz = prof.to_bytes()
    mb = len(raw) / 1e6
    print(f"profile: {prof.n_samples} samples, {len(prof.location_id)} locations, "
          f"{mb:.1f} MB uncompressed, {len(gz) / 1e6:.1f} MB gzip'd; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as d:
        rawf, gzf = Path(d) / "big.pb", Path(d) / "big.pb.gz"
        rawf.write_bytes(raw)
        gzf.write_bytes(gz)
        assert Profile.from_bytes(raw) == Profile.from_bytes(gz)
        t_raw = best_of(a.reps, lambda: Profile.from_bytes(raw))
        cpu = float("inf")
        for _ in range(a.reps):
            c0 = time.process_time()
            Profile.from_bytes(raw)
            cpu = min(cpu, time.process_time() - c0)
        t_gz = best_of(a.reps, lambda: Profile.from_bytes(gz))
        cpu_gz = best_of(a.reps, lambda: Profile.from_bytes(gz), time.process_time)
        from enginepools.pprof import gzstream, inflate

        saved_min, gzstream.MIN_SIZE = gzstream.MIN_SIZE, 1 << 62  # inflate, then parse: no overlap
        try:
            t_gz_seq = best_of(a.reps, lambda: Profile.from_bytes(gz))
        finally:
            gzstream.MIN_SIZE = saved_min

        backend = inflate.BACKEND
        saved, inflate._igzip = inflate._igzip, None  # the zlib fallback, for comparison
        try:
            cpu_gz_zlib = best_of(a.reps, lambda: Profile.from_bytes(gz), time.process_time)
        finally:
            inflate._igzip = saved
        t_enc = best_of(a.reps, lambda: prof.to_bytes(compress=False))
        print(f"ours   decode raw : {t_raw * 1e3:8.1f} ms  {mb / t_raw:8.1f} MB/s  "
              f"(CPU time {cpu * 1e3:.1f} ms: {mb / cpu:.1f} MB/s)")
        print(f"ours   decode gzip: {t_gz * 1e3:8.1f} ms  {mb / t_gz:8.1f} MB/s (of uncompressed; CPU time "
              f"{cpu_gz * 1e3:.1f} ms: {mb / cpu_gz:.1f} MB/s with {backend}, "
              f"{mb / cpu_gz_zlib:.1f} MB/s with zlib)")
        print(f"ours   gzip, serial: {t_gz_seq * 1e3:7.1f} ms  {mb / t_gz_seq:8.1f} MB/s (inflate, then parse: "
              f"overlapping them is {t_gz_seq / t_gz:.2f}x faster)")
        print(f"ours   encode raw : {t_enc * 1e3:8.1f} ms  {mb / t_enc:8.1f} MB/s")
        if a.no_go:
            return
        go_raw = go_parse_seconds(rawf, a.reps)
        go_gz = go_parse_seconds(gzf, a.reps)
        if go_raw is None or go_gz is None:
            print("pprof: go toolchain not available, no baseline")
            return
        print(f"pprof  parse raw  : {go_raw * 1e3:8.1f} ms  {mb / go_raw:8.1f} MB/s")
        print(f"pprof  parse gzip : {go_gz * 1e3:8.1f} ms  {mb / go_gz:8.1f} MB/s (of uncompressed)")
        print(f"ratio ours/pprof  : raw {go_raw / t_raw:.1f}x faster, gzip {go_gz / t_gz:.1f}x faster")


if __name__ == "__main__":
    main()
