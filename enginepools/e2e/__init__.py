"""End to end: the build-context pipeline, its tree generator, the A/B
driver and the child process each A/B run happens in."""
from .. import _submodules

__getattr__ = _submodules(__name__)
