"""report/fmt.py: the shapes every report number is printed in, as its
docstrings document them.  Expected strings are written out by hand."""
from __future__ import annotations

import math

import pytest

from enginepools.report import fmt


def test_delta_is_new_minus_old_over_old() -> None:
    assert fmt.delta(59.88, 70.40) == pytest.approx(10.52 / 59.88)
    assert fmt.delta(200.0, 150.0) == -0.25
    assert fmt.delta(0.0, 0.0) == 0.0
    assert fmt.delta(0.0, 3.0) is None
    assert fmt.delta(math.inf, 3.0) is None and fmt.delta(3.0, math.nan) is None


@pytest.mark.parametrize("fraction, signed, text", [
    (10.52 / 59.88, True, "+17.6%"),
    (-0.37073, True, "-37.1%"),
    (0.481, False, "48.1%"),
    (0.0, True, "+0.0%"),
    (-0.0004, True, "+0.0%"),  # rounds to zero: no "-0.0%"
    (-0.0004, False, "0.0%"),
    (0.00051, True, "+0.1%"),
    (2.0, True, "+200.0%"),
    (None, True, "n/a"),
    (math.nan, True, "n/a"),
    (math.inf, False, "n/a"),
])
def test_pct(fraction: float | None, signed: bool, text: str) -> None:
    assert fmt.pct(fraction, signed) == text


@pytest.mark.parametrize("v, sig, text", [
    (70.4, 4, "70.40"),
    (1729.0, 4, "1729"),
    (0.0123, 4, "0.01230"),
    (5.0, 4, "5"),
    (9999.0, 4, "9999"),
    (10000.0, 4, "10,000"),
    (123456789.0, 4, "123,456,789"),
    (12345.678, 4, "12,346"),
    (10000.5, 4, "10,000"),
    (1234.5678, 4, "1235"),
    (-3.14159, 4, "-3.142"),
    (3.14159, 6, "3.14159"),
    (0.5, 4, "0.5000"),
    (0.0, 4, "0"),
    (math.inf, 4, "∞"),
    (-math.inf, 4, "-∞"),
    (math.nan, 4, "NaN"),
])
def test_num(v: float, sig: int, text: str) -> None:
    assert fmt.num(v, sig) == text


def test_parse_reads_what_num_prints() -> None:
    assert fmt.parse("12,346") == 12346.0
    assert fmt.parse("0.01230") == 0.0123


def test_pair_prints_operands_that_recompute_the_printed_delta() -> None:
    assert fmt.pair(59.88, 70.40) == ("59.88", "70.40")
    # exact Δ 1.2/1000.4 = +0.12% → "+0.1%"; at 4 digits the text would read
    # 1000 → 1002 (+0.2%), so a fifth digit is printed
    assert fmt.pair(1000.4, 1001.6) == ("1000.4", "1001.6")
    assert fmt.pair(1000.4, 1001.6, sig=6) == ("1000.40", "1001.60")


def test_share_and_ratio() -> None:
    assert fmt.share(1.0, 4.0) == "25.0%"
    assert fmt.share(1.0, 0.0) == "n/a"
    assert fmt.ratio(10.71, 3.19) == "3.36×"  # docs/pools.md once printed 3.19× for these
    assert fmt.ratio(1.0, 0.0) == "n/a"
    assert fmt.ratio(2.0, 3.0) == "0.67×"


def test_phrases_print_the_figure_beside_its_operands() -> None:
    assert fmt.delta_phrase(59.88, 70.40, "ns/op") == "+17.6% (59.88 → 70.40 ns/op)"
    assert fmt.ratio_phrase(1237.0, 489.9, "ns/op") == "2.53× (1237 / 489.9 ns/op)"
    assert fmt.ratio_phrase(3.0, 2.0) == "1.50× (3 / 2)"
    assert fmt.share_phrase(5.71, 11.88, "MB") == "48.1% (5.710 of 11.88 MB)"
    assert fmt.share_phrase(1.0, 4.0) == "25.0% (1 of 4)"
    # scaled: 3 MiB of 12 MiB, printed in MiB
    assert fmt.share_phrase(3 * 2**20, 12 * 2**20, "B", scale=(2.0**20, "MiB")) == "25.0% (3 of 12 MiB)"


def test_p_value_and_interval() -> None:
    assert fmt.p_value(None) == "—"
    assert fmt.p_value(2 / 924) == "0.002"
    assert fmt.p_value(0.0505) == "0.051"
    assert fmt.interval(69.9, 71.2) == "[69.90, 71.20]"
    assert fmt.interval(-math.inf, 5.0) == "—" and fmt.interval(1.0, math.inf) == "—"


@pytest.mark.parametrize("values, scale", [
    ([1023.0], (1.0, "B")),
    ([], (1.0, "B")),
    ([1024.0], (1024.0, "KiB")),
    ([10.0, 2.0**20 - 1], (1024.0, "KiB")),
    ([-(2.0**20)], (2.0**20, "MiB")),
    ([2.0**30], (2.0**30, "GiB")),
])
def test_byte_scale_follows_the_largest_magnitude(values: list[float], scale: tuple[float, str]) -> None:
    assert fmt.byte_scale(values) == scale


def test_bytes_ms_seconds_count() -> None:
    assert fmt.bytes_(65536.0) == "64 KiB"
    assert fmt.bytes_(1536.0) == "1.500 KiB"
    assert fmt.bytes_(100.0) == "100 B"
    assert fmt.ms(12_345_678.0) == "12.35 ms"
    assert fmt.ms(None) == "—"
    assert fmt.ms(1_000_000.0) == "1 ms"
    assert fmt.seconds(0.5) == "500 ms"
    assert fmt.seconds(1.0) == "1.0 s"
    assert fmt.seconds(119.94) == "119.9 s"
    assert fmt.seconds(120.0) == "2.0 min"
    assert fmt.seconds(0.9) == "900 ms"
    assert fmt.seconds(600.0) == "10.0 min"
    assert fmt.count(1234567.9) == "1,234,567"


def test_operands_take_the_fewest_digits_that_recompute_then_full_precision() -> None:
    # Δ = (0.087750000001 − 0.1) / 0.1 = −12.2499999999% prints "-12.2%".  With 10 significant digits the
    # operands read 0.1000000000 → 0.08775000000, whose Δ prints "-12.3%": 11 digits are the fewest that agree.
    assert fmt.pct(fmt.delta(0.1, 0.08775)) == "-12.3%"
    assert fmt.pair(0.1, 0.087750000001) == ("0.10000000000", "0.087750000001")
    # Δ = −7.950000000001% prints "-8.0%"; 9.2049999999999 at 4 to 12 digits reads 9.205 (Δ prints "-7.9%"),
    # so no rounding recomputes and both operands are printed in full
    assert fmt.pct(fmt.delta(10, 9.2049999999999)) == "-8.0%" and fmt.pct(fmt.delta(10, 9.205)) == "-7.9%"
    assert fmt.pair(10, 9.2049999999999) == ("10.0", "9.2049999999999")
    assert fmt.delta_phrase(10, 9.2049999999999, "ns/op") == "-8.0% (10.0 → 9.2049999999999 ns/op)"
