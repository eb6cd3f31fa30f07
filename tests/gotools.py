"""Running the Go toolchain from tests: offline, with its caches in a
temporary folder (CI runs as root with no network; GOPROXY=off makes a
missing module fail at once instead of hanging)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path


def go_env(root: Path) -> dict[str, str]:
    """An environment for `go` whose GOPATH and GOCACHE live under `root`."""
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOPATH": str(root / "gopath"),
            "GOCACHE": str(root / "gocache"), "GOPROXY": "off", "GO111MODULE": "on"}


def go_bench(root: Path, module: str, test_file: str, source: str, *flags: str) -> str:
    """`go test -run ^$ -bench . -benchmem FLAGS` on a one-file module made
    under `root`; its stdout (the raw benchmark output)."""
    mod = root / module
    mod.mkdir()
    (mod / test_file).write_text(source)
    env = go_env(root)
    subprocess.run(["go", "mod", "init", f"example.com/{module}"], cwd=mod, env=env, check=True,
                   capture_output=True)
    r = subprocess.run(["go", "test", "-run", "^$", "-bench", ".", "-benchmem", *flags], cwd=mod, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout
