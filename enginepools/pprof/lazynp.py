"""numpy, imported on first use: the graph layer's modules name ``np`` at
the top, but a small profile's ``top`` runs on Python objects alone and never
touches it, so ``enginepools top small.prof`` does not pay numpy's import
(about half its run time).  ``np.x`` is numpy's ``x`` (cached after the first
look-up)."""
from __future__ import annotations

from typing import Any

__all__ = ["np"]


class _Numpy:
    def __getattr__(self, name: str) -> Any:
        import numpy

        value = getattr(numpy, name)
        setattr(self, name, value)
        return value


np: Any = _Numpy()
