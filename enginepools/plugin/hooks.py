"""The plugin's pytest hooks: the ``--ep-*`` options and the marker, the
session state built from them, saving at the session's end, and the
terminal summary.  ``enginepools.pytest_plugin`` exposes them to pytest."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import table
from .options import DEFAULT_BENCHTIME, DEFAULT_COUNT, NAME_RE, SAVE_DIR, parse_fail_on, resolve_compare
from .session import SAVED, STATE, State, finish


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("enginepools", "enginepools benchmarks (pool_benchmark fixture)")
    g.addoption("--ep-benchtime", metavar="DURATION", default=None,
                help=f"time per sample, Go style: 100ms, 1s, or an iteration count like 500x "
                     f"(default {DEFAULT_BENCHTIME})")
    g.addoption("--ep-count", metavar="N", default=None,
                help=f"samples per benchmark (default {DEFAULT_COUNT}; >= 4 to compare, >= 6 for a 95%% CI)")
    g.addoption("--ep-save", metavar="NAME", default=None,
                help=f"save this run as {SAVE_DIR}/NAME.json and {SAVE_DIR}/NAME.txt (Go benchmark format)")
    g.addoption("--ep-compare", metavar="FILE", default=None,
                help=f"compare with a saved run: a result file (our JSON or Go text) or the NAME of "
                     f"{SAVE_DIR}/NAME.json")
    g.addoption("--ep-fail-on", metavar="UNIT:+PCT%", default=None,
                help="with --ep-compare: fail a benchmark whose UNIT changed by PCT%% or more in that direction "
                     "AND significantly (Mann-Whitney U, p <= --ep-alpha); comma list, e.g. \"ns/op:+10%%\"")
    g.addoption("--ep-alpha", metavar="ALPHA", default="0.05", help="significance level (default 0.05)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pool_benchmark(count=, benchtime=, memory=, memory_ops=, min_hit_rate=, max_retained_bytes=, name=): "
        "options for the enginepools pool_benchmark fixture")
    opt = config.option
    benchtime = getattr(opt, "ep_benchtime", None)
    count = getattr(opt, "ep_count", None)
    if benchtime is not None or count is not None:
        from ..bench import pybench
        from ..errors import UsageError

        try:
            if benchtime is not None:
                pybench.parse_benchtime(benchtime, "--ep-benchtime")
            if count is not None:
                count = pybench.parse_count(count, "--ep-count")
        except UsageError as e:
            raise pytest.UsageError(str(e)) from None
    try:
        alpha = float(opt.ep_alpha)
    except (TypeError, ValueError):
        alpha = -1.0
    if not 0 < alpha < 1:
        raise pytest.UsageError(f"--ep-alpha {opt.ep_alpha!r}: must be a number between 0 and 1")
    save = opt.ep_save
    if save is not None and not NAME_RE.match(save):
        raise pytest.UsageError(f"--ep-save {save!r}: expected a plain name (letters, digits, . _ -), "
                                f"saved as {SAVE_DIR}/NAME.json")
    rootdir = Path(str(config.rootpath))
    compare_path = resolve_compare(opt.ep_compare, rootdir) if opt.ep_compare else None
    fail_on = parse_fail_on(opt.ep_fail_on) if opt.ep_fail_on is not None else []
    if fail_on and compare_path is None:
        raise pytest.UsageError("--ep-fail-on needs --ep-compare FILE (the run to compare with)")
    state = State(benchtime, count, alpha, save, compare_path, fail_on, rootdir)
    if compare_path is not None:
        from ..errors import EnginepoolsError

        try:
            state.load_baseline()
        except EnginepoolsError as e:
            raise pytest.UsageError(f"--ep-compare: {e}") from None
    config.stash[STATE] = state


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finish(session.config)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    st = config.stash.get(STATE, None)
    if st is None:
        return
    if not st.entries:
        if st.save and getattr(config.option, "numprocesses", None):
            terminalreporter.write_line(f"enginepools: --ep-save {st.save}: nothing saved — benchmarks ran in "
                                        f"pytest-xdist workers; run them without -n (they are noisy in parallel "
                                        f"anyway)")
        return
    table.display(terminalreporter, st, config.stash.get(SAVED, None))
