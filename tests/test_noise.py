"""enginepools.bench.noise: telling a noisy machine from a noisy kernel, and the
bench command's warning."""
from __future__ import annotations

import numpy as np
import pytest

from enginepools.bench import noise
from enginepools.bench.result import BenchResult

ZERO = np.array([580, 760, 590, 600, 770, 585, 740, 595, 580, 775], float)  # a neighbour comes and goes


def result(ns_per_op, zero=None, chain=None, kernel="HashBuffer/impl=pool") -> BenchResult:
    res = BenchResult()
    n = 1000
    for i, v in enumerate(ns_per_op):
        probe = None if zero is None else {"zero64k_ns": zero[i], "chain_ns": 2243.0 if chain is None else chain[i]}
        res.add_raw(kernel, 1, n, int(v * n), 0, 0, probe=probe)
    return res


def only(res: BenchResult) -> noise.Stability:
    (name,) = res.names()
    return noise.stability(res[name])


def test_kernel_following_the_store_probe_is_the_machines_noise():
    ns = 700 + ZERO  # the 64 KiB clear is half of the op
    st = only(result(ns, ZERO))
    assert st.cv == pytest.approx(np.std(ns, ddof=1) / np.mean(ns))
    assert st.noisy and st.cause == "machine" and st.r_zero == pytest.approx(1.0)
    text = st.explain()
    assert "follows the machine" in text and "580–775 ns" in text and "10 samples" in text


def test_steady_machine_puts_the_spread_on_the_kernel():
    ns = np.array([1000, 1100, 990, 1200, 1010, 1150, 1000, 990, 1120, 1005], float)
    zero = np.full(10, 580.0) + np.arange(10) * 0.5  # steady to 0.3%
    st = only(result(ns, zero))
    assert st.noisy and st.cause == "kernel"
    assert "kernel's own" in st.explain()


def test_machine_noise_the_kernel_does_not_follow_is_unclear():
    ns = np.array([1000, 1100, 990, 1200, 1010, 1150, 1000, 990, 1120, 1005], float)
    st = only(result(ns, ZERO[::-1]))
    assert st.cause == "unclear" and "does not clearly follow" in st.explain()


def test_latency_probe_counts_too():
    chain = np.array([2240, 2700, 2250, 2245, 2690, 2250, 2241, 2705, 2244, 2250], float)  # the clock slowed
    st = only(result(chain / 2, np.full(10, 580.0), chain))
    assert st.cause == "machine" and st.r_chain == pytest.approx(1.0)


def test_files_without_probe_say_so():
    st = only(result([1000, 1100, 990, 1200]))
    assert st.cause == "unclear" and "no machine probe" in st.explain()


def test_check_lists_only_noisy_benchmarks_with_enough_samples():
    res = result(700 + ZERO, ZERO)
    for i in range(10):  # steady: 0.1% CV
        res.add_raw("HashBuffer/impl=std", 1, 1000, 650_000 + 100 * i, 32000, 1000,
                    probe={"zero64k_ns": ZERO[i], "chain_ns": 2243.0})
    for i in range(2):  # too few samples to judge
        res.add_raw("TarBuffer/impl=pool", 1, 1000, 500_000 * (i + 1), 0, 0)
    assert [s.name for s in noise.check(res)] == ["BenchmarkHashBuffer/impl=pool"]
    assert [s.name for s in noise.check(res, only_noisy=False)] == ["BenchmarkHashBuffer/impl=pool",
                                                                    "BenchmarkHashBuffer/impl=std"]


def test_bench_command_warns_on_stderr(capsys):
    noise.warn(result(700 + ZERO, ZERO), prefix="enginepools bench: ")
    err = capsys.readouterr().err
    assert err.startswith("enginepools bench: noisy: BenchmarkHashBuffer/impl=pool: ns/op varies")
    noise.warn(result(np.full(5, 700.0), np.full(5, 580.0)), prefix="enginepools bench: ")
    assert capsys.readouterr().err == ""


def _study_warns(out):  # what `enginepools study` does after writing the report
    noise.warn(out / "bench.json", most=3, detail=f"'Measurement noise' in {out / 'benchmark-results-summary.md'}")


def test_study_command_warns_from_the_reports_bench_json(tmp_path, capsys):
    _study_warns(tmp_path)  # no bench.json (benchmarks skipped): nothing to say
    assert capsys.readouterr().err == ""
    result(700 + ZERO, ZERO).write_json(tmp_path / "bench.json")
    _study_warns(tmp_path)
    err = capsys.readouterr().err
    assert err.startswith("noisy: BenchmarkHashBuffer/impl=pool: ns/op varies") and "follows the machine" in err
    # many noisy benchmarks: one line that points at the report's table
    many = result(700 + ZERO, ZERO)
    for k in ("StringBuilder/impl=pool", "TarBuffer/impl=pool", "TarArchive/impl=pool"):
        for i, z in enumerate(ZERO):
            many.add_raw(k, 1, 1000, int((500 + z) * 1000), 0, 0, probe={"zero64k_ns": z, "chain_ns": 2243.0})
    many.write_json(tmp_path / "bench.json")
    _study_warns(tmp_path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4 of 4 benchmarks varied more than 3%" in err
    assert "4 of them follow the machine probe" in err and "benchmark-results-summary.md" in err


def test_report_lists_noisy_benchmarks_with_the_probe_and_checks_out(tmp_path):
    import sys
    from pathlib import Path

    from enginepools.report import gather
    from enginepools.report.writer import write_report

    sys.path.insert(0, str(Path(__file__).parent))
    from report_consistency import check_report

    res = result(700 + ZERO, ZERO)
    for i in range(10):
        res.add_raw("HashBuffer/impl=std", 1, 1000, 650_000 + 100 * i, 32000, 1000,
                    probe={"zero64k_ns": ZERO[i], "chain_ns": 2243.0})
    res.write_json(tmp_path / "bench.json")
    write_report(gather([str(tmp_path / "bench.json")], [], None), tmp_path / "report")
    text = (tmp_path / "report" / "benchmark-results-summary.md").read_text()
    section = text.split("## Measurement noise", 1)[1].split("\n## ", 1)[0]
    assert "1 of 2 benchmarks varied by at most the 3%" in section
    row = next(line for line in section.splitlines() if line.startswith("| `BenchmarkHashBuffer/impl=pool`"))
    assert "| 10 |" in row and "580–775 ns" in row and "| 1.00 |" in row and "the machine's" in row
    assert "impl=std`" not in section
    assert check_report(tmp_path / "report") == []  # its CV is the raw output's



def test_running_statistics_match_the_arrays():
    # the streamed run keeps O(1) statistics; expectations here come from numpy directly
    rng = np.random.default_rng(3)
    ns = rng.normal(1000, 40, 500)
    zero = ns * 0.5 + rng.normal(600, 5, 500)
    chain = rng.normal(2243, 20, 500)
    ns[7] = zero[11] = chain[13] = np.nan  # unknowns are skipped, pairwise for r
    run = noise.Running("BenchmarkX")
    for a, b, c in zip(ns, zero, chain):
        run.add(a, b, c)
    st = run.stability()

    def cv(a):
        a = a[np.isfinite(a)]
        return a.std(ddof=1) / a.mean()

    def r(x, y):
        ok = np.isfinite(x) & np.isfinite(y)
        return np.corrcoef(x[ok], y[ok])[0, 1]

    assert len(run) == 500 and st.samples == 499
    assert st.cv == pytest.approx(cv(ns), rel=1e-9)
    assert st.zero_cv == pytest.approx(cv(zero), rel=1e-9) and st.chain_cv == pytest.approx(cv(chain), rel=1e-9)
    assert st.r_zero == pytest.approx(r(ns, zero), rel=1e-9) and st.r_chain == pytest.approx(r(ns, chain), abs=1e-9)
    assert st.zero_range == (np.nanmin(zero), np.nanmax(zero))
    flat = noise.Running("BenchmarkFlat")
    for _ in range(5):
        flat.add(10.0, 500.0, float("nan"))
    fs = flat.stability()
    assert fs.cv == 0 and np.isnan(fs.r_zero) and np.isnan(fs.chain_cv)  # constant side: no r; no probe: NaN
