"""The package's layering (docs/DESIGN §2): no import cycles; statistics never
import rendering; rendering never measures; nothing below the CLI imports
``commands/``; a small root; small modules.

Every module of the package is parsed with ``ast``: all imports count,
including those inside functions, except those under ``if TYPE_CHECKING:``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = "enginepools"
ROOT = Path(__file__).resolve().parents[1] / PKG
MAX_ROOT_MODULES = 15
MAX_LINES = 900

# Modules that measure: rendering must not import them.
MEASURING = (f"{PKG}.bench", f"{PKG}.e2e", f"{PKG}.pprof.profilers", f"{PKG}.pprof.pyheap", f"{PKG}._core")
STATISTICS = (f"{PKG}.analysis.stats",)
RENDERING = (f"{PKG}.render",)
COMMANDS = f"{PKG}.commands"
MAY_IMPORT_COMMANDS = (f"{PKG}.commands", f"{PKG}.cli")


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (path, is_package) for every module of the package."""
    mods = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
           (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Import nodes anywhere in the tree, skipping `if TYPE_CHECKING:` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _owner(name: str) -> str | None:
    """The package module `name` is, or the one defining it (a.b.attr -> a.b)."""
    while name:
        if name in MODULES or name == f"{PKG}._core":
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str) -> set[str]:
    """Package modules imported by module `name`."""
    path, is_pkg = MODULES[name]
    package = name if is_pkg else name.rpartition(".")[0]
    found = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the module pkg.sub; `from mod import attr` imports mod
            targets = [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            if t == PKG or t.startswith(PKG + "."):
                owner = _owner(t)
                if owner is not None and owner != name:
                    found.add(owner)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _a_cycle(comp: list[str]) -> list[str]:
    """One concrete cycle inside a strongly connected component, for the message."""
    members = set(comp)
    start = comp[0]
    path, seen = [start], {start}
    # depth-first from start until an edge closes back on it
    def dfs(v: str) -> list[str] | None:
        for w in sorted(GRAPH[v] & members):
            if w == start:
                return path + [start]
            if w not in seen:
                seen.add(w)
                path.append(w)
                r = dfs(w)
                if r:
                    return r
                path.pop()
        return None
    return dfs(start) or comp


def test_no_import_cycles() -> None:
    cycles = [" -> ".join(_a_cycle(c)) for c in _cycles(GRAPH)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _violations(importers, imported) -> list[str]:
    return sorted(f"{a} imports {b}" for a, deps in GRAPH.items() if _under(a, importers)
                  for b in deps if _under(b, imported))


def test_statistics_never_import_rendering() -> None:
    assert not _violations(STATISTICS, RENDERING)


def test_rendering_never_measures() -> None:
    assert not _violations(RENDERING, MEASURING)


def test_nothing_below_the_cli_imports_commands() -> None:
    bad = sorted(f"{a} imports {b}" for a, deps in GRAPH.items() if not _under(a, MAY_IMPORT_COMMANDS)
                 for b in deps if _under(b, (COMMANDS,)))
    assert not bad


def test_root_is_small() -> None:
    root = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(root) <= MAX_ROOT_MODULES, root


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_small(name: str) -> None:
    path, _ = MODULES[name]
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT.parent)}: {n} lines"


def test_the_checks_see_the_known_edges() -> None:
    # the parser must see imports inside functions and resolve relative ones
    assert f"{PKG}.commands" in GRAPH[f"{PKG}.cli"]
    assert f"{PKG}.analysis.stats" in GRAPH[f"{PKG}.analysis.compare"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
