"""Statistics and what is decided from them: benchstat-style comparison,
the tables that print it, and the keep/remove verdicts."""
from .. import _submodules

__getattr__ = _submodules(__name__)
