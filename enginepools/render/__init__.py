"""Rendering: charts, call graphs, flame graphs, their shared style and the
notebook HTML. Renderers take data; they never measure."""
from .. import _submodules

__getattr__ = _submodules(__name__)
