"""A sample's labels as pprof's object model holds them, from the decoder's
label rows (key, string, number, unit: indices into the string table)."""
from __future__ import annotations

from typing import Sequence

__all__ = ["label_dicts"]


def label_dicts(S: Sequence[str], lk: Sequence[int], ls: Sequence[int], ln: Sequence[int],
                lu: Sequence[int]) -> tuple[dict[str, list[str]], dict[str, list[int]], dict[str, list[str]]]:
    """(string labels, numeric labels, numeric units) of one sample's label
    rows, by pprof's decoding rules: a label with a string is a string label,
    else one with a number or a unit a numeric one; units are padded with ""
    to their numbers' length."""
    labels: dict[str, list[str]] = {}
    nums: dict[str, list[int]] = {}
    nunits: dict[str, list[str]] = {}
    for j in range(len(lk)):
        key = S[lk[j]]
        if ls[j] != 0:
            labels.setdefault(key, []).append(S[ls[j]])
        elif ln[j] != 0 or lu[j] != 0:
            vs = nums.setdefault(key, [])
            if lu[j] != 0:
                us = nunits.setdefault(key, [])
                us.extend([""] * (len(vs) - len(us)))
                us.append(S[lu[j]])
            vs.append(ln[j])
    for key, us in nunits.items():
        us.extend([""] * (len(nums[key]) - len(us)))
    return labels, nums, nunits
