"""Granularity: what one node of the graph stands for (``functions``,
``filefunctions``, ``files``, ``lines``, ``addresses``; pprof's
``profile.Aggregate``) and how a node is named (``graph.NodeInfo``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ..errors import UsageError
from .gostd import go_base, go_clean, trim_path

if TYPE_CHECKING:
    from .work import WLocation

# NodeInfo: (name, orig_name, address, file, start_line, lineno, objfile)
NodeInfo = tuple


#: pprof's -granularity values
GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")


def printable_name(info: NodeInfo) -> str:
    """graph.NodeInfo.PrintableName."""
    name, _orig, address, file, _start, lineno, objfile = info
    parts = []
    if address:
        parts.append("%016x" % address)
    if name:
        parts.append(name)
    if lineno:
        parts.append(f"{file}:{lineno}")
    elif file:
        parts.append(file)
    elif name:
        pass
    elif objfile:
        parts.append("[" + go_base(objfile) + "]")
    else:
        parts.append("<unknown>")
    return " ".join(parts)


def info_sprint(info: NodeInfo) -> str:
    """fmt.Sprint(NodeInfo{...}) — pprof's last-resort tie break."""
    return "{%s %s %d %s %d %d %s}" % info


class Aggregator:
    """profile.Aggregate, applied when node infos are made."""

    def __init__(self, granularity: str, noinlines: bool, obj_names: bool = False) -> None:
        self.obj_names = obj_names
        if granularity not in GRANULARITIES:
            raise UsageError(f"-granularity {granularity}: must be one of {', '.join(GRANULARITIES)}")
        self.inlines = not noinlines
        self.function = self.filename = self.linenumber = self.address = False
        self.identity = False
        if granularity == "addresses":
            if self.inlines:
                self.identity = True
            self.function = self.filename = self.linenumber = self.address = True
        elif granularity == "lines":
            self.function = self.filename = self.linenumber = True
        elif granularity == "files":
            self.filename = True
        elif granularity == "functions":
            self.function = True
        elif granularity == "filefunctions":
            self.function = self.filename = True

    def location_infos(self, loc: WLocation) -> list[NodeInfo]:
        """graph.CreateNodes' infos for one location (one per line, innermost first)."""
        lines = loc.lines
        if not self.identity and not self.inlines and len(lines) > 1:
            lines = lines[-1:]
        address = loc.address if (self.identity or self.address) else 0
        objfile = loc.mapping.file if loc.mapping is not None and loc.mapping.file else ""
        if not lines:
            return [("", "", address, "", 0, 0, objfile)]
        out = []
        for fn, ln in lines:
            if fn is None:
                out.append(("", "", address, "", 0, 0, objfile))
                continue
            name = fn.name if (self.identity or self.function) else ""
            fname = fn.filename if (self.identity or self.filename) else ""
            lineno = ln if (self.identity or self.linenumber) else 0
            file = go_clean(trim_path(fname)) if fname else ""
            if name == "" or self.obj_names:
                out.append((name, "", address, file, fn.start_line, lineno, objfile))
            else:
                out.append((name, "", address, file, 0, lineno, ""))
        return out

    def many_location_infos(self, locs: Iterable[WLocation]) -> list[list[NodeInfo]]:
        """location_infos of each of `locs`; by function (no address, no line
        number) a named function's info is made once."""
        if self.identity or self.address or self.linenumber or not self.function:
            return [self.location_infos(loc) for loc in locs]
        named: dict[object, NodeInfo] = {}
        out: list[list[NodeInfo]] = []
        for loc in locs:
            lines = loc.lines
            if not self.inlines and len(lines) > 1:
                lines = lines[-1:]
            infos: list[NodeInfo] | None = []
            for fn, _ln in lines:
                info = named.get(fn)
                if info is None:
                    if fn is None or not fn.name:  # unnamed: the mapping counts (location_infos)
                        infos = None
                        break
                    file = go_clean(trim_path(fn.filename)) if self.filename and fn.filename else ""
                    info = named[fn] = (fn.name, "", 0, file, 0, 0, "")
                infos.append(info)
            out.append(infos if infos else self.location_infos(loc))
        return out
