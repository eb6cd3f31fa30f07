"""pprof profiles: the model, the graph and its reports, units, the live
profilers and their flags, symbolization and the HTTP endpoint."""
from .. import _submodules

__getattr__ = _submodules(__name__)
