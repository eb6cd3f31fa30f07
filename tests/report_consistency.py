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
    (``StringBuilderWithPool-4``) or /impl= names (``HashBuffer/impl=pool``,
    with or without the ``-N`` procs suffix)."""
    m = re.match(r"^(.*?)(-\d+)?$", bench)
    assert m
    base, procs = m.group(1), m.group(2) or ""
    for name in (f"{base}{label}{procs}", f"{base}/impl={label}{procs}", f"{base}{label}", f"{base}/impl={label}"):
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


def check_against_raw(directory: str | Path, *bench_files: str | Path) -> list[str]:
    """Every comparison table (``plain X``, ``pooled X``, ``Δ X``, ``n``) and
    throughput table (``plain ops/s``, ``pooled ops/s``, ratio) of the report
    in `directory`, recomputed from the raw samples in `bench_files`: the
    medians, Δ = (pooled − plain) / plain, the sample counts.  Returns the
    problems; also one when no row could be checked at all."""
    raw = raw_samples(*bench_files)
    problems: list[str] = []
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
