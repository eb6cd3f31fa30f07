"""Render a :class:`ReportData` into a directory, all or nothing.

Everything (images, documents, the manifest) is first written into a
temporary directory beside the target.  Then a journal,
``.enginepools-report.swap``, is written into the target (atomically: it
exists whole or not at all) — that is the commit point:

* interrupted before it, the old report is untouched (the temporary
  directory is removed, or by the next run when the process was killed);
* once it exists the replacement is rolled forward: every file is moved in
  (``os.replace``), the manifest last, stale files removed, the journal
  deleted.  A Ctrl-C (``KeyboardInterrupt``) during that short step is held
  until it is done; a run killed outright leaves the journal, and the next
  ``write_report`` (or ``check_out_dir``) into that directory finishes it
  first.

So an interrupt at any point leaves the old report or the new one, never a
mix.  Files an earlier report wrote that this one does not (say, a
differential flame graph when only one profile was given this time) are
removed, using the manifest ``.enginepools-report.json``; files the user put
there are never touched.  System directories (``/``, ``/usr``, ``/etc`` …)
are refused as report directories.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from .._atomic import check_dir_writable, write_text
from ..errors import InputError, UsageError
from . import doc_bench, doc_findings, doc_pprof, doc_readme, doc_visual, figures
from .common import Context
from .model import ReportData

MANIFEST = ".enginepools-report.json"
JOURNAL = ".enginepools-report.swap"
_TMP_SUFFIX = ".ep-report.tmp"
# never a report directory: the root and the system's own directories
_SYSTEM_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
                "/root", "/run", "/sbin", "/srv", "/sys", "/usr", "/var", "/home", "/tmp", "/mnt", "/media"}
_SYSTEM_TREES = ("/proc/", "/sys/", "/dev/", "/usr/", "/etc/", "/boot/", "/bin/", "/sbin/", "/lib/", "/lib64/")
_GENERATED = (".md", ".png", ".svg", ".dot")  # what render() writes (attachments are data files)
DOCUMENTS = (doc_readme, doc_pprof, doc_bench, doc_visual, doc_findings)

Progress = Callable[[str], None]


def check_out_dir(out: str | os.PathLike[str]) -> Path:
    """Fail before any long work when `out` cannot become the report dir."""
    if not os.fspath(out):
        raise UsageError("-out: empty directory name")
    p = Path(out)
    real = os.path.realpath(p)
    if real in _SYSTEM_DIRS or real.startswith(_SYSTEM_TREES):
        raise InputError(f"{p}: is a system directory ({real}); give a new or empty directory for the report")
    if p.exists() and not p.is_dir():
        raise InputError(f"{p}: exists and is not a directory")
    parent = p.resolve().parent
    if not parent.is_dir():
        raise InputError(f"{p}: parent directory {parent} does not exist")
    if not os.access(parent if not p.exists() else p, os.W_OK):
        raise InputError(f"{p}: not writable")
    check_dir_writable(parent, p)  # the report is rendered in a temporary directory there
    if p.is_dir():
        _roll_forward(p)  # an earlier replacement killed half-way is finished first
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
    """Render into a temporary directory, then move the files into `out`
    (see the module's docstring: old report or new one, never a mix).
    `attachments` (result files the report was built from) are copied in
    beside the documents."""
    target = check_out_dir(out)
    parent = target.resolve().parent
    _remove_orphans(parent, target.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=parent))
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
        journal = {"tmp": tmp.name, "move": names, "remove": sorted(old - set(names) - set(kept))}
        write_text(target / JOURNAL, json.dumps(journal, indent=1) + "\n")  # the commit point
    except BaseException:
        if (target / JOURNAL).exists():
            _roll_forward(target)  # committed: finish (re-raises a held Ctrl-C)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    _roll_forward(target)
    return [target / n for n in names]


def _shielded(step: Callable[[], object], held: list[bool]) -> None:
    """Run `step` to completion, retrying it when a KeyboardInterrupt lands
    (noted in `held`, re-raised by the caller when all steps are done)."""
    while True:
        try:
            step()
            return
        except KeyboardInterrupt:
            held.append(True)


def _roll_forward(target: Path) -> None:
    """Finish the replacement `target`'s journal describes, if any."""
    jp = target / JOURNAL
    try:
        doc = json.loads(jp.read_text(encoding="utf-8"))
        tmp_name, move, remove = doc["tmp"], list(doc["move"]), list(doc["remove"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{jp}: unreadable journal of an interrupted report ({e}); remove it") from None
    plain = [n for n in [tmp_name, *move, *remove] if isinstance(n, str) and n == os.path.basename(n)
             and n not in ("", ".", "..")]
    if len(plain) != 1 + len(move) + len(remove) or not tmp_name.endswith(_TMP_SUFFIX):
        raise InputError(f"{jp}: malformed journal of an interrupted report; remove it")
    tmp = target.resolve().parent / tmp_name
    held: list[bool] = []
    if tmp.is_dir():  # else: already finished up to the journal's removal
        for name in move + [MANIFEST]:
            src = tmp / name

            def mv(src: Path = src, name: str = name) -> None:
                if os.path.lexists(src):
                    os.replace(src, target / name)
            _shielded(mv, held)
        for name in remove:
            def rm(name: str = name) -> None:
                with contextlib.suppress(OSError):
                    os.unlink(target / name)
            _shielded(rm, held)

    def drop_journal() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(jp)
    _shielded(drop_journal, held)
    _shielded(lambda: shutil.rmtree(tmp, ignore_errors=True), held)
    if held:
        raise KeyboardInterrupt


def _remove_orphans(parent: Path, name: str) -> None:
    """Temporary directories of runs into `parent/name` that were killed
    before their commit point (no journal names them)."""
    try:
        named = json.loads((parent / name / JOURNAL).read_text(encoding="utf-8")).get("tmp")
    except (OSError, ValueError, AttributeError):
        named = None
    for d in parent.glob(f".{glob.escape(name)}.*{_TMP_SUFFIX}"):
        if d.name != named and d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)


def _previous_files(target: Path) -> set[str]:
    try:
        doc = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        names = doc.get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    # only plain names inside the report directory
    return {n for n in names if isinstance(n, str) and n == os.path.basename(n) and not n.startswith(".")}


__all__ = ["write_report", "render", "check_out_dir", "MANIFEST", "JOURNAL", "write_text"]
