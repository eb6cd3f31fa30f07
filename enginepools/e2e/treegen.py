"""A deterministic, seeded build-context tree for the pipeline A/B.

``generate(path, seed=1)`` writes the same bytes for the same arguments on
every machine: a few thousand files with lognormal sizes (bytes to MiB, tens
of MB in all), nested directories, relative symlinks and a few names long
enough to need the ustar prefix or a GNU long-name entry.  ``default_tree()``
generates it once into a cache folder and reuses it (a marker file beside
the tree records the parameters, written last, so a half-generated tree is
never reused).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

MiB = 1 << 20


@dataclass(frozen=True)
class TreeSpec:
    seed: int = 1
    files: int = 3000
    dirs: int = 150
    max_depth: int = 5
    median_size: int = 2048      # bytes; lognormal median
    sigma: float = 2.0           # lognormal shape: sizes from bytes to MiB
    max_size: int = 4 * MiB
    symlink_fraction: float = 0.02
    long_name_fraction: float = 0.01
    mtime: int = 1_600_000_000

    def key(self) -> str:
        return f"tree-s{self.seed}-f{self.files}-d{self.dirs}-m{self.median_size}-g{self.sigma:g}"


@dataclass(frozen=True)
class TreeInfo:
    path: Path
    files: int
    symlinks: int
    dirs: int
    bytes: int


def _dir_paths(rng: np.random.Generator, spec: TreeSpec) -> list[str]:
    dirs = [""]
    depth = {"": 0}
    for i in range(spec.dirs):
        candidates = [d for d in dirs if depth[d] < spec.max_depth]
        parent = candidates[int(rng.integers(len(candidates)))]
        name = f"d{i:03d}" if rng.random() > 0.05 else f"dir-{i:03d}-" + "n" * int(rng.integers(60, 120))
        p = f"{parent}/{name}" if parent else name
        dirs.append(p)
        depth[p] = depth[parent] + 1
    return dirs


def generate(path: str | os.PathLike[str], spec: TreeSpec = TreeSpec()) -> TreeInfo:
    """Write the tree of `spec` into `path` (created; must not exist or be empty)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise InputError(f"{root}: not empty; treegen writes into a new directory")
    rng = np.random.default_rng(spec.seed)
    dirs = _dir_paths(rng, spec)
    for d in dirs[1:]:
        (root / d).mkdir(parents=True, exist_ok=True)
    sizes = np.minimum(rng.lognormal(np.log(spec.median_size), spec.sigma, spec.files), spec.max_size)
    sizes = sizes.astype(np.int64)
    files: list[str] = []
    total = 0
    for i, size in enumerate(sizes):
        d = dirs[int(rng.integers(len(dirs)))]
        if rng.random() < spec.long_name_fraction:
            name = f"f{i:05d}-" + "long" * int(rng.integers(26, 60)) + ".dat"  # > 100 bytes: GNU 'L' or prefix
        else:
            name = f"f{i:05d}.{('txt', 'go', 'py', 'json', 'bin')[int(rng.integers(5))]}"
        rel = f"{d}/{name}" if d else name
        data = rng.bytes(int(size))
        (root / rel).write_bytes(data)
        files.append(rel)
        total += int(size)
    nlinks = int(spec.files * spec.symlink_fraction)
    links = 0
    for j in range(nlinks):
        target = files[int(rng.integers(len(files)))]
        d = dirs[int(rng.integers(len(dirs)))]
        link = f"{d}/l{j:04d}" if d else f"l{j:04d}"
        rel_target = os.path.relpath(target, d or ".")
        os.symlink(rel_target, root / link)
        links += 1
    # fixed mtimes (the archive is deterministic anyway; this keeps `ls -l` tidy)
    for dirpath, dnames, fnames in os.walk(root):
        for n in fnames + dnames:
            os.utime(os.path.join(dirpath, n), (spec.mtime, spec.mtime), follow_symlinks=False)
    return TreeInfo(root, len(files), links, len(dirs) - 1, total)


def cache_dir() -> Path:
    base = os.environ.get("ENGINEPOOLS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "enginepools")
    return Path(base)


def default_tree(spec: TreeSpec = TreeSpec(), cache: str | os.PathLike[str] | None = None) -> TreeInfo:
    """The tree of `spec`, generated once into the cache and reused."""
    base = Path(cache) if cache is not None else cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    path = base / spec.key()
    marker = base / (spec.key() + ".json")
    if marker.exists() and path.is_dir():
        info = json.loads(marker.read_text())
        return TreeInfo(path, info["files"], info["symlinks"], info["dirs"], info["bytes"])
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.key()}.", dir=base))
    try:
        info = generate(tmp / "t", spec)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp / "t", path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    doc = {"files": info.files, "symlinks": info.symlinks, "dirs": info.dirs, "bytes": info.bytes,
           "spec": asdict(spec)}
    from .._atomic import write_text

    write_text(marker, json.dumps(doc, indent=1) + "\n")
    return TreeInfo(path, info.files, info.symlinks, info.dirs, info.bytes)


__all__ = ["TreeSpec", "TreeInfo", "generate", "default_tree", "cache_dir"]
