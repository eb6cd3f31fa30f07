"""Benchmarks, Go-style: the runner, Python benchmarks, result files, the Go
benchmark text format, the machine header and the noise checks."""
from .. import _submodules

__getattr__ = _submodules(__name__)
