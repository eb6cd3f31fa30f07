"""Render a :class:`ReportData` into a directory, all or nothing.

Everything (images, documents, the manifest) is first written into a
temporary directory beside the target; only when all of it succeeded are
the files moved in (``os.replace``, one rename per file on the same file
system).  A failed run therefore leaves an earlier report untouched.  Files
an earlier report wrote that this one does not (say, a differential flame
graph when only one profile was given this time) are removed, using the
manifest ``.enginepools-report.json``; files the user put there are never
touched.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from .._atomic import check_dir_writable, write_text
from ..errors import InputError
from . import doc_bench, doc_findings, doc_pprof, doc_readme, doc_visual, figures
from .common import Context
from .model import ReportData

MANIFEST = ".enginepools-report.json"
_GENERATED = (".md", ".png", ".svg", ".dot")  # what render() writes (attachments are data files)
DOCUMENTS = (doc_readme, doc_pprof, doc_bench, doc_visual, doc_findings)

Progress = Callable[[str], None]


def check_out_dir(out: str | os.PathLike[str]) -> Path:
    """Fail before any long work when `out` cannot become the report dir."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise InputError(f"{p}: exists and is not a directory")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise InputError(f"{p}: parent directory {parent} does not exist")
    if not os.access(parent if not p.exists() else p, os.W_OK):
        raise InputError(f"{p}: not writable")
    check_dir_writable(parent, p)  # the report is rendered in a temporary directory there
    if p.is_dir():
        _check_not_theirs(p, [mod.FILE for mod in DOCUMENTS])
    return p


def _check_not_theirs(target: Path, names: Sequence[str]) -> None:
    """Refuse to replace a file of the user's (a project's README.md, say):
    only files an earlier report listed in its manifest may be overwritten."""
    ours = _previous_files(target)
    clash = sorted(n for n in names if n not in ours and os.path.lexists(target / n))
    if clash:
        more = f" and {len(clash) - 3} more" if len(clash) > 3 else ""
        raise InputError(f"{target}: already holds {', '.join(clash[:3])}{more}, not written by enginepools "
                         f"(not in {MANIFEST}); give an empty or new output directory")


def render(data: ReportData, workdir: Path, progress: Progress | None = None) -> list[str]:
    """Write every image and document into `workdir`; return the file names."""
    ctx = Context(data)
    figures.render_all(ctx, workdir, progress)
    names = []
    for mod in DOCUMENTS:
        if progress:
            progress(f"writing {mod.FILE}")
        (workdir / mod.FILE).write_text(mod.render(ctx), encoding="utf-8")
        names.append(mod.FILE)
    for f in ctx.figures.values():
        names += [f.png] + ([f.svg] if f.svg else [])
    names += [n for n in ctx.extra_files]
    return sorted(set(names))


def write_report(data: ReportData, out: str | os.PathLike[str], progress: Progress | None = None,
                 attachments: Sequence[Path] = ()) -> list[Path]:
    """Render into a temporary directory, then move the files into `out`.
    `attachments` (result files the report was built from) are copied in
    beside the documents."""
    target = check_out_dir(out)
    parent = target.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        names = render(data, tmp, progress)
        for a in attachments:
            if a.name in names:
                raise InputError(f"{a}: its name clashes with a report file")
            shutil.copyfile(a, tmp / a.name)
            names.append(a.name)
        target.mkdir(exist_ok=True)
        _check_not_theirs(target, names)
        old = _previous_files(target)
        # result files an earlier study left here (bench.txt, profiles) may be
        # this run's inputs: only stale documents and figures are removed
        kept = sorted(n for n in old - set(names) if not n.endswith(_GENERATED) and (target / n).exists())
        (tmp / MANIFEST).write_text(json.dumps({"files": names + kept}, indent=1) + "\n", encoding="utf-8")
        for name in names:
            os.replace(tmp / name, target / name)
        os.replace(tmp / MANIFEST, target / MANIFEST)
        for name in old - set(names) - set(kept):
            with contextlib.suppress(OSError):
                (target / name).unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [target / n for n in names]


def _previous_files(target: Path) -> set[str]:
    try:
        doc = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        names = doc.get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    # only plain names inside the report directory
    return {n for n in names if isinstance(n, str) and n == os.path.basename(n) and not n.startswith(".")}


__all__ = ["write_report", "render", "check_out_dir", "MANIFEST", "write_text"]
