"""Build of the C core, ``enginepools._core``.

Every ``csrc/*.c`` and ``csrc/py/*.c`` file is compiled into the one extension;
the files in ``csrc/py/`` (the seam) are the only ones that include Python.h.
``EP_SANITIZE=address`` builds with ASan+UBSan, ``EP_SANITIZE=thread`` with
TSan (both ``-O1 -g -fno-omit-frame-pointer``); ``EP_DEBUG=1`` turns on ``ep_assert``.
"""
import glob
import os

import numpy
from setuptools import Extension, setup

SANITIZE = os.environ.get("EP_SANITIZE", "").strip()
DEBUG = os.environ.get("EP_DEBUG", "") not in ("", "0")

cflags = ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"]
ldflags = ["-pthread"]
macros = [("_GNU_SOURCE", "1"), ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if SANITIZE:
    kinds = {"address": "address,undefined", "thread": "thread"}
    if SANITIZE not in kinds:
        raise SystemExit(f"EP_SANITIZE must be 'address' or 'thread', not {SANITIZE!r}")
    san = f"-fsanitize={kinds[SANITIZE]}"
    cflags += [san, "-O1", "-g", "-fno-omit-frame-pointer"]
    ldflags += [san]
    macros.append(("EP_SANITIZE_" + SANITIZE.upper(), "1"))
else:
    cflags += ["-O2", "-g", "-fno-omit-frame-pointer"]
if DEBUG or SANITIZE:
    macros.append(("EP_DEBUG", "1"))

core = Extension(
    "enginepools._core",
    sources=sorted(glob.glob("csrc/*.c")) + sorted(glob.glob("csrc/py/*.c")),
    include_dirs=["csrc/include", "csrc", "csrc/py", numpy.get_include()],
    depends=sorted(glob.glob("csrc/*.h") + glob.glob("csrc/include/*.h") + glob.glob("csrc/py/*.h")),
    define_macros=macros,
    extra_compile_args=cflags,
    extra_link_args=ldflags,
    libraries=["z"],  # pprof codec: gzip
)

setup(ext_modules=[core])
