"""Every notebook runs top to bottom without an error (nbclient, kernel
python3), and the committed notebooks are the generated ones, without outputs."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", NB_DIR / "make_notebooks.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKER = _maker()
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))


def test_every_generated_notebook_is_committed_and_current() -> None:
    assert NOTEBOOKS == sorted(MAKER.NOTEBOOKS)
    r = subprocess.run([sys.executable, str(NB_DIR / "make_notebooks.py"), "--check"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_notebooks_are_committed_without_outputs() -> None:
    import nbformat

    for name in NOTEBOOKS:
        nb = nbformat.read(NB_DIR / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name in MAKER.PENDING:
        pytest.skip(f"{name} pending: {MAKER.PENDING[name]}")
    pytest.importorskip("ipykernel")
    import nbformat
    from nbclient import NotebookClient

    # the kernel imports enginepools from this checkout even when it is not installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=False,
                            resources={"metadata": {"path": str(NB_DIR)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell on any error
    print(f"{name}: {time.perf_counter() - t0:.1f} s")
    # every notebook draws something; a figure that is built but not displayed is a bug
    pngs = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert pngs >= 1, f"{name}: no figure was displayed"
