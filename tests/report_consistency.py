"""Recompute every percentage and ratio of a generated report from the
numbers printed in the same documents.

The report prints a figure beside its operands, in a few fixed shapes:

* tables with a ``Δ X`` column and ``plain X`` / ``pooled X`` columns;
* tables with ``plain ops/s`` / ``pooled ops/s`` and a ratio column;
* pprof top tables (``flat flat% sum% cum cum%`` with the total in the line
  above), rounded as pprof rounds, so they are checked with intervals;
* prose: ``+17.6% (59.88 → 70.40 ns/op)``, ``48.1% (5.71 of 11.88 MiB)``,
  ``2.53× (1237 / 489.9 ns/op)``.

Every ``N%`` and ``N×`` in a document must be one of those, a rule
threshold, the confidence level, or — in a verdict's rule text — equal to a
checked Δ of the same pool.  Anything else is reported as unverifiable.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

NUM = r"-?[\d,]*\.?\d+"
DELTA = re.compile(rf"([+-]\d+\.\d)% \(({NUM}) → ({NUM})")
SHARE = re.compile(rf"(\d+\.\d)% \(({NUM}) of ({NUM})")
RATIO = re.compile(rf"(\d+\.\d\d)× \(({NUM}) / ({NUM})")
DURATION = re.compile(r"Duration: (\S+), Total samples = (\S+) \(\s*([\d.]+)%\)")
LONE = re.compile(r"[+-]\d+\.\d% \(no interval: \d+ rounds?\)")
#: a paired estimate and its interval: ``−3.2% [−5.1%, −1.0%]`` (the estimate must lie inside)
PAIRED = re.compile(r"([+-]\d+\.\d)% \[([+-]\d+\.\d)%, ([+-]\d+\.\d)%\]")
#: Amdahl's prediction: ``+14.9% [+14.0%, +17.4%] = 28.7% × +52.0% [+48.8%, +60.8%]``
PRODUCT = re.compile(r"([+-]\d+\.\d)% \[([+-]\d+\.\d)%, ([+-]\d+\.\d)%\] = (\d+\.\d)% × "
                     r"([+-]\d+\.\d)% \[([+-]\d+\.\d)%, ([+-]\d+\.\d)%\]")
ANY_PCT = re.compile(r"[+-]?\d+(?:\.\d+)?%")
ANY_RATIO = re.compile(r"\d+(?:\.\d+)?×")
CONSTANT = re.compile(r"(?:≥ |±|the )(\d+(?:\.\d+)?)%")
FIXED = re.compile(r"(?:95|90)% (?:CI|confidence|interval)|1\.00×|\[[-+]?\d+(?:\.\d+)?%, [-+]?\d+(?:\.\d+)?%\]")
RAW_NS = re.compile(rf"^(Benchmark\S+)\s+\d+\s+({NUM}) ns/op", re.M)
BYTES = re.compile(r"(\d[\d,]*(?:\.\d+)?) (B|KiB|MiB|GiB)\b")
_BYTE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def num(text: str) -> float:
    return float(text.replace(",", ""))


def pct(f: float) -> str:
    v = round(100 * f, 1)
    return f"{0.0 if v == 0 else v:+.1f}%"


def share(a: float, b: float) -> str:
    return f"{round(100 * a / b, 1):.1f}%"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×"


def _delta_text(a: float, b: float) -> str:
    if a == 0:
        return "+0.0%" if b == 0 else "n/a"
    return pct((b - a) / a)


def split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip().replace("\\|", "|") for c in cells[1:-1]]


def tables(text: str) -> list[tuple[int, list[str], list[list[str]], str]]:
    """(line number, header, rows, the line of text just above) per table."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1]):
            head = split_row(lines[i])
            above = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
            rows = []
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(split_row(lines[j]))
                j += 1
            out.append((i + 1, head, rows, above))
            i = j
        else:
            i += 1
    return out


# ------------------------------------------------------------- pprof units

_UNITS = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4,
          "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "hrs": 3600, "mins": 60}


def pprof_interval(text: str) -> tuple[float, float]:
    """The interval a pprof-printed value (``5.71MB``, ``1.50s``, ``42``) stands for."""
    m = re.fullmatch(r"(-?\d+(?:\.(\d+))?)([A-Za-zµ]*)", text.strip())
    if not m:
        raise ValueError(text)
    v = float(m.group(1))
    half = 0.5 * 10 ** -(len(m.group(2)) if m.group(2) else 0)
    f = _UNITS.get(m.group(3), 1)
    if not m.group(2) and v == int(v):
        # integers may be exact (pprof prints e.g. "0" or "4096B" unrounded)
        half = 0.5
    return (v - half) * f, (v + half) * f


def _within(p: float, lo: float, hi: float, ulp: float) -> bool:
    return lo - ulp <= p <= hi + ulp


def check_pprof_table(head: list[str], rows: list[list[str]], above: str) -> list[str]:
    m = re.search(r"accounting for (\S+), ([\d.]+)% of (\S+) total", above)
    if not m:
        return [f"pprof table without a 'Showing nodes accounting for' line above: {above!r}"]
    problems = []
    tlo, thi = pprof_interval(m.group(3))
    alo, ahi = pprof_interval(m.group(1))
    if not _within(float(m.group(2)), 100 * alo / thi, 100 * ahi / max(tlo, 1e-300), 0.005):
        problems.append(f"'{m.group(0)}': {m.group(2)}% is not {m.group(1)} of {m.group(3)}")
    idx = {h: i for i, h in enumerate(head)}
    running_lo = running_hi = 0.0
    for r in rows:
        for col, pcol in (("flat", "flat%"), ("cum", "cum%")):
            lo, hi = pprof_interval(r[idx[col]])
            p = float(r[idx[pcol]].rstrip("%"))
            if not _within(p, 100 * lo / thi, 100 * hi / max(tlo, 1e-300), 0.005):
                problems.append(f"pprof row {r}: {pcol} {p}% is not {r[idx[col]]} of {m.group(3)}")
        lo, hi = pprof_interval(r[idx["flat"]])
        running_lo, running_hi = running_lo + lo, running_hi + hi
        s = float(r[idx["sum%"]].rstrip("%"))
        if not _within(s, 100 * running_lo / thi, 100 * running_hi / max(tlo, 1e-300), 0.005):
            problems.append(f"pprof row {r}: sum% {s}% is not the running sum of flat")
    return problems


# ------------------------------------------------------------------ checks

def check_text(name: str, text: str, thresholds: set[str] | None = None) -> list[str]:
    """Problems in one document (empty when every figure checks out)."""
    # the rules' thresholds (5: the pool decisions' margin; 100: the share bound); 3: the noise limit
    thresholds = thresholds or {"15", "20", "10", "5", "3", "100"}
    raw_ns: dict[str, list[float]] = {}  # Go lines of the raw output: ns/op per benchmark
    for m in RAW_NS.finditer(text):
        raw_ns.setdefault(m.group(1), []).append(num(m.group(2)))
    problems: list[str] = []
    covered: list[tuple[int, int]] = []  # absolute spans of verified figures
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def cover(lineno: int, line: str, fragment: str) -> None:
        start = line_starts[lineno - 1] + line.index(fragment)
        covered.append((start, start + len(fragment)))

    lines = text.splitlines()
    verified_deltas: dict[int, set[str]] = {}  # line -> abs deltas checked on it
    # tables
    for lineno, head, rows, above in tables(text):
        if {"flat", "flat%", "sum%", "cum", "cum%"} <= set(head):
            problems += [f"{name}:{lineno}: {p}" for p in check_pprof_table(head, rows, above)]
            for k, _ in enumerate(rows):
                ln = lineno + 2 + k
                covered.append((line_starts[ln - 1], line_starts[ln]))
            if "accounting for" in above:
                ln = lines.index(above) + 1
                covered.append((line_starts[ln - 1], line_starts[ln]))
            continue
        idx = {h: i for i, h in enumerate(head)}
        for k, r in enumerate(rows):
            ln = lineno + 2 + k
            for h, i in idx.items():
                if h.startswith("Δ "):
                    unit = h[2:]
                    if f"plain {unit}" not in idx or f"pooled {unit}" not in idx:
                        continue  # checked like prose: must equal a verified Δ of its section
                    a, b, d = r[idx[f"plain {unit}"]], r[idx[f"pooled {unit}"]], r[i]
                    if d in ("n/a", "—"):
                        continue
                    want = _delta_text(num(a), num(b))
                    if d != want:
                        problems.append(f"{name}:{ln}: {h} is {d}, but ({b} − {a}) / {a} = {want}")
                    verified_deltas.setdefault(ln, set()).add(d.lstrip("+-"))
                    cover(ln, lines[ln - 1], f"| {d} |")
            if "share" in idx and len(head) == 3:
                total = _stated_total(lines, lineno)
                if total is None:
                    problems.append(f"{name}:{ln}: share table without a stated total above it")
                else:
                    lo, hi = _bytes_interval(r[1])
                    tlo, thi = total
                    p = float(r[idx["share"]].rstrip("%"))
                    if not _within(p, 100 * lo / thi, 100 * hi / tlo, 0.05):
                        problems.append(f"{name}:{ln}: share {p}% is not {r[1]} of the stated total")
                    verified_deltas.setdefault(ln, set()).add(r[idx["share"]])
                    cover(ln, lines[ln - 1], f"| {r[idx['share']]} |")
            if "CV of ns/op" in idx:
                bench, shown = r[idx["benchmark"]].strip("`"), r[idx["CV of ns/op"]]
                vs = raw_ns.get(bench, [])
                if len(vs) < 2:
                    problems.append(f"{name}:{ln}: CV of {bench}: not in the raw output")
                else:
                    mean = sum(vs) / len(vs)
                    sd = math.sqrt(sum((v - mean) ** 2 for v in vs) / (len(vs) - 1))
                    # the raw lines round to 4 digits; the report computed from the exact values
                    if abs(float(shown.rstrip("%")) - 100 * sd / mean) > 0.1 + 1e-9:
                        problems.append(f"{name}:{ln}: CV of {bench} is {shown}, the raw output gives "
                                        f"{100 * sd / mean:.2f}%")
                cover(ln, lines[ln - 1], f"| {shown} |")
            if "ratio pooled/plain" in idx:
                a, b, q = r[idx["plain ops/s"]], r[idx["pooled ops/s"]], r[idx["ratio pooled/plain"]]
                if q != ratio(num(b), num(a)):
                    problems.append(f"{name}:{ln}: ratio {q}, but {b} / {a} = {ratio(num(b), num(a))}")
                cover(ln, lines[ln - 1], f"| {q} |")
    # prose shapes (also inside table cells)
    for rx, calc in ((DELTA, _delta_text), (SHARE, share), (RATIO, ratio)):
        for m in rx.finditer(text):
            a, b = num(m.group(2)), num(m.group(3))
            shown = m.group(1) + ("%" if rx is not RATIO else "×")
            if b == 0 and rx is not DELTA or (rx is DELTA and a == 0 and b != 0):
                problems.append(f"{name}: {m.group(0)!r} divides by zero")
                continue
            want = calc(a, b)
            if shown != want:
                problems.append(f"{name}: {m.group(0)!r}: recomputed {want}")
            covered.append((m.start(1), m.end(1) + 1))
            ln = text.count("\n", 0, m.start()) + 1
            verified_deltas.setdefault(ln, set()).add(m.group(1).lstrip("+-") + "%")
    for m in DURATION.finditer(text):  # pprof's CPU header: samples as a share of the wall duration
        lo, hi = pprof_interval(m.group(2))
        dlo, dhi = pprof_interval(m.group(1))
        if not _within(float(m.group(3)), 100 * lo / dhi, 100 * hi / dlo, 0.005):
            problems.append(f"{name}: {m.group(0)!r}: {m.group(3)}% is not {m.group(2)} of {m.group(1)}")
        covered.append((m.start(), m.end()))
    for m in LONE.finditer(text):  # an estimate printed without interval says so; nothing to recompute
        covered.append((m.start(), m.end()))
    for m in PAIRED.finditer(text):
        d, lo, hi = (float(m.group(k)) for k in (1, 2, 3))
        if not lo <= d <= hi:
            problems.append(f"{name}: {m.group(0)!r}: the estimate lies outside its interval")
        covered.append((m.start(), m.end()))
        ln = text.count("\n", 0, m.start()) + 1
        verified_deltas.setdefault(ln, set()).add(m.group(1).lstrip("+-") + "%")
    for m in PRODUCT.finditer(text):
        s_ = float(m.group(4)) / 100
        for k_out, k_in in ((1, 5), (2, 6), (3, 7)):
            want, got = s_ * float(m.group(k_in)), float(m.group(k_out))
            # each printed figure is rounded to 0.1: the product carries the share's and the factor's rounding
            tol = 0.05 + 0.0005 * abs(float(m.group(k_in))) + 0.05 * s_ + 1e-9
            if abs(want - got) > tol:
                problems.append(f"{name}: {m.group(0)!r}: {m.group(4)}% × {m.group(k_in)}% is {want:.2f}%, "
                                f"not {got}%")
        covered.append((m.start(), m.end()))
    for m in CONSTANT.finditer(text):
        if m.group(1) in thresholds:
            covered.append((m.start(), m.end()))
    for m in FIXED.finditer(text):
        covered.append((m.start(), m.end()))
    # rule texts: a percentage equal to a verified Δ of the same row / section
    sections = _sections(text)
    for m in ANY_PCT.finditer(text):
        if _is_covered(m.start(), m.end(), covered):
            continue
        ln = text.count("\n", 0, m.start()) + 1
        same_row = verified_deltas.get(ln, set())
        sec = sections(ln)
        same_sec = set().union(*(verified_deltas.get(k, set()) for k in range(sec[0], sec[1] + 1)))
        val = m.group(0).lstrip("+-")
        if val in same_row or val in same_sec:
            continue
        problems.append(f"{name}:{ln}: percentage {m.group(0)} has no operands beside it: "
                        f"{lines[ln - 1].strip()[:160]!r}")
    for m in ANY_RATIO.finditer(text):
        if not _is_covered(m.start(), m.end(), covered):
            ln = text.count("\n", 0, m.start()) + 1
            problems.append(f"{name}:{ln}: ratio {m.group(0)} has no operands beside it")
    return problems


def _bytes_interval(text: str) -> tuple[float, float]:
    m = BYTES.search(text)
    if not m:
        raise ValueError(f"not a byte count: {text!r}")
    digits = m.group(1).split(".")[1] if "." in m.group(1) else ""
    half = 0.5 * 10 ** -len(digits)
    v, f = num(m.group(1)), _BYTE_UNITS[m.group(2)]
    return (v - half) * f, (v + half) * f


def _stated_total(lines: list[str], table_line: int) -> tuple[float, float] | None:
    """The ``<bytes> of `<sample type>``` total stated in prose above a share table."""
    for k in range(table_line - 2, -1, -1):
        m = re.search(r"(\d[\d,]*(?:\.\d+)? (?:B|KiB|MiB|GiB)) of `", lines[k])
        if m:
            return _bytes_interval(m.group(1))
        if lines[k].startswith("#") and k < table_line - 30:
            break
    return None


def _is_covered(s: int, e: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= s and e <= b for a, b in spans)


def _sections(text: str):  # type: ignore[no-untyped-def]
    heads = [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("#")]
    n = text.count("\n") + 1

    def find(ln: int) -> tuple[int, int]:
        start = max([h for h in heads if h <= ln], default=1)
        end = min([h for h in heads if h > ln], default=n + 1) - 1
        return start, end

    return find


def check_report(directory: str | Path) -> list[str]:
    problems = []
    for path in sorted(Path(directory).glob("*.md")):
        problems += check_text(path.name, path.read_text(encoding="utf-8"))
    return problems


# ------------------------------------------------- against the raw results
# The checks above recompute each figure from the numbers printed beside it;
# a report that put every figure in the wrong place consistently (plain and
# pooled swapped together with Δ) passes them.  These recompute the tables
# from the raw benchmark files themselves, parsed here, not by enginepools.

RAW_LINE = re.compile(r"^(Benchmark\S+)\s+(\d+)\s+(.+)$")


def raw_samples(*paths: str | Path) -> dict[str, dict[str, list[float]]]:
    """benchmark name (as written, ``Benchmark`` cut off) → unit → values,
    from Go benchmark text or enginepools JSON (``samples[].values``)."""
    import json

    out: dict[str, dict[str, list[float]]] = {}
    for p in paths:
        text = Path(p).read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):
            for s in json.loads(text)["samples"]:
                name = s["name"][len("Benchmark"):]
                for unit, v in s["values"].items():
                    out.setdefault(name, {}).setdefault(unit, []).append(float(v))
            continue
        for line in text.splitlines():
            m = RAW_LINE.match(line.strip())
            if not m:
                continue
            fields = m.group(3).split()
            name = m.group(1)[len("Benchmark"):]
            for v, unit in zip(fields[::2], fields[1::2]):
                out.setdefault(name, {}).setdefault(unit, []).append(float(v))
    return out


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _raw_for(raw: dict[str, dict[str, list[float]]], bench: str, label: str, unit: str) -> list[float] | None:
    """The raw values behind table row `bench` (``StringBuilder-4``) for
    column `label` (``WithPool`` or ``pool``): suffix-paired names
    (``StringBuilderWithPool-4``), /impl= names (``HashBuffer/impl=pool``) or
    the A/B's /pools= names (``Pipeline/pools=all``), with or without the
    ``-N`` procs suffix."""
    m = re.match(r"^(.*?)(-\d+)?$", bench)
    assert m
    base, procs = m.group(1), m.group(2) or ""
    for name in (f"{base}{label}{procs}", f"{base}/impl={label}{procs}", f"{base}/pools={label}{procs}",
                 f"{base}{label}", f"{base}/impl={label}", f"{base}/pools={label}"):
        if name in raw and unit in raw[name]:
            return raw[name][unit]
    return None


def _agrees(printed: str, exact: float) -> bool:
    """`printed` is `exact` to the digits shown (≥ 4 significant, as the report prints)."""
    v = num(printed)
    if exact == 0:
        return v == 0
    digits = printed.replace(",", "").lstrip("-").split(".")
    shown = len(digits[1]) if len(digits) > 1 else 0
    return abs(v - exact) <= 0.5 * 10 ** -shown + 1e-9 * abs(exact)


def check_against_raw(directory: str | Path, *bench_files: str | Path, ab: str | Path | None = None,
                      profiles: dict[str, str | Path] | None = None) -> list[str]:
    """Every comparison table (``plain X``, ``pooled X``, ``Δ X``, ``n``) and
    throughput table (``plain ops/s``, ``pooled ops/s``, ratio) of the report
    in `directory`, recomputed from the raw samples in `bench_files`: the
    medians, Δ = (pooled − plain) / plain, the sample counts; with `ab`, the
    end-to-end section from the A/B file and the heap profiles
    (:func:`check_end_to_end`).  Returns the problems; also one when no row
    could be checked at all."""
    problems: list[str] = check_end_to_end(directory, ab, profiles) if ab is not None else []
    if not bench_files and ab is not None:
        return problems
    raw = raw_samples(*bench_files)
    checked = 0
    for path in sorted(Path(directory).glob("*.md")):
        for ln, head, rows, _ in tables(path.read_text(encoding="utf-8")):
            col = {h: i for i, h in enumerate(head)}
            if "benchmark" not in col or "pooled vs plain" not in col:
                continue
            units = [h[len("plain "):] for h in head if h.startswith("plain ") and "CI" not in h]
            for row in rows:
                where = f"{path.name}:{ln}: {row[col['benchmark']]}"
                pooled_label, _, plain_label = row[col["pooled vs plain"]].partition(" vs ")
                for unit in units:
                    raw_unit = "ns/op" if unit == "ops/s" else unit
                    old = _raw_for(raw, row[col["benchmark"]], plain_label, raw_unit)
                    new = _raw_for(raw, row[col["benchmark"]], pooled_label, raw_unit)
                    if old is None or new is None:
                        problems.append(f"{where}: no raw samples for {pooled_label} vs {plain_label} {raw_unit}")
                        continue
                    mo, mn = _median(old), _median(new)
                    if unit == "ops/s":
                        want = {"plain ops/s": 1e9 / mo, "pooled ops/s": 1e9 / mn}
                        ratio_col = next((h for h in head if h.startswith("ratio")), None)
                        if ratio_col is not None and row[col[ratio_col]] != ratio(mo, mn):
                            problems.append(f"{where}: {ratio_col} {row[col[ratio_col]]}, raw gives {ratio(mo, mn)}")
                    else:
                        want = {f"plain {unit}": mo, f"pooled {unit}": mn}
                        d = f"Δ {unit}"
                        if d in col and row[col[d]] != _delta_text(mo, mn):
                            problems.append(f"{where}: {d} {row[col[d]]}, raw medians {mo} → {mn} give "
                                            f"{_delta_text(mo, mn)}")
                        if "n" in col and row[col["n"]] != f"{len(old)}+{len(new)}":
                            problems.append(f"{where}: n {row[col['n']]}, raw has {len(old)}+{len(new)}")
                    for h, exact in want.items():
                        if h in col and not _agrees(row[col[h]], exact):
                            problems.append(f"{where}: {h} {row[col[h]]}, raw median gives {exact:.6g}")
                    checked += 1
    if not checked:
        problems.append(f"{directory}: no comparison table found to check against the raw results")
    return problems


# --------------------------------------------- the end-to-end section, raw
# The A/B file (``enginepools ab -json`` or its Go text) and the heap
# profiles are read here with no enginepools code: the samples straight from
# the JSON/text, the profiles by a protobuf reader of a dozen lines.  Medians
# and Δ are recomputed directly; the U test's p by counting arrangements (the
# classic recursion without ties, brute force with ties); the bootstrap
# interval against the exact bootstrap distribution of the ratio of medians
# (enumerated over the resamples' order statistics), with the Monte Carlo
# slack of 4000 resamples.

AB_NAME = re.compile(r"^Benchmark\w+/pools=([^/\s]+?)(?:-\d+)?$")
MS = re.compile(rf"^({NUM}) ms$")


def ab_samples(path: str | Path) -> dict[str, dict[str, list[float]]]:
    """config → unit → values, in the order of the file (``none`` first)."""
    import json

    text = Path(path).read_text(encoding="utf-8")
    out: dict[str, dict[str, list[float]]] = {}
    if text.lstrip().startswith("{"):
        pairs = [(s["name"], s["values"]) for s in json.loads(text)["samples"]]
    else:
        pairs = []
        for line in text.splitlines():
            m = RAW_LINE.match(line.strip())
            if m:
                f = m.group(3).split()
                pairs.append((m.group(1), dict(zip(f[1::2], map(float, f[::2])))))
    for name, values in pairs:
        m = AB_NAME.match(name)
        if m:
            for unit, v in values.items():
                if v is not None and not math.isnan(float(v)):
                    out.setdefault(m.group(1), {}).setdefault(unit, []).append(float(v))
    return out


def u_test_p(x: list[float], y: list[float]) -> float:
    """Two-sided Mann–Whitney p as benchstat computes it: exact up to 50 a
    side (p = min(1, 2 min(P(U ≤ u), P(U ≥ u)))), the normal approximation
    with tie and continuity corrections above."""
    from functools import lru_cache
    from itertools import combinations

    n1, n2 = len(x), len(y)
    if len(set(x + y)) == 1:
        return 1.0

    def u_of(a: list[float], b: list[float]) -> float:
        return sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in a for q in b)

    u = u_of(x, y)
    ties = len(set(x + y)) < n1 + n2
    if n1 <= 50 and n2 <= 50 and not ties:
        @lru_cache(maxsize=None)
        def ways(k: int, m: int, n: int) -> int:  # arrangements of m x's and n y's with U = k
            if k < 0 or k > m * n:
                return 0
            if m == 0 or n == 0:
                return 1 if k == 0 else 0
            return ways(k - n, m - 1, n) + ways(k, m, n - 1)  # the largest value is an x, or a y

        total = math.comb(n1 + n2, n1)
        le = sum(ways(k, n1, n2) for k in range(int(u) + 1)) / total
        ge = sum(ways(k, n1, n2) for k in range(int(u), n1 * n2 + 1)) / total
        return min(1.0, 2 * min(le, ge))
    if n1 <= 50 and n2 <= 50 and math.comb(n1 + n2, n1) <= 400_000:
        allv = x + y
        us = [u_of([allv[i] for i in c], [allv[j] for j in range(n1 + n2) if j not in set(c)])
              for c in combinations(range(n1 + n2), n1)]
        le = sum(1 for v in us if v <= u + 1e-9) / len(us)
        ge = sum(1 for v in us if v >= u - 1e-9) / len(us)
        return min(1.0, 2 * min(le, ge))
    if n1 <= 50 and n2 <= 50:
        return math.nan  # too many arrangements to count here: not checked
    counts: dict[float, int] = {}
    for v in x + y:
        counts[v] = counts.get(v, 0) + 1
    n = n1 + n2
    var = n1 * n2 / 12 * ((n + 1) - sum(t**3 - t for t in counts.values()) / (n * (n - 1)))
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))


def bootstrap_median_dist(xs: list[float]) -> dict[float, float]:
    """The exact distribution of the median of a resample (n draws with
    replacement) of `xs`: the draws' counts per sorted position are
    multinomial, and the median is fixed by where the running count crosses
    the middle.  Returns median → probability."""
    s, n = sorted(xs), len(xs)
    lo = (n + 1) // 2 if n % 2 else n // 2  # 1-based positions of the middle order statistics
    hi = lo if n % 2 else lo + 1
    out: dict[float, float] = {}
    open_: dict[int, float] = {0: 1.0}  # draws so far → weight (∏ 1/c!), middle not reached
    half: dict[tuple[int, float], float] = {}  # (draws, lower middle value) → weight

    def done(med: float, w: float, t: int, rest_positions: int) -> None:
        # every way to place the remaining n − t draws on the later positions
        r = n - t
        out[med] = out.get(med, 0.0) + w * (rest_positions**r if r else 1) / math.factorial(r)

    for k, v in enumerate(s):
        rest = n - k - 1
        nopen: dict[int, float] = {}
        nhalf: dict[tuple[int, float], float] = {}
        for t, w in open_.items():
            for c in range(n - t + 1):
                w2, t2 = w / math.factorial(c), t + c
                if t2 < lo:
                    nopen[t2] = nopen.get(t2, 0.0) + w2
                elif t2 < hi:
                    nhalf[(t2, v)] = nhalf.get((t2, v), 0.0) + w2
                else:
                    done(v, w2, t2, rest)
        for (t, low), w in half.items():
            for c in range(n - t + 1):
                w2, t2 = w / math.factorial(c), t + c
                if t2 < hi:
                    nhalf[(t2, low)] = nhalf.get((t2, low), 0.0) + w2
                else:
                    done((low + v) / 2, w2, t2, rest)
        open_, half = nopen, nhalf
    scale = math.factorial(n) / n**n
    return {m: p * scale for m, p in out.items()}


def bootstrap_delta_quantiles(old: list[float], new: list[float], qs: tuple[float, ...]) -> list[float]:
    """Quantiles of median(new*)/median(old*) − 1 over all resample pairs."""
    do, dn = bootstrap_median_dist(old), bootstrap_median_dist(new)
    dist = sorted((mn / mo - 1, po * pn) for mo, po in do.items() for mn, pn in dn.items())
    out = []
    for q in qs:
        acc = 0.0
        for v, p in dist:
            acc += p
            if acc >= q - 1e-12:
                break
        out.append(v)
    return out


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """The varint at `i` and the offset after it."""
    r = shift = 0
    while True:
        b = buf[i]
        i += 1
        r |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return r, i


def _pprof_fields(buf: bytes):  # type: ignore[no-untyped-def]
    """(field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
            yield f, wt, v
        elif wt == 2:
            ln, i = _varint(buf, i)
            yield f, wt, buf[i:i + ln]
            i += ln
        elif wt in (1, 5):
            size = 8 if wt == 1 else 4
            yield f, wt, buf[i:i + size]
            i += size
        else:
            raise ValueError(f"protobuf wire type {wt}")


def _ints(wt: int, v) -> list[int]:  # type: ignore[no-untyped-def]
    """A repeated integer field: packed (bytes) or one value, as int64."""
    out, i = [], 0
    if wt == 0:
        out = [v]
    while wt == 2 and i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return [x - (1 << 64) if x >= 1 << 63 else x for x in out]


def read_pprof(path: str | Path) -> dict[str, object]:
    """The parts of a (gzipped) pprof profile the heap breakdown uses:
    sample types, per sample (values, leaf-first function names, labels),
    the period."""
    import gzip

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings: list[str] = []
    types: list[tuple[int, int]] = []
    raw_samples: list[tuple[list[int], list[int], list[tuple[int, int]]]] = []
    loc_funcs: dict[int, list[int]] = {}
    func_name: dict[int, int] = {}
    period = 0
    for f, wt, v in _pprof_fields(data):
        if f == 6:
            strings.append(v.decode("utf-8"))
        elif f == 1:
            d = {g: x for g, _, x in _pprof_fields(v)}
            types.append((d.get(1, 0), d.get(2, 0)))
        elif f == 2:
            locs: list[int] = []
            vals: list[int] = []
            labels: list[tuple[int, int]] = []
            for g, w2, x in _pprof_fields(v):
                if g == 1:
                    locs += _ints(w2, x)
                elif g == 2:
                    vals += _ints(w2, x)
                elif g == 3:
                    d = {h: y for h, _, y in _pprof_fields(x)}
                    labels.append((d.get(1, 0), d.get(2, 0)))
            raw_samples.append((locs, vals, labels))
        elif f == 4:
            lid, fids = 0, []
            for g, _, x in _pprof_fields(v):
                if g == 1:
                    lid = x
                elif g == 4:
                    fids.append({h: y for h, _, y in _pprof_fields(x)}.get(1, 0))
            loc_funcs[lid] = fids
        elif f == 5:
            d = {g: x for g, _, x in _pprof_fields(v)}
            func_name[d.get(1, 0)] = d.get(2, 0)
        elif f == 12 and wt == 0:
            period = v

    def fname(fid: int) -> str:
        name = strings[func_name[fid]] if fid in func_name else "?"
        return name.split(".", 1)[0] or name  # a compiler clone (".part.0") is its function

    samples = [{"values": vals, "frames": [fname(fid) for lid in locs for fid in loc_funcs.get(lid, [])],
                "labels": {strings[k]: strings[s] for k, s in labels if s}} for locs, vals, labels in raw_samples]
    return {"types": [strings[t] for t, _ in types], "samples": samples, "period": period}


#: allocation frames the by-function table looks through (the docs: "allocation frames such as ep_alloc skipped")
_ALLOC = {"ep_alloc", "ep_calloc", "ep_realloc", "ep_alloc_aligned", "malloc", "calloc", "realloc"}


def heap_shares(path: str | Path, sample_type: str = "alloc_space") -> dict[str, object]:
    """Total, by stage (the first pipeline function from the allocating
    frame towards the root), by allocating function and by pool label."""
    from enginepools.report.pipeline import STAGES  # the stage table is a definition, not a computation

    prof = read_pprof(path)
    col = prof["types"].index(sample_type)  # type: ignore[union-attr]
    stage_of = {fn: st for st, fns in STAGES for fn in fns}
    by: dict[str, dict[str, float]] = {"stage": {}, "function": {}, "pool": {}}
    total = 0.0
    for s in prof["samples"]:  # type: ignore[union-attr]
        v = float(s["values"][col])
        if not v:
            continue
        total += v
        frames = s["frames"]
        leaf = next((f for f in frames if f not in _ALLOC and not f.startswith(("_ep_alloc", "pool_"))),
                    frames[0] if frames else "?")
        stage = next((stage_of[f] for f in frames if f in stage_of), "outside the pipeline")
        pool = s["labels"].get("pool") or s["labels"].get("ep_pool") or "direct (no pool)"
        for k, key in (("stage", stage), ("function", leaf), ("pool", pool)):
            by[k][key] = by[k].get(key, 0.0) + v
    return {"total": total, "period": prof["period"], **by}


def _share_text(part: float, whole: float) -> str:
    v = round(100 * part / whole, 1)
    return f"{0.0 if v == 0 else v:.1f}%"


def check_heap_section(where: str, text: str, path: str | Path) -> tuple[list[str], int]:
    """The tables and sentences of one "Where the pipeline's memory goes"
    section against the profile at `path`.  (problems, figures checked)"""
    hs = heap_shares(path)
    total = hs["total"]
    problems: list[str] = []
    checked = 0
    m = re.search(r"(\d[\d,]*(?:\.\d+)? (?:B|KiB|MiB|GiB)) of `alloc_space`", text)
    if not m:
        return [f"{where}: no total of `alloc_space` stated"], 0
    lo, hi = _bytes_interval(m.group(1))
    if not lo <= total <= hi:  # type: ignore[operator]
        problems.append(f"{where}: total {m.group(1)}, the profile holds {total:.0f} B")
    checked += 1
    for _, head, rows, _ in tables(text):
        if len(head) != 3 or head[1:] != ["alloc_space", "share"] or head[0] not in ("stage", "function", "pool"):
            continue
        want = sorted(hs[head[0]].items(), key=lambda kv: -kv[1])  # type: ignore[union-attr]
        if head[0] == "function":
            want = want[:10]
        got = [(r[0].strip("`"), r[1], r[2]) for r in rows]
        if sorted(k for k, _, _ in got) != sorted(k for k, _ in want):
            problems.append(f"{where}: by {head[0]}: rows {[k for k, _, _ in got]}, the profile gives "
                            f"{[k for k, _ in want]}")
            continue
        values = dict(want)
        for k, shown_bytes, shown_share in got:
            blo, bhi = _bytes_interval(shown_bytes)
            if not blo <= values[k] <= bhi:
                problems.append(f"{where}: {k}: {shown_bytes}, the profile gives {values[k]:.0f} B")
            if shown_share != _share_text(values[k], total):  # type: ignore[arg-type]
                problems.append(f"{where}: {k}: share {shown_share}, the profile gives "
                                f"{_share_text(values[k], total)}")  # type: ignore[arg-type]
            checked += 2
        if [v for _, v in want] != sorted((values[k] for k, _, _ in got), reverse=True) or \
                [values[k] for k, _, _ in got] != sorted(values.values(), reverse=True)[:len(got)]:
            problems.append(f"{where}: by {head[0]}: not largest first")
    m = re.search(r"The largest share, (\d+\.\d%), goes to (.+)\.", text)
    if m:
        stage, v = max(hs["stage"].items(), key=lambda kv: kv[1])  # type: ignore[union-attr]
        if (m.group(1), m.group(2)) != (_share_text(v, total), stage):  # type: ignore[arg-type]
            problems.append(f"{where}: 'largest share {m.group(1)} to {m.group(2)}', the profile gives "
                            f"{_share_text(v, total)} to {stage}")  # type: ignore[arg-type]
        checked += 1
    return problems, checked


def check_ab_section(where: str, text: str, samples: dict[str, dict[str, list[float]]],
                     alpha: float = 0.05) -> tuple[list[str], int]:
    """The A/B table and its sentences against the raw samples."""
    problems: list[str] = []
    checked = 0
    base = samples.get("none")
    if base is None:
        return [f"{where}: the A/B file has no pools=none"], 0
    m = re.search(r"\) (\d+) times, interleaved", text)
    runs = min(len(u.get("ns/op", [])) for u in samples.values())
    if m and int(m.group(1)) != runs:
        problems.append(f"{where}: says {m.group(1)} runs, the A/B file has {runs} of every configuration")
    m = re.search(r"not significant at α = (\d+(?:\.\d+)?)", text)
    alpha = float(m.group(1)) if m else alpha
    tabs = [(h, rows) for _, h, rows, _ in tables(text) if h[:3] == ["pools", "wall time", "Δ time"]]
    if not tabs:
        return [f"{where}: no A/B table"], 0
    head, rows = tabs[0]
    col = {h: i for i, h in enumerate(head)}
    seen = set()
    for r in rows:
        cfg = r[0].strip("`")
        seen.add(cfg)
        got = samples.get(cfg)
        if got is None:
            problems.append(f"{where}: pools={cfg} is not in the A/B file")
            continue
        w_old, w_new = base["ns/op"], got["ns/op"]
        mo, mn = _median(w_old), _median(w_new)
        mm = MS.match(r[col["wall time"]])
        if not mm or not _agrees(mm.group(1), mn / 1e6):
            problems.append(f"{where}: {cfg}: wall time {r[col['wall time']]}, raw median {mn / 1e6:.6g} ms")
        checked += 1
        for h, unit in (("peak RSS (Δ)", "peak-RSS-B"), ("B/op (Δ)", "B/op")):
            if h not in col:
                continue
            cell = r[col[h]]
            if unit not in base or unit not in got:
                if cell not in ("—", "n/a"):
                    problems.append(f"{where}: {cfg}: {h} {cell}, the A/B file has no {unit}")
                continue
            if cfg == "none":
                blo, bhi = _bytes_interval(cell)
                if not blo <= _median(base[unit]) <= bhi:
                    problems.append(f"{where}: none: {h} {cell}, raw median {_median(base[unit]):.0f} B")
            elif cell != _delta_text(_median(base[unit]), _median(got[unit])):
                problems.append(f"{where}: {cfg}: {h} {cell}, raw medians give "
                                f"{_delta_text(_median(base[unit]), _median(got[unit]))}")
            checked += 1
        if cfg == "none":
            continue
        p = u_test_p(w_old, w_new)
        want_d = _delta_text(mo, mn) + ("" if math.isnan(p) or p <= alpha else " ~")
        if r[col["Δ time"]] != want_d and not (math.isnan(p) and r[col["Δ time"]].split()[0] == want_d):
            problems.append(f"{where}: {cfg}: Δ time {r[col['Δ time']]}, raw gives {want_d} (p {p:.4f})")
        if not math.isnan(p) and r[col["p"]] != f"{p:.3f}":
            problems.append(f"{where}: {cfg}: p {r[col['p']]}, the U test on the raw samples gives {p:.3f}")
        checked += 2
        ci = r[col["95% CI of Δ"]]
        if len(w_old) < 4 or len(w_new) < 4:
            if ci != "—":
                problems.append(f"{where}: {cfg}: CI {ci} from fewer than 4 runs a side")
        elif max(len(w_old), len(w_new)) <= 30:
            mci = re.fullmatch(r"\[([+-]\d+\.\d)%, ([+-]\d+\.\d)%\]", ci)
            if not mci:
                problems.append(f"{where}: {cfg}: CI {ci!r} is not an interval")
            else:
                # 4000 resamples: an empirical 2.5% quantile lies within ±1% of its level (4 SD)
                q = bootstrap_delta_quantiles(w_old, w_new, (0.015, 0.035, 0.965, 0.985))
                for shown, a, b, side in ((mci.group(1), q[0], q[1], "lower"), (mci.group(2), q[2], q[3], "upper")):
                    if not 100 * a - 0.05 - 1e-9 <= float(shown) <= 100 * b + 0.05 + 1e-9:
                        problems.append(f"{where}: {cfg}: CI {side} end {shown}%, the exact bootstrap "
                                        f"distribution puts it in [{100 * a:.2f}%, {100 * b:.2f}%]")
                checked += 2
        # the sentence repeats the row
        ms_ = re.search(rf"With [^\n]*?\b{re.escape(cfg.replace('+', ' and '))} pools?, the pipeline's wall time "
                        r"changes by (\S+) \(95% CI (\[[^\]]*\]|—), p = (\S+), (significant|not significant)\)", text) \
            if cfg != "all" else re.search(r"With all three pools, the pipeline's wall time changes by (\S+) "
                                           r"\(95% CI (\[[^\]]*\]|—), p = (\S+), (significant|not significant)\)", text)
        if ms_:
            sig = "not significant" if r[col["Δ time"]].endswith("~") else "significant"
            if (ms_.group(1), ms_.group(2), ms_.group(3), ms_.group(4)) != (r[col["Δ time"]].split()[0], ci,
                                                                           r[col["p"]], sig):
                problems.append(f"{where}: {cfg}: the sentence {ms_.group(0)!r} does not repeat the table row")
            checked += 1
    missing = set(samples) - seen
    if missing:
        problems.append(f"{where}: configurations {sorted(missing)} of the A/B file are not in the table")
    return problems, checked


def check_end_to_end(directory: str | Path, ab: str | Path,
                     profiles: dict[str, str | Path] | None = None) -> list[str]:
    """The end-to-end section of the report in `directory` recomputed from
    the A/B file `ab` and the heap profiles: ``profiles`` maps the label in a
    heading ``(pools=LABEL)`` (``""`` for an unlabelled one) to its file;
    the A/B's own ``heap_profiles`` (named in its JSON) are used for labels
    not given.  Returns the problems; one when no section is found."""
    import json

    samples = ab_samples(ab)
    own: dict[str, str] = {}
    text = Path(ab).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        own = {str(k): str(v) for k, v in (json.loads(text).get("ab", {}).get("heap_profiles") or {}).items()}
    profiles = dict(profiles or {})
    problems: list[str] = []
    found = False
    for path in sorted(Path(directory).glob("*.md")):
        doc = path.read_text(encoding="utf-8")
        i = doc.find("## End to end")
        if i < 0:
            continue
        found = True
        j = doc.find("\n## ", i + 1)
        section = doc[i: j if j > 0 else len(doc)]
        heap_at = section.find("\n### Where the pipeline's memory goes")
        p, _ = check_ab_section(path.name, section[: heap_at if heap_at > 0 else len(section)], samples)
        problems += p
        for m in re.finditer(r"^### Where the pipeline's memory goes(?: \(pools=(.+)\))?$", section, re.M):
            label = m.group(1) or ""
            k = section.find("\n### ", m.end())
            body = section[m.start(): k if k > 0 else len(section)]
            if "has no allocation made by the pipeline" in body or "cannot be read" in body:
                continue
            src = profiles.get(label) or own.get(label)
            if src is None and len(profiles) == 1 and not label:
                src = next(iter(profiles.values()))
            if src is None:
                problems.append(f"{path.name}: no profile given for the heap breakdown {label!r}")
                continue
            p, _ = check_heap_section(f"{path.name} ({label or 'heap'})", body, src)
            problems += p
    if not found:
        problems.append(f"{directory}: no end-to-end section to check against the A/B file")
    return problems


def check_generated(directory: str | Path, data: object) -> list[str]:
    """Every check above on a report just rendered into `directory` from
    `data` (an enginepools ReportData): its figures against their operands
    and against the raw files it was built from — the benchmark files, the
    A/B file, the heap profiles — where those files still exist."""
    problems = check_report(directory)
    bench = [b.path for b in getattr(data, "bench", []) if Path(b.path).is_file()]
    has_table = any("pooled vs plain" in head for path in Path(directory).glob("*.md")
                    for _, head, _, _ in tables(path.read_text(encoding="utf-8")))
    ab = getattr(data, "ab", None)
    ab_path = ab.path if ab is not None and Path(ab.path).is_file() else None
    heaps = {p.label: p.path for p in getattr(data, "profiles", []) if p.kind == "heap" and Path(p.path).is_file()}
    raw = bench + ([str(ab_path)] if ab_path else [])  # the findings compare the A/B's columns too
    if raw and has_table or ab_path:
        problems += check_against_raw(directory, *(raw if has_table else []), ab=ab_path, profiles=heaps)
    return problems
